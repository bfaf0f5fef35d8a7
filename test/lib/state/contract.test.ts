// One contract suite, run against both StateStore backends: the embedded SQLite file and a real
// redis-server started by this test on a free port.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { echoFingerprint, heldValueHash, LockLostError, LockTimeoutError, openStateStore, StateStoreError, withLock, type Snapshot, type StateStore, type StateStoreConfig } from '../../../lib/state';
import { startRedisServer, type RedisServer } from './redis-server';
import { closedAfterSuite } from './suite-stores';

type Open = (overrides?: Partial<StateStoreConfig>) => Promise<StateStore>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function snapshot(unifiedId: string, record: Record<string, unknown>, extra: Partial<Snapshot> = {}): Snapshot {
	return { entity: 'contact', unifiedId, record, fieldModifiedAt: {}, syncedAt: '2026-01-01T00:00:00.000Z', ...extra };
}

function contract(name: string, openStore: Open): void {
	describe(`StateStore contract: ${name}`, () => {
		const open = closedAfterSuite(openStore);
		test('cursors are per source and entity, and overwrite', async () => {
			const store = await open();
			assert.equal(await store.getCursor('hubspot', 'contact'), undefined);
			await store.setCursor('hubspot', 'contact', '2026-01-01T00:00:00Z');
			await store.setCursor('hubspot', 'account', 'a');
			await store.setCursor('hubspot', 'contact', '2026-01-02T00:00:00Z');
			assert.equal(await store.getCursor('hubspot', 'contact'), '2026-01-02T00:00:00Z');
			assert.equal(await store.getCursor('hubspot', 'account'), 'a');
			assert.equal(await store.getCursor('salesforce', 'contact'), undefined);
			await store.close();
		});

		test('namespaces are isolated', async () => {
			const a = await open();
			const b = await open();
			await a.setCursor('zoho', 'lead', 'A');
			await a.kvPut('c', 'k', { v: 1 });
			assert.equal(await b.getCursor('zoho', 'lead'), undefined);
			assert.equal(await b.kvGet('c', 'k'), undefined);
			await a.close();
			await b.close();
		});

		test('cross-references: link, both lookups, batch, relink, unlink', async () => {
			const store = await open();
			await store.link({ entity: 'contact', unifiedId: 'u1', crm: 'salesforce', recordId: '003A' });
			await store.linkMany([
				{ entity: 'contact', unifiedId: 'u1', crm: 'hubspot', recordId: '101' },
				{ entity: 'contact', unifiedId: 'u2', crm: 'hubspot', recordId: '102' },
				{ entity: 'account', unifiedId: 'u1', crm: 'hubspot', recordId: 'acc-1' },
			]);
			assert.deepEqual(await store.getCrossRef('contact', 'u1'), { entity: 'contact', unifiedId: 'u1', ids: { salesforce: '003A', hubspot: '101' } });
			assert.equal(await store.findUnifiedId('contact', 'hubspot', '102'), 'u2');
			assert.equal(await store.findUnifiedId('account', 'hubspot', '101'), undefined, 'entity types are separate');
			const many = await store.findUnifiedIds('contact', 'hubspot', ['101', '102', 'nope']);
			assert.deepEqual([...many.entries()].sort(), [['101', 'u1'], ['102', 'u2']]);
			const refs = await store.getCrossRefs('contact', ['u1', 'u2', 'u3']);
			assert.deepEqual([...refs.keys()].sort(), ['u1', 'u2']);

			// Relinking u1's HubSpot record replaces the old one; moving 102 to u1 detaches it from u2.
			await store.link({ entity: 'contact', unifiedId: 'u1', crm: 'hubspot', recordId: '102' });
			assert.equal(await store.findUnifiedId('contact', 'hubspot', '101'), undefined);
			assert.equal(await store.findUnifiedId('contact', 'hubspot', '102'), 'u1');
			assert.equal(await store.getCrossRef('contact', 'u2'), undefined);

			assert.equal(await store.unlink('contact', 'salesforce', '003A'), true);
			assert.equal(await store.unlink('contact', 'salesforce', '003A'), false);
			assert.deepEqual((await store.getCrossRef('contact', 'u1'))?.ids, { hubspot: '102' });
			await store.close();
		});

		test('merging unified ids moves links and reports duplicates inside one CRM', async () => {
			const store = await open();
			await store.linkMany([
				{ entity: 'contact', unifiedId: 'keep', crm: 'salesforce', recordId: 'S1' },
				{ entity: 'contact', unifiedId: 'lose', crm: 'salesforce', recordId: 'S2' },
				{ entity: 'contact', unifiedId: 'lose', crm: 'pipedrive', recordId: 'P2' },
			]);
			await store.putSnapshots([snapshot('keep', { email: 'a@x.io' }), snapshot('lose', { email: 'a@x.io' })]);
			const result = await store.mergeUnifiedIds('contact', 'keep', 'lose');
			assert.deepEqual(result.crossRef.ids, { salesforce: 'S1', pipedrive: 'P2' });
			assert.deepEqual(result.displaced, [{ entity: 'contact', unifiedId: 'lose', crm: 'salesforce', recordId: 'S2' }]);
			assert.equal(await store.findUnifiedId('contact', 'pipedrive', 'P2'), 'keep');
			assert.equal(await store.findUnifiedId('contact', 'salesforce', 'S2'), undefined);
			assert.equal(await store.getCrossRef('contact', 'lose'), undefined);
			assert.equal(await store.getSnapshot('contact', 'lose'), undefined);
			assert.ok(await store.getSnapshot('contact', 'keep'));
			await store.close();
		});

		test('snapshots: put/get, batch, tombstone, delete', async () => {
			const store = await open();
			const s1 = snapshot('u1', { email: 'a@x.io', firstName: 'Ann', tags: ['x'] }, { fieldModifiedAt: { email: '2026-01-01T00:00:00.000Z' } });
			await store.putSnapshot(s1);
			assert.deepEqual(await store.getSnapshot('contact', 'u1'), s1);
			const batch = Array.from({ length: 1200 }, (_, i) => snapshot(`b${i}`, { n: i }));
			await store.putSnapshots(batch);
			const got = await store.getSnapshots('contact', batch.map((s) => s.unifiedId).concat('missing'));
			assert.equal(got.size, 1200);
			assert.deepEqual(got.get('b777')?.record, { n: 777 });
			await store.putSnapshot({ ...s1, deletedAt: '2026-02-01T00:00:00.000Z', deletedBy: 'hubspot' });
			assert.equal((await store.getSnapshot('contact', 'u1'))?.deletedBy, 'hubspot');
			assert.equal(await store.deleteSnapshot('contact', 'u1'), true);
			assert.equal(await store.getSnapshot('contact', 'u1'), undefined);
			await assert.rejects(store.putSnapshot({ entity: 'contact', unifiedId: '', record: {} } as unknown as Snapshot), StateStoreError);
			await store.close();
		});

		test('echo fingerprints match the written fields, are consumed once, and expire', async () => {
			const store = await open();
			const written = { email: 'a@x.io', phone: '+4930123' };
			await store.recordEchoes([echoFingerprint('hubspot', 'contact', '101', written)], 60_000);
			// The echoed change carries more fields than were written; only written ones count.
			const observed = { ...written, firstName: 'Ann', lastmodified: 'x' };
			assert.equal(await store.consumeEcho('hubspot', 'contact', '101', { ...observed, phone: '+49999' }), false, 'different value: not an echo');
			assert.equal(await store.consumeEcho('salesforce', 'contact', '101', observed), false, 'other CRM');
			assert.equal(await store.consumeEcho('hubspot', 'contact', '101', observed), true);
			assert.equal(await store.consumeEcho('hubspot', 'contact', '101', observed), false, 'consumed');

			await store.recordEchoes([echoFingerprint('hubspot', 'contact', '102', written)], 30);
			await sleep(80);
			assert.equal(await store.consumeEcho('hubspot', 'contact', '102', written), false, 'expired');
			await store.close();
		});

		test('echo fingerprints: matchEcho does not consume; consumeEchoes consumes exactly the matches', async () => {
			const store = await open();
			const written = { email: 'b@x.io', phone: '+4930124' };
			const other = { email: 'c@x.io' };
			await store.recordEchoes([echoFingerprint('hubspot', 'contact', '201', written), echoFingerprint('hubspot', 'contact', '201', other)], 60_000);
			const observed = { ...written, firstName: 'Bo' };
			assert.equal(await store.matchEcho('hubspot', 'contact', '201', { ...observed, phone: '+49999' }), undefined, 'different value: no match');
			assert.equal(await store.matchEcho('zoho', 'contact', '201', observed), undefined, 'other CRM');
			const match = await store.matchEcho('hubspot', 'contact', '201', observed);
			assert.deepEqual(match, echoFingerprint('hubspot', 'contact', '201', written));
			assert.deepEqual(await store.matchEcho('hubspot', 'contact', '201', observed), match, 'matching twice: still there');
			assert.equal(await store.consumeEchoes([match!]), 1);
			assert.equal(await store.matchEcho('hubspot', 'contact', '201', observed), undefined, 'consumed');
			assert.equal(await store.consumeEchoes([match!]), 0, 'consumed once');
			assert.equal(await store.consumeEcho('hubspot', 'contact', '201', other), true, 'the other write of the record is left alone');
			assert.equal(await store.consumeEchoes([]), 0);

			await store.recordEchoes([echoFingerprint('hubspot', 'contact', '202', written)], 30);
			await sleep(80);
			assert.equal(await store.matchEcho('hubspot', 'contact', '202', written), undefined, 'expired');
			await store.close();
			await assert.rejects(store.matchEcho('hubspot', 'contact', '201', observed), StateStoreError);
			await assert.rejects(store.consumeEchoes([match!]), StateStoreError);
		});

		test('idempotency keys: first claim wins, batch, TTL, release', async () => {
			const store = await open();
			assert.equal(await store.claimIdempotencyKey('evt-1', 60_000), true);
			assert.equal(await store.claimIdempotencyKey('evt-1', 60_000), false);
			assert.deepEqual(await store.claimIdempotencyKeys(['evt-1', 'evt-2', 'evt-2', 'evt-3'], 60_000), [false, true, false, true]);
			await store.releaseIdempotencyKey('evt-1');
			assert.equal(await store.claimIdempotencyKey('evt-1', 60_000), true, 'released keys can be claimed again');
			assert.equal(await store.claimIdempotencyKey('short', 30), true);
			await sleep(80);
			assert.equal(await store.claimIdempotencyKey('short', 30), true, 'expired keys can be claimed again');
			await assert.rejects(store.claimIdempotencyKey('x', 0), (e: unknown) => e instanceof StateStoreError && e.code === 'invalid-argument');
			await store.close();
		});

		test('idempotency claims are atomic under concurrency', async () => {
			const stores = await Promise.all([open(), open(), open()]);
			const ns = stores[0].namespace;
			const same = await Promise.all([open({ namespace: ns }), open({ namespace: ns }), open({ namespace: ns })]);
			const results = await Promise.all(same.flatMap((s) => Array.from({ length: 10 }, () => s.claimIdempotencyKey('race', 60_000))));
			assert.equal(results.filter(Boolean).length, 1);
			await Promise.all([...stores, ...same].map((s) => s.close()));
		});

		test('locks: exclusive, owner token, expiry, extend', async () => {
			const store = await open();
			const lock = await store.acquireLock('contact:u1', 60_000);
			assert.ok(lock);
			assert.equal(await store.acquireLock('contact:u1', 60_000), undefined);
			assert.equal(await store.releaseLock('contact:u1', 'not-the-owner'), false);
			assert.equal(await store.extendLock('contact:u1', lock.token, 60_000), true);
			assert.equal(await store.releaseLock('contact:u1', lock.token), true);
			const again = await store.acquireLock('contact:u1', 30);
			assert.ok(again);
			await sleep(80);
			const third = await store.acquireLock('contact:u1', 60_000);
			assert.ok(third, 'an expired lock can be taken');
			assert.equal(await store.releaseLock('contact:u1', again.token), false, 'the expired owner cannot release the new lock');
			assert.equal(await store.extendLock('contact:u1', again.token, 1000), false);
			await store.close();
		});

		test('inbox: add is idempotent by id, claim is oldest first per CRM, leased, counts attempts; delete removes', async () => {
			const store = await open();
			await store.inboxAdd({ id: 'n1', crm: 'zoho', payload: '{"ids":["1"]}' });
			await sleep(2);
			await store.inboxAdd({ id: 'n2', crm: 'zoho', payload: '{"ids":["2"],"name":"Zoë ✓"}' });
			await store.inboxAdd({ id: 'n1', crm: 'zoho', payload: '{"changed":true}' });
			await store.inboxAdd({ id: 'h1', crm: 'hubspot', payload: '[]' });
			const first = await store.inboxClaim('zoho', 60_000, 10);
			assert.deepEqual(first.map((e) => [e.id, e.crm, e.payload, e.attempts]), [
				['n1', 'zoho', '{"ids":["1"]}', 1],
				['n2', 'zoho', '{"ids":["2"],"name":"Zoë ✓"}', 1],
			]);
			assert.ok(first[0].addedAt <= first[1].addedAt && Math.abs(first[0].addedAt - Date.now()) < 60_000, 'addedAt is epoch ms');
			assert.deepEqual(await store.inboxClaim('zoho', 60_000, 10), [], 'leased: not handed out again');
			await store.inboxDelete('n1');
			await store.inboxDelete('n1');
			assert.deepEqual((await store.inboxClaim('hubspot', 60_000, 10)).map((e) => e.id), ['h1'], 'CRMs are separate');
			await store.inboxAdd({ id: 'b1', crm: 'zoho', box: 'crm-sync-account', payload: '{}' });
			assert.deepEqual(await store.inboxClaim('zoho', 60_000, 10, 'crm-sync-contact'), [], "another trigger's box is not handed out");
			const boxed = await store.inboxClaim('zoho', 60_000, 10, 'crm-sync-account');
			assert.deepEqual(boxed.map((e) => [e.id, e.box]), [['b1', 'crm-sync-account']], 'boxes are separate');
			await store.inboxDelete('b1');
			await store.inboxRelease('b1');
			assert.deepEqual(await store.inboxClaim('zoho', 0 + 60_000, 10, 'crm-sync-account'), [], 'deleted from its box');

			// An entry claimed and not deleted (the process died) is handed out again after its lease.
			await store.inboxAdd({ id: 'n3', crm: 'zoho', payload: '{}' });
			assert.deepEqual((await store.inboxClaim('zoho', 50, 1)).map((e) => e.id), ['n3']);
			await sleep(80);
			const again = await store.inboxClaim('zoho', 60_000, 10);
			assert.deepEqual(again.map((e) => [e.id, e.attempts]), [['n3', 2]]);
			// A run that failed releases its claim: the next claim retries the entry at once.
			await store.inboxRelease('n3');
			assert.deepEqual((await store.inboxClaim('zoho', 60_000, 10)).map((e) => [e.id, e.attempts]), [['n3', 3]]);
			await store.inboxRelease('gone'); // releasing what is not there is a no-op
			await assert.rejects(store.inboxAdd({ id: '', crm: 'zoho', payload: '{}' }), (e: unknown) => e instanceof StateStoreError && e.code === 'invalid-argument');
			await assert.rejects(store.inboxClaim('zoho', 0, 1), (e: unknown) => e instanceof StateStoreError && e.code === 'invalid-argument');
			// Kept across a restart (a new store on the same storage), and removed by clearNamespace.
			const reopened = await open({ namespace: store.namespace });
			await store.close();
			await sleep(5);
			await reopened.inboxAdd({ id: 'n4', crm: 'zoho', payload: '{}' });
			assert.deepEqual((await reopened.inboxClaim('zoho', 30, 10)).map((e) => e.id), ['n4']);
			await reopened.clearNamespace();
			await sleep(50);
			assert.deepEqual(await reopened.inboxClaim('zoho', 30, 10), []);
			await reopened.close();
		});

		test('inbox: concurrent claimers never get the same entry within a lease', async () => {
			const store = await open();
			const claimers = await Promise.all([open({ namespace: store.namespace }), open({ namespace: store.namespace }), open({ namespace: store.namespace })]);
			for (let i = 0; i < 60; i++) await store.inboxAdd({ id: `e${String(i).padStart(2, '0')}`, crm: 'zoho', payload: `{"i":${i}}` });
			const rounds = await Promise.all(claimers.flatMap((c) => Array.from({ length: 5 }, () => c.inboxClaim('zoho', 60_000, 5))));
			const ids = rounds.flat().map((e) => e.id);
			assert.equal(ids.length, 60, 'all 60 handed out by 15 claims of 5');
			assert.equal(new Set(ids).size, 60, 'no entry handed out twice');
			assert.ok(rounds.flat().every((e) => e.attempts === 1));
			await Promise.all([store, ...claimers].map((s) => s.close()));
		});

		test('review queue: enqueue, list in order with paging, resolve once, remove', async () => {
			const store = await open();
			const items = [];
			for (let i = 0; i < 5; i++) {
				items.push(await store.enqueueReview({ entity: 'contact', unifiedId: `u${i}`, reason: `conflict ${i}`, payload: { i, fields: ['email'] } }));
			}
			const page1 = await store.listReviews({ limit: 2 });
			assert.deepEqual(page1.items.map((r) => r.unifiedId), ['u0', 'u1']);
			assert.ok(page1.next);
			const page2 = await store.listReviews({ limit: 2, cursor: page1.next });
			assert.deepEqual(page2.items.map((r) => r.unifiedId), ['u2', 'u3']);
			const resolved = await store.resolveReview(items[1].id, { choice: 'source' });
			assert.equal(resolved?.status, 'resolved');
			assert.deepEqual(resolved?.resolution, { choice: 'source' });
			await assert.rejects(store.resolveReview(items[1].id, { choice: 'target' }), (e: unknown) => e instanceof StateStoreError && e.code === 'conflict');
			assert.equal(await store.resolveReview('unknown-id', {}), undefined);
			const open1 = await store.listReviews();
			assert.deepEqual(open1.items.map((r) => r.unifiedId), ['u0', 'u2', 'u3', 'u4']);
			assert.equal(open1.next, undefined);
			assert.equal((await store.listReviews({ status: 'all' })).items.length, 5);
			assert.deepEqual((await store.getReview(items[0].id))?.payload, { i: 0, fields: ['email'] });
			assert.equal(await store.removeReview(items[0].id), true);
			assert.equal(await store.getReview(items[0].id), undefined);
			await store.close();
		});

		test('audit log: newest first, bounded, values redacted unless enabled', async () => {
			const store = await open({ auditMaxEntries: 5 });
			for (let i = 0; i < 4; i++) {
				await store.appendAudit([
					{ kind: 'conflict.resolved', fields: ['email'], winner: 'hubspot', strategy: 'last-modified-wins', values: { email: `p${i}@x.io` } },
					{ kind: 'conflict.resolved', fields: ['phone'], winner: 'salesforce', details: { i } },
				]);
			}
			const entries = await store.listAudit();
			assert.equal(entries.length, 5);
			assert.deepEqual(entries.map((e) => e.details?.i ?? 'email'), [3, 'email', 2, 'email', 1]);
			assert.ok(entries.every((e) => e.values === undefined), 'values are redacted by default');
			assert.ok(entries[0].seq > entries[1].seq);
			assert.equal(typeof entries[0].at, 'string');
			const older = await store.listAudit({ beforeSeq: entries[1].seq, limit: 2 });
			assert.deepEqual(older.map((e) => e.seq), [entries[2].seq, entries[3].seq]);

			const withValues = await open({ auditValues: true });
			await withValues.appendAudit([{ kind: 'x', values: { email: 'a@x.io' } }]);
			assert.deepEqual((await withValues.listAudit())[0].values, { email: 'a@x.io' });
			await store.close();
			await withValues.close();
		});

		test('token bucket: burst up to capacity, then refill over time', async () => {
			const store = await open();
			const options = { capacity: 3, refillPerSecond: 20 };
			const taken = [];
			for (let i = 0; i < 4; i++) taken.push(await store.takeTokens('hubspot:portal1', options));
			assert.deepEqual(taken.map((t) => t.granted), [true, true, true, false]);
			assert.ok(taken[3].retryAfterMs > 0 && taken[3].retryAfterMs <= 50, `retryAfter ${taken[3].retryAfterMs}`);
			await sleep(120);
			assert.equal((await store.takeTokens('hubspot:portal1', options, 2)).granted, true);
			await assert.rejects(store.takeTokens('b', options, 4), StateStoreError);
			await store.close();
		});

		test('window counters count within a window and reset after it', async () => {
			const store = await open();
			const first = await store.incrementWindowCounter('sf:daily', 300);
			const second = await store.incrementWindowCounter('sf:daily', 300, 5);
			// A window boundary may fall between the two calls; then the second starts fresh.
			assert.ok(second.count === first.count + 5 || second.count === 5);
			assert.ok(Date.parse(second.resetAt) > Date.now() - 10);
			await sleep(Date.parse(second.resetAt) - Date.now() + 20);
			assert.equal((await store.incrementWindowCounter('sf:daily', 300)).count, 1);
			await store.close();
		});

		test('key/value: put/get/delete, batch, ordered prefix scan with paging', async () => {
			const store = await open();
			await store.kvPut('dedupe', 'rec:1', { email: 'a@x.io' });
			assert.deepEqual(await store.kvGet('dedupe', 'rec:1'), { email: 'a@x.io' });
			assert.equal(await store.kvGet('other', 'rec:1'), undefined);
			const entries = Array.from({ length: 25 }, (_, i) => ({ key: `block:smith:${String(i).padStart(3, '0')}`, value: i }));
			await store.kvPutMany('dedupe', [...entries, { key: 'block:smyth:1', value: 'x' }, { key: 'block:smitha', value: 'y' }, { key: 'block:smit', value: 'z' }]);
			const got = await store.kvGetMany('dedupe', ['block:smith:003', 'nope']);
			assert.deepEqual([...got.entries()], [['block:smith:003', 3]]);

			const seen: string[] = [];
			let after: string | undefined;
			do {
				const page = await store.kvScan<number>('dedupe', { prefix: 'block:smith:', limit: 10, after });
				seen.push(...page.items.map((e) => e.key));
				after = page.next;
			} while (after);
			assert.deepEqual(seen, entries.map((e) => e.key));
			const all = await store.kvScan('dedupe', { limit: 1000 });
			assert.equal(all.items.length, 29);
			assert.deepEqual(all.items.slice(0, 2).map((e) => e.key), ['block:smit', 'block:smith:000']);

			assert.equal(await store.kvDelete('dedupe', 'rec:1'), true);
			assert.equal(await store.kvDelete('dedupe', 'rec:1'), false);
			assert.equal(await store.kvDeleteMany('dedupe', ['block:smyth:1', 'block:smitha', 'nope']), 2);
			assert.equal((await store.kvScan('dedupe', { prefix: 'block:sm' })).items.length, 26);
			await store.close();
		});

		test('clearNamespace removes everything of the namespace only', async () => {
			const store = await open();
			const other = await open();
			await store.setCursor('hubspot', 'contact', 'c');
			await store.link({ entity: 'contact', unifiedId: 'u', crm: 'zoho', recordId: 'z' });
			await store.kvPut('c', 'k', 1);
			await other.kvPut('c', 'k', 2);
			await store.clearNamespace();
			assert.equal(await store.getCursor('hubspot', 'contact'), undefined);
			assert.equal(await store.findUnifiedId('contact', 'zoho', 'z'), undefined);
			assert.equal(await store.kvGet('c', 'k'), undefined);
			assert.equal(await other.kvGet('c', 'k'), 2);
			await store.close();
			await other.close();
		});

		test('snapshots keep the resolved-truth fields (revision, fieldSource, held); withLock serialises', async () => {
			const store = await open();
			const held = { hubspot: { at: '2026-01-01T00:00:01.000Z', fields: { phone: heldValueHash('+1415') } } };
			await store.putSnapshot(snapshot('rt', { phone: '+1415' }, { revision: 3, fieldSource: { phone: 'hubspot' }, held }));
			const read = await store.getSnapshot('contact', 'rt');
			assert.equal(read?.revision, 3);
			assert.deepEqual(read?.fieldSource, { phone: 'hubspot' });
			assert.deepEqual(read?.held, held);
			// Read-modify-write of one counter by 8 concurrent callers: no lost update under the lock.
			await store.kvPut('c', 'counter', 0);
			await Promise.all(
				Array.from({ length: 8 }, () =>
					withLock(store, 'counter', async () => {
						const value = (await store.kvGet<number>('c', 'counter')) ?? 0;
						await sleep(2);
						await store.kvPut('c', 'counter', value + 1);
					}),
				),
			);
			assert.equal(await store.kvGet('c', 'counter'), 8);
			await store.acquireLock('taken', 60_000);
			await assert.rejects(withLock(store, 'taken', async () => 1, { waitMs: 100 }), LockTimeoutError);
			// A holder working longer than the lock's lifetime keeps it (renewed), and frees it at the end.
			const intruder = await withLock(store, 'long', async () => {
				await sleep(900);
				return store.acquireLock('long', 300);
			}, { ttlMs: 300 });
			assert.equal(intruder, undefined, 'nobody else takes a lock whose holder is still working');
			assert.ok(await store.acquireLock('long', 300), 'released after the work');
			await store.close();
		});

		test('a holder that lost its lock is told (AbortSignal), stops before its write, and the caller gets LockLostError', async () => {
			const store = await open();
			const intruder = await open({ namespace: store.namespace });
			let taken: Awaited<ReturnType<StateStore['acquireLock']>>;
			const work = withLock(
				store,
				'lost',
				async (signal) => {
					// The holder stalls past the lock's lifetime (a long GC pause, a blocked event loop): no renewal runs meanwhile.
					Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 450);
					taken = await intruder.acquireLock('lost', 60_000);
					await sleep(300);
					signal.throwIfAborted();
					await store.kvPut('c', 'written', 'by a holder without its lock');
				},
				{ ttlMs: 300 },
			);
			await assert.rejects(work, (e: unknown) => e instanceof LockLostError && e.resource === 'lost' && /expired/.test(e.message));
			assert.ok(taken, 'another holder took the expired lock');
			assert.equal(await store.kvGet('c', 'written'), undefined, 'the first holder stopped before its write');
			assert.equal(await intruder.releaseLock('lost', taken.token), true, "the new holder's lock was left alone");

			// Work that ignores the signal and finishes anyway: its caller still learns that the lock was lost.
			const ignored = withLock(store, 'lost-2', async () => {
				Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 450);
				await intruder.acquireLock('lost-2', 60_000);
				await sleep(300);
				return 'done';
			}, { ttlMs: 300 });
			await assert.rejects(ignored, LockLostError);
			await store.close();
			await intruder.close();
		});

		test('a closed store rejects with code closed', async () => {
			const store = await open();
			await store.close();
			await assert.rejects(store.getCursor('hubspot', 'contact'), (e: unknown) => e instanceof StateStoreError && e.code === 'closed');
		});
	});
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-state-contract-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

contract('embedded (node:sqlite)', (overrides = {}) =>
	openStateStore({ backend: 'embedded', path: path.join(tmp, 'state.sqlite'), namespace: randomUUID(), ...overrides } as StateStoreConfig),
);

let redis: RedisServer;
before(async () => {
	redis = await startRedisServer();
});
after(async () => {
	await redis?.stop();
});

contract('redis (real redis-server)', (overrides = {}) =>
	openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: randomUUID(), ...overrides } as StateStoreConfig),
);
