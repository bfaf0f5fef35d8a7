// Update Index: add or update records (by ID) in the index of known records, e.g. after they were synced.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { changeIndex } from './knownRecords';
import { readIndexOptions } from './matchOptions';

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return changeIndex(this, items, readIndexOptions(this), (index, record) => {
		index.upsert(record);
		return { indexed: true };
	});
}
