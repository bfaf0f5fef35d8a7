import type { INodeProperties } from 'n8n-workflow';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';

import { authenticationProperties, crmProperty, entityProperty } from '../shared/crmProperties';

export const pollProperties: INodeProperties[] = [
	crmProperty,
	...authenticationProperties(),
	entityProperty,
	{
		displayName: 'Read',
		name: 'mode',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Changes (Incremental)', value: 'incremental', description: 'Changes since the last poll; the first poll reads every record' },
			{ name: 'Changes Since a Date', value: 'since', description: 'Changes from a date on, then incrementally' },
			{ name: 'Everything (Full)', value: 'full', description: 'Every record, sweep after sweep (periodic full resync)' },
		],
		default: 'incremental',
	},
	{
		displayName: 'Since',
		name: 'since',
		type: 'dateTime',
		default: '',
		required: true,
		displayOptions: { show: { mode: ['since'] } },
		description: 'Changing it starts over from the new date',
	},
	{
		displayName: 'Max Records per Poll',
		name: 'maxRecords',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 1000,
		description: 'Changes read per poll; the rest is read by the next polls. Deletions reported with the last page may add a few.',
	},
	{
		displayName: 'Overlap (Seconds)',
		name: 'overlapSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 5,
		description: 'Re-read changes this long before the newest one seen, to catch late-indexed writes and equal timestamps; repeats are dropped by record ID + modification time. 0 follows the CRM cursor only (needed for Dynamics change tracking).',
	},
	{
		displayName: 'Include Deletions',
		name: 'includeDeleted',
		type: 'boolean',
		default: true,
		description: 'Whether to emit delete (and merge) events where the CRM lists deleted records',
	},
	{
		displayName: 'Drop Echoes of Our Writes',
		name: 'dropEchoes',
		type: 'boolean',
		default: true,
		description: 'Whether to drop changes whose values match a write Unified CRM Upsert made in the same sync namespace (loop prevention)',
	},
	{
		displayName: 'Own Change Markers',
		name: 'ownChangeMarkers',
		type: 'string',
		default: '',
		description:
			'Comma-separated user IDs whose changes are dropped (loop prevention), matched against the modifier the CRM returns with each record where it does (Zoho Modified_By, Salesforce LastModifiedById, Dynamics modifiedby)',
	},
	stateBackendProperty(),
	syncNamespaceProperty('echo fingerprints of Unified CRM Upsert'),
];
