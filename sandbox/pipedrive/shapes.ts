// Pipedrive object types, their writable fields, defaults and wire shapes (v2 and v1).

import { randomUUID } from 'node:crypto';
import type { Fields, StoredRecord } from '../common/store';

export type PdType = 'person' | 'organization' | 'deal' | 'activity' | 'lead' | 'note';

/** Store collection per type, also the URL segment. */
export const COLLECTION: Record<PdType, string> = {
	person: 'persons',
	organization: 'organizations',
	deal: 'deals',
	activity: 'activities',
	lead: 'leads',
	note: 'notes',
};

export const V2_TYPES: PdType[] = ['person', 'organization', 'deal', 'activity'];

/** Fields a client may send on create/update (from the SDK 33 request models). */
export const WRITABLE: Record<PdType, Set<string>> = {
	person: new Set(['name', 'owner_id', 'org_id', 'add_time', 'emails', 'phones', 'visible_to', 'label_ids', 'postal_address', 'notes', 'im', 'birthday', 'job_title', 'marketing_status', 'custom_fields']),
	organization: new Set(['name', 'owner_id', 'add_time', 'visible_to', 'label_ids', 'address', 'website', 'linkedin', 'industry', 'annual_revenue', 'employee_count', 'custom_fields']),
	deal: new Set(['title', 'owner_id', 'person_id', 'org_id', 'pipeline_id', 'stage_id', 'value', 'currency', 'is_deleted', 'is_archived', 'archive_time', 'status', 'probability', 'lost_reason', 'visible_to', 'close_time', 'won_time', 'lost_time', 'expected_close_date', 'label_ids', 'custom_fields']),
	activity: new Set(['subject', 'type', 'owner_id', 'deal_id', 'lead_id', 'person_id', 'org_id', 'project_id', 'due_date', 'due_time', 'duration', 'busy', 'done', 'location', 'participants', 'attendees', 'public_description', 'priority', 'outcome', 'note']),
	lead: new Set(['title', 'owner_id', 'label_ids', 'person_id', 'organization_id', 'value', 'expected_close_date', 'visible_to', 'was_seen', 'origin_id', 'channel', 'channel_id', 'is_archived']),
	note: new Set(['content', 'lead_id', 'deal_id', 'person_id', 'org_id', 'project_id', 'task_id', 'user_id', 'add_time', 'pinned_to_lead_flag', 'pinned_to_deal_flag', 'pinned_to_organization_flag', 'pinned_to_person_flag', 'pinned_to_project_flag', 'pinned_to_task_flag']),
};

export const REQUIRED: Record<PdType, string[]> = {
	person: ['name'],
	organization: ['name'],
	deal: ['title'],
	activity: [],
	lead: ['title'],
	note: ['content'],
};

/** The user every API token acts as (one-user company). */
export const USER_ID = 1;
export const COMPANY_ID = 1;
/** The colleague behind writes marked as made in the app (x-sandbox-change-source: app). */
export const UI_USER_ID = 2;

export class ValidationError extends Error {}

