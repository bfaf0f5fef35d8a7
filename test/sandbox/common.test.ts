// The shared emulator core: store, clock, tokens, rate limiter, faults, seed generator,
// webhook dispatcher and the BaseEmulator pipeline (driven over real HTTP).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { Clock } from '../../sandbox/common/clock';
import { RecordStore, sequentialIds } from '../../sandbox/common/store';
import { TokenAuthority, bearerToken } from '../../sandbox/common/auth';
import { RateLimiter } from '../../sandbox/common/ratelimit';
import { FaultInjector } from '../../sandbox/common/faults';
import { generateSeed, SeedData } from '../../sandbox/common/seed';
import { Batcher, WebhookDispatcher } from '../../sandbox/common/webhooks';
import { BaseEmulator } from '../../sandbox/common/base';
import { json, Reply, RequestContext, Router } from '../../sandbox/common/router';
import { startSandbox, SANDBOX_CRMS } from '../../sandbox';

describe('store and clock', () => {
	test('clock ticks strictly increase even within one millisecond', () => {
		const clock = new Clock();
		const ticks = Array.from({ length: 5000 }, () => clock.tick());
		for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i] > ticks[i - 1]);
	});

	test('indexes follow updates, soft deletes hide records, changedSince is exact and ordered', () => {
		const store = new RecordStore(new Clock());
		const c = store.define('people', { idGen: sequentialIds(), indexes: { email: (f) => f.email } });
		const a = c.insert({ email: 'A@x.co' });
		const b = c.insert({ email: 'b@x.co' });
		const mark = b.updatedAt;
		assert.deepEqual(c.findBy('email', ' a@X.CO ').map((r) => r.id), [a.id]);
		c.update(a.id, { email: 'new@x.co' });
		assert.equal(c.findBy('email', 'a@x.co').length, 0);
		assert.equal(c.findBy('email', 'new@x.co')[0].id, a.id);
		const d = c.insert({ email: 'd@x.co' });
		c.softDelete(b.id);
		assert.deepEqual([...c.changedSince(mark)].map((r) => r.id), [a.id, d.id]);
		assert.deepEqual([...c.changedSince(mark, { includeDeleted: true })].map((r) => r.id), [a.id, d.id, b.id]);
		assert.deepEqual([...c.changedSince(mark, { inclusive: true, includeDeleted: true })].map((r) => r.id), [a.id, d.id, b.id]);
		assert.equal(c.get(b.id), undefined);
		assert.equal(c.get(b.id, { includeDeleted: true })?.deletedAt !== undefined, true);
		assert.equal(c.size, 2);
		c.restore(b.id);
		assert.equal(c.size, 3);
		assert.deepEqual([...c.valuesAfterSeq(a.seq)].map((r) => r.id), [b.id, d.id]);
		c.remove(d.id);
		assert.equal(c.sizeWithDeleted, 2);
		assert.equal(c.findBy('email', 'd@x.co').length, 0);
		assert.throws(() => c.insert({}, { id: a.id }), /duplicate id/);
	});

	test('backdated (seeded) inserts leave the clock alone and still read back in time order', () => {
		const clock = new Clock();
		const c = new RecordStore(clock).define('t', { idGen: sequentialIds() });
		const live = c.insert({ n: 'live' });
		const old2 = c.insert({ n: 'old2' }, { createdAt: 2000, updatedAt: 2000 });
		const old1 = c.insert({ n: 'old1' }, { createdAt: 1000, updatedAt: 1000 });
		assert.ok(clock.peek() - live.updatedAt < 1000, 'seeding did not move the clock');
		assert.deepEqual([...c.changedSince(0)].map((r) => r.fields.n), ['old1', 'old2', 'live']);
		assert.deepEqual([...c.changedSince(1500)].map((r) => r.fields.n), ['old2', 'live']);
		c.update(old1.id, { n: 'old1 changed' });
		assert.deepEqual([...c.changedSince(1500)].map((r) => r.fields.n), ['old2', 'live', 'old1 changed']);
		void old2;
	});

	test('many updates keep changedSince linear: stale log entries are compacted', () => {
		const c = new RecordStore(new Clock()).define('t', { idGen: sequentialIds() });
		const ids = Array.from({ length: 100 }, () => c.insert({ n: 0 }).id);
		for (let round = 0; round < 200; round++) for (const id of ids) c.update(id, { n: round });
		const changed = [...c.changedSince(0)];
		assert.equal(changed.length, 100);
		for (let i = 1; i < changed.length; i++) assert.ok(changed[i].updatedAt > changed[i - 1].updatedAt);
		assert.ok((c as unknown as { log: unknown[] }).log.length < 5000, 'log was compacted');
	});
});

