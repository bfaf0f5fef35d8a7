// Dataverse webhooks: RemoteExecutionContext bodies with WCF dates, x-ms-dynamics-* headers,
// key in a header (HttpHeader), ?code= (WebhookKey) or other query parameters (HttpQueryString).

import { randomUUID } from 'node:crypto';
import type { Fields } from '../common/store';
import type { OutgoingRequest, RetryPolicy } from '../common/webhooks';
import type { WebhookSubscription } from '../common/types';
import type { EntityDef } from './entities';

const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
/** Dataverse drops ParentContext, InputParameters and images above this size. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Documented: 60 s timeout, one retry and only after 502, 503 or 504. */
export const DYNAMICS_RETRY: RetryPolicy = {
	maxAttempts: 2,
	delayMs: () => 1000,
	isSuccess: (s) => s >= 200 && s < 300,
	shouldRetry: (s) => s === 502 || s === 503 || s === 504,
};
export const DYNAMICS_WEBHOOK_TIMEOUT_MS = 60000;

export type Message = 'Create' | 'Update' | 'Delete';

export interface DvSubscription extends WebhookSubscription {
	/** Logical name or '*'. */
	entity: string;
	messages: Message[];
	authType: 'HttpHeader' | 'WebhookKey' | 'HttpQueryString';
	/** HttpHeader: static headers; HttpQueryString: query parameters. */
	values: Record<string, string>;
	/** WebhookKey: sent as ?code=<key>. */
	key: string | null;
	preImage: boolean;
	postImage: boolean;
	stepId: string;
}

/** Validates an admin-created subscription. */
export function newSubscription(spec: Record<string, unknown>): Omit<DvSubscription, 'id'> {
	const url = spec.url;
	if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error('subscription needs an http(s) url');
	const authType = (spec.authType ?? 'WebhookKey') as DvSubscription['authType'];
	if (!['HttpHeader', 'WebhookKey', 'HttpQueryString'].includes(authType)) throw new Error('authType must be HttpHeader, WebhookKey or HttpQueryString');
	const messages = (spec.messages ?? ['Create', 'Update', 'Delete']) as Message[];
	if (!Array.isArray(messages) || messages.some((m) => !['Create', 'Update', 'Delete'].includes(m))) throw new Error('messages must be a list of Create, Update, Delete');
	const values = (spec.values ?? spec.headers ?? spec.query ?? {}) as Record<string, string>;
	const key = typeof spec.key === 'string' ? spec.key : null;
	if (authType === 'WebhookKey' && !key) throw new Error('WebhookKey subscriptions need a key');
	return {
		url,
		entity: typeof spec.entity === 'string' ? spec.entity : '*',
		messages,
		authType,
		values,
		key,
		preImage: spec.preImage === true,
		postImage: spec.postImage !== false,
		stepId: typeof spec.stepId === 'string' ? spec.stepId : randomUUID(),
	};
}

/** WCF JSON date. */
export function wcfDate(ms: number): string {
	return `/Date(${ms})/`;
}

export interface EntityImage {
	def: EntityDef;
	id: string;
	/** Attributes in Dataverse logical form (lookups as {Id, LogicalName, Name}). */
	attrs: Fields;
}

function attrValue(v: unknown): unknown {
	if (v && typeof v === 'object' && 'LogicalName' in (v as Fields)) {
		const r = v as Fields;
		return { __type: `EntityReference:${CONTRACTS}`, Id: r.Id, KeyAttributes: [], LogicalName: r.LogicalName, Name: r.Name ?? null, RowVersion: null };
	}
	if (v && typeof v === 'object' && 'OptionSetValue' in (v as Fields)) return { __type: `OptionSetValue:${CONTRACTS}`, Value: (v as Fields).OptionSetValue };
	if (v && typeof v === 'object' && 'Money' in (v as Fields)) return { __type: `Money:${CONTRACTS}`, Value: (v as Fields).Money };
	if (v && typeof v === 'object' && 'DateMs' in (v as Fields)) return wcfDate((v as Fields).DateMs as number);
	return v;
}

