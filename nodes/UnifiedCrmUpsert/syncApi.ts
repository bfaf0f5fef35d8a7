import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

const OPERATIONS: readonly string[] = [];

export function isSyncApiOperation(operation: string): boolean {
	return OPERATIONS.includes(operation);
}

export async function executeSyncApi(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	throw new NodeOperationError(this.getNode(), 'Sync API operations are not implemented yet');
}
