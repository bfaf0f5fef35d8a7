import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// What the CRM Sync Trigger checks Pipedrive's webhook requests against (HTTP Basic auth), and registers its webhook with.
export class PipedriveWebhookCrmSyncApi implements ICredentialType {
	name = 'pipedriveWebhookCrmSyncApi';

	displayName = 'Pipedrive Webhook Secret (CRM Sync)';

	documentationUrl = 'https://github.com/n8n-nodes-crm-sync/n8n-nodes-crm-sync#webhook-setup-per-crm';

	icon = 'file:icons/pipedrive.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Basic Auth User',
			name: 'basicAuthUser',
			type: 'string',
			default: '',
			required: true,
			description: "The webhook's http_auth_user",
		},
		{
			displayName: 'Basic Auth Password',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The webhook's http_auth_password",
		},
		{
			displayName: 'Previous Basic Auth Password',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation, the old password is accepted too (with the same user). Clear it once every sender uses the new one.',
		},
	];
}
