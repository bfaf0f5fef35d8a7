// HubSpot connector: every operation through the real @hubspot/api-client against the sandbox emulator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { HubSpotCrmSyncApi } from '../../../../credentials/HubSpotCrmSyncApi.credentials';
import { create, HubSpotConnector, HUBSPOT_API_LIMITS, hubspotRateLimits } from '../../../../lib/crms/hubspot/connector';
import { createConnector, type ConvertLeadSuccess, type WriteFailure, type WriteOutcome } from '../../../../lib/connectors';
import type { TransportEvent } from '../../../../lib/http';
import { compileMapping } from '../../../../lib/mapping';
import { readRecords } from '../../../../lib/webhooks/enrich';
import { assertHungRequestAborted, assertLostDeleteIsDone } from '../unanswered';

let sandbox: Sandbox;
let hubspot: Emulator;
let url: string;
let tokenSeq = 0;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot'] });
	hubspot = sandbox.emulators.hubspot!;
	url = sandbox.urls.hubspot!;
});

after(async () => {
	await sandbox?.stop();
});

/** A fresh private-app token per connector: limiters and token caches are per credential. */
function connector(extra: Parameters<typeof create>[1] = {}): HubSpotConnector {
	return create({ accessToken: `pat-test-${++tokenSeq}`, baseUrl: url }, { retry: { baseDelayMs: 20, maxDelayMs: 500 }, ...extra });
}

type Dumped = { id: string; properties: Record<string, string>; archived?: boolean };
function dump(type: string): Dumped[] {
	return (hubspot.dump()[type] ?? []) as Dumped[];
}

function ok(outcome: WriteOutcome): asserts outcome is Extract<WriteOutcome, { id: string }> {
	assert.notEqual(outcome.status, 'failed', JSON.stringify(outcome));
}

/** The CRM id of a successful outcome (fails the test otherwise). */
function idOf(outcome: WriteOutcome): string {
	ok(outcome);
	return outcome.id;
}

