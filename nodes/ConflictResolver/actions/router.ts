import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import * as resolveAgainstSyncedState from './resolveAgainstSyncedState.operation';
import * as resolveAgainstTarget from './resolveAgainstTarget.operation';
import * as resolveReview from './resolveReview.operation';
import { storeOpener } from './store';

/** Runs the chosen operation; operation and mode are read at item 0, as they configure the node. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const store = storeOpener(this);
	if ((this.getNodeParameter('operation', 0) as 'resolve' | 'resolveReview') === 'resolveReview') return resolveReview.execute.call(this, items, store);
	if ((this.getNodeParameter('against', 0, 'target') as 'target' | 'syncedState') === 'syncedState') return resolveAgainstSyncedState.execute.call(this, items, store);
	return resolveAgainstTarget.execute.call(this, items, store);
}
