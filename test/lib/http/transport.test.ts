// lib/http: retries, backoff, Retry-After, token refresh, timeouts and rate limiting, over real
// HTTP (a loopback node:http server) and a real redis-server for the shared limiter.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
	backoffDelay,
	bucketFor,
	classifyGeneric,
	CredentialRateLimiter,
	CrmError,
	DEFAULT_RETRY_POLICY,
	HttpStatusError,
	retryAfterMs,
	retryDelay,
	TokenManager,
	Transport,
	type TransportEvent,
} from '../../../lib/http';
import { openStateStore, type StateStore } from '../../../lib/state';
import { startRedisServer, type RedisServer } from '../state/redis-server';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end('{}');
let hits = 0;

before(async () => {
	server = createServer((req, res) => handler(req, res, ++hits));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
});

function route(h: Handler): void {
	hits = 0;
	handler = h;
}

/** A transport for the fake CRM "zoho" with the generic classifier (status + Retry-After). */
function transport(extra: Partial<ConstructorParameters<typeof Transport>[0]> = {}): Transport {
	return new Transport({
		crm: 'zoho',
		key: `test-${Math.random()}`,
		classify: (error) => (error instanceof HttpStatusError ? classifyGeneric('zoho', error, error.status, error.body, error.headers) : classifyGeneric('zoho', error)),
		retry: { baseDelayMs: 10, maxDelayMs: 100 },
		...extra,
	});
}

const get = (t: Transport, opts = {}) => t.request<{ ok?: boolean; token?: string }>('get', (token) => ({ method: 'GET', url: `${base}/x`, headers: token ? { Authorization: `Bearer ${token}` } : ({} as Record<string, string>) }), opts);

describe('retry policy', () => {
	test('full-jitter exponential backoff stays within its cap', () => {
		const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
		assert.equal(backoffDelay(1, policy, () => 1), 100);
		assert.equal(backoffDelay(3, policy, () => 1), 400);
		assert.equal(backoffDelay(10, policy, () => 1), 1000);
		assert.equal(backoffDelay(3, policy, () => 0), 0);
	});

	test('a Retry-After hint is a floor (plus up to 10% jitter); too long a hint or a non-retryable error gives up', () => {
		const e = new CrmError('x', 'pipedrive', 'rate_limit', { retryAfterMs: 2000 });
		const d = retryDelay(e, 1, DEFAULT_RETRY_POLICY, () => 0.5)!;
		assert.ok(d >= 2000 && d <= 2200);
		assert.equal(retryDelay(new CrmError('x', 'pipedrive', 'rate_limit', { retryAfterMs: 3_600_000 }), 1, DEFAULT_RETRY_POLICY), undefined);
		assert.equal(retryDelay(new CrmError('x', 'hubspot', 'rate_limit', { retryable: false }), 1, DEFAULT_RETRY_POLICY), undefined);
		assert.equal(retryDelay(new CrmError('x', 'hubspot', 'validation'), 1, DEFAULT_RETRY_POLICY), undefined);
		assert.equal(retryDelay(new CrmError('x', 'hubspot', 'transient'), DEFAULT_RETRY_POLICY.maxAttempts, DEFAULT_RETRY_POLICY), undefined);
	});

	test('Retry-After in seconds and as an HTTP date', () => {
		assert.equal(retryAfterMs({ 'Retry-After': '3' }), 3000);
		assert.equal(retryAfterMs(new Headers({ 'retry-after': '0.5' })), 500);
		const now = Date.parse('2026-01-01T00:00:00Z');
		assert.equal(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now), 10_000);
		assert.equal(retryAfterMs({}), undefined);
	});

	test('bucket shape never exceeds the limit in a rolling window', () => {
		for (const requests of [4, 10, 100, 190, 6000]) {
			const b = bucketFor({ requests, intervalMs: 10_000 })!;
			assert.ok(b.capacity + (b.refillPerSecond * 10_000) / 1000 <= requests, `limit ${requests}`);
		}
	});
});

