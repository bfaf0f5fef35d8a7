// What the record writes (write/) and Sync to CRMs (sync/) share: each item's record at its Record
// Path, grouped by the record parameters read for it, and the Options that decide how a batch is written.
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { EventItem } from '../../../lib/sync/route-by-operation';
import type { WriteJob } from '../../../lib/sync/upsert-writer';
import { getPath } from '../../../lib/util/path';
import { toNodeError } from '../../shared/errors';
import { nodeOptions } from './connection';

/** What the Options collection decides about writing a batch (the node's configuration: item 0). */
export type BatchOptions = Pick<WriteJob, 'dryRun' | 'batchSize' | 'maxRecords' | 'unchangedAgainst' | 'recordEchoes' | 'continueOnFail' | 'recordState'>;

export function batchOptions(ctx: IExecuteFunctions): BatchOptions {
	const options = nodeOptions(ctx);
	return {
		dryRun: options.dryRun === true,
		batchSize: options.batchSize,
		maxRecords: options.maxRecords,
		unchangedAgainst: options.forceOverwrite === true ? 'nothing' : 'snapshot',
		recordEchoes: true,
		continueOnFail: ctx.continueOnFail(),
		recordState: options.recordState !== false,
	};
}

/** Items whose record parameters read alike, written together. */
export interface RecordGroup<S> {
	settings: S;
	inputs: EventItem[];
}

/**
 * Each item's record (Record Path, read per item) with its unified id and the item as its event,
 * grouped by the record parameters `settingsOf` reads for the item. An item whose parameters
 * cannot be read or that has no record goes to `errors`, with `errorJson` (under continue-on-fail
 * for parameters; otherwise they fail the node).
 */
export function groupRecords<S>(ctx: IExecuteFunctions, settingsOf: (index: number) => S, errorJson: IDataObject): { groups: Array<RecordGroup<S>>; errors: INodeExecutionData[] } {
	const errors: INodeExecutionData[] = [];
	const groups = new Map<string, RecordGroup<S>>();
	const continueOnFail = ctx.continueOnFail();
	for (const [index, item] of ctx.getInputData().entries()) {
		let recordPath: string;
		let settings: S;
		try {
			recordPath = ctx.getNodeParameter('recordPath', index, '') as string;
			settings = settingsOf(index);
		} catch (error) {
			if (!continueOnFail) throw toNodeError(ctx.getNode(), error, { itemIndex: index });
			errors.push({ json: { error: (error as Error).message, ...errorJson }, pairedItem: { item: index } });
			continue;
		}
		const record = recordPath ? getPath(item.json, recordPath) : item.json;
		if (!record || typeof record !== 'object' || Array.isArray(record)) {
			errors.push({ json: { error: `No record object at path "${recordPath}"`, ...errorJson }, pairedItem: { item: index } });
			continue;
		}
		const unifiedId = (record as IDataObject).unifiedId ?? item.json.unifiedId;
		const key = JSON.stringify(settings);
		const group = groups.get(key) ?? { settings, inputs: [] };
		group.inputs.push({ index, record: record as IDataObject, unifiedId: unifiedId === undefined || unifiedId === null || unifiedId === '' ? undefined : String(unifiedId), event: item.json });
		groups.set(key, group);
	}
	return { groups: [...groups.values()], errors };
}

/** Output items in the order of the input items they pair with. */
export function byItemOrder(items: INodeExecutionData[]): INodeExecutionData[] {
	return items.sort((a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item);
}
