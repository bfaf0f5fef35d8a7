// Redis store failure modes: Redis not running, and Redis going away mid-session. The store must
// reject with a clear, typed error, never report success.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';

import { Redis } from 'ioredis';

import { LockLostError, openStateStore, StateStoreError, withLock } from '../../../lib/state';
import { startRedisServer, type RedisServer } from './redis-server';

async function unusedPort(): Promise<number> {
	return new Promise((resolve) => {
		const server = net.createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

function isUnavailable(error: unknown): boolean {
	assert.ok(error instanceof StateStoreError, `expected StateStoreError, got ${String(error)}`);
	assert.equal(error.code, 'unavailable');
	assert.equal(error.backend, 'redis');
	assert.ok(error.cause, 'the underlying error is kept as cause');
	return true;
}

describe('redis state store failures', () => {
	test('Redis not running: opening fails fast with a clear error', async () => {
		const port = await unusedPort();
		const started = Date.now();
		await assert.rejects(openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port, connectTimeoutMs: 1000 }, namespace: 'n' }), (e: unknown) => {
			isUnavailable(e);
			assert.match((e as Error).message, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}`));
			return true;
		});
		assert.ok(Date.now() - started < 3000);
	});

	test('Redis going down mid-session: operations reject, nothing pretends success', async () => {
		const server = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: server.port }, namespace: 'n' });
		try {
			assert.equal(await store.claimIdempotencyKey('evt-1', 60_000), true);
			await server.stop();
			await assert.rejects(store.claimIdempotencyKey('evt-2', 60_000), isUnavailable);
			await assert.rejects(store.putSnapshot({ entity: 'contact', unifiedId: 'u', record: {}, fieldModifiedAt: {}, syncedAt: '' }), isUnavailable);
			await assert.rejects(store.link({ entity: 'contact', unifiedId: 'u', crm: 'hubspot', recordId: '1' }), isUnavailable);
		} finally {
			await store.close();
			await server.stop();
		}
	});

	test('after Redis comes back, the same store works again (reconnects by itself)', async () => {
		const first = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: first.port }, namespace: 'n' });
		let second: RedisServer | undefined;
		try {
			await first.stop();
			await assert.rejects(store.setCursor('hubspot', 'contact', 'c1'), isUnavailable);
			second = await startRedisServer(first.port);
			let ok = false;
			for (let attempt = 0; attempt < 50 && !ok; attempt++) {
				ok = await store.setCursor('hubspot', 'contact', 'c2').then(
					() => true,
					() => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
				);
			}
			assert.ok(ok, 'the store reconnected within 5 s');
			assert.equal(await store.getCursor('hubspot', 'contact'), 'c2');
		} finally {
			await store.close();
			await second?.stop();
		}
	});

	test('Redis refusing writes (out of memory, the disk-full of Redis): a clear io error', async () => {
		const server = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: server.port }, namespace: 'n' });
		const admin = new Redis({ host: '127.0.0.1', port: server.port });
		try {
			await admin.config('SET', 'maxmemory-policy', 'noeviction');
			await admin.config('SET', 'maxmemory', '1');
			await assert.rejects(store.putSnapshot({ entity: 'contact', unifiedId: 'u', record: { email: 'a@x.io' }, fieldModifiedAt: {}, syncedAt: '' }), (e: unknown) => {
				assert.ok(e instanceof StateStoreError);
				assert.equal(e.code, 'io');
				assert.match(e.message, /OOM/);
				return true;
			});
			await assert.rejects(store.claimIdempotencyKey('evt-oom', 60_000), (e: unknown) => e instanceof StateStoreError && e.code === 'io');
			await admin.config('SET', 'maxmemory', '0');
			assert.equal(await store.claimIdempotencyKey('evt-oom', 60_000), true, 'the refused claim was not recorded');
		} finally {
			admin.disconnect();
			await store.close();
			await server.stop();
		}
	});

	test('a hung Redis (SIGSTOP): operations reject with StateStoreError within ~3 s, and work again after SIGCONT', async () => {
		const server = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: server.port }, namespace: 'n' });
		const pid = server.process.pid!;
		try {
			assert.equal(await store.claimIdempotencyKey('evt-1', 60_000), true);
			process.kill(pid, 'SIGSTOP');
			// A plain command, a MULTI and a Lua script: none may wait for the stopped server.
			const operations = [
				store.claimIdempotencyKey('evt-2', 60_000),
				store.putSnapshot({ entity: 'contact', unifiedId: 'u', record: {}, fieldModifiedAt: {}, syncedAt: '' }),
				store.inboxAdd({ id: 'n1', crm: 'zoho', payload: '{}' }),
			];
			const started = Date.now();
			const settled = await Promise.race([
				Promise.allSettled(operations),
				new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), 5000).unref()),
			]);
			const elapsed = Date.now() - started;
			assert.notEqual(settled, 'still pending', 'operations still pending 5 s after Redis stopped');
			for (const result of settled as PromiseSettledResult<unknown>[]) {
				assert.equal(result.status, 'rejected');
				isUnavailable((result as PromiseRejectedResult).reason);
				assert.match(String((result as PromiseRejectedResult).reason.message), /timed out/);
			}
			assert.ok(elapsed < 3000, `rejected after ${elapsed} ms`);
			process.kill(pid, 'SIGCONT');
			assert.equal(await store.claimIdempotencyKey('evt-3', 60_000), true, 'the same store works again');
		} finally {
			process.kill(pid, 'SIGCONT');
			await store.close();
			await server.stop();
		}
	});

	test('a lock whose renewal fails (Redis hung) stops the work under it with LockLostError', async () => {
		const server = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: server.port }, namespace: 'n' });
		const pid = server.process.pid!;
		let aborted = false;
		try {
			const work = withLock(
				store,
				'renewal-fails',
				async (signal) => {
					process.kill(pid, 'SIGSTOP');
					// The renewal (every 200 ms) times out after 2 s: the work is told within ~2.5 s.
					const deadline = Date.now() + 6000;
					while (!signal.aborted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
					aborted = signal.aborted;
					process.kill(pid, 'SIGCONT');
					signal.throwIfAborted();
				},
				{ ttlMs: 600 },
			);
			await assert.rejects(work, (e: unknown) => e instanceof LockLostError && /renewing it failed/.test(e.message) && e.cause instanceof StateStoreError);
			assert.ok(aborted, 'the signal was aborted while the work ran');
		} finally {
			process.kill(pid, 'SIGCONT');
			await store.close();
			await server.stop();
		}
	});

	test('wrong password: a clear error', async () => {
		const server = await startRedisServer();
		try {
			await assert.rejects(
				openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: server.port, password: 'wrong', username: 'nobody' }, namespace: 'n' }),
				(e: unknown) => e instanceof StateStoreError && /cannot connect/.test(e.message),
			);
		} finally {
			await server.stop();
		}
	});
});
