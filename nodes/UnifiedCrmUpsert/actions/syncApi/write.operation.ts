// Sync API step "Write to This CRM": writes each request (or bulk job) to this node's CRM and adds
// the CRM's result to the item.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodePropertyOptions } from 'n8n-workflow';

import { DEFAULT_CHANGE_SOURCE_MARKER } from '../../../../lib/connectors';
import type { CrmName } from '../../../../lib/model';
import { validateSyncRequest, withUnifiedId, writeBulkJobToCrm, writeRequestsToCrm, type SyncApiRequest, type WriteDeps } from '../../../../lib/sync/sync-api';
import { toNodeError } from '../../../shared/errors';
import { connectorRuntime, crmConnectors, nodeOptions, nodeStore } from '../connection';
import { bodyOf, invalid, prepareWrites, type ChainItem } from './common';

/** Writes asked to trigger workflows carry another Salesforce client marker, so triggers that drop our own changes by marker still see them. */
const TRIGGERING_MARKER = `${DEFAULT_CHANGE_SOURCE_MARKER}-api`;

export const option: INodePropertyOptions = {
	name: 'Write to This CRM',
	value: 'write',
	description: "Write each request (or bulk job) to this node's CRM and add the CRM's result to the item. Chain one node per CRM.",
};

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const crm = this.getNodeParameter('crm', 0) as CrmName;
	const store = nodeStore(this);
	const runtimeStore = await store().catch(() => undefined); // a failed open becomes per-request errors below
	const connectors = await crmConnectors(this, crm, connectorRuntime(runtimeStore, nodeOptions(this)));
	const deps: WriteDeps = { crm, store, connector: (options) => connectors(options.trigger_workflows ? TRIGGERING_MARKER : undefined) };

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
				if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, { itemIndex: index });
				errors.push({ json: { ...item.json, error: (error as Error).message }, pairedItem: { item: index } });
			}
			continue;
		}
		let request = chain.request;
		if (!request) {
			// Used without a Validate step in front: validate for this CRM here.
			const checked = validateSyncRequest(bodyOf(item.json), [crm]);
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
		const results = await writeRequestsToCrm(deps, entity_type, operation, options, group.map((g) => g.request.data), group.map((g) => g.request.unchanged === true));
		group.forEach((g, i) => {
			const json = { request: g.request, results: [...(g.chain.results ?? []), results[i]] };
			out.set(g.index, { json: json as unknown as IDataObject, pairedItem: { item: g.index } });
		});
	}
	for (const index of [...out.keys()].sort((a, b) => a - b)) success.push(out.get(index)!);
	return [success, errors];
}
