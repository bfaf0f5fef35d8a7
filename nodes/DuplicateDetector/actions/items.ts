// Between items and lib/matching: each item's record in, each outcome out to Unique or Duplicates.

import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import type { MatchOutcome } from '../../../lib/matching';
import type { UnifiedRecord } from '../../../lib/model';
import type { DetectorOptions } from './matchOptions';

/** The Record Field option, per item: it says where that item keeps its record. Empty: the whole item. */
export function recordFieldOf(ctx: IExecuteFunctions, itemIndex: number): string {
	return (ctx.getNodeParameter('options', itemIndex, {}) as DetectorOptions).recordField?.trim() ?? '';
}

/** Each item's record in the unified model; an item without one fails the node. */
export function recordsOf(ctx: IExecuteFunctions, items: INodeExecutionData[]): UnifiedRecord[] {
	return items.map((item, itemIndex) => {
		const recordField = recordFieldOf(ctx, itemIndex);
		const record = recordField ? item.json[recordField] : item.json;
		if (!record || typeof record !== 'object' || Array.isArray(record)) {
			throw new NodeOperationError(ctx.getNode(), `The item has no record object in "${recordField}"`, { itemIndex });
		}
		return record as UnifiedRecord;
	});
}

/**
 * Outputs Unique and Duplicates: unique items pass through unchanged (masters get
 * `duplicateMaster`); duplicates get `duplicate`. An outcome that is an error goes through `onError`
 * (to Unique), or fails the node without one.
 */
export function splitOutputs(
	items: INodeExecutionData[],
	outcomes: Array<MatchOutcome | Error>,
	onError?: (error: Error, itemIndex: number) => INodeExecutionData,
): INodeExecutionData[][] {
	const unique: INodeExecutionData[] = [];
	const duplicates: INodeExecutionData[] = [];
	outcomes.forEach((outcome, index) => {
		const pairedItem = { item: index };
		const json = items[index].json;
		if (outcome instanceof Error) {
			if (!onError) throw outcome;
			unique.push(onError(outcome, index));
		} else if (outcome.kind === 'unique') {
			unique.push({ json: outcome.masterOf ? { ...json, duplicateMaster: outcome.masterOf as unknown as IDataObject } : json, pairedItem });
		} else {
			const duplicate: IDataObject = { ...(outcome as unknown as IDataObject) };
			delete duplicate.kind;
			duplicates.push({ json: { ...json, duplicate }, pairedItem });
		}
	});
	return [unique, duplicates];
}
