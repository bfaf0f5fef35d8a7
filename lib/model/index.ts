// Shared vocabulary of the sync engine. Framework-free: nothing here imports n8n.

export const CRM_NAMES = ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'] as const;
export type CrmName = (typeof CRM_NAMES)[number];

export const ENTITY_TYPES = ['contact', 'lead', 'account', 'opportunity', 'activity'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** A record in the unified model: canonical camelCase fields plus pass-through custom fields. */
export interface UnifiedRecord {
	[field: string]: unknown;
}

export type SyncOperation = 'create' | 'update' | 'delete' | 'merge' | 'restore';

/** One normalised change captured from a CRM (webhook or polling). */
export interface SyncEvent {
	eventId: string;
	source: CrmName;
	entity: EntityType;
	operation: SyncOperation;
	recordId: string;
	/** ISO-8601 timestamp of the change in the source CRM. */
	occurredAt: string;
	changedFields?: string[];
	record?: Record<string, unknown>;
}

export function isCrmName(value: unknown): value is CrmName {
	return typeof value === 'string' && (CRM_NAMES as readonly string[]).includes(value);
}

export function isEntityType(value: unknown): value is EntityType {
	return typeof value === 'string' && (ENTITY_TYPES as readonly string[]).includes(value);
}

/**
 * Who made a change, as the source CRM reports it. Used to recognise (and drop) changes this
 * package wrote itself. Values are the CRM's own: HubSpot changeSource / sourceId, Pipedrive
 * change_source / user_id, Salesforce changeOrigin / commitUser, Dynamics InitiatingUserId.
 */
export interface ChangeOrigin {
	/** The CRM's change-source value (HubSpot changeSource, Pipedrive change_source, Salesforce changeOrigin). */
	source?: string;
	/** The acting user or app (HubSpot sourceId, Pipedrive user_id, Salesforce commitUser, Dynamics InitiatingUserId). */
	actorId?: string;
}

/**
 * Field names never copied into a record: assigned to a plain object, `__proto__` replaces its
 * prototype, and `constructor` / `prototype` reach shared prototypes through dot paths. Records
 * built or merged from names a CRM, a webhook or an item sent skip them.
 */
export function isPrototypeKey(key: string): boolean {
	return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/** Object.assign for records: copies `from`'s own fields onto `into`, except prototype keys. */
export function assignFields(into: Record<string, unknown>, from: Record<string, unknown> | undefined): Record<string, unknown> {
	if (from) for (const key of Object.keys(from)) if (!isPrototypeKey(key)) into[key] = from[key];
	return into;
}
