// The bulk operations: a thin shell over lib/sync/bulk.ts. Each node holds one CRM's credential
// (n8n cannot give one node the source's and the targets' credentials), and the records travel
// through the state store, not through n8n items: n8n keeps every node's output of an execution
// in memory, so only one job item (and failed records) pass between nodes. A bulk node runs the
// one job of its first input item, so its parameters are read at item 0.
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import type { CrmName, EntityType } from '../../../../lib/model';
import { BULK_ENTITIES } from '../../../../lib/sync/bulk';
import { toNodeError } from '../../../shared/errors';
import { nodeStore } from '../connection';
import { BULK_FINISH, BULK_READ, BULK_SYNC, BULK_WRITE, type BulkRun } from './common';
import * as finish from './finish.operation';
import * as read from './read.operation';
import * as sync from './sync.operation';
import * as write from './write.operation';

const OPERATIONS: Record<string, (this: IExecuteFunctions, run: BulkRun) => Promise<INodeExecutionData[][]>> = {
	[BULK_READ]: read.execute,
	[BULK_WRITE]: write.execute,
	[BULK_FINISH]: finish.execute,
	[BULK_SYNC]: sync.execute,
};

export function isBulkOperation(operation: string): boolean {
	return Object.hasOwn(OPERATIONS, operation);
}

export async function execute(this: IExecuteFunctions, operation: string): Promise<INodeExecutionData[][]> {
	// The CRM the operation works on: Sync CRMs reads its source (its targets are the other selected CRMs).
	const crm = this.getNodeParameter(operation === BULK_SYNC ? 'bulkSource' : 'crm', 0) as CrmName;
	const entity = this.getNodeParameter('entity', 0, 'contact') as EntityType;
	const input = this.getInputData()[0]?.json ?? {};
	// Progress per page: the n8n log (level info) and, in a manual run, the browser console.
	const log = (line: string) => {
		this.logger.info(`[${this.getNode().name}] ${line}`);
		this.sendMessageToUI(line);
	};
	try {
		// Sync CRMs copies the entities it selects (Entities); the step operations copy Entity.
		if (operation !== BULK_SYNC && !BULK_ENTITIES.includes(entity)) throw new NodeOperationError(this.getNode(), `Bulk sync of ${entity} records is not implemented yet (${BULK_ENTITIES.join(', ')})`);
		const store = await nodeStore(this)();
		return await OPERATIONS[operation].call(this, { crm, entity, store, input, log });
	} catch (error) {
		const failure = toNodeError(this.getNode(), error);
		if (this.continueOnFail()) return [[], [{ json: { error: failure.message, operation, crm }, pairedItem: { item: 0 } }]];
		throw failure;
	}
}