describe('tokens, rate limits, faults', () => {
	test('default mode accepts unknown tokens but not expired issued ones; strict accepts only issued live tokens', async () => {
		const auth = new TokenAuthority({ lifetimeMs: 40 });
		assert.equal(auth.check('anything').ok, true);
		assert.deepEqual(auth.check(''), { ok: false, reason: 'missing' });
		const t = auth.issue({ clientId: 'c' });
		assert.equal(auth.check(t.accessToken).ok, true);
		await new Promise((r) => setTimeout(r, 50));
		assert.deepEqual(auth.check(t.accessToken), { ok: false, reason: 'expired' });
		const refreshed = auth.refreshAccess(t.refreshToken, 'c')!;
		assert.equal(auth.check(refreshed.accessToken).ok, true);
		assert.equal(refreshed.refreshToken, t.refreshToken);
		auth.strict = true;
		assert.deepEqual(auth.check('anything'), { ok: false, reason: 'invalid' });
		assert.equal(auth.refreshAccess('unknown-refresh'), undefined);
		auth.expireAll();
		assert.equal(auth.check(refreshed.accessToken).ok, false);
		assert.equal(bearerToken('bearer abc'), 'abc');
		assert.equal(bearerToken('Zoho-oauthtoken abc', 'Zoho-oauthtoken'), 'abc');
		assert.equal(bearerToken('Basic abc'), undefined);
	});

	test('sliding window: refuses over the limit, frees up after the window, separate keys', async () => {
		const rl = new RateLimiter(true);
		const p = { name: 'P', limit: 3, windowMs: 60 };
		assert.deepEqual([1, 2, 3, 4].map(() => rl.hit(p, 'k').ok), [true, true, true, false]);
		assert.equal(rl.hit(p, 'other').ok, true);
		await new Promise((r) => setTimeout(r, 70));
		assert.equal(rl.hit(p, 'k').ok, true);
		const q = { name: 'Q', limit: 1, windowMs: 1000 };
		assert.equal(rl.hitAll([p, q], 'z')!.ok, true);
		assert.equal(rl.hitAll([p, q], 'z')!.policy, q);
		assert.equal(rl.used(p, 'z'), 1, 'a refused hitAll counts nothing');
		assert.equal(new RateLimiter(false).hit(p).ok, true);
	});

	test('faults are deterministic per seed and validated', () => {
		const draw = (seed: number) => {
			const f = new FaultInjector({ seed, errorRate: 0.3, dropRate: 0.1, latencyMs: [5, 10] });
			return Array.from({ length: 50 }, () => f.forRequest('/x'));
		};
		assert.deepEqual(draw(9), draw(9));
		assert.notDeepEqual(draw(9), draw(10));
		const kinds = draw(9).map((f) => f.kind);
		assert.ok(kinds.includes('error') && kinds.includes('none'));
		assert.ok(draw(9).every((f) => f.latencyMs >= 5 && f.latencyMs <= 10));
		assert.throws(() => new FaultInjector({ errorRate: 1.5 }), /0\.\.1/);
		assert.equal(new FaultInjector({ errorRate: 1, pathPattern: '^/only' }).forRequest('/other').kind, 'none');
		const postsOnly = new FaultInjector({ errorRate: 1, method: 'POST' });
		assert.deepEqual([postsOnly.forRequest('/x', 'GET').kind, postsOnly.forRequest('/x', 'post').kind], ['none', 'error']);
	});
});

