// ZohoConnector metadata and account lookups (issue 21) over real HTTP against sandbox/zoho:
// listStages, listUsers, findAccountsByDomain, findAccountsByName.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Sandbox } from '../../../../sandbox';
import type { ZohoEmulator } from '../../../../sandbox/zoho';
import { ZohoConnector } from '../../../../lib/crms/zoho/connector';

let sandbox: Sandbox;
let emulator: ZohoEmulator;
let url: string;
let tokenSeq = 0;

function connector(): ZohoConnector {
	return new ZohoConnector({ accessToken: `zoho-meta-${++tokenSeq}`, apiDomain: url }, { retry: { baseDelayMs: 20 } });
}

/** A Zoho API call as another client would make it (the seed of a test). */
async function z(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
	const res = await fetch(`${url}/crm/v6${path}`, {
		method,
		headers: { authorization: 'Zoho-oauthtoken seed-token', ...(body ? { 'content-type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Creates accounts (name → website) and returns their ids by name. */
async function accounts(rows: Array<[name: string, website?: string]>): Promise<Record<string, string>> {
	const res = await z('POST', '/Accounts', { data: rows.map(([name, website]) => ({ Account_Name: name, ...(website !== undefined ? { Website: website } : {}) })) });
	assert.equal(res.status, 201, JSON.stringify(res.body));
	return Object.fromEntries(rows.map(([name], i) => [name, String(res.body.data[i].details.id)]));
}

async function addUser(first: string, last: string, email: string): Promise<string> {
	const res = await z('POST', '/users', { users: [{ first_name: first, last_name: last, email, role: '4150868000000026005', profile: '4150868000000026014' }] });
	assert.equal(res.status, 201, JSON.stringify(res.body));
	return String(res.body.users[0].details.id);
}

function searches(): string[] {
	return emulator
		.requests()
		.filter((r) => r.path.includes('/Accounts/search'))
		.map((r) => r.path);
}

before(async () => {
	sandbox = await startSandbox({ crms: ['zoho'] });
	emulator = sandbox.emulators.zoho as ZohoEmulator;
	url = sandbox.urls.zoho!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => {
	emulator.reset();
	emulator.setFaults({});
	emulator.setRateLimits(false);
});

describe('Zoho connector: listStages', () => {
	test("a new org's stages: one list, in order, with probabilities and won/lost from forecast_type", async () => {
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.map((s) => [s.id, s.label, s.outcome, s.probability, s.order, s.pipelineId]),
			[
				['Qualification', 'Qualification', 'open', 10, 0, undefined],
				['Needs Analysis', 'Needs Analysis', 'open', 20, 1, undefined],
				['Value Proposition', 'Value Proposition', 'open', 40, 2, undefined],
				['Identify Decision Makers', 'Identify Decision Makers', 'open', 60, 3, undefined],
				['Proposal/Price Quote', 'Proposal/Price Quote', 'open', 75, 4, undefined],
				['Negotiation/Review', 'Negotiation/Review', 'open', 90, 5, undefined],
				['Closed Won', 'Closed Won', 'won', 100, 6, undefined],
				['Closed Lost', 'Closed Lost', 'lost', 0, 7, undefined],
				['Closed-Lost to Competition', 'Closed-Lost to Competition', 'lost', 0, 8, undefined],
			],
		);
	});

	test("an org's own stages: a won stage below 100 % and a late open stage are not confused", async () => {
		emulator.setDealStages([
			{ name: 'Discovery', probability: 5, forecast_type: 'Open' },
			{ name: 'Signed', probability: 95, forecast_type: 'Closed Won', forecast_category: 'Closed' },
			{ name: 'Contract Sent', probability: 100, forecast_type: 'Open', forecast_category: 'Commit' },
			{ name: 'No Budget', probability: 0, forecast_type: 'Closed Lost' },
		]);
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.map((s) => [s.id, s.outcome, s.probability, s.order]),
			[
				['Discovery', 'open', 5, 0],
				['Signed', 'won', 95, 1],
				['Contract Sent', 'open', 100, 2],
				['No Budget', 'lost', 0, 3],
			],
		);
		// The stage id is what a deal's Stage holds: a deal written with it reads back the same.
		const deal = await z('POST', '/Deals', { data: [{ Deal_Name: 'D1', Stage: stages[1].id }] });
		const read = await connector().get('opportunity', String(deal.body.data[0].details.id));
		assert.equal(read?.fields.Stage, 'Signed');
	});
});

describe('Zoho connector: listUsers', () => {
	test('every user with a lower-cased e-mail, name, active flag; the id is what Owner.id holds', async () => {
		const ana = await addUser('Ana', 'Lima', 'Ana.Lima@Example.COM');
		const bo = await addUser('', 'Berg', 'bo@example.com');
		assert.equal((await z('PUT', `/users/${bo}`, { users: [{ status: 'disabled' }] })).status, 200);
		const users = await connector().listUsers();
		assert.deepEqual(
			users.map((u) => [u.id, u.email, u.name, u.active]).sort(),
			[
				['4150868000000225013', 'sandbox.user@example.com', 'Sandbox User', true],
				[ana, 'ana.lima@example.com', 'Ana Lima', true],
				[bo, 'bo@example.com', 'Berg', false],
			].sort(),
		);
		const deal = await z('POST', '/Deals', { data: [{ Deal_Name: 'Owned', Stage: 'Qualification', Owner: { id: ana } }] });
		const read = await connector().get('opportunity', String(deal.body.data[0].details.id));
		assert.equal((read?.fields.Owner as { id: string }).id, ana);
	});

	test('pages through more than 200 users', async () => {
		const res = await z('POST', '/users', {
			users: Array.from({ length: 205 }, (_, i) => ({ last_name: `U${i}`, email: `u${i}@example.com`, role: '4150868000000026005', profile: '4150868000000026014' })),
		});
		assert.equal(res.status, 201);
		const users = await connector().listUsers();
		assert.equal(users.length, 206);
		assert.equal(new Set(users.map((u) => u.id)).size, 206);
		assert.ok(users.some((u) => u.email === 'u204@example.com'));
		assert.equal(emulator.requests().filter((r) => r.method === 'GET' && r.path === '/crm/v6/users').length, 2);
	});
});

describe('Zoho connector: findAccountsByDomain', () => {
	test('a website stored as a URL, bare, or upper case is found; a longer or shorter host is not', async () => {
		const ids = await accounts([
			['Acme About', 'https://www.acme.com/about'],
			['Acme Bare', 'acme.com'],
			['Acme Upper', 'ACME.COM'],
			['Acme Http', 'http://acme.com'],
			['Acme Australia', 'https://acme.com.au'],
			['Acme Co', 'acme.co'],
			['No Website'],
		]);
		const found = await connector().findAccountsByDomain(['acme.com']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids['Acme About'], ids['Acme Bare'], ids['Acme Upper'], ids['Acme Http']].sort());
		const one = found.find((r) => r.id === ids['Acme About'])!;
		assert.equal(one.fields.Account_Name, 'Acme About');
		assert.ok(one.modifiedAt && !Number.isNaN(Date.parse(one.modifiedAt)));
		// acme.co matches only the account on acme.co, not acme.com or acme.com.au.
		assert.deepEqual((await connector().findAccountsByDomain(['acme.co'])).map((r) => r.id), [ids['Acme Co']]);
	});

	test('nothing found is an empty list (Zoho answers 204)', async () => {
		await accounts([['Acme', 'https://acme.com']]);
		assert.deepEqual(await connector().findAccountsByDomain(['acme.co']), []);
		assert.deepEqual(await connector().findAccountsByDomain([]), []);
	});

	test('several domains in one call, in as few searches as the 10-condition limit allows', async () => {
		const ids = await accounts([
			['Acme', 'https://www.acme.com'],
			['Globex', 'globex.io/contact'],
			['Initech', 'HTTP://WWW.INITECH.DE/'],
			['Other', 'other.org'],
		]);
		const before = searches().length;
		const found = await connector().findAccountsByDomain(['acme.com', 'globex.io', 'initech.de']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.Acme, ids.Globex, ids.Initech].sort());
		// 3 domains × 6 spellings = 18 conditions: two searches.
		assert.equal(searches().length - before, 2);
	});

	test('requested fields are returned, with the website the filter needs', async () => {
		const ids = await accounts([['Acme', 'acme.com']]);
		const [record] = await connector().findAccountsByDomain(['acme.com'], { fields: ['Account_Name'] });
		assert.equal(record.id, ids.Acme);
		assert.equal(record.fields.Account_Name, 'Acme');
		assert.equal(record.fields.Website, 'acme.com');
		assert.equal(record.fields.Phone, undefined);
	});
});

describe('Zoho connector: findAccountsByName', () => {
	test('"Acme Inc." finds Acme, ACME, Acme Inc and The Acme Company, not Acme Widgets or Acmeco', async () => {
		const ids = await accounts([['Acme'], ['ACME'], ['Acme, Inc'], ['The Acme Company'], ['Acme Widgets'], ['Acmeco'], ['Globex']]);
		const found = await connector().findAccountsByName(['Acme Inc.']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.Acme, ids.ACME, ids['Acme, Inc'], ids['The Acme Company']].sort());
		assert.deepEqual((await connector().findAccountsByName(['acme'])).map((r) => r.id).sort(), found.map((r) => r.id).sort());
	});

	test('a name with accents finds the account with or without them', async () => {
		const ids = await accounts([['Société Générale SA'], ['Societe Generale'], ['Société Anonyme'], ['Muller GmbH'], ['Müller AG'], ['Mülheim']]);
		const found = await connector().findAccountsByName(['Société Générale']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids['Société Générale SA'], ids['Societe Generale']].sort());
		assert.deepEqual((await connector().findAccountsByName(['Müller'])).map((r) => r.id).sort(), [ids['Muller GmbH'], ids['Müller AG']].sort());
	});

	test('several names, none found, and names with criteria characters', async () => {
		const ids = await accounts([['Acme'], ['Smith(Jones), Ltd'], ['Smith Brothers'], ['Globex Corporation']]);
		const found = await connector().findAccountsByName(['acme', 'Globex', 'Smith(Jones)']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.Acme, ids['Globex Corporation'], ids['Smith(Jones), Ltd']].sort());
		assert.deepEqual(await connector().findAccountsByName(['Initech']), []);
	});
});

