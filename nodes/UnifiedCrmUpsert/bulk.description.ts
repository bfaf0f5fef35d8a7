// Parameters of the bulk operations of Unified CRM Upsert. A bulk sync is three nodes, each holding
// one CRM's credential: Read Source Changes (the source) → Write Job to This CRM (one per target)
// → Finish Job. Settings can also come from the input item (mode, since, dryRun, batchSize,
// maxRecords, pageSize), so a static Set node can feed them without expressions.
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { crmOptions } from '../shared/crmOptions';

export const BULK_READ = 'bulkRead';
export const BULK_WRITE = 'bulkWrite';
export const BULK_FINISH = 'bulkFinish';

export const bulkOperationOptions: INodePropertyOptions[] = [
	{
		name: 'Bulk: Read Source Changes',
		value: BULK_READ,
		action: 'Bulk read source changes',
		description: "Pages through this CRM's changes into the state store (checkpointed) and outputs one job item. Resumes an unfinished job.",
	},
	{
		name: 'Bulk: Write Job to This CRM',
		value: BULK_WRITE,
		action: 'Bulk write job to this CRM',
		description: 'Upserts the job from the input item into this CRM page by page (checkpointed); failed records go to the Errors output',
	},
	{
		name: 'Bulk: Finish Job',
		value: BULK_FINISH,
		action: 'Bulk finish job',
		description: 'Outputs the summary of the job (processed, created, updated, unchanged, failed, duration, records/s) and records it in the sync history',
	},
];

const show = (...operation: string[]) => ({ show: { operation } });

export const bulkProperties: INodeProperties[] = [
	{
		displayName:
			'Settings come from the input item when it has them (mode, since, dryRun, batchSize, maxRecords, pageSize); the parameters below and Options are the defaults. The CRM above is the source.',
		name: 'bulkReadNotice',
		type: 'notice',
		default: '',
		displayOptions: show(BULK_READ),
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
		displayOptions: show(BULK_READ),
	},
	{
		displayName: 'Since',
		name: 'bulkSince',
		type: 'string',
		default: '',
		placeholder: '2026-01-01T00:00:00Z',
		description: 'Incremental: start here when there is no stored position. Empty: from the beginning.',
		displayOptions: show(BULK_READ),
	},
	{
		displayName: 'Targets',
		name: 'bulkTargets',
		type: 'multiOptions',
		options: crmOptions,
		default: [],
		description: 'The CRMs the job is written to, one Write node each; Finish Job waits for all of them. Empty: every CRM but the source.',
		displayOptions: show(BULK_READ),
	},
	{
		displayName: 'Page Size',
		name: 'bulkPageSize',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 1000,
		description: 'Source records per page: the unit of reading, deduplication, checkpoints and memory',
		displayOptions: show(BULK_READ),
	},
	{
		displayName: 'Client-Side Rate Limit',
		name: 'bulkClientRateLimit',
		type: 'options',
		options: [
			{ name: "CRM's Documented Limits", value: 'documented', description: 'Paces requests to the documented limits of the usual plan' },
			{ name: 'None (Concurrency Only)', value: 'none', description: 'For plans with higher limits or a local test CRM; throttle answers are still honoured' },
		],
		default: 'documented',
		displayOptions: show(BULK_READ, BULK_WRITE),
	},
];
