// Bulk: Sync CRMs. The whole job in one node, which holds every selected CRM's credential: per
// selected entity, in dependency order, the source's changes read into the spool, every other
// selected CRM written at the same time (each from its own checkpoint), then the summary. A run
// that died is resumed by the next one.
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type INodePropertyOptions } from 'n8n-workflow';

import type { EntityType } from '../../../../lib/model';
import { BULK_ENTITIES, finishJob, readSourceToSpool, writeSpoolToTargets, type BulkFailure } from '../../../../lib/sync/bulk';
import { crmOptions, selectedCrms } from '../../../shared/crmProperties';
import { metadataSettings } from '../../../shared/stateStore';
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
	{
		displayName: 'Entities',
		name: 'bulkEntities',
		type: 'multiOptions',
		options: [
			{ name: 'Account', value: 'account' },
			{ name: 'Contact', value: 'contact' },
			{ name: 'Opportunity', value: 'opportunity' },
		],
		default: ['contact'],
		description:
			'What to copy. They are copied one after another in the order they depend on each other (accounts, then contacts, then opportunities), so that a contact finds its account and a deal its account and contact in each target. One summary item per entity.',
		displayOptions: showFor(BULK_SYNC),
	},
];

/** The selected entities in dependency order. */
function entitiesToSync(ctx: IExecuteFunctions): EntityType[] {
	const selected = ctx.getNodeParameter('bulkEntities', 0, ['contact']) as string[];
	const unknown = selected.filter((e) => !(BULK_ENTITIES as readonly string[]).includes(e));
	if (unknown.length) throw new NodeOperationError(ctx.getNode(), `Bulk sync of ${unknown.join(', ')} records is not implemented yet (${BULK_ENTITIES.join(', ')})`);
	const entities = BULK_ENTITIES.filter((e) => selected.includes(e));
	if (!entities.length) throw new NodeOperationError(ctx.getNode(), 'Select at least one entity to copy');
	return entities;
}

export async function execute(this: IExecuteFunctions, run: BulkRun): Promise<INodeExecutionData[][]> {
	const { crm: source, store, input, log } = run;
	const crms = selectedCrms(this.getNodeParameter('crm', 0));
	if (!crms.includes(source)) throw new NodeOperationError(this.getNode(), `The Source CRM (${source}) must be one of the selected CRMs (${crms.join(', ') || 'none'})`);
	const targets = crms.filter((crm) => crm !== source);
	if (!targets.length) throw new NodeOperationError(this.getNode(), 'Select at least one CRM besides the Source CRM to write to');
	const settings = bulkSettings(this, input);
	const owner = this.getExecutionId();
	const readFrom = await bulkConnector(this, run);
	const metadataByCrm = await metadataSettings(this, (name, fallback) => this.getNodeParameter(name, 0, fallback));
	const writers = await Promise.all(targets.map(async (crm) => ({ crm, connector: await bulkConnector(this, { ...run, crm }) })));
	const summaries: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	const onFailures = (failures: BulkFailure[]) => {
		for (const failure of failures) errors.push({ json: failure as unknown as IDataObject, pairedItem: { item: 0 } });
	};
	for (const entity of entitiesToSync(this)) {
		const job = await readSourceToSpool(readFrom(), store, { entity, settings, targets, owner, log, metadata: metadataByCrm[source] });
		const jobWriters = writers.filter((w) => job.targets.includes(w.crm));
		await writeSpoolToTargets(jobWriters, store, { source, entity, jobId: job.id, dryRun: job.dryRun, owner, log, onFailures, metadataByCrm });
		const summary = await finishJob(store, source, entity, job.id, job.dryRun, { owner });
		log(`bulk ${summary.jobId} (${entity}): ${summary.processed} processed, ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed in ${summary.durationMs} ms`);
		summaries.push({ json: summary as unknown as IDataObject, pairedItem: { item: 0 } });
	}
	return [summaries, errors];
}
