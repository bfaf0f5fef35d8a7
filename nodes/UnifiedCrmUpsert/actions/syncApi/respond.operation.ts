// Sync API step "Build Response": after the last CRM, the answer with every CRM's result; finishes bulk jobs.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { finishBulkJob, syncResponse } from '../../../../lib/sync/sync-api';
import { nodeStore } from '../connection';
import type { ChainItem } from './common';

export const option: INodePropertyOptions = {
	name: 'Build Response',
	value: 'respond',
	description: 'After the last CRM: the answer with per-CRM results (Success when every CRM succeeded, Errors otherwise); finishes bulk jobs',
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const store = nodeStore(this);
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const chain = item.json as ChainItem;
		if (typeof chain.jobId === 'string') {
			const done = await finishBulkJob(await store(), chain.jobId);
			success.push({ json: done as unknown as IDataObject, pairedItem: { item: index } });
			continue;
		}
		if (!chain.request) {
			errors.push({ json: { ok: false, error: 'Build Response needs an item from the Validate / Write steps ({request, results})' }, pairedItem: { item: index } });
			continue;
		}
		const body = syncResponse(chain.request, chain.results ?? []);
		(body.ok ? success : errors).push({ json: body as IDataObject, pairedItem: { item: index } });
	}
	return [success, errors];
}
