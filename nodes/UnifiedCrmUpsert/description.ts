import type { INodeProperties } from 'n8n-workflow';

export const crmOptions = [
	{ name: 'HubSpot', value: 'hubspot' },
	{ name: 'Microsoft Dynamics 365', value: 'dynamics' },
	{ name: 'Pipedrive', value: 'pipedrive' },
	{ name: 'Salesforce', value: 'salesforce' },
	{ name: 'Zoho CRM', value: 'zoho' },
];

export const entityOptions = [
	{ name: 'Account / Company', value: 'account' },
	{ name: 'Activity', value: 'activity' },
	{ name: 'Contact', value: 'contact' },
	{ name: 'Lead', value: 'lead' },
	{ name: 'Opportunity / Deal', value: 'opportunity' },
];

export const upsertProperties: INodeProperties[] = [
	{
		displayName: 'CRM',
		name: 'crm',
		type: 'options',
		noDataExpression: true,
		options: crmOptions,
		default: 'hubspot',
	},
	{
		displayName: 'Entity',
		name: 'entity',
		type: 'options',
		noDataExpression: true,
		options: entityOptions,
		default: 'contact',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Create', value: 'create', action: 'Create records' },
			{ name: 'Delete', value: 'delete', action: 'Delete records' },
			{ name: 'GDPR Erase', value: 'erase', action: 'Erase personal data' },
			{ name: 'Merge', value: 'merge', action: 'Merge records' },
			{ name: 'Update', value: 'update', action: 'Update records' },
			{ name: 'Upsert', value: 'upsert', action: 'Create or update records' },
		],
		default: 'upsert',
	},
	{
		displayName: 'Match Key',
		name: 'matchKey',
		type: 'string',
		default: 'email',
		description: 'CRM field that identifies an existing record, e.g. email or an external ID field',
		displayOptions: { show: { operation: ['upsert'] } },
	},
	{
		displayName: 'Record Path',
		name: 'recordPath',
		type: 'string',
		default: '',
		placeholder: 'body',
		description:
			'Dot path of the record inside each input item, e.g. "body" behind a Webhook node. Empty means the whole item. A static path keeps the workflow free of per-execution expressions.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Batch Size',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
				description: "Records per API call; capped at the CRM's maximum",
			},
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description: 'Whether to output what would be written without calling the CRM',
			},
			{
				displayName: 'Max Records',
				name: 'maxRecords',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Stop after this many records (0 = no limit); the rest go to the Errors output as skipped',
			},
		],
	},
];
