// What the bulk operations share: their names, the job item they pass along, and the connector
// (with the Client-Side Rate Limit choice of Read and Write).
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { parseBulkSettings, type BulkSettings } from '../../../../lib/sync/bulk';

import type { ConnectorRuntime, CrmConnector } from '../../../../lib/connectors';
import { isCrmName, type CrmName, type EntityType } from '../../../../lib/model';
import type { StateStore } from '../../../../lib/state';
import { connectorRuntime, crmConnectors, nodeOptions } from '../connection';

export const BULK_READ = 'bulkRead';
export const BULK_WRITE = 'bulkWrite';
export const BULK_FINISH = 'bulkFinish';
export const BULK_SYNC = 'bulkSync';

export const showFor = (...operation: string[]) => ({ show: { operation } });

/** What a bulk operation works on: the node's CRM, the state store, the job item (the first input item) and a progress log. */
export interface BulkRun {
	crm: CrmName;
	/** The entity the job copies (one of BULK_ENTITIES). */
	entity: EntityType;
	store: StateStore;
	input: IDataObject;
	log: (line: string) => void;
}

/** Connector limits when the user turns the client-side rate limit off: concurrency only. */
const NO_RATE_LIMIT: ConnectorRuntime['limits'] = { default: { maxConcurrent: 16 }, search: { maxConcurrent: 8 } };

export const clientRateLimitProperty: INodeProperties = {
	displayName: 'Client-Side Rate Limit',
	name: 'bulkClientRateLimit',
	type: 'options',
	options: [
		{ name: "CRM's Documented Limits", value: 'documented', description: 'Paces requests to the documented limits of the usual plan' },
		{ name: 'None (Concurrency Only)', value: 'none', description: 'For plans with higher limits or a local test CRM; throttle answers are still honoured' },
	],
	default: 'documented',
	displayOptions: showFor(BULK_READ, BULK_WRITE, BULK_SYNC),
};

/** The connector of this node's CRM and credential, paced as Client-Side Rate Limit says. */
export async function bulkConnector(ctx: IExecuteFunctions, { crm, store }: BulkRun): Promise<() => CrmConnector> {
	const limits = ctx.getNodeParameter('bulkClientRateLimit', 0, 'documented') === 'none' ? NO_RATE_LIMIT : undefined;
	const connectors = await crmConnectors(ctx, crm, { ...connectorRuntime(store, nodeOptions(ctx)), ...(limits ? { limits } : {}) });
	return () => connectors();
}

/** The job's settings: the input item's (mode, since, dryRun, batchSize, maxRecords, pageSize), else the parameters and Options. */
export function bulkSettings(ctx: IExecuteFunctions, input: IDataObject): BulkSettings {
	const options = nodeOptions(ctx);
	const defaults: IDataObject = {
		mode: ctx.getNodeParameter('bulkMode', 0, 'incremental'),
		since: ctx.getNodeParameter('bulkSince', 0, ''),
		dryRun: options.dryRun === true,
		batchSize: options.batchSize,
		maxRecords: options.maxRecords,
		pageSize: ctx.getNodeParameter('bulkPageSize', 0, 1000),
	};
	const given = Object.fromEntries(Object.keys(defaults).filter((key) => input[key] !== undefined && input[key] !== null && input[key] !== '').map((key) => [key, input[key]]));
	try {
		return parseBulkSettings({ ...defaults, ...given });
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message);
	}
}

/** The job the input item names (the output of the node before). */
export function jobOf(ctx: IExecuteFunctions, input: IDataObject): { jobId: string; source: CrmName; dryRun: boolean } {
	const { jobId, source, dryRun } = input;
	if (typeof jobId !== 'string' || !isCrmName(source)) {
		throw new NodeOperationError(ctx.getNode(), 'The input item is not a bulk job: connect this node after "Bulk: Read Source Changes" (or another bulk node)');
	}
	return { jobId, source, dryRun: dryRun === true };
}
