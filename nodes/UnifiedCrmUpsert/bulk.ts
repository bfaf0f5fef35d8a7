// The bulk operations of Unified CRM Upsert: a thin shell over lib/sync/bulk.ts. Each node holds
// one CRM's credential (n8n cannot give one node the source's and the targets' credentials), and
// the records travel through the state store, not through n8n items: n8n keeps every node's
// output of an execution in memory, so only one job item (and failed records) pass between nodes.
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { createConnector, type ConnectorRuntime, type CrmConnector } from '../../lib/connectors';
import { isCrmName, type CrmName, type EntityType } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import { finishJob, parseBulkSettings, readSourceToSpool, writeSpoolToTarget, type BulkFailure } from '../../lib/sync/bulk';
import { openSyncStore } from '../shared/stateStore';
import { BULK_FINISH, BULK_READ, BULK_WRITE } from './bulk.description';
import { credentialType } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { requestTimeoutMs } from './description';

const OPERATIONS: readonly string[] = [BULK_READ, BULK_WRITE, BULK_FINISH];

/** Connector limits when the user turns the client-side rate limit off: concurrency only. */
const NO_RATE_LIMIT: ConnectorRuntime['limits'] = { default: { maxConcurrent: 16 }, search: { maxConcurrent: 8 } };

interface BulkNodeOptions {
	batchSize?: number;
	dryRun?: boolean;
	maxRecords?: number;
	requestTimeout?: number;
	statePath?: string;
}

export function isBulkOperation(operation: string): boolean {
	return OPERATIONS.includes(operation);
}

export async function executeBulk(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const crm = this.getNodeParameter('crm', 0) as CrmName;
	const entity = this.getNodeParameter('entity', 0) as EntityType;
	const input = this.getInputData()[0]?.json ?? {};
	// Progress per page: the n8n log (level info) and, in a manual run, the browser console.
	const log = (line: string) => {
		this.logger.info(`[${this.getNode().name}] ${line}`);
		this.sendMessageToUI(line);
	};
	try {
		if (entity !== 'contact') throw new NodeOperationError(this.getNode(), `Bulk sync of ${entity} records is not implemented yet (contacts only)`);
		const store = await openStore(this);
		if (operation === BULK_READ) return [[{ json: await read(this, crm, store, input, log), pairedItem: { item: 0 } }], []];
		if (operation === BULK_WRITE) return await write(this, crm, store, input, log);
		const job = jobOf(this, input);
		const summary = await finishJob(store, job.source, entity, job.jobId, job.dryRun);
		log(`bulk ${summary.jobId}: ${summary.processed} processed, ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed in ${summary.durationMs} ms`);
		return [[{ json: summary as unknown as IDataObject, pairedItem: { item: 0 } }], []];
	} catch (error) {
		const failure = asNodeError(this, error);
		if (this.continueOnFail()) return [[], [{ json: { error: failure.message, operation, crm }, pairedItem: { item: 0 } }]];
		throw failure;
	}
}

async function read(ctx: IExecuteFunctions, crm: CrmName, store: StateStore, input: IDataObject, log: (line: string) => void): Promise<IDataObject> {
	const options = ctx.getNodeParameter('options', 0, {}) as BulkNodeOptions;
	const defaults: IDataObject = {
		mode: ctx.getNodeParameter('bulkMode', 0, 'incremental'),
		since: ctx.getNodeParameter('bulkSince', 0, ''),
		dryRun: options.dryRun === true,
		batchSize: options.batchSize,
		maxRecords: options.maxRecords,
		pageSize: ctx.getNodeParameter('bulkPageSize', 0, 1000),
	};
	const given = Object.fromEntries(Object.keys(defaults).filter((key) => input[key] !== undefined && input[key] !== null && input[key] !== '').map((key) => [key, input[key]]));
	let settings;
	try {
		settings = parseBulkSettings({ ...defaults, ...given });
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message);
	}
	const targets = (ctx.getNodeParameter('bulkTargets', 0, []) as string[]).filter(isCrmName);
	const connector = await connectorFor(ctx, crm, store);
	const job = await readSourceToSpool(connector(), store, { entity: 'contact', settings, targets, owner: ctx.getExecutionId(), log });
	return { jobId: job.id, source: job.source, entity: job.entity, mode: job.mode, since: job.since ?? null, dryRun: job.dryRun, targets: job.targets, pages: job.pages, read: job.read as unknown as IDataObject, resumed: job.resumed };
}

async function write(ctx: IExecuteFunctions, crm: CrmName, store: StateStore, input: IDataObject, log: (line: string) => void): Promise<INodeExecutionData[][]> {
	const job = jobOf(ctx, input);
	const connector = await connectorFor(ctx, crm, store);
	const errors: INodeExecutionData[] = [];
	const onFailures = (failures: BulkFailure[]) => {
		for (const failure of failures) errors.push({ json: failure as unknown as IDataObject, pairedItem: { item: 0 } });
	};
	const { stats } = await writeSpoolToTarget(crm, connector, store, { source: job.source, entity: 'contact', jobId: job.jobId, dryRun: job.dryRun, owner: ctx.getExecutionId(), log, onFailures });
	const written = { ...((input.written as IDataObject | undefined) ?? {}), [crm]: stats as unknown as IDataObject };
	return [[{ json: { ...input, written }, pairedItem: { item: 0 } }], errors];
}

function jobOf(ctx: IExecuteFunctions, input: IDataObject): { jobId: string; source: CrmName; dryRun: boolean } {
	const { jobId, source, dryRun } = input;
	if (typeof jobId !== 'string' || !isCrmName(source)) {
		throw new NodeOperationError(ctx.getNode(), 'The input item is not a bulk job: connect this node after "Bulk: Read Source Changes" (or another bulk node)');
	}
	return { jobId, source, dryRun: dryRun === true };
}

/** A connector factory for this node's CRM and credential. */
async function connectorFor(ctx: IExecuteFunctions, crm: CrmName, store: StateStore): Promise<() => CrmConnector> {
	const limits = ctx.getNodeParameter('bulkClientRateLimit', 0, 'documented') === 'none' ? NO_RATE_LIMIT : undefined;
	const timeoutMs = requestTimeoutMs(ctx.getNodeParameter('options', 0, {}) as BulkNodeOptions);
	const runtime: ConnectorRuntime = { store, timeoutMs, ...(limits ? { limits } : {}) };
	const credentials = (await ctx.getCredentials(credentialType(ctx.getNode(), crm, (name) => ctx.getNodeParameter(name, 0)))) as IDataObject;
	let connector: CrmConnector | undefined;
	return () => (connector ??= createConnector(crm, credentials, runtime));
}

/** The shared state store of this node's namespace (bulk jobs cannot run without one). */
async function openStore(ctx: IExecuteFunctions): Promise<StateStore> {
	const options = ctx.getNodeParameter('options', 0, {}) as BulkNodeOptions;
	return openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: options.statePath });
}

const asNodeError = (ctx: IExecuteFunctions, error: unknown) => toNodeError(ctx.getNode(), error);
