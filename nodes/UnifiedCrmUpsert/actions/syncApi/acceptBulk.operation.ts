// Sync API step "Accept Bulk Job": checks a bulk body and queues its records in the state store
// (the job ID goes into a 202 answer).
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { acceptBulkJob, validateBulkEnvelope } from '../../../../lib/sync/sync-api';
import { nodeStore } from '../connection';
import { answerEach, bodyOf, invalid } from './common';

export const option: INodePropertyOptions = {
	name: 'Accept Bulk Job',
	value: 'acceptBulk',
	description: 'Check a bulk body (up to 10 MB), queue its records in the state store and output the job ID (for a 202 answer); a Validate Request step after the answer checks the records',
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const store = nodeStore(this);
	return answerEach(items, async (json) => {
		const body = bodyOf(json);
		const envelope = validateBulkEnvelope(body, bodySize(json, body));
		if (!envelope.ok) return { ok: false, json: invalid(envelope) };
		const job = await acceptBulkJob(await store(), envelope.value);
		const receipt = { jobId: job.jobId, status: job.status, entity_type: job.entity_type, operation: job.operation, records: job.records, acceptedAt: job.acceptedAt };
		return { ok: true, json: receipt as unknown as IDataObject };
	});
}

/** The body's size in bytes: Content-Length when the Webhook item has it. */
function bodySize(json: IDataObject, body: unknown): number {
	const header = (json.headers as IDataObject | undefined)?.['content-length'];
	const length = Number(header);
	return Number.isFinite(length) && length > 0 ? length : Buffer.byteLength(JSON.stringify(body) ?? '');
}
