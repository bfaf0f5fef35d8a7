// Dynamics 365 / Dataverse webhooks: RemoteExecutionContext JSON. Dataverse cannot sign; the
// service endpoint sends a static key, either as a header (HttpHeader auth) or as `?code=`
// (WebhookKey auth).
//
// Correction to crm-wire.md (evidence: the docs' captured body, dataverse/
// webhook-remoteexecutioncontext-contact-update.json): OperationCreatedOn is
// `/Date(1506409448000-0700)/`, 7 h 0 min 1 s after the Target's modifiedon `/Date(1506384247000)/`
// of the same update. The server serialized a UTC time as if it were its local (-07:00) time, so
// that number is the instant shifted by the offset. occurredAt therefore takes the changed row's
// modifiedon (a UTC value, no offset) and only falls back to OperationCreatedOn (offset applied)
// when the change carries none, as for Delete.

import { isPrototypeKey, type EntityType, type SyncOperation } from '../../model';
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
	queryParam,
	quote,
	unauthorized,
} from '../../webhooks/common';
import type { CrmWebhookModule, ParsedWebhook, VerifyConfig, WebhookRequest } from '../../webhooks/types';
import type { CapturedEvent } from '../../events/types';

/** HttpHeader auth: the key goes in this header. */
export const DYNAMICS_KEY_HEADER = 'x-crm-sync-key';
/** WebhookKey auth: Dataverse appends `?code=<key>`. */
export const DYNAMICS_KEY_PARAM = 'code';

export const contentTypes = ['application/json'] as const;

export function verify(request: WebhookRequest, config: VerifyConfig): void {
	const secrets = activeSecrets(config);
	const key = header(request, DYNAMICS_KEY_HEADER) ?? queryParam(request, DYNAMICS_KEY_PARAM);
	if (key === undefined || key === '') throw unauthorized(`missing ${DYNAMICS_KEY_HEADER} header or ?${DYNAMICS_KEY_PARAM}= key`);
	if (!matchesAny(key, secrets, (secret) => secret)) throw unauthorized('invalid webhook key');
}

const ENTITY: Record<string, EntityType> = {
	contact: 'contact',
	lead: 'lead',
	account: 'account',
	opportunity: 'opportunity',
	task: 'activity',
	phonecall: 'activity',
	appointment: 'activity',
	email: 'activity',
	annotation: 'activity',
};
const MESSAGE_OPERATION: Record<string, SyncOperation> = {
	Create: 'create',
	Update: 'update',
	Delete: 'delete',
	Merge: 'merge',
	Restore: 'restore',
	Assign: 'update',
	SetState: 'update',
	SetStateDynamicEntity: 'update',
};

const WCF_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

/** `/Date(1506384247000-0700)/` → ISO. The number is UTC ms; the offset is display only. */
export function wcfDate(value: unknown): string | undefined {
	const match = typeof value === 'string' ? WCF_DATE.exec(value) : null;
	return match ? isoFromEpochMs(Number(match[1])) : undefined;
}

/** OperationCreatedOn: a UTC time the server serialized as local, so the offset is added back (see the header). */
export function operationCreatedOn(value: unknown): string | undefined {
	const match = typeof value === 'string' ? WCF_DATE.exec(value) : null;
	if (!match) return undefined;
	const offset = match[2] ? (match[2][0] === '-' ? -1 : 1) * (Number(match[2].slice(1, 3)) * 60 + Number(match[2].slice(3, 5))) * 60_000 : 0;
	return isoFromEpochMs(Number(match[1]) + offset);
}

/** Data contract values → plain JSON: dates, lookups, option sets, money. */
function plain(value: unknown): unknown {
	if (typeof value === 'string') return wcfDate(value) ?? value;
	if (Array.isArray(value)) return value.map(plain);
	if (!isObject(value)) return value;
	const type = typeof value.__type === 'string' ? value.__type.split(':')[0] : '';
	if (type === 'EntityReference') return { id: value.Id, logicalName: value.LogicalName, name: value.Name ?? null };
	if (type === 'OptionSetValue' || type === 'Money') return value.Value;
	if (type === 'Entity') return attributes(value);
	return value;
}

/** `[{key, value}]` collections of the data contract → object. */
function keyValues(list: unknown): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const entry of Array.isArray(list) ? list : []) {
		if (isObject(entry) && typeof entry.key === 'string' && !isPrototypeKey(entry.key)) out[entry.key] = entry.value;
	}
	return out;
}

function attributes(entity: unknown): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	if (!isObject(entity)) return out;
	for (const [key, value] of Object.entries(keyValues(entity.Attributes))) out[key] = plain(value);
	return out;
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const guid = (value: unknown) => {
	const id = idString(value);
	return id && id !== EMPTY_GUID ? id.toLowerCase() : undefined;
};

/** One change per request: a change that cannot be read is skipped (index 0), not refused. */
function toEvent(context: Record<string, unknown>): CapturedEvent | string {
	const message = context.MessageName as string;
	const entity = lookup(ENTITY, context.PrimaryEntityName);
	const operation = lookup(MESSAGE_OPERATION, message);
	if (!entity) return `unsupported PrimaryEntityName ${quote(context.PrimaryEntityName ?? '')}`;
	if (!operation) return `unsupported MessageName ${quote(message)}`;

	const inputs = keyValues(context.InputParameters);
	const target = inputs.Target;
	const changed = operation === 'create' || operation === 'update' ? attributes(target) : {};
	let recordId = guid(context.PrimaryEntityId) ?? (isObject(target) ? guid(target.Id) : undefined);
	let mergedIds: string[] | undefined;
	if (operation === 'merge') {
		recordId = (isObject(target) ? guid(target.Id) : undefined) ?? recordId;
		const subordinate = guid(inputs.SubordinateId);
		mergedIds = subordinate ? [subordinate] : [];
	}
	if (operation === 'create' && !recordId) recordId = guid(keyValues(context.OutputParameters).id);
	if (!recordId) return 'missing PrimaryEntityId';

	const occurredAt = (typeof changed.modifiedon === 'string' ? isoFromString(changed.modifiedon) : undefined) ?? operationCreatedOn(context.OperationCreatedOn) ?? isoFromString(context.OperationCreatedOn);
	if (!occurredAt) return 'missing or invalid OperationCreatedOn';

	const event: CapturedEvent = {
		eventId:
			guid(context.OperationId) ??
			`${guid(context.CorrelationId) ?? ''}:${message}:${recordId}:${idString(context.Depth) ?? ''}`,
		source: 'dynamics',
		entity,
		operation,
		recordId,
		occurredAt,
		raw: context,
	};
	if (mergedIds) event.mergedIds = mergedIds;
	if (Object.keys(changed).length > 0) {
		// Update targets carry only the changed attributes; a post image, when registered, the rest.
		const postImage = Object.values(keyValues(context.PostEntityImages))[0];
		event.record = { ...attributes(postImage), ...changed };
		event.changedFields = Object.keys(changed);
	}
	const initiator = guid(context.InitiatingUserId);
	if (initiator) event.origin = { actorId: initiator };
	return event;
}

export function parse(request: WebhookRequest): ParsedWebhook {
	const context = jsonBody(request);
	if (!isObject(context) || typeof context.MessageName !== 'string') {
		throw badRequest('not a RemoteExecutionContext: no MessageName');
	}
	return parseEach([context], (item) => toEvent(item as Record<string, unknown>));
}

export const dynamics: CrmWebhookModule = {
	contentTypes,
	redelivers: true,
	secretToSet: 'Set the Key: Dynamics requests must carry the webhook key (?code= or the x-crm-sync-key header).',
	verify,
	parse,
};
