// Salesforce metadata through the real connector (jsforce) against the sandbox: opportunity
// stages (OpportunityStage), owners (User), accounts by website domain and by company name.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startSandbox, type Sandbox } from '../../../../sandbox';
import type { SalesforceEmulator } from '../../../../sandbox/salesforce';
import { SOBJECTS } from '../../../../sandbox/salesforce/schema';
import { create, type SalesforceConnector } from '../../../../lib/crms/salesforce/connector';
import type { CrmRecord, WriteOutcome } from '../../../../lib/connectors';

let sandbox: Sandbox;
let sf: SalesforceEmulator;
let url: string;
let seq = 0;

before(async () => {
	sandbox = await startSandbox({ crms: ['salesforce'] });
	sf = sandbox.emulators.salesforce as SalesforceEmulator;
	url = sandbox.urls.salesforce!;
});

after(async () => {
	await sandbox?.stop();
});

beforeEach(() => sf.reset());

function connector(): SalesforceConnector {
	return create(
		{ grantType: 'authorizationCode', clientId: 'sandbox-client', clientSecret: 'sandbox-secret', loginUrl: url, apiVersion: '62.0', oauthTokenData: { refresh_token: `rt-meta-${++seq}`, instance_url: url } },
		{ retry: { baseDelayMs: 20, maxDelayMs: 200 } },
	);
}

