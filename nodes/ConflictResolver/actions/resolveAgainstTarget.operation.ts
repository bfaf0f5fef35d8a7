// Resolve against the target record: a three-way merge of each item's change with the target's
// current record, which the item carries.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { conflictInputFromItem, enqueueForReview, passThrough, resolveConflict } from '../../../lib/conflict';
import type { EntityType } from '../../../lib/model';
import type { AuditEntry, StateStore } from '../../../lib/state';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/failedItem';
import { defaultEntityOf, readSettings } from './settings';
import { appendAudit, resolutionJson, type OpenStore } from './store';

const INPUT_SHAPE =
	'Each input item: <code>{ entity, unifiedId?, source, incoming, incomingModifiedAt?, incomingFieldModifiedAt?, incomingDeleted?, targetCrm, target, targetModifiedAt?, targetFieldModifiedAt?, targetDeleted?, base? }</code>. ' +
	'<code>incoming</code> and <code>target</code> are unified records (camelCase fields); a missing field counts as unchanged, null clears it. ' +
	'Without <code>base</code>, the last synced snapshot is read from the state store by <code>unifiedId</code> (none = first sync). ' +
	'Other keys are passed through. Output: <code>action</code> (update, create, delete, restore, skip), <code>merged</code>, <code>targetPatch</code>, <code>sourcePatch</code>, <code>decisions</code>, <code>conflicts</code>, <code>snapshot</code> (store it after writing).';

export const properties: INodeProperties[] = [
	{
		displayName: INPUT_SHAPE,
		name: 'inputShapeNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['resolve'], against: ['target'] } },
	},
];

/** Outputs Resolved and Needs Review; an item that fails goes to Needs Review with its error, never on to the writers. */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], store: OpenStore): Promise<INodeExecutionData[][]> {
	const settings = readSettings(this);
	const parsed = items.map((item, index) => {
		try {
			return conflictInputFromItem(item.json as Record<string, unknown>, defaultEntityOf(this, index));
		} catch (error) {
			return error as Error;
		}
	});

	// Bases missing from the items: one batched read per entity type.
	const wanted = new Map<EntityType, string[]>();
	for (const p of parsed) if (!(p instanceof Error) && p.needsBase) wanted.set(p.input.entity, [...(wanted.get(p.input.entity) ?? []), p.input.unifiedId!]);
	const bases = new Map<string, Awaited<ReturnType<StateStore['getSnapshots']>>>();
	if (wanted.size > 0) {
		try {
			const opened = await store();
			for (const [entity, ids] of wanted) bases.set(entity, await opened.getSnapshots(entity, ids));
		} catch (error) {
			throw toNodeError(this.getNode(), error, { what: 'Could not read the last synced snapshots' });
		}
	}

	const resolved: INodeExecutionData[] = [];
	const review: INodeExecutionData[] = [];
	const audit: AuditEntry[] = [];
	for (let index = 0; index < items.length; index++) {
		const pairedItem = { item: index };
		const p = parsed[index];
		try {
			if (p instanceof Error) throw p;
			const input = p.needsBase ? { ...p.input, base: bases.get(p.input.entity)?.get(p.input.unifiedId!) } : p.input;
			const resolution = resolveConflict(input, settings);
			const json: IDataObject = { ...(passThrough(items[index].json) as IDataObject), ...resolutionJson(resolution) };
			if (resolution.needsReview) {
				// Queued before it is emitted: an item that could not be queued is an error, not a success.
				const queued = await enqueueForReview(await store(), input, settings, resolution);
				review.push({ json: { ...json, reviewId: queued.id }, pairedItem });
			} else {
				resolved.push({ json, pairedItem });
			}
			audit.push(resolution.audit);
		} catch (error) {
			review.push(failedItem(this, items[index], index, error));
		}
	}
	await appendAudit(this, store, audit);
	return [resolved, review, [], []];
}