describe('sandbox: the Zoho wire these methods read', () => {
	test('the Stage picklist values carry sequence, probability, forecast_type and forecast_category', async () => {
		const res = await z('GET', '/settings/fields?module=Deals');
		assert.equal(res.status, 200);
		const stage = res.body.fields.find((f: any) => f.api_name === 'Stage');
		assert.equal(stage.data_type, 'picklist');
		const won = stage.pick_list_values.find((v: any) => v.actual_value === 'Closed Won');
		assert.deepEqual([won.display_value, won.probability, won.forecast_type, won.forecast_category.name, won.sequence_number], ['Closed Won', 100, 'Closed Won', 'Closed', 7]);
		assert.match(won.id, /^\d{19}$/);
		const lost = stage.pick_list_values.find((v: any) => v.actual_value === 'Closed-Lost to Competition');
		assert.deepEqual([lost.forecast_type, lost.forecast_category.name, lost.probability], ['Closed Lost', 'Omitted', 0]);
		// Other picklists have no forecast keys.
		const pipeline = res.body.fields.find((f: any) => f.api_name === 'Pipeline');
		assert.equal(pipeline.pick_list_values[0].forecast_type, undefined);
	});

	test('users: types, 204 when none, paging info, mandatory fields, duplicate e-mail, only active users own records', async () => {
		assert.equal((await z('GET', '/users?type=DeactiveUsers')).status, 204);
		const all = await z('GET', '/users?type=AllUsers');
		assert.deepEqual(all.body.info, { per_page: 200, count: 1, page: 1, more_records: false });
		assert.deepEqual(Object.keys(all.body.users[0]).filter((k) => ['id', 'email', 'full_name', 'status'].includes(k)).sort(), ['email', 'full_name', 'id', 'status']);
		const missing = await z('POST', '/users', { users: [{ last_name: 'X', email: 'x@example.com', role: '4150868000000026005' }] });
		assert.equal(missing.status, 400);
		assert.deepEqual([missing.body.users[0].code, missing.body.users[0].details.api_name], ['MANDATORY_NOT_FOUND', 'profile']);
		const dup = await z('POST', '/users', { users: [{ last_name: 'X', email: 'SANDBOX.USER@example.com', role: '4150868000000026005', profile: '4150868000000026014' }] });
		assert.equal(dup.body.users[0].code, 'DUPLICATE_DATA');
		const id = await addUser('Cy', 'Dorn', 'cy@example.com');
		assert.equal((await z('GET', '/users?type=ActiveUsers')).body.users.length, 2);
		assert.equal((await z('PUT', `/users/${id}`, { users: [{ status: 'disabled' }] })).status, 200);
		assert.deepEqual((await z('GET', '/users?type=DeactiveUsers')).body.users.map((u: any) => u.id), [id]);
		const refused = await z('POST', '/Accounts', { data: [{ Account_Name: 'A', Owner: { id } }] });
		assert.equal(refused.status, 400);
		assert.equal(refused.body.data[0].details.api_name, 'Owner');
		const perPage = await z('GET', '/users?type=AllUsers&per_page=1&page=2');
		assert.deepEqual([perPage.body.users.length, perPage.body.info.more_records], [1, false]);
	});

	test('a domain search answers 204 with an empty body when nothing matches', async () => {
		await accounts([['Acme', 'https://acme.com']]);
		const res = await fetch(`${url}/crm/v6/Accounts/search?criteria=${encodeURIComponent('(Website:starts_with:globex.com)')}`, { headers: { authorization: 'Zoho-oauthtoken t' } });
		assert.equal(res.status, 204);
		assert.equal(await res.text(), '');
	});
});
