// Pipedrive against recorded payloads (../shared/data/crm-fixtures/pipedrive): the connector's
// response handling through the replay server, the webhook module's verify+parse, and the
// sandbox's answers compared in shape. Expected values are read from the fixtures at test time.
//
// The connector talks v2 for persons, organizations, deals and activities and v1 for leads. A v1
// reply of persons/organizations/deals is replayed to the connector's v2 call for the same
// object: what is checked is that the response handling (envelope, ids, times, paging) reads a
// real Pipedrive body without losing or shifting a value, whichever API version answered.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { conformance } from './suite';
import { replayServer, type ReplayReply, type ReplayServer } from './replay';
import { compareShape, describeDifferences, type CompareOptions } from './shape';
import type { Fixture } from './fixtures';
import { PipedriveConnector } from '../../lib/crms/pipedrive/connector';
import { handleWebhook } from '../../lib/webhooks';
import { defaultMapping } from '../../lib/mapping';
import type { WriteFailure, WriteOutcome } from '../../lib/connectors/types';
import type { EntityType } from '../../lib/model';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { PipedriveEmulator } from '../../sandbox/pipedrive';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/* eslint-disable @typescript-eslint/no-explicit-any -- fixture JSON is read as any */
type Json = any;

let seq = 0;
let replay: ReplayServer;
let sandbox: Sandbox;
let sandboxUrl: string;

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive'] });
	sandboxUrl = sandbox.urls.pipedrive!;
});
after(async () => {
	await sandbox?.stop();
});

/** A connector with its own token (no shared limiter state) pointed at a fresh replay server. */
async function replaying(...replies: ReplayReply[]): Promise<PipedriveConnector> {
	await replay?.close();
	replay = await replayServer();
	replay.reply(...replies);
	return new PipedriveConnector({ apiToken: `conformance-${++seq}`, baseUrl: replay.url }, { retry: { baseDelayMs: 1, maxAttempts: 1 } });
}
after(async () => {
	await replay?.close();
});

/** The fixture's recorded status and headers (Nango recordings) with its bytes, else 200. */
function recordedReply(fixture: Fixture, status = 200): ReplayReply {
	return { status: fixture.recorded?.status ?? status, headers: fixture.recorded?.headers, body: fixture.text };
}

/** A v1 time ("YYYY-MM-DD HH:MM:SS", documented as UTC) or an ISO time, as epoch ms. */
function instant(value: string): number {
	const v1 = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
	const ms = Date.parse(v1 ? `${v1[1]}T${v1[2]}Z` : value);
	assert.ok(!Number.isNaN(ms), `fixture time ${value}`);
	return ms;
}