describe('HubSpot connector', () => {
	test('createConnector builds it from credential values', () => {
		const c = createConnector('hubspot', { accessToken: 'pat-x', baseUrl: url });
		assert.equal(c.crm, 'hubspot');
		assert.equal(c.maxBatchSize('contact'), 100);
		assert.equal(c.matchField('contact', 'email'), 'email');
	});

	test('testConnection succeeds with a token and fails with auth when the emulator is strict', async () => {
		await connector().testConnection();
		hubspot.setStrictAuth(true);
		try {
			await assert.rejects(connector().testConnection(), (error: Error & { category?: string; httpStatus?: number }) => {
				assert.equal(error.category, 'auth');
				assert.equal(error.httpStatus, 401);
				return true;
			});
		} finally {
			hubspot.setStrictAuth(false);
		}
	});

	test('upsert by email: creates, then updates; one bad email fails alone with HubSpot\'s message', async () => {
		const c = connector();
		const first = await c.upsert('contact', 'email', [
			{ ref: 0, fields: { email: 'Grace@Example.com', firstname: 'Grace', lastname: 'Hopper' } },
			{ ref: 1, fields: { email: 'not-an-email', firstname: 'Bad' } },
			{ ref: 2, fields: { email: 'alan@example.com', firstname: 'Alan', lastname: 'Turing' } },
			{ ref: 3, fields: { firstname: 'No email' } },
		]);
		assert.deepEqual(first.map((o) => o.ref), [0, 1, 2, 3]);
		assert.equal(first[0].status, 'created');
		assert.equal(first[2].status, 'created');
		assert.equal(first[1].status, 'failed');
		assert.match((first[1] as { message: string }).message, /not-an-email.*invalid/i);
		assert.equal((first[1] as { category: string }).category, 'validation');
		assert.equal(first[3].status, 'failed');
		assert.match((first[3] as { message: string }).message, /needs a value for email/);

		const second = await c.upsert('contact', 'email', [{ ref: 7, fields: { email: 'grace@example.com', lastname: 'Hopper-Murray' } }]);
		assert.equal(second[0].status, 'updated');
		ok(first[0]);
		ok(second[0]);
		assert.equal(second[0].id, first[0].id);
		const stored = dump('contacts').filter((r) => r.properties.email === 'grace@example.com');
		assert.equal(stored.length, 1);
		assert.equal(stored[0].properties.lastname, 'Hopper-Murray');
		assert.equal(stored[0].properties.firstname, 'Grace');
	});

	test('upsert of 250 contacts is split into batches of 100 and every record gets its outcome', async () => {
		const c = connector();
		const records = Array.from({ length: 250 }, (_, i) => ({ ref: i, fields: { email: `bulk${i}@example.com`, firstname: `Bulk${i}` } }));
		const outcomes = await c.upsert('contact', 'email', records);
		assert.equal(outcomes.length, 250);
		assert.ok(outcomes.every((o) => o.status === 'created'), JSON.stringify(outcomes.find((o) => o.status !== 'created')));
		assert.equal(new Set(outcomes.map((o) => (o as { id: string }).id)).size, 250);
		assert.equal(c.transport.stats.calls, 3);
		assert.equal(dump('contacts').filter((r) => r.properties.email?.startsWith('bulk')).length, 250);
	});

	test('create, get, search, update and delete companies', async () => {
		const c = connector();
		const created = await c.create('account', [
			{ ref: 0, fields: { name: 'Acme', domain: 'acme.example' } },
			{ ref: 1, fields: { name: 'Globex', domain: 'globex.example', phone: '+1 555 0100' } },
			{ ref: 2, fields: { name: 'Bad', 'Not A Property': 'x' } },
		]);
		ok(created[0]);
		ok(created[1]);
		assert.equal(created[2].status, 'failed');
		assert.match((created[2] as { message: string }).message, /does not exist/);

		const acme = await c.get('account', created[0].id, { fields: ['name', 'domain'] });
		assert.equal(acme?.fields.name, 'Acme');
		assert.ok(acme?.modifiedAt);
		assert.equal(await c.get('account', '999999999'), undefined);

		const found = await c.search('account', 'domain', ['globex.example', 'nothing.example']);
		assert.deepEqual(found.map((r) => r.id), [created[1].id]);

		const updated = await c.update('account', [
			{ ref: 0, id: created[0].id, fields: { name: 'Acme Corp' } },
			{ ref: 1, id: '424242424', fields: { name: 'Ghost' } },
		]);
		assert.equal(updated[0].status, 'updated');
		assert.equal(updated[1].status, 'failed');
		assert.equal((await c.get('account', idOf(created[0])))?.fields.name, 'Acme Corp');

		const deleted = await c.delete('account', [{ ref: 0, id: idOf(created[0]) }]);
		assert.equal(deleted[0].status, 'deleted');
		assert.equal(await c.get('account', idOf(created[0])), undefined);
		assert.equal(dump('companies').find((r) => r.id === idOf(created[0]))?.archived, true);
	});

	test('upsert of companies by domain (no native upsert key): search, then create or update', async () => {
		const c = connector();
		const first = await c.upsert('account', 'domain', [{ ref: 0, fields: { domain: 'initech.example', name: 'Initech' } }]);
		assert.equal(first[0].status, 'created');
		const second = await c.upsert('account', 'domain', [
			{ ref: 0, fields: { domain: 'initech.example', name: 'Initech Ltd' } },
			{ ref: 1, fields: { domain: 'hooli.example', name: 'Hooli' } },
		]);
		assert.equal(second[0].status, 'updated');
		assert.equal((second[0] as { id: string }).id, (first[0] as { id: string }).id);
		assert.equal(second[1].status, 'created');
	});

	test('deals and activities: create, get, update, delete (activity type from properties)', async () => {
		const c = connector();
		const deal = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Big deal', amount: 1200, dealstage: 'appointmentscheduled' } }]);
		ok(deal[0]);
		assert.equal((await c.get('opportunity', deal[0].id))?.fields.dealname, 'Big deal');

		const ts = String(Date.parse('2026-01-05T10:00:00Z'));
		const acts = await c.create('activity', [
			{ ref: 0, fields: { hs_engagement_type: 'task', hs_task_subject: 'Call back', hs_timestamp: ts } },
			{ ref: 1, fields: { hs_note_body: 'Met at the fair', hs_timestamp: ts } },
			{ ref: 2, fields: { subject: 'no type' } },
		]);
		ok(acts[0]);
		ok(acts[1]);
		assert.equal(acts[2].status, 'failed');
		assert.equal(dump('tasks').find((r) => r.id === idOf(acts[0]))?.properties.hs_task_subject, 'Call back');
		assert.equal(dump('notes').find((r) => r.id === idOf(acts[1]))?.properties.hs_note_body, 'Met at the fair');

		const note = await c.get('activity', idOf(acts[1]));
		assert.equal(note?.fields.hs_note_body, 'Met at the fair');
		const upd = await c.update('activity', [{ ref: 0, id: idOf(acts[1]), fields: { hs_note_body: 'Met at the fair (edited)' } }]);
		assert.equal(upd[0].status, 'updated');
		assert.equal(dump('notes').find((r) => r.id === idOf(acts[1]))?.properties.hs_note_body, 'Met at the fair (edited)');
		const del = await c.delete('activity', [{ ref: 0, id: idOf(acts[0]) }, { ref: 1, id: '987654321' }]);
		assert.equal(del[0].status, 'deleted');
		assert.equal(del[1].status, 'failed');
		assert.equal(await c.get('activity', idOf(acts[0])), undefined);
	});

	test('GDPR erase of contacts uses gdpr-delete (permanent); a plain delete archives', async () => {
		const c = connector();
		const made = await c.create('contact', [
			{ ref: 0, fields: { email: 'forget.me@example.com' } },
			{ ref: 1, fields: { email: 'archive.me@example.com' } },
		]);
		const erased = await c.delete('contact', [{ ref: 0, id: idOf(made[0]) }, { ref: 1, id: '555555555' }], { erase: true });
		assert.equal(erased[0].status, 'deleted');
		assert.equal(erased[1].status, 'failed');
		assert.equal(dump('contacts').find((r) => r.id === idOf(made[0])), undefined, 'no trace left, not even archived');
		await c.delete('contact', [{ ref: 0, id: idOf(made[1]) }]);
		assert.equal(dump('contacts').find((r) => r.id === idOf(made[1]))?.archived, true);
	});

	test('merge contacts with HubSpot\'s merge endpoint; a bad id fails alone', async () => {
		const c = connector();
		const made = await c.create('contact', [
			{ ref: 0, fields: { email: 'm1@example.com', firstname: 'Master' } },
			{ ref: 1, fields: { email: 'm2@example.com', phone: '+44 20 7946 0000' } },
		]);
		ok(made[0]);
		ok(made[1]);
		// A fresh connector, as in n8n (one per execution): merge is its first call.
		const merged = await connector().merge('contact', [
			{ ref: 0, masterId: made[0].id, mergeIds: [made[1].id] },
			{ ref: 1, masterId: made[0].id, mergeIds: ['111111111'] },
		]);
		assert.equal(merged[0].status, 'merged');
		assert.deepEqual((merged[0] as { mergedIds: string[] }).mergedIds, [made[1].id]);
		assert.equal(merged[1].status, 'failed');
		const master = await c.get('contact', made[0].id, { fields: ['phone', 'firstname'] });
		assert.equal(master?.fields.phone, '+44 20 7946 0000');
		await assert.rejects(c.merge('activity', [{ ref: 0, masterId: '1', mergeIds: ['2'] }]), /not implemented/);
	});

	test('listChanges pages in modified order past small pages, dedupes at the watermark and reports deletions', async () => {
		const c = connector();
		const since = new Date().toISOString();
		await new Promise((r) => setTimeout(r, 5));
		const made = await c.create(
			'opportunity',
			Array.from({ length: 25 }, (_, i) => ({ ref: i, fields: { dealname: `Delta ${i}` } })),
		);
		const ids = made.map((o) => (o as { id: string }).id);
		const seen: string[] = [];
		let cursor: string | undefined;
		let pages = 0;
		for (;;) {
			const page = await c.listChanges('opportunity', { since, cursor, pageSize: 7 });
			seen.push(...page.records.map((r) => r.id));
			cursor = page.cursor;
			pages++;
			if (!page.hasMore) break;
			assert.ok(pages < 20, 'paging does not terminate');
		}
		assert.deepEqual([...seen].sort(), [...ids].sort());
		assert.equal(new Set(seen).size, seen.length, 'no record twice');

		// Nothing new: an empty page. Then one update and one delete show up.
		const idle = await c.listChanges('opportunity', { cursor });
		assert.equal(idle.records.length, 0);
		await new Promise((r) => setTimeout(r, 5));
		await c.update('opportunity', [{ ref: 0, id: ids[3], fields: { dealname: 'Delta 3 (changed)' } }]);
		await c.delete('opportunity', [{ ref: 0, id: ids[4] }]);
		const next = await c.listChanges('opportunity', { cursor: idle.cursor });
		assert.deepEqual(next.records.map((r) => r.id), [ids[3]]);
		assert.equal(next.records[0].fields.dealname, 'Delta 3 (changed)');
		assert.deepEqual(next.deleted.map((d) => d.id), [ids[4]]);
	});

	test('throttling: 429 TEN_SECONDLY_ROLLING is retried until the window frees up', async () => {
		const events: TransportEvent[] = [];
		// Our own limiter set far above HubSpot's limit, so the emulator's 429 is what stops us.
		const c = connector({ limits: { default: { requests: 10_000, intervalMs: 10_000, maxConcurrent: 10 } }, retry: { baseDelayMs: 200, maxDelayMs: 2000, maxAttempts: 20 }, onEvent: (e) => events.push(e) });
		hubspot.setRateLimits(true);
		try {
			const made = await c.create('account', [{ ref: 0, fields: { name: 'Throttle target' } }]);
			ok(made[0]);
			const id = made[0].id;
			const reads = await Promise.all(Array.from({ length: 110 }, () => c.get('account', id)));
			assert.ok(reads.every((r) => r?.id === id));
			assert.ok(c.transport.stats.throttled > 0, 'the emulator throttled');
			const throttle = events.find((e) => e.type === 'throttle');
			assert.equal(throttle?.error?.code, 'TEN_SECONDLY_ROLLING');
			assert.equal(throttle?.error?.httpStatus, 429);
		} finally {
			hubspot.setRateLimits(false);
		}
	});

	test('throttling: search SECONDLY 429 waits a second and recovers', async () => {
		const c = connector({ limits: { search: { maxConcurrent: 8 } } });
		hubspot.setRateLimits(true);
		try {
			const results = await Promise.all(Array.from({ length: 8 }, (_, i) => c.search('contact', 'email', [`nobody${i}@example.com`])));
			assert.ok(results.every((r) => r.length === 0));
			assert.ok(c.transport.stats.throttled > 0);
		} finally {
			hubspot.setRateLimits(false);
		}
	});

	test('the default limiter keeps a burst under HubSpot\'s limit: no 429 at all', async () => {
		const c = connector();
		hubspot.setRateLimits(true);
		try {
			const made = await c.create('account', [{ ref: 0, fields: { name: 'Paced' } }]);
			ok(made[0]);
			const id = made[0].id;
			await Promise.all(Array.from({ length: 30 }, () => c.get('account', id)));
			assert.equal(c.transport.stats.throttled, 0);
		} finally {
			hubspot.setRateLimits(false);
		}
	});

	test('5xx replies are retried with backoff and the batch completes', async () => {
		const c = connector();
		hubspot.setFaults({ errorRate: 0.5, seed: 7, pathPattern: '^/crm/' });
		try {
			const outcomes = await c.upsert('contact', 'email', Array.from({ length: 30 }, (_, i) => ({ ref: i, fields: { email: `flaky${i}@example.com` } })));
			assert.ok(outcomes.every((o) => o.status === 'created'));
			for (let i = 0; i < 6; i++) await c.get('contact', (outcomes[0] as { id: string }).id);
			assert.ok(c.transport.stats.retries > 0, 'faults were injected and retried');
		} finally {
			hubspot.setFaults({});
		}
	});

	test('a hung request times out and is retried (idempotent read)', async () => {
		const c = connector({ timeoutMs: 300 });
		const made = await c.create('account', [{ ref: 0, fields: { name: 'Hang' } }]);
		ok(made[0]);
		hubspot.setFaults({ hangRate: 0.5, seed: 3, pathPattern: '^/crm/v3/objects/companies/\\d+' });
		try {
			for (let i = 0; i < 4; i++) assert.equal((await c.get('account', made[0].id))?.fields.name, 'Hang');
			assert.ok(c.transport.stats.retries > 0);
		} finally {
			hubspot.setFaults({});
		}
	});

	test('OAuth: the token is obtained with the refresh token, refreshed on 401 (expired) and the call replayed', async () => {
		const c = create({ clientId: 'app-client', clientSecret: 'app-secret', oauthTokenData: { refresh_token: `rt-${++tokenSeq}` }, baseUrl: url });
		await c.testConnection();
		const tokens = (hubspot as unknown as { tokens: { expireAll(): void } }).tokens;
		assert.equal(c.transport.stats.refreshes, 0);
		tokens.expireAll();
		await c.testConnection();
		assert.equal(c.transport.stats.refreshes, 1, 'one refresh after the 401');
		// A revoked/unknown refresh token in strict mode: a clear auth error, not a loop.
		hubspot.setStrictAuth(true);
		try {
			const bad = create({ clientId: 'app-client', clientSecret: 'app-secret', oauthTokenData: { refresh_token: 'never-issued' }, baseUrl: url });
			await assert.rejects(bad.testConnection(), (error: Error & { category?: string }) => error.category === 'auth');
		} finally {
			hubspot.setStrictAuth(false);
		}
	});

	test('OAuth: a token past its lifetime is refreshed before use', async () => {
		hubspot.setTokenLifetime(1_000);
		try {
			const c = create({ clientId: 'app-client', clientSecret: 'app-secret', oauthTokenData: { refresh_token: `rt-${++tokenSeq}` }, baseUrl: url });
			await c.testConnection();
			await c.testConnection();
			// expires_in (1 s) is inside the 60 s refresh skew: every call refreshes first, none hits a 401.
			assert.equal(c.transport.stats.refreshes, 0);
			assert.equal(c.tokens.refreshCount, 2);
			assert.equal(c.transport.stats.attempts, 2);
		} finally {
			hubspot.setTokenLifetime(1_800_000);
		}
	});

	test('describeFields reads standard and custom properties from /crm/v3/properties/{type}', async () => {
		const created = await fetch(`${url}/crm/v3/properties/contacts`, {
			method: 'POST',
			headers: { authorization: 'Bearer pat-x', 'content-type': 'application/json' },
			body: JSON.stringify({ name: 'utm_source_custom', label: 'UTM Source', type: 'string', fieldType: 'text', groupName: 'contactinformation' }),
		});
		assert.equal(created.status, 201, await created.clone().text());
		const fields = await createConnector('hubspot', { accessToken: 'pat-x', baseUrl: url }).describeFields('contact');
		const byName = new Map(fields.map((field) => [field.name, field]));
		assert.equal(byName.get('email')?.unique, true);
		assert.equal(byName.get('email')?.custom, false);
		assert.ok(byName.has('firstname'));
		assert.equal(byName.get('utm_source_custom')?.custom, true);
		assert.equal(byName.get('utm_source_custom')?.label, 'UTM Source');
	});
});

