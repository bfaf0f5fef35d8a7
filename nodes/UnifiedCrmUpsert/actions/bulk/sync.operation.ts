// Bulk: Sync CRMs. The whole job in one node, which holds every selected CRM's credential: the
// source's changes read into the spool, every other selected CRM written at the same time (each
// from its own checkpoint), then the summary. A run that died is resumed by the next one.
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type INodePropertyOptions } from 'n8n-workflow';

import { finishJob, readSourceToSpool, writeSpoolToTargets, type BulkFailure } from '../../../../lib/sync/bulk';
import { crmOptions, selectedCrms } from '../../../shared/crmProperties';
import { BULK_SYNC, bulkConnector, bulkSettings, showFor, type BulkRun } from './common';

export const option: INodePropertyOptions = {
	name: 'Bulk: Sync CRMs',
	value: BULK_SYNC,
	action: 'Bulk sync CRMs',
	description: "Reads the source CRM's changes and writes them to every other selected CRM at once (checkpointed); outputs the summary, failed records go to Errors. Resumes an unfinished job.",
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Source CRM',
		name: 'bulkSource',
		type: 'options',
		noDataExpression: true,
		options: crmOptions,
		default: 'hubspot',
		description: 'The CRM whose records are copied; one of the CRMs above. Every other selected CRM is a target.',
		displayOptions: showFor(BULK_SYNC),
	},
];

export async function execute(this: IExecuteFunctions, run: BulkRun): Promise<INodeExecutionData[][]> {
	const { crm: source, store, input, log } = run;
	const crms = selectedCrms(this.getNodeParameter('crm', 0));
	if (!crms.includes(source)) throw new NodeOperationError(this.getNode(), `The Source CRM (${source}) must be one of the selected CRMs (${crms.join(', ') || 'none'})`);
	const targets = crms.filter((crm) => crm !== source);
	if (!targets.length) throw new NodeOperationError(this.getNode(), 'Select at least one CRM besides the Source CRM to write to');
	const settings = bulkSettings(this, input);
	const owner = this.getExecutionId();
	const readFrom = await bulkConnector(this, run);
	const job = await readSourceToSpool(readFrom(), store, { entity: 'contact', settings, targets, owner, log });
	const writers = await Promise.all(job.targets.map(async (crm) => ({ crm, connector: await bulkConnector(this, { ...run, crm }) })));
	const errors: INodeExecutionData[] = [];
	const onFailures = (failures: BulkFailure[]) => {
		for (const failure of failures) errors.push({ json: failure as unknown as IDataObject, pairedItem: { item: 0 } });
	};
	await writeSpoolToTargets(writers, store, { source, entity: 'contact', jobId: job.id, dryRun: job.dryRun, owner, log, onFailures });
	const summary = await finishJob(store, source, 'contact', job.id, job.dryRun, { owner });
	log(`bulk ${summary.jobId}: ${summary.processed} processed, ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed in ${summary.durationMs} ms`);
	return [[{ json: summary as unknown as IDataObject, pairedItem: { item: 0 } }], errors];
}
