import { NodeConnectionTypes, type INodeType, type INodeTypeDescription, type IWebhookFunctions, type IWebhookResponseData } from 'n8n-workflow';

import { SETTINGS_CREDENTIAL } from '../shared/stateStore';
import { triggerProperties } from './description';
import { crmWebhookMethods, crmWebhooks } from './lifecycle';
import { subscriptionCredentials } from './subscription';
import { testWebhookSecrets } from './verification';
import { receiveDelivery } from './webhook';

// One webhook per ticked CRM (./lifecycle.ts), its secrets in that CRM's webhook credential.
// Pipedrive webhooks and Zoho channels are registered on activation (./subscription.ts); HubSpot,
// Salesforce and Dynamics subscriptions are app/admin configuration, described by the node's notices.
export class CrmSyncTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync Trigger',
		name: 'crmSyncTrigger',
		icon: 'file:crmSyncTrigger.svg',
		group: ['trigger'],
		// 1.1 behaves as 1. n8n evaluates an expression (Webhook v1's binary-data option) on every
		// request to a version-1 trigger, which costs its default expression engine an isolate.
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle: '={{"on " + [].concat($parameter["crm"]).join(", ") + " webhooks"}}',
		description: 'Starts a sync when Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365 reports a change',
		defaults: { name: 'CRM Sync Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Events', 'Errors'],
		credentials: [
			{ name: 'hubSpotWebhookCrmSyncApi', required: true, testedBy: 'webhookSecrets', displayOptions: { show: { crm: ['hubspot'] } } },
			{ name: 'pipedriveWebhookCrmSyncApi', required: true, testedBy: 'webhookSecrets', displayOptions: { show: { crm: ['pipedrive'] } } },
			{ name: 'salesforceWebhookCrmSyncApi', required: true, testedBy: 'webhookSecrets', displayOptions: { show: { crm: ['salesforce'] } } },
			{ name: 'zohoWebhookCrmSyncApi', required: true, testedBy: 'webhookSecrets', displayOptions: { show: { crm: ['zoho'] } } },
			{ name: 'dynamicsWebhookCrmSyncApi', required: true, testedBy: 'webhookSecrets', displayOptions: { show: { crm: ['dynamics'] } } },
			...subscriptionCredentials,
			{ name: 'redis', required: true, displayOptions: { show: { dropRedeliveries: [true], stateBackend: ['redis'] } } },
			{ name: SETTINGS_CREDENTIAL, required: true, displayOptions: { show: { dropRedeliveries: [true], stateBackend: ['settings'] } } },
		],
		webhooks: crmWebhooks,
		properties: triggerProperties,
	};

	methods = { credentialTest: { webhookSecrets: testWebhookSecrets } };

	webhookMethods = crmWebhookMethods;

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return receiveDelivery(this);
	}
}
