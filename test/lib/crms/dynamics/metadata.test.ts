// DynamicsConnector's stage, user and account lookups over real HTTP against sandbox/dynamics:
// the salesstage option set (metadata API), systemusers, and accounts by website domain / name.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { appUserIdFor, DEFAULT_APP_USER_ID, UI_USER_ID, type DynamicsEmulator } from '../../../../sandbox/dynamics';
import { DynamicsConnector } from '../../../../lib/crms/dynamics/connector';
import { dynamicsMaps } from '../../../../lib/crms/dynamics/map';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let clientSeq = 0;
let clientId = '';

/** A connector with its own app registration (limiter and token caches are per credential). */
function connector(): DynamicsConnector {
	clientId = `metadata-client-${++clientSeq}`;
	return new DynamicsConnector({ orgUrl: url, authorityUrl: url, tenantId: 'tenant-1', clientId, clientSecret: 'secret' }, { retry: { baseDelayMs: 20 } });
}

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
	const res = await fetch(`${url}/__admin/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${path}: HTTP ${res.status} ${await res.clone().text()}`);
	return (await res.json()) as Record<string, unknown>;
}

async function api(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
	const res = await fetch(`${url}/api/data/v9.2/${path}`, { method, headers: { Authorization: 'Bearer test', Accept: 'application/json', ...headers } });
	const text = await res.text();
	return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Creates accounts through the connector; returns their ids by name. */
async function accounts(c: DynamicsConnector, rows: Array<{ name: string; websiteurl?: string }>): Promise<Map<string, string>> {
	const outcomes = await c.create('account', rows.map((fields, ref) => ({ ref, fields })));
	const ids = new Map<string, string>();
	outcomes.forEach((o, i) => {
		assert.equal(o.status, 'created', JSON.stringify(o));
		ids.set(rows[i].name, (o as { id: string }).id);
	});
	return ids;
}

async function accountQueries(): Promise<number> {
	const log = (await (await fetch(`${url}/__admin/requests`)).json()) as Array<{ method: string; path: string }> | { requests: Array<{ method: string; path: string }> };
	const list = Array.isArray(log) ? log : log.requests;
	return list.filter((r) => r.method === 'GET' && /\/accounts$/.test(r.path.split('?')[0])).length;
}

before(async () => {
	sandbox = await startSandbox({ crms: ['dynamics'] });
	emulator = sandbox.emulators.dynamics!;
	url = sandbox.urls.dynamics!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => {
	emulator.reset();
	emulator.setFaults({});
	emulator.setRateLimits(false);
});

describe('listStages', () => {
	test('the default salesstage options are open stages in order, then won and lost', async () => {
		const stages = await connector().listStages();
		assert.deepEqual(stages, [
			{ id: '0', label: 'Qualify', outcome: 'open', order: 0 },
			{ id: '1', label: 'Develop', outcome: 'open', order: 1 },
			{ id: '2', label: 'Propose', outcome: 'open', order: 2 },
			{ id: '3', label: 'Close', outcome: 'open', order: 3 },
			{ id: 'won', label: 'Won', outcome: 'won', order: 4 },
			{ id: 'lost', label: 'Lost', outcome: 'lost', order: 5 },
		]);
		// One stage list: no pipeline, and closeprobability is per record, so no probability.
		assert.ok(stages.every((s) => s.pipelineId === undefined && s.probability === undefined));
	});

	test('a customised option set is read in its metadata order, with custom values', async () => {
		await admin('choices/opportunity/salesstage', {
			options: [
				{ value: 0, label: 'Qualify' },
				{ value: 100000000, label: 'Discovery' },
				{ value: 2, label: 'Propose' },
				{ value: 100000001, label: 'Negotiate' },
			],
		});
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.map((s) => [s.id, s.label, s.outcome, s.order]),
			[['0', 'Qualify', 'open', 0], ['100000000', 'Discovery', 'open', 1], ['2', 'Propose', 'open', 2], ['100000001', 'Negotiate', 'open', 3], ['won', 'Won', 'won', 4], ['lost', 'Lost', 'lost', 5]],
		);
	});

	test('stage ids are what the opportunity stage field reads: open salesstage values, won and lost states', async () => {
		const c = connector();
		const ids = new Set((await c.listStages()).map((s) => s.id));
		const outcomeOf = new Map((await c.listStages()).map((s) => [s.id, s.outcome]));
		const stage = dynamicsMaps.opportunity!.fields.find((f) => f.unified === 'stage')!;
		assert.equal(typeof stage.read, 'function');
		const read = (row: Record<string, unknown>): string => String((stage.read as (r: Record<string, unknown>) => unknown)(row));
		// A won opportunity keeps its last salesstage (3): the state decides, never the open stage.
		assert.equal(outcomeOf.get(read({ salesstage: 3, statecode: 1 })), 'won');
		assert.equal(outcomeOf.get(read({ salesstage: 1, statecode: 2 })), 'lost');
		assert.equal(outcomeOf.get(read({ salesstage: 2, statecode: 0 })), 'open');
		assert.ok(ids.has(read({ salesstage: 2, statecode: 0 })));
	});

	test('the metadata request is the documented one, and the sandbox answers it in the Web API shape', async () => {
		const res = await api("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='salesstage')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)");
		assert.equal(res.status, 200);
		assert.equal(res.body.LogicalName, 'salesstage');
		assert.match(String(res.body.MetadataId), /^[0-9a-f-]{36}$/);
		assert.match(String(res.body['@odata.context']), /\/\$metadata#EntityDefinitions\('opportunity'\)\/Attributes\/Microsoft\.Dynamics\.CRM\.PicklistAttributeMetadata\(LogicalName,OptionSet\(Options\)\)\/\$entity$/);
		const optionSet = res.body.OptionSet as { Options: Array<{ Value: number; Label: { UserLocalizedLabel: { Label: string; LanguageCode: number } } }>; MetadataId: string };
		assert.deepEqual(Object.keys(optionSet).sort(), ['MetadataId', 'Options']);
		assert.deepEqual(optionSet.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label]), [[0, 'Qualify'], [1, 'Develop'], [2, 'Propose'], [3, 'Close']]);
		// Not a choice column, or a navigation property the base type lacks: errors, as Dataverse gives.
		assert.equal((await api("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='name')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata")).status, 404);
		assert.equal((await api("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='salesstage')?$expand=OptionSet")).status, 400);
		assert.equal((await api("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='nosuch')")).status, 404);
	});
});

