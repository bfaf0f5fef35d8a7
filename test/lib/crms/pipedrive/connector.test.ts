// PipedriveConnector through the real `pipedrive` SDK (our axios) over HTTP against sandbox/pipedrive.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { create, PipedriveConnector, type PipedriveConfig } from '../../../../lib/crms/pipedrive/connector';
import type { ConnectorRuntime, ConvertLeadSuccess, WriteFailure, WriteSuccess } from '../../../../lib/connectors/types';
import { CrmError, type TransportEvent } from '../../../../lib/http';
import { compileMapping } from '../../../../lib/mapping';
import { assertLostDeleteIsDone } from '../unanswered';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let tokenSeq = 0;

/** A connector with its own API token (so limiter/token state is not shared between tests). */
function connector(extra: Partial<PipedriveConfig> = {}, runtime: ConnectorRuntime = {}): PipedriveConnector {
	return new PipedriveConnector({ apiToken: `test-token-${++tokenSeq}`, baseUrl: url, ...extra }, { retry: { baseDelayMs: 20 }, ...runtime });
}

function failed(outcome: unknown): WriteFailure {
	assert.equal((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

function ok(outcome: unknown): WriteSuccess {
	assert.notEqual((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteSuccess;
}

async function admin(path: string, body: unknown): Promise<unknown> {
	const res = await fetch(`${url}/__admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	return res.json();
}

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive'] });
	emulator = sandbox.emulators.pipedrive!;
	url = sandbox.urls.pipedrive!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => {
	emulator.reset();
	emulator.setFaults({});
	emulator.setRateLimits(false);
	emulator.setStrictAuth(false);
});

describe('Pipedrive connector: CRUD of every entity', () => {
	test('testConnection works and a refused token is an auth CrmError', async () => {
		await connector().testConnection();
		emulator.setStrictAuth(true);
		await assert.rejects(connector().testConnection(), (e: unknown) => e instanceof CrmError && e.category === 'auth' && e.httpStatus === 401);
	});

	test('contact: create, get, update, search by email and phone, delete', async () => {
		const pd = connector();
		const [created, bad] = await pd.create('contact', [
			{ ref: 0, fields: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000', job_title: 'Analyst' } },
			{ ref: 1, fields: { name: 'Bad Field', not_a_pipedrive_field: 1 } },
		]);
		const id = ok(created).id;
		assert.equal(ok(created).status, 'created');
		assert.equal(bad.status, 'failed');
		assert.equal((bad as WriteFailure).category, 'validation');
		assert.match((bad as WriteFailure).message, /not_a_pipedrive_field/);

		const record = await pd.get('contact', id);
		assert.equal(record?.fields.name, 'Ada Lovelace');
		assert.deepEqual((record?.fields.emails as Array<{ value: string }>).map((e) => e.value), ['ada@example.com']);
		assert.ok(record?.modifiedAt && !Number.isNaN(Date.parse(record.modifiedAt)));

		const [updated] = await pd.update('contact', [{ ref: 7, id, fields: { job_title: 'Countess' } }]);
		assert.deepEqual(updated, { ref: 7, status: 'updated', id });
		assert.equal((await pd.get('contact', id))?.fields.job_title, 'Countess');

		assert.deepEqual((await pd.search('contact', 'email', ['ADA@example.com'])).map((r) => r.id), [id]);
		assert.deepEqual((await pd.search('contact', 'phone', ['+442079460000'])).map((r) => r.id), [id]);
		assert.deepEqual(await pd.search('contact', 'email', ['nobody@example.com']), []);

		const [deleted, missing] = await pd.delete('contact', [{ ref: 0, id }, { ref: 1, id: '999999' }]);
		assert.deepEqual(deleted, { ref: 0, status: 'deleted', id });
		assert.equal(missing.status, 'failed');
		assert.equal((missing as WriteFailure).category, 'validation');
		assert.equal(await pd.get('contact', id), undefined);
	});

	test('account, opportunity, activity and lead: create, get, update, delete', async () => {
		const pd = connector();
		const org = ok((await pd.create('account', [{ ref: 0, fields: { name: 'Acme Ltd', website: 'https://acme.test' } }]))[0]).id;
		const person = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Bob Buyer', org_id: Number(org) } }]))[0]).id;
		const deal = ok((await pd.create('opportunity', [{ ref: 0, fields: { title: 'Big deal', value: 5000, currency: 'EUR', org_id: Number(org), person_id: Number(person) } }]))[0]).id;
		const activity = ok((await pd.create('activity', [{ ref: 0, fields: { subject: 'Call Bob', type: 'call', due_date: '2026-12-01', deal_id: Number(deal) } }]))[0]).id;
		const lead = ok((await pd.create('lead', [{ ref: 0, fields: { title: 'Acme lead', organization_id: Number(org) } }]))[0]).id;
		assert.match(lead, /^[0-9a-f-]{36}$/);

		assert.equal((await pd.get('account', org))?.fields.name, 'Acme Ltd');
		assert.equal((await pd.get('opportunity', deal))?.fields.value, 5000);
		assert.equal((await pd.get('activity', activity))?.fields.subject, 'Call Bob');
		assert.equal((await pd.get('lead', lead))?.fields.title, 'Acme lead');

		for (const [entity, id, fields] of [
			['account', org, { name: 'Acme Limited' }],
			['opportunity', deal, { status: 'won' }],
			['activity', activity, { done: true }],
			['lead', lead, { title: 'Acme lead (hot)' }],
		] as const) {
			ok((await pd.update(entity, [{ ref: 0, id, fields }]))[0]);
			const stored = (await pd.get(entity, id))?.fields;
			for (const [k, v] of Object.entries(fields)) assert.equal(stored?.[k], v, `${entity}.${k}`);
		}
		const [badDeal] = await pd.update('opportunity', [{ ref: 3, id: deal, fields: { status: 'maybe' } }]);
		assert.equal((badDeal as WriteFailure).category, 'validation');

		for (const [entity, id] of [['lead', lead], ['activity', activity], ['opportunity', deal], ['account', org]] as const) {
			assert.equal(ok((await pd.delete(entity, [{ ref: 0, id }]))[0]).status, 'deleted');
			assert.equal(await pd.get(entity, id), undefined, `${entity} gone`);
		}
	});
});

describe('Pipedrive connector: person names (v2 writes name only)', () => {
	const toPipedrive = compileMapping({ direction: 'fromUnified', target: 'pipedrive', entity: 'contact' });
	/** The API calls made while `work` runs, as "METHOD /path". */
	async function callsDuring(work: () => Promise<unknown>): Promise<string[]> {
		const before = emulator.requests().length;
		await work();
		return emulator.requests().slice(before).map((r) => `${r.method} ${r.path.replace(/\/\d+$/, '/:id')}`);
	}

	test('an update of lastName alone keeps the stored first name: one GET, then PATCH name', async () => {
		const pd = connector();
		const id = ok((await pd.create('contact', [{ ref: 0, fields: toPipedrive.map({ email: 'pat@example.com', firstName: 'Pat', lastName: 'Drive' }).record }]))[0]).id;

		const fields = toPipedrive.map({ lastName: 'Rive' }).record;
		const calls = await callsDuring(async () => assert.deepEqual(await pd.update('contact', [{ ref: 0, id, fields }]), [{ ref: 0, status: 'updated', id }]));
		assert.deepEqual(calls, ['GET /api/v2/persons/:id', 'PATCH /api/v2/persons/:id']);
		const stored = (await pd.get('contact', id))!.fields;
		assert.deepEqual([stored.first_name, stored.last_name, stored.name], ['Pat', 'Rive', 'Pat Rive']);

		// firstName alone, through upsert's update path.
		const [upserted] = await pd.upsert('contact', 'email', [{ ref: 0, fields: toPipedrive.map({ email: 'pat@example.com', firstName: 'Patricia' }).record }]);
		assert.deepEqual(upserted, { ref: 0, status: 'updated', id });
		assert.equal((await pd.get('contact', id))!.fields.name, 'Patricia Rive');
	});

	test('full-name updates and creates send name without reading the person; a lone half of a missing person fails clearly', async () => {
		const pd = connector();
		let id = '';
		const createCalls = await callsDuring(async () => (id = ok((await pd.create('contact', [{ ref: 0, fields: toPipedrive.map({ lastName: 'Solo' }).record }]))[0]).id));
		assert.deepEqual(createCalls, ['POST /api/v2/persons']);
		assert.equal((await pd.get('contact', id))!.fields.name, 'Solo');

		const updateCalls = await callsDuring(() => pd.update('contact', [{ ref: 0, id, fields: toPipedrive.map({ firstName: 'Han', lastName: 'Solo' }).record }]));
		assert.deepEqual(updateCalls, ['PATCH /api/v2/persons/:id']);
		assert.equal((await pd.get('contact', id))!.fields.name, 'Han Solo');

		const [missing] = await pd.update('contact', [{ ref: 4, id: '999999', fields: { last_name: 'Nobody' } }]);
		assert.equal(failed(missing).category, 'validation');
		assert.match(failed(missing).message, /persons 999999 not found/);
	});
});

describe('Pipedrive connector: upsert and merge', () => {
	test('upsert by email: search exact_match then POST or PATCH; last of a key wins; per-record failures', async () => {
		const pd = connector();
		const existing = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Old Name', email: 'old@example.com' } }]))[0]).id;
		const outcomes = await pd.upsert('contact', 'email', [
			{ ref: 0, fields: { name: 'New Person', email: 'new@example.com' } },
			{ ref: 1, fields: { name: 'Renamed', email: 'OLD@example.com' } },
			{ ref: 2, fields: { name: 'No key' } },
			{ ref: 3, fields: { name: 'New Person v2', email: 'new@example.com' } },
			{ ref: 4, fields: { name: 'Broken', email: 'broken@example.com', marketing_status: 'whatever' } },
		]);
		assert.deepEqual(outcomes.map((o) => o.ref), [0, 1, 2, 3, 4]);
		assert.equal(ok(outcomes[0]).status, 'created');
		assert.deepEqual(outcomes[1], { ref: 1, status: 'updated', id: existing });
		assert.equal((outcomes[2] as WriteFailure).code, 'MISSING_MATCH_KEY');
		assert.deepEqual(outcomes[3], { ref: 3, status: 'updated', id: ok(outcomes[0]).id });
		assert.equal((outcomes[4] as WriteFailure).category, 'validation');
		assert.equal((await pd.get('contact', existing))?.fields.name, 'Renamed');
		assert.equal((await pd.get('contact', ok(outcomes[0]).id))?.fields.name, 'New Person v2');

		// Two records with the key: reported, nothing guessed or written.
		await pd.create('contact', [{ ref: 0, fields: { name: 'Twin', email: 'old@example.com' } }]);
		const [ambiguous] = await pd.upsert('contact', 'email', [{ ref: 9, fields: { name: 'Which?', email: 'old@example.com' } }]);
		assert.equal((ambiguous as WriteFailure).code, 'MULTIPLE_MATCHES');
		assert.equal((await pd.get('contact', existing))?.fields.name, 'Renamed');
	});

	test('bulk upsert (20+ keys) reads the list once into an index instead of searching each key', async () => {
		const pd = connector();
		const existing = (await pd.create('contact', Array.from({ length: 10 }, (_, i) => ({ ref: i, fields: { name: `Existing ${i}`, email: `e${i}@example.com` } })))).map((o) => ok(o).id);
		await pd.create('contact', [{ ref: 0, fields: { name: 'Twin of e9', email: 'E9@example.com' } }]);
		const before = ((await (await fetch(`${url}/__admin/health`)).json()) as { requests: number }).requests;
		const outcomes = await pd.upsert('contact', 'email', Array.from({ length: 30 }, (_, i) => ({ ref: i, fields: { name: `Upserted ${i}`, email: `e${i}@example.com` } })));
		const calls = ((await (await fetch(`${url}/__admin/health`)).json()) as { requests: number }).requests - before;
		assert.equal(calls, 1 + 29, 'one list page, then one write per record (e9 is ambiguous and not written)');
		for (let i = 0; i < 9; i++) assert.deepEqual(outcomes[i], { ref: i, status: 'updated', id: existing[i] });
		assert.equal(failed(outcomes[9]).code, 'MULTIPLE_MATCHES');
		for (let i = 10; i < 30; i++) assert.equal(ok(outcomes[i]).status, 'created');
		assert.equal((await pd.get('contact', existing[3]))?.fields.name, 'Upserted 3');
	});

	for (const [fault, landed] of [['lostReplyRate', true], ['hangRate', false]] as const) {
		test(`upsert whose create got no answer (${landed ? 'it was made' : 'it was not'}): looked for in the list of recent changes, one record`, async () => {
			const pd = connector({}, { timeoutMs: 300 });
			const email = `unanswered-${fault}@example.com`;
			emulator.setFaults({ [fault]: 1, maxFaults: 1, pathPattern: '^/api/v2/persons$' });
			const [outcome] = await pd.upsert('contact', 'email', [{ ref: 0, fields: { name: 'Unanswered', email } }]);
			assert.equal(ok(outcome).status, 'created');
			const stored = await pd.search('contact', 'email', [email]);
			assert.deepEqual(stored.map((r) => r.id), [ok(outcome).id]);
			// The search index may lag behind writes: the list endpoint is what is read after the lost create.
			const calls = emulator.requests().map((r) => `${r.method} ${r.path}${r.fault ? ` (${r.fault})` : ''}`);
			assert.deepEqual(calls.slice(0, 4), ['GET /api/v2/persons/search', `POST /api/v2/persons (${landed ? 'lostReply' : 'hang'})`, 'GET /api/v2/persons', ...(landed ? ['GET /api/v2/persons/search'] : ['POST /api/v2/persons'])]);
		});
	}

	test('upsert by an unsearchable key is refused before anything is written', async () => {
		await assert.rejects(connector().upsert('contact', 'job_title', [{ ref: 0, fields: { name: 'X', job_title: 'Y' } }]), /cannot search persons by job_title/);
	});

	test('merge persons: PUT /v1/persons/{id}/merge keeps the master, the other is gone', async () => {
		const pd = connector();
		const [a, b, c] = (
			await pd.create('contact', [
				{ ref: 0, fields: { name: 'Master', email: 'm@example.com' } },
				{ ref: 1, fields: { name: 'Dup one', email: 'd1@example.com', job_title: 'CTO' } },
				{ ref: 2, fields: { name: 'Dup two', phone: '555-0100' } },
			])
		).map((o) => ok(o).id);
		const [merged, badMerge] = await pd.merge('contact', [
			{ ref: 0, masterId: a, mergeIds: [b, c] },
			{ ref: 1, masterId: a, mergeIds: ['424242'] },
		]);
		assert.deepEqual(merged, { ref: 0, status: 'merged', id: a, mergedIds: [b, c] });
		assert.equal(badMerge.status, 'failed');
		assert.equal(await pd.get('contact', b), undefined);
		assert.equal(await pd.get('contact', c), undefined);
		const master = (await pd.get('contact', a))!.fields;
		assert.equal(master.name, 'Master');
		assert.deepEqual((master.emails as Array<{ value: string }>).map((e) => e.value).sort(), ['d1@example.com', 'm@example.com']);
		await assert.rejects(pd.merge('activity', [{ ref: 0, masterId: '1', mergeIds: ['2'] }]), /not implemented/);
	});
});

describe('Pipedrive connector: convertLeads', () => {
	test('archives the lead linked to the given person and organization; archived already is unchanged; a missing lead is NOT_FOUND; a mixed batch', async () => {
		const pd = connector();
		const org = ok((await pd.create('account', [{ ref: 0, fields: { name: 'Analytical Engines' } }]))[0]).id;
		const person = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Ada Lovelace', email: 'ada@engines.example', org_id: Number(org) } }]))[0]).id;
		const other = ok((await pd.create('account', [{ ref: 0, fields: { name: 'Leads Only Ltd' } }]))[0]).id;
		const [lead, second, deleted] = (
			await pd.create('lead', [
				{ ref: 0, fields: { title: 'Ada lead', organization_id: Number(other) } },
				{ ref: 1, fields: { title: 'Second lead', organization_id: Number(other) } },
				{ ref: 2, fields: { title: 'Gone lead', organization_id: Number(other) } },
			])
		).map((o) => ok(o).id);
		await pd.delete('lead', [{ ref: 0, id: deleted }]);
		const persons = (emulator.dump().persons ?? []).length;

		const outcomes = await pd.convertLeads([
			{ ref: 0, id: lead, contactId: person, accountId: org, withOpportunity: true },
			{ ref: 1, id: deleted, contactId: person },
			{ ref: 2, id: second, contactId: '987654' },
			{ ref: 3, id: 'not-a-lead-id', contactId: person },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'converted', id: lead, contactId: person, accountId: org });
		assert.equal(failed(outcomes[1]).code, 'NOT_FOUND');
		assert.equal(failed(outcomes[2]).category, 'validation');
		assert.equal(failed(outcomes[3]).code, 'INVALID_ID');
		const stored = (await pd.get('lead', lead))?.fields;
		assert.equal(stored?.is_archived, true);
		assert.equal(String(stored?.person_id), person);
		assert.equal(String(stored?.organization_id), org);
		assert.equal((await pd.get('lead', second))?.fields.is_archived, false, 'a refused conversion leaves the lead open');
		assert.equal((emulator.dump().persons ?? []).length, persons, 'no person is created');

		const again = (await pd.convertLeads([{ ref: 5, id: lead, contactId: person }]))[0] as ConvertLeadSuccess;
		assert.deepEqual(again, { ref: 5, status: 'unchanged', id: lead, contactId: person, accountId: org });
	});
});

describe('Pipedrive connector: leads carry their person', () => {
	const toPipedrive = () => compileMapping({ direction: 'fromUnified', target: 'pipedrive', entity: 'lead' });
	const fromPipedrive = () => compileMapping({ direction: 'toUnified', source: 'pipedrive', entity: 'lead' });
	type Row = Record<string, unknown>;
	const persons = () => (emulator.dump().persons as Row[]).filter((p) => p.is_deleted !== true && p.active_flag !== false);
	const calls = (method: string, path: RegExp, after = 0) => emulator.requests().filter((r) => r.seq > after && r.method === method && path.test(r.path)).length;
	const lastSeq = () => Math.max(0, ...emulator.requests().map((r) => r.seq));

	test('a unified lead from another CRM (no name) round-trips: person made from its fields, title "<first> <last>", read back with its person', async () => {
		const pd = connector();
		assert.equal(pd.matchField('lead', 'email'), 'email');
		const unified = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@engines.example', phone: '+44 20 7946 0958', title: 'Countess', street: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'United Kingdom', company: 'Analytical Engines', status: 'new' };
		const mapped = toPipedrive().map(unified);
		assert.equal(mapped.valid, true);
		assert.equal(mapped.record.title, 'Ada Lovelace');
		const id = ok((await pd.create('lead', [{ ref: 0, fields: mapped.record }]))[0]).id;

		const [person] = persons();
		assert.equal(person.name, 'Ada Lovelace');
		assert.equal(person.job_title, 'Countess');
		assert.deepEqual((person.emails as Row[]).map((e) => e.value), ['ada@engines.example']);
		const stored = (emulator.dump().leads as Row[]).find((l) => l.id === id)!;
		assert.equal(String(stored.person_id), String(person.id));
		assert.equal(stored.title, 'Ada Lovelace');
		assert.equal('person' in stored, false, 'person is never sent to /v1/leads');

		const read = await pd.get('lead', id);
		assert.equal((read?.fields.person as Row).id, person.id);
		const back = fromPipedrive().map(read!.fields).record;
		for (const key of ['firstName', 'lastName', 'email', 'phone', 'title', 'street', 'city', 'postalCode', 'country'] as const) assert.equal(back[key], unified[key], key);
		assert.equal(back.name, 'Ada Lovelace');
		assert.equal(back.contactId, undefined, 'the person travels as person fields, not as a contact reference');
	});

	test('a lead whose e-mail a person has is linked to that person; only what differs is written to it (new phone added, the old one kept)', async () => {
		const pd = connector();
		const existing = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Grace Hopper', email: 'grace@navy.example', phone: '+1 555 0100', job_title: 'Admiral' } }]))[0]).id;
		const mapped = toPipedrive().map({ firstName: 'Grace', lastName: 'Hopper', email: 'GRACE@navy.example', phone: '+1 555 0199', title: 'Admiral' }).record;
		const before = lastSeq();
		const id = ok((await pd.create('lead', [{ ref: 0, fields: mapped }]))[0]).id;
		assert.equal(persons().length, 1, 'no second person');
		const person = persons()[0];
		assert.equal(String(person.id), existing);
		assert.deepEqual((person.phones as Row[]).map((p) => [p.value, p.primary]), [['+1 555 0199', true], ['+1 555 0100', false]]);
		assert.equal(calls('PATCH', /^\/api\/v2\/persons\//, before), 1, 'one PATCH: the new phone');
		assert.equal(String((await pd.get('lead', id))?.fields.person_id), existing);

		// The same fields again: nothing differs, nothing is written to the person.
		const again = lastSeq();
		ok((await pd.create('lead', [{ ref: 0, fields: mapped }]))[0]);
		assert.equal(calls('PATCH', /^\/api\/v2\/persons\//, again), 0);
	});

	test('an update of person fields writes the lead\'s own person, not the lead; mixed batch with a lead that is gone and one without a name', async () => {
		const pd = connector();
		const id = ok((await pd.create('lead', [{ ref: 0, fields: toPipedrive().map({ firstName: 'Mary', lastName: 'Somerville', email: 'mary@example.com' }).record }]))[0]).id;
		const personId = String((await pd.get('lead', id))?.fields.person_id);
		const gone = ok((await pd.create('lead', [{ ref: 0, fields: toPipedrive().map({ firstName: null, lastName: 'Gone', email: 'gone@example.com' }).record }]))[0]).id;
		await pd.delete('lead', [{ ref: 0, id: gone }]);
		const before = lastSeq();
		const outcomes = await pd.update('lead', [
			{ ref: 0, id, fields: toPipedrive().map({ lastName: 'Fairfax', phone: '+44 1 555' }).record },
			{ ref: 1, id: gone, fields: toPipedrive().map({ phone: '+44 2 555' }).record },
		]);
		assert.equal(ok(outcomes[0]).status, 'updated');
		assert.equal(failed(outcomes[1]).category, 'validation');
		const person = persons().find((p) => String(p.id) === personId)!;
		assert.equal(person.name, 'Mary Fairfax', 'a lone last name keeps the stored first name');
		assert.deepEqual((person.phones as Row[]).map((p) => p.value), ['+44 1 555']);
		assert.equal(calls('PATCH', /^\/v1\/leads\//, before), 0, 'nothing of the lead itself changed');
		assert.equal((await pd.get('lead', id))?.fields.title, 'Mary Somerville', 'a record without both name halves leaves the title alone');
		ok((await pd.update('lead', [{ ref: 0, id, fields: toPipedrive().map({ firstName: 'Mary', lastName: 'Fairfax', email: 'mary@example.com' }).record }]))[0]);
		assert.equal((await pd.get('lead', id))?.fields.title, 'Mary Fairfax');

		const [nameless] = await pd.create('lead', [{ ref: 4, fields: { person: { phones: [{ value: '+1 2', primary: true, label: 'work' }] } } }]);
		assert.equal(failed(nameless).code, 'MISSING_PERSON_NAME');
	});

	test('upsert by email (the person\'s): creates person and lead once, then updates that lead; the last of an e-mail wins', async () => {
		const pd = connector();
		const lead = (u: Row) => toPipedrive().map(u).record;
		const first = await pd.upsert('lead', 'email', [
			{ ref: 0, fields: lead({ firstName: 'Alan', lastName: 'Turing', email: 'alan@bletchley.example', name: 'Enigma inquiry' }) },
			{ ref: 1, fields: lead({ firstName: 'Alan', lastName: 'Turing', email: 'ALAN@bletchley.example', name: 'Enigma inquiry (2)' }) },
			{ ref: 2, fields: lead({ lastName: 'No Mail', name: 'x' }) },
		]);
		assert.equal(ok(first[0]).status, 'created');
		assert.equal(ok(first[1]).status, 'updated');
		assert.equal(ok(first[1]).id, ok(first[0]).id);
		assert.equal(failed(first[2]).code, 'MISSING_MATCH_KEY');
		assert.equal(persons().length, 1);
		assert.equal((emulator.dump().leads as Row[]).length, 1);
		assert.equal((await pd.get('lead', ok(first[0]).id))?.fields.title, 'Enigma inquiry (2)');

		const second = await pd.upsert('lead', 'email', [{ ref: 0, fields: lead({ firstName: 'Alan', lastName: 'Turing', email: 'alan@bletchley.example', phone: '+44 1908 640404' }) }]);
		assert.equal(ok(second[0]).status, 'updated');
		assert.equal(ok(second[0]).id, ok(first[0]).id);
		assert.deepEqual((persons()[0].phones as Row[]).map((p) => p.value), ['+44 1908 640404']);
		assert.deepEqual((await pd.search('lead', 'email', ['alan@bletchley.example'])).map((r) => r.id), [ok(first[0]).id]);
	});

	test('listChanges and search read the leads\' persons in one call per 100 persons', async () => {
		const pd = connector();
		const leads = Array.from({ length: 5 }, (_, i) => ({ ref: i, fields: toPipedrive().map({ firstName: 'P', lastName: `${i}`, email: `p${i}@example.com` }).record }));
		for (const o of await pd.create('lead', leads)) ok(o);
		const before = lastSeq();
		const page = await pd.listChanges('lead');
		assert.equal(page.records.length, 5);
		for (const r of page.records) assert.equal(String((r.fields.person as Row).id), String(r.fields.person_id));
		assert.equal(calls('GET', /^\/api\/v2\/persons$/, before), 1, 'one GET /api/v2/persons?ids= for the page');
		assert.equal(calls('GET', /^\/api\/v2\/persons\/\d+$/, before), 0);
	});
});

describe('Pipedrive connector: listChanges', () => {
	test('pages with the v2 cursor, then resumes from the last update time without repeats; deletions from recents', async () => {
		const pd = connector();
		const ids = (await pd.create('contact', Array.from({ length: 23 }, (_, i) => ({ ref: i, fields: { name: `Person ${i}` } })))).map((o) => ok(o).id);
		const seen: string[] = [];
		let cursor: string | undefined;
		let pages = 0;
		for (;;) {
			const page = await pd.listChanges('contact', { cursor, pageSize: 10 });
			pages++;
			seen.push(...page.records.map((r) => r.id));
			cursor = page.cursor;
			if (!page.hasMore) break;
		}
		assert.equal(pages, 3);
		assert.deepEqual([...seen].sort(), [...ids].sort());

		const quiet = await pd.listChanges('contact', { cursor });
		assert.deepEqual(quiet.records, [], 'nothing new: the boundary second is not re-delivered');
		assert.equal(quiet.hasMore, false);

		await new Promise((r) => setTimeout(r, 1100)); // update_time has second resolution
		await pd.update('contact', [{ ref: 0, id: ids[5], fields: { name: 'Person five' } }]);
		await pd.delete('contact', [{ ref: 0, id: ids[6] }]);
		const after = await pd.listChanges('contact', { cursor: quiet.cursor });
		assert.deepEqual(after.records.map((r) => [r.id, r.fields.name]), [[ids[5], 'Person five']]);
		assert.deepEqual(after.deleted.map((d) => d.id), [ids[6]]);
	});

	test('leads page with v1 start/limit', async () => {
		const pd = connector();
		const org = ok((await pd.create('account', [{ ref: 0, fields: { name: 'Org' } }]))[0]).id;
		await pd.create('lead', Array.from({ length: 5 }, (_, i) => ({ ref: i, fields: { title: `Lead ${i}`, organization_id: Number(org) } })));
		const first = await pd.listChanges('lead', { pageSize: 3 });
		assert.equal(first.records.length, 3);
		assert.equal(first.hasMore, true);
		const second = await pd.listChanges('lead', { cursor: first.cursor, pageSize: 3 });
		assert.equal(second.records.length, 2);
		assert.equal(second.hasMore, false);
		assert.equal(new Set([...first.records, ...second.records].map((r) => r.id)).size, 5);
	});
});

describe('Pipedrive connector: throttling, 5xx, OAuth', () => {
	test('429 with Retry-After on the search burst limit (10 / 2 s): waits and recovers', async () => {
		emulator.setRateLimits(true);
		const events: TransportEvent[] = [];
		// Client-side limiter loosened so the CRM's own 429 is what paces us.
		const pd = connector({}, { limits: { default: { maxConcurrent: 20 }, search: { maxConcurrent: 20 } }, onEvent: (e) => events.push(e) });
		await pd.create('contact', [{ ref: 0, fields: { name: 'Throttle', email: 't@example.com' } }]);
		const results = await Promise.all(Array.from({ length: 14 }, () => pd.search('contact', 'email', ['t@example.com'])));
		assert.ok(results.every((r) => r.length === 1));
		const throttles = events.filter((e) => e.type === 'throttle');
		assert.ok(throttles.length > 0, 'the sandbox answered 429');
		assert.ok(throttles.every((e) => e.error?.httpStatus === 429 && (e.delayMs ?? 0) >= 1000), 'waited at least Retry-After (1 s)');
	});

	test('5xx replies are retried', async () => {
		emulator.setFaults({ errorRate: 0.4, seed: 7 });
		const events: TransportEvent[] = [];
		const pd = connector({}, { onEvent: (e) => events.push(e) });
		const outcomes = await pd.update('contact', []);
		assert.deepEqual(outcomes, []);
		const created = await pd.create('contact', Array.from({ length: 10 }, (_, i) => ({ ref: i, fields: { name: `Flaky ${i}` } })));
		assert.ok(created.every((o) => o.status === 'created'), JSON.stringify(created));
		assert.ok(events.some((e) => e.type === 'retry' && e.error?.httpStatus === 503));
		emulator.setFaults({});
		assert.equal((emulator.dump().persons as unknown[]).length, 10, 'a 503 reply means nothing was written, so no duplicates');
	});

	test('OAuth: expired token is refreshed through the SDK and api_domain becomes the API host', async () => {
		emulator.setStrictAuth(true);
		const grant = (await (
			await fetch(`${url}/oauth/token`, {
				method: 'POST',
				headers: { authorization: `Basic ${Buffer.from('cid:secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
				body: 'grant_type=authorization_code&code=abc&redirect_uri=x',
			})
		).json()) as { access_token: string; refresh_token: string };
		const events: TransportEvent[] = [];
		const pd = new PipedriveConnector(
			// No access token yet and a baseUrl that points nowhere: calls work only through the
			// api_domain of the refresh response, as the SDK's OAuth2Configuration would use it.
			{ refreshToken: grant.refresh_token, clientId: 'cid', clientSecret: 'secret', oauthUrl: url, baseUrl: 'http://127.0.0.1:9' },
			{ retry: { baseDelayMs: 20 }, onEvent: (e) => events.push(e) },
		);
		await pd.testConnection();
		await admin('auth', { expireAll: true });
		ok((await pd.create('contact', [{ ref: 0, fields: { name: 'After refresh' } }]))[0]);
		assert.equal(events.filter((e) => e.type === 'refresh').length, 1);

		const noRefresh = new PipedriveConnector({ accessToken: 'expired-or-unknown', baseUrl: url });
		await assert.rejects(noRefresh.testConnection(), (e: unknown) => e instanceof CrmError && e.category === 'auth');
	});
});

describe('Pipedrive connector: built from n8n credential values', () => {
	test('create() takes the API-token credential (apiToken, baseUrl)', async () => {
		const pd = create({ apiToken: 'credential-token', baseUrl: `${url}/` });
		assert.equal(ok((await pd.create('contact', [{ ref: 0, fields: { name: 'From credential' } }]))[0]).status, 'created');
		assert.throws(() => create({ baseUrl: url }), /neither an API token nor an OAuth token/);
	});
});

describe('Pipedrive connector: metadata, loop marker, search of other entities', () => {
	test('describeFields: v2 personFields / dealFields (cursor paging) and v1 leadFields (start paging)', async () => {
		const pd = connector();
		const person = await pd.describeFields('contact');
		const byName = new Map(person.map((f) => [f.name, f]));
		assert.equal(byName.get('name')?.required, true);
		assert.equal(byName.get('emails')?.type, 'email');
		assert.equal(byName.get('id')?.type, 'id');
		assert.ok(person.every((f) => f.custom === false), 'the sandbox defines no custom person fields');
		assert.equal(new Set(person.map((f) => f.name)).size, person.length, 'pages are not repeated');
		assert.ok((await pd.describeFields('opportunity')).some((f) => f.name === 'title' && f.required));
		const lead = await pd.describeFields('lead');
		assert.ok(lead.some((f) => f.name === 'title' && f.required));
		assert.ok(lead.length > 2);
	});

	test('changeOrigin: writes through the API show change_source api and the token user', async () => {
		assert.deepEqual(await connector().changeOrigin(), { source: 'api', actorId: '1' });
	});

	test('search organizations by name, deals and leads by title (exact match)', async () => {
		const pd = connector();
		const org = ok((await pd.create('account', [{ ref: 0, fields: { name: 'Acme Ltd' } }, { ref: 1, fields: { name: 'Acme Ltd Holdings' } }]))[0]).id;
		const deal = ok((await pd.create('opportunity', [{ ref: 0, fields: { title: 'Renewal 2027', org_id: Number(org) } }]))[0]).id;
		const lead = ok((await pd.create('lead', [{ ref: 0, fields: { title: 'Inbound lead', organization_id: Number(org) } }]))[0]).id;
		assert.deepEqual((await pd.search('account', 'name', ['acme ltd'])).map((r) => r.id), [org]);
		assert.deepEqual((await pd.search('opportunity', 'title', ['Renewal 2027'])).map((r) => r.id), [deal]);
		assert.deepEqual((await pd.search('lead', 'title', ['Inbound lead'])).map((r) => r.id), [lead]);
		const upserted = await pd.upsert('account', 'name', [{ ref: 0, fields: { name: 'Acme Ltd', website: 'https://acme.test' } }]);
		assert.deepEqual(upserted, [{ ref: 0, status: 'updated', id: org }]);
		await assert.rejects(pd.search('activity', 'subject', ['x']), /not implemented/);
	});
});

describe('Pipedrive connector: a delete whose reply was lost', () => {
	test('is sent again, answered 404, reported NOT_FOUND and done by the writer', async () => {
		const pd = connector({}, { timeoutMs: 300 });
		const id = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Gone' } }]))[0]).id;
		assert.equal((await pd.delete('contact', [{ ref: 0, id }]))[0].status, 'deleted');
		assert.equal(failed((await pd.delete('contact', [{ ref: 0, id }]))[0]).code, 'NOT_FOUND');

		const other = ok((await pd.create('contact', [{ ref: 0, fields: { name: 'Lost reply' } }]))[0]).id;
		await assertLostDeleteIsDone({ connector: pd, emulator, entity: 'contact', id: other, deletePath: '^/api/v2/persons/\\d+$' });
		assert.equal(await pd.get('contact', other), undefined);
	});

	test('410 Gone counts as gone: with success: true (as recorded once for a v1 delete) the delete was done', async () => {
		// A stand-in server: the sandbox does not answer 410.
		const server = createServer((req, res) => {
			const done = req.url?.endsWith('/11');
			res.writeHead(410, { 'content-type': 'application/json' });
			res.end(JSON.stringify(done ? { success: true, data: { id: 11 } } : { success: false, error: 'Gone' }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const pd = connector({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
			const [done, gone] = await pd.delete('contact', [{ ref: 0, id: '11' }, { ref: 1, id: '12' }]);
			assert.deepEqual(done, { ref: 0, status: 'deleted', id: '11' });
			assert.equal(failed(gone).code, 'NOT_FOUND');
		} finally {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	});
});
