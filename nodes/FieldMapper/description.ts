// Node-level properties: the direction (the node's mode), the CRMs and entity it maps between,
// the credential for listing live fields, and the Options shared by every direction.
import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import { crmCredentialDescriptions } from '../shared/credentials';
import { authenticationProperties, crmOptions } from '../shared/crmProperties';
import { redisStateCredential, settingsStateCredential } from '../shared/stateStore';

// Only for listing the target CRM's live fields in the editor; mapping never calls a CRM.
export const credentials: INodeCredentialDescription[] = [
	...crmCredentialDescriptions({ crmParameter: 'targetCrm', show: { liveFields: [true], direction: ['fromUnified', 'crmToCrm'] } }),
	{ ...redisStateCredential, displayOptions: { show: { direction: ['fromUnified', 'toUnified'], resolveReferences: [true], stateBackend: ['redis'] } } },
	{ ...settingsStateCredential, displayOptions: { show: { direction: ['fromUnified', 'toUnified'], resolveReferences: [true], stateBackend: ['settings'] } } },
];

export const directionProperties: INodeProperties[] = [
	{
		displayName: 'Direction',
		name: 'direction',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'CRM → Unified', value: 'toUnified', description: 'CRM record to the unified model' },
			{ name: 'Unified → CRM', value: 'fromUnified', description: 'Unified record to a CRM record' },
			{ name: 'CRM → CRM', value: 'crmToCrm', description: 'Source CRM record to target CRM record (through the unified model)' },
		],
		default: 'toUnified',
	},
	{
		displayName: 'Source CRM',
		name: 'sourceCrm',
		type: 'options',
		noDataExpression: true,
		options: crmOptions,
		default: 'salesforce',
		displayOptions: { show: { direction: ['toUnified', 'crmToCrm'] } },
	},
	{
		displayName: 'Target CRM',
		name: 'targetCrm',
		type: 'options',
		noDataExpression: true,
		options: crmOptions,
		default: 'hubspot',
		displayOptions: { show: { direction: ['fromUnified', 'crmToCrm'] } },
	},
	{
		displayName: 'Load Target Fields From CRM',
		name: 'liveFields',
		type: 'boolean',
		default: false,
		description: "Whether the Target Field lists show the target CRM's live fields (needs a credential); otherwise the default map's fields. Mapping itself never calls the CRM.",
		displayOptions: { show: { direction: ['fromUnified', 'crmToCrm'] } },
	},
	...authenticationProperties({ crmParameter: 'targetCrm', show: { liveFields: [true], direction: ['fromUnified', 'crmToCrm'] } }),
	{
		displayName: 'Entity',
		name: 'entity',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Contact', value: 'contact' },
			{ name: 'Lead', value: 'lead' },
			{ name: 'Account', value: 'account' },
			{ name: 'Opportunity', value: 'opportunity' },
			{ name: 'Activity', value: 'activity' },
		],
		default: 'contact',
	},
];

/** The Options collection, read per item (see NodeOptions in actions/map.operation.ts). */
export const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Check CRM-Required Fields',
			name: 'checkCrmRequired',
			type: 'boolean',
			default: false,
			description: 'Whether to report fields the target CRM requires on create (e.g. Salesforce LastName); leave off for partial updates',
		},
		{
			displayName: 'Record Field',
			name: 'recordField',
			type: 'string',
			default: '',
			placeholder: 'record',
			description: 'Map the object in this field of each item (e.g. `record` of a sync event) instead of the whole item; the output keeps the other fields. Delete and merge events pass through unmapped.',
		},
		{
			displayName: 'Use Source and Entity of Sync Events',
			name: 'useEventSource',
			type: 'boolean',
			default: false,
			description: 'Whether to take the source CRM and entity from each item\'s `source` and `entity` fields (items from the CRM Sync Trigger)',
		},
		{
			displayName: 'Time Zone',
			name: 'timeZone',
			type: 'string',
			default: 'UTC',
			description: 'IANA zone for date-times without an offset and for turning instants into dates',
		},
		{
			displayName: 'Warnings Field',
			name: 'warningsField',
			type: 'string',
			default: '_mappingWarnings',
			description: 'Field of a Mapped item that holds lenient-mode warnings (empty: do not attach)',
		},
	],
};
