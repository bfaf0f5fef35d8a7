import { NodeConnectionTypes, type IHookFunctions, type INodeType, type INodeTypeDescription, type IWebhookFunctions, type IWebhookResponseData } from 'n8n-workflow';

import { triggerProperties } from './description';
import { createSubscription, deleteSubscription, subscriptionCredentials, subscriptionExists } from './subscription';
import { checkConfiguration } from './verification';
import { receiveDelivery } from './webhook';

// Pipedrive webhooks and Zoho channels are registered on activation (./subscription.ts); HubSpot,
// Salesforce and Dynamics subscriptions are app/admin configuration, described by the node's notices.
export class CrmSyncTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync Trigger',
		name: 'crmSyncTrigger',
		icon: 'file:crmSyncTrigger.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{"on " + $parameter["crm"] + " webhook"}}',
		description: 'Starts a sync when Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365 reports a change',
		defaults: { name: 'CRM Sync Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Events', 'Errors'],
		credentials: [...subscriptionCredentials, { name: 'redis', required: true, displayOptions: { show: { dropRedeliveries: [true], stateBackend: ['redis'] } } }],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: '={{$parameter["crm"]}}',
			},
		],
		properties: triggerProperties,
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				checkConfiguration(this); // refused before any subscription is made
				return subscriptionExists(this);
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return createSubscription(this);
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return deleteSubscription(this);
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return receiveDelivery(this);
	}
}
