// Embedded store beyond the contract: data survives process restarts, several processes share
// one file safely, bad paths and old Node versions fail with clear errors.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { defaultEmbeddedStatePath, openStateStore, StateStoreError } from '../../../lib/state';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-state-embedded-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Run a TypeScript snippet in a fresh Node process (with the given node binary); returns stdout. */
async function inChild(code: string, nodeBinary = process.execPath): Promise<string> {
	const file = path.join(tmp, `child-${Math.random().toString(36).slice(2)}.ts`);
	const stateIndex = JSON.stringify(path.join(repo, 'lib', 'state'));
	fs.writeFileSync(file, `import { openStateStore } from ${stateIndex};\n(async () => {\n${code}\n})().catch((e) => { console.log(JSON.stringify({ error: e.message, code: e.code })); process.exitCode = 1; });\n`);
	const { stdout } = await run(nodeBinary, ['--import', 'tsx', file], { cwd: repo }).catch((e: { stdout: string }) => e);
	return stdout.trim();
}

describe('embedded state store', () => {
	test('keeps its data across processes (write in one process, read in another)', async () => {
		const file = JSON.stringify(path.join(tmp, 'restart.sqlite'));
		const written = await inChild(`
			const store = await openStateStore({ backend: 'embedded', path: ${file}, namespace: 'wf-1' });
			await store.link({ entity: 'contact', unifiedId: 'u1', crm: 'hubspot', recordId: '101' });
			await store.putSnapshot({ entity: 'contact', unifiedId: 'u1', record: { email: 'a@x.io' }, fieldModifiedAt: { email: '2026-01-01T00:00:00.000Z' }, syncedAt: '2026-01-01T00:00:01.000Z' });
			await store.setCursor('hubspot', 'contact', 'cursor-42');
			await store.claimIdempotencyKey('evt-1', 600000);
			const review = await store.enqueueReview({ entity: 'contact', reason: 'conflict on email', payload: { a: 1 } });
			await store.kvPut('dedupe', 'k', { v: true });
			await store.close();
			console.log(JSON.stringify({ reviewId: review.id, pid: process.pid }));
		`);
		const { reviewId, pid: writerPid } = JSON.parse(written) as { reviewId: string; pid: number };
		const read = await inChild(`
			const store = await openStateStore({ backend: 'embedded', path: ${file}, namespace: 'wf-1' });
			console.log(JSON.stringify({
				pid: process.pid,
				unifiedId: await store.findUnifiedId('contact', 'hubspot', '101'),
				snapshot: await store.getSnapshot('contact', 'u1'),
				cursor: await store.getCursor('hubspot', 'contact'),
				redelivery: await store.claimIdempotencyKey('evt-1', 600000),
				review: await store.getReview(${JSON.stringify(reviewId)}),
				kv: await store.kvGet('dedupe', 'k'),
			}));
			await store.close();
		`);
		const state = JSON.parse(read);
		assert.notEqual(state.pid, writerPid);
		assert.equal(state.unifiedId, 'u1');
		assert.deepEqual(state.snapshot.record, { email: 'a@x.io' });
		assert.equal(state.cursor, 'cursor-42');
		assert.equal(state.redelivery, false, 'an idempotency key claimed before the restart is still claimed');
		assert.equal(state.review.reason, 'conflict on email');
		assert.deepEqual(state.kv, { v: true });
	});

	test('several processes claiming the same keys at once: each key is claimed exactly once', async () => {
		const file = JSON.stringify(path.join(tmp, 'multi.sqlite'));
		const worker = `
			const store = await openStateStore({ backend: 'embedded', path: ${file}, namespace: 'wf-multi' });
			let claimed = 0;
			for (let i = 0; i < 300; i++) if (await store.claimIdempotencyKey('evt-' + i, 600000)) claimed++;
			const bucket = [];
			for (let i = 0; i < 20; i++) bucket.push((await store.takeTokens('api', { capacity: 30, refillPerSecond: 0.001 })).granted);
			await store.close();
			console.log(JSON.stringify({ claimed, granted: bucket.filter(Boolean).length }));
		`;
		const outputs = await Promise.all([inChild(worker), inChild(worker), inChild(worker), inChild(worker)]);
		const results = outputs.map((o) => JSON.parse(o) as { claimed: number; granted: number; error?: string });
		assert.ok(results.every((r) => r.error === undefined), outputs.join('\n'));
		assert.equal(results.reduce((sum, r) => sum + r.claimed, 0), 300);
		assert.equal(results.reduce((sum, r) => sum + r.granted, 0), 30, 'a shared token bucket grants its capacity once across processes');
	});

	test('an unwritable path gives a clear io error naming the path', async () => {
		const blocker = path.join(tmp, 'not-a-dir');
		fs.writeFileSync(blocker, 'x');
		const target = path.join(blocker, 'state.sqlite');
		await assert.rejects(openStateStore({ backend: 'embedded', path: target, namespace: 'n' }), (error: unknown) => {
			assert.ok(error instanceof StateStoreError);
			assert.equal(error.code, 'io');
			assert.match(error.message, /cannot open/);
			assert.ok(error.message.includes(target));
			assert.ok(error.cause);
			return true;
		});
	});

	test('a write blocked by another process\'s lock past busy_timeout rejects (never pretends success)', async () => {
		const file = path.join(tmp, 'locked.sqlite');
		const store = await openStateStore({ backend: 'embedded', path: file, namespace: 'n', busyTimeoutMs: 100 });
		// Another connection (as another n8n process would) holds the write lock.
		const { DatabaseSync } = await import('node:sqlite');
		const other = new DatabaseSync(file);
		other.exec('BEGIN EXCLUSIVE');
		try {
			await assert.rejects(store.claimIdempotencyKey('evt-locked', 60_000), (error: unknown) => {
				assert.ok(error instanceof StateStoreError);
				assert.equal(error.code, 'io');
				assert.match(error.message, /claimIdempotencyKeys failed: database is locked/);
				return true;
			});
		} finally {
			other.exec('ROLLBACK');
			other.close();
		}
		assert.equal(await store.claimIdempotencyKey('evt-locked', 60_000), true, 'the failed claim left nothing behind');
		await store.close();
	});

	test('a store file from before inbox boxes opens, keeps its inbox and takes boxed entries', async () => {
		const file = path.join(tmp, 'old-inbox.sqlite');
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(file);
		db.exec('CREATE TABLE inbox (ns TEXT NOT NULL, id TEXT NOT NULL, crm TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL, added_at INTEGER NOT NULL, claimed_until INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID');
		db.prepare('INSERT INTO inbox VALUES (?, ?, ?, ?, 0, 1, 0)').run('old', 'kept', 'zoho', '[]');
		db.close();
		const store = await openStateStore({ backend: 'embedded', namespace: 'old', path: file });
		assert.deepEqual((await store.inboxClaim('zoho', 60_000, 10)).map((e) => [e.id, e.box]), [['kept', '']], 'the entry kept before boxes, in the CRM-wide box');
		await store.inboxAdd({ id: 'new', crm: 'zoho', box: 'crm-sync-lead', payload: '[]' });
		assert.deepEqual((await store.inboxClaim('zoho', 60_000, 10, 'crm-sync-lead')).map((e) => e.id), ['new']);
		await store.close();
	});

	test('an empty namespace is rejected', async () => {
		await assert.rejects(
			openStateStore({ backend: 'embedded', path: path.join(tmp, 'x.sqlite'), namespace: ' ' }),
			(e: unknown) => e instanceof StateStoreError && e.code === 'invalid-argument',
		);
	});

	test('default path: <n8n user folder>/crm-sync/state.sqlite', () => {
		assert.equal(defaultEmbeddedStatePath({}, '/home/n'), path.join('/home/n', '.n8n', 'crm-sync', 'state.sqlite'));
		assert.equal(defaultEmbeddedStatePath({ N8N_USER_FOLDER: '/data' }, '/home/n'), path.join('/data', '.n8n', 'crm-sync', 'state.sqlite'));
	});

	// Needs an older Node (without node:sqlite) on PATH besides the Node 24 that runs the tests.
	const oldNode = findOldNode();
	test('on a Node.js without node:sqlite it fails with a message naming the Redis option', { skip: oldNode ? false : 'no Node < 22 on PATH' }, async () => {
		const out = await inChild(
			`await openStateStore({ backend: 'embedded', path: ${JSON.stringify(path.join(tmp, 'old.sqlite'))}, namespace: 'n' });`,
			oldNode,
		);
		const { error, code } = JSON.parse(out) as { error: string; code: string };
		assert.equal(code, 'unsupported-runtime');
		assert.match(error, /Node\.js >= 22\.5/);
		assert.match(error, /Redis/);
	});
});

function findOldNode(): string | undefined {
	for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
		const candidate = path.join(dir, 'node');
		if (!fs.existsSync(candidate)) continue;
		try {
			const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
			const major = Number(/^v(\d+)/.exec(version)?.[1]);
			if (major >= 20 && major < 22) return candidate;
		} catch {
			// Not runnable: try the next one.
		}
	}
	return undefined;
}
