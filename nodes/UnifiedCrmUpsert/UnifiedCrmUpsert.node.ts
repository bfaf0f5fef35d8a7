import {
	NodeApiError,
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';
import { createConnector, CrmError, NotImplementedError, type UpsertRequest } from '../../lib/connectors';
import type { CrmName, EntityType } from '../../lib/model';
import { getPath } from '../../lib/util/path';
import { upsertProperties } from './description';

const credentialByCrm: Record<CrmName, string> = {
	salesforce: 'salesforceCrmSyncOAuth2Api',
	hubspot: 'hubSpotCrmSyncApi',
	pipedrive: 'pipedriveCrmSyncApi',
	zoho: 'zohoCrmSyncOAuth2Api',
	dynamics: 'dynamicsCrmSyncApi',
};

export class UnifiedCrmUpsert implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Unified CRM Upsert',
		name: 'unifiedCrmUpsert',
		icon: 'file:unifiedCrmUpsert.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + " " + $parameter["entity"] + " in " + $parameter["crm"]}}',
		description: 'Create, update, upsert, delete or merge records in Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365',
		defaults: { name: 'Unified CRM Upsert' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Success', 'Errors'],
		credentials: (Object.entries(credentialByCrm) as Array<[CrmName, string]>).map(([crm, name]) => ({
			name,
			required: true,
			displayOptions: { show: { crm: [crm] } },
		})),
		properties: upsertProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const crm = this.getNodeParameter('crm', 0) as CrmName;
		const entity = this.getNodeParameter('entity', 0) as EntityType;
		const operation = this.getNodeParameter('operation', 0) as string;
		const recordPath = this.getNodeParameter('recordPath', 0, '') as string;
		const options = this.getNodeParameter('options', 0, {}) as { batchSize?: number; dryRun?: boolean; maxRecords?: number };
		if (operation !== 'upsert') {
			throw new NodeOperationError(this.getNode(), `The ${operation} operation is not implemented yet; only upsert is available in this release`);
		}
		const matchKey = this.getNodeParameter('matchKey', 0) as string;

		const success: INodeExecutionData[] = [];
		const errors: INodeExecutionData[] = [];
		const requests: UpsertRequest[] = [];
		const limit = options.maxRecords && options.maxRecords > 0 ? options.maxRecords : Infinity;
		items.forEach((item, index) => {
			const record = recordPath ? getPath(item.json, recordPath) : item.json;
			if (!record || typeof record !== 'object' || Array.isArray(record)) {
				errors.push({ json: { error: `No record object at path "${recordPath}"`, crm, entity }, pairedItem: { item: index } });
			} else if (requests.length >= limit) {
				errors.push({ json: { error: `Skipped: max records (${limit}) reached`, crm, entity, skipped: true }, pairedItem: { item: index } });
			} else {
				requests.push({ ref: index, fields: record as IDataObject });
			}
		});

		if (options.dryRun) {
			for (const request of requests) {
				success.push({ json: { status: 'dryRun', crm, entity, matchKey, fields: request.fields as IDataObject }, pairedItem: { item: request.ref } });
			}
			return [success, errors];
		}

		const credentials = await this.getCredentials(credentialByCrm[crm]);
		let connector;
		try {
			connector = createConnector(crm, credentials);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), error as Error);
		}
		const batchSize = Math.min(options.batchSize || Infinity, connector.maxBatchSize(entity));
		for (let start = 0; start < requests.length; start += batchSize) {
			const batch = requests.slice(start, start + batchSize);
			try {
				for (const outcome of await connector.upsert(entity, matchKey, batch)) {
					const pairedItem = { item: outcome.ref };
					if (outcome.status === 'failed') {
						errors.push({ json: { error: outcome.message, code: outcome.code, category: outcome.category, crm, entity }, pairedItem });
					} else {
						success.push({ json: { status: outcome.status, crm, entity, id: outcome.id }, pairedItem });
					}
				}
			} catch (error) {
				if (error instanceof NotImplementedError) throw new NodeOperationError(this.getNode(), error.message);
				if (!this.continueOnFail()) {
					if (error instanceof CrmError) {
						throw new NodeApiError(this.getNode(), (error.body ?? { message: error.message }) as JsonObject, {
							message: error.message,
							httpCode: error.httpStatus ? String(error.httpStatus) : undefined,
						});
					}
					throw new NodeOperationError(this.getNode(), error as Error);
				}
				const message = error instanceof Error ? error.message : String(error);
				for (const request of batch) errors.push({ json: { error: message, crm, entity }, pairedItem: { item: request.ref } });
			}
		}
		return [success, errors];
	}
}
