// The "Sync API Request" operation: a thin shell over lib/sync/sync-api/. Items travel along a
// chain Validate → Write to CRMs → Build Response as `{request, results}` (a sync
// request) or `{jobId, ...}` (a bulk job whose records wait in the state store). The records
// come in the request bodies; the parameters (step, CRMs, store) configure the node: item 0.
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { steps } from './description';

const STEPS: Record<string, (this: IExecuteFunctions, items: INodeExecutionData[]) => Promise<INodeExecutionData[][]>> = Object.fromEntries(
	steps.map((step) => [step.option.value, step.execute]),
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const step = this.getNodeParameter('syncApiStep', 0) as string;
	if (!Object.hasOwn(STEPS, step)) throw new NodeOperationError(this.getNode(), `Unknown sync API step "${step}"`);
	return STEPS[step].call(this, this.getInputData());
}
