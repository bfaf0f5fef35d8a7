// HubSpot connector metadata and account lookups (issue 21): listStages, listUsers,
// findAccountsByDomain and findAccountsByName through the real @hubspot/api-client against the
// sandbox. Every expected value comes from what the test seeded (or the new-portal defaults).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Client } from '@hubspot/api-client';
import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { create, type HubSpotConnector } from '../../../../lib/crms/hubspot/connector';

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

beforeEach(() => hubspot.reset());

function connector(): HubSpotConnector {
	return create({ accessToken: `pat-meta-${++tokenSeq}`, baseUrl: url }, { retry: { baseDelayMs: 20, maxDelayMs: 500 } });
}

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
	const response = await fetch(`${url}/__admin/${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
	assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
	return (await response.json()) as T;
}

/** A company as a HubSpot user would type it in (admin = the UI); returns its id. */
async function company(properties: Record<string, string>): Promise<string> {
	return (await admin<{ id: string }>('POST', 'objects/companies', { properties })).id;
}

function searches(): number {
	return hubspot.requests().filter((r) => r.path === '/crm/v3/objects/companies/search').length;
}

const sorted = (ids: string[]) => [...ids].sort();

describe('HubSpot listStages (Pipelines API)', () => {
	test('a new portal: the default sales pipeline, won and lost told apart from the open stages, probability in percent, in order', async () => {
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.map((s) => [s.id, s.outcome, s.probability, s.order]),
			[
				['appointmentscheduled', 'open', 20, 0],
				['qualifiedtobuy', 'open', 40, 1],
				['presentationscheduled', 'open', 60, 2],
				['decisionmakerboughtin', 'open', 80, 3],
				['contractsent', 'open', 90, 4],
				['closedwon', 'won', 100, 5],
				['closedlost', 'lost', 0, 6],
			],
		);
		assert.ok(stages.every((s) => s.pipelineId === 'default' && s.pipelineLabel === 'Sales Pipeline'));
		assert.equal(stages.find((s) => s.id === 'decisionmakerboughtin')?.label, 'Decision Maker Bought-In');
	});

	test('a second pipeline: its own stage ids (what a deal\'s dealstage holds), ordered by displayOrder; an open stage at 0 % is not lost', async () => {
		const sdk = new Client({ accessToken: 'pat-admin', basePath: url, numberOfApiCallRetries: 0 });
		// Stages given out of display order on purpose.
		const created = await sdk.crm.pipelines.pipelinesApi.create('deals', {
			label: 'Renewals',
			displayOrder: 1,
			stages: [
				{ label: 'Renewal lost', displayOrder: 3, metadata: { isClosed: 'true', probability: '0.0' } },
				{ label: 'Up for renewal', displayOrder: 0, metadata: { isClosed: 'false', probability: '0.0' } },
				{ label: 'Renewed', displayOrder: 2, metadata: { isClosed: 'true', probability: '1.0' } },
				{ label: 'Quote sent', displayOrder: 1, metadata: { isClosed: 'false', probability: '0.75' } },
			],
		});
		const idOf = (label: string) => created.stages.find((s) => s.label === label)!.id;
		const c = connector();
		const stages = await c.listStages();
		assert.equal(stages.length, 11);
		const renewals = stages.filter((s) => s.pipelineId === created.id);
		assert.deepEqual(
			renewals.map((s) => [s.id, s.label, s.pipelineLabel, s.outcome, s.probability, s.order]),
			[
				[idOf('Up for renewal'), 'Up for renewal', 'Renewals', 'open', 0, 0],
				[idOf('Quote sent'), 'Quote sent', 'Renewals', 'open', 75, 1],
				[idOf('Renewed'), 'Renewed', 'Renewals', 'won', 100, 2],
				[idOf('Renewal lost'), 'Renewal lost', 'Renewals', 'lost', 0, 3],
			],
		);
		// The default pipeline (displayOrder 0) comes first.
		assert.equal(stages[0].pipelineId, 'default');

		// A deal in the new pipeline holds exactly the listed id in dealstage.
		const [outcome] = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Renewal 2027', pipeline: created.id, dealstage: idOf('Renewed') } }]);
		assert.equal(outcome.status, 'created', JSON.stringify(outcome));
		const deal = await c.get('opportunity', (outcome as { id: string }).id);
		assert.equal(stages.find((s) => s.id === deal?.fields.dealstage)?.outcome, 'won');
	});
});

describe('HubSpot listUsers (Owners API)', () => {
	test('the portal\'s API user, added users with lower-cased e-mails and names, a deactivated user as inactive', async () => {
		const maria = await admin<{ id: string }>('POST', 'owners', { email: 'Maria.Garcia@Example.COM', firstName: 'María', lastName: 'García' });
		const former = await admin<{ id: string }>('POST', 'owners', { email: 'former.rep@example.com', firstName: 'Former', lastName: 'Rep', archived: true });
		const users = await connector().listUsers();
		assert.deepEqual(
			[...users].sort((a, b) => a.id.localeCompare(b.id)),
			[
				{ id: '41556981', email: 'sandbox-user@example.com', name: 'Sandbox User', active: true },
				{ id: maria.id, email: 'maria.garcia@example.com', name: 'María García', active: true },
				{ id: former.id, email: 'former.rep@example.com', name: 'Former Rep', active: false },
			].sort((a, b) => a.id.localeCompare(b.id)),
		);
	});

	test('pages past the 500-owner page', async () => {
		const ids = new Set(['41556981']);
		for (let i = 0; i < 520; i++) ids.add((await admin<{ id: string }>('POST', 'owners', { email: `rep${i}@example.com`, firstName: 'Rep', lastName: String(i) })).id);
		const users = await connector().listUsers();
		assert.equal(users.length, 521);
		assert.deepEqual(new Set(users.map((u) => u.id)), ids);
		assert.equal(users.find((u) => u.email === 'rep519@example.com')?.name, 'Rep 519');
		assert.equal(hubspot.requests().filter((r) => r.path.startsWith('/crm/v3/owners')).length, 3, 'two active pages and one archived page');
	});
});

describe('HubSpot findAccountsByDomain (companies search on domain and website)', () => {
	test('the website as a URL, bare, upper-case, or only the domain property: all found; look-alike hosts are not', async () => {
		const url1 = await company({ name: 'Acme (about page)', website: 'https://www.acme.com/about' });
		const bare = await company({ name: 'Acme bare', website: 'acme.com' });
		const upper = await company({ name: 'Acme upper', website: 'ACME.COM' });
		const domainOnly = await company({ name: 'Acme by domain', domain: 'acme.com' });
		await company({ name: 'Not Acme', website: 'https://notacme.com' });
		await company({ name: 'Acme Australia', website: 'http://acme.com.au' });
		await company({ name: 'Acme shop', website: 'https://shop.acme.com' });
		const found = await connector().findAccountsByDomain(['acme.com']);
		assert.deepEqual(sorted(found.map((r) => r.id)), sorted([url1, bare, upper, domainOnly]));
		const aboutPage = found.find((r) => r.id === url1)!;
		assert.equal(aboutPage.fields.name, 'Acme (about page)');
		assert.equal(aboutPage.fields.website, 'https://www.acme.com/about');
		assert.ok(aboutPage.modifiedAt && !Number.isNaN(Date.parse(aboutPage.modifiedAt)));
	});

	test('acme.co finds none of the acme.com companies', async () => {
		await company({ name: 'Acme', website: 'https://www.acme.com/about' });
		await company({ name: 'Acme 2', domain: 'acme.com' });
		assert.deepEqual(await connector().findAccountsByDomain(['acme.co']), []);
	});

	test('several domains in one call, in as few searches as the filter groups allow', async () => {
		const acme = await company({ name: 'Acme', website: 'https://www.acme.com/about' });
		const globex = await company({ name: 'Globex', domain: 'globex.com' });
		const initech = await company({ name: 'Initech', website: 'http://initech.io' });
		const umbrella = await company({ name: 'Umbrella', website: 'UMBRELLA.ORG' });
		const stark = await company({ name: 'Stark', domain: 'www.stark.com' });
		await company({ name: 'Hooli', website: 'hooli.com' });
		const before = searches();
		const found = await connector().findAccountsByDomain(['acme.com', 'globex.com', 'https://initech.io/', 'umbrella.org', 'Stark.com']);
		assert.deepEqual(sorted(found.map((r) => r.id)), sorted([acme, globex, initech, umbrella, stark]));
		// 5 filter groups per search: one domain IN group plus 4 website groups, so 5 domains take 2.
		assert.equal(searches() - before, 2);
	});

	test('nothing to search for: no request', async () => {
		const before = searches();
		assert.deepEqual(await connector().findAccountsByDomain(['', 'not a domain']), []);
		assert.equal(searches(), before);
	});
});

describe('HubSpot findAccountsByName (companies search on name)', () => {
	test('"Acme Inc." and "acme" are the same company; other Acme companies are not', async () => {
		const inc = await company({ name: 'Acme Inc.' });
		const plain = await company({ name: 'ACME' });
		const corp = await company({ name: 'The Acme Corporation' });
		await company({ name: 'Acme Widgets' });
		await company({ name: 'Acmeco' });
		assert.deepEqual(sorted((await connector().findAccountsByName(['acme'])).map((r) => r.id)), sorted([inc, plain, corp]));
		assert.deepEqual(sorted((await connector().findAccountsByName(['Acme Inc.'])).map((r) => r.id)), sorted([inc, plain, corp]));
	});

	test('a name with accents: found as written and without its accents', async () => {
		const accented = await company({ name: 'Société Générale S.A.' });
		const folded = await company({ name: 'Societe Generale' });
		const nestle = await company({ name: 'Nestle' });
		await company({ name: 'Société Anonyme de Test' });
		// As written (HubSpot's tokens keep the accents) and folded (the other CRM dropped them).
		const found = await connector().findAccountsByName(['SOCIÉTÉ GÉNÉRALE', 'Nestlé SA']);
		assert.deepEqual(sorted(found.map((r) => r.id)), sorted([accented, folded, nestle]));
	});

	test('no company of that name: empty', async () => {
		await company({ name: 'Acme Inc.' });
		assert.deepEqual(await connector().findAccountsByName(['Globex']), []);
	});
});

describe('HubSpot sandbox: the Pipelines and Owners API on the wire', () => {
	async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
		const response = await fetch(`${url}${path}`, { method, headers: { authorization: 'Bearer pat-wire', 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
		return { status: response.status, json: response.status === 204 ? undefined : await response.json() };
	}

	test('pipelines: metadata values are strings, unknown pipeline 404, a pipeline-less object 400, deal stages need a probability', async () => {
		const list = await api('GET', '/crm/v3/pipelines/deals');
		assert.equal(list.status, 200);
		assert.deepEqual(Object.keys(list.json), ['results']);
		const won = list.json.results[0].stages.find((s: { id: string }) => s.id === 'closedwon');
		assert.deepEqual(won.metadata, { isClosed: 'true', probability: '1.0' });
		assert.equal(typeof won.displayOrder, 'number');
		assert.equal((await api('GET', '/crm/v3/pipelines/deals/default/stages')).json.results.length, 7);
		const missing = await api('GET', '/crm/v3/pipelines/deals/424242');
		assert.equal(missing.status, 404);
		assert.equal(missing.json.category, 'OBJECT_NOT_FOUND');
		assert.equal(missing.json.status, 'error');
		assert.equal((await api('GET', '/crm/v3/pipelines/contacts')).status, 400);
		const noProbability = await api('POST', '/crm/v3/pipelines/deals', { label: 'X', displayOrder: 2, stages: [{ label: 'A', displayOrder: 0, metadata: {} }] });
		assert.equal(noProbability.status, 400);
		assert.equal(noProbability.json.category, 'VALIDATION_ERROR');
	});

	test('a created pipeline\'s stages become valid deal stages; unknown stages stay invalid; reset drops the pipeline', async () => {
		const created = await api('POST', '/crm/v3/pipelines/deals', { label: 'Partners', displayOrder: 1, stages: [{ label: 'Signed', displayOrder: 0, metadata: { isClosed: true, probability: 1 } }] });
		assert.equal(created.status, 201);
		const stageId = created.json.stages[0].id;
		assert.match(stageId, /^\d+$/);
		assert.deepEqual(created.json.stages[0].metadata, { isClosed: 'true', probability: '1' });
		assert.equal((await api('POST', '/crm/v3/objects/deals', { properties: { dealname: 'P', pipeline: created.json.id, dealstage: stageId } })).status, 201);
		const bad = await api('POST', '/crm/v3/objects/deals', { properties: { dealname: 'Q', dealstage: 'nosuchstage' } });
		assert.equal(bad.status, 400);
		assert.equal(bad.json.errors[0].code, 'INVALID_OPTION');
		hubspot.reset();
		assert.equal((await api('GET', '/crm/v3/pipelines/deals')).json.results.length, 1);
		assert.equal((await api('GET', `/crm/v3/pipelines/deals/${created.json.id}`)).status, 404);
	});

	test('owners: paging.next {after, link} until the last page, which has no paging; archived=true lists the archived ones; by id', async () => {
		for (let i = 0; i < 2; i++) await admin('POST', 'owners', { email: `o${i}@example.com`, firstName: 'O', lastName: String(i) });
		const gone = await admin<{ id: string }>('POST', 'owners', { email: 'gone@example.com', archived: true });
		const first = await api('GET', '/crm/v3/owners/?limit=2&archived=false');
		assert.equal(first.status, 200);
		assert.equal(first.json.results.length, 2);
		assert.equal(typeof first.json.paging.next.after, 'string');
		assert.ok(first.json.paging.next.link.includes(`after=${first.json.paging.next.after}`));
		const last = await api('GET', `/crm/v3/owners/?limit=2&after=${first.json.paging.next.after}`);
		assert.deepEqual(last.json.results.map((o: { email: string }) => o.email), ['o1@example.com']);
		assert.equal('paging' in last.json, false);
		const archived = await api('GET', '/crm/v3/owners/?archived=true');
		assert.deepEqual(archived.json.results.map((o: { id: string; archived: boolean }) => [o.id, o.archived]), [[gone.id, true]]);
		const byId = await api('GET', '/crm/v3/owners/41556981');
		assert.equal(byId.json.email, 'sandbox-user@example.com');
		assert.equal(byId.json.userId, 45678);
		assert.equal((await api('GET', '/crm/v3/owners/?limit=501')).status, 400);
	});
});
