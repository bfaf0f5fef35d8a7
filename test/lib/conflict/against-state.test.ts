// Conflict Resolver, synced-state mode: changes merged into the state store's snapshot (the
// resolved truth), on the embedded store and on a real redis-server.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { resolveAgainstState, type ConflictOptions, type StateChange } from '../../../lib/conflict';
import type { CrmName } from '../../../lib/model';
import { markHeld, openStateStore, type StateStore, type StateStoreConfig } from '../../../lib/state';
import { startRedisServer, type RedisServer } from '../state/redis-server';
import { closedAfterSuite } from '../state/suite-stores';

const CRMS: CrmName[] = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'];
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const LMW: ConflictOptions = { strategy: 'last-modified-wins' };
const GRACE = { email: 'grace@navy.example', firstName: 'Grace', lastName: 'Hopper', phone: '+14155550100', emailOptOut: false };

function change(source: CrmName, record: Record<string, unknown>, seconds: number, recordId = `${source}-1`): StateChange {
	return { entity: 'contact', source, recordId, record, modifiedAt: at(seconds) };
}

/** A contact created in Pipedrive and written to the four others (as the writer records it). */
async function syncedEverywhere(store: StateStore): Promise<string> {
	const first = await resolveAgainstState(store, change('pipedrive', { ...GRACE, id: '1' }, 0), LMW);
	assert.equal(first.action, 'create');
	for (const crm of CRMS.filter((c) => c !== 'pipedrive')) {
		await store.link({ entity: 'contact', unifiedId: first.unifiedId, crm, recordId: `${crm}-1` });
		await markHeld(store, 'contact', first.unifiedId, crm, first.merged!, new Date(T0 + 2000));
	}
	return first.unifiedId;
}

