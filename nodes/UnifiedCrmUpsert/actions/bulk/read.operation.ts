// Bulk: Read Source Changes. Pages through this CRM's changes into the state store and outputs
// one job item; settings in the input item override the parameters.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { isCrmName } from '../../../../lib/model';
import { readSourceToSpool } from '../../../../lib/sync/bulk';
import { crmOptions } from '../../../shared/crmProperties';
import { metadataSettings } from '../../../shared/stateStore';
import { BULK_READ, BULK_SYNC, bulkConnector, bulkSettings, showFor, type BulkRun } from './common';

export const option: INodePropertyOptions = {
	name: 'Bulk: Read Source Changes',
	value: BULK_READ,
	action: 'Bulk read source changes',
	description: "Pages through this CRM's changes into the state store (checkpointed) and outputs one job item. Resumes an unfinished job.",
};

export const properties: INodeProperties[] = [
	{
		displayName:
			'Settings come from the input item when it has them (mode, since, dryRun, batchSize, maxRecords, pageSize); the parameters below and Options are the defaults. The CRM above is the source.',
		name: 'bulkReadNotice',
		type: 'notice',
		default: '',
		displayOptions: showFor(BULK_READ),
	},
	{
		displayName: 'Mode',
		name: 'bulkMode',
		type: 'options',
		options: [
			{ name: 'Incremental', value: 'incremental', description: 'Changes since the last run (everything the first time, or from Since)' },
			{ name: 'Full', value: 'full', description: 'Every record; records the targets already hold (per the synced snapshot) are reported unchanged' },
			{ name: 'Force Overwrite', value: 'force-overwrite', description: 'Every record, written even when the snapshot says the target already holds it' },
		],
		default: 'incremental',
		displayOptions: showFor(BULK_READ, BULK_SYNC),
	},
	{
		displayName: 'Since',
		name: 'bulkSince',
		type: 'string',
		default: '',
		placeholder: '2026-01-01T00:00:00Z',
		description: 'Incremental: start here when there is no stored position. Empty: from the beginning.',
		displayOptions: showFor(BULK_READ, BULK_SYNC),
	},
	{
		displayName: 'Targets',
		name: 'bulkTargets',
		type: 'multiOptions',
		options: crmOptions,
		default: [],
		description: 'The CRMs the job is written to, one Write node each; Finish Job waits for all of them. Empty: every CRM but the source.',
		displayOptions: showFor(BULK_READ),
	},
	{
		displayName: 'Page Size',
		name: 'bulkPageSize',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 1000,
		description: 'Source records per page: the unit of reading, deduplication, checkpoints and memory',
		displayOptions: showFor(BULK_READ, BULK_SYNC),
	},
];

export async function execute(this: IExecuteFunctions, run: BulkRun): Promise<INodeExecutionData[][]> {
	const { store, input, log } = run;
	const settings = bulkSettings(this, input);
	const targets = (this.getNodeParameter('bulkTargets', 0, []) as string[]).filter(isCrmName);
	const connector = await bulkConnector(this, run);
	const metadata = (await metadataSettings(this, (name, fallback) => this.getNodeParameter(name, 0, fallback)))[run.crm];
	const job = await readSourceToSpool(connector(), store, { entity: run.entity, settings, targets, owner: this.getExecutionId(), log, metadata });
	const json: IDataObject = { jobId: job.id, source: job.source, entity: job.entity, mode: job.mode, since: job.since ?? null, dryRun: job.dryRun, targets: job.targets, pages: job.pages, read: job.read as unknown as IDataObject, resumed: job.resumed };
	return [[{ json, pairedItem: { item: 0 } }], []];
}
