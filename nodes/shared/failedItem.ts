// An item that failed: with "continue on fail" it goes on with its error reason, paired with its
// input; otherwise the error fails the node as an n8n error (see toNodeError).

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { toNodeError } from './errors';

/** `item`'s json with `error` set, paired with `itemIndex`; throws unless the node continues on fail. */
export function failedItem(ctx: IExecuteFunctions, item: INodeExecutionData, itemIndex: number, error: unknown): INodeExecutionData {
	if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error, { itemIndex });
	return { json: { ...item.json, error: error instanceof Error ? error.message : String(error) }, pairedItem: { item: itemIndex } };
}
