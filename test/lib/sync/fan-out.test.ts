// lib/sync/fan-out.ts ("Sync to CRMs") against the five sandbox CRMs through the real connectors,
// with a real embedded state store: a change is written to every other CRM and linked under one
// unified id, or back to its source only; an activity whose contact is missing in one CRM waits
// for that CRM only and, back from Retry Later, is written there alone; the reference options
// (give up, error, drop); a target that fails as a whole fails only its own items; deletes fan out
// through the cross-reference; a dry run calls neither CRM nor store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { CRM_NAMES, type CrmName } from '../../../lib/model';
import { openStateStore, type StateStore } from '../../../lib/state';
import { CLAIM_COLLECTION, claimKey } from '../../../lib/sync/create-once';
import { RETRY_FIELD, syncToCrms, type FanOutJob, type FanOutOutcome } from '../../../lib/sync/fan-out';
import type { EventItem } from '../../../lib/sync/route-by-operation';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { contactEmails, contactRecords } from '../../bench/bulk-n8n';
import { apiCredentials } from '../../e2e/fixtures';

type Row = Record<string, unknown>;

let dir: string;
let store: StateStore;
let sandbox: Sandbox;
let credentials: Record<string, Record<string, unknown>>;

const connectorFor = async (crm: CrmName): Promise<CrmConnector> => createConnector(crm, credentials[crm], { store, limits: { default: { maxConcurrent: 16 }, search: { maxConcurrent: 8 } } });
const openStore = async () => store;

