// The node's parameters: the node-level ones here (CRM, authentication, entity, the operation
// selector, store and Options), each family's own in actions/<family>/. Sync to CRMs and Bulk: Sync
// CRMs take several CRMs under the same name, `crm` (multiOptions), shown instead of the one CRM:
// every credential rule `{crm: [X]}` then shows X's credential when X is ticked.
import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import { crmCredentialDescriptions } from '../shared/credentials';
import { authenticationProperties, crmOptions, crmProperty, entityProperty } from '../shared/crmProperties';
import { redisStateCredential, settingsStateCredential, stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';
import { BULK_SYNC } from './actions/bulk/common';
import * as bulk from './actions/bulk/description';
import { SYNC_API_OPERATION } from './actions/syncApi/common';
import * as syncApi from './actions/syncApi/description';
import * as syncToCrms from './actions/sync/syncToCrms.operation';
import * as write from './actions/write/description';

/** One entry per credential type; each shown for its CRM and authentication choice. */
export const credentials: INodeCredentialDescription[] = [...crmCredentialDescriptions({ hide: { syncApiStep: syncApi.stepsWithoutCrm } }), redisStateCredential, settingsStateCredential];

/** The operations that work on several CRMs. */
const SEVERAL_CRMS = [syncToCrms.SYNC_TO_CRMS, BULK_SYNC];

export const upsertProperties: INodeProperties[] = [
	{ ...crmProperty, displayOptions: { hide: { operation: SEVERAL_CRMS, syncApiStep: [syncApi.WRITE_TO_CRMS] } } },
	...[{ operation: SEVERAL_CRMS }, { operation: [SYNC_API_OPERATION], syncApiStep: [syncApi.WRITE_TO_CRMS] }].map(
		(show): INodeProperties => ({
			displayName: 'CRMs',
			name: 'crm',
			type: 'multiOptions',
			noDataExpression: true,
			options: crmOptions,
			default: [],
			required: true,
			description: 'The CRMs kept in sync; each asks for its credential',
			displayOptions: { show },
		}),
	),
	...authenticationProperties(),
	{ ...entityProperty, displayOptions: { hide: { operation: [SYNC_API_OPERATION, BULK_SYNC] } } },
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [...write.operationOptions, ...bulk.operationOptions, ...syncApi.operationOptions, syncToCrms.operationOption],
		default: 'upsert',
	},
	...bulk.properties,
	...syncApi.properties,
	...syncToCrms.properties,
	...write.properties,
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