describe('listUsers', () => {
	test('every systemuser with a lower-cased e-mail, name and active flag; ids are what ownerid holds', async () => {
		const jane = String((await admin('systemusers', { firstname: 'Jane', lastname: 'Doe', internalemailaddress: 'Jane.Doe@Contoso.COM', accessmode: 0 })).systemuserid);
		const gone = String((await admin('systemusers', { fullname: 'Old Timer', internalemailaddress: 'old@contoso.com', isdisabled: true })).systemuserid);
		const c = connector();
		const created = await accounts(c, [{ name: 'Owned Ltd' }]);
		const users = await c.listUsers();
		const byId = new Map(users.map((u) => [u.id, u]));
		assert.deepEqual(byId.get(jane), { id: jane, email: 'jane.doe@contoso.com', name: 'Jane Doe', active: true });
		assert.deepEqual(byId.get(gone), { id: gone, email: 'old@contoso.com', name: 'Old Timer', active: false });
		// The seeded users: the sandbox's application user and the interactive UI user.
		assert.deepEqual(byId.get(DEFAULT_APP_USER_ID), { id: DEFAULT_APP_USER_ID, email: 'sandbox-app@sandbox.onmicrosoft.com', name: '# sandbox-app', active: true });
		assert.deepEqual(byId.get(UI_USER_ID), { id: UI_USER_ID, email: 'sandbox.user@sandbox.onmicrosoft.com', name: 'Sandbox User', active: true });
		// The account our connector created is owned by its application user, which is listed.
		const owner = (await c.get('account', created.get('Owned Ltd')!))!.fields._ownerid_value;
		assert.equal(owner, appUserIdFor(clientId));
		assert.ok(byId.has(String(owner)), 'the owner of a record is a listed user');
		assert.equal(users.length, 5);
	});

	test('more users than a page (5,000): the connector follows @odata.nextLink', async () => {
		const dv = emulator as unknown as DynamicsEmulator;
		for (let i = 0; i < 5003; i++) dv.addUser({ firstname: 'Bulk', lastname: `User ${i}`, internalemailaddress: `Bulk.${i}@Example.com` });
		const c = connector();
		const users = await c.listUsers();
		// 5,003 added, the two seeded users and this connector's application user.
		assert.equal(users.length, 5006);
		assert.equal(new Set(users.map((u) => u.id)).size, 5006);
		assert.ok(users.some((u) => u.email === 'bulk.5002@example.com' && u.name === 'Bulk User 5002'));
		const pages = emulator.requests().filter((r) => r.method === 'GET' && r.path.split('?')[0].endsWith('/systemusers'));
		assert.equal(pages.length, 2);
	});

	test('the sandbox pages systemusers with @odata.nextLink and refuses writes to them', async () => {
		for (let i = 0; i < 5; i++) await admin('systemusers', { fullname: `User ${i}`, internalemailaddress: `u${i}@contoso.com` });
		const seen: string[] = [];
		let page = await api('systemusers?$select=systemuserid,internalemailaddress,fullname,isdisabled,accessmode', { Prefer: 'odata.maxpagesize=3' });
		for (;;) {
			assert.equal(page.status, 200);
			for (const row of page.body.value as Array<Record<string, unknown>>) {
				assert.deepEqual(Object.keys(row).sort(), ['@odata.etag', 'accessmode', 'fullname', 'internalemailaddress', 'isdisabled', 'systemuserid']);
				seen.push(String(row.systemuserid));
			}
			const next = page.body['@odata.nextLink'];
			if (typeof next !== 'string') break;
			const res = await fetch(next, { headers: { Authorization: 'Bearer test', Prefer: 'odata.maxpagesize=3' } });
			page = { status: res.status, body: (await res.json()) as Record<string, unknown> };
		}
		// 5 added + the two seeded users + the app user of the 'test' token (the default one).
		assert.equal(new Set(seen).size, 7);
		assert.equal(seen.length, 7);
		const filtered = await api("systemusers?$select=fullname&$filter=isdisabled eq false and contains(internalemailaddress,'contoso.com')");
		assert.equal((filtered.body.value as unknown[]).length, 5);
		assert.equal((await api('systemusers', { 'Content-Type': 'application/json' }, 'POST')).status, 405);
	});
});