describe('seed generator', () => {
	test('deterministic by seed, unique emails, references resolve, near-duplicates as configured', () => {
		const opts = { seed: 5, contacts: 2000, companies: 50, deals: 100, activities: 200, leads: 20, duplicateShare: 0.1 };
		const a = generateSeed(opts);
		assert.deepEqual(a, generateSeed(opts));
		assert.notDeepEqual(a.contacts[0], generateSeed({ ...opts, seed: 6 }).contacts[0]);
		const companyKeys = new Set(a.companies.map((c) => c.key));
		const contactKeys = new Set(a.contacts.map((c) => c.key));
		assert.ok(a.contacts.every((c) => !c.companyKey || companyKeys.has(c.companyKey)));
		assert.ok(a.deals.every((d) => (!d.contactKey || contactKeys.has(d.contactKey)) && /^\d{4}-\d{2}-\d{2}$/.test(d.closeDate)));
		assert.deepEqual([...new Set(a.activities.map((x) => x.type))].sort(), ['call', 'email', 'meeting', 'note', 'task']);
		assert.equal(a.leads.length, 20);
		const dups = a.contacts.filter((c) => c.duplicateOf);
		assert.ok(dups.length > 120 && dups.length < 280, `about 10% near-duplicates, got ${dups.length}`);
		const byKey = new Map(a.contacts.map((c) => [c.key, c]));
		for (const d of dups) {
			const orig = byKey.get(d.duplicateOf!)!;
			assert.ok(d.duplicateKinds!.length >= 1);
			if (d.duplicateKinds!.includes('emailCase')) {
				assert.notEqual(d.email, orig.email);
				assert.equal(d.email.toLowerCase(), orig.email.toLowerCase());
			}
			if (d.duplicateKinds!.includes('phoneFormat')) {
				assert.notEqual(d.phone, orig.phone);
				assert.equal(d.phone.replace(/\D/g, '').replace(/^00/, '').replace(/^1(?=\d{10}$)/, '').slice(-7), orig.phone.replace(/\D/g, '').slice(-7));
			}
			if (d.duplicateKinds!.includes('nickname')) assert.notEqual(d.firstName, orig.firstName);
		}
		const lower = a.contacts.map((c) => c.email.toLowerCase());
		const emailCaseDups = dups.filter((d) => d.duplicateKinds!.includes('emailCase')).length;
		assert.equal(new Set(lower).size, lower.length - emailCaseDups, 'only emailCase duplicates share an address');
		const kinds = new Set(dups.flatMap((d) => d.duplicateKinds!));
		assert.deepEqual([...kinds].sort(), ['emailCase', 'nickname', 'phoneFormat', 'typo']);
	});
});

async function receiver(plan: number[]): Promise<{ url: string; got: string[]; server: Server }> {
	const got: string[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push(Buffer.concat(chunks).toString('utf8'));
			res.writeHead(plan[Math.min(got.length - 1, plan.length - 1)], { 'retry-after': '1' }).end();
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, got, server };
}