/**
 * An Entity of the data contract. `__type` is written only where the declared type is `object`
 * (InputParameters' Target); images are declared as Entity and carry none
 * (webhook-remoteexecutioncontext-contact-update.json).
 */
export function entityJson(img: EntityImage, rowVersion: string | null, typed = true): Fields {
	return {
		...(typed ? { __type: `Entity:${CONTRACTS}` } : {}),
		Attributes: Object.entries(img.attrs).map(([key, value]) => ({ key, value: attrValue(value) })),
		EntityState: null,
		FormattedValues: [],
		Id: img.id,
		KeyAttributes: [],
		LogicalName: img.def.logical,
		RelatedEntities: [],
		RowVersion: rowVersion,
	};
}

export interface ContextSpec {
	message: Message;
	def: EntityDef;
	id: string;
	/** Target attributes (changed ones for Update, all for Create); unused for Delete. */
	target: EntityImage | null;
	pre: EntityImage | null;
	post: EntityImage | null;
	rowVersion: string | null;
	userId: string;
	businessUnitId: string;
	organizationId: string;
	organizationName: string;
	at: number;
	correlationId: string;
}

export function remoteExecutionContext(sub: DvSubscription, c: ContextSpec, trimmed: boolean): Fields {
	const target =
		c.message === 'Delete' || !c.target
			? { __type: `EntityReference:${CONTRACTS}`, Id: c.id, KeyAttributes: [], LogicalName: c.def.logical, Name: null, RowVersion: null }
			: entityJson(c.target, c.rowVersion);
	return {
		BusinessUnitId: c.businessUnitId,
		CorrelationId: c.correlationId,
		Depth: 1,
		InitiatingUserId: c.userId,
		InputParameters: trimmed ? [] : [{ key: 'Target', value: target }],
		IsExecutingOffline: false,
		IsInTransaction: false,
		IsOfflinePlayback: false,
		IsolationMode: 1,
		MessageName: c.message,
		Mode: 1,
		OperationCreatedOn: wcfDate(c.at),
		OperationId: randomUUID(),
		OrganizationId: c.organizationId,
		OrganizationName: c.organizationName,
		OutputParameters: c.message === 'Create' ? [{ key: 'id', value: c.id }] : [],
		OwningExtension: { Id: sub.stepId, KeyAttributes: [], LogicalName: 'sdkmessageprocessingstep', Name: `Sandbox webhook: ${c.message} of ${c.def.logical}`, RowVersion: null },
		ParentContext: null,
		PostEntityImages: !trimmed && sub.postImage && c.post ? [{ key: 'PostImage', value: entityJson(c.post, c.rowVersion, false) }] : [],
		PreEntityImages: !trimmed && sub.preImage && c.pre ? [{ key: 'PreImage', value: entityJson(c.pre, null, false) }] : [],
		PrimaryEntityId: c.id,
		PrimaryEntityName: c.def.logical,
		RequestId: null,
		SecondaryEntityName: 'none',
		SharedVariables: [],
		Stage: 40,
		UserId: c.userId,
	};
}

/** The HTTP request for one delivery attempt. */
export function buildDelivery(sub: DvSubscription, c: ContextSpec, orgHost: string): OutgoingRequest {
	let body = JSON.stringify(remoteExecutionContext(sub, c, false));
	const headers: Record<string, string> = {
		'Content-Type': 'application/json',
		'x-request-id': randomUUID(),
		'x-ms-dynamics-organization': orgHost,
		'x-ms-dynamics-entity-name': c.def.logical,
		'x-ms-dynamics-request-name': c.message,
		'x-ms-correlation-request-id': c.correlationId,
	};
	if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
		body = JSON.stringify(remoteExecutionContext(sub, c, true));
		headers['x-ms-dynamics-msg-size-exceeded'] = 'true';
	}
	const url = new URL(sub.url);
	if (sub.authType === 'HttpHeader') Object.assign(headers, sub.values);
	else if (sub.authType === 'WebhookKey') url.searchParams.set('code', sub.key ?? '');
	else for (const [k, v] of Object.entries(sub.values)) url.searchParams.set(k, v);
	return { headers, body, url: url.toString() };
}