describe('findAccountsByDomain', () => {
	test('matches websites stored as a URL, a bare host or in capitals; not a longer or shorter host', async () => {
		const c = connector();
		const ids = await accounts(c, [
			{ name: 'Acme URL', websiteurl: 'https://www.acme.com/about' },
			{ name: 'Acme bare', websiteurl: 'acme.com' },
			{ name: 'Acme caps', websiteurl: 'ACME.COM' },
			{ name: 'Not Acme', websiteurl: 'https://notacme.com' },
			{ name: 'Acme AU', websiteurl: 'http://acme.com.au' },
			{ name: 'No site' },
		]);
		const found = await c.findAccountsByDomain(['acme.com']);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.get('Acme URL'), ids.get('Acme bare'), ids.get('Acme caps')].sort());
		assert.ok(found.every((r) => typeof r.modifiedAt === 'string' && r.fields.accountid === r.id));
		assert.deepEqual(await c.findAccountsByDomain(['acme.co']), []);
		// A domain given as a URL is normalised first.
		assert.equal((await c.findAccountsByDomain(['https://WWW.acme.com/'])).length, 3);
	});

	test('several domains in one request; the requested fields plus the website come back', async () => {
		const c = connector();
		const ids = await accounts(c, [
			{ name: 'Acme', websiteurl: 'https://www.acme.com' },
			{ name: 'Other', websiteurl: 'other.org/contact' },
			{ name: 'Third', websiteurl: 'third.net' },
		]);
		const before = await accountQueries();
		const found = await c.findAccountsByDomain(['acme.com', 'other.org', 'missing.io', 'not a domain'], { fields: ['name'] });
		assert.equal((await accountQueries()) - before, 1, 'one $filter with or');
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.get('Acme'), ids.get('Other')].sort());
		for (const r of found) assert.deepEqual(Object.keys(r.fields).filter((k) => !k.startsWith('@')).sort(), ['accountid', 'name', 'websiteurl']);
	});

	test('many domains are split into several requests, all found', async () => {
		const c = connector();
		const domains = Array.from({ length: 60 }, (_, i) => `company-${i}.example.com`);
		const ids = await accounts(c, domains.map((d, i) => ({ name: `Company ${i}`, websiteurl: i % 2 ? `https://${d}/` : d })));
		const before = await accountQueries();
		const found = await c.findAccountsByDomain(domains);
		assert.equal(found.length, 60);
		assert.deepEqual(new Set(found.map((r) => r.id)), new Set(ids.values()));
		const requests = (await accountQueries()) - before;
		assert.ok(requests >= 2 && requests <= 4, `${requests} requests`);
	});
});

