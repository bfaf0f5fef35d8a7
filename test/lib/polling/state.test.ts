// lib/polling/state.ts on a real embedded state store: position and handled keys in one write,
// per CRM + entity and namespace, pruning by stamp and generation, reset; a collection of its own
// and a dry run's position kept in memory (bulk sync).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { openStateStore, type StateStore } from '../../../lib/state';
import { cursorKey, PollPosition, POLL_COLLECTION, seenKey, type PollState } from '../../../lib/polling/state';

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
	await new PollPosition(store).commit('hubspot', 'contact', state(0, '2026-01-01T00:00:00.000Z'), keys);
	assert.deepEqual(await new PollPosition(store).load('hubspot', 'contact'), state(0, '2026-01-01T00:00:00.000Z'));
	assert.equal(await new PollPosition(store).load('hubspot', 'account'), undefined);
	assert.equal(await new PollPosition(store).load('zoho', 'contact'), undefined);
	const other = await openStateStore({ backend: 'embedded', namespace: 'other', path: join(dir, 'state.db') });
	assert.equal(await new PollPosition(other).load('hubspot', 'contact'), undefined);
	await other.close();

	const probe = [...keys, seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '2'), seenKey('hubspot', 'contact', 1, '2026-01-01T00:00:00.000Z', 'changed', '1')];
	assert.deepEqual([...(await new PollPosition(store).handled(probe))].sort(), [...keys].sort());
});

test('pruning drops keys older than the re-read floor and of other generations, keeps the rest', async () => {
	const key = (gen: number, stamp: string, id: string) => seenKey('zoho', 'contact', gen, stamp, 'changed', id);
	const old = [key(3, '2026-01-01T00:00:00.000Z', 'a'), key(3, '2026-01-01T00:00:04.999Z', 'b'), key(2, '2026-06-01T00:00:00.000Z', 'c'), key(12, '2026-06-01T00:00:00.000Z', 'd')];
	const young = [key(3, '2026-01-01T00:00:05.000Z', 'e'), key(3, '2026-01-01T00:01:00.000Z', 'f')];
	await new PollPosition(store).commit('zoho', 'contact', state(3, '2026-01-01T00:01:00.000Z'), [...old, ...young]);
	assert.equal(await new PollPosition(store).prune('zoho', 'contact', 3, '2026-01-01T00:00:05.000Z'), old.length);
	assert.deepEqual([...(await new PollPosition(store).handled([...old, ...young]))].sort(), [...young].sort());
	// Another CRM's keys are untouched.
	assert.equal((await new PollPosition(store).handled([seenKey('hubspot', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '1')])).size, 1);
});

test('pruning many keys goes on across scan pages', async () => {
	const keys = Array.from({ length: 2500 }, (_, i) => seenKey('dynamics', 'account', 0, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(), 'changed', String(i)));
	await new PollPosition(store).commit('dynamics', 'account', state(0, '2026-01-01T00:00:02.499Z'), keys);
	assert.equal(await new PollPosition(store).prune('dynamics', 'account', 0, '2026-01-01T00:00:02.000Z'), 2000);
	assert.equal((await new PollPosition(store).handled(keys)).size, 500);
});

test('reset forgets the position', async () => {
	await new PollPosition(store).reset('hubspot', 'contact');
	assert.equal(await new PollPosition(store).load('hubspot', 'contact'), undefined);
	assert.equal(await store.kvGet(POLL_COLLECTION, cursorKey('hubspot', 'contact')), undefined);
});

test('a position in a collection of its own leaves the default one alone; a dry run reads it but never stores what it commits', async () => {
	const own = new PollPosition(store, 'bulk.polling');
	const key = seenKey('pipedrive', 'contact', 0, '2026-01-01T00:00:00.000Z', 'changed', '7');
	await own.commit('pipedrive', 'contact', state(0, '2026-01-01T00:00:00.000Z'), [key]);
	assert.deepEqual(await own.load('pipedrive', 'contact'), state(0, '2026-01-01T00:00:00.000Z'));
	assert.equal(await new PollPosition(store).load('pipedrive', 'contact'), undefined, 'the default collection is untouched');

	const dry = new PollPosition(store, 'bulk.polling', true);
	assert.deepEqual(await dry.load('pipedrive', 'contact'), state(0, '2026-01-01T00:00:00.000Z'), 'a dry run starts from the stored position');
	const later = seenKey('pipedrive', 'contact', 0, '2026-01-02T00:00:00.000Z', 'changed', '8');
	await dry.commit('pipedrive', 'contact', state(0, '2026-01-02T00:00:00.000Z'), [later]);
	assert.deepEqual(await dry.load('pipedrive', 'contact'), state(0, '2026-01-02T00:00:00.000Z'), 'the dry run reads back its own commit');
	assert.deepEqual([...(await dry.handled([key, later]))].sort(), [key, later].sort());
	assert.equal(await dry.prune('pipedrive', 'contact', 1, '2027-01-01T00:00:00.000Z'), 0);
	assert.deepEqual(await store.kvGet('bulk.polling', cursorKey('pipedrive', 'contact')), state(0, '2026-01-01T00:00:00.000Z'), 'the stored position did not move');
	assert.deepEqual([...(await own.handled([key, later]))], [key]);
});
