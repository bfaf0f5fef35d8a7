// Node-level properties: the operation and mode, the settings both Resolve modes share, the
// state store and the options. Each operation's own properties are in actions/.

import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_CONSENT_FIELDS } from '../../lib/conflict';
import { crmOptions } from '../shared/crmProperties';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';

const resolveOnly = { show: { operation: ['resolve'] } };

export const operationProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Resolve', value: 'resolve', action: 'Resolve a change against the target record', description: 'Three-way merge of an incoming change with the target record' },
			{ name: 'Resolve Review Item', value: 'resolveReview', action: 'Apply a decision to a queued review item', description: 'Apply a reviewer\'s decision to an item of the review queue' },
		],
		default: 'resolve',
	},
	{
		displayName: 'Resolve Against',
		name: 'against',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Synced State (State Store)',
				value: 'syncedState',
				description: 'The last synced record in the state store is the truth: each change is merged into it (per-field times, under a lock), the result goes to all CRMs including the source when it lost a field',
			},
			{ name: 'Target Record (in the Item)', value: 'target', description: 'Three-way merge of the incoming change with the target\'s current record given in the item' },
		],
		default: 'target',
		displayOptions: resolveOnly,
	},
];

/** The Resolve settings, read by actions/settings.ts. */
export const resolveSettingsProperties: INodeProperties[] = [
	{
		displayName: 'Strategy',
		name: 'strategy',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Last Modified Wins', value: 'last-modified-wins', description: 'The newer value wins (per-field timestamps when available); ties broken by CRM priority' },
			{ name: 'Source System Wins', value: 'source-system-wins', description: 'The CRM higher in the priority list wins; equal rank: the incoming change wins' },
			{ name: 'Field-Level Merge', value: 'field-level', description: 'A rule per field: source, target, newest or priority' },
			{ name: 'CRM Wins', value: 'crm-wins', description: 'One named CRM always wins' },
			{ name: 'Manual Review', value: 'manual-review', description: 'True conflicts go to the Needs Review output and the review queue; nothing is written' },
		],
		default: 'last-modified-wins',
		description: 'How to decide fields changed on both sides to different values. Fields changed on one side only are always merged automatically.',
		displayOptions: resolveOnly,
	},
	{
		displayName: 'Winning CRM',
		name: 'winningCrm',
		type: 'options',
		options: crmOptions,
		default: 'salesforce',
		displayOptions: { show: { operation: ['resolve'], strategy: ['crm-wins'] } },
	},
	{
		displayName: 'CRM Priority',
		name: 'crmPriority',
		type: 'string',
		default: '',
		placeholder: 'salesforce, hubspot, pipedrive',
		description: 'Comma-separated CRMs, highest priority first. Used by Source System Wins, the Priority field rule, and to break timestamp ties.',
		displayOptions: resolveOnly,
	},
	{
		displayName: 'Default Field Rule',
		name: 'defaultFieldRule',
		type: 'options',
		options: [
			{ name: 'Newest', value: 'newest' },
			{ name: 'Priority', value: 'priority' },
			{ name: 'Source', value: 'source' },
			{ name: 'Target', value: 'target' },
		],
		default: 'newest',
		description: 'Rule for fields without their own rule',
		displayOptions: { show: { operation: ['resolve'], strategy: ['field-level'] } },
	},
	{
		displayName: 'Field Rules',
		name: 'fieldRules',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Field Rule',
		default: {},
		displayOptions: { show: { operation: ['resolve'], strategy: ['field-level'] } },
		options: [
			{
				name: 'rule',
				displayName: 'Rule',
				values: [
					{ displayName: 'Field', name: 'field', type: 'string', default: '', placeholder: 'phone', description: 'Unified field name (camelCase)' },
					{
						displayName: 'Winner',
						name: 'winner',
						type: 'options',
						options: [
							{ name: 'Newest', value: 'newest' },
							{ name: 'Priority', value: 'priority' },
							{ name: 'Source (Incoming Change)', value: 'source' },
							{ name: 'Target (Current Record)', value: 'target' },
						],
						default: 'newest',
					},
				],
			},
		],
	},
	{
		displayName: 'Delete Policy',
		name: 'deletePolicy',
		type: 'options',
		options: [
			{ name: 'Delete Wins, Keep Tombstone', value: 'tombstone', description: 'Deleted records are never re-created by later or concurrent updates' },
			{ name: 'Update Wins (Restore)', value: 'update-wins', description: 'A concurrent update re-creates the deleted record' },
			{ name: 'Newest Wins', value: 'newest', description: 'Compare the delete and update times (tie: delete)' },
			{ name: 'Manual Review', value: 'review' },
		],
		default: 'tombstone',
		description: 'What happens when a delete meets a concurrent update',
		displayOptions: resolveOnly,
	},
];

export const stateAndOptionsProperties: INodeProperties[] = [
	syncNamespaceProperty('snapshots, review queue, audit log'),
	stateBackendProperty(),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Audit Field Values',
				name: 'auditValues',
				type: 'boolean',
				default: false,
				description: 'Whether the audit log keeps field values (personal data). Off: only field names, winners and reasons.',
			},
			{
				displayName: 'Clock Skew Tolerance (Ms)',
				name: 'clockSkewToleranceMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				description: 'Timestamps closer than this count as simultaneous (a tie)',
			},
			{
				displayName: 'Consent Fields',
				name: 'consentFields',
				type: 'string',
				default: DEFAULT_CONSENT_FIELDS.join(', '),
				description: 'Comma-separated fields where true means opted out. An opt-out is never replaced by an opt-in unless the opt-in is strictly newer.',
			},
			{
				displayName: 'Default Entity',
				name: 'defaultEntity',
				type: 'options',
				options: [
					{ name: 'Account', value: 'account' },
					{ name: 'Activity', value: 'activity' },
					{ name: 'Contact', value: 'contact' },
					{ name: 'Lead', value: 'lead' },
					{ name: 'Opportunity', value: 'opportunity' },
				],
				default: 'contact',
				description: 'Entity type for items without an "entity" key',
			},
			{
				displayName: 'Ignored Fields',
				name: 'ignoreFields',
				type: 'string',
				default: 'id, createdAt, updatedAt, modifiedAt',
				description: 'Comma-separated fields never merged or written (system fields)',
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
