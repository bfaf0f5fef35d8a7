// "Sync API Request" operation of Unified CRM Upsert: a thin shell over lib/sync/sync-api.ts.
// Items travel along a chain Validate → Write (one node per CRM) → Build Response as
// `{request, results}` (a sync request) or `{jobId, ...}` (a bulk job whose records wait in the state store).
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { createConnector, DEFAULT_CHANGE_SOURCE_MARKER, type CrmConnector } from '../../lib/connectors';
import type { CrmName } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import {
	acceptBulkJob,
	finishBulkJob,
	getBulkJob,
	syncResponse,
	beforeWrites,
	validateBulkEnvelope,
	validateBulkJob,
	validateSyncRequest,
	withUnifiedId,
	writeBulkJobToCrm,
	writeRequestsToCrm,
	type CrmResult,
	type Reason,
	type SyncApiOptions,
	type SyncApiRequest,
	type WriteDeps,
} from '../../lib/sync/sync-api';
import { openSyncStore } from '../shared/stateStore';
import { SYNC_API_OPERATION } from './syncApi.description';
import { credentialType } from '../shared/credentials';

/** Writes asked to trigger workflows carry another Salesforce client marker, so triggers that drop our own changes by marker still see them. */
const TRIGGERING_MARKER = `${DEFAULT_CHANGE_SOURCE_MARKER}-api`;

type Step = 'validate' | 'write' | 'respond' | 'acceptBulk' | 'bulkStatus';

export function isSyncApiOperation(operation: string): boolean {
	return operation === SYNC_API_OPERATION;
}

export async function executeSyncApi(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const step = this.getNodeParameter('syncApiStep', 0) as Step;
	const items = this.getInputData();
	switch (step) {
		case 'validate':
			return validate(this, items);
		case 'write':
			return write(this, items);
		case 'respond':
			return respond(this, items);
		case 'acceptBulk':
			return acceptBulk(this, items);
		case 'bulkStatus':
			return bulkStatus(this, items);
		default:
			throw new NodeOperationError(this.getNode(), `Unknown sync API step "${step as string}"`);
	}
}

interface ChainItem {
	request?: SyncApiRequest;
	jobId?: string;
	results?: CrmResult[];
}

/** The request body of a Webhook item (its `body`), or the item itself. */
function bodyOf(json: IDataObject): unknown {
	return 'body' in json && ('headers' in json || 'query' in json) ? json.body : json;
}

/** The 400 answer: the first reasons, and how many there are in all. */
function invalid(refusal: { reasons: Reason[]; reasonCount: number }, index: number): INodeExecutionData {
	return { json: { ok: false, error: 'Invalid request', reasons: refusal.reasons, reasonCount: refusal.reasonCount } as unknown as IDataObject, pairedItem: { item: index } };
}

async function validate(ctx: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const crms = ctx.getNodeParameter('syncApiCrms', 0, []) as CrmName[];
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const jobId = (item.json as ChainItem).jobId;
		if (typeof jobId === 'string') {
			// A bulk job after its 202 answer: check the queued records.
			const job = await validateBulkJob(await openStore(ctx)(), jobId, crms);
			success.push({ json: { ...item.json, status: job.status, invalid: job.invalid }, pairedItem: { item: index } });
			continue;
		}
		const checked = validateSyncRequest(bodyOf(item.json), crms);
		if (!checked.ok) {
			errors.push(invalid(checked, index));
			continue;
		}
		const request = await prepareWrites(ctx, withUnifiedId(checked.value));
		success.push({ json: { request, results: [] } as unknown as IDataObject, pairedItem: { item: index } });
	}
	return [success, errors];
}

/** update (unchanged?) and merge (merged ids per CRM) read the state store once, before any CRM node writes. */
async function prepareWrites(ctx: IExecuteFunctions, request: SyncApiRequest): Promise<SyncApiRequest> {
	if (request.operation !== 'update' && request.operation !== 'merge') return request;
	return beforeWrites(await openStore(ctx)(), request);
}

