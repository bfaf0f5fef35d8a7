// The Conflict Resolver node's input item shape, parsed into a ConflictInput with clear errors.
//
// {
//   entity: 'contact',                       // entity type (or the node's default)
//   unifiedId?: 'u-123',                      // needed to load the base from the state store
//   source: 'hubspot',                        // CRM the change comes from
//   incoming: { email, firstName, ... },      // unified record (may be partial); omit when deleted
//   incomingModifiedAt?: ISO,  incomingFieldModifiedAt?: { field: ISO },
//   incomingDeleted?: true  (or operation: 'delete', as in a SyncEvent),
//   targetCrm?: 'salesforce',                 // required when target or targetDeleted is given
//   target?: { ... } | null,                  // the target's current record; absent/null = none there
//   targetModifiedAt?: ISO,  targetFieldModifiedAt?: { field: ISO },  targetDeleted?: true,
//   base?: { record, fieldModifiedAt?, syncedAt?, deletedAt?, deletedBy? }   // else from the store
// }

import { isCrmName, isEntityType, isPrototypeKey, type EntityType, type UnifiedRecord } from '../model';
import type { Snapshot } from '../state/types';
import { ConflictError } from './options';
import type { StateChange } from './against-state';
import type { ConflictInput, SideState, TimeInput } from './types';

/** Keys of the item shape; everything else on an item is passed through to the output. */
export const ITEM_INPUT_KEYS = [
	'entity',
	'unifiedId',
	'source',
	'incoming',
	'incomingModifiedAt',
	'incomingFieldModifiedAt',
	'incomingDeleted',
	'operation',
	'targetCrm',
	'target',
	'targetModifiedAt',
	'targetFieldModifiedAt',
	'targetDeleted',
	'base',
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function times(value: unknown, name: string): Record<string, TimeInput> | undefined {
	if (value === undefined || value === null) return undefined;
	if (!isObject(value)) throw new ConflictError(`${name} must be an object of field → timestamp`);
	return value as Record<string, TimeInput>;
}

export interface ParsedItem {
	input: ConflictInput;
	/** True when the item carried no base and one should be loaded from the store by unifiedId. */
	needsBase: boolean;
}

export function conflictInputFromItem(json: Record<string, unknown>, defaultEntity?: EntityType): ParsedItem {
	const entity = json.entity ?? defaultEntity;
	if (!isEntityType(entity)) throw new ConflictError(`"entity" must be one of contact, lead, account, opportunity, activity; got ${JSON.stringify(entity)}`);
	if (!isCrmName(json.source)) throw new ConflictError(`"source" must be the CRM the change comes from; got ${JSON.stringify(json.source)}`);
	const unifiedId = json.unifiedId === undefined || json.unifiedId === null || json.unifiedId === '' ? undefined : String(json.unifiedId);
	const incomingDeleted = json.incomingDeleted === true || json.operation === 'delete';
	if (!incomingDeleted && !isObject(json.incoming)) throw new ConflictError('"incoming" must be the changed record (an object), or set incomingDeleted: true');
	const incoming: SideState = {
		crm: json.source,
		record: isObject(json.incoming) ? (json.incoming as UnifiedRecord) : undefined,
		modifiedAt: json.incomingModifiedAt as TimeInput | undefined,
		fieldModifiedAt: times(json.incomingFieldModifiedAt, 'incomingFieldModifiedAt'),
		deleted: incomingDeleted,
	};

	let target: SideState | undefined;
	const targetDeleted = json.targetDeleted === true;
	if ((json.target !== undefined && json.target !== null) || targetDeleted) {
		if (!isCrmName(json.targetCrm)) throw new ConflictError(`"targetCrm" must name the target CRM; got ${JSON.stringify(json.targetCrm)}`);
		if (!targetDeleted && !isObject(json.target)) throw new ConflictError('"target" must be the target\'s current record (an object)');
		target = {
			crm: json.targetCrm,
			record: isObject(json.target) ? (json.target as UnifiedRecord) : undefined,
			modifiedAt: json.targetModifiedAt as TimeInput | undefined,
			fieldModifiedAt: times(json.targetFieldModifiedAt, 'targetFieldModifiedAt'),
			deleted: targetDeleted,
		};
	}

	let base: Snapshot | undefined;
	if (json.base !== undefined && json.base !== null) {
		const b = json.base;
		if (!isObject(b) || !isObject(b.record)) throw new ConflictError('"base" must be { record: {...}, fieldModifiedAt?, syncedAt?, deletedAt? }');
		base = {
			entity,
			unifiedId: unifiedId ?? '',
			record: b.record as UnifiedRecord,
			fieldModifiedAt: (times(b.fieldModifiedAt, 'base.fieldModifiedAt') ?? {}) as Record<string, string>,
			syncedAt: typeof b.syncedAt === 'string' ? b.syncedAt : '',
			...(typeof b.deletedAt === 'string' ? { deletedAt: b.deletedAt } : {}),
			...(isCrmName(b.deletedBy) ? { deletedBy: b.deletedBy } : {}),
		};
	}
	return { input: { entity, unifiedId, incoming, target, base }, needsBase: base === undefined && unifiedId !== undefined };
}

/** The item's own extra keys (record ids, event ids...), passed through to the output. */
export function passThrough(json: Record<string, unknown>): Record<string, unknown> {
	const rest: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(json)) if (!ITEM_INPUT_KEYS.includes(key) && !isPrototypeKey(key)) rest[key] = value;
	return rest;
}

/**
 * Synced-state mode: a SyncEvent item (CRM Sync Trigger → Field Mapper) as a StateChange.
 * `{ source, recordId, unifiedId?, entity?, operation?, occurredAt?, fieldModifiedAt?, <recordField>: {...} }`
 */
export function stateChangeFromItem(json: Record<string, unknown>, recordField: string, defaultEntity?: EntityType): StateChange {
	const entity = json.entity ?? defaultEntity;
	if (!isEntityType(entity)) throw new ConflictError(`"entity" must be one of contact, lead, account, opportunity, activity; got ${JSON.stringify(entity)}`);
	if (!isCrmName(json.source)) throw new ConflictError(`"source" must be the CRM the change comes from; got ${JSON.stringify(json.source)}`);
	const deleted = json.operation === 'delete' || json.incomingDeleted === true;
	const record = recordField ? json[recordField] : json;
	if (!deleted && !isObject(record)) throw new ConflictError(`"${recordField}" must be the changed record in the unified model (an object)`);
	const id = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
	return {
		entity,
		source: json.source,
		recordId: id(json.recordId),
		unifiedId: id(json.unifiedId),
		record: isObject(record) ? (record as UnifiedRecord) : undefined,
		modifiedAt: (json.occurredAt ?? json.incomingModifiedAt) as TimeInput | undefined,
		fieldModifiedAt: times(json.fieldModifiedAt ?? json.incomingFieldModifiedAt, 'fieldModifiedAt'),
		deleted,
		restored: json.operation === 'restore',
	};
}
