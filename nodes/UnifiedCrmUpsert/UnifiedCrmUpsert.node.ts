import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { createConnector, type ConnectorRuntime } from '../../lib/connectors';
import type { CrmName, EntityType } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import { getPath } from '../../lib/util/path';
import { openSyncStore, redisStateCredential } from '../shared/stateStore';
import { AUTH_PARAMETER, CREDENTIAL_TYPES, credentialType } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { requestTimeoutMs, upsertProperties } from './description';
import { execute as executeBulk, isBulkOperation } from './actions/bulk/execute';
import { execute as executeSyncApi } from './actions/syncApi/execute';
import { SYNC_API_OPERATION } from './actions/syncApi/common';
import { stepsWithoutCrm } from './actions/syncApi/description';
import { UpsertWriter, type WriteJob, type WriteOperationName } from '../../lib/sync/upsert-writer';
import { AUTO_OPERATION, writeByOperation, type EventItem } from '../../lib/sync/route-by-operation';

interface NodeOptions {
	batchSize?: number;
	dryRun?: boolean;
	maxRecords?: number;
	forceOverwrite?: boolean;
	recordState?: boolean;
	requestTimeout?: number;
	statePath?: string;
}

/** One entry per credential type; each shown for its CRM and authentication choice. */
const credentialList = [
	...CREDENTIAL_TYPES.map(([crm, auth, name]) => ({
		name,
		required: true,
		displayOptions: {
			show: auth ? { crm: [crm], [AUTH_PARAMETER[crm]]: [auth] } : { crm: [crm] },
			// Sync API steps that call no CRM.
			hide: { syncApiStep: stepsWithoutCrm },
		},
	})),
	redisStateCredential,
];

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
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Success', 'Errors'],
		credentials: credentialList,
		properties: upsertProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const selected = this.getNodeParameter('operation', 0) as string;
		if (isBulkOperation(selected)) return executeBulk.call(this, selected);
		if (selected === SYNC_API_OPERATION) return executeSyncApi.call(this);
		const items = this.getInputData();
		const crm = this.getNodeParameter('crm', 0) as CrmName;
		const entity = this.getNodeParameter('entity', 0) as EntityType;
		// From Item: each item's event operation picks the write (lib/sync/route-by-operation).
		const selectedWrite = this.getNodeParameter('operation', 0) as WriteOperationName | typeof AUTO_OPERATION;
		const operation: WriteOperationName = selectedWrite === AUTO_OPERATION ? 'upsert' : selectedWrite;
		const recordPath = this.getNodeParameter('recordPath', 0, '') as string;
		const options = this.getNodeParameter('options', 0, {}) as NodeOptions;
		const job: WriteJob = {
			crm,
			entity,
			operation,
			inputFormat: ['upsert', 'create', 'update'].includes(operation) ? (this.getNodeParameter('inputFormat', 0, 'crm') as 'crm' | 'unified') : 'crm',
			matchKey: operation === 'upsert' ? (this.getNodeParameter('matchKey', 0, 'email') as string) : '',
			dryRun: options.dryRun === true,
			batchSize: options.batchSize,
			maxRecords: options.maxRecords,
			forceOverwrite: options.forceOverwrite === true,
			continueOnFail: this.continueOnFail(),
			recordState: options.recordState !== false,
		};

		const errors: INodeExecutionData[] = [];
		const inputs: EventItem[] = [];
		items.forEach((item, index) => {
			const record = recordPath ? getPath(item.json, recordPath) : item.json;
			if (!record || typeof record !== 'object' || Array.isArray(record)) {
				errors.push({ json: { error: `No record object at path "${recordPath}"`, crm, entity }, pairedItem: { item: index } });
				return;
			}
			const unifiedId = (record as IDataObject).unifiedId ?? item.json.unifiedId;
			inputs.push({ index, record: record as IDataObject, unifiedId: unifiedId === undefined || unifiedId === null || unifiedId === '' ? undefined : String(unifiedId), event: item.json });
		});

		const store = await openStore(this, options);
		const credentialName = credentialType(this.getNode(), crm, (name) => this.getNodeParameter(name, 0));
		let runtime: ConnectorRuntime | undefined;
		const writer = new UpsertWriter(
			job,
			() => {
				return createConnector(crm, credentials!, runtime);
			},
			store,
		);
		const connector = () => createConnector(crm, credentials!, runtime);
		let credentials: IDataObject | undefined;
		if (!job.dryRun) {
			credentials = (await this.getCredentials(credentialName)) as IDataObject;
			runtime = { store: store && job.recordState ? await store() : undefined, timeoutMs: requestTimeoutMs(options) };
		}

		let results;
		try {
			results = selectedWrite === AUTO_OPERATION ? await writeByOperation(job, inputs, connector, store) : await writer.run(inputs);
		} catch (error) {
			// NotImplementedError and others: the message says what is missing.
			throw toNodeError(this.getNode(), error);
		}
		const success: INodeExecutionData[] = [];
		for (const result of results) (result.ok ? success : errors).push({ json: result.json as IDataObject, pairedItem: { item: result.index } });
		errors.sort((a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item);
		return [success, errors];
	}
}

/**
 * The state store for this node's namespace, shared for the life of the n8n process (same store
 * selection as the CRM Sync Trigger and Conflict Resolver). Undefined when state is off or dry run.
 */
async function openStore(ctx: IExecuteFunctions, options: NodeOptions): Promise<(() => Promise<StateStore>) | undefined> {
	if (options.dryRun || options.recordState === false) return undefined;
	return () => openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: options.statePath });
}
