// The index of known records (records already synced) in the state store, as the index modes use it.

import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { forgetMatchIndex, sharedMatchIndex, type MatchIndex, type MatchOptions } from '../../../lib/matching';
import { isCrmName, isEntityType, type CrmName, type EntityType, type UnifiedRecord } from '../../../lib/model';
import { syncIdentities, type StateStore } from '../../../lib/state';
import { failedItem } from '../../shared/failedItem';
import { openConfiguredStore, syncStoreConfig } from '../../shared/stateStore';
import { recordFieldOf, recordsOf } from './items';
import type { DetectorOptions } from './matchOptions';

/**
 * Runs `use` on the index and the items' records, then writes the index's changes to the store.
 * The loaded index stays in memory between executions (refreshed from the store's change log).
 * The store is read at item 0: it configures the node, not the item.
 */
export async function withKnownRecords(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	matchOptions: MatchOptions,
	use: (index: MatchIndex, records: UnifiedRecord[]) => INodeExecutionData[][],
): Promise<INodeExecutionData[][]> {
	const { statePath } = ctx.getNodeParameter('options', 0, {}) as DetectorOptions;
	const config = await syncStoreConfig(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: statePath });
	const store = await openConfiguredStore(ctx.getNode(), config);
	const cacheKey = JSON.stringify({ config, matchOptions });
	try {
		const index = await sharedMatchIndex(cacheKey, store, matchOptions);
		const outputs = use(index, await withSyncIdentities(ctx, store, items, recordsOf(ctx, items)));
		await index.flush(store);
		return outputs;
	} catch (error) {
		// Unflushed changes of a failed execution must not linger in the cached index.
		forgetMatchIndex(cacheKey);
		// A NodeOperationError passes through its constructor unchanged.
		throw new NodeOperationError(ctx.getNode(), error as Error, { description: 'Index of known records' });
	}
}

/** Update and Remove From Index: `change` gives what each item's record by ID did to the index; an item without an ID fails. */
export function changeIndex(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	matchOptions: MatchOptions,
	change: (index: MatchIndex, record: UnifiedRecord, id: string) => IDataObject,
): Promise<INodeExecutionData[][]> {
	return withKnownRecords(ctx, items, matchOptions, (index, records) => [
		items.map((item, itemIndex) => {
			try {
				const id = records[itemIndex].id;
				if ((typeof id !== 'string' && typeof id !== 'number') || String(id).trim() === '') {
					throw new Error('The item has no "id": only records with an ID can be kept in the index');
				}
				return { json: { ...item.json, ...change(index, records[itemIndex], String(id)) }, pairedItem: { item: itemIndex } };
			} catch (error) {
				return failedItem(ctx, item, itemIndex, error);
			}
		}),
		[],
	]);
}

/**
 * A change event's record (source and recordId on the item, the record in its Record Field) is
 * indexed under its unified ID (the cross-reference, or the ID a first sync gives it), the same
 * identity the Conflict Resolver uses: one contact arriving from five CRMs is one record of the
 * index, not five duplicates.
 */
async function withSyncIdentities(ctx: IExecuteFunctions, store: StateStore, items: INodeExecutionData[], records: UnifiedRecord[]): Promise<UnifiedRecord[]> {
	const inField = items.map((_, itemIndex) => recordFieldOf(ctx, itemIndex) !== '');
	const keys = items.map((item, itemIndex) => (inField[itemIndex] ? changeEventKey(item.json) : undefined));
	const wanted = new Map<string, string[]>();
	for (const key of keys) if (key) wanted.set(key.group, [...(wanted.get(key.group) ?? []), key.recordId]);
	const found = new Map<string, Map<string, { unifiedId: string }>>();
	for (const [group, ids] of wanted) {
		const [entity, crm] = group.split('|') as [EntityType, CrmName];
		found.set(group, await syncIdentities(store, entity, crm, ids));
	}
	return records.map((record, i) => {
		if (!inField[i]) return record;
		const key = keys[i];
		const unifiedId = items[i].json.unifiedId ?? (key ? found.get(key.group)?.get(key.recordId)?.unifiedId : undefined);
		return unifiedId === undefined || unifiedId === null || unifiedId === '' ? record : { ...record, id: String(unifiedId) };
	});
}

function changeEventKey(json: IDataObject) {
	const entity = json.entity ?? 'contact';
	if (!isCrmName(json.source) || !isEntityType(entity) || json.recordId === undefined || json.recordId === null || json.recordId === '') return undefined;
	return { group: `${entity}|${json.source}`, recordId: String(json.recordId) };
}
