// Node-level properties: the operation and mode, the scoring every Find Duplicates mode shares,
// the store of the index operations and the options. Each mode's own properties are in actions/.

import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { crmOptions } from '../shared/crmProperties';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';

const findOnly = { show: { operation: ['findDuplicates'] } };

export const operationProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Find Duplicates',
				value: 'findDuplicates',
				action: 'Find duplicates',
				description: 'Split incoming records into Unique and Duplicates',
			},
			{
				name: 'Update Index',
				value: 'updateIndex',
				action: 'Add or update records in the index',
				description: 'Add or update records (by ID) in the index of known records, e.g. after they were synced',
			},
			{
				name: 'Remove From Index',
				value: 'removeFromIndex',
				action: 'Remove records from the index',
				description: 'Remove records (by ID) from the index of known records, e.g. after a delete',
			},
		],
		default: 'findDuplicates',
	},
	{
		displayName: 'Match Against',
		name: 'matchAgainst',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Input Batch', value: 'batch', description: 'Duplicates among the incoming items: clusters with a suggested master' },
			{ name: 'Index of Known Records', value: 'index', description: 'Records already synced, kept in the state store' },
			{ name: 'Target CRM', value: 'crm', description: 'Records in a CRM, found by email and phone through its API' },
		],
		default: 'batch',
		displayOptions: findOnly,
	},
	{
		displayName: 'Records',
		name: 'recordKind',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'People (Contacts, Leads)', value: 'person', description: 'Scored by email, phone, name and company' },
			{ name: 'Companies (Accounts)', value: 'company', description: "The same website domain, else the same normalised name (case, accents and legal forms aside); two companies with one name on different domains stay two. Scoring settings don't apply." },
		],
		default: 'person',
		displayOptions: { show: { operation: ['findDuplicates'], matchAgainst: ['batch'] } },
	},
];

/** Read by actions/matchOptions.ts. */
export const scoringProperties: INodeProperties[] = [
	{
		displayName: 'Scoring',
		name: 'scoringMode',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Simple (Weighted)', value: 'simple', description: 'Email 0.4, phone 0.25, name 0.2, company 0.15 (weights adjustable)' },
			{ name: 'Fellegi-Sunter', value: 'fellegiSunter', description: 'Probabilistic: m/u weights estimated from the data (EM) or given' },
		],
		default: 'simple',
		displayOptions: findOnly,
	},
	{
		displayName: 'Threshold',
		name: 'threshold',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
		default: 0.7,
		description: 'Pairs with a confidence at or above this are duplicates',
		displayOptions: findOnly,
	},
	{
		displayName: 'Weights',
		name: 'weights',
		type: 'collection',
		placeholder: 'Change Weight',
		default: {},
		displayOptions: { show: { operation: ['findDuplicates'], scoringMode: ['simple'] } },
		options: [
			{ displayName: 'Company Weight', name: 'company', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.15 },
			{ displayName: 'Company Minimum Similarity', name: 'companyMinSimilarity', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.8, description: 'Company similarity must be above this to count' },
			{ displayName: 'Email Weight', name: 'email', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.4 },
			{ displayName: 'Name Weight', name: 'name', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.2 },
			{ displayName: 'Name Minimum Similarity', name: 'nameMinSimilarity', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.85, description: 'Name similarity must be above this to count' },
			{ displayName: 'Phone Weight', name: 'phone', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.25 },
		],
	},
	{
		displayName: 'Fellegi-Sunter Parameters (JSON)',
		name: 'fsParameters',
		type: 'json',
		default: '',
		placeholder: '{"prior": 0.2, "fields": {"phone": {"m": [0.1, 0.9], "u": [0.998, 0.002]}}}',
		description:
			'Optional m/u probabilities per field and level, lowest agreement first: email 4 (different, same company domain, personal vs work, equal), phone 2, name 5 (similarity below 0.75 / 0.88 / 0.97 / 1, equal), company 3 (below 0.8 / 0.92, above), postalCode 2, address 2. Fields left out keep the built-in values. Empty: estimated from the data (EM).',
		displayOptions: { show: { operation: ['findDuplicates'], scoringMode: ['fellegiSunter'] } },
	},
];

/** The store settings for `show`: the index of known records lives in the state store. */
export function indexStoreProperties(show: IDisplayOptions['show']): INodeProperties[] {
	return [syncNamespaceProperty('including the index of known records', { show }), stateBackendProperty({ show })];
}

/** One State Store and Sync Namespace for Update Index and Remove From Index. */
export const indexOperationsStoreProperties = indexStoreProperties({ operation: ['updateIndex', 'removeFromIndex'] });

export const optionsProperties: INodeProperties[] = [
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Add Unique Records to Index',
				name: 'addUniqueToIndex',
				type: 'boolean',
				default: true,
				description: 'Whether records found unique against the index are added to it (records without an ID are not)',
			},
			{
				displayName: 'CRM Field',
				name: 'crmField',
				type: 'string',
				default: 'source',
				description: 'Field holding the CRM a record comes from (for the Preferred CRM master rule)',
			},
			{
				displayName: 'Default Phone Country',
				name: 'defaultCountry',
				type: 'string',
				default: 'US',
				description: 'ISO country code for phone numbers written without a country code',
			},
			{
				displayName: 'Fold Gmail Addresses',
				name: 'gmailFolding',
				type: 'boolean',
				default: false,
				description: 'Whether dots and +tags in Gmail addresses are ignored (j.doe+crm@gmail.com = jdoe@gmail.com)',
			},
			{
				displayName: 'Master Rule',
				name: 'masterRule',
				type: 'options',
				options: [
					{ name: 'Most Complete', value: 'mostComplete', description: 'The record with the most filled fields' },
					{ name: 'Most Recent', value: 'mostRecent', description: 'The record modified last' },
					{ name: 'Preferred CRM', value: 'preferredCrm', description: 'The record from the chosen CRM' },
				],
				default: 'mostComplete',
			},
			{
				displayName: 'Max Block Size',
				name: 'maxBlockSize',
				type: 'number',
				typeOptions: { minValue: 2 },
				default: 100,
				description: 'Blocks (records sharing a blocking key) larger than this are not compared pairwise',
			},
			{
				displayName: 'Modified Field',
				name: 'modifiedField',
				type: 'string',
				default: 'updatedAt',
				description: 'Field holding the last-modified time (for the Most Recent master rule)',
			},
			{
				displayName: 'Preferred CRM',
				name: 'preferredCrm',
				type: 'options',
				options: crmOptions,
				default: 'salesforce',
				description: 'For the Preferred CRM master rule',
			},
			{
				displayName: 'Record Field',
				name: 'recordField',
				type: 'string',
				default: '',
				placeholder: 'record',
				description:
					'Item field holding the record in the unified model (as the Field Mapper\'s Record Field option leaves it). Empty: the whole item. With a change event (source and recordId on the item), the record\'s identity in the index is its unified ID from the cross-reference, so the same contact arriving from another CRM is not its own duplicate.',
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