describe('HubSpot connector: convertLeads', () => {
	test('moves the lead contact to salesqualifiedlead or opportunity, never back; a missing contact is NOT_FOUND; a mixed batch', async () => {
		const c = connector();
		const made = await c.create('lead', [
			{ ref: 0, fields: { email: 'conv-a@example.com', lastname: 'A', lifecyclestage: 'lead' } },
			{ ref: 1, fields: { email: 'conv-b@example.com', lastname: 'B', lifecyclestage: 'lead' } },
			{ ref: 2, fields: { email: 'conv-c@example.com', lastname: 'C', lifecyclestage: 'customer' } },
			{ ref: 3, fields: { email: 'conv-d@example.com', lastname: 'D', lifecyclestage: 'other' } },
			{ ref: 4, fields: { email: 'conv-e@example.com', lastname: 'E' } },
		]);
		const [a, b, customer, other, noStage] = made.map(idOf);
		const outcomes = await c.convertLeads([
			{ ref: 0, id: a, contactId: a, accountId: '777' },
			{ ref: 1, id: b, contactId: b, withOpportunity: true },
			{ ref: 2, id: customer, contactId: customer, withOpportunity: true },
			{ ref: 3, id: other, contactId: other },
			{ ref: 4, id: '999999999', contactId: '999999999' },
			{ ref: 5, id: noStage, contactId: noStage },
			{ ref: 6, id: 'not-an-id', contactId: a },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'converted', id: a, contactId: a, accountId: '777' });
		assert.deepEqual(outcomes[1], { ref: 1, status: 'converted', id: b, contactId: b });
		assert.equal((outcomes[2] as ConvertLeadSuccess).status, 'unchanged', 'customer is beyond opportunity');
		assert.equal((outcomes[3] as ConvertLeadSuccess).status, 'unchanged', 'other counts as beyond');
		assert.equal((outcomes[4] as WriteFailure).code, 'NOT_FOUND');
		assert.equal((outcomes[5] as ConvertLeadSuccess).status, 'converted');
		assert.equal((outcomes[6] as WriteFailure).code, 'INVALID_ID');
		const stage = (id: string) => dump('contacts').find((o) => o.id === id)?.properties.lifecyclestage;
		assert.equal(stage(a), 'salesqualifiedlead');
		assert.equal(stage(b), 'opportunity');
		assert.equal(stage(customer), 'customer');
		assert.equal(stage(other), 'other');
		assert.equal(stage(noStage), 'salesqualifiedlead');

		// Converted already: at or beyond the wanted stage, nothing is written.
		const writes = hubspot.requests().filter((r) => r.method !== 'GET').length;
		const again = await c.convertLeads([
			{ ref: 0, id: a, contactId: a },
			{ ref: 1, id: b, contactId: b },
		]);
		assert.deepEqual(again.map((o) => o.status), ['unchanged', 'unchanged']);
		assert.equal(stage(b), 'opportunity', 'never moved back to salesqualifiedlead');
		assert.equal(hubspot.requests().filter((r) => r.method !== 'GET').length - writes, 1, 'one batch read, no update');
	});
});

