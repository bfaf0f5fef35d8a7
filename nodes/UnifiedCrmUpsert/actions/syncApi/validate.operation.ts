// Sync API step "Validate Request": checks each request (no CRM call); for a bulk job after its
// 202 answer, checks the queued records.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { CrmName } from '../../../../lib/model';
import { validateBulkJob, validateSyncRequest, withUnifiedId } from '../../../../lib/sync/sync-api';
import { crmOptions } from '../../../shared/crmProperties';
import { nodeStore } from '../connection';
import { answerEach, bodyOf, invalid, prepareWrites, showForSteps, type ChainItem } from './common';

export const option: INodePropertyOptions = {
	name: 'Validate Request',
	value: 'validate',
	description: 'Check the webhook body against the schema and the CRMs below; no CRM call. Valid → Success, invalid → Errors (a 400 body with every reason). For a bulk job (after its 202): checks the queued records.',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Validate For CRMs',
		name: 'syncApiCrms',
		type: 'multiOptions',
		options: crmOptions,
		default: ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'],
		description: 'The CRMs the workflow writes to: their field formats and required fields are checked. (The CRM field above is not used by this step.)',
		displayOptions: showForSteps(['validate']),
	},
];

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const crms = this.getNodeParameter('syncApiCrms', 0, []) as CrmName[];
	const store = nodeStore(this);
	return answerEach(items, async (json) => {
		const jobId = (json as ChainItem).jobId;
		if (typeof jobId === 'string') {
			const job = await validateBulkJob(await store(), jobId, crms);
			return { ok: true, json: { ...json, status: job.status, invalid: job.invalid } };
		}
		const checked = validateSyncRequest(bodyOf(json), crms);
		if (!checked.ok) return { ok: false, json: invalid(checked) };
		const request = await prepareWrites(store, withUnifiedId(checked.value));
		return { ok: true, json: { request, results: [] } as unknown as IDataObject };
	});
}
