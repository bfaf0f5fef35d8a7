// UpsertWriter with records whose snapshot is the resolved truth: it writes the newest resolved
// values at write time (under a lock per record and CRM), skips a CRM that already holds them,
// and leaves echo fingerprints of what it wrote. Real HubSpot sandbox over HTTP; embedded store
// and a real redis-server.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { resolveAgainstState, type ConflictOptions } from '../../../lib/conflict';
import { createConnector } from '../../../lib/connectors';
import { unifiedValues } from '../../../lib/events/echo';
import { openStateStore, type StateStore, type StateStoreConfig } from '../../../lib/state';
import { writeByOperation } from '../../../lib/sync/route-by-operation';
import { UpsertWriter, type InputItem } from '../../../lib/sync/upsert-writer';
import { startRedisServer, type RedisServer } from '../state/redis-server';
import { closedAfterSuite } from '../state/suite-stores';

const LMW: ConflictOptions = { strategy: 'last-modified-wins' };
let sandbox: Sandbox;
let redis: RedisServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-conflict-writer-'));

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot'] });
	redis = await startRedisServer();
});
after(async () => {
	await sandbox?.stop();
	await redis?.stop();
	fs.rmSync(tmp, { recursive: true, force: true });
});

function writer(store: StateStore, operation: 'upsert' | 'delete' = 'upsert'): UpsertWriter {
	const connector = createConnector('hubspot', { accessToken: 'pat-sandbox', baseUrl: sandbox.urls.hubspot! });
	return new UpsertWriter(
		{ crm: 'hubspot', entity: 'contact', operation, inputFormat: 'crm', matchKey: 'email', dryRun: false, unchangedAgainst: 'snapshot' as const, recordEchoes: true, continueOnFail: false, recordState: true },
		() => connector,
		async () => store,
	);
}

const deleter = (store: StateStore) => writer(store, 'delete');

/** What the unified → HubSpot Field Mapper gives the upsert node (HubSpot field names). */
const item = (unifiedId: string, email: string, phone: string, index = 0): InputItem => ({ index, unifiedId, record: { email, firstname: 'Ada', lastname: 'Lovelace', phone } });

function hubspotContact(email: string): Record<string, unknown>[] {
	const rows = (sandbox.emulators.hubspot!.dump() as Record<string, Array<{ properties: Record<string, unknown>; archived?: boolean }>>).contacts ?? [];
	return rows.filter((r) => r.properties.email === email && !r.archived).map((r) => r.properties);
}

