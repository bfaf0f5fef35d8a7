// Reference ids translated through the cross-reference of a real (embedded SQLite) state store,
// and the retry decision for records whose referenced record is not in the target yet.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { openStateStore, syncIdentity, type StateStore } from '../../../lib/state';
import { describeMissing, readRetryState, referencesToUnified, resolveReferences, retryDecision } from '../../../lib/sync/associations';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-associations-'));
let store: StateStore;

before(async () => {
	store = await openStateStore({ backend: 'embedded', namespace: 'associations-test', path: path.join(tmp, 'state.sqlite') });
	// Ada is known in HubSpot (101) and Salesforce (003A); Bob only in HubSpot (102).
	await store.linkMany([
		{ entity: 'contact', unifiedId: 'u-ada', crm: 'hubspot', recordId: '101' },
		{ entity: 'contact', unifiedId: 'u-ada', crm: 'salesforce', recordId: '003A' },
		{ entity: 'contact', unifiedId: 'u-bob', crm: 'hubspot', recordId: '102' },
		{ entity: 'opportunity', unifiedId: 'u-deal', crm: 'hubspot', recordId: '501' },
		{ entity: 'opportunity', unifiedId: 'u-deal', crm: 'salesforce', recordId: '006D' },
		{ entity: 'account', unifiedId: 'u-acme', crm: 'pipedrive', recordId: '7' },
		{ entity: 'account', unifiedId: 'u-acme', crm: 'salesforce', recordId: '001X' },
		// A record Unified CRM Upsert created in Salesforce for a HubSpot contact it had no unified id for.
		{ entity: 'contact', unifiedId: 'hubspot:103', crm: 'salesforce', recordId: '003C' },
	]);
});
after(async () => {
	await store.close();
	fs.rmSync(tmp, { recursive: true, force: true });
});

describe('resolveReferences', () => {
	test('translates an activity\'s contacts and deals to the target ids and removes the owner', async () => {
		const [result] = await resolveReferences(store, [{ source: 'hubspot', recordId: '9001', record: { type: 'call', subject: 'Intro', contactIds: ['101'], dealIds: ['501'], ownerId: '77' } }], { entity: 'activity', target: 'salesforce' });
		assert.deepEqual(result.record, { type: 'call', subject: 'Intro', contactIds: ['003A'], dealIds: ['006D'] });
		assert.deepEqual(result.missing, []);
		assert.equal(result.unifiedId, 'hubspot:9001', 'an activity seen for the first time gets the default unified id');
	});

	test('a contact linked but not in the target, and one never linked, are missing with what is known', async () => {
		const [result] = await resolveReferences(store, [{ source: 'hubspot', record: { type: 'note', contactIds: ['101', '102', '999'] } }], { entity: 'activity', target: 'salesforce' });
		assert.deepEqual(result.record.contactIds, ['003A'], 'the resolvable one is kept');
		assert.deepEqual(result.missing, [
			{ field: 'contactIds', entity: 'contact', sourceId: '102', unifiedId: 'u-bob' },
			{ field: 'contactIds', entity: 'contact', sourceId: '999' },
		]);
		assert.equal(result.unifiedId, undefined, 'no source id, no unified id');
		assert.match(describeMissing(result.missing, 'hubspot', 'salesforce'), /contactIds: hubspot contact 102 has no salesforce record \(unified id u-bob is not linked to salesforce\); contactIds: hubspot contact 999 has no salesforce record \(not cross-referenced\)/);
	});

	test('all ids missing: the field is removed, not left with source ids', async () => {
		const [result] = await resolveReferences(store, [{ source: 'hubspot', record: { type: 'task', contactIds: ['102'] } }], { entity: 'activity', target: 'zoho' });
		assert.equal('contactIds' in result.record, false);
		assert.equal(result.missing.length, 1);
	});

	test('an unlinked source id is found under the default unified id Unified CRM Upsert gives', async () => {
		const [result] = await resolveReferences(store, [{ source: 'hubspot', record: { contactIds: ['103'] } }], { entity: 'activity', target: 'salesforce' });
		assert.equal(syncIdentity('hubspot', '103'), 'hubspot:103');
		assert.deepEqual(result.record.contactIds, ['003C']);
	});

	test('single-id fields (a contact\'s account), numeric Pipedrive ids, mixed sources in one batch', async () => {
		const results = await resolveReferences(store, [
			{ source: 'pipedrive', recordId: '55', record: { email: 'a@acme.example', accountId: 7, ownerId: 3 } },
			{ source: 'hubspot', recordId: '101', record: { email: 'ada@example.com' } },
		], { entity: 'contact', target: 'salesforce' });
		assert.deepEqual(results[0].record, { email: 'a@acme.example', accountId: '001X' });
		assert.equal(results[0].unifiedId, 'pipedrive:55');
		assert.deepEqual(results[1].record, { email: 'ada@example.com' });
		assert.equal(results[1].unifiedId, 'u-ada', 'a linked record keeps its unified id');
	});

	test('the source CRM as target keeps its own ids', async () => {
		const [result] = await resolveReferences(store, [{ source: 'hubspot', record: { contactIds: ['102'], ownerId: '77' } }], { entity: 'activity', target: 'hubspot' });
		assert.deepEqual(result.record, { contactIds: ['102'], ownerId: '77' });
		assert.deepEqual(result.missing, []);
	});

	test('a link made later resolves on the next attempt', async () => {
		const input = [{ source: 'hubspot' as const, record: { contactIds: ['102'] } }];
		assert.equal((await resolveReferences(store, input, { entity: 'activity', target: 'dynamics' }))[0].missing.length, 1);
		await store.link({ entity: 'contact', unifiedId: 'u-bob', crm: 'dynamics', recordId: 'guid-bob' });
		const [result] = await resolveReferences(store, input, { entity: 'activity', target: 'dynamics' });
		assert.deepEqual(result.record.contactIds, ['guid-bob']);
		assert.deepEqual(result.missing, []);
	});
});

