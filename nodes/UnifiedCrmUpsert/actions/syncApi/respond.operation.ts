// Sync API step "Build Response": after the last CRM, the answer with every CRM's result; finishes bulk jobs.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { finishBulkJob, syncResponse } from '../../../../lib/sync/sync-api';
import { nodeStore } from '../connection';
import { answerEach, type ChainItem } from './common';

export const option: INodePropertyOptions = {
	name: 'Build Response',
	value: 'respond',
	description: 'After the last CRM: the answer with per-CRM results (Success when every CRM succeeded, Errors otherwise); finishes bulk jobs',
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const store = nodeStore(this);
	return answerEach(items, async (json) => {
		const chain = json as ChainItem;
		if (typeof chain.jobId === 'string') return { ok: true, json: (await finishBulkJob(await store(), chain.jobId)) as unknown as IDataObject };
		if (!chain.request) return { ok: false, json: { ok: false, error: 'Build Response needs an item from the Validate / Write steps ({request, results})' } };
		const body = syncResponse(chain.request, chain.results ?? []);
		return { ok: Boolean(body.ok), json: body as IDataObject };
	});
}