function suite(name: string, openStore: () => Promise<StateStore>): void {
	describe(`writer with the resolved truth: ${name}`, () => {
		const open = closedAfterSuite(openStore);

		test('a stale item writes the newest truth; a second write is skipped; the write leaves an echo fingerprint', async () => {
			const store = await open();
			const email = `ada.${randomUUID().slice(0, 8)}@example.com`;
			const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
			const [first] = await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			assert.equal(first.ok, true, JSON.stringify(first.json));
			const hubspotId = String(first.json.id);
			assert.equal(await store.findUnifiedId('contact', 'hubspot', hubspotId), created.unifiedId, 'linked to the unified id');

			// A newer phone from Salesforce is committed; an execution still carrying the old phone writes the new one.
			await store.link({ entity: 'contact', unifiedId: created.unifiedId, crm: 'salesforce', recordId: 'sf-1' });
			await resolveAgainstState(store, { entity: 'contact', source: 'salesforce', recordId: 'sf-1', record: { phone: '+14155550199' }, modifiedAt: new Date() }, LMW);
			const [stale] = await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			assert.equal(stale.json.status, 'updated', JSON.stringify(stale.json));
			const [contact] = hubspotContact(email);
			assert.equal(contact.phone, '+14155550199');
			assert.equal(hubspotContact(email).length, 1, 'no duplicate');

			const [again] = await writer(store).run([item(created.unifiedId, email, '+14155550199')]);
			assert.equal(again.json.status, 'unchanged', 'HubSpot holds the truth: no write');

			// The snapshot stays the truth (field times untouched by the write); HubSpot is known to hold it.
			const snap = await store.getSnapshot('contact', created.unifiedId);
			assert.equal(snap?.fieldSource?.phone, 'salesforce');
			assert.ok(snap?.held?.hubspot, 'held values of HubSpot recorded');
			assert.equal(await store.consumeEcho('hubspot', 'contact', hubspotId, unifiedValues('hubspot', 'contact', contact)), true, 'the echo of the write is recognised');
		});

		test('a truth committed while the CRM takes the write is written by the same writer in another round', async () => {
			const store = await open();
			const email = `slow.${randomUUID().slice(0, 8)}@example.com`;
			const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
			await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			await store.link({ entity: 'contact', unifiedId: created.unifiedId, crm: 'salesforce', recordId: 'sf-slow' });
			await resolveAgainstState(store, { entity: 'contact', source: 'salesforce', recordId: 'sf-slow', record: { phone: '+14155550111' }, modifiedAt: new Date(Date.now() - 1000) }, LMW);
			sandbox.emulators.hubspot!.setFaults({ latencyMs: 800 });
			try {
				const writing = writer(store).run([item(created.unifiedId, email, '+14155550111')]);
				await new Promise((r) => setTimeout(r, 300));
				// Committed while HubSpot still takes the write of the previous truth; its own writer would wait on the lock.
				await resolveAgainstState(store, { entity: 'contact', source: 'salesforce', recordId: 'sf-slow', record: { phone: '+14155550122' }, modifiedAt: new Date() }, LMW);
				const [result] = await writing;
				assert.equal(result.ok, true, JSON.stringify(result.json));
			} finally {
				sandbox.emulators.hubspot!.setFaults({});
			}
			assert.equal(hubspotContact(email)[0].phone, '+14155550122', 'HubSpot ends with the truth committed during the write');
		});

		test('a late write of a record deleted after it was resolved does not bring it back', async () => {
			const store = await open();
			const email = `late.${randomUUID().slice(0, 8)}@example.com`;
			const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
			const [first] = await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			const [deleted] = await deleter(store).run([{ index: 0, unifiedId: created.unifiedId, record: { crmId: first.json.id } }]);
			assert.equal(deleted.json.status, 'deleted', JSON.stringify(deleted.json));
			// An execution that resolved a change before the delete writes late.
			const [late] = await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			assert.equal(late.ok, false);
			assert.equal(late.json.code, 'STATE_CHANGED', JSON.stringify(late.json));
			assert.equal(hubspotContact(email).length, 0, 'not re-created');
			assert.ok((await store.getSnapshot('contact', created.unifiedId))?.deletedAt, 'still a tombstone');
		});

		test('a slow write by email that lands on a record another unified id took meanwhile leaves it to that id and writes its values back', async () => {
			const store = await open();
			const email = `taken.${randomUUID().slice(0, 8)}@example.com`;
			// The first identity of the contact: its first write to HubSpot is slow (as a timed-out, retried call would be).
			const first = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
			sandbox.emulators.hubspot!.setFaults({ latencyMs: 1500 });
			const slow = writer(store).run([item(first.unifiedId, email, '+14155550100')]);
			await new Promise((r) => setTimeout(r, 200));
			sandbox.emulators.hubspot!.setFaults({});
			// Meanwhile the contact is synced under a second identity (deleted and created again elsewhere), which reaches HubSpot first.
			const second = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Grace', lastName: 'Hopper', phone: '+14155550199' }, modifiedAt: new Date() }, LMW);
			const [fast] = await writer(store).run([{ index: 0, unifiedId: second.unifiedId, record: { email, firstname: 'Grace', lastname: 'Hopper', phone: '+14155550199' } }]);
			assert.equal(fast.ok, true, JSON.stringify(fast.json));
			const hubspotId = String(fast.json.id);

			const [late] = await slow;
			assert.equal(late.ok, false, JSON.stringify(late.json));
			assert.equal(late.json.code, 'WRITE_SUPERSEDED', JSON.stringify(late.json));
			assert.equal(late.json.id, hubspotId);
			assert.equal(await store.findUnifiedId('contact', 'hubspot', hubspotId), second.unifiedId, 'the record stays linked to the identity that took it');
			const contacts = hubspotContact(email);
			assert.equal(contacts.length, 1, 'no duplicate');
			assert.equal(contacts[0].phone, '+14155550199', "the second identity's values are written back over the late write");
			assert.equal(contacts[0].firstname, 'Grace');
			assert.ok((await store.getSnapshot('contact', second.unifiedId))?.held?.hubspot, 'HubSpot is known to hold them again');
		});

		test('a newer truth found by email on a record of another unified id takes it over (one contact synced under two ids)', async () => {
			const store = await open();
			const email = `twice.${randomUUID().slice(0, 8)}@example.com`;
			const older = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
			const [first] = await writer(store).run([item(older.unifiedId, email, '+14155550100')]);
			assert.equal(first.ok, true, JSON.stringify(first.json));
			const newer = await resolveAgainstState(store, { entity: 'contact', source: 'salesforce', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550177' }, modifiedAt: new Date() }, LMW);
			const [taken] = await writer(store).run([item(newer.unifiedId, email, '+14155550177')]);
			assert.equal(taken.ok, true, JSON.stringify(taken.json));
			assert.equal(taken.json.id, first.json.id, 'the same HubSpot record');
			assert.equal(await store.findUnifiedId('contact', 'hubspot', String(first.json.id)), newer.unifiedId);
			assert.equal(hubspotContact(email)[0].phone, '+14155550177');
		});

		test('a record changed in its CRM after a delete that never reached it there is deleted there (Correct Source → From Item)', async () => {
			const store = await open();
			const email = `owed.${randomUUID().slice(0, 8)}@example.com`;
			const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 60_000) }, LMW);
			const [first] = await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
			const hubspotId = String(first.json.id);
			// Deleted in Dynamics and in the others, but the delete to HubSpot failed: the tombstone is there, the HubSpot link too.
			const snapshot = (await store.getSnapshot('contact', created.unifiedId))!;
			await store.putSnapshot({ ...snapshot, deletedAt: new Date(Date.now() - 30_000).toISOString(), deletedBy: 'zoho' });
			const change = await resolveAgainstState(store, { entity: 'contact', source: 'hubspot', recordId: hubspotId, record: { phone: '+14155550177' }, modifiedAt: new Date() }, LMW);
			assert.equal(change.action, 'delete', change.reason);
			assert.equal(change.correctSource, true);

			const connector = createConnector('hubspot', { accessToken: 'pat-sandbox', baseUrl: sandbox.urls.hubspot! });
			const job = { crm: 'hubspot' as const, entity: 'contact' as const, inputFormat: 'crm' as const, matchKey: 'email', dryRun: false, unchangedAgainst: 'snapshot' as const, recordEchoes: true, continueOnFail: false, recordState: true };
			const event = { operation: 'delete', source: 'hubspot', unifiedId: created.unifiedId };
			// Without the flag, a delete whose source is this CRM counts as made here.
			const [madeHere] = await writeByOperation(job, [{ index: 0, unifiedId: created.unifiedId, record: {}, event }], () => connector, async () => store);
			assert.equal(madeHere.json.status, 'absent', JSON.stringify(madeHere.json));
			assert.equal(hubspotContact(email).length, 1);
			const [owed] = await writeByOperation(job, [{ index: 0, unifiedId: created.unifiedId, record: {}, event: { ...event, deleteInSource: true } }], () => connector, async () => store);
			assert.equal(owed.json.status, 'deleted', JSON.stringify(owed.json));
			assert.equal(owed.json.id, hubspotId);
			assert.equal(hubspotContact(email).length, 0);
			assert.equal(await store.findUnifiedId('contact', 'hubspot', hubspotId), undefined, 'unlinked');
		});

		// Directly, and as the templates send it: a delete event routed by its operation (writeByOperation),
		// which must not take "no link yet" for "never synced here".
		for (const via of ['the writer', 'the event route'] as const) {
			test(`a delete that arrives while the first write to the CRM is in flight waits for it and deletes what it wrote (${via})`, async () => {
				const store = await open();
				const email = `inflight.${randomUUID().slice(0, 8)}@example.com`;
				const pipedriveId = randomUUID();
				const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: pipedriveId, record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
				sandbox.emulators.hubspot!.setFaults({ latencyMs: 800 });
				try {
					const writing = writer(store).run([item(created.unifiedId, email, '+14155550100')]);
					await new Promise((r) => setTimeout(r, 300));
					// Deleted in Pipedrive while HubSpot still takes the create: the delete item has no HubSpot id yet.
					await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: pipedriveId, deleted: true, modifiedAt: new Date() }, LMW);
					const connector = createConnector('hubspot', { accessToken: 'pat-sandbox', baseUrl: sandbox.urls.hubspot! });
					const job = { crm: 'hubspot' as const, entity: 'contact' as const, inputFormat: 'crm' as const, matchKey: 'email', dryRun: false, unchangedAgainst: 'snapshot' as const, recordEchoes: true, continueOnFail: false, recordState: true };
					const [deleted] =
						via === 'the writer'
							? await deleter(store).run([{ index: 0, unifiedId: created.unifiedId, record: {} }])
							: await writeByOperation(job, [{ index: 0, unifiedId: created.unifiedId, record: {}, event: { operation: 'delete', source: 'pipedrive', unifiedId: created.unifiedId } }], () => connector, async () => store);
					const [written] = await writing;
					assert.equal(written.ok, true, JSON.stringify(written.json));
					assert.equal(deleted.json.status, 'deleted', JSON.stringify(deleted.json));
					assert.equal(deleted.json.id, written.json.id, 'the delete found the record the write created');
				} finally {
					sandbox.emulators.hubspot!.setFaults({});
				}
				assert.equal(hubspotContact(email).length, 0, 'the record created during the delete is gone');
			});
		}

		test('racing writers and a commit: the last write to the CRM carries the newest truth (10 rounds)', async () => {
			const store = await open();
			for (let round = 0; round < 10; round++) {
				const email = `race.${round}.${randomUUID().slice(0, 8)}@example.com`;
				const created = await resolveAgainstState(store, { entity: 'contact', source: 'pipedrive', recordId: randomUUID(), record: { email, firstName: 'Ada', lastName: 'Lovelace', phone: '+14155550100' }, modifiedAt: new Date(Date.now() - 5000) }, LMW);
				await writer(store).run([item(created.unifiedId, email, '+14155550100')]);
				await store.link({ entity: 'contact', unifiedId: created.unifiedId, crm: 'salesforce', recordId: `sf-${round}` });
				const newPhone = `+141555502${String(round).padStart(2, '0')}`;
				const results = await Promise.all([
					// An execution of the older revision writing late...
					writer(store).run([item(created.unifiedId, email, '+14155550100')]),
					// ...while another commits a newer phone and then writes it.
					(async () => {
						await resolveAgainstState(store, { entity: 'contact', source: 'salesforce', recordId: `sf-${round}`, record: { phone: newPhone }, modifiedAt: new Date() }, LMW);
						return writer(store).run([item(created.unifiedId, email, newPhone)]);
					})(),
				]);
				for (const [r] of results) assert.equal(r.ok, true, JSON.stringify(r.json));
				assert.equal(hubspotContact(email)[0].phone, newPhone, `round ${round}`);
			}
		});
	});
}

suite('embedded', () => openStateStore({ backend: 'embedded', path: path.join(tmp, 'state.sqlite'), namespace: randomUUID() }));
suite('redis (real redis-server)', () => openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: randomUUID() } as StateStoreConfig));
