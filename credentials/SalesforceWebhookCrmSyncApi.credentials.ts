import type { ICredentialType, INodeProperties } from 'n8n-workflow';

// What the CRM Sync Trigger checks Salesforce's deliveries against.
export class SalesforceWebhookCrmSyncApi implements ICredentialType {
	name = 'salesforceWebhookCrmSyncApi';

	displayName = 'Salesforce Webhook Secret (CRM Sync)';

	documentationUrl = 'https://github.com/n8n-nodes-crm-sync/n8n-nodes-crm-sync#webhook-setup-per-crm';

	icon = 'file:icons/salesforce.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The ?key= value of the Outbound Message URL, and the HMAC secret of the JSON change-event form (X-Sfdc-Signature)",
		},
		{
			displayName: 'Previous Secret',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation, the old value is accepted too. Clear it once every sender uses the new one.',
		},
	];
}