async function write(ctx: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const crm = ctx.getNodeParameter('crm', 0) as CrmName;
	const store = openStore(ctx);
	const credentials = (await ctx.getCredentials(credentialType(ctx.getNode(), crm, (name) => ctx.getNodeParameter(name, 0)))) as IDataObject;
	const connectors = new Map<boolean, CrmConnector>();
	const deps: WriteDeps = {
		crm,
		store,
		connector: (options: SyncApiOptions) => {
			let connector = connectors.get(options.trigger_workflows);
			if (!connector) {
				connector = createConnector(crm, credentials, { store: storeForRuntime, ...(options.trigger_workflows ? { changeSourceMarker: TRIGGERING_MARKER } : {}) });
				connectors.set(options.trigger_workflows, connector);
			}
			return connector;
		},
	};
	const storeForRuntime = await store().catch(() => undefined); // a failed open becomes per-request errors below

	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	const out = new Map<number, INodeExecutionData>();
	// Requests written together: same entity, operation and options.
	const groups = new Map<string, Array<{ index: number; chain: ChainItem; request: SyncApiRequest }>>();
	for (const [index, item] of items.entries()) {
		const chain = item.json as ChainItem;
		if (typeof chain.jobId === 'string') {
			try {
				const job = await writeBulkJobToCrm(deps, chain.jobId);
				out.set(index, { json: { ...item.json, status: job.status, results: job.results } as unknown as IDataObject, pairedItem: { item: index } });
			} catch (error) {
				if (!ctx.continueOnFail()) throw new NodeOperationError(ctx.getNode(), (error as Error).message, { itemIndex: index });
				errors.push({ json: { ...item.json, error: (error as Error).message }, pairedItem: { item: index } });
			}
			continue;
		}
		let request = chain.request;
		if (!request) {
			// Used without a Validate step in front: validate for this CRM here.
			const checked = validateSyncRequest(bodyOf(item.json), [crm]);
			if (!checked.ok) {
				errors.push(invalid(checked, index));
				continue;
			}
			request = await prepareWrites(ctx, withUnifiedId(checked.value));
		}
		const key = JSON.stringify([request.entity_type, request.operation, request.options]);
		const group = groups.get(key) ?? [];
		group.push({ index, chain: { ...chain, request }, request });
		groups.set(key, group);
	}
	for (const group of groups.values()) {
		const { entity_type, operation, options } = group[0].request;
		const results = await writeRequestsToCrm(deps, entity_type, operation, options, group.map((g) => g.request.data), group.map((g) => g.request.unchanged === true));
		group.forEach((g, i) => {
			const json = { request: g.request, results: [...(g.chain.results ?? []), results[i]] };
			out.set(g.index, { json: json as unknown as IDataObject, pairedItem: { item: g.index } });
		});
	}
	for (const index of [...out.keys()].sort((a, b) => a - b)) success.push(out.get(index)!);
	return [success, errors];
}

async function respond(ctx: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const chain = item.json as ChainItem;
		if (typeof chain.jobId === 'string') {
			const done = await finishBulkJob(await openStore(ctx)(), chain.jobId);
			success.push({ json: done as unknown as IDataObject, pairedItem: { item: index } });
			continue;
		}
		if (!chain.request) {
			errors.push({ json: { ok: false, error: 'Build Response needs an item from the Validate / Write steps ({request, results})' }, pairedItem: { item: index } });
			continue;
		}
		const body = syncResponse(chain.request, chain.results ?? []);
		(body.ok ? success : errors).push({ json: body as IDataObject, pairedItem: { item: index } });
	}
	return [success, errors];
}

async function acceptBulk(ctx: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const body = bodyOf(item.json);
		const envelope = validateBulkEnvelope(body, bodySize(item.json, body));
		if (!envelope.ok) {
			errors.push(invalid(envelope, index));
			continue;
		}
		const job = await acceptBulkJob(await openStore(ctx)(), envelope.value);
		const receipt = { jobId: job.jobId, status: job.status, entity_type: job.entity_type, operation: job.operation, records: job.records, acceptedAt: job.acceptedAt };
		success.push({ json: receipt as unknown as IDataObject, pairedItem: { item: index } });
	}
	return [success, errors];
}

async function bulkStatus(ctx: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	for (const [index, item] of items.entries()) {
		const json = item.json as { query?: IDataObject; params?: IDataObject; jobId?: unknown };
		const jobId = String(json.query?.job ?? json.params?.jobId ?? json.jobId ?? '').trim();
		const job = jobId ? await getBulkJob(await openStore(ctx)(), jobId) : undefined;
		if (job) success.push({ json: job as unknown as IDataObject, pairedItem: { item: index } });
		else errors.push({ json: { ok: false, error: jobId ? `No bulk job ${jobId}` : 'Give the job ID as ?job=<id>', jobId }, pairedItem: { item: index } });
	}
	return [success, errors];
}

/** The body's size in bytes: Content-Length when the Webhook item has it. */
function bodySize(json: IDataObject, body: unknown): number {
	const header = (json.headers as IDataObject | undefined)?.['content-length'];
	const length = Number(header);
	return Number.isFinite(length) && length > 0 ? length : Buffer.byteLength(JSON.stringify(body) ?? '');
}

/** The shared state store of this node's namespace (ids resolve through it; bulk jobs wait in it). */
function openStore(ctx: IExecuteFunctions): () => Promise<StateStore> {
	const statePath = (ctx.getNodeParameter('options', 0, {}) as { statePath?: string }).statePath;
	return () => openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: statePath });
}