describe('references as unified ids', () => {
	test("a deal's account and contact become unified ids: linked ones their cross-reference, others the id their first sync gives", async () => {
		const [fromPipedrive, fromSalesforce, none] = await referencesToUnified(
			store,
			[
				{ source: 'pipedrive', record: { name: 'Big deal', accountId: 7, contactId: '404' } },
				{ source: 'salesforce', record: { name: 'Big deal', accountId: '001X', contactId: '003A' } },
				{ source: 'hubspot', record: { name: 'No links' } },
			],
			'opportunity',
		);
		assert.deepEqual(fromPipedrive, { name: 'Big deal', accountUnifiedId: 'u-acme', contactUnifiedId: 'pipedrive:404' });
		assert.deepEqual(fromSalesforce, { name: 'Big deal', accountUnifiedId: 'u-acme', contactUnifiedId: 'u-ada' }, 'the same account from either CRM is the same unified id');
		assert.deepEqual(none, { name: 'No links' });
		const [empty] = await referencesToUnified(store, [{ source: 'salesforce', record: { email: 'x@example.com', accountId: null } }], 'contact');
		assert.deepEqual(empty, { email: 'x@example.com' }, 'an empty reference clears nothing elsewhere');
	});

	test('unified references are written as each target\'s ids, from any source, the source itself included; a cleared one clears the target', async () => {
		const record = { name: 'Big deal', accountUnifiedId: 'u-acme', contactUnifiedId: 'u-ada' };
		const [toSalesforce] = await resolveReferences(store, [{ source: 'pipedrive', record }], { entity: 'opportunity', target: 'salesforce' });
		assert.deepEqual(toSalesforce.record, { name: 'Big deal', accountId: '001X', contactId: '003A' });
		const [toPipedrive] = await resolveReferences(store, [{ source: 'pipedrive', record }], { entity: 'opportunity', target: 'pipedrive' });
		assert.deepEqual(toPipedrive.record, { name: 'Big deal', accountId: '7' }, 'back to the source: its own account id');
		assert.deepEqual(toPipedrive.missing, [{ field: 'contactUnifiedId', entity: 'contact', sourceId: 'u-ada', unifiedId: 'u-ada' }]);
		assert.match(describeMissing(toPipedrive.missing, 'pipedrive', 'pipedrive'), /contactUnifiedId: contact u-ada has no pipedrive record \(not linked to pipedrive\)/);
		const [cleared] = await resolveReferences(store, [{ source: 'hubspot', record: { email: 'x@example.com', accountUnifiedId: null } }], { entity: 'contact', target: 'salesforce' });
		assert.deepEqual(cleared.record, { email: 'x@example.com', accountId: null });
	});

	test('a reference to a deleted record (its tombstone) is left out: neither a target id the CRM no longer has, nor a wait', async () => {
		const at = new Date().toISOString();
		await store.putSnapshot({ entity: 'account', unifiedId: 'u-acme', record: { name: 'Acme' }, fieldModifiedAt: {}, syncedAt: at, deletedAt: at, deletedBy: 'hubspot' });
		const [toSalesforce] = await resolveReferences(store, [{ source: 'pipedrive', record: { name: 'Big deal', stage: 'closedWon', accountUnifiedId: 'u-acme', contactUnifiedId: 'u-ada' } }], { entity: 'opportunity', target: 'salesforce' });
		assert.deepEqual(toSalesforce.record, { name: 'Big deal', stage: 'closedWon', contactId: '003A' });
		assert.deepEqual(toSalesforce.missing, []);
		await store.deleteSnapshot('account', 'u-acme');
	});
});

