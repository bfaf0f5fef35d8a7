import { NodeConnectionTypes, type INodeExecutionData, type INodeType, type INodeTypeDescription, type IPollFunctions } from 'n8n-workflow';

import { crmCredentialDescriptions } from '../shared/credentials';
import { redisStateCredential, settingsStateCredential } from '../shared/stateStore';
import { pollProperties } from './description';
import { pollCrm } from './poll';

export class CrmSyncPollTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync Poll Trigger',
		name: 'crmSyncPollTrigger',
		icon: 'file:crmSyncPollTrigger.svg',
		group: ['trigger'],
		version: 1,
		polling: true,
		subtitle: '={{"poll " + $parameter["entity"] + " in " + $parameter["crm"]}}',
		description: 'Starts a sync from changes read periodically from Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365 (no webhooks needed)',
		defaults: { name: 'CRM Sync Poll Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			...crmCredentialDescriptions(),
			redisStateCredential,
			settingsStateCredential,
		],
		properties: pollProperties,
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		return pollCrm(this);
	}
}