function suite(name: string, openStore: () => Promise<StateStore>): void {
	describe(`resolver against the synced state: ${name}`, () => {
		const open = closedAfterSuite(openStore);
		test('first sight: a snapshot with revision, field times and origin; the source is linked', async () => {
			const store = await open();
			const r = await resolveAgainstState(store, change('pipedrive', { ...GRACE, id: '1' }, 0), LMW);
			assert.equal(r.action, 'create');
			assert.equal(r.unifiedId, 'pipedrive:pipedrive-1');
			assert.deepEqual(r.merged, GRACE, 'ignored fields (id) are not part of the truth');
			const snap = await store.getSnapshot('contact', r.unifiedId);
			assert.equal(snap?.revision, 1);
			assert.equal(snap?.fieldModifiedAt.phone, at(0));
			assert.equal(snap?.fieldSource?.phone, 'pipedrive');
			assert.equal(await store.findUnifiedId('contact', 'pipedrive', 'pipedrive-1'), r.unifiedId);
			assert.equal(r.correctSource, false);
			await store.close();
		});

		for (const order of ['hubspot first', 'salesforce first', 'concurrently'] as const) {
			test(`concurrent phone edits (HubSpot t1, Salesforce t2), ${order}: last-modified-wins keeps t2`, async () => {
				const store = await open();
				const id = await syncedEverywhere(store);
				const hs = change('hubspot', { phone: '+14155550111' }, 10);
				const sf = change('salesforce', { phone: '+14155550122' }, 12);
				const results =
					order === 'concurrently'
						? await Promise.all([resolveAgainstState(store, hs, LMW), resolveAgainstState(store, sf, LMW)])
						: order === 'hubspot first'
							? [await resolveAgainstState(store, hs, LMW), await resolveAgainstState(store, sf, LMW)]
							: [await resolveAgainstState(store, sf, LMW), await resolveAgainstState(store, hs, LMW)].reverse();
				const snap = await store.getSnapshot('contact', id);
				assert.equal(snap?.record.phone, '+14155550122');
				assert.equal(snap?.fieldSource?.phone, 'salesforce');
				assert.equal(snap?.fieldModifiedAt.phone, at(12));
				const [hsResult, sfResult] = results;
				if (order === 'salesforce first') {
					assert.equal(hsResult.action, 'update', 'the loser is corrected');
					assert.deepEqual(hsResult.changed, []);
					assert.deepEqual(hsResult.sourcePatch, { phone: '+14155550122' });
					assert.equal(hsResult.correctSource, true);
					assert.deepEqual(hsResult.conflicts, ['phone']);
				}
				if (order === 'hubspot first') {
					assert.deepEqual(hsResult.changed, ['phone']);
					assert.deepEqual(sfResult.changed, ['phone'], 'the newer edit replaces the first');
					assert.deepEqual(sfResult.conflicts, ['phone']);
					assert.equal(sfResult.correctSource, false);
					assert.equal(snap?.revision, 3);
				}
				assert.equal(sfResult.merged?.phone, '+14155550122');
				await store.close();
			});
		}

		for (const reverse of [false, true]) {
			test(`crm-wins (HubSpot): HubSpot's older edit wins ${reverse ? 'arriving second' : 'arriving first'}`, async () => {
				const store = await open();
				const id = await syncedEverywhere(store);
				const options: ConflictOptions = { strategy: 'crm-wins', winningCrm: 'hubspot' };
				const steps = [change('hubspot', { phone: '+14155550111' }, 10), change('salesforce', { phone: '+14155550122' }, 12)];
				if (reverse) steps.reverse();
				const results = [];
				for (const step of steps) results.push(await resolveAgainstState(store, step, options));
				assert.equal((await store.getSnapshot('contact', id))?.record.phone, '+14155550111');
				const sf = results.find((r) => r.source === 'salesforce')!;
				assert.deepEqual(sf.sourcePatch, reverse ? {} : { phone: '+14155550111' });
				await store.close();
			});
		}

		test('source-system-wins with a priority list', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			const options: ConflictOptions = { strategy: 'source-system-wins', crmPriority: ['salesforce', 'hubspot'] };
			await resolveAgainstState(store, change('salesforce', { phone: '+14155550122' }, 10), options);
			const late = await resolveAgainstState(store, change('hubspot', { phone: '+14155550111' }, 12), options);
			assert.equal((await store.getSnapshot('contact', id))?.record.phone, '+14155550122');
			assert.equal(late.correctSource, true);
			await store.close();
		});

		test('a sequential edit (after the synced value reached the CRM) wins even against crm-wins', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			const options: ConflictOptions = { strategy: 'crm-wins', winningCrm: 'hubspot' };
			const first = await resolveAgainstState(store, change('hubspot', { phone: '+14155550111' }, 10), options);
			await markHeld(store, 'contact', id, 'salesforce', first.merged!, new Date(T0 + 11_000));
			const later = await resolveAgainstState(store, change('salesforce', { phone: '+14155550133' }, 20), options);
			assert.deepEqual(later.changed, ['phone']);
			assert.deepEqual(later.conflicts, []);
			assert.equal((await store.getSnapshot('contact', id))?.record.phone, '+14155550133');
			await store.close();
		});

		test('reordered events of one CRM: the older change loses, a duplicate changes nothing', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			await resolveAgainstState(store, change('hubspot', { phone: '+14155550112' }, 12), LMW);
			const older = await resolveAgainstState(store, change('hubspot', { phone: '+14155550111' }, 10), LMW);
			assert.deepEqual(older.changed, []);
			assert.equal((await store.getSnapshot('contact', id))?.record.phone, '+14155550112');
			const again = await resolveAgainstState(store, change('hubspot', { phone: '+14155550112' }, 12), LMW);
			assert.equal(again.action, 'skip');
			assert.equal((await store.getSnapshot('contact', id))?.revision, 2);
			await store.close();
		});

		test('an edit that ties with the truth and lands just after our write (whole-second time) is corrected', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			const dynamicsEdit = await resolveAgainstState(store, change('dynamics', { firstName: 'Ada' }, 10.2), LMW);
			assert.deepEqual(dynamicsEdit.changed, ['firstName']);
			// Our write of Ada reaches Pipedrive at 10.8 s; a person there types Barbara at 10.9 s,
			// which Pipedrive stamps 10 s. The tie goes to Dynamics (name order), so Pipedrive owes Ada.
			await markHeld(store, 'contact', id, 'pipedrive', dynamicsEdit.merged!, new Date(T0 + 10_800));
			const pd = await resolveAgainstState(store, change('pipedrive', { firstName: 'Barbara' }, 10), LMW);
			assert.deepEqual(pd.conflicts, ['firstName']);
			assert.equal((await store.getSnapshot('contact', id))?.record.firstName, 'Ada');
			assert.equal(pd.correctSource, true, 'Pipedrive holds Barbara: it is corrected');
			assert.deepEqual(pd.sourcePatch, { firstName: 'Ada' });
			// An event clearly older than the write changes nothing of what Pipedrive is known to hold.
			const stale = await resolveAgainstState(store, change('pipedrive', { firstName: 'Grace' }, 5), LMW);
			assert.equal(stale.correctSource, true, 'still owed from the tie above');
			await markHeld(store, 'contact', id, 'pipedrive', dynamicsEdit.merged!, new Date(T0 + 12_000));
			const staleAgain = await resolveAgainstState(store, change('pipedrive', { firstName: 'Barbara' }, 10), LMW);
			assert.equal(staleAgain.action, 'skip', 'after the correction, the old event is stale');
			await store.close();
		});

		test('an edit that wins a tie but that our write of the older truth may have overwritten is written again', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			const pipedriveEdit = await resolveAgainstState(store, change('pipedrive', { firstName: 'Radia' }, 10), LMW);
			assert.deepEqual(pipedriveEdit.changed, ['firstName']);
			// A person types Donald in HubSpot at 10.255 s; our write of Radia reaches HubSpot at 10.322 s.
			await markHeld(store, 'contact', id, 'hubspot', pipedriveEdit.merged!, new Date(T0 + 10_322));
			const hs = await resolveAgainstState(store, change('hubspot', { firstName: 'Donald' }, 10.255), LMW);
			assert.deepEqual(hs.changed, ['firstName'], 'HubSpot wins the tie (name order)');
			assert.equal(hs.correctSource, true, 'HubSpot may hold Radia now: Donald is written back');
			assert.deepEqual(hs.sourcePatch, { firstName: 'Donald' });
			await store.close();
		});

		test('a full-record event keeps the values the CRM already held (stale fields are not changes)', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			await resolveAgainstState(store, change('hubspot', { phone: '+14155550111' }, 10), LMW);
			// Pipedrive has not received the new phone yet; a person there edits the last name later.
			const pd = await resolveAgainstState(store, change('pipedrive', { ...GRACE, lastName: 'Hopper-Murray' }, 15), LMW);
			assert.deepEqual(pd.changed, ['lastName']);
			assert.deepEqual(pd.sourcePatch, { phone: '+14155550111' });
			const snap = await store.getSnapshot('contact', id);
			assert.equal(snap?.record.phone, '+14155550111');
			assert.equal(snap?.record.lastName, 'Hopper-Murray');
			await store.close();
		});

		test('consent: an opt-out is kept against an opt-in the strategy picks but that is not strictly newer', async () => {
			const store = await open();
			const first = await resolveAgainstState(store, change('pipedrive', { ...GRACE, emailOptOut: true }, 0), LMW);
			await store.link({ entity: 'contact', unifiedId: first.unifiedId, crm: 'zoho', recordId: 'zoho-1' });
			await markHeld(store, 'contact', first.unifiedId, 'zoho', first.merged!, new Date(T0 + 2000));
			// crm-wins would take Zoho's opt-in, but it is not strictly newer than the opt-out (1 s tolerance).
			const optIn = await resolveAgainstState(store, change('zoho', { emailOptOut: false }, 0.5), { strategy: 'crm-wins', winningCrm: 'zoho' });
			assert.equal((await store.getSnapshot('contact', first.unifiedId))?.record.emailOptOut, true);
			assert.equal(optIn.decisions[0].consentGuard, true);
			assert.equal(optIn.correctSource, false, 'Zoho got the opt-out written (at 2 s) after its opt-in (at 0.5 s)');
			// An opt-in made after the opt-out reached the CRM, and strictly newer, is a real opt-in.
			const later = await resolveAgainstState(store, change('zoho', { emailOptOut: false }, 20), { strategy: 'crm-wins', winningCrm: 'zoho' });
			assert.deepEqual(later.changed, ['emailOptOut']);
			await store.close();
		});

		test('manual review: nothing is committed, the three-way input is returned for the queue', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			await resolveAgainstState(store, change('hubspot', { phone: '+14155550111' }, 10), LMW);
			const r = await resolveAgainstState(store, change('salesforce', { phone: '+14155550122' }, 12), { strategy: 'manual-review' });
			assert.equal(r.action, 'review');
			assert.equal(r.reviewInput?.target?.crm, 'hubspot');
			assert.equal((await store.getSnapshot('contact', id))?.record.phone, '+14155550111');
			await store.close();
		});

		test('a tombstoned record is not re-created; one changed in its CRM after the delete is owed a delete there; a change without recordId or unifiedId is refused', async () => {
			const store = await open();
			const id = await syncedEverywhere(store);
			const snap = (await store.getSnapshot('contact', id))!;
			await store.putSnapshot({ ...snap, deletedAt: at(5), deletedBy: 'zoho' });
			// Made before the delete (late delivery), or within the skew tolerance: nothing to do.
			for (const seconds of [3, 5.9]) {
				const late = await resolveAgainstState(store, change('hubspot', { phone: '+1' }, seconds), LMW);
				assert.equal(late.action, 'skip');
				assert.equal(late.correctSource, false);
			}
			// Made after it: HubSpot still has the record (the delete did not reach it).
			const after = await resolveAgainstState(store, change('hubspot', { phone: '+1' }, 10), LMW);
			assert.equal(after.action, 'delete');
			assert.equal(after.correctSource, true);
			assert.equal(after.merged, null);
			assert.match(after.reason, /changed in hubspot after that: deleted there too/);
			// Restored from the recycle bin there: a person's choice, not undone.
			const restored = await resolveAgainstState(store, { ...change('hubspot', { phone: '+1' }, 12), restored: true }, LMW);
			assert.equal(restored.action, 'skip');
			const kept = await store.getSnapshot('contact', id);
			assert.equal(kept?.deletedAt, at(5), 'still the tombstone');
			assert.equal(kept?.record.phone, snap.record.phone);
			await assert.rejects(resolveAgainstState(store, { entity: 'contact', source: 'hubspot', record: {} }, LMW), /recordId/);
			await store.close();
		});
	});
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-conflict-state-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
suite('embedded', () => openStateStore({ backend: 'embedded', path: path.join(tmp, 'state.sqlite'), namespace: randomUUID() }));

let redis: RedisServer;
before(async () => {
	redis = await startRedisServer();
});
after(async () => {
	await redis?.stop();
});
suite('redis (real redis-server)', () => openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: randomUUID() } as StateStoreConfig));
