import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// What the CRM Sync Trigger checks HubSpot's webhook requests against (the app's signature).
export class HubSpotWebhookCrmSyncApi implements ICredentialType {
	name = 'hubSpotWebhookCrmSyncApi';

	displayName = 'HubSpot Webhook Secret (CRM Sync)';

	documentationUrl = 'https://github.com/n8n-nodes-crm-sync/n8n-nodes-crm-sync#webhook-setup-per-crm';

	icon = 'file:icons/hubspot.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Client Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The HubSpot app's client secret, used to check X-HubSpot-Signature-v3",
		},
		{
			displayName: 'Previous Client Secret',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation, the old value is accepted too. Clear it once every sender uses the new one.',
		},
	];
}