/** Adds a row as a Salesforce admin would in Setup (the API cannot write setup objects). */
async function admin(type: string, fields: Record<string, unknown>): Promise<string> {
	const res = await fetch(`${url}/__admin/sobjects/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
	const body = (await res.json()) as { id?: string };
	assert.equal(res.status, 201, JSON.stringify(body));
	return body.id!;
}

function idOf(outcome: WriteOutcome): string {
	assert.notEqual(outcome.status, 'failed', JSON.stringify(outcome));
	return (outcome as { id: string }).id;
}

/** Creates accounts through the connector; returns their ids by name. */
async function accounts(c: SalesforceConnector, rows: Array<Record<string, unknown>>): Promise<Record<string, string>> {
	const made = await c.create('account', rows.map((fields, ref) => ({ ref, fields })));
	return Object.fromEntries(rows.map((r, i) => [String(r.Name), idOf(made[i])]));
}

const names = (records: CrmRecord[]) => records.map((r) => String(r.fields.Name)).sort();

function queryRequests(): number {
	return sf.requests().filter((r) => /\/services\/data\/v[\d.]+\/query(\/|$)/.test(r.path)).length;
}

describe('Salesforce listStages (SOQL on OpportunityStage)', () => {
	test('a new org: the ten default stages in order, with their probabilities; Closed Won is won, Closed Lost lost, the rest open', async () => {
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.map((s) => [s.id, s.label, s.outcome, s.probability, s.order]),
			[
				['Prospecting', 'Prospecting', 'open', 10, 0],
				['Qualification', 'Qualification', 'open', 10, 1],
				['Needs Analysis', 'Needs Analysis', 'open', 20, 2],
				['Value Proposition', 'Value Proposition', 'open', 50, 3],
				['Id. Decision Makers', 'Id. Decision Makers', 'open', 60, 4],
				['Perception Analysis', 'Perception Analysis', 'open', 70, 5],
				['Proposal/Price Quote', 'Proposal/Price Quote', 'open', 75, 6],
				['Negotiation/Review', 'Negotiation/Review', 'open', 90, 7],
				['Closed Won', 'Closed Won', 'won', 100, 8],
				['Closed Lost', 'Closed Lost', 'lost', 0, 9],
			],
		);
		// One list for the org: Salesforce has no pipelines in the API's sense.
		assert.ok(stages.every((s) => s.pipelineId === undefined));
	});

	test('stages added in Setup: ordered by SortOrder, id is the ApiName the opportunity holds, a second won stage, inactive ones left out', async () => {
		await admin('OpportunityStage', { MasterLabel: 'Lead In', ApiName: 'Lead_In', DefaultProbability: 5, SortOrder: 0 });
		await admin('OpportunityStage', { MasterLabel: 'Closed - Churned', ApiName: 'Closed_Churned', IsClosed: true, IsWon: false, DefaultProbability: 0, SortOrder: 11 });
		await admin('OpportunityStage', { MasterLabel: 'Closed - Renewed', ApiName: 'Closed_Renewed', IsClosed: true, IsWon: true, DefaultProbability: 100, SortOrder: 12 });
		await admin('OpportunityStage', { MasterLabel: 'Legacy Stage', IsActive: false, DefaultProbability: 40, SortOrder: 6 });
		const c = connector();
		const stages = await c.listStages();
		assert.equal(stages.length, 13);
		assert.deepEqual(stages[0], { id: 'Lead_In', label: 'Lead In', outcome: 'open', probability: 5, order: 0 });
		assert.deepEqual(stages[1].id, 'Prospecting');
		assert.deepEqual(stages.slice(-2), [
			{ id: 'Closed_Churned', label: 'Closed - Churned', outcome: 'lost', probability: 0, order: 11 },
			{ id: 'Closed_Renewed', label: 'Closed - Renewed', outcome: 'won', probability: 100, order: 12 },
		]);
		assert.ok(!stages.some((s) => s.label === 'Legacy Stage'));
		assert.deepEqual(stages.map((s) => s.order), [...Array(13).keys()]);

		// The stage id is what Opportunity.StageName holds: an opportunity in it reads back closed, not won.
		const [made] = await c.create('opportunity', [{ ref: 0, fields: { Name: 'Renewal 2026', StageName: 'Closed_Churned', CloseDate: '2026-12-01' } }]);
		const opp = await c.get('opportunity', idOf(made));
		assert.equal(opp?.fields.StageName, 'Closed_Churned');
		assert.equal(opp?.fields.IsClosed, true);
		assert.equal(opp?.fields.IsWon, false);
	});

	test('the API cannot write OpportunityStage or User (setup objects)', async () => {
		const c = connector();
		await c.testConnection();
		await assert.rejects(c.conn.sobject('OpportunityStage').create({ MasterLabel: 'X' }).then((r) => {
			if (!(r as { success: boolean }).success) throw new Error(JSON.stringify(r));
		}));
		const results = await c.conn.sobject('User').create([{ LastName: 'X', Email: 'x@example.com', Username: 'x@example.com' }], { allOrNone: false });
		assert.equal((results as Array<{ success: boolean; errors: Array<{ statusCode: string }> }>)[0].success, false);
		assert.equal((results as Array<{ errors: Array<{ statusCode: string }> }>)[0].errors[0].statusCode, 'INVALID_TYPE_FOR_OPERATION');
	});
});

describe('Salesforce listUsers (SOQL on User)', () => {
	test('a new org: the standard users with lower-cased e-mails; the Automated Process user is left out', async () => {
		const users = await connector().listUsers();
		assert.deepEqual(users.map((u) => u.email).sort(), ['admin@sandbox.example.com', 'integration@sandbox.example.com']);
		assert.ok(users.every((u) => u.active && /^005[A-Za-z0-9]{15}$/.test(u.id)));
		assert.equal(users.find((u) => u.email === 'integration@sandbox.example.com')?.name, 'Integration User');
	});

	test('users added in Setup: e-mail lower-cased, name, active flag; portal users left out; the id is what OwnerId holds', async () => {
		const grace = await admin('User', { FirstName: 'Grace', LastName: 'Hopper', Email: 'Grace.Hopper@Example.COM', Username: 'grace@example.com.sandbox' });
		const alan = await admin('User', { FirstName: 'Alan', LastName: 'Turing', Email: 'alan@example.com', Username: 'alan@example.com.sandbox', IsActive: false });
		await admin('User', { FirstName: 'Pat', LastName: 'Partner', Email: 'pat@partner.example', Username: 'pat@partner.example', UserType: 'PowerPartner' });
		const c = connector();
		const users = await c.listUsers();
		assert.equal(users.length, 4);
		assert.deepEqual(users.find((u) => u.id === grace), { id: grace, email: 'grace.hopper@example.com', name: 'Grace Hopper', active: true });
		assert.deepEqual(users.find((u) => u.id === alan), { id: alan, email: 'alan@example.com', name: 'Alan Turing', active: false });
		assert.ok(!users.some((u) => u.email === 'pat@partner.example'));

		// Owner ids: a record given Grace as owner holds her id; a record created without one is owned by the API user.
		const made = await c.create('account', [
			{ ref: 0, fields: { Name: 'Owned by Grace', OwnerId: grace } },
			{ ref: 1, fields: { Name: 'Owned by the API user' } },
		]);
		assert.equal((await c.get('account', idOf(made[0])))?.fields.OwnerId, grace);
		const apiOwner = (await c.get('account', idOf(made[1])))?.fields.OwnerId;
		assert.equal(users.find((u) => u.id === apiOwner)?.email, 'integration@sandbox.example.com');
	});

	test('more users than one query page: nextRecordsUrl is followed', async () => {
		const who = { origin: '', user: sf.uiUserId, admin: true };
		for (let i = 0; i < 2100; i++) sf.doCreate(SOBJECTS.User, { LastName: `Bulk ${i}`, Email: `Bulk.${i}@Example.com`, Username: `bulk${i}@example.com` }, who);
		const before = queryRequests();
		const users = await connector().listUsers();
		assert.equal(users.length, 2102);
		assert.equal(new Set(users.map((u) => u.id)).size, 2102);
		assert.ok(users.some((u) => u.email === 'bulk.2099@example.com'));
		assert.equal(queryRequests() - before, 2, 'one query and one queryMore page');
	});
});

describe('Salesforce findAccountsByDomain (Website LIKE)', () => {
	test('the website as a URL, a bare host or upper case matches; a longer or other host does not; acme.co finds none of them', async () => {
		const c = connector();
		const ids = await accounts(c, [
			{ Name: 'Acme URL', Website: 'https://www.acme.com/about' },
			{ Name: 'Acme Bare', Website: 'acme.com' },
			{ Name: 'Acme Caps', Website: 'ACME.COM' },
			{ Name: 'Not Acme', Website: 'https://notacme.com' },
			{ Name: 'Acme Australia', Website: 'www.acme.com.au' },
			{ Name: 'Acme Shop', Website: 'shop.acme.com' },
			{ Name: 'No Website' },
		]);
		const found = await c.findAccountsByDomain(['acme.com']);
		assert.deepEqual(names(found), ['Acme Bare', 'Acme Caps', 'Acme URL']);
		const url = found.find((r) => r.id === ids['Acme URL'])!;
		assert.equal(url.fields.Website, 'https://www.acme.com/about');
		assert.ok(url.modifiedAt);
		assert.deepEqual(await c.findAccountsByDomain(['acme.co']), []);
		assert.deepEqual(await c.findAccountsByDomain([]), []);
	});

	test('several domains in one query; domains given as URLs; deleted accounts left out; fields option', async () => {
		const c = connector();
		const ids = await accounts(c, [
			{ Name: 'Acme', Website: 'http://acme.com' },
			{ Name: 'Globex', Website: 'https://globex.io/en/' },
			{ Name: 'Initech', Website: 'initech.net' },
			{ Name: 'Gone', Website: 'umbrella.org' },
			{ Name: 'Other', Website: 'other.example' },
		]);
		await c.delete('account', [{ ref: 0, id: ids.Gone }]);
		const before = queryRequests();
		const found = await c.findAccountsByDomain(['acme.com', 'https://www.Globex.io/contact', 'initech.net', 'umbrella.org', 'nothere.dev'], { fields: ['Name', 'Phone'] });
		assert.equal(queryRequests() - before, 1);
		assert.deepEqual(names(found), ['Acme', 'Globex', 'Initech']);
		assert.ok(found.every((r) => 'Phone' in r.fields && 'Website' in r.fields));
	});

	test('hundreds of domains: a few queries, the right accounts', async () => {
		const c = connector();
		await accounts(c, [{ Name: 'Acme', Website: 'acme.com' }, { Name: 'Last', Website: 'company-0399.example.com' }]);
		const domains = [...Array(400).keys()].map((i) => `company-${String(i).padStart(4, '0')}.example.com`);
		const before = queryRequests();
		const found = await c.findAccountsByDomain(['acme.com', ...domains]);
		const queries = queryRequests() - before;
		assert.ok(queries > 1 && queries <= 5, `${queries} queries`);
		assert.deepEqual(names(found), ['Acme', 'Last']);
	});
});

describe('Salesforce findAccountsByName (Name LIKE)', () => {
	test('legal forms, case, a leading "The" and punctuation are ignored; other names sharing the first word are not matched', async () => {
		const c = connector();
		await accounts(c, [
			{ Name: 'Acme Inc.' },
			{ Name: 'acme' },
			{ Name: 'The Acme Company' },
			{ Name: 'ACME, LLC' },
			{ Name: 'Acme Widgets Ltd' },
			{ Name: 'Acmeco' },
			{ Name: 'Globex' },
		]);
		const expected = ['ACME, LLC', 'Acme Inc.', 'The Acme Company', 'acme'];
		assert.deepEqual(names(await c.findAccountsByName(['Acme Inc.'])), expected);
		assert.deepEqual(names(await c.findAccountsByName(['acme'])), expected);
		assert.deepEqual(names(await c.findAccountsByName(['Acme Widgets'])), ['Acme Widgets Ltd']);
		assert.deepEqual(await c.findAccountsByName(['Acm']), []);
	});

	test('accents: a name typed with accents finds it stored with and without them', async () => {
		const c = connector();
		await accounts(c, [{ Name: 'Société Générale S.A.' }, { Name: 'Societe Generale' }, { Name: 'Société Anonyme' }, { Name: 'Müller GmbH' }]);
		assert.deepEqual(names(await c.findAccountsByName(['Société Générale'])), ['Societe Generale', 'Société Générale S.A.']);
		assert.deepEqual(names(await c.findAccountsByName(['MÜLLER AG'])), ['Müller GmbH']);
	});

	test('several names in one call; quotes, backslashes and LIKE wildcards in names are escaped', async () => {
		const c = connector();
		await accounts(c, [{ Name: "O'Brien & Sons" }, { Name: 'Data_Works' }, { Name: '100% Pure Ltd' }, { Name: 'Back\\Slash Inc' }, { Name: 'Initech' }]);
		assert.deepEqual(names(await c.findAccountsByName(["O'Brien and Sons Ltd", 'Data_Works Inc', 'Initech'])), ['Data_Works', 'Initech', "O'Brien & Sons"]);
		assert.deepEqual(names(await c.findAccountsByName(['100% Pure', 'Back\\Slash'])), ['100% Pure Ltd', 'Back\\Slash Inc']);
		assert.deepEqual(await c.findAccountsByName([]), []);
	});

	test('the sandbox honours LIKE escapes: \\_ and \\% match themselves, _ and % are wildcards', async () => {
		const c = connector();
		await accounts(c, [{ Name: 'Data_Works' }, { Name: 'DataXWorks' }, { Name: '100% Pure' }, { Name: '1000 Pure' }]);
		const query = async (where: string) => names(((await c.conn.query(`SELECT Id, Name FROM Account WHERE ${where}`)) as { records: CrmRecord['fields'][] }).records.map((fields) => ({ id: '', fields })));
		assert.deepEqual(await query("Name LIKE 'data\\_works%'"), ['Data_Works']);
		assert.deepEqual(await query("Name LIKE 'data_works%'"), ['DataXWorks', 'Data_Works']);
		assert.deepEqual(await query("Name LIKE '100\\%%'"), ['100% Pure']);
		assert.deepEqual(await query("Name LIKE '100%' OR Name LIKE 'nothing%'"), ['100% Pure', '1000 Pure']);
	});
});
