// Pipedrive webhooks: HTTP Basic auth, v1 and v2 payloads (one change per request).
//
// Corrections to crm-wire.md, from recorded deliveries:
// - v1 (webhook-v1-updated-deal-recorded.json): `current` / `previous` are whole v1 records
//   (times "YYYY-MM-DD HH:MM:SS" UTC, visible_to "3", a deal's owner in user_id, custom fields at
//   the top level). They are turned into the v2 shape (v1.ts) before the changed keys are taken,
//   so the carried values read like a v2 GET.
// - v2 (webhook-v2-change-deal-recorded-TRIMMED.json): every meta id is a string (entity_id,
//   user_id, company_id, webhook_id, permitted_user_ids) and meta.timestamp is ISO with
//   milliseconds, not epoch seconds. A v2 delivery may be read without `data` (the fixture had
//   it trimmed): the event then carries no record and the changed keys come from `previous`.

import type { EntityType, SyncOperation } from '../../model';
import { canonicalJson } from '../../state/fingerprint';
import {
	activeSecrets,
	badRequest,
	header,
	idString,
	isObject,
	isoFromEpochMs,
	isoFromString,
	jsonBody,
	lookup,
	matchesAny,
	parseEach,
	quote,
	shortHash,
	unauthorized,
} from '../../webhooks/common';
import type { CrmWebhookModule, ParsedWebhook, VerifyConfig, WebhookRequest } from '../../webhooks/types';
import type { CapturedEvent } from '../../events/types';
import { v1ToV2 } from './v1';

export const contentTypes = ['application/json'] as const;

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="crm-sync", charset="UTF-8"' };

/** Secrets are `user:password`, as set in the webhook's http_auth_user / http_auth_password. */
export function verify(request: WebhookRequest, config: VerifyConfig): void {
	const user = config.basicAuthUser;
	const secrets = activeSecrets(config).map((password) => (user === undefined ? password : `${user}:${password}`));
	const auth = header(request, 'authorization') ?? '';
	const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
	if (!match) throw unauthorized('missing HTTP Basic credentials', CHALLENGE);
	const presented = Buffer.from(match[1], 'base64').toString('utf8');
	if (!matchesAny(presented, secrets, (secret) => secret)) throw unauthorized('invalid HTTP Basic credentials', CHALLENGE);
}

const OBJECT_ENTITY: Record<string, EntityType> = {
	person: 'contact',
	organization: 'account',
	deal: 'opportunity',
	lead: 'lead',
	activity: 'activity',
	note: 'activity',
};
const ACTION_OPERATION: Record<string, SyncOperation> = {
	create: 'create',
	added: 'create',
	change: 'update',
	updated: 'update',
	delete: 'delete',
	deleted: 'delete',
	merged: 'merge',
};

/** Seconds, milliseconds or microseconds since the epoch (by magnitude), or an ISO string. */
function pipedriveTime(value: unknown): string | undefined {
	const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
	if (typeof n === 'number' && Number.isFinite(n) && n > 0) {
		return isoFromEpochMs(n < 1e11 ? n * 1000 : n < 1e14 ? n : n / 1000);
	}
	return isoFromString(value);
}

/** v1 sends whole objects in current and previous: the changed fields are those that differ (custom fields one level down). */
function differingKeys(current: Record<string, unknown>, previous: Record<string, unknown>): string[] {
	const keys = new Set([...Object.keys(current), ...Object.keys(previous)]);
	return [...keys].flatMap((k) => {
		if (canonicalJson(current[k]) === canonicalJson(previous[k])) return [];
		if (k === 'custom_fields' && isObject(current[k]) && isObject(previous[k])) {
			return differingKeys(current[k] as Record<string, unknown>, previous[k] as Record<string, unknown>).map((c) => `custom_fields.${c}`);
		}
		return [k];
	});
}

