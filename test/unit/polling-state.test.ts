// lib/polling/state.ts on a real embedded state store: position and handled keys in one write,
// per CRM + entity and namespace, pruning by stamp and generation, reset.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { openStateStore, type StateStore } from '../../lib/state';
import { commitState, cursorKey, handledKeys, loadState, POLL_COLLECTION, pruneHandled, resetPolling, seenKey, type PollState } from '../../lib/polling/state';

let dir: string;
let store: StateStore;

before(async () => {
	dir = mkdtempSync(join(tmpdir(), 'poll-state-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'unit', path: join(dir, 'state.db') });
});

after(async () => {
	await store.close();
	rmSync(dir, { recursive: true, force: true });
});

const state = (gen: number, watermark: string): PollState => ({ v: 1, config: 'incremental', caughtUp: 'c', sweepSince: '1970-01-01T00:00:00.000Z', watermark, sweeps: 1, gen });

test('the position and the handled keys are stored together, per CRM + entity and namespace', async () => {
	const keys = [seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '1'), seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'deleted', '2')];
	await commitState(store, 'hubspot', 'contact', state(0, '2026-01-01T00:00:00.000Z'), keys);
	assert.deepEqual(await loadState(store, 'hubspot', 'contact'), state(0, '2026-01-01T00:00:00.000Z'));
	assert.equal(await loadState(store, 'hubspot', 'account'), undefined);
	assert.equal(await loadState(store, 'zoho', 'contact'), undefined);
	const other = await openStateStore({ backend: 'embedded', namespace: 'other', path: join(dir, 'state.db') });
	assert.equal(await loadState(other, 'hubspot', 'contact'), undefined);
	await other.close();

	const probe = [...keys, seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '2'), seenKey('hubspot', 'contact', 1, '2026-01-01T00:00:00.000Z', 'changed', '1')];
	assert.deepEqual([...(await handledKeys(store, probe))].sort(), [...keys].sort());
});

test('pruning drops keys older than the re-read floor and of other generations, keeps the rest', async () => {
	const key = (gen: number, stamp: string, id: string) => seenKey('zoho', 'contact', gen, stamp, 'changed', id);
	const old = [key(3, '2026-01-01T00:00:00.000Z', 'a'), key(3, '2026-01-01T00:00:04.999Z', 'b'), key(2, '2026-06-01T00:00:00.000Z', 'c'), key(12, '2026-06-01T00:00:00.000Z', 'd')];
	const young = [key(3, '2026-01-01T00:00:05.000Z', 'e'), key(3, '2026-01-01T00:01:00.000Z', 'f')];
	await commitState(store, 'zoho', 'contact', state(3, '2026-01-01T00:01:00.000Z'), [...old, ...young]);
	assert.equal(await pruneHandled(store, 'zoho', 'contact', 3, '2026-01-01T00:00:05.000Z'), old.length);
	assert.deepEqual([...(await handledKeys(store, [...old, ...young]))].sort(), [...young].sort());
	// Another CRM's keys are untouched.
	assert.equal((await handledKeys(store, [seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '1')])).size, 1);
});

test('pruning many keys goes on across scan pages', async () => {
	const keys = Array.from({ length: 2500 }, (_, i) => seenKey('dynamics', 'account', 0, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(), 'changed', String(i)));
	await commitState(store, 'dynamics', 'account', state(0, '2026-01-01T00:00:02.499Z'), keys);
	assert.equal(await pruneHandled(store, 'dynamics', 'account', 0, '2026-01-01T00:00:02.000Z'), 2000);
	assert.equal((await handledKeys(store, keys)).size, 500);
});

test('reset forgets the position', async () => {
	await resetPolling(store, 'hubspot', 'contact');
	assert.equal(await loadState(store, 'hubspot', 'contact'), undefined);
	assert.equal(await store.kvGet(POLL_COLLECTION, cursorKey('hubspot', 'contact')), undefined);
});
