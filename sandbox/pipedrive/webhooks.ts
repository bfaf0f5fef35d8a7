// Pipedrive webhooks: subscriptions made through POST /v1/webhooks, payloads in the 1.0 and 2.0
// formats, HTTP Basic auth from http_auth_user/password (Pipedrive signs nothing).

import { randomUUID } from 'node:crypto';
import type { Fields } from '../common/store';
import type { WebhookSubscription } from '../common/types';
import type { OutgoingRequest, RetryPolicy } from '../common/webhooks';
import { COMPANY_ID, PdType, UI_USER_ID, USER_ID, ValidationError, rfc3339 } from './shapes';

export type V2Action = 'create' | 'change' | 'delete';
export type ChangeSource = 'api' | 'app';

export const EVENT_OBJECTS = ['activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user', '*'];
const V2_ACTIONS = ['create', 'change', 'delete', '*'];
const V1_ACTIONS = ['added', 'updated', 'deleted', 'merged', '*'];
const V1_OF: Record<V2Action, string> = { create: 'added', change: 'updated', delete: 'deleted' };

/** Documented at most 40 webhooks per user. */
export const MAX_WEBHOOKS_PER_USER = 40;

/**
 * [U] retry policy: 2xx within 10 s counts as delivered; otherwise up to 3 retries after 3 s,
 * 30 s and 150 s (scaled by webhookRetryDelayScale in tests).
 */
export const PIPEDRIVE_RETRY: RetryPolicy = {
	maxAttempts: 4,
	delayMs: (attempt) => [3000, 30000, 150000][attempt - 1] ?? 150000,
	isSuccess: (status) => status >= 200 && status < 300,
	shouldRetry: () => true,
};
export const PIPEDRIVE_WEBHOOK_TIMEOUT_MS = 10000;

export interface PdWebhook extends WebhookSubscription {
	company_id: number;
	owner_id: number;
	user_id: number;
	event_action: string;
	event_object: string;
	subscription_url: string;
	version: '1.0' | '2.0';
	is_active: number;
	add_time: string;
	remove_time: null;
	type: 'general';
	http_auth_user: string | null;
	http_auth_password: string | null;
	remove_reason: null;
	last_delivery_time: string | null;
	last_http_status: number | null;
	admin_id: number;
	name: string;
}

/** Validates an AddWebhookRequest body; returns the stored subscription (without id). */
export function newWebhook(body: unknown, now: number): Omit<PdWebhook, 'id'> {
	const b = (typeof body === 'object' && body !== null ? body : {}) as Fields;
	const errors: Record<string, string> = {};
	const url = b.subscription_url;
	if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) errors.subscription_url = 'subscription_url must be a valid http(s) URL';
	const version = b.version === undefined ? '2.0' : String(b.version);
	if (version !== '1.0' && version !== '2.0') errors.version = 'version must be 1.0 or 2.0';
	const actions = version === '1.0' ? V1_ACTIONS : V2_ACTIONS;
	if (typeof b.event_action !== 'string' || !actions.includes(b.event_action)) errors.event_action = `event_action must be one of ${actions.join(', ')}`;
	if (typeof b.event_object !== 'string' || !EVENT_OBJECTS.includes(b.event_object)) errors.event_object = `event_object must be one of ${EVENT_OBJECTS.join(', ')}`;
	if (b.name !== undefined && typeof b.name !== 'string') errors.name = 'name must be a string';
	if (Object.keys(errors).length) {
		const e = new ValidationError(Object.values(errors).join('; '));
		(e as ValidationError & { errors?: unknown }).errors = errors;
		throw e;
	}
	return {
		url: url as string,
		company_id: COMPANY_ID,
		owner_id: USER_ID,
		user_id: typeof b.user_id === 'number' ? b.user_id : USER_ID,
		event_action: b.event_action as string,
		event_object: b.event_object as string,
		subscription_url: url as string,
		version,
		is_active: 1,
		add_time: rfc3339(now),
		remove_time: null,
		type: 'general',
		http_auth_user: typeof b.http_auth_user === 'string' ? b.http_auth_user : null,
		http_auth_password: typeof b.http_auth_password === 'string' ? b.http_auth_password : null,
		remove_reason: null,
		last_delivery_time: null,
		last_http_status: null,
		admin_id: USER_ID,
		name: typeof b.name === 'string' ? b.name : '',
	};
}