/** v2 sends only the changed fields in previous; custom fields are nested one level. */
function changedKeys(previous: Record<string, unknown>): string[] {
	const keys: string[] = [];
	for (const [key, value] of Object.entries(previous)) {
		if (key === 'custom_fields' && isObject(value)) keys.push(...Object.keys(value).map((k) => `custom_fields.${k}`));
		else keys.push(key);
	}
	return keys;
}

/** One change per request: a change that cannot be read is skipped (index 0), not refused. */
function toEvent(body: Record<string, unknown>): CapturedEvent | string {
	const meta = body.meta as Record<string, unknown>;
	const isV1 = body.v === 1 || meta.v === 1 || typeof meta.object === 'string';
	const objectName = isV1 ? meta.object : meta.entity;
	const action = meta.action;
	const entity = lookup(OBJECT_ENTITY, objectName);
	let operation = lookup(ACTION_OPERATION, action);
	if (!entity) return `unsupported Pipedrive object ${quote(objectName ?? '')}`;
	if (!operation) return `unsupported Pipedrive action ${quote(action ?? '')}`;

	const carried = isObject(isV1 ? body.current : body.data) ? ((isV1 ? body.current : body.data) as Record<string, unknown>) : undefined;
	const before = isObject(body.previous) ? (body.previous as Record<string, unknown>) : undefined;
	const current = isV1 && carried ? v1ToV2(entity, carried) : carried;
	const previous = isV1 && before ? v1ToV2(entity, before) : before;
	let recordId = idString(isV1 ? meta.id : meta.entity_id) ?? idString(current?.id) ?? idString(previous?.id);
	let mergedIds: string[] | undefined;

	// v2 has no merge action: the loser's delete event carries merged_to_id.
	const mergedTo = idString(meta.merged_to_id) ?? idString(current?.merged_to_id) ?? idString(previous?.merged_to_id);
	if (operation === 'delete' && mergedTo) {
		operation = 'merge';
		mergedIds = recordId && recordId !== mergedTo ? [recordId] : [];
		recordId = mergedTo;
	} else if (operation === 'merge') {
		const survivor = idString(current?.id) ?? recordId;
		mergedIds = [...new Set([idString(previous?.id), recordId].filter((id): id is string => !!id && id !== survivor))];
		recordId = survivor;
	}
	if (!recordId) return 'missing record id (meta.entity_id / meta.id)';

	const stamp = isV1 ? (meta.timestamp_micro ?? meta.timestamp) : meta.timestamp;
	const occurredAt = pipedriveTime(stamp);
	if (!occurredAt) return 'missing or invalid meta.timestamp';

	const event: CapturedEvent = {
		// Stable across redeliveries (attempt/retry differ, the change does not); the content hash
		// keeps two changes of one record within the same second apart.
		eventId: `${objectName as string}:${recordId}:${action as string}:${idString(stamp) ?? ''}:${shortHash({ current, previous })}`,
		source: 'pipedrive',
		entity,
		operation,
		recordId,
		occurredAt,
		raw: body,
	};
	if (mergedIds) event.mergedIds = mergedIds;
	if (current && operation !== 'delete') event.record = current;
	if (operation === 'update' && previous) {
		event.changedFields = isV1 && current ? differingKeys(current, previous) : changedKeys(previous);
	}
	const source = meta.change_source;
	const actor = idString(meta.user_id);
	if (typeof source === 'string' || actor) {
		event.origin = { ...(typeof source === 'string' ? { source } : {}), ...(actor ? { actorId: actor } : {}) };
	}
	return event;
}

export function parse(request: WebhookRequest): ParsedWebhook {
	const body = jsonBody(request);
	if (!isObject(body) || !isObject(body.meta)) throw badRequest('Pipedrive payload must be an object with a meta object');
	return parseEach([body], (item) => toEvent(item as Record<string, unknown>));
}

export const pipedrive: CrmWebhookModule = {
	contentTypes,
	redelivers: true,
	secretToSet: "Set the Basic Auth Password: Pipedrive requests must carry the webhook's HTTP Basic auth user and password.",
	verify,
	parse,
};