describe('retryDecision', () => {
	const t0 = Date.parse('2026-01-01T10:00:00.000Z');

	test('retries within the limit, counting attempts from the first one', () => {
		const first = retryDecision(undefined, 'contact missing', 300_000, t0);
		assert.equal(first.action, 'retry');
		assert.deepEqual(first.state, { attempts: 1, firstSeenAt: '2026-01-01T10:00:00.000Z', reason: 'contact missing' });
		const second = retryDecision(readRetryState(JSON.parse(JSON.stringify(first.state))), 'contact missing', 300_000, t0 + 299_999);
		assert.equal(second.action, 'retry');
		assert.equal(second.state.attempts, 2);
		assert.equal(second.state.firstSeenAt, '2026-01-01T10:00:00.000Z');
	});

	test('gives up at the limit with the reason, attempts and time', () => {
		const decision = retryDecision({ attempts: 10, firstSeenAt: '2026-01-01T10:00:00.000Z' }, 'contactIds: hubspot contact 102 has no salesforce record', 300_000, t0 + 300_000);
		assert.equal(decision.action, 'giveUp');
		assert.equal(decision.action === 'giveUp' && decision.reason, 'contactIds: hubspot contact 102 has no salesforce record; gave up after 11 attempts over 300 s (limit 300 s)');
	});

	test('counted from the change in the source CRM when that is earlier (every target gives up by the same time)', () => {
		const late = retryDecision(undefined, 'contact missing', 300_000, t0 + 200_000, '2026-01-01T10:00:00.000Z');
		assert.equal(late.action, 'retry');
		assert.equal(late.state.firstSeenAt, '2026-01-01T10:00:00.000Z');
		assert.equal(retryDecision(undefined, 'contact missing', 300_000, t0 + 300_000, '2026-01-01T10:00:00.000Z').action, 'giveUp', 'past the limit at the first attempt: no retry');
		assert.equal(retryDecision(undefined, 'x', 300_000, t0, '2026-01-01T11:00:00.000Z').state.firstSeenAt, '2026-01-01T10:00:00.000Z', 'a start in the future is now');
		assert.equal(retryDecision(undefined, 'x', 300_000, t0, 'not a date').state.firstSeenAt, '2026-01-01T10:00:00.000Z');
	});

	test('malformed retry state counts as a first attempt', () => {
		for (const bad of [undefined, null, 'x', { attempts: 0, firstSeenAt: '2026-01-01T10:00:00Z' }, { attempts: 2, firstSeenAt: 'yesterday' }]) assert.equal(readRetryState(bad), undefined);
	});
});