describe('Transport over HTTP', () => {
	test('429 with Retry-After waits that long, then succeeds', async () => {
		route((_req, res, n) => {
			if (n === 1) {
				res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
				res.end('{"code":"TOO_MANY_REQUESTS"}');
			} else res.end('{"ok":true}');
		});
		const events: TransportEvent[] = [];
		const t = transport({ onEvent: (e) => events.push(e) });
		const started = Date.now();
		const res = await get(t);
		assert.equal(res.body.ok, true);
		assert.ok(Date.now() - started >= 1000, 'honoured Retry-After');
		assert.equal(t.stats.throttled, 1);
		assert.equal(events[0].type, 'throttle');
		assert.equal(events[0].error?.retryAfterMs, 1000);
	});

	test('5xx is retried with backoff; 4xx is not', async () => {
		route((_req, res, n) => {
			res.statusCode = n <= 2 ? 503 : 200;
			res.end('{}');
		});
		const t = transport();
		await get(t);
		assert.equal(t.stats.retries, 2);
		assert.equal(hits, 3);

		route((_req, res) => {
			res.statusCode = 400;
			res.end('{"message":"bad field"}');
		});
		const t2 = transport();
		await assert.rejects(get(t2), (e: CrmError) => e.category === 'validation' && /bad field/.test(e.message));
		assert.equal(hits, 1);
	});

	test('a dropped connection is retried; a timeout is retried only for idempotent calls', async () => {
		route((req, res, n) => {
			if (n === 1) req.socket.destroy();
			else res.end('{"ok":true}');
		});
		const t = transport();
		assert.equal((await get(t)).body.ok, true);
		assert.equal(t.stats.retries, 1);

		route((_req, res, n) => {
			if (n !== 1) res.end('{"ok":true}'); // the first request hangs
		});
		const t2 = transport({ timeoutMs: 200 });
		assert.equal((await get(t2)).body.ok, true);
		route(() => undefined);
		const t3 = transport({ timeoutMs: 200 });
		await assert.rejects(get(t3, { idempotent: false }), (e: CrmError) => e.code === 'TIMEOUT' && e.category === 'transient');
		assert.equal(hits, 1, 'a non-idempotent call is not repeated after a timeout');
	});

	test('an SDK whose own timer fires at the deadline first fails the attempt as the transport\'s timeout, in the same words', async () => {
		const t = transport({ timeoutMs: 100, retry: { maxAttempts: 1 } });
		// The SDK's own timeout (jsforce sets it to the attempt's deadline) rejects just before the transport's timer.
		const sdk = () =>
			new Promise<never>((_, reject) =>
				setTimeout(() => reject(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })), 95),
			);
		await assert.rejects(t.call('contacts.create', sdk, { idempotent: false }), (e: CrmError) => e.code === 'TIMEOUT' && /contacts\.create: no response within 100 ms/.test(e.message));
		// Other failures keep their own error.
		const refused = () => Promise.reject(new HttpStatusError(400, new Headers(), { message: 'bad' }, { method: 'POST', url: 'http://crm/x' }));
		await assert.rejects(t.call('contacts.create', refused, { idempotent: false }), (e: CrmError) => e.code !== 'TIMEOUT');
	});

	test('401 refreshes the token once (single flight for parallel calls) and replays', async () => {
		let current = 'old';
		route((req, res) => {
			if (req.headers.authorization !== `Bearer ${current}`) {
				res.statusCode = 401;
				res.end('{"message":"expired"}');
			} else res.end(JSON.stringify({ token: current }));
		});
		let fetches = 0;
		const tokens = new TokenManager({
			initial: { accessToken: 'stale' },
			fetch: async () => {
				fetches++;
				await new Promise((r) => setTimeout(r, 50));
				return { accessToken: current, expiresAt: Date.now() + 3_600_000 };
			},
		});
		const t = transport({ token: tokens });
		const results = await Promise.all(Array.from({ length: 5 }, () => get(t)));
		assert.ok(results.every((r) => r.body.token === 'old'));
		assert.equal(fetches, 1);
		// A second 401 after a refresh is final.
		current = 'rotated-on-server';
		const t2 = transport({ token: new TokenManager({ initial: { accessToken: 'x' }, fetch: async () => ({ accessToken: 'still-wrong' }) }) });
		await assert.rejects(get(t2), (e: CrmError) => e.category === 'auth');
	});

	test('a token past its expiry is refreshed before the call', async () => {
		route((req, res) => res.end(JSON.stringify({ token: String(req.headers.authorization) })));
		const tokens = new TokenManager({ initial: { accessToken: 'a', expiresAt: Date.now() + 1000 }, fetch: async () => ({ accessToken: 'b', expiresAt: Date.now() + 3_600_000 }) });
		const res = await get(transport({ token: tokens }));
		assert.equal(res.body.token, 'Bearer b');
		assert.equal(tokens.refreshCount, 1);
	});
});

