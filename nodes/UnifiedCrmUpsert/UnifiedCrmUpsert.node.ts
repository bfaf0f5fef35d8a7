import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { router } from './actions/router';
import { credentials, upsertProperties } from './description';

export class UnifiedCrmUpsert implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Unified CRM Upsert',
		name: 'unifiedCrmUpsert',
		icon: 'file:unifiedCrmUpsert.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + " " + $parameter["entity"] + " in " + $parameter["crm"]}}',
		description: 'Create, update, upsert, delete (incl. GDPR erasure) or merge records in Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365',
		defaults: { name: 'Unified CRM Upsert' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Retry Later is last so that workflows wired to Success (0) and Errors (1) stay valid.
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Success', 'Errors', 'Retry Later'],
		credentials,
		properties: upsertProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
