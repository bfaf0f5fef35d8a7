// Routes the node's operation to its family: the record writes (write/), Sync to CRMs (sync/), the
// bulk operations (bulk/) or the Sync API steps (syncApi/). The operation configures the node, so
// it is read at item 0, as n8n's own routers do.
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import * as bulk from './bulk/execute';
import * as syncToCrms from './sync/syncToCrms.operation';
import { SYNC_API_OPERATION } from './syncApi/common';
import * as syncApi from './syncApi/execute';
import { isWriteOperation } from './write/description';
import * as write from './write/execute';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	if (operation === syncToCrms.SYNC_TO_CRMS) return syncToCrms.execute.call(this);
	// Success and Errors; Retry Later is Sync to CRMs' only.
	return [...(await successAndErrors.call(this, operation)), []];
}

async function successAndErrors(this: IExecuteFunctions, operation: string): Promise<INodeExecutionData[][]> {
	if (bulk.isBulkOperation(operation)) return bulk.execute.call(this, operation);
	if (operation === SYNC_API_OPERATION) return syncApi.execute.call(this);
	if (isWriteOperation(operation)) return write.execute.call(this, operation);
	throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
}
