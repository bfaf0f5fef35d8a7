// Resolve against the synced state: each change is merged into the state store's resolved truth
// (lib/conflict/against-state).

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { enqueueForReview, resolveAgainstState, stateChangeFromItem, type Resolution } from '../../../lib/conflict';
import type { AuditEntry } from '../../../lib/state';
import { failedItem } from '../../shared/failedItem';
import { defaultEntityOf, readSettings } from './settings';
import { appendAudit, type OpenStore } from './store';

const STATE_SHAPE =
	'Each input item is a change event: <code>{ source, recordId, unifiedId?, entity?, operation?, occurredAt?, record }</code> (CRM Sync Trigger → Field Mapper). ' +
	'The unified id comes from the cross-reference of <code>recordId</code>. Fields absent from <code>record</code> are not changed. ' +
	'Output <b>Resolved</b>: a new resolved record for the other CRMs: the item with <code>record</code> set to the whole resolved record, <code>unifiedId</code>, <code>action</code>, <code>changed</code>, <code>decisions</code>; deletes, erasures and merges pass on unchanged. ' +
	'<b>Correct Source</b>: the same item when the source CRM lost a field (<code>sourcePatch</code>): write it back there. Unified CRM Upsert skips CRMs that already hold the resolved values. ' +
	'Also a change to a deleted (tombstoned) record made in the source after the delete, which the delete never reached: the item with <code>operation: delete</code> and <code>deleteInSource: true</code>, to delete it there. ' +
	'<b>Unchanged</b>: nothing new (redeliveries, stale or echoed events).';

export const properties: INodeProperties[] = [
	{
		displayName: STATE_SHAPE,
		name: 'stateShapeNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['resolve'], against: ['syncedState'] } },
	},
	{
		displayName: 'Record Field',
		name: 'recordField',
		type: 'string',
		default: 'record',
		description: 'Item field holding the changed record in the unified model (as the Field Mapper\'s Record Field option leaves it). Empty: the whole item.',
		displayOptions: { show: { operation: ['resolve'], against: ['syncedState'] } },
	},
];

/** Changes that carry no field values to merge: on to the writers as they are. */
const PASSED_ON = ['delete', 'erase', 'merge'];

/** Outputs Resolved, Needs Review (also an item that fails, with its error), Unchanged and Correct Source. */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], store: OpenStore): Promise<INodeExecutionData[][]> {
	const settings = readSettings(this);
	const opened = await store();
	const resolved: INodeExecutionData[] = [];
	const review: INodeExecutionData[] = [];
	const unchanged: INodeExecutionData[] = [];
	const correct: INodeExecutionData[] = [];
	const audit: AuditEntry[] = [];
	for (let index = 0; index < items.length; index++) {
		const pairedItem = { item: index };
		const json = items[index].json;
		try {
			if (typeof json.operation === 'string' && PASSED_ON.includes(json.operation)) {
				resolved.push({ json: { ...json, action: json.operation }, pairedItem });
				continue;
			}
			// Per item: where the item keeps its record.
			const recordField = (this.getNodeParameter('recordField', index, 'record') as string).trim();
			const change = stateChangeFromItem(json as Record<string, unknown>, recordField, defaultEntityOf(this, index));
			const { audit: entry, reviewInput, merged, ...resolution } = await resolveAgainstState(opened, change, settings);
			audit.push(entry);
			const out: IDataObject = {
				...json,
				...(resolution as unknown as IDataObject),
				...(merged ? (recordField ? { [recordField]: merged } : merged) : {}),
				...(resolution.revision !== undefined ? { syncRevision: resolution.revision } : {}),
			};
			if (resolution.action === 'review' && reviewInput) {
				const queued = await enqueueForReview(opened, reviewInput, settings, { ...resolution, merged: null, targetPatch: {}, sourcePatch: {}, audit: entry } as unknown as Resolution);
				review.push({ json: { ...out, reviewId: queued.id }, pairedItem });
			} else if (resolution.action === 'delete') {
				// Tombstoned, yet still in the source: the delete is owed there (Unified CRM Upsert: deleteInSource).
				correct.push({ json: { ...out, operation: 'delete', deleteInSource: true }, pairedItem });
			} else {
				// Resolved: a new truth for the other CRMs; Correct Source: the source lost a field.
				const forTargets = resolution.action === 'create' || resolution.changed.length > 0;
				if (forTargets) resolved.push({ json: out, pairedItem });
				if (resolution.correctSource) correct.push({ json: out, pairedItem });
				if (!forTargets && !resolution.correctSource) unchanged.push({ json: out, pairedItem });
			}
		} catch (error) {
			review.push(failedItem(this, items[index], index, error));
		}
	}
	await appendAudit(this, store, audit);
	return [resolved, review, unchanged, correct];
}