describe('webhook dispatcher', () => {
	const policy = { maxAttempts: 3, delayMs: () => 1, isSuccess: (s: number) => s === 200, shouldRetry: (s?: number) => s !== 410 };

	test('retries until success or maxAttempts, stops on non-retryable answers, records each attempt', async () => {
		const rx = await receiver([500, 500, 500]);
		try {
			const d = new WebhookDispatcher({ retry: policy, timeoutMs: 1000, faults: new FaultInjector() });
			d.send({ subscriptionId: 's', url: rx.url, build: (n) => ({ headers: {}, body: `attempt ${n}` }) });
			await d.idle();
			assert.deepEqual(rx.got, ['attempt 1', 'attempt 2', 'attempt 3']);
			assert.deepEqual(d.deliveries().map((x) => [x.attempt, x.status, x.ok]), [[1, 500, false], [2, 500, false], [3, 500, false]]);
			const gone = await receiver([410]);
			d.send({ subscriptionId: 's', url: gone.url, build: () => ({ headers: {}, body: 'x' }) });
			await d.idle();
			assert.equal(gone.got.length, 1);
			gone.server.close();
			d.send({ subscriptionId: 's', url: 'http://127.0.0.1:1/', build: () => ({ headers: {}, body: 'x' }) });
			await d.idle();
			assert.ok(d.deliveries().slice(-1)[0].error);
		} finally {
			rx.server.close();
		}
	});

	test('timeouts count as failures; serialKey keeps order; duplicates and reordering by fault', async () => {
		const slow = createServer(() => undefined);
		await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
		const d = new WebhookDispatcher({ retry: { ...policy, maxAttempts: 1 }, timeoutMs: 50, faults: new FaultInjector() });
		d.send({ subscriptionId: 's', url: `http://127.0.0.1:${(slow.address() as { port: number }).port}/`, build: () => ({ headers: {}, body: 'x' }) });
		await d.idle();
		assert.equal(d.deliveries()[0].error, 'timeout');
		slow.closeAllConnections();
		slow.close();

		const rx = await receiver([200]);
		try {
			const ordered = new WebhookDispatcher({ retry: policy, timeoutMs: 1000, faults: new FaultInjector({ seed: 3, webhookReorderRate: 1, webhookReorderWindowMs: 30 }) });
			for (let i = 0; i < 10; i++) ordered.send({ subscriptionId: 's', url: rx.url, serialKey: 'k', build: () => ({ headers: {}, body: String(i) }) });
			await ordered.idle();
			const reorderedWithKey = rx.got.slice();
			rx.got.length = 0;
			const loose = new WebhookDispatcher({ retry: policy, timeoutMs: 1000, faults: new FaultInjector({ seed: 3, webhookReorderRate: 1, webhookReorderWindowMs: 30 }) });
			for (let i = 0; i < 10; i++) loose.send({ subscriptionId: 's', url: rx.url, build: () => ({ headers: {}, body: String(i) }) });
			await loose.idle();
			assert.notDeepEqual(rx.got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'reorder fault changes arrival order');
			assert.deepEqual(rx.got.slice().sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
			assert.equal(reorderedWithKey.length, 10);
			rx.got.length = 0;
			const dup = new WebhookDispatcher({ retry: policy, timeoutMs: 1000, faults: new FaultInjector({ webhookDuplicateRate: 1 }) });
			dup.send({ subscriptionId: 's', url: rx.url, build: () => ({ headers: {}, body: 'once' }) });
			await dup.idle();
			assert.deepEqual(rx.got, ['once', 'once']);
			assert.deepEqual(dup.deliveries().map((x) => x.duplicate), [false, true]);
		} finally {
			rx.server.close();
		}
	});

	test('batcher flushes at the size limit and after the window', async () => {
		const batches: [string, number[]][] = [];
		const b = new Batcher<number>(3, 20, (key, items) => batches.push([key, items]));
		for (let i = 0; i < 7; i++) b.add('a', i);
		b.add('b', 99);
		assert.deepEqual(batches, [['a', [0, 1, 2]], ['a', [3, 4, 5]]]);
		await new Promise((r) => setTimeout(r, 40));
		assert.deepEqual(batches.slice(2), [['a', [6]], ['b', [99]]]);
		assert.equal(b.hasPending, false);
	});
});

/** A minimal emulator to drive the BaseEmulator pipeline. */
class EchoEmulator extends BaseEmulator {
	readonly crm = 'hubspot' as const;
	constructor(opts = {}) {
		super(opts, { tokenLifetimeMs: 60_000, webhookTimeoutMs: 1000, webhookRetry: { maxAttempts: 1, delayMs: () => 0, isSuccess: () => true, shouldRetry: () => false } });
		this.store.define('things', { idGen: sequentialIds() });
	}
	protected registerRoutes(r: Router): void {
		r.post('/things', (ctx) => json(201, { id: this.store.require('things').insert({ body: ctx.body }).id, token: ctx.token }));
		r.get('/things/:id', (ctx) => {
			const rec = this.store.require('things').get(ctx.params.id);
			return rec ? json(200, rec.fields) : json(404, { nope: true });
		});
		r.post('/public', (ctx) => json(200, { body: ctx.body }), { public: true });
		r.get('/boom', () => {
			throw new Error('kaboom');
		});
	}
	protected authenticate(ctx: RequestContext): Reply | undefined {
		const check = this.tokens.check(bearerToken(ctx.headers.authorization));
		if (!check.ok) return json(401, { reason: check.reason });
		ctx.token = check.value;
		return undefined;
	}
	protected applySeed(data: SeedData) {
		for (const c of data.contacts) this.store.require('things').insert({ email: c.email });
		return { things: data.contacts.length };
	}
}

describe('BaseEmulator pipeline and admin API', () => {
	test('body parsing, size limit, auth, routing errors, handler exceptions', async () => {
		const em = new EchoEmulator({ maxBodyBytes: 1000 });
		const url = await em.start();
		const origError = console.error;
		console.error = () => undefined;
		try {
			const auth = { authorization: 'Bearer t1' };
			const created = await fetch(`${url}/things`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"a":1}' });
			assert.equal(created.status, 201);
			const { id, token } = (await created.json()) as { id: string; token: string };
			assert.equal(token, 't1');
			assert.deepEqual(await (await fetch(`${url}/things/${id}`, { headers: auth })).json(), { body: { a: 1 } });
			const form = await fetch(`${url}/public`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' });
			assert.deepEqual(((await form.json()) as { body: unknown }).body, { a: '1', b: 'two' });
			const xml = await fetch(`${url}/public`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<x/>' });
			assert.deepEqual(((await xml.json()) as { body: unknown }).body, '<x/>');
			assert.equal((await fetch(`${url}/things`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{bad' })).status, 400);
			assert.equal((await fetch(`${url}/things`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ big: 'x'.repeat(2000) }) })).status, 413);
			assert.equal((await fetch(`${url}/things`, { method: 'POST' })).status, 401);
			assert.equal((await fetch(`${url}/nowhere`, { headers: auth })).status, 404);
			assert.equal((await fetch(`${url}/things`, { method: 'DELETE', headers: auth })).status, 405);
			assert.equal((await fetch(`${url}/boom`, { headers: auth })).status, 500);
		} finally {
			console.error = origError;
			await em.stop();
		}
	});

	test('admin: health, seed, dump, reset, auth settings, rate-limit switch, subscriptions, faults', async () => {
		const em = new EchoEmulator();
		const url = await em.start();
		const post = (path: string, body: unknown) => fetch(`${url}/__admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		try {
			assert.deepEqual(await (await post('seed', { contacts: 7 })).json(), { things: 7 });
			const health = (await (await fetch(`${url}/__admin/health`)).json()) as { records: { things: number } };
			assert.equal(health.records.things, 7);
			const dump = (await (await fetch(`${url}/__admin/dump?type=things`)).json()) as { things: unknown[] };
			assert.equal(dump.things.length, 7);
			assert.equal((await post('reset', {})).status, 200);
			assert.equal(em.store.require('things').size, 0);
			await post('reset', { seed: { contacts: 2 } });
			assert.equal(em.store.require('things').size, 2);
			await post('auth', { strict: true });
			assert.equal((await fetch(`${url}/things/1`, { headers: { authorization: 'Bearer made-up' } })).status, 401);
			await post('auth', { strict: false, tokenLifetimeMs: 5 });
			assert.equal(em.tokens.lifetimeMs, 5);
			assert.deepEqual(await (await post('rate-limits', { enabled: true })).json(), { enabled: true });
			const sub = (await (await post('webhooks/subscriptions', { url: 'http://127.0.0.1:9/x', extra: 1 })).json()) as { id: string };
			assert.equal((await post('webhooks/subscriptions', { url: 'ftp://x' })).status, 400);
			assert.equal(((await (await fetch(`${url}/__admin/webhooks/subscriptions`)).json()) as unknown[]).length, 1);
			assert.equal((await fetch(`${url}/__admin/webhooks/subscriptions/${sub.id}`, { method: 'DELETE' })).status, 204);
			await post('faults', { dropRate: 1 });
			await assert.rejects(fetch(`${url}/things/1`));
			assert.equal((await fetch(`${url}/__admin/health`)).status, 200, 'admin calls are never faulted');
		} finally {
			await em.stop();
		}
	});
});

describe('startSandbox', () => {
	test('starts all five emulators on random ports and stops them', async () => {
		const sb = await startSandbox({ ports: {} });
		try {
			assert.deepEqual(Object.keys(sb.urls).sort(), [...SANDBOX_CRMS].sort());
			for (const crm of SANDBOX_CRMS) {
				const health = (await (await fetch(`${sb.urls[crm]}/__admin/health`)).json()) as { crm: string };
				assert.equal(health.crm, crm);
			}
		} finally {
			await sb.stop();
		}
		await assert.rejects(fetch(`${sb.urls.hubspot}/__admin/health`));
	});
});