describe('HubSpot connector: engagements read with their associations', () => {
	test('get of an activity carries its contacts, deals and companies as a v3 associations block; the fetch reads the meeting\'s own properties', async () => {
		const c = connector();
		const [contact] = await c.create('contact', [{ ref: 0, fields: { email: 'assoc.reader@example.com', firstname: 'Assoc' } }]);
		const [company] = await c.create('account', [{ ref: 0, fields: { name: 'Assoc Co' } }]);
		const [deal] = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Assoc deal' } }]);
		const start = Date.parse('2026-03-09T10:00:00Z');
		const res = await fetch(`${url}/crm/v3/objects/meetings`, {
			method: 'POST',
			headers: { authorization: 'Bearer pat-other-app', 'content-type': 'application/json' },
			body: JSON.stringify({
				properties: { hs_meeting_title: 'Engine review', hs_meeting_start_time: String(start), hs_meeting_end_time: String(start + 45 * 60_000), hs_timestamp: String(start) },
				associations: [
					{ to: { id: idOf(contact) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 200 }] },
					{ to: { id: idOf(company) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 188 }] },
					{ to: { id: idOf(deal) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 212 }] },
				],
			}),
		});
		assert.equal(res.status, 201, await res.clone().text());
		const meetingId = String(((await res.json()) as { id: string }).id);

		const got = await c.get('activity', meetingId);
		const links = got?.fields.associations as Record<string, { results: Array<{ id: string }> }>;
		assert.deepEqual(links.contacts.results.map((r) => r.id), [idOf(contact)]);
		assert.deepEqual(links.companies.results.map((r) => r.id), [idOf(company)]);
		assert.deepEqual(links.deals.results.map((r) => r.id), [idOf(deal)]);

		// What the trigger's "Fetch Full Records" reads, mapped with the default activity map.
		const fetched = (await readRecords(c, 'activity', [meetingId])).get(meetingId)!;
		const unified = compileMapping({ direction: 'toUnified', entity: 'activity', source: 'hubspot', mode: 'lenient' }).map(fetched.fields).record;
		assert.equal(unified.type, 'meeting');
		assert.equal(unified.subject, 'Engine review');
		assert.equal(unified.duration, 45 * 60);
		assert.deepEqual([unified.contactIds, unified.accountIds, unified.dealIds], [[idOf(contact)], [idOf(company)], [idOf(deal)]]);

		// Non-engagements are read without associations; an activity without links has none.
		assert.equal((await c.get('account', idOf(company)))?.fields.associations, undefined);
		const [bare] = await c.create('activity', [{ ref: 0, fields: { hs_note_body: 'no links', hs_timestamp: String(start) } }]);
		assert.equal((await c.get('activity', idOf(bare)))?.fields.associations, undefined);
	});

	test('a unified activity with links is created with them as associations; an update leaves them alone', async () => {
		const c = connector();
		const [contact] = await c.create('contact', [{ ref: 0, fields: { email: 'assoc.writer@example.com', firstname: 'Writer' } }]);
		const [company] = await c.create('account', [{ ref: 0, fields: { name: 'Writer Co' } }]);
		const [deal] = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Writer deal' } }]);
		const call = { type: 'call', subject: 'Linked call', timestamp: '2026-03-10T09:00:00.000Z', duration: 600, contactIds: [idOf(contact)], accountIds: [idOf(company)], dealIds: [idOf(deal)] };
		const fields = compileMapping({ direction: 'fromUnified', entity: 'activity', target: 'hubspot', mode: 'lenient' }).map(call).record;
		const [created] = await c.create('activity', [{ ref: 0, fields }]);
		const id = idOf(created);
		assert.equal(dump('calls').find((r) => r.id === id)?.properties.associations, undefined, 'not written as a property');
		const read = compileMapping({ direction: 'toUnified', entity: 'activity', source: 'hubspot', mode: 'lenient' }).map((await c.get('activity', id))!.fields).record;
		assert.deepEqual([read.type, read.subject, read.contactIds, read.accountIds, read.dealIds], ['call', 'Linked call', [idOf(contact)], [idOf(company)], [idOf(deal)]]);

		const [updated] = await c.update('activity', [{ ref: 0, id, fields: { ...fields, hs_call_title: 'Linked call (edited)' } }]);
		assert.equal(updated.status, 'updated', JSON.stringify(updated));
		const again = (await c.get('activity', id))!.fields;
		assert.equal(again.hs_call_title, 'Linked call (edited)');
		assert.deepEqual((again.associations as Record<string, { results: Array<{ id: string }> }>).contacts.results.map((r) => r.id), [idOf(contact)]);

		// A link to a record HubSpot does not have fails that activity alone, with HubSpot's reason.
		const [bad, good] = await c.create('activity', [
			{ ref: 0, fields: { hs_note_body: 'to nobody', hs_timestamp: '1773133200000', associations: { contacts: { results: [{ id: '999999999' }] } } } },
			{ ref: 1, fields: { hs_note_body: 'to the contact', hs_timestamp: '1773133200000', associations: { contacts: { results: [{ id: idOf(contact) }] } } } },
		]);
		assert.equal(bad.status, 'failed');
		ok(good);
	});
});