describe('findAccountsByName', () => {
	test('normalised names: case, a leading "The" and legal forms ignored; other names with the same word not returned', async () => {
		const c = connector();
		const ids = await accounts(c, [{ name: 'Acme Inc.' }, { name: 'ACME' }, { name: 'The Acme Company Ltd' }, { name: 'Acme Widgets' }, { name: 'Acmeco' }]);
		const same = [ids.get('Acme Inc.'), ids.get('ACME'), ids.get('The Acme Company Ltd')].sort();
		assert.deepEqual((await c.findAccountsByName(['acme'])).map((r) => r.id).sort(), same);
		assert.deepEqual((await c.findAccountsByName(['Acme Inc.'])).map((r) => r.id).sort(), same);
		assert.deepEqual((await c.findAccountsByName(['Acme Widgets GmbH'])).map((r) => r.id), [ids.get('Acme Widgets')]);
		assert.deepEqual(await c.findAccountsByName(['Globex']), []);
	});

	test('accents: the stored and the searched spelling may differ', async () => {
		const c = connector();
		const ids = await accounts(c, [{ name: 'Société Générale S.A.' }, { name: 'Nestlé' }, { name: 'Generali' }]);
		assert.deepEqual((await c.findAccountsByName(['Societe Generale'])).map((r) => r.id), [ids.get('Société Générale S.A.')]);
		assert.deepEqual((await c.findAccountsByName(['SOCIÉTÉ GÉNÉRALE'])).map((r) => r.id), [ids.get('Société Générale S.A.')]);
		assert.deepEqual((await c.findAccountsByName(['nestle ag'])).map((r) => r.id), [ids.get('Nestlé')]);
	});

	test('several names in one request; quotes are escaped; & and "and" are the same', async () => {
		const c = connector();
		const ids = await accounts(c, [{ name: "O'Brien & Sons" }, { name: 'Johnson and Johnson' }, { name: 'Initech LLC' }]);
		const before = await accountQueries();
		const found = await c.findAccountsByName(["O'Brien and Sons", 'Johnson & Johnson', 'initech', '  ']);
		assert.equal((await accountQueries()) - before, 1);
		assert.deepEqual(found.map((r) => r.id).sort(), [ids.get("O'Brien & Sons"), ids.get('Johnson and Johnson'), ids.get('Initech LLC')].sort());
	});
});

