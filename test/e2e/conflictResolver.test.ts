// Conflict Resolver in a real n8n: items posted to a webhook are split and resolved; true
// conflicts under manual review go to "Needs Review" and the review queue (embedded store in the
// n8n user folder), and a second workflow applies a reviewer's decision to the queued item.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { openStateStore } from '../../lib/state';
import { startRedisServer, type RedisServer } from '../lib/state/redis-server';
import { batchWorkflow, lastRunData, postWebhook, startN8n, waitFor, type N8nInstance } from './harness';

const NAMESPACE = 'conflict-e2e';

function workflow(id: string, path: string, resolverParameters: Record<string, unknown>, resolverExtra: Record<string, unknown> = {}) {
	return batchWorkflow(id, path, {
		name: 'Conflict Resolver',
		type: 'conflictResolver',
		parameters: { syncNamespace: NAMESPACE, ...resolverParameters },
		extra: resolverExtra,
	});
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
let redis: RedisServer;
const REDIS_CREDENTIAL = { id: 'crmSyncRedisE2e01', name: 'Redis (e2e)' };
type Out = Array<Record<string, unknown>>;

async function newestExecution(workflowId: string): Promise<{ id: string; stoppedAt?: string } | undefined> {
	const list = await n8n.api<{ data: Array<{ id: string; stoppedAt?: string }> }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=1`);
	return list.data[0];
}

async function run(workflowId: string, path: string, body: unknown): Promise<{ resolved: Out; review: Out }> {
	const previous = (await newestExecution(workflowId))?.id;
	const response = await postWebhook(n8n.baseUrl, path, body).catch((error: Error) => {
		const log = n8n.logFile && existsSync(n8n.logFile) ? readFileSync(n8n.logFile, 'utf8').slice(-3000) : '';
		throw new Error(`${error.message}\nn8n log:\n${log}`);
	});
	assert.equal(response.status, 200);
	// Wait for this request's execution to finish, not the previous one.
	await waitFor(async () => {
		const newest = await newestExecution(workflowId);
		return newest !== undefined && newest.id !== previous && Boolean(newest.stoppedAt);
	}, 20_000);
	const data = await lastRunData(n8n, workflowId);
	const main = data['Conflict Resolver'][0].data.main;
	return { resolved: (main[0] ?? []).map((i) => i.json), review: (main[1] ?? []).map((i) => i.json) };
}

describe('Conflict Resolver in n8n', () => {
	before(async () => {
		redis = await startRedisServer();
		n8n = await startN8n({
			// This file checks each store backend by name (the embedded file in the user folder, its own
			// Redis), which queue mode's switch of every node to the shared Redis store would undo.
			queue: false,
			credentials: [{ ...REDIS_CREDENTIAL, type: 'redis', data: { host: '127.0.0.1', port: redis.port, database: 0, password: '', user: '', ssl: false } }],
			workflowObjects: [
				workflow(
					'conflictE2eRedis',
					'conflict-redis',
					{ strategy: 'manual-review', stateBackend: 'redis' },
					{ credentials: { redis: REDIS_CREDENTIAL } },
				),
				workflow('conflictE2eLmw', 'conflict-lmw', { strategy: 'last-modified-wins' }),
				workflow('conflictE2eManual', 'conflict-manual', { strategy: 'manual-review' }),
				workflow('conflictE2eReview', 'conflict-review', { operation: 'resolveReview', reviewWinner: 'target' }),
			],
		});
	});
	after(async () => {
		await n8n?.stop();
		await redis?.stop();
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

	test('with the Redis state store selected through n8n\'s Redis credential, the review queue is in Redis', async () => {
		const manual = await run('conflictE2eRedis', 'conflict-redis', [item('CEO', { unifiedId: 'u-e2e-redis' })]);
		assert.equal(manual.review.length, 1);
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: NAMESPACE });
		try {
			const queued = await store.getReview(manual.review[0].reviewId as string);
			assert.equal(queued?.unifiedId, 'u-e2e-redis');
			assert.equal(queued?.status, 'open');
			assert.ok((await store.listAudit()).some((entry) => entry.unifiedId === 'u-e2e-redis' && entry.winner === 'review'));
		} finally {
			await store.close();
		}
	});

	test('without a base in the item, the last synced snapshot is read from the embedded store', async () => {
		// The test process writes the snapshot into the same file n8n uses (multi-process safe).
		const store = await openStateStore({ backend: 'embedded', path: join(n8n.userFolder, '.n8n', 'crm-sync', 'state.sqlite'), namespace: NAMESPACE });
		try {
			await store.putSnapshot({ entity: 'contact', unifiedId: 'u-e2e-base', record: { ...base.record }, fieldModifiedAt: {}, syncedAt: base.syncedAt });
		} finally {
			await store.close();
		}
		const { base: _omitted, ...withoutBase } = item('CEO', { unifiedId: 'u-e2e-base' });
		const { resolved } = await run('conflictE2eLmw', 'conflict-lmw', [withoutBase]);
		assert.equal(resolved.length, 1);
		// With the stored base, the target's phone is a one-sided change (kept), not a conflict.
		assert.deepEqual(resolved[0].conflicts, ['title']);
		assert.deepEqual(resolved[0].sourcePatch, { phone: '+14155550199' });
		const withNoBase = await run('conflictE2eLmw', 'conflict-lmw', [{ ...withoutBase, unifiedId: 'u-e2e-unknown' }]);
		assert.deepEqual(withNoBase.resolved[0].conflicts, ['city', 'phone', 'title'], 'no snapshot: first sync, every differing value conflicts');
	});
});