describe('HubSpot connector: requests without an answer', () => {
	test('an erase whose reply was lost is sent again, answered 404, reported NOT_FOUND and done by the writer', async () => {
		const c = connector({ timeoutMs: 400 });
		const [made] = await c.create('contact', [{ ref: 0, fields: { email: 'lost.erase@example.com' } }]);
		await assertLostDeleteIsDone({ connector: c, emulator: hubspot, entity: 'contact', id: idOf(made), deletePath: '/gdpr-delete$', operation: 'erase' });
		assert.equal(dump('contacts').find((r) => r.id === idOf(made)), undefined);
	});

	test('deleting an activity that is already gone is NOT_FOUND (found under no engagement type)', async () => {
		const c = connector();
		const [task] = await c.create('activity', [{ ref: 0, fields: { hs_task_subject: 'Call back', hs_timestamp: '2025-01-01T10:00:00Z' } }]);
		assert.equal((await c.delete('activity', [{ ref: 0, id: idOf(task) }]))[0].status, 'deleted');
		const [again] = await c.delete('activity', [{ ref: 0, id: idOf(task) }]);
		assert.deepEqual({ status: again.status, code: (again as { code?: string }).code }, { status: 'failed', code: 'NOT_FOUND' });
	});

	test('a request that times out is aborted (its connection closed) before the retry', async () => {
		const c = connector({ timeoutMs: 300 });
		const [made] = await c.create('account', [{ ref: 0, fields: { name: 'Slow' } }]);
		const [updated] = await assertHungRequestAborted(hubspot, '^/crm/v3/objects/companies/batch/update$', () => c.update('account', [{ ref: 0, id: idOf(made), fields: { name: 'Slower' } }]));
		assert.equal(updated.status, 'updated');
		assert.equal(dump('companies').find((r) => r.id === idOf(made))?.properties.name, 'Slower');
	});
});