before(async () => {
	dir = mkdtempSync(join(tmpdir(), 'fan-out-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'fan-out', path: join(dir, 'state.db') });
	sandbox = await startSandbox({ seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	credentials = apiCredentials(sandbox.urls);
});

after(async () => {
	await sandbox?.stop();
	await store?.close();
	rmSync(dir, { recursive: true, force: true });
});

function job(overrides: Partial<FanOutJob> = {}): FanOutJob {
	return {
		crms: [...CRM_NAMES],
		entity: 'contact',
		writeTo: 'others',
		missingReferences: 'retry',
		retryLimitMs: 60_000,
		matchKey: 'email',
		dryRun: false,
		unchangedAgainst: 'nothing',
		recordEchoes: true,
		continueOnFail: true,
		recordState: true,
		...overrides,
	};
}

/** An item as the Conflict Resolver hands it on: the event at the top, the unified record in `record`. */
function change(index: number, source: string, recordId: string, record: Row, event: Row = {}): EventItem {
	const json: Row = { source, recordId, operation: 'update', occurredAt: new Date().toISOString(), record, ...event };
	const unifiedId = typeof json.unifiedId === 'string' ? json.unifiedId : undefined;
	return { index, record, unifiedId, event: json };
}

/** The item as it comes back from a Wait node behind Retry Later. */
function comingBack(item: EventItem, outcome: FanOutOutcome): EventItem {
	return { ...item, event: { ...item.event, [RETRY_FIELD]: outcome.retry } };
}

const rows = (crm: CrmName, type: string): Row[] => ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []);
const emails = (crm: CrmName) => contactEmails(crm, sandbox.emulators[crm]!.dump() as Record<string, unknown[]>);
/** Contacts of a CRM that hold `text` and carry none of the emulators' deletion marks (IsDeleted, is_deleted, $deleted, archived, ...). */
const liveContactsWith = (crm: CrmName, text: string) =>
	contactRecords(crm, sandbox.emulators[crm]!.dump() as Record<string, unknown[]>).filter(
		(r) => JSON.stringify(r).includes(text) && !Object.entries(r).some(([key, value]) => /deleted|archived/i.test(key) && value === true),
	);
const statuses = (outcome: FanOutOutcome) => Object.fromEntries(Object.entries(outcome.synced).map(([crm, answer]) => [crm, answer!.status]));

describe('syncToCrms', () => {
	test('a change made in HubSpot is written to the four other CRMs at once, linked under its unified id', async () => {
		const items = [
			change(0, 'hubspot', 'h-ada', { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' }, { unifiedId: 'u-ada' }),
			change(1, 'hubspot', 'h-bob', { email: 'bob@example.com', firstName: 'Bob', lastName: 'Moog' }, { unifiedId: 'u-bob' }),
		];
		const outcomes = await syncToCrms(items, job(), connectorFor, openStore);
		for (const outcome of outcomes) {
			assert.deepEqual(outcome.errors, []);
			assert.equal(outcome.retry, undefined);
			assert.deepEqual(statuses(outcome), { salesforce: 'created', pipedrive: 'created', zoho: 'created', dynamics: 'created' });
		}
		assert.equal(outcomes[0].unifiedId, 'u-ada');
		const ada = (await store.getCrossRefs('contact', ['u-ada'])).get('u-ada')!;
		assert.deepEqual(Object.keys(ada.ids).sort(), ['dynamics', 'pipedrive', 'salesforce', 'zoho']);
		for (const crm of ['salesforce', 'pipedrive', 'zoho', 'dynamics'] as const) {
			assert.equal(ada.ids[crm], outcomes[0].synced[crm]!.id, crm);
			assert.deepEqual(emails(crm).sort(), ['ada@example.com', 'bob@example.com'], crm);
		}
		assert.deepEqual(emails('hubspot'), [], 'nothing is written to the source');
	});

	test("Write To source writes a correction back to the item's source only; a source that is not selected, or no CRM at all, is an error", async () => {
		const [outcome] = await syncToCrms([change(0, 'pipedrive', 'p-ada', { email: 'ada@example.com', firstName: 'Ada', lastName: 'King' }, { unifiedId: 'u-ada' })], job({ writeTo: 'source' }), connectorFor, openStore);
		assert.deepEqual(statuses(outcome), { pipedrive: 'updated' });
		assert.ok(JSON.stringify(rows('pipedrive', 'persons')).includes('King'));
		assert.ok(!JSON.stringify(rows('salesforce', 'Contact')).includes('King'), 'the other CRMs are not written');

		const refused = await syncToCrms(
			[change(0, 'hubspot', 'h-ada', { email: 'ada@example.com' }, { unifiedId: 'u-ada' }), change(1, 'somewhere', 'x', { email: 'x@example.com' })],
			job({ writeTo: 'source', crms: ['salesforce', 'zoho'] }),
			connectorFor,
			openStore,
		);
		assert.match(String(refused[0].errors[0].error), /source CRM hubspot is not one of the node's CRMs \(salesforce, zoho\)/);
		assert.match(String(refused[1].errors[0].error), /"source" must name the CRM/);
		for (const outcome of refused) {
			assert.equal(outcome.errors[0].code, 'SOURCE');
			assert.equal(outcome.errors[0].crm, undefined);
			assert.deepEqual(outcome.synced, {});
		}
	});

	test('an activity whose contact is not yet in Salesforce waits for Salesforce only; back from Retry Later it is written there alone, to the right contact', async () => {
		// Carol was created in HubSpot (hc-1) and synced to Pipedrive; Salesforce does not have her yet.
		await store.linkMany([{ entity: 'contact', unifiedId: 'u-carol', crm: 'hubspot', recordId: 'hc-1' }]);
		const carol = change(0, 'hubspot', 'hc-1', { email: 'carol@example.com', firstName: 'Carol', lastName: 'Shaw' }, { unifiedId: 'u-carol' });
		await syncToCrms([carol], job({ crms: ['hubspot', 'pipedrive'] }), connectorFor, openStore);

		const call = change(0, 'hubspot', 'ha-1', { type: 'call', subject: 'Call Carol', timestamp: '2026-03-05T14:30:00Z', contactIds: ['hc-1'], ownerId: '77' }, { operation: 'create' });
		const activities = job({ entity: 'activity', crms: ['hubspot', 'pipedrive', 'salesforce'] });
		const [first] = await syncToCrms([call], activities, connectorFor, openStore);
		assert.deepEqual(statuses(first), { pipedrive: 'created' });
		assert.deepEqual(first.errors, []);
		assert.equal(first.unifiedId, 'hubspot:ha-1', 'the default unified id of the source record');
		assert.deepEqual(first.retry!.targets, ['salesforce']);
		assert.equal(first.retry!.attempts, 1);
		assert.match(first.retry!.reason!, /contactIds: hubspot contact hc-1 has no salesforce record \(unified id u-carol is not linked to salesforce\)/);
		assert.deepEqual(first.retry!.synced, first.synced, 'what was written travels with the item');

		const [again] = await syncToCrms([comingBack(call, first)], activities, connectorFor, openStore);
		assert.equal(again.retry!.attempts, 2, 'still waiting: attempts count up');
		assert.equal(rows('pipedrive', 'activities').length, 1, 'Pipedrive is not written again');

		await syncToCrms([carol], job({ crms: ['hubspot', 'salesforce'] }), connectorFor, openStore);
		const [last] = await syncToCrms([comingBack(call, again)], activities, connectorFor, openStore);
		assert.equal(last.retry, undefined);
		assert.deepEqual(last.errors, []);
		assert.deepEqual(statuses(last), { pipedrive: 'created', salesforce: 'created' });
		assert.equal(rows('pipedrive', 'activities').length, 1);
		const tasks = rows('salesforce', 'Task').filter((t) => t.Subject === 'Call Carol');
		assert.equal(tasks.length, 1);
		const carolInSalesforce = (await store.getCrossRefs('contact', ['u-carol'])).get('u-carol')!.ids.salesforce;
		assert.equal(tasks[0].WhoId, carolInSalesforce);
		assert.notEqual(tasks[0].OwnerId, '77', 'no HubSpot owner id copied');
		const links = (await store.getCrossRefs('activity', ['hubspot:ha-1'])).get('hubspot:ha-1')!;
		assert.deepEqual(Object.keys(links.ids).sort(), ['pipedrive', 'salesforce']);
	});

	test('Missing References: after the retry limit, and at once with Error, the waiting CRMs get an Errors entry; Drop the Reference writes without the ids', async () => {
		const nobody = (recordId: string, event: Row = {}) => change(0, 'hubspot', recordId, { type: 'task', subject: `Note ${recordId}`, timestamp: '2026-03-06T09:00:00Z', contactIds: ['hc-nobody'] }, { operation: 'create', ...event });
		const crms: CrmName[] = ['hubspot', 'salesforce', 'zoho'];

		// The change happened two minutes ago: a one-minute limit is over at the first attempt.
		const [gaveUp] = await syncToCrms([nobody('hn-1', { occurredAt: new Date(Date.now() - 120_000).toISOString() })], job({ entity: 'activity', crms }), connectorFor, openStore);
		assert.equal(gaveUp.retry, undefined);
		assert.deepEqual(gaveUp.errors.map((e) => e.crm).sort(), ['salesforce', 'zoho']);
		for (const error of gaveUp.errors) {
			assert.equal(error.code, 'MISSING_REFERENCE');
			assert.match(String(error.error), /hubspot contact hc-nobody has no \w+ record \(not cross-referenced\); gave up after 1 attempts over 120 s \(limit 60 s\)/);
			assert.equal(error.attempts, 1);
		}

		const [refused] = await syncToCrms([nobody('hn-2')], job({ entity: 'activity', crms, missingReferences: 'error' }), connectorFor, openStore);
		assert.deepEqual(refused.errors.map((e) => [e.crm, e.code]).sort(), [['salesforce', 'MISSING_REFERENCE'], ['zoho', 'MISSING_REFERENCE']]);
		assert.equal(refused.errors[0].attempts, undefined);

		const [dropped] = await syncToCrms([nobody('hn-3')], job({ entity: 'activity', crms, missingReferences: 'drop' }), connectorFor, openStore);
		assert.deepEqual(dropped.errors, []);
		assert.deepEqual(statuses(dropped), { salesforce: 'created', zoho: 'created' });
		assert.match(String(dropped.synced.salesforce!.dropped), /contactIds: hubspot contact hc-nobody has no salesforce record/);
		assert.equal(rows('salesforce', 'Task').find((t) => t.Subject === 'Note hn-3')!.WhoId ?? null, null);
	});

	test('with Retry Later, a target that fails for now (an outage past the connector retries) is tried again for that target only; after the limit its own failure goes to Errors', async () => {
		const quickRetries = async (crm: CrmName): Promise<CrmConnector> => createConnector(crm, credentials[crm], { store, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
		const zoho = sandbox.emulators.zoho!;
		const erin = (occurredAt = new Date().toISOString()) => change(0, 'hubspot', 'h-erin', { email: 'erin@example.com', firstName: 'Erin', lastName: 'Catto' }, { unifiedId: 'u-erin', occurredAt });
		zoho.setFaults({ errorRate: 1, method: 'POST', pathPattern: 'Contacts' });
		let first: FanOutOutcome;
		try {
			[first] = await syncToCrms([erin()], job({ crms: ['hubspot', 'salesforce', 'zoho'] }), quickRetries, openStore);
		} finally {
			zoho.setFaults({});
		}
		assert.deepEqual(first.errors, []);
		assert.deepEqual(statuses(first), { salesforce: 'created' });
		assert.deepEqual(first.retry!.targets, ['zoho']);
		assert.match(first.retry!.reason!, /^zoho: /);
		const [again] = await syncToCrms([comingBack(erin(), first)], job({ crms: ['hubspot', 'salesforce', 'zoho'] }), quickRetries, openStore);
		assert.deepEqual([again.errors, again.retry, statuses(again)], [[], undefined, { salesforce: 'created', zoho: 'created' }]);
		assert.deepEqual(emails('zoho').filter((e) => e === 'erin@example.com'), ['erin@example.com']);

		// A change two minutes old with a one-minute limit: the failure itself goes to Errors, with its code.
		zoho.setFaults({ errorRate: 1, method: 'POST', pathPattern: 'Contacts' });
		let late: FanOutOutcome;
		try {
			[late] = await syncToCrms([change(0, 'hubspot', 'h-fay', { email: 'fay@example.com', lastName: 'Fay' }, { unifiedId: 'u-fay', occurredAt: new Date(Date.now() - 120_000).toISOString() })], job({ crms: ['hubspot', 'zoho'] }), quickRetries, openStore);
		} finally {
			zoho.setFaults({});
		}
		assert.equal(late.retry, undefined);
		assert.deepEqual(late.errors.map((e) => [e.crm, e.category, e.attempts]), [['zoho', 'transient', 1]]);
		assert.notEqual(late.errors[0].code, 'MISSING_REFERENCE');

		// Without Retry Later the failure goes to Errors at once.
		zoho.setFaults({ errorRate: 1, method: 'POST', pathPattern: 'Contacts' });
		try {
			const [dropped] = await syncToCrms([change(0, 'hubspot', 'h-gus', { email: 'gus@example.com', lastName: 'Gus' }, { unifiedId: 'u-gus' })], job({ crms: ['hubspot', 'zoho'], missingReferences: 'drop' }), quickRetries, openStore);
			assert.deepEqual([dropped.retry, dropped.errors.map((e) => [e.crm, e.category])], [undefined, [['zoho', 'transient']]]);
		} finally {
			zoho.setFaults({});
		}
	});

	test('a target that fails as a whole fails only its own items; without continue-on-fail the call fails once every target is done', async () => {
		const broken = async (crm: CrmName) => (crm === 'zoho' ? Promise.reject(new Error('no zoho credential')) : connectorFor(crm));
		const dan = () => change(0, 'hubspot', 'h-dan', { email: 'dan@example.com', firstName: 'Dan', lastName: 'Bricklin' }, { unifiedId: 'u-dan' });
		const [outcome] = await syncToCrms([dan()], job({ crms: ['hubspot', 'salesforce', 'zoho'] }), broken, openStore);
		assert.deepEqual(statuses(outcome), { salesforce: 'created' });
		assert.deepEqual(outcome.errors.map((e) => [e.crm, e.error]), [['zoho', 'no zoho credential']]);

		await assert.rejects(syncToCrms([dan()], job({ crms: ['hubspot', 'salesforce', 'zoho'], continueOnFail: false }), broken, openStore), /no zoho credential/);
		assert.deepEqual(emails('zoho').filter((e) => e === 'dan@example.com'), []);
	});

	test('a delete fans out to the records linked in the other CRMs; a dry run calls neither a CRM nor the store', async () => {
		const [deleted] = await syncToCrms([change(0, 'hubspot', 'h-bob', {}, { unifiedId: 'u-bob', operation: 'delete' })], job(), connectorFor, openStore);
		assert.deepEqual(deleted.errors, []);
		assert.deepEqual(statuses(deleted), { salesforce: 'deleted', pipedrive: 'deleted', zoho: 'deleted', dynamics: 'deleted' });
		for (const crm of ['salesforce', 'pipedrive', 'zoho', 'dynamics'] as const) assert.deepEqual(liveContactsWith(crm, 'bob@example.com'), [], crm);
		assert.deepEqual((await store.getCrossRefs('contact', ['u-bob'])).get('u-bob')?.ids ?? {}, {});

		const never = async (): Promise<never> => assert.fail('not called in a dry run');
		const [dry] = await syncToCrms([change(0, 'hubspot', 'h-eve', { email: 'eve@example.com', lastName: 'Eve' }, { unifiedId: 'u-eve' })], job({ dryRun: true }), never, never);
		assert.deepEqual(statuses(dry), { salesforce: 'dryRun', pipedrive: 'dryRun', zoho: 'dryRun', dynamics: 'dryRun' });
	});

	test('a deal (no match key) is created once under a claim; one whose earlier create got no answer is reported, not created twice', async () => {
		const deals = job({ entity: 'opportunity', crms: ['hubspot', 'pipedrive'] });
		const titled = (title: string) => rows('pipedrive', 'deals').filter((r) => r.title === title && r.is_deleted !== true);
		const [created] = await syncToCrms([change(0, 'hubspot', 'hd-1', { name: 'Claimed deal', amount: 10 }, { unifiedId: 'u-deal-1' })], deals, connectorFor, openStore);
		assert.deepEqual(created.errors, []);
		assert.equal(titled('Claimed deal').length, 1);
		assert.equal((await store.kvGet(CLAIM_COLLECTION, claimKey('pipedrive', 'opportunity', 'u-deal-1'))) ?? null, null, 'the claim is released once the CRM answered');

		// As if an earlier create of this deal timed out after Pipedrive made it: its claim is still there.
		await store.kvPut(CLAIM_COLLECTION, claimKey('pipedrive', 'opportunity', 'u-deal-2'), { by: 'sync to pipedrive', at: new Date().toISOString() });
		const [again] = await syncToCrms([change(0, 'hubspot', 'hd-2', { name: 'Interrupted deal', amount: 20 }, { unifiedId: 'u-deal-2' })], deals, connectorFor, openStore);
		assert.equal(again.errors[0]?.code, 'INTERRUPTED_CREATE', JSON.stringify(again.errors));
		assert.equal(titled('Interrupted deal').length, 0, 'not created again');

		// The interrupted create did make the deal (its reply was lost): found by its name, linked, updated.
		const made = await (await connectorFor('pipedrive')).create('opportunity', [{ ref: 0, fields: { title: 'Interrupted deal', value: 20 } }]);
		assert.equal(made[0].status, 'created');
		const [adopted] = await syncToCrms([change(0, 'hubspot', 'hd-2', { name: 'Interrupted deal', amount: 30 }, { unifiedId: 'u-deal-2' })], deals, connectorFor, openStore);
		assert.deepEqual(adopted.errors, []);
		assert.equal(adopted.synced.pipedrive?.status, 'updated', JSON.stringify(adopted.synced));
		assert.deepEqual(titled('Interrupted deal').map((r) => r.value), [30], 'one deal, updated');
		assert.equal((await store.getCrossRef('opportunity', 'u-deal-2'))?.ids.pipedrive, (made[0] as { id: string }).id);
		assert.equal((await store.kvGet(CLAIM_COLLECTION, claimKey('pipedrive', 'opportunity', 'u-deal-2'))) ?? null, null, 'its claim released');
	});
});
