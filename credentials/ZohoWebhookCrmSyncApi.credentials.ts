import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// What the CRM Sync Trigger checks Zoho's notifications against, and enables its channel with.
export class ZohoWebhookCrmSyncApi implements ICredentialType {
	name = 'zohoWebhookCrmSyncApi';

	displayName = 'Zoho CRM Webhook Token (CRM Sync)';

	documentationUrl = 'https://github.com/n8n-nodes-crm-sync/n8n-nodes-crm-sync#webhook-setup-per-crm';

	icon = 'file:icons/zoho.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Token',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The token of the notification channel (watch), at most 50 characters; Zoho sends it with every notification",
		},
		{
			displayName: 'Previous Token',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation, the old value is accepted too. Clear it once every sender uses the new one.',
		},
	];
}