describe('API limit tier', () => {
	test("each tier of the credential's API Limit is the documented requests per 10 s; search stays 4 per second", () => {
		assert.deepEqual(
			Object.fromEntries(Object.keys(HUBSPOT_API_LIMITS).map((tier) => [tier, hubspotRateLimits(tier as keyof typeof HUBSPOT_API_LIMITS).default.requests])),
			{ starter: 100, professional: 190, increase: 250 },
		);
		assert.equal(hubspotRateLimits().default.requests, 100, 'credentials saved before the field existed keep the Free/Starter limit');
		for (const tier of Object.keys(HUBSPOT_API_LIMITS)) assert.deepEqual(hubspotRateLimits(tier as keyof typeof HUBSPOT_API_LIMITS).search, { requests: 4, intervalMs: 1_000, maxConcurrent: 2, headroom: 1 });
	});

	test('the private-app credential offers exactly those tiers, Free/Starter by default', () => {
		const field = new HubSpotCrmSyncApi().properties.find((p) => p.name === 'apiLimit')!;
		assert.deepEqual((field.options as Array<{ value: string }>).map((o) => o.value).sort(), Object.keys(HUBSPOT_API_LIMITS).sort());
		assert.equal(field.default, 'starter');
	});

	test('an unknown tier is a clear error, not a silent default', () => {
		assert.throws(() => create({ accessToken: 'pat-x', baseUrl: url, apiLimit: 'unlimited' }), /unknown API limit "unlimited"/);
		assert.throws(() => create({ accessToken: 'pat-x', baseUrl: url, apiLimit: 'constructor' }), /unknown API limit "constructor"/);
	});

	test('a connector on the Professional tier works as usual', async () => {
		const c = create({ accessToken: `pat-test-${++tokenSeq}`, baseUrl: url, apiLimit: 'professional' });
		const [created] = await c.create('contact', [{ ref: 0, fields: { email: 'tier.professional@example.com', firstname: 'Tier' } }]);
		ok(created);
		assert.equal(dump('contacts').find((r) => r.id === created.id)?.properties.email, 'tier.professional@example.com');
	});
});