function assertFailed(outcome: WriteOutcome | undefined): WriteFailure {
	assert.equal(outcome?.status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

/** The record a connector read, held against the fixture's object: id, times as instants, every value kept. */
function assertRecord(record: { id: string; fields: Json; modifiedAt?: string; createdAt?: string } | undefined, data: Json): void {
	assert.ok(record, 'no record');
	assert.equal(record.id, String(data.id));
	if (typeof data.update_time === 'string') assert.equal(Date.parse(record.modifiedAt!), instant(data.update_time));
	if (typeof data.add_time === 'string') assert.equal(Date.parse(record.createdAt!), instant(data.add_time));
	// The raw fields are kept as sent (nothing dropped or re-typed: visible_to stays "3" or 3).
	assert.deepEqual(record.fields, data);
}

async function sandboxCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
	const res = await fetch(`${sandboxUrl}${path}`, {
		method,
		headers: { 'x-api-token': 'conformance', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function assertSameShape(recorded: Json, answer: Json, options: CompareOptions = {}): void {
	const differences = compareShape(recorded, answer, options);
	assert.deepEqual(differences, [], describeDifferences(differences));
}

const emulator = () => sandbox.emulators.pipedrive as PipedriveEmulator;

/** Fresh sandbox company with one person, organization and deal (ids 1). */
async function seed(): Promise<void> {
	emulator().reset();
	assert.equal((await sandboxCall('POST', '/api/v2/organizations', { name: 'Org' })).status, 201);
	const person = await sandboxCall('POST', '/api/v2/persons', {
		name: 'Ada Lovelace',
		org_id: 1,
		emails: [{ value: 'ada@example.com', primary: true, label: 'work' }],
		phones: [{ value: '+4420', primary: true, label: 'work' }],
	});
	assert.equal(person.status, 201, JSON.stringify(person.body));
	assert.equal((await sandboxCall('POST', '/api/v2/deals', { title: 'Deal', person_id: 1, org_id: 1, value: 10, currency: 'USD' })).status, 201);
}

/** A receiver for the sandbox's webhook deliveries. */
async function receiver(): Promise<{ url: string; got: Json[]; server: Server }> {
	const got: Json[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
			res.writeHead(200).end('ok');
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

/** A webhook delivery of the sandbox for a deal stage change, in webhook version `version`. */
async function sandboxDealChange(version: '1.0' | '2.0'): Promise<Json> {
	await seed();
	const rcv = await receiver();
	try {
		const hook = await sandboxCall('POST', '/v1/webhooks', { subscription_url: rcv.url, event_action: '*', event_object: 'deal', version, http_auth_user: 'u', http_auth_password: 'p' });
		assert.equal(hook.status, 201, JSON.stringify(hook.body));
		const changed = await fetch(`${sandboxUrl}/api/v2/deals/1`, {
			method: 'PATCH',
			headers: { 'x-api-token': 'conformance', 'content-type': 'application/json', 'x-sandbox-change-source': 'app' },
			body: JSON.stringify({ stage_id: 2 }),
		});
		assert.equal(changed.status, 200);
		await emulator().webhooksIdle();
		const delivery = rcv.got.find((b) => (b.meta?.action ?? '') === (version === '2.0' ? 'change' : 'updated'));
		assert.ok(delivery, `no ${version} change delivery: ${JSON.stringify(rcv.got)}`);
		return delivery;
	} finally {
		server(rcv.server);
	}
}
const server = (s: Server) => s.close();

/** Pipedrive's webhook request, Basic auth as the subscription set it. */
function webhookRequest(text: string) {
	return {
		method: 'POST',
		url: '/webhook/pipedrive',
		headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('n8n:s3cret').toString('base64')}` },
		rawBody: Buffer.from(text),
	};
}

/** Optional v2 person fields the sandbox returns only once set; the spec example sets them all. */
const PERSON_SET_ONLY = ['notes', 'im', 'birthday', 'job_title', 'postal_address'];
const PERSON_SET_ONLY_REASON =
	`the sandbox returns ${PERSON_SET_ONLY.join(', ')} only once set; this OAS example sets every optional field. No recorded v2 person shows unset ones; ` +
	'the recorded v1 person (v1-get-person-recorded.json) has them as null (im as [{"value":"","primary":true}]), so the real v2 API probably sends null. ' +
	'Not changed in the sandbox: null would then flow to the other CRMs as an empty title, which the e2e suites (not run here) would need to expect';
/** Optional v2 person fields, present in the spec example only because it sets them all. */
function personOptional(prefix = '$.data'): { ignore: string[] } {
	return { ignore: PERSON_SET_ONLY.map((k) => `${prefix}.${k}`) };
}
const DEAL_OPTIONAL = ['acv', 'arr', 'mrr'];
const ORG_SANDBOX_EXTRAS = ['website', 'linkedin', 'industry', 'annual_revenue', 'employee_count'];
/** In the RECORDED lead create, not in amp-labs' (THIRD-PARTY, sometimes hand-trimmed) lead list. */
const LEAD_OPTIONAL = ['source_deal_id', 'archive_time'];

conformance('pipedrive', (suite) => {
	// ------------------------------------------------------------------ single reads

	for (const [file, entity] of [
		['v1-get-person-recorded.json', 'contact'],
		['v1-get-organization-recorded.json', 'account'],
		['v2-get-deal-recorded.json', 'opportunity'],
		['v2-get-person-spec-example.json', 'contact'],
	] as Array<[string, EntityType]>) {
		suite.check(file, 'connector', `get(${entity}) reads id, times and every value`, async (fixture) => {
			const data = (fixture.json as Json).data;
			const connector = await replaying(recordedReply(fixture));
			const record = await connector.get(entity, String(data.id));
			assertRecord(record, data);
			if (entity === 'contact' && Array.isArray(data.emails)) {
				// v2 person as a unified contact: the primary email, the name halves, the owner.
				const unified = defaultMapping('toUnified', 'pipedrive', 'contact').map(record!.fields).record;
				assert.equal(unified.email, data.emails.find((e: Json) => e.primary).value);
				assert.equal(unified.firstName, data.first_name);
				assert.equal(unified.lastName, data.last_name);
				assert.equal(String(unified.ownerId), String(data.owner_id));
			}
		});
	}

	// ------------------------------------------------------------------ lists and paging

	suite.check('v1-list-persons-pagination-recorded.json', 'connector', 'last v1 page (no next_start) ends the sweep with every row', async (fixture) => {
		const json = fixture.json as Json;
		assert.equal(json.additional_data.pagination.more_items_in_collection, false);
		assert.equal('next_start' in json.additional_data.pagination, false);
		// Leads are the connector's v1 (start-offset) list: the same envelope.
		const connector = await replaying(recordedReply(fixture));
		const page = await connector.listChanges('lead', { since: '2020-01-01T00:00:00Z' });
		assert.equal(page.hasMore, false);
		assert.equal(replay.requests.length, 1);
		assert.deepEqual(page.records.map((r) => r.id), json.data.map((p: Json) => String(p.id)));
		for (const [i, p] of json.data.entries()) assert.equal(Date.parse(page.records[i].modifiedAt!), instant(p.update_time));
	});

	for (const [file, entity] of [
		['v1-list-organizations-recorded.json', 'account'],
		['v1-list-deals-recorded.json', 'opportunity'],
	] as Array<[string, EntityType]>) {
		suite.check(file, 'connector', `listChanges(${entity}): every row, UTC times, no further page`, async (fixture) => {
			const json = fixture.json as Json;
			const connector = await replaying(recordedReply(fixture));
			const page = await connector.listChanges(entity, { since: '2020-01-01T00:00:00Z', includeDeleted: false });
			assert.equal(page.hasMore, false);
			assert.deepEqual(page.records.map((r) => r.id), json.data.map((r: Json) => String(r.id)));
			for (const [i, r] of json.data.entries()) assertRecord(page.records[i], r);
		});
	}

	suite.check('v1-get-leads-amp.json', 'connector', 'listChanges(lead): UUID ids, ISO ms times, last page', async (fixture) => {
		const json = fixture.json as Json;
		const connector = await replaying({ status: 200, body: fixture.text });
		const page = await connector.listChanges('lead', { since: '2020-01-01T00:00:00Z' });
		assert.equal(page.hasMore, false);
		assert.equal(page.records.length, json.data.length);
		for (const [i, r] of json.data.entries()) assertRecord(page.records[i], r);
		assert.match(replay.requests[0].url, /^\/(api\/)?v1\/leads\?/);
	});

	suite.check('v2-list-stages-cursor-recorded.json', 'connector', 'next_cursor null ends a v2 sweep', async (fixture) => {
		const json = fixture.json as Json;
		assert.equal(json.additional_data.next_cursor, null);
		const connector = await replaying(recordedReply(fixture));
		const page = await connector.listChanges('opportunity', { since: '2020-01-01T00:00:00Z', includeDeleted: false });
		assert.equal(page.hasMore, false);
		assert.equal(replay.requests.length, 1);
		for (const [i, r] of json.data.entries()) assertRecord(page.records[i], r);
	});

	for (const [file, entity] of [
		['v2-get-persons-list-spec-example.json', 'contact'],
		['v2-get-organizations-list-spec-example.json', 'account'],
		['v2-get-deals-list-spec-example.json', 'opportunity'],
	] as Array<[string, EntityType]>) {
		suite.check(file, 'connector', `listChanges(${entity}): next_cursor is followed`, async (fixture) => {
			const json = fixture.json as Json;
			const connector = await replaying({ status: 200, body: fixture.text });
			const first = await connector.listChanges(entity, { since: '2020-01-01T00:00:00Z', includeDeleted: false });
			assert.equal(first.hasMore, true);
			for (const [i, r] of json.data.entries()) assertRecord(first.records[i], r);
			replay.reply({ status: 200, body: { success: true, data: [], additional_data: { next_cursor: null } } });
			const second = await connector.listChanges(entity, { cursor: first.cursor, includeDeleted: false });
			assert.equal(second.hasMore, false);
			assert.equal(new URL(replay.requests[1].url, replay.url).searchParams.get('cursor'), json.additional_data.next_cursor);
		});
	}

	suite.check('v1-pagination-examples-docs.raw.txt', 'connector', 'documented v1 offset page: next_start is followed', async (fixture) => {
		// Not JSON (data is elided with "…"): its additional_data blocks are.
		const blocks = [...fixture.text.matchAll(/"additional_data": (\{[\s\S]*?\n {4}\})/g)].map((m) => JSON.parse(m[1]));
		const offset = blocks.find((b) => b.pagination)!;
		assert.equal(offset.pagination.more_items_in_collection, true);
		const connector = await replaying({ status: 200, body: { success: true, data: [], additional_data: offset } });
		const first = await connector.listChanges('lead', { since: '2020-01-01T00:00:00Z' });
		assert.equal(first.hasMore, true);
		replay.reply({ status: 200, body: { success: true, data: [], additional_data: { pagination: { start: offset.pagination.next_start, limit: 10, more_items_in_collection: false } } } });
		const second = await connector.listChanges('lead', { cursor: first.cursor });
		assert.equal(second.hasMore, false);
		assert.equal(new URL(replay.requests[1].url, replay.url).searchParams.get('start'), String(offset.pagination.next_start));
		// The cursor example: the v2-style next_cursor is followed too.
		const cursorPage = blocks.find((b) => 'next_cursor' in b)!;
		const c2 = await replaying({ status: 200, body: { success: true, data: [], additional_data: cursorPage } });
		const page = await c2.listChanges('activity', { since: '2020-01-01T00:00:00Z', includeDeleted: false });
		assert.equal(page.hasMore, true);
		replay.reply({ status: 200, body: { success: true, data: [], additional_data: { next_cursor: null } } });
		await c2.listChanges('activity', { cursor: page.cursor, includeDeleted: false });
		assert.equal(new URL(replay.requests[1].url, replay.url).searchParams.get('cursor'), cursorPage.next_cursor);
	});

	// ------------------------------------------------------------------ writes

	for (const [file, entity, fields] of [
		['v1-create-person-201-recorded.json', 'contact', { name: 'Test Person', email: 'test@example.com' }],
		['v1-create-lead-recorded.json', 'lead', { title: 'Test Lead', person_id: 1 }],
		['v2-create-stage-recorded.json', 'opportunity', { title: 'Test Stage' }],
		['v2-add-person-spec-example.json', 'contact', { name: 'Person Name' }],
	] as Array<[string, EntityType, Json]>) {
		suite.check(file, 'connector', `create(${entity}) takes the new id`, async (fixture) => {
			const connector = await replaying(recordedReply(fixture));
			const [outcome] = await connector.create(entity, [{ ref: 0, fields }]);
			assert.deepEqual(outcome, { ref: 0, status: 'created', id: String((fixture.json as Json).data.id) });
		});
	}

	suite.check('v1-update-deal-recorded.json', 'connector', 'update(opportunity) succeeds', async (fixture) => {
		const id = String((fixture.json as Json).data.id);
		const connector = await replaying(recordedReply(fixture));
		assert.deepEqual(await connector.update('opportunity', [{ ref: 0, id, fields: { title: 'Test Deal Update' } }]), [{ ref: 0, status: 'updated', id }]);
	});

	suite.check('v1-delete-person-410-recorded.json', 'connector', '410 Gone with success:true counts as deleted', async (fixture) => {
		assert.equal(fixture.recorded?.status, 410);
		const id = String((fixture.json as Json).data.id);
		const connector = await replaying(recordedReply(fixture));
		assert.deepEqual(await connector.delete('contact', [{ ref: 0, id }]), [{ ref: 0, status: 'deleted', id }]);
		assert.equal(replay.requests.length, 1, 'not retried');
	});

	suite.check('v2-delete-person-spec-example.json', 'connector', 'delete(contact) 200 is deleted', async (fixture) => {
		const id = String((fixture.json as Json).data.id);
		const connector = await replaying({ status: 200, body: fixture.text });
		assert.deepEqual(await connector.delete('contact', [{ ref: 0, id }]), [{ ref: 0, status: 'deleted', id }]);
	});

	suite.check('v2-error-404-spec-example.json', 'connector', '404 reads as absent, and a delete of it as not found', async (fixture) => {
		const connector = await replaying({ status: 404, body: fixture.text });
		assert.equal(await connector.get('opportunity', '1'), undefined);
		const [outcome] = await connector.delete('opportunity', [{ ref: 0, id: '1' }]);
		const failed = assertFailed(outcome);
		assert.equal(failed.code, 'NOT_FOUND');
		assert.match(failed.message, new RegExp((fixture.json as Json).error));
	});

	// ------------------------------------------------------------------ errors

	for (const file of [
		'v1-error-400-invalid-field-fixture.json',
		'v1-error-400-name-must-be-given-fixture.json',
		'v1-error-400-insert-id-not-allowed-fixture.json',
		'v1-error-400-note-deal-missing-fixture.json',
	]) {
		suite.check(file, 'connector', '400 is a validation failure of that record with the error text', async (fixture) => {
			const connector = await replaying({ status: 400, body: fixture.text });
			const [outcome] = await connector.create('contact', [{ ref: 0, fields: { name: 'x' } }]);
			const failed = assertFailed(outcome);
			assert.equal(failed.category, 'validation');
			assert.ok(failed.message.includes((fixture.json as Json).error), failed.message);
			assert.equal(replay.requests.length, 1, 'not retried');
		});
	}

	suite.check('v1-error-403-feature-capping-docs.json', 'connector', '403 feature capping: validation, its code and message, not retried', async (fixture) => {
		const body = fixture.json as Json;
		const connector = await replaying({ status: 403, body: fixture.text });
		const [first, second] = await connector.create('opportunity', [
			{ ref: 0, fields: { title: 'a' } },
			{ ref: 1, fields: { title: 'b' } },
		]);
		for (const outcome of [first, second]) {
			const failed = assertFailed(outcome);
			assert.equal(failed.category, 'validation');
			assert.equal(failed.code, body.code);
			assert.ok(failed.message.includes(body.error), failed.message);
		}
		assert.equal(replay.requests.length, 2);
	});

	suite.check('v1-error-403-scope-url-mismatch-amp.json', 'connector', '403 with a numeric errorCode: validation, message kept, no exception', async (fixture) => {
		const body = fixture.json as Json;
		assert.equal(typeof body.errorCode, 'number');
		const connector = await replaying({ status: 403, body: fixture.text });
		const failed = assertFailed((await connector.update('contact', [{ ref: 0, id: '1', fields: { name: 'x' } }]))[0]);
		assert.equal(failed.category, 'validation');
		assert.ok(failed.message.includes(body.error), failed.message);
		assert.equal(failed.code, String(body.errorCode));
	});

	// ------------------------------------------------------------------ webhooks

	const options = { secrets: ['s3cret'], basicAuthUser: 'n8n' };

	suite.check('webhook-v1-updated-deal-recorded.json', 'parser', 'v1 updated.deal: one update event, UTC instant, changed keys, v2-shaped record', (fixture) => {
		const body = fixture.json as Json;
		const outcome = handleWebhook('pipedrive', webhookRequest(fixture.text), options);
		assert.ok(outcome.ok, JSON.stringify(outcome));
		assert.equal(outcome.events.length, 1);
		const [event] = outcome.events;
		assert.equal(event.entity, 'opportunity');
		assert.equal(event.operation, 'update');
		assert.equal(event.recordId, String(body.meta.id));
		assert.equal(Date.parse(event.occurredAt) * 1000, Math.floor(body.meta.timestamp_micro / 1000) * 1000);
		assert.deepEqual(event.origin, { source: body.meta.change_source, actorId: String(body.meta.user_id) });
		// The fields that differ between current and previous, named as in v2.
		const differing = Object.keys(body.current).filter((k) => JSON.stringify(body.current[k]) !== JSON.stringify(body.previous[k]));
		assert.ok(differing.length > 0);
		assert.deepEqual([...event.changedFields!].sort(), differing.map((k) => (k === 'user_id' ? 'owner_id' : k)).sort());
		// The carried record reads like a v2 GET: ISO Z times at the same instant, visible_to a number, owner_id.
		const record = event.record as Json;
		assert.equal(Date.parse(record.update_time), instant(body.current.update_time));
		assert.match(record.update_time, /Z$/);
		assert.equal(Date.parse(record.close_time), instant(body.current.close_time));
		assert.equal(record.visible_to, Number(body.current.visible_to));
		assert.equal(record.owner_id, body.current.user_id);
		assert.equal(record.value, body.current.value);
		assert.equal(record.stage_id, body.current.stage_id);
		// As a unified opportunity: the owner (v1 user_id) and the amount are not lost.
		const unified = defaultMapping('toUnified', 'pipedrive', 'opportunity').map(record).record;
		assert.equal(String(unified.ownerId), String(body.current.user_id));
		assert.equal(unified.amount, body.current.value);
		assert.equal(unified.currency, body.current.currency);
		assert.equal(unified.name, body.current.title);
		// The wrong Basic password is refused.
		const refused = handleWebhook('pipedrive', webhookRequest(fixture.text), { ...options, secrets: ['other'] });
		assert.equal(refused.ok, false);
	});

	// A v1 webhook's current is a v1 record: the recorded v1 GET bodies, in the recorded v1 envelope.
	for (const [file, object, entity] of [
		['v1-get-person-recorded.json', 'person', 'contact'],
		['v1-get-organization-recorded.json', 'organization', 'account'],
	] as Array<[string, string, EntityType]>) {
		suite.check(file, 'parser', `a v1 ${object} carried by a v1 webhook reads as a v2 ${object}`, (fixture) => {
			const data = (fixture.json as Json).data;
			const envelope = suite.fixture('webhook-v1-updated-deal-recorded.json').json as Json;
			const body = { ...envelope, meta: { ...envelope.meta, object, id: data.id }, current: data, previous: { ...data, name: 'before' }, event: `updated.${object}` };
			const outcome = handleWebhook('pipedrive', webhookRequest(JSON.stringify(body)), options);
			assert.ok(outcome.ok, JSON.stringify(outcome));
			const [event] = outcome.events;
			assert.deepEqual(event.changedFields, ['name']);
			const record = event.record as Json;
			assert.equal(Date.parse(record.update_time), instant(data.update_time));
			assert.equal(Date.parse(record.add_time), instant(data.add_time));
			assert.equal(record.visible_to, Number(data.visible_to));
			assert.equal(record.owner_id, data.owner_id.value);
			const unified = defaultMapping('toUnified', 'pipedrive', entity).map(record).record;
			assert.equal(String(unified.ownerId), String(data.owner_id.value));
			if (entity === 'contact') {
				assert.equal(record.org_id, data.org_id.value);
				assert.equal(unified.accountId, String(data.org_id.value));
				assert.equal(unified.email, data.email.find((e: Json) => e.primary).value);
				assert.equal(unified.phone, data.phone.find((e: Json) => e.primary).value);
				assert.equal(unified.firstName, data.first_name);
			} else {
				assert.equal(record.address.value, data.address);
				assert.equal(unified.name, data.name);
			}
		});
	}

	suite.check('webhook-v2-change-deal-recorded-TRIMMED.json', 'parser', 'v2 change (data trimmed): string meta ids, ISO ms instant, changed keys from previous', (fixture) => {
		const body = fixture.json as Json;
		assert.equal(body.data, undefined, 'the fixture is trimmed: no data');
		const outcome = handleWebhook('pipedrive', webhookRequest(fixture.text), options);
		assert.ok(outcome.ok, JSON.stringify(outcome));
		assert.deepEqual(outcome.skipped, []);
		const [event] = outcome.events;
		assert.equal(event.entity, 'opportunity');
		assert.equal(event.operation, 'update');
		assert.equal(event.recordId, body.meta.entity_id);
		assert.equal(Date.parse(event.occurredAt), Date.parse(body.meta.timestamp));
		assert.deepEqual(event.changedFields, Object.keys(body.previous));
		assert.deepEqual(event.origin, { source: body.meta.change_source, actorId: body.meta.user_id });
		// Without data there is no record: the trigger fetches it (enrich), nothing is invented.
		assert.equal(event.record, undefined);
	});

	// ------------------------------------------------------------------ sandbox shapes

	suite.difference('v2-get-person-spec-example.json', 'sandbox', PERSON_SET_ONLY_REASON);
	suite.check('v2-get-person-spec-example.json', 'sandbox', 'GET /api/v2/persons/1', async (fixture) => {
		await seed();
		const answer = await sandboxCall('GET', '/api/v2/persons/1');
		assert.equal(answer.status, 200);
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data.custom_fields', ...personOptional().ignore] });
	});
	suite.difference('v2-get-persons-list-spec-example.json', 'sandbox', PERSON_SET_ONLY_REASON);
	suite.check('v2-get-persons-list-spec-example.json', 'sandbox', 'GET /api/v2/persons (cursor page)', async (fixture) => {
		await seed();
		await sandboxCall('POST', '/api/v2/persons', { name: 'Second' });
		const answer = await sandboxCall('GET', '/api/v2/persons?limit=1');
		assert.equal(answer.status, 200);
		assert.equal(typeof answer.body.additional_data.next_cursor, 'string');
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data[].custom_fields', ...personOptional('$.data[]').ignore] });
	});
	suite.difference('v2-add-person-spec-example.json', 'sandbox', PERSON_SET_ONLY_REASON);
	suite.check('v2-add-person-spec-example.json', 'sandbox', 'POST /api/v2/persons', async (fixture) => {
		emulator().reset();
		const answer = await sandboxCall('POST', '/api/v2/persons', { name: 'Person Name', emails: [{ value: 'a@b.c', primary: true, label: 'work' }], phones: [{ value: '1', primary: true, label: 'work' }] });
		assert.equal(answer.status, 201, 'Pipedrive v2 answers a create with 201 (v1-create-person-201-recorded.json)');
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data.custom_fields', ...personOptional().ignore] });
	});
	suite.check('v2-delete-person-spec-example.json', 'sandbox', 'DELETE /api/v2/persons/1', async (fixture) => {
		await seed();
		const answer = await sandboxCall('DELETE', '/api/v2/persons/1');
		assert.equal(answer.status, 200);
		assertSameShape(fixture.json, answer.body);
	});
	suite.check('v2-get-deal-recorded.json', 'sandbox', 'GET /api/v2/deals/1', async (fixture) => {
		await seed();
		const answer = await sandboxCall('GET', '/api/v2/deals/1');
		assert.equal(answer.status, fixture.recorded!.status);
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data.custom_fields', ...DEAL_OPTIONAL.map((k) => `$.data.${k}`)] });
	});
	suite.check('v2-get-deals-list-spec-example.json', 'sandbox', 'GET /api/v2/deals (cursor page)', async (fixture) => {
		await seed();
		await sandboxCall('POST', '/api/v2/deals', { title: 'Second' });
		const answer = await sandboxCall('GET', '/api/v2/deals?limit=1');
		assert.equal(answer.status, 200);
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data[].custom_fields', ...DEAL_OPTIONAL.map((k) => `$.data[].${k}`)] });
	});
	suite.difference('v2-get-deals-list-spec-example.json', 'sandbox', 'acv, arr and mrr are in this OAS example only; the recorded GET /v2/deals/1 (v2-get-deal-recorded.json, RECORDED) has none of them, so the sandbox leaves them out');
	suite.check('v2-get-organizations-list-spec-example.json', 'sandbox', 'GET /api/v2/organizations (cursor page)', async (fixture) => {
		await seed();
		await sandboxCall('POST', '/api/v2/organizations', { name: 'Second', address: { value: '1 Main St' } });
		const answer = await sandboxCall('GET', '/api/v2/organizations?limit=1');
		assert.equal(answer.status, 200);
		assertSameShape(fixture.json, answer.body, { ignore: ['$.data[].custom_fields', '$.data[].address', '$.data[].label_ids', '$.data[].org_id', ...ORG_SANDBOX_EXTRAS.map((k) => `$.data[].${k}`)] });
	});
	suite.difference('v2-get-organizations-list-spec-example.json', 'sandbox', `the sandbox returns ${ORG_SANDBOX_EXTRAS.join(', ')} (null when unset; writable in the SDK's v2 request model) which this OAS example lacks; no recorded v2 organization settles it`);
	suite.check('v2-error-404-spec-example.json', 'sandbox', '404 error body', async (fixture) => {
		emulator().reset();
		const answer = await sandboxCall('GET', '/api/v2/deals/999');
		assert.equal(answer.status, 404);
		assertSameShape(fixture.json, answer.body);
	});
	suite.check('v1-error-400-name-must-be-given-fixture.json', 'sandbox', '400 error body of a person without a name', async (fixture) => {
		emulator().reset();
		const answer = await sandboxCall('POST', '/api/v2/persons', { emails: [{ value: 'a@b.c', primary: true }] });
		assert.equal(answer.status, 400);
		assertSameShape(fixture.json, answer.body, { ignore: ['$.code'] });
	});
	suite.difference('v1-error-400-name-must-be-given-fixture.json', 'sandbox', 'the sandbox answers a v2 schema failure with code ERR_SCHEMA_VALIDATION_FAILED, which this v1 (THIRD-PARTY) body lacks; no fixture shows a v2 400 body. The message text differs too ("Validation failed: name: Required")');
	suite.difference('v1-error-403-feature-capping-docs.json', 'sandbox', 'the sandbox has no plan limits, so it never answers a feature-capping 403; the connector check reads this body');
	suite.difference('v1-error-403-scope-url-mismatch-amp.json', 'sandbox', 'the sandbox has no OAuth scopes, so it never answers this 403; the connector check reads this body');
	suite.check('v1-get-leads-amp.json', 'sandbox', 'GET /v1/leads (last offset page)', async (fixture) => {
		await seed();
		assert.equal((await sandboxCall('POST', '/v1/leads', { title: 'Lead', person_id: 1 })).status, 201);
		const answer = await sandboxCall('GET', '/v1/leads');
		assert.equal(answer.status, 200);
		assert.equal('next_start' in answer.body.additional_data.pagination, false);
		assertSameShape(fixture.json, answer.body, { ignore: LEAD_OPTIONAL.map((k) => `$.data[].${k}`) });
	});
	suite.difference('v1-get-leads-amp.json', 'sandbox', 'the sandbox lead has source_deal_id and archive_time, as the RECORDED POST /v1/leads answer does (v1-create-lead-recorded.json); this THIRD-PARTY list lacks them');
	suite.check('v1-create-lead-recorded.json', 'sandbox', 'POST /v1/leads', async (fixture) => {
		await seed();
		const answer = await sandboxCall('POST', '/v1/leads', { title: 'Test Lead', person_id: 1 });
		assert.equal(answer.status, 201, 'the docs say 201; the recording says 200 but its headers are Nango\'s (SOURCES.md)');
		assertSameShape(fixture.json, answer.body);
	});
	suite.check('webhook-v2-change-deal-recorded-TRIMMED.json', 'sandbox', 'webhooks 2.0 change delivery: meta', async (fixture) => {
		const delivery = await sandboxDealChange('2.0');
		// `data` was trimmed from the recording: only meta and previous are compared.
		assertSameShape(fixture.json, { previous: delivery.previous, meta: delivery.meta }, { ignore: ['$.meta.merged_to_id'] });
	});
	suite.check('webhook-v1-updated-deal-recorded.json', 'sandbox', 'webhooks 1.0 updated delivery: envelope and meta', async (fixture) => {
		const delivery = await sandboxDealChange('1.0');
		const recorded = fixture.json as Json;
		assertSameShape({ ...recorded, current: undefined, previous: undefined }, { ...delivery, current: undefined, previous: undefined }, { ignore: ['$.meta.prepublish_timestamp'] });
		// The carried deal: times, ids and visible_to in v1 formats.
		for (const key of ['id', 'update_time', 'add_time', 'visible_to', 'stage_id', 'person_id', 'org_id', 'value', 'currency', 'status', 'title', 'user_id']) {
			assert.deepEqual(compareShape(recorded.current[key], delivery.current[key]), [], `current.${key}: recorded ${JSON.stringify(recorded.current[key])}, sandbox ${JSON.stringify(delivery.current[key])}`);
		}
	});

	// Recorded v1 reads and writes of persons, organizations and deals: the sandbox emulates the v2
	// endpoints the connector calls, not these v1 ones.
	const v1Only = 'the sandbox emulates the API v2 endpoints the connector uses for this object, not this v1 endpoint; the connector check above reads this body';
	for (const file of [
		'v1-get-person-recorded.json',
		'v1-get-organization-recorded.json',
		'v1-list-persons-pagination-recorded.json',
		'v1-list-organizations-recorded.json',
		'v1-list-deals-recorded.json',
		'v1-create-person-201-recorded.json',
		'v1-update-deal-recorded.json',
		'v1-delete-person-410-recorded.json',
	]) {
		suite.difference(file, 'sandbox', v1Only);
	}
	suite.check('v2-list-stages-cursor-recorded.json', 'sandbox', 'GET /api/v2/stages?limit=500 (last page, next_cursor null)', async (fixture) => {
		emulator().reset();
		const pipeline = await sandboxCall('POST', '/api/v2/pipelines', { name: 'Second' });
		assert.equal((await sandboxCall('POST', '/api/v2/stages', { name: 'Prospect Qualified', pipeline_id: pipeline.body.data.id, deal_probability: 30 })).status, 200);
		const answer = await sandboxCall('GET', '/api/v2/stages?limit=500&sort_by=update_time&sort_direction=asc');
		assert.equal(answer.status, fixture.recorded!.status);
		assert.equal(answer.body.additional_data.next_cursor, null);
		assert.equal(answer.body.data.length, 6, 'the default pipeline\'s five stages and the new one');
		assertSameShape(fixture.json, answer.body);
	});
	suite.check('v2-list-stages-cursor-recorded.json', 'connector', 'listStages: the recorded stages, each pipeline\'s by order_nr from 0, all open', async (fixture) => {
		const json = fixture.json as Json;
		const connector = await replaying();
		replay.route((r) => r.url.startsWith('/api/v2/pipelines'), { status: 200, body: { success: true, data: [], additional_data: { next_cursor: null } } });
		replay.route((r) => r.url.startsWith('/api/v2/stages'), recordedReply(fixture));
		const stages = await connector.listStages();
		assert.equal(stages.length, json.data.length);
		for (const s of json.data) {
			const samePipeline = json.data.filter((o: Json) => o.pipeline_id === s.pipeline_id);
			const order = samePipeline.filter((o: Json) => o.order_nr < s.order_nr || (o.order_nr === s.order_nr && o.id < s.id)).length;
			assert.deepEqual(stages.find((c) => c.id === String(s.id)), { id: String(s.id), label: s.name, pipelineId: String(s.pipeline_id), outcome: 'open', probability: s.deal_probability, order });
		}
		const stagesUrl = new URL(replay.requests.find((r) => r.url.startsWith('/api/v2/stages'))!.url, replay.url);
		assert.equal(stagesUrl.searchParams.get('limit'), '500');
	});
	suite.check('v2-create-stage-recorded.json', 'sandbox', 'POST /api/v2/stages {name, pipeline_id} → 200, appended to its pipeline', async (fixture) => {
		emulator().reset();
		const recorded = fixture.json as Json;
		const answer = await sandboxCall('POST', '/api/v2/stages', { name: 'Test Stage', pipeline_id: 1 });
		assert.equal(answer.status, fixture.recorded!.status);
		assertSameShape(recorded, answer.body);
		// As recorded: without deal_probability the stage gets 100, and it goes after the pipeline's last stage.
		assert.equal(answer.body.data.deal_probability, recorded.data.deal_probability);
		assert.equal(answer.body.data.order_nr, 6);
	});
});

