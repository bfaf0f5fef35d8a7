// Conflict Resolver in a real n8n: items posted to a webhook are split and resolved; true
// conflicts under manual review go to "Needs Review" and the review queue (embedded store in the
// n8n user folder), and a second workflow applies a reviewer's decision to the queued item.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { lastRunData, postWebhook, startN8n, type N8nInstance } from './harness';

const NAMESPACE = 'conflict-e2e';

function workflow(id: string, path: string, resolverParameters: Record<string, unknown>) {
	return {
		id,
		name: `Conflict Resolver e2e (${path})`,
		active: false,
		settings: { executionOrder: 'v1' },
		pinData: {},
		nodes: [
			{
				id: `${id}-webhook`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `e2e-${path}`,
				parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
			},
			{
				id: `${id}-split`,
				name: 'Split Out',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [220, 0],
				parameters: { fieldToSplitOut: 'body', include: 'noOtherFields', options: {} },
			},
			{
				id: `${id}-resolver`,
				name: 'Conflict Resolver',
				type: 'n8n-nodes-crm-sync.conflictResolver',
				typeVersion: 1,
				position: [440, 0],
				parameters: { syncNamespace: NAMESPACE, ...resolverParameters },
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
			'Split Out': { main: [[{ node: 'Conflict Resolver', type: 'main', index: 0 }]] },
		},
	};
}

const base = { record: { email: 'ann@acme.io', title: 'CTO', phone: '+14155550100', city: 'Oakland' }, syncedAt: '2026-03-01T09:00:00Z' };
const item = (title: string, extra: Record<string, unknown> = {}) => ({
	entity: 'contact',
	unifiedId: 'u-e2e-1',
	source: 'hubspot',
	incoming: { ...base.record, title, city: 'Berkeley' },
	incomingModifiedAt: '2026-03-01T11:00:00Z',
	targetCrm: 'salesforce',
	target: { ...base.record, title: 'Founder', phone: '+14155550199' },
	targetModifiedAt: '2026-03-01T10:00:00Z',
	base,
	targetRecordId: '003E2E',
	...extra,
});

let n8n: N8nInstance;
type Out = Array<Record<string, unknown>>;

async function run(workflowId: string, path: string, body: unknown): Promise<{ resolved: Out; review: Out }> {
	const response = await postWebhook(n8n.baseUrl, path, body).catch((error: Error) => {
		const log = n8n.logFile && existsSync(n8n.logFile) ? readFileSync(n8n.logFile, 'utf8').slice(-3000) : '';
		throw new Error(`${error.message}\nn8n log:\n${log}`);
	});
	assert.equal(response.status, 200);
	const data = await lastRunData(n8n, workflowId);
	const main = data['Conflict Resolver'][0].data.main;
	return { resolved: (main[0] ?? []).map((i) => i.json), review: (main[1] ?? []).map((i) => i.json) };
}

describe('Conflict Resolver in n8n', () => {
	before(async () => {
		n8n = await startN8n({
			workflowObjects: [
				workflow('conflictE2eLmw', 'conflict-lmw', { strategy: 'last-modified-wins' }),
				workflow('conflictE2eManual', 'conflict-manual', { strategy: 'manual-review' }),
				workflow('conflictE2eReview', 'conflict-review', { operation: 'resolveReview', reviewWinner: 'target' }),
			],
		});
	});
	after(async () => {
		await n8n?.stop();
	});

	test('resolves, and sends true conflicts under manual review to Needs Review and the queue', async () => {
		const lmw = await run('conflictE2eLmw', 'conflict-lmw', [item('CEO')]);
		assert.equal(lmw.resolved.length, 1);
		const r = lmw.resolved[0];
		assert.equal(r.action, 'update');
		assert.deepEqual(r.conflicts, ['title']);
		assert.deepEqual(r.targetPatch, { title: 'CEO', city: 'Berkeley' });
		assert.deepEqual(r.sourcePatch, { phone: '+14155550199' });
		assert.equal(r.targetRecordId, '003E2E', 'extra keys pass through');

		const manual = await run('conflictE2eManual', 'conflict-manual', [item('CEO'), item('CTO', { unifiedId: 'u-e2e-2' })]);
		assert.equal(manual.review.length, 1);
		assert.equal(manual.resolved.length, 1, 'the second item has no true conflict (title unchanged in the source)');
		const reviewId = manual.review[0].reviewId as string;
		assert.match(reviewId, /^[0-9a-f-]{36}$/);
		assert.ok(existsSync(join(n8n.userFolder, '.n8n', 'crm-sync', 'state.sqlite')), 'embedded store in the n8n user folder');

		const decided = await run('conflictE2eReview', 'conflict-review', [{ reviewId }]);
		assert.equal(decided.resolved.length, 1);
		assert.equal(decided.resolved[0].action, 'update');
		assert.equal((decided.resolved[0].merged as Record<string, unknown>).title, 'Founder', 'the reviewer chose the target');
		assert.equal((decided.resolved[0].merged as Record<string, unknown>).city, 'Berkeley');
	});
});
