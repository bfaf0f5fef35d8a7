// Bulk: Write Job to This CRM. Upserts the job's spooled pages into this node's CRM; failed
// records go to the Errors output.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { writeSpoolToTarget, type BulkFailure } from '../../../../lib/sync/bulk';
import { metadataSettings } from '../../../shared/stateStore';
import { BULK_WRITE, bulkConnector, jobOf, type BulkRun } from './common';

export const option: INodePropertyOptions = {
	name: 'Bulk: Write Job to This CRM',
	value: BULK_WRITE,
	action: 'Bulk write job to this CRM',
	description: 'Upserts the job from the input item into this CRM page by page (checkpointed); failed records go to the Errors output',
};

export async function execute(this: IExecuteFunctions, run: BulkRun): Promise<INodeExecutionData[][]> {
	const { crm, store, input, log } = run;
	const job = jobOf(this, input);
	const connector = await bulkConnector(this, run);
	const errors: INodeExecutionData[] = [];
	const onFailures = (failures: BulkFailure[]) => {
		for (const failure of failures) errors.push({ json: failure as unknown as IDataObject, pairedItem: { item: 0 } });
	};
	const metadataByCrm = await metadataSettings(this, (name, fallback) => this.getNodeParameter(name, 0, fallback));
	const { stats } = await writeSpoolToTarget(crm, connector, store, { source: job.source, entity: run.entity, jobId: job.jobId, dryRun: job.dryRun, owner: this.getExecutionId(), log, onFailures, metadataByCrm });
	const written = { ...((input.written as IDataObject | undefined) ?? {}), [crm]: stats as unknown as IDataObject };
	return [[{ json: { ...input, written }, pairedItem: { item: 0 } }], errors];
}
