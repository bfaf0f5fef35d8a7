// Sync API step "Get Bulk Job": the status and outcome of a bulk job.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { getBulkJob } from '../../../../lib/sync/sync-api';
import { nodeStore } from '../connection';
import { answerEach } from './common';

export const option: INodePropertyOptions = {
	name: 'Get Bulk Job',
	value: 'bulkStatus',
	description: 'The status and outcome of a bulk job; the ID is read from the query (job=…), route parameters (jobId) or the item (jobId). Unknown → Errors.',
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const store = nodeStore(this);
	return answerEach(items, async (json) => {
		const { query, params } = json as { query?: IDataObject; params?: IDataObject };
		const jobId = String(query?.job ?? params?.jobId ?? json.jobId ?? '').trim();
		const job = jobId ? await getBulkJob(await store(), jobId) : undefined;
		if (job) return { ok: true, json: job as unknown as IDataObject };
		return { ok: false, json: { ok: false, error: jobId ? `No bulk job ${jobId}` : 'Give the job ID as ?job=<id>', jobId } };
	});
}
