import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

const OPERATIONS: readonly string[] = [];

export function isBulkOperation(operation: string): boolean {
	return OPERATIONS.includes(operation);
}

export async function executeBulk(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	throw new NodeOperationError(this.getNode(), 'Bulk operations are not implemented yet');
}
