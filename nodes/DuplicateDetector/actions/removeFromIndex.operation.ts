// Remove From Index: remove records (by ID) from the index of known records, e.g. after a delete.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { changeIndex } from './knownRecords';
import { readIndexOptions } from './matchOptions';

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return changeIndex(this, items, readIndexOptions(this), (index, _record, id) => ({ removedFromIndex: index.remove(id) }));
}
