// Find Duplicates against the input batch: clusters among the incoming items, with a suggested master.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { batchOutcomes, findDuplicatesInBatch } from '../../../lib/matching';
import { recordsOf, splitOutputs } from './items';
import { readMatchOptions } from './matchOptions';

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const matchOptions = readMatchOptions(this);
	const records = recordsOf(this, items);
	return splitOutputs(items, batchOutcomes(records, findDuplicatesInBatch(records, matchOptions)));
}
