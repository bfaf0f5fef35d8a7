import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { Direction } from '../../../lib/mapping';
import * as map from './map.operation';

/** Every direction runs the one Map operation; the direction says which way it maps. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const direction = this.getNodeParameter('direction', 0) as Direction;
	return map.execute.call(this, direction);
}