/** RFC3339 without milliseconds, as Pipedrive v2 returns timestamps. */
export function rfc3339(ms: number): string {
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** v1 timestamp format "YYYY-MM-DD HH:MM:SS" (UTC). */
export function v1Time(ms: number): string {
	return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Parses RFC3339 or "YYYY-MM-DD HH:MM:SS" (UTC); undefined when invalid. */
export function parseTime(s: string): number | undefined {
	const t = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(s) ? s.replace(' ', 'T') + 'Z' : s;
	const ms = Date.parse(t);
	return Number.isNaN(ms) ? undefined : ms;
}

export function phoneDigits(v: unknown): string {
	return String(v ?? '').replace(/\D/g, '');
}

/** Phone match key: the last 10 digits, so '+1 415 555 0100' and '(415) 555-0100' match. */
export function phoneKey(v: unknown): string {
	return phoneDigits(v).slice(-10);
}

function normaliseContactList(v: unknown, field: string): Fields[] {
	if (v === null) return [];
	if (!Array.isArray(v)) throw new ValidationError(`Validation failed: ${field}: Expected array`);
	const out = v.map((item, i) => {
		if (typeof item !== 'object' || item === null || typeof (item as Fields).value !== 'string') {
			throw new ValidationError(`Validation failed: ${field}[${i}].value: Required string`);
		}
		const it = item as Fields;
		return { value: it.value, primary: it.primary === true, label: typeof it.label === 'string' ? it.label : 'work' };
	});
	if (out.length && !out.some((e) => e.primary)) out[0].primary = true;
	return out;
}

/**
 * Checks and normalises a create/update body. Unknown fields are rejected (v2 validates its
 * request schema); `creating` adds required-field checks and defaults.
 */
export function cleanInput(type: PdType, body: unknown, creating: boolean): Fields {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('Validation failed: body must be a JSON object');
	const input = body as Fields;
	const out: Fields = {};
	for (const [k, v] of Object.entries(input)) {
		if (!WRITABLE[type].has(k)) throw new ValidationError(`Validation failed: ${k}: Unrecognized key`);
		out[k] = v;
	}
	for (const f of REQUIRED[type]) {
		if (creating && (out[f] === undefined || out[f] === null || out[f] === '')) throw new ValidationError(`Validation failed: ${f}: Required`);
		if (!creating && f in out && (out[f] === null || out[f] === '')) throw new ValidationError(`Validation failed: ${f}: must not be empty`);
	}
	if ('emails' in out) out.emails = normaliseContactList(out.emails, 'emails');
	if ('phones' in out) out.phones = normaliseContactList(out.phones, 'phones');
	if (type === 'deal' && 'status' in out && !['open', 'won', 'lost'].includes(String(out.status))) {
		throw new ValidationError('Validation failed: status: Invalid enum value. Expected open | won | lost');
	}
	if (type === 'person' && 'marketing_status' in out && !['no_consent', 'unsubscribed', 'subscribed', 'archived'].includes(String(out.marketing_status))) {
		throw new ValidationError('Validation failed: marketing_status: Invalid enum value');
	}
	for (const k of ['due_date', 'expected_close_date']) {
		if (typeof out[k] === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(out[k] as string)) throw new ValidationError(`Validation failed: ${k}: Expected YYYY-MM-DD`);
	}
	if (type === 'lead' && 'value' in out && out.value !== null) {
		const v = out.value as Fields;
		if (typeof v !== 'object' || typeof v.amount !== 'number' || typeof v.currency !== 'string') {
			throw new ValidationError('Validation failed: value: Expected {amount: number, currency: string}');
		}
	}
	if (creating) Object.assign(out, { ...DEFAULTS[type](), ...out });
	delete out.add_time;
	return out;
}

const DEFAULTS: Record<PdType, () => Fields> = {
	// picture_id: a standard person field in v1 (v1-get-person-recorded.json) and v2 (v2-get-person-spec-example.json).
	person: () => ({ owner_id: USER_ID, org_id: null, emails: [], phones: [], visible_to: 3, label_ids: [], picture_id: null, custom_fields: {} }),
	organization: () => ({ owner_id: USER_ID, visible_to: 3, label_ids: [], address: null, website: null, linkedin: null, industry: null, annual_revenue: null, employee_count: null, custom_fields: {} }),
	// creator_user_id, stage_change_time, local_*_date, origin/channel and archive_time: v2-get-deal-recorded.json.
	deal: () => ({
		owner_id: USER_ID, creator_user_id: USER_ID, person_id: null, org_id: null, pipeline_id: 1, stage_id: 1, value: 0, currency: 'USD', status: 'open',
		is_archived: false, archive_time: null, probability: null, lost_reason: null, visible_to: 3, close_time: null, won_time: null, lost_time: null,
		stage_change_time: null, local_won_date: null, local_lost_date: null, local_close_date: null, expected_close_date: null,
		origin: 'API', origin_id: null, channel: null, channel_id: null, label_ids: [], custom_fields: {},
	}),
	activity: () => ({ subject: 'Call', type: 'call', owner_id: USER_ID, creator_user_id: USER_ID, done: false, busy: false, deal_id: null, lead_id: null, person_id: null, org_id: null, due_date: null, due_time: null, duration: null, note: null, participants: [], attendees: [] }),
	// archive_time: v1-create-lead-recorded.json.
	lead: () => ({ owner_id: USER_ID, creator_id: USER_ID, label_ids: [], person_id: null, organization_id: null, source_name: 'API', origin: 'API', origin_id: null, channel: null, channel_id: null, source_deal_id: null, is_archived: false, archive_time: null, was_seen: false, value: null, expected_close_date: null, next_activity_id: null, visible_to: '3', cc_email: 'sandbox@pipedrivemail.com' }),
	note: () => ({ user_id: USER_ID, deal_id: null, person_id: null, org_id: null, lead_id: null, project_id: null, task_id: null, last_update_user_id: null, pinned_to_deal_flag: false, pinned_to_organization_flag: false, pinned_to_person_flag: false, pinned_to_lead_flag: false, pinned_to_project_flag: false, pinned_to_task_flag: false }),
};

/** Lead ids are UUIDs; all other types use per-type integer sequences. */
export function leadId(): string {
	return randomUUID();
}

export function splitName(name: unknown): { first_name: string; last_name: string } {
	const parts = String(name ?? '').trim().split(/\s+/);
	return { first_name: parts[0] ?? '', last_name: parts.slice(1).join(' ') };
}

function numId(v: unknown): unknown {
	return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
}

/** v2 wire shape (persons, organizations, deals, activities). */
export function toV2(type: PdType, rec: StoredRecord): Fields {
	const f = rec.fields;
	const base: Fields = { id: numId(rec.id) };
	if (type === 'person') Object.assign(base, { name: f.name, ...splitName(f.name) });
	Object.assign(base, f, {
		add_time: rfc3339(rec.createdAt),
		update_time: rfc3339(rec.updatedAt),
		is_deleted: rec.deletedAt !== undefined,
	});
	if (type === 'activity') base.marked_as_done_time = f.done ? rfc3339(rec.updatedAt) : null;
	return base;
}

/** v1 wire shape (leads, notes, and persons/orgs/deals/activities for merge, recents, v1 webhooks). */
export function toV1(type: PdType, rec: StoredRecord): Fields {
	const f = rec.fields;
	if (type === 'lead') {
		return { id: rec.id, ...f, add_time: new Date(rec.createdAt).toISOString(), update_time: new Date(rec.updatedAt).toISOString() };
	}
	const out: Fields = { id: numId(rec.id), ...f, add_time: v1Time(rec.createdAt), update_time: v1Time(rec.updatedAt), active_flag: rec.deletedAt === undefined };
	// v1 sends visible_to as a string ("3"), v2 as a number (webhook-v1-updated-deal-recorded.json, v2-get-deal-recorded.json).
	if (typeof out.visible_to === 'number') out.visible_to = String(out.visible_to);
	// v1 times are "YYYY-MM-DD HH:MM:SS" (UTC); custom fields sit at the top level; a deal's owner is user_id
	// (webhook-v1-updated-deal-recorded.json, v1-list-deals-recorded.json).
	for (const [k, v] of Object.entries(out)) {
		if (k.endsWith('_time') && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) out[k] = v1Time(Date.parse(v));
	}
	if (out.custom_fields && typeof out.custom_fields === 'object') {
		Object.assign(out, out.custom_fields);
		delete out.custom_fields;
	}
	if (type === 'deal' && 'owner_id' in out) {
		out.user_id = out.owner_id;
		delete out.owner_id;
	}
	if (type === 'person') {
		Object.assign(out, splitName(f.name));
		out.email = f.emails;
		out.phone = f.phones;
		delete out.emails;
		delete out.phones;
	}
	return out;
}

export function toWire(type: PdType, rec: StoredRecord): Fields {
	return type === 'lead' || type === 'note' ? toV1(type, rec) : toV2(type, rec);
}
