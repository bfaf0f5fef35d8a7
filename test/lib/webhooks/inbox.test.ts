// The inbox of a CRM that never redelivers (lib/webhooks/inbox.ts) on a real embedded store: a
// notification kept before its answer is processed once, survives a failed or crashed run, and
// is handed on as given up after its last attempt, never silently dropped.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { openStateStore, type StateStore } from '../../../lib/state';
import type { CapturedEvent } from '../../../lib/events';
import { INBOX_MAX_ATTEMPTS, keepInInbox, processInbox } from '../../../lib/webhooks/inbox';
import { closedAfterSuite } from '../state/suite-stores';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-inbox-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function event(recordId: string): CapturedEvent {
	return { eventId: `zoho:${recordId}:1`, source: 'zoho', entity: 'contact', operation: 'update', recordId, occurredAt: '2026-12-01T10:00:00.000Z' };
}

const ids = (events: CapturedEvent[]) => events.map((e) => e.recordId).sort();

describe('Zoho inbox', () => {
	const open = closedAfterSuite(() => openStateStore({ backend: 'embedded', path: path.join(tmp, 'state.sqlite'), namespace: randomUUID() }));

	test('a kept notification is processed once and then removed', async () => {
		const store = await open();
		await keepInInbox(store, 'zoho', [event('1'), event('2')]);
		const seen: string[][] = [];
		const run = await processInbox(store, 'zoho', async (events) => seen.push(ids(events)));
		assert.equal(run.ok, true);
		assert.deepEqual(seen, [['1', '2']]);
		const again = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(again.ok && again.result, []);
	});

	test('a failed run keeps the notification; a later run processes it with the new one', async () => {
		const store: StateStore = await open();
		await keepInInbox(store, 'zoho', [event('a')]);
		const failed = await processInbox(store, 'zoho', async () => {
			throw new Error('Zoho unavailable');
		});
		assert.equal(failed.ok, false);
		assert.equal(!failed.ok && failed.retryLater, 1);
		assert.deepEqual(!failed.ok && failed.givenUp, []);
		// The failed one was released: the next notification's run retries it at once, with its own.
		await keepInInbox(store, 'zoho', [event('b')]);
		const next = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(next.ok && next.result, ['a', 'b']);
	});

	test('a run that crashed after its claim leaves the notification to the next run once the lease is over', async () => {
		const store = await open();
		await keepInInbox(store, 'zoho', [event('c')]);
		const crashed = await store.inboxClaim('zoho', 200, 10); // claimed, never processed nor removed
		assert.deepEqual(crashed.map((e) => e.crm), ['zoho']);
		const during = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(during.ok && during.result, [], 'still leased to the crashed run');
		await new Promise((resolve) => setTimeout(resolve, 250));
		const leaseOver = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(leaseOver.ok && leaseOver.result, ['c']);
	});

	test('after its last attempt a notification is handed on as given up, with its events and the reason', async () => {
		const store = await open();
		await keepInInbox(store, 'zoho', [event('x'), event('y')]);
		const fail = async (): Promise<never> => {
			throw new Error('Zoho still unavailable');
		};
		for (let attempt = 1; attempt < INBOX_MAX_ATTEMPTS; attempt++) {
			const run = await processInbox(store, 'zoho', fail);
			assert.ok(!run.ok && run.retryLater === 1 && run.givenUp.length === 0, `attempt ${attempt} keeps it`);
		}
		const last = await processInbox(store, 'zoho', fail);
		assert.equal(last.ok, false);
		if (last.ok) return;
		assert.equal(last.retryLater, 0);
		assert.equal(last.givenUp.length, 1);
		assert.deepEqual(ids(last.givenUp[0].events), ['x', 'y']);
		assert.equal(last.givenUp[0].attempts, INBOX_MAX_ATTEMPTS);
		assert.match(last.givenUp[0].reason, /still unavailable/);
		const after = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(after.ok && after.result, [], 'removed once handed on');
	});

	test('inboxes are per CRM and per trigger (box)', async () => {
		const store = await open();
		await keepInInbox(store, 'zoho', [event('w')], 'crm-sync-account');
		const otherTrigger = await processInbox(store, 'zoho', async (events) => ids(events), 'crm-sync-contact');
		assert.deepEqual(otherTrigger.ok && otherTrigger.result, [], "another trigger of the CRM does not take this trigger's notification");
		const ownTrigger = await processInbox(store, 'zoho', async (events) => ids(events), 'crm-sync-account');
		assert.deepEqual(ownTrigger.ok && ownTrigger.result, ['w']);
		await keepInInbox(store, 'zoho', [event('z')]);
		const other = await processInbox(store, 'hubspot', async (events) => ids(events));
		assert.deepEqual(other.ok && other.result, []);
		const own = await processInbox(store, 'zoho', async (events) => ids(events));
		assert.deepEqual(own.ok && own.result, ['z']);
	});
});
