// Find Duplicates against the index of known records: the records already synced, kept in the state store.

import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { indexOutcomes } from '../../../lib/matching';
import { failedItem } from '../../shared/failedItem';
import { indexStoreProperties } from '../description';
import { splitOutputs } from './items';
import { withKnownRecords } from './knownRecords';
import { readMatchOptions, type DetectorOptions } from './matchOptions';

export const properties: INodeProperties[] = indexStoreProperties({ operation: ['findDuplicates'], matchAgainst: ['index'] });

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const matchOptions = readMatchOptions(this);
	// Whether unique records join the index is decided for the batch (item 0).
	const addUnique = (this.getNodeParameter('options', 0, {}) as DetectorOptions).addUniqueToIndex !== false;
	return withKnownRecords(this, items, matchOptions, (index, records) =>
		splitOutputs(items, indexOutcomes(index, records, { addUnique, master: matchOptions.master }), (error, itemIndex) => failedItem(this, items[itemIndex], itemIndex, error)),
	);
}
