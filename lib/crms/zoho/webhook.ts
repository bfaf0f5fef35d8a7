// Zoho CRM notifications (actions/watch callbacks): no signature, the watch's `token` is echoed
// in the body and checked against the secrets.
//
// Corrections to crm-wire.md, from notification-update-affected-values-recorded.json: `channel_id`
// comes as a 19-digit string (beyond 2^53: never read it as a number), `server_time` as an
// epoch-ms number, and `affected_values` as `[{record_id, values: {...}}]`.

import type { EntityType, SyncOperation } from '../../model';
import {
	activeSecrets,
	badRequest,
	idString,
	isObject,
	isoFromMs,
	jsonBody,
	lookup,
	matchesAny,
	parseEach,
	quote,
	unauthorized,
} from '../../webhooks/common';
import type { CrmWebhookModule, ParsedWebhook, VerifyConfig, WebhookRequest } from '../../webhooks/types';
import type { CapturedEvent } from '../../events/types';

export const contentTypes = ['application/json'] as const;

function body(request: WebhookRequest): Record<string, unknown> {
	const value = jsonBody(request);
	if (!isObject(value)) throw badRequest('Zoho notification must be a JSON object');
	return value;
}

export function verify(request: WebhookRequest, config: VerifyConfig): void {
	const secrets = activeSecrets(config);
	const token = body(request).token;
	if (typeof token !== 'string' || token === '') throw unauthorized('missing token in the notification');
	if (!matchesAny(token, secrets, (secret) => secret)) throw unauthorized('invalid notification token');
}

const MODULE_ENTITY: Record<string, EntityType> = {
	Contacts: 'contact',
	Leads: 'lead',
	Accounts: 'account',
	Deals: 'opportunity',
	Tasks: 'activity',
	Calls: 'activity',
	Events: 'activity',
	Notes: 'activity',
};
const OPERATION: Record<string, SyncOperation> = { insert: 'create', update: 'update', delete: 'delete' };

/** `[{"<id>": ["Field", ...]}, ...]` → map id → fields. */
function affectedFields(value: unknown): Map<string, string[]> {
	const map = new Map<string, string[]>();
	for (const entry of Array.isArray(value) ? value : []) {
		if (!isObject(entry)) continue;
		for (const [id, fields] of Object.entries(entry)) {
			if (Array.isArray(fields)) map.set(id, fields.filter((f): f is string => typeof f === 'string'));
		}
	}
	return map;
}

/**
 * `affected_values` (with return_affected_field_values): `[{"record_id": "...", "values": {"Field":
 * value}}, ...]` (notification-update-affected-values-recorded.json), read as {id, ...values}. The
 * flat `[{"id": "...", "Field": value}]` form crm-wire.md assumed is still read.
 */
function affectedValues(value: unknown): Map<string, Record<string, unknown>> {
	const map = new Map<string, Record<string, unknown>>();
	for (const entry of Array.isArray(value) ? value : []) {
		if (!isObject(entry)) continue;
		const recordId = idString(entry.record_id);
		if (recordId && isObject(entry.values)) map.set(recordId, { ...entry.values, id: recordId });
		else {
			const id = idString(entry.id);
			if (id) map.set(id, entry);
		}
	}
	return map;
}

export function parse(request: WebhookRequest): ParsedWebhook {
	const notification = body(request);
	const moduleName = notification.module;
	const entity = lookup(MODULE_ENTITY, moduleName);
	const operation = lookup(OPERATION, notification.operation);
	const ids = Array.isArray(notification.ids) ? notification.ids : undefined;
	if (!ids) throw badRequest('Zoho notification has no ids array');
	// The notification-level fields hold for every id: when one is unusable, each id is reported.
	const skipAll = (reason: string): ParsedWebhook => ({ events: [], skipped: ids.map((_, index) => ({ index, reason })) });
	if (!entity) return skipAll(`unsupported Zoho module ${quote(moduleName ?? '')}`);
	if (!operation) return skipAll(`unsupported Zoho operation ${quote(notification.operation)}`);
	const occurredAt = isoFromMs(notification.server_time);
	if (!occurredAt) return skipAll('missing or invalid server_time');

	const fields = affectedFields(notification.affected_fields);
	const values = affectedValues(notification.affected_values);
	const channel = idString(notification.channel_id) ?? '';
	return parseEach(ids, (rawId) => {
		const recordId = idString(rawId);
		if (!recordId) return 'record id is not a string or number';
		const event: CapturedEvent = {
			// A redelivered notification repeats channel, time and ids.
			eventId: `${channel}:${moduleName as string}:${recordId}:${notification.operation as string}:${idString(notification.server_time) ?? ''}`,
			source: 'zoho',
			entity,
			operation,
			recordId,
			occurredAt,
			raw: notification,
		};
		const changed = fields.get(recordId);
		if (operation === 'update' && changed) event.changedFields = changed;
		const record = values.get(recordId);
		if (record && operation !== 'delete') event.record = record;
		return event;
	});
}

export const zoho: CrmWebhookModule = {
	contentTypes,
	redelivers: false,
	secretToSet: 'Set the Token: Zoho notifications must carry the token of the notification channel.',
	verify,
	parse,
};
