import type { INodeProperties } from 'n8n-workflow';
import { crmOptions } from '../shared/crmOptions';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';
import * as bulk from './actions/bulk/description';
import * as syncApi from './actions/syncApi/description';
import { SYNC_API_OPERATION } from './actions/syncApi/common';

export { crmOptions };

export const entityOptions = [
	{ name: 'Account / Company', value: 'account' },
	{ name: 'Activity', value: 'activity' },
	{ name: 'Contact', value: 'contact' },
	{ name: 'Lead', value: 'lead' },
	{ name: 'Opportunity / Deal', value: 'opportunity' },
];

/** The Request Timeout option (seconds, default 60) as the connectors' per-attempt timeout in ms. */
export function requestTimeoutMs(options: { requestTimeout?: number }): number {
	return (options.requestTimeout || 60) * 1000;
}

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
		displayName: 'Authentication',
		name: 'hubspotAuthentication',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Private App Token', value: 'privateApp' },
			{ name: 'OAuth2', value: 'oAuth2' },
		],
		default: 'privateApp',
		displayOptions: { show: { crm: ['hubspot'] } },
	},
	{
		displayName: 'Authentication',
		name: 'pipedriveAuthentication',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'API Token', value: 'apiToken' },
			{ name: 'OAuth2', value: 'oAuth2' },
		],
		default: 'apiToken',
		displayOptions: { show: { crm: ['pipedrive'] } },
	},
	{
		displayName: 'Entity',
		name: 'entity',
		type: 'options',
		noDataExpression: true,
		options: entityOptions,
		default: 'contact',
		displayOptions: { hide: { operation: [SYNC_API_OPERATION] } },
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Create', value: 'create', action: 'Create records' },
			{ name: 'Delete', value: 'delete', action: 'Delete records' },
			{
				name: 'From Item (Event Operation)',
				value: 'auto',
				action: 'Write each item by its event operation',
				description: "Each item's operation field (CRM Sync Trigger items): create/update/restore → upsert, delete → delete, erase → GDPR erase, merge → merge; records are found through the cross-reference of the item's unifiedId. A delete made in this CRM itself is skipped, unless the item has deleteInSource: true",
			},
			{
				name: 'GDPR Erase',
				value: 'erase',
				action: 'Erase personal data',
				description: 'Delete in the CRM and remove the record\'s synced data (snapshot, cross-reference) from the state store',
			},
			{ name: 'Merge', value: 'merge', action: 'Merge records', description: 'Each item: masterId and mergeIds (CRM record IDs)' },
			{ name: 'Update', value: 'update', action: 'Update records', description: 'By CRM ID (crmId) or by the stored cross-reference of unifiedId' },
			{ name: 'Upsert', value: 'upsert', action: 'Create or update records' },
			...bulk.operationOptions,
			...syncApi.operationOptions,
		],
		default: 'upsert',
	},
	...bulk.properties,
	...syncApi.properties,
	{
		displayName: 'Input Format',
		name: 'inputFormat',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'CRM Fields', value: 'crm', description: "The CRM's own field names (e.g. from the Field Mapper)" },
			{ name: 'Unified Record', value: 'unified', description: 'Unified model fields (email, firstName, ...), mapped with the default field map' },
		],
		default: 'crm',
		displayOptions: { show: { operation: ['upsert', 'create', 'update', 'auto'] } },
	},
	{
		displayName: 'Match Key',
		name: 'matchKey',
		type: 'string',
		default: 'email',
		description:
			'How existing records are found: "email" or "phone" (each CRM\'s own field is used), or a CRM field such as an external ID (e.g. Ext_Id__c). Records with a unifiedId that has a stored cross-reference are updated by ID.',
		displayOptions: { show: { operation: ['upsert', 'auto'] } },
	},
	{
		displayName: 'Record Path',
		name: 'recordPath',
		type: 'string',
		default: '',
		placeholder: 'body',
		description:
			'Dot path of the record inside each input item, e.g. "body" behind a Webhook node. Empty means the whole item. A static path keeps the workflow free of per-execution expressions.',
		displayOptions: { hide: { operation: [SYNC_API_OPERATION] } },
	},
	syncNamespaceProperty('cross-references, snapshots, echo fingerprints'),
	stateBackendProperty(undefined, 'For queue mode and several hosts; also shares rate-limit budgets across workers'),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { hide: { operation: [SYNC_API_OPERATION] } },
		options: [
			{
				displayName: 'Batch Size',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 200,
				description: "Records per API call; capped at the CRM's maximum (Salesforce 200, HubSpot 100, ...)",
			},
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description: 'Whether to output what would be written without calling the CRM or the state store',
			},
			{
				displayName: 'Force Overwrite',
				name: 'forceOverwrite',
				type: 'boolean',
				default: false,
				description: 'Whether to write records even when the last synced snapshot shows the CRM already has these values (reported as unchanged otherwise)',
			},
			{
				displayName: 'Max Records',
				name: 'maxRecords',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Stop after this many records (0 = no limit); the rest go to the Errors output as skipped',
			},
			{
				displayName: 'Record Sync State',
				name: 'recordState',
				type: 'boolean',
				default: true,
				description: 'Whether to keep cross-references, synced snapshots and echo fingerprints in the state store',
			},
			{
				displayName: 'Request Timeout (Seconds)',
				name: 'requestTimeout',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description: 'How long to wait for each CRM request before trying it again. A create that got no answer is not simply sent again (the CRM may have applied it): an upsert into Salesforce, Pipedrive or Dynamics looks the record up once more and creates it only if it is not there; otherwise it goes to the Errors output.',
			},
			{
				displayName: 'State File Path',
				name: 'statePath',
				type: 'string',
				default: '',
				placeholder: '/data/crm-sync/state.sqlite',
				description: 'Embedded store only. Empty: crm-sync/state.sqlite in the n8n user folder.',
			},
		],
	},
];
