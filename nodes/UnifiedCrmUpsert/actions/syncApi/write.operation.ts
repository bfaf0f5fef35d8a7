// Sync API steps "Write to CRMs" and "Write to This CRM": write each request (or bulk job) to the
// chosen CRMs, in parallel, and add each CRM's result to the item, in the CRMs' order.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { DEFAULT_CHANGE_SOURCE_MARKER } from '../../../../lib/connectors';
import type { CrmName } from '../../../../lib/model';
import { validateSyncRequest, withUnifiedId, writeBulkJobToCrms, writeRequestsToCrm, type SyncApiRequest, type WriteDeps } from '../../../../lib/sync/sync-api';
import { selectedCrms } from '../../../shared/crmProperties';
import { toNodeError } from '../../../shared/errors';
import { connectorRuntime, crmConnectors, nodeOptions, nodeStore } from '../connection';
import { bodyOf, invalid, prepareWrites, type ChainItem } from './common';

/** Writes asked to trigger workflows carry another Salesforce client marker, so triggers that drop our own changes by marker still see them. */
const TRIGGERING_MARKER = `${DEFAULT_CHANGE_SOURCE_MARKER}-api`;

export const WRITE_TO_CRMS = 'writeCrms';

export const option: INodePropertyOptions = {
	name: 'Write to CRMs',
	value: WRITE_TO_CRMS,
	description: "Write each request (or bulk job) to every CRM ticked under CRMs, in parallel, and add each CRM's result to the item",
};

/** The one-CRM form, kept for workflows built with one node per CRM. */
export const oneCrmOption: INodePropertyOptions = {
	name: 'Write to This CRM',
	value: 'write',
	description: "Write each request (or bulk job) to this node's CRM and add the CRM's result to the item. Write to CRMs does all CRMs in one node.",
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return writeToCrms(this, selectedCrms(this.getNodeParameter('crm', 0)), items);
}

export async function executeOneCrm(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return writeToCrms(this, [this.getNodeParameter('crm', 0) as CrmName], items);
}

async function writeToCrms(ctx: IExecuteFunctions, crms: CrmName[], items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const store = nodeStore(ctx);
	const runtimeStore = await store().catch(() => undefined); // a failed open becomes per-request errors below
	const runtime = connectorRuntime(runtimeStore, nodeOptions(ctx));
	const targets: WriteDeps[] = await Promise.all(
		crms.map(async (crm) => {
			const connectors = await crmConnectors(ctx, crm, runtime);
			return { crm, store, connector: (options) => connectors(options.trigger_workflows ? TRIGGERING_MARKER : undefined) } satisfies WriteDeps;
		}),
	);

	const success: INodeExecutionData[] = [];
	const errors: INodeExecutionData[] = [];
	const out = new Map<number, INodeExecutionData>();
	// Requests written together: same entity, operation and options.
	const groups = new Map<string, Array<{ index: number; chain: ChainItem; request: SyncApiRequest }>>();
	for (const [index, item] of items.entries()) {
		const chain = item.json as ChainItem;
		if (typeof chain.jobId === 'string') {
			try {
				const job = await writeBulkJobToCrms(targets, chain.jobId);
				out.set(index, { json: { ...item.json, status: job.status, results: job.results } as unknown as IDataObject, pairedItem: { item: index } });
			} catch (error) {
				if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error, { itemIndex: index });
				errors.push({ json: { ...item.json, error: (error as Error).message }, pairedItem: { item: index } });
			}
			continue;
		}
		let request = chain.request;
		if (!request) {
			// Used without a Validate step in front: validate for these CRMs here.
			const checked = validateSyncRequest(bodyOf(item.json), crms);
			if (!checked.ok) {
				errors.push({ json: invalid(checked), pairedItem: { item: index } });
				continue;
			}
			request = await prepareWrites(store, withUnifiedId(checked.value));
		}
		const key = JSON.stringify([request.entity_type, request.operation, request.options]);
		const group = groups.get(key) ?? [];
		group.push({ index, chain: { ...chain, request }, request });
		groups.set(key, group);
	}
	for (const group of groups.values()) {
		const { entity_type, operation, options } = group[0].request;
		const data = group.map((g) => g.request.data);
		const unchanged = group.map((g) => g.request.unchanged === true);
		const perCrm = await Promise.all(targets.map((deps) => writeRequestsToCrm(deps, entity_type, operation, options, data, unchanged)));
		group.forEach((g, i) => {
			const json = { request: g.request, results: [...(g.chain.results ?? []), ...perCrm.map((results) => results[i])] };
			out.set(g.index, { json: json as unknown as IDataObject, pairedItem: { item: g.index } });
		});
	}
	for (const index of [...out.keys()].sort((a, b) => a - b)) success.push(out.get(index)!);
	return [success, errors];
}
