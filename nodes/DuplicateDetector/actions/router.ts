import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import * as findInBatch from './findInBatch.operation';
import * as findInCrm from './findInCrm.operation';
import * as findInIndex from './findInIndex.operation';
import * as removeFromIndex from './removeFromIndex.operation';
import * as updateIndex from './updateIndex.operation';

/** Runs the chosen operation or mode; they are read at item 0, as they configure the node. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as 'findDuplicates' | 'updateIndex' | 'removeFromIndex';
	if (operation === 'updateIndex') return updateIndex.execute.call(this, items);
	if (operation === 'removeFromIndex') return removeFromIndex.execute.call(this, items);
	const matchAgainst = this.getNodeParameter('matchAgainst', 0) as 'batch' | 'index' | 'crm';
	if (matchAgainst === 'crm') return findInCrm.execute.call(this, items);
	if (this.getNodeParameter('mergeInCrm', 0, false) as boolean) {
		throw new NodeOperationError(this.getNode(), 'Merge Duplicates in CRM works with Match Against "Target CRM" only: the other modes do not know which CRM their records live in.');
	}
	return matchAgainst === 'batch' ? findInBatch.execute.call(this, items) : findInIndex.execute.call(this, items);
}