/** One change, before it is turned into per-subscription payloads. */
export interface PdEvent {
	/** meta.id: one per event, kept across retries. */
	id: string;
	action: V2Action;
	/** v1 only: a merge is announced as 'merged' on the surviving record. */
	v1Action?: 'merged';
	entity: PdType;
	entityId: string;
	/** Current object in v2 (or lead/note v1) shape; null for deletes. */
	data: Fields | null;
	/** v2: changed fields with their old values (create: null; delete: the whole object). */
	previous: Fields | null;
	/** v1 shapes of the current and previous object. */
	v1Current: Fields | null;
	v1Previous: Fields | null;
	/** 'api' for API writes; 'app' for writes marked as made in the Pipedrive app (by user UI_USER_ID). */
	changeSource: ChangeSource;
	mergedToId?: string;
	timestamp: number;
}

export function subscribed(w: PdWebhook, e: PdEvent): boolean {
	if (w.event_object !== '*' && w.event_object !== e.entity) return false;
	if (w.event_action === '*') return true;
	if (w.version === '1.0') return w.event_action === (e.v1Action ?? V1_OF[e.action]);
	return w.event_action === e.action;
}

function idValue(id: string): string | number {
	return /^\d+$/.test(id) ? Number(id) : id;
}

/** Builds the HTTP request for one attempt. */
export function buildRequest(w: PdWebhook, e: PdEvent, host: string, attempt: number): OutgoingRequest {
	const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'Pipedrive Webhooks' };
	if (w.http_auth_user !== null || w.http_auth_password !== null) {
		headers.Authorization = 'Basic ' + Buffer.from(`${w.http_auth_user ?? ''}:${w.http_auth_password ?? ''}`).toString('base64');
	}
	let body: Fields;
	if (w.version === '2.0') {
		// Every v2 meta id is a string and the timestamp ISO with ms (webhook-v2-change-deal-recorded-TRIMMED.json).
		const meta: Fields = {
			action: e.action,
			entity: e.entity,
			version: '2.0',
			company_id: String(COMPANY_ID),
			user_id: String(e.changeSource === 'app' ? UI_USER_ID : USER_ID),
			id: e.id,
			entity_id: String(e.entityId),
			webhook_id: String(w.id),
			webhook_owner_id: String(w.owner_id),
			permitted_user_ids: [String(USER_ID)],
			attempt,
			host,
			timestamp: new Date(e.timestamp).toISOString(),
			correlation_id: randomUUID(),
			type: 'general',
			change_source: e.changeSource,
			is_bulk_edit: false,
		};
		if (e.mergedToId !== undefined) meta.merged_to_id = String(e.mergedToId);
		body = { meta, data: e.data, previous: e.previous };
	} else {
		const action = e.v1Action ?? V1_OF[e.action];
		const meta: Fields = {
			v: 1,
			action,
			object: e.entity,
			id: idValue(e.entityId),
			company_id: COMPANY_ID,
			user_id: e.changeSource === 'app' ? UI_USER_ID : USER_ID,
			host,
			timestamp: Math.floor(e.timestamp / 1000),
			timestamp_micro: e.timestamp * 1000,
			permitted_user_ids: [USER_ID],
			trans_pending: false,
			is_bulk_update: false,
			pipedrive_service_name: false,
			change_source: e.changeSource,
			matches_filters: { current: [] },
			webhook_id: String(w.id),
		};
		if (e.mergedToId !== undefined) meta.merged_to_id = idValue(e.mergedToId);
		body = {
			v: 1,
			matches_filters: { current: [] },
			meta,
			current: e.v1Current,
			previous: e.v1Previous,
			event: `${action}.${e.entity}`,
			retry: attempt - 1,
		};
	}
	return { headers, body: JSON.stringify(body) };
}