/** Largest number of timestamps inside any window of `ms`. */
function maxInWindow(times: number[], ms: number): number {
	const sorted = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let i = 0, j = 0; i < sorted.length; i++) {
		while (sorted[i] - sorted[j] >= ms) j++;
		best = Math.max(best, i - j + 1);
	}
	return best;
}

describe('rate limiting', () => {
	let redis: RedisServer;
	const stores: StateStore[] = [];

	before(async () => {
		redis = await startRedisServer();
	});

	after(async () => {
		for (const s of stores) await s.close();
		await redis?.stop();
	});

	test('a local limiter keeps calls of one credential under the limit', async () => {
		const limiter = new CredentialRateLimiter(`local-${Math.random()}`, { requests: 10, intervalMs: 1000, maxConcurrent: 4 });
		const times: number[] = [];
		await Promise.all(Array.from({ length: 25 }, () => limiter.schedule(async () => times.push(Date.now()))));
		assert.ok(maxInWindow(times, 1000) <= 10, `max ${maxInWindow(times, 1000)} in 1 s`);
		assert.ok(Math.max(...times) - Math.min(...times) >= 1000, 'calls were spread out');
		await limiter.stop();
	});

	test('two workers sharing a Redis state store share one budget', async () => {
		const open = async () => {
			const s = await openStateStore({ backend: 'redis', namespace: 'limit-test', redis: { host: '127.0.0.1', port: redis.port } });
			stores.push(s);
			return s;
		};
		const key = `shared-${Math.random()}`;
		const spec = { requests: 10, intervalMs: 1000, maxConcurrent: 4 };
		const workerA = new CredentialRateLimiter(key, spec, await open());
		const workerB = new CredentialRateLimiter(key, spec, await open());
		assert.ok(workerA.isShared && workerB.isShared);
		const times: number[] = [];
		const run = (l: CredentialRateLimiter) => Array.from({ length: 12 }, () => l.schedule(async () => times.push(Date.now())));
		await Promise.all([...run(workerA), ...run(workerB)]);
		assert.equal(times.length, 24);
		assert.ok(maxInWindow(times, 1000) <= 10, `max ${maxInWindow(times, 1000)} in 1 s across both workers`);
		// Without the shared store each worker would allow its own 9-per-second budget: 24 calls in ~1.5 s.
		assert.ok(Math.max(...times) - Math.min(...times) >= 1500);
		await workerA.stop();
		await workerB.stop();
	});

	test('pause() after a throttle holds the queued calls of that credential', async () => {
		const limiter = new CredentialRateLimiter(`pause-${Math.random()}`, { maxConcurrent: 4 });
		limiter.pause(300);
		const started = Date.now();
		await limiter.schedule(async () => undefined);
		assert.ok(Date.now() - started >= 290);
		await limiter.stop();
	});
});
