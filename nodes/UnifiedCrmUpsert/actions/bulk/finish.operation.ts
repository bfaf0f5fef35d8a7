// Bulk: Finish Job. Outputs the job's summary and records it in the sync history.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { finishJob } from '../../../../lib/sync/bulk';
import { BULK_FINISH, jobOf, type BulkRun } from './common';

export const option: INodePropertyOptions = {
	name: 'Bulk: Finish Job',
	value: BULK_FINISH,
	action: 'Bulk finish job',
	description: 'Outputs the summary of the job (processed, created, updated, unchanged, failed, duration, records/s) and records it in the sync history',
};

export async function execute(this: IExecuteFunctions, { entity, store, input, log }: BulkRun): Promise<INodeExecutionData[][]> {
	const job = jobOf(this, input);
	const summary = await finishJob(store, job.source, entity, job.jobId, job.dryRun);
	log(`bulk ${summary.jobId}: ${summary.processed} processed, ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed in ${summary.durationMs} ms`);
	return [[{ json: summary as unknown as IDataObject, pairedItem: { item: 0 } }], []];
}
