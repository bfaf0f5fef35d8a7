// What generic code asks about a CRM: each lib/crms/<crm>/adapter.ts answers. Members are
// optional where most CRMs need nothing; the generic behaviour is then the default.

import type { ChangeOrigin, EntityType } from '../model';
import type { CapturedEvent } from '../events/types';

export interface CrmAdapter {
	// ---- loop prevention (lib/webhooks/accept.ts, lib/polling/poll.ts)
	/**
	 * Whether a change's origin names one of the own-change `markers`; `byActor`: a marker equals
	 * the origin's actor id. Default: byActor.
	 */
	isOwnChange?(origin: ChangeOrigin, markers: readonly string[], byActor: boolean): boolean;
	/** Who last changed a record, from the modifier field the connector returns with records. */
	recordModifier?(fields: Record<string, unknown>): unknown;

	// ---- reading changed records (lib/webhooks/enrich.ts)
	/**
	 * The fields to ask for when reading a record, given the CRM fields its default map reads;
	 * absent where a read returns every field.
	 */
	readFields?(entity: EntityType, mapped: string[]): string[];
	/** The id field for reading many records in one search (Salesforce SOQL `Id IN (...)`). */
	batchReadIdField?: string;
	/** Whether a delete event asks for an erasure (GDPR), not a plain delete. */
	isErasure?(event: CapturedEvent): boolean;

	// ---- field mapping (lib/mapping/compile.ts, transformers.ts)
	/** Record keys that are envelope or metadata, never custom fields. */
	isSystemKey?(key: string): boolean;
	/** The key custom fields are nested under (Pipedrive `custom_fields`); default: the record's top level. */
	customFieldsKey?: string;
	/** Whether every property value is text on the wire (HubSpot): numbers, booleans and dates are written as strings. */
	textValues?: boolean;
}

/** A webhook subscription the trigger registers itself: its id, where it delivers, when it expires. */
export interface Subscription {
	id: string;
	url: string;
	/** Epoch ms, for subscriptions that expire (Zoho channels). */
	expiresAt?: number;
}

/** What the trigger asks for: deliveries to `url`, checked with `secret` (and `user`), of `entities`. */
export interface SubscriptionRequest {
	url: string;
	secret: string;
	user: string;
	entities: EntityType[];
}

/** The webhook subscriptions of a CRM whose API lets the trigger register itself (credentials as n8n gives them). */
export interface SubscriptionApi {
	list(credentials: Record<string, unknown>): Promise<Subscription[]>;
	create(credentials: Record<string, unknown>, request: SubscriptionRequest): Promise<Subscription>;
	/** Already gone counts as removed. */
	remove(credentials: Record<string, unknown>, id: string): Promise<void>;
	/** For subscriptions that expire: whether one expiring at `expiresAt` is due for renewal, and the renewal. */
	renewal?: { due(expiresAt: number): boolean; renew(credentials: Record<string, unknown>, id: string): Promise<Subscription> };
}
