// Find Duplicates against the input batch: clusters among the incoming items, with a suggested
// master; people by scoring, companies by domain, then name.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { accountBatchOutcomes, batchOutcomes, findDuplicatesInBatch } from '../../../lib/matching';
import { recordsOf, splitOutputs } from './items';
import { readMatchOptions } from './matchOptions';

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const matchOptions = readMatchOptions(this);
	const records = recordsOf(this, items);
	// The batch is one decision: its kind of records is read at item 0.
	if (this.getNodeParameter('recordKind', 0, 'person') === 'company') return splitOutputs(items, accountBatchOutcomes(records, matchOptions.master));
	return splitOutputs(items, batchOutcomes(records, findDuplicatesInBatch(records, matchOptions)));
}
