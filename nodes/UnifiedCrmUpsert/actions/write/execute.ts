// The record writes (upsert, create, update, delete, erase, merge) and From Item, which writes each
// item by its event operation: a thin shell over lib's UpsertWriter (route-by-operation for From
// Item). Record Path, Input Format and Match Key are about an item's record: read per item, and
// items whose values differ are written in one group each. CRM, entity and Options decide how the
// whole batch is written (dry run, batch size, state): read at item 0.
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { CrmName, EntityType } from '../../../../lib/model';
import { AUTO_OPERATION, writeByOperation } from '../../../../lib/sync/route-by-operation';
import { UpsertWriter, type ItemResult, type WriteJob } from '../../../../lib/sync/upsert-writer';
import { toNodeError } from '../../../shared/errors';
import { connectorRuntime, crmConnectors, nodeOptions, nodeStore } from '../connection';
import { batchOptions, byItemOrder, groupRecords } from '../records';
import { FIELD_WRITES, MATCHING_WRITES, type WriteOperation } from './description';

/** What an item's parameters decide about writing its record. */
type RecordSettings = Pick<WriteJob, 'inputFormat' | 'matchKey'>;

export async function execute(this: IExecuteFunctions, selected: WriteOperation): Promise<INodeExecutionData[][]> {
	const crm = this.getNodeParameter('crm', 0) as CrmName;
	const entity = this.getNodeParameter('entity', 0) as EntityType;
	const options = nodeOptions(this);
	const batch: Omit<WriteJob, keyof RecordSettings> = {
		crm,
		entity,
		// From Item: each item's event operation picks the write (lib/sync/route-by-operation).
		operation: selected === AUTO_OPERATION ? 'upsert' : selected,
		...batchOptions(this),
	};
	const { groups, errors } = groupRecords<RecordSettings>(
		this,
		(index) => ({
			inputFormat: FIELD_WRITES.includes(selected) ? (this.getNodeParameter('inputFormat', index, 'crm') as RecordSettings['inputFormat']) : 'crm',
			matchKey: MATCHING_WRITES.includes(selected) ? (this.getNodeParameter('matchKey', index, 'email') as string) : '',
		}),
		{ crm, entity },
	);

	// Dry run: no state store, and no CRM call (so no credential either).
	const store = batch.dryRun || !batch.recordState ? undefined : nodeStore(this);
	const connectors = batch.dryRun ? undefined : await crmConnectors(this, crm, connectorRuntime(store && (await store()), options));
	const connector = () => connectors!();
	// Max Records counts per group, as From Item counts it per event operation.
	const results: ItemResult[] = [];
	try {
		for (const { settings, inputs } of groups) {
			const job: WriteJob = { ...batch, ...settings };
			results.push(...(selected === AUTO_OPERATION ? await writeByOperation(job, inputs, connector, store) : await new UpsertWriter(job, connector, store).run(inputs)));
		}
	} catch (error) {
		// NotImplementedError and others: the message says what is missing.
		throw toNodeError(this.getNode(), error);
	}
	const success: INodeExecutionData[] = [];
	for (const result of results.sort((a, b) => a.index - b.index)) (result.ok ? success : errors).push({ json: result.json as IDataObject, pairedItem: { item: result.index } });
	return [success, byItemOrder(errors)];
}
