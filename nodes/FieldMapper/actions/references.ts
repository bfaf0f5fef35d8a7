// Reference resolution (Unified → CRM): the reference ids of a unified record are translated from
// the item's source CRM to the target's through the state store's cross-reference. A record whose
// referenced records are not in the target yet goes to Retry Later, to Invalid, or is mapped
// without those ids, as Missing References says.
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { FieldIssue } from '../../../lib/mapping';
import { isCrmName, type CrmName, type EntityType } from '../../../lib/model';
import { describeMissing, readRetryState, resolveReferences, retryDecision, type ResolveResult } from '../../../lib/sync/associations';
import { openSyncStore, stateBackendProperty, syncNamespaceProperty, type ParameterReader } from '../../shared/stateStore';

const resolving = { show: { direction: ['fromUnified'], resolveReferences: [true] } };
/** The store is read in both directions. */
const readingStore = { show: { direction: ['fromUnified', 'toUnified'], resolveReferences: [true] } };

export const properties: INodeProperties[] = [
	{
		displayName: 'Resolve References Through Cross-Reference',
		name: 'resolveReferences',
		type: 'boolean',
		default: false,
		description:
			"Whether to translate reference IDs (an activity's contacts, deals and accounts; a contact's account) from the item's source CRM (its <code>source</code> field) to the target CRM's IDs through the state store's cross-reference, and drop owner IDs (CRM users are not synced). The item's <code>recordId</code> gives its unified ID.",
		displayOptions: { show: { direction: ['fromUnified'] } },
	},
	{
		displayName: 'References As Unified IDs',
		name: 'resolveReferences',
		type: 'boolean',
		default: false,
		description:
			"Whether to replace a record's reference IDs (a contact's account; a deal's account and contact) by the unified IDs of the records they point to (<code>accountUnifiedId</code>, <code>contactUnifiedId</code>), through the state store's cross-reference. Unified IDs are the same whichever CRM a change comes from, so the Conflict Resolver compares them, and Unified CRM Upsert writes each target's own ID. The item's <code>source</code> names the CRM.",
		displayOptions: { show: { direction: ['toUnified'] } },
	},
	stateBackendProperty(readingStore),
	syncNamespaceProperty('cross-references written by Unified CRM Upsert; use the namespace of the sync that writes the referenced records', readingStore),
	{
		displayName: 'Missing References',
		name: 'missingReferences',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Retry Later', value: 'retry', description: 'Send the item to the Retry Later output (loop it back through a Wait node) until the referenced record is in the target; after the retry limit, to Invalid with the reason' },
			{ name: 'Drop the Reference', value: 'drop', description: 'Map the record without the unresolved IDs (a warning says which)' },
			{ name: 'Invalid', value: 'invalid', description: 'Send the item to Invalid at once with the reason' },
		],
		default: 'retry',
		description: 'What to do when a referenced record has no record in the target CRM (yet)',
		displayOptions: resolving,
	},
	{
		displayName: 'Retry Limit (Seconds)',
		name: 'retryLimitSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 300,
		description: "Overall time after which an item still missing a reference goes to Invalid, counted from the change in the source CRM (the item's occurredAt) or else from the first attempt",
		displayOptions: { show: { direction: ['fromUnified'], resolveReferences: [true], missingReferences: ['retry'] } },
	},
];

/** Item field of Retry Later items: attempts so far, first attempt time, last reason. */
export const RETRY_FIELD = 'retry';

export interface Resolution {
	missing: 'retry' | 'drop' | 'invalid';
	limitMs: number;
}

/** The node's resolution settings; undefined when resolution is off. */
export function readResolution(parameter: ParameterReader): Resolution | undefined {
	if (!parameter('resolveReferences', false)) return undefined;
	return {
		missing: parameter('missingReferences', 'retry') as Resolution['missing'],
		limitMs: Math.max(0, Number(parameter('retryLimitSeconds', 300))) * 1000,
	};
}

export interface ToResolve {
	index: number;
	json: IDataObject;
	record: Record<string, unknown>;
	entity: EntityType;
}

/**
 * Translates reference ids of every record through the cross-reference, one store round per
 * entity. Items without a CRM in `source` are rejected (their ids cannot be translated).
 */
export async function resolveAll(
	ctx: IExecuteFunctions,
	parameter: ParameterReader,
	records: ToResolve[],
	target: CrmName,
	reject: (index: number, errors: FieldIssue[]) => void,
): Promise<Map<number, ResolveResult>> {
	const store = await openSyncStore(ctx, parameter);
	const byEntity = new Map<EntityType, Array<{ index: number; record: Record<string, unknown>; source: CrmName; recordId?: string }>>();
	for (const { index, json, record, entity } of records) {
		if (!isCrmName(json.source)) {
			reject(index, [{ field: 'source', reason: `item field "source" must name the CRM the record comes from (to translate its reference IDs); got ${JSON.stringify(json.source)}`, value: json.source }]);
			continue;
		}
		const recordId = typeof json.recordId === 'string' || typeof json.recordId === 'number' ? String(json.recordId) : undefined;
		const list = byEntity.get(entity) ?? [];
		list.push({ index, record, source: json.source, recordId });
		byEntity.set(entity, list);
	}
	const out = new Map<number, ResolveResult>();
	for (const [entity, list] of byEntity) {
		const results = await resolveReferences(store, list, { entity, target });
		list.forEach((item, i) => out.set(item.index, results[i]));
	}
	return out;
}

/** What becomes of a resolved item: mapped (with warnings for dropped ids), Invalid, or Retry Later. */
export type Settled =
	| { record: Record<string, unknown>; unifiedId?: string; dropped: FieldIssue[] }
	| { invalid: FieldIssue[]; extra: IDataObject }
	| { retry: IDataObject };

export function settle(result: ResolveResult, json: IDataObject, resolution: Resolution, target: CrmName): Settled {
	const source = String(json.source) as CrmName;
	const issues = result.missing.map((m): FieldIssue => ({ field: m.field, reason: describeMissing([m], source, target), value: m.sourceId }));
	if (result.missing.length && resolution.missing !== 'drop') {
		const reason = describeMissing(result.missing, source, target);
		if (resolution.missing === 'invalid') return { invalid: issues, extra: { reason } };
		// Counted from the change (the event's occurredAt): n8n runs one target's retry loop before the next target's first attempt.
		const decision = retryDecision(readRetryState(json[RETRY_FIELD]), reason, resolution.limitMs, Date.now(), typeof json.occurredAt === 'string' ? json.occurredAt : undefined);
		if (decision.action === 'giveUp') return { invalid: issues, extra: { reason: decision.reason, attempts: decision.state.attempts, firstSeenAt: decision.state.firstSeenAt } };
		// The item as it came in, plus its retry state: a Wait node loops it back here.
		return { retry: { ...json, [RETRY_FIELD]: decision.state as unknown as IDataObject } };
	}
	const dropped = issues.map((issue) => ({ ...issue, reason: `dropped: ${issue.reason}` }));
	return { record: result.record, unifiedId: result.unifiedId, dropped };
}
