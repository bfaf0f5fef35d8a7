// "Sync to CRMs": each item (a unified record and its event) written by its event operation to the
// other selected CRMs, or back to its source, in parallel: a thin shell over lib/sync/fan-out.ts.
// The CRMs, entity, Write To, Missing References and Options decide how the whole batch is written
// (item 0); Record Path and Match Key are about an item's record (per item, one group per value).
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type INodePropertyOptions } from 'n8n-workflow';

import type { CrmConnector } from '../../../../lib/connectors';
import type { CrmName, EntityType } from '../../../../lib/model';
import { RETRY_FIELD, syncToCrms, type FanOutJob, type FanOutOutcome } from '../../../../lib/sync/fan-out';
import { selectedCrms } from '../../../shared/crmProperties';
import { toNodeError } from '../../../shared/errors';
import { metadataSettings } from '../../../shared/stateStore';
import { connectorRuntime, crmConnectors, nodeOptions, nodeStore } from '../connection';
import { batchOptions, byItemOrder, groupRecords } from '../records';

export const SYNC_TO_CRMS = 'syncToCrms';

const shown = { show: { operation: [SYNC_TO_CRMS] } };

export const operationOption: INodePropertyOptions = {
	name: 'Sync to CRMs',
	value: SYNC_TO_CRMS,
	action: 'Sync changes to several CRMs',
	description:
		"Each item (a unified record and its event, e.g. from the Conflict Resolver) is written by its event operation to every other selected CRM, or back to its source CRM, each mapped with the default map and with reference IDs translated through the cross-reference; the CRMs are written in parallel",
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Write To',
		name: 'writeTo',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Every Other CRM', value: 'others', description: "Every selected CRM except the item's source (where the change was made)" },
			{ name: "The Item's Source CRM", value: 'source', description: "Only the item's source CRM, which must be selected (e.g. behind the Conflict Resolver's Correct Source output)" },
		],
		default: 'others',
		description: "Where each item is written; the item's <code>source</code> field names the CRM it comes from",
		displayOptions: shown,
	},
	{
		displayName: 'Missing References',
		name: 'missingReferences',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Retry Later', value: 'retry', description: 'Send the item to the Retry Later output (loop it back through a Wait node) for the CRMs that lack a referenced record, or that failed for now (timeout, outage, rate limit); after the retry limit, to Errors with the reason' },
			{ name: 'Drop the Reference', value: 'drop', description: 'Write the record without the unresolved IDs (its synced entry says which)' },
			{ name: 'Error', value: 'error', description: 'Send the item to Errors at once for those CRMs, with the reason' },
		],
		default: 'retry',
		description: "What to do when a record refers to one (an activity's contacts, a contact's account) that has no record in a target CRM yet",
		displayOptions: shown,
	},
	{
		displayName: 'Retry Limit (Seconds)',
		name: 'retryLimitSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 300,
		description: "Overall time after which an item still missing a reference, or still failing, goes to Errors, counted from the change in the source CRM (the item's occurredAt) or else from the first attempt",
		displayOptions: { show: { operation: [SYNC_TO_CRMS], missingReferences: ['retry'] } },
	},
];

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const parameter = (name: string, fallback?: unknown) => this.getNodeParameter(name, 0, fallback);
	let crms: CrmName[];
	try {
		crms = selectedCrms(parameter('crm'));
	} catch (error) {
		throw new NodeOperationError(this.getNode(), error as Error);
	}
	const options = nodeOptions(this);
	const batch: Omit<FanOutJob, 'matchKey'> = {
		crms,
		entity: parameter('entity') as EntityType,
		writeTo: parameter('writeTo', 'others') as FanOutJob['writeTo'],
		missingReferences: parameter('missingReferences', 'retry') as FanOutJob['missingReferences'],
		retryLimitMs: Math.max(0, Number(parameter('retryLimitSeconds', 300))) * 1000,
		metadataByCrm: await metadataSettings(this, parameter),
		...batchOptions(this),
	};
	const { groups, errors } = groupRecords(this, (index) => ({ matchKey: this.getNodeParameter('matchKey', index, 'email') as string }), { entity: batch.entity });

	// The store translates reference ids even when Record Sync State is off; a dry run opens none.
	const store = batch.dryRun ? undefined : nodeStore(this);
	const runtime = connectorRuntime(store && (await store()), options);
	const connectors = new Map<CrmName, Promise<CrmConnector>>();
	const connectorFor = (crm: CrmName) => {
		let connector = connectors.get(crm);
		if (!connector) connectors.set(crm, (connector = crmConnectors(this, crm, runtime).then((forMarker) => forMarker())));
		return connector;
	};
	const outcomes: FanOutOutcome[] = [];
	try {
		for (const { settings, inputs } of groups) {
			// A looped-back item without a Record Path: its retry state is not part of the record.
			const records = inputs.map((input) => (input.record === input.event ? { ...input, record: withoutRetry(input.record as IDataObject) } : input));
			outcomes.push(...(await syncToCrms(records, { ...batch, ...settings }, connectorFor, store)));
		}
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	const items = this.getInputData();
	const success: INodeExecutionData[] = [];
	const retryLater: INodeExecutionData[] = [];
	for (const { index, unifiedId, synced, errors: failed, retry } of outcomes) {
		const json = withoutRetry(items[index].json);
		const pairedItem = { item: index };
		for (const failure of failed) errors.push({ json: { ...failure, item: json } as IDataObject, pairedItem });
		if (retry) retryLater.push({ json: { ...json, [RETRY_FIELD]: retry as unknown as IDataObject }, pairedItem });
		if (failed.length || retry) continue;
		const known = json.unifiedId !== undefined && json.unifiedId !== null && json.unifiedId !== '';
		success.push({ json: { ...json, ...(known || !unifiedId ? {} : { unifiedId }), synced: synced as IDataObject }, pairedItem });
	}
	return [byItemOrder(success), byItemOrder(errors), byItemOrder(retryLater)];
}

function withoutRetry(json: IDataObject): IDataObject {
	if (!(RETRY_FIELD in json)) return json;
	const copy = { ...json };
	delete copy[RETRY_FIELD];
	return copy;
}
