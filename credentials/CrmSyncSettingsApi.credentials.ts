import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// The sync settings chosen once: where every package node of a sync keeps its state (the
// embedded file or Redis, with its connection) and under which namespace, and how deals'
// stages and owners are mapped where the CRMs' metadata is not enough. Nodes use it when their
// State Store parameter is "CRM Sync Settings"; the templates' nodes all do.
export class CrmSyncSettingsApi implements ICredentialType {
	name = 'crmSyncSettingsApi';

	displayName = 'CRM Sync Settings';

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-crm-sync#state-store';

	icon = 'file:icons/crmSync.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'State Store',
			name: 'backend',
			type: 'options',
			options: [
				{ name: 'Embedded (Local File)', value: 'embedded', description: 'SQLite file in the n8n user folder; one host' },
				{ name: 'Redis', value: 'redis', description: 'For queue mode and several hosts; also shares rate-limit budgets across workers' },
			],
			default: 'embedded',
		},
		{
			displayName: 'Sync Namespace',
			name: 'namespace',
			type: 'string',
			default: 'default',
			description:
				'Sync state (cross-references, snapshots, the duplicate index, echo fingerprints, review queue) is kept per namespace. Workflows that share one share their state: keep one namespace for the bulk and the real-time sync of the same CRMs.',
		},
		{
			displayName: 'State File Path',
			name: 'statePath',
			type: 'string',
			default: '',
			placeholder: '/data/crm-sync/state.sqlite',
			description: 'Empty: crm-sync/state.sqlite in the n8n user folder',
			displayOptions: { show: { backend: ['embedded'] } },
		},
		{ displayName: 'Redis Host', name: 'host', type: 'string', default: 'localhost', displayOptions: { show: { backend: ['redis'] } } },
		{ displayName: 'Redis Port', name: 'port', type: 'number', default: 6379, displayOptions: { show: { backend: ['redis'] } } },
		{ displayName: 'Redis User', name: 'user', type: 'string', default: '', displayOptions: { show: { backend: ['redis'] } } },
		{
			displayName: 'Redis Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { backend: ['redis'] } },
		},
		{ displayName: 'Redis Database Number', name: 'database', type: 'number', default: 0, displayOptions: { show: { backend: ['redis'] } } },
		{ displayName: 'Redis SSL', name: 'ssl', type: 'boolean', default: false, displayOptions: { show: { backend: ['redis'] } } },
		{
			displayName: 'Deal Stage Overrides',
			name: 'dealStageOverrides',
			type: 'json',
			default: '{}',
			placeholder: '{ "pipedrive": { "Demo Scheduled": "proposal" }, "hubspot": { "12345678": "negotiation" } }',
			description:
				'Per CRM, a stage ID or label → unified stage (prospecting, qualification, needsAnalysis, proposal, negotiation, closedWon, closedLost), where the stage mapping read from the CRM places a stage wrongly. A stage the CRM flags open cannot be made won or lost, nor the reverse.',
		},
		{
			displayName: 'Default Owners',
			name: 'defaultOwners',
			type: 'json',
			default: '{}',
			placeholder: '{ "salesforce": "005Dn000001AbCdIAK", "hubspot": "41556981" }',
			description: "Per CRM, the user ID that owns a synced deal whose owner has no active user with the same e-mail there. Without one, the CRM's API user owns it.",
		},
	];
}
