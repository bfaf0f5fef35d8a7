import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// What the CRM Sync Trigger checks Dynamics 365's webhook requests against.
export class DynamicsWebhookCrmSyncApi implements ICredentialType {
	name = 'dynamicsWebhookCrmSyncApi';

	displayName = 'Microsoft Dynamics 365 Webhook Key (CRM Sync)';

	documentationUrl = 'https://github.com/n8n-nodes-crm-sync/n8n-nodes-crm-sync#webhook-setup-per-crm';

	icon = 'file:icons/dynamics.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Key',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The webhook key (?code=) or the value of the x-crm-sync-key header",
		},
		{
			displayName: 'Previous Key',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation, the old value is accepted too. Clear it once every sender uses the new one.',
		},
	];
}
