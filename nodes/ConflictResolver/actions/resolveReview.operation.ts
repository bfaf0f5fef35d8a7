// Resolve Review Item: a reviewer's decision applied to an item of the review queue.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { resolveQueuedReview, type ReviewDecision } from '../../../lib/conflict';
import { failedItem } from '../../shared/failedItem';
import { resolutionJson, type OpenStore } from './store';

export const properties: INodeProperties[] = [
	{
		displayName: 'Review Item ID',
		name: 'reviewId',
		type: 'string',
		default: '={{ $json.reviewId }}',
		required: true,
		description: 'ID of the queued item (the "reviewId" emitted on the Needs Review output)',
		displayOptions: { show: { operation: ['resolveReview'] } },
	},
	{
		displayName: 'Winner',
		name: 'reviewWinner',
		type: 'options',
		options: [
			{ name: 'Source (Incoming Change)', value: 'source' },
			{ name: 'Target (Current Record)', value: 'target' },
		],
		default: 'source',
		description: 'Which side wins the conflicting fields (and a delete-versus-update)',
		displayOptions: { show: { operation: ['resolveReview'] } },
	},
	{
		displayName: 'Field Overrides (JSON)',
		name: 'reviewFields',
		type: 'json',
		default: '{}',
		description: 'Optional per-field decisions, e.g. {"phone": "target", "title": {"value": "CTO"}}',
		displayOptions: { show: { operation: ['resolveReview'] } },
	},
];

/** Output Resolved: the decided resolution of each review item (parameters read per item). */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], store: OpenStore): Promise<INodeExecutionData[][]> {
	const out: INodeExecutionData[] = [];
	for (let index = 0; index < items.length; index++) {
		try {
			const reviewId = String(this.getNodeParameter('reviewId', index, '') ?? '').trim();
			if (reviewId === '') throw new Error('Review Item ID is empty');
			const rawFields = this.getNodeParameter('reviewFields', index, '{}') as string | IDataObject;
			const fields = typeof rawFields === 'string' ? (rawFields.trim() === '' ? {} : JSON.parse(rawFields)) : rawFields;
			const decision: ReviewDecision = { winner: this.getNodeParameter('reviewWinner', index) as 'source' | 'target', fields };
			const { resolution } = await resolveQueuedReview(await store(), reviewId, decision);
			out.push({ json: { reviewId, ...resolutionJson(resolution) }, pairedItem: { item: index } });
		} catch (error) {
			out.push(failedItem(this, items[index], index, error));
		}
	}
	return [out, [], [], []];
}