describe('listCurrencies', () => {
	test("a new environment: the organization's base currency USD, and EUR active", async () => {
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD', 'EUR'] });
	});

	test('currencies added and deactivated through the admin API; inactive ones are not enabled; the base one first', async () => {
		const gbp = await admin('transactioncurrencies', { isocurrencycode: 'gbp', currencyname: 'Pound Sterling', currencysymbol: '£', exchangerate: 0.79 });
		assert.deepEqual([gbp.isocurrencycode, gbp.statecode, gbp.statuscode], ['GBP', 0, 1]);
		await admin('transactioncurrencies', { isocurrencycode: 'JPY', statecode: 1 });
		await admin('transactioncurrencies', { isocurrencycode: 'EUR', statecode: 1 });
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD', 'GBP'] });
		await admin('transactioncurrencies', { isocurrencycode: 'EUR', statecode: 0 });
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD', 'EUR', 'GBP'] });
	});

	test('an environment made with another base currency (admin `base: true`); the base currency cannot be deactivated', async () => {
		await admin('transactioncurrencies', { isocurrencycode: 'CHF', currencyname: 'Swiss Franc', base: true });
		assert.deepEqual(await connector().listCurrencies(), { default: 'CHF', enabled: ['CHF', 'EUR', 'USD'] });
		const res = await fetch(`${url}/__admin/transactioncurrencies`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ isocurrencycode: 'CHF', statecode: 1 }) });
		assert.equal(res.status, 400);
		assert.equal(((await res.json()) as { error: { message: string } }).error.message, 'The base currency cannot be deactivated.');
	});

	test('the requests are the documented ones, answered in the Web API shape; both tables are read-only through the API', async () => {
		const dv = connector();
		await dv.listCurrencies();
		const paths = emulator.requests().filter((r) => r.method === 'GET').map((r) => r.path);
		assert.deepEqual(paths.filter((p) => /\/(organizations|transactioncurrencies)$/.test(p)).sort(), ['/api/data/v9.2/organizations', '/api/data/v9.2/transactioncurrencies']);
		const orgs = await api('organizations?$select=organizationid,_basecurrencyid_value', { Prefer: 'odata.include-annotations="*"' });
		const [org] = orgs.body.value as Array<Record<string, unknown>>;
		assert.equal((orgs.body.value as unknown[]).length, 1);
		assert.equal(org['_basecurrencyid_value@OData.Community.Display.V1.FormattedValue'], 'US Dollar');
		assert.equal(org['_basecurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname'], 'transactioncurrency');
		const usd = await api(`transactioncurrencies(${String(org._basecurrencyid_value)})`);
		assert.deepEqual([usd.body.isocurrencycode, usd.body.currencyname, usd.body.currencysymbol, usd.body.exchangerate, usd.body.statecode], ['USD', 'US Dollar', '$', 1, 0]);
		assert.equal((await api('transactioncurrencies', { 'Content-Type': 'application/json' }, 'POST')).status, 405);
		assert.equal((await api('organizations', { 'Content-Type': 'application/json' }, 'POST')).status, 405);
	});

	test('records in a currency: transactioncurrencyid bound by id; a record with a money value and no currency is in the base currency', async () => {
		const dv = connector();
		const eur = String(((await api("transactioncurrencies?$filter=isocurrencycode eq 'EUR'")).body.value as Array<Record<string, unknown>>)[0].transactioncurrencyid);
		const [inEur, inBase, noMoney] = (
			await dv.create('opportunity', [
				{ ref: 0, fields: { name: 'Euro deal', estimatedvalue: 10, 'transactioncurrencyid@odata.bind': `/transactioncurrencies(${eur})` } },
				{ ref: 1, fields: { name: 'Dollar deal', estimatedvalue: 20 } },
				{ ref: 2, fields: { name: 'No amount' } },
			])
		).map((o) => (o as { id: string }).id);
		const currencyOf = async (id: string) => (await dv.get('opportunity', id))?.fields._transactioncurrencyid_value;
		assert.equal(await currencyOf(inEur), eur);
		assert.equal(await currencyOf(inBase), '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0005');
		assert.equal(await currencyOf(noMoney), undefined);
	});
});
