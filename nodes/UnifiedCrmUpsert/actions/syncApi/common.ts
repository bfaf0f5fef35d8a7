// What the Sync API steps share: the chain item they pass along, and reading a Webhook item.
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { StateStore } from '../../../../lib/state';
import { beforeWrites, type CrmResult, type Reason, type SyncApiRequest } from '../../../../lib/sync/sync-api';

export const SYNC_API_OPERATION = 'syncApiRequest';

export const showForSteps = (steps: string[]) => ({ show: { operation: [SYNC_API_OPERATION], syncApiStep: steps } });

/** The item between steps: `{request, results}` (a sync request) or `{jobId, ...}` (a bulk job). */
export interface ChainItem {
	request?: SyncApiRequest;
	jobId?: string;
	results?: CrmResult[];
}

/** The request body of a Webhook item (its `body`), or the item itself. */
export function bodyOf(json: IDataObject): unknown {
	return 'body' in json && ('headers' in json || 'query' in json) ? json.body : json;
}

/** The 400 answer: the first reasons, and how many there are in all. */
export function invalid(refusal: { reasons: Reason[]; reasonCount: number }): IDataObject {
	return { ok: false, error: 'Invalid request', reasons: refusal.reasons, reasonCount: refusal.reasonCount } as unknown as IDataObject;
}

/** A step's answer for one item: Success (ok) or Errors. */
export interface StepAnswer {
	ok: boolean;
	json: IDataObject;
}

/** Answers each item in turn; each answer goes to Success or Errors, paired with its item. */
export async function answerEach(items: INodeExecutionData[], answer: (json: IDataObject) => Promise<StepAnswer>): Promise<INodeExecutionData[][]> {
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const { ok, json } = await answer(item.json);
		(ok ? success : errors).push({ json, pairedItem: { item: index } });
	}
	return [success, errors];
}

/** update (unchanged?) and merge (merged ids per CRM) read the state store once, before any CRM node writes. */
export async function prepareWrites(store: () => Promise<StateStore>, request: SyncApiRequest): Promise<SyncApiRequest> {
	if (request.operation !== 'update' && request.operation !== 'merge') return request;
	return beforeWrites(await store(), request);
}
