// PipedriveConnector metadata reads against sandbox/pipedrive: listStages (pipelines and stages,
// all open: won/lost is the deal's status), listUsers, findAccountsByDomain, findAccountsByName.
// Expected values are what each test created through the API (or what a new company has).

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { PipedriveConnector } from '../../../../lib/crms/pipedrive/connector';
import { PD_STAGE } from '../../../../lib/crms/pipedrive/map';
import type { CrmRecord } from '../../../../lib/connectors/types';

/* eslint-disable @typescript-eslint/no-explicit-any -- sandbox JSON answers */

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let tokenSeq = 0;

function connector(): PipedriveConnector {
	return new PipedriveConnector({ apiToken: `metadata-token-${++tokenSeq}`, baseUrl: url }, { retry: { baseDelayMs: 20 } });
}

/** One API call as a client would make it; fails the test on an unexpected status. */
async function api(method: string, path: string, body?: unknown, expected = [200, 201]): Promise<any> {
	const res = await fetch(`${url}${path}`, {
		method,
		headers: { 'x-api-token': 'seeding-token', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const json = (await res.json()) as any;
	assert.ok(expected.includes(res.status), `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
	return json;
}

async function organization(name: string, website?: string | null): Promise<string> {
	return String((await api('POST', '/api/v2/organizations', { name, ...(website !== undefined ? { website } : {}) })).data.id);
}

const ids = (records: CrmRecord[]): string[] => records.map((r) => r.id);
const apiCalls = (path: string): number => emulator.requests().filter((r) => r.path === path).length;

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

describe('Pipedrive listStages', () => {
	test('a new company: pipeline "Pipeline" with five open stages at 100 %, the ids the default map assumes', async () => {
		const stages = await connector().listStages();
		const names = ['Qualified', 'Contact Made', 'Demo Scheduled', 'Proposal Made', 'Negotiations Started'];
		assert.deepEqual(
			stages,
			names.map((label, i) => ({ id: String(i + 1), label, pipelineId: '1', pipelineLabel: 'Pipeline', outcome: 'open', probability: 100, order: i })),
		);
		// PD_STAGE's open values are stage ids of this pipeline; won and lost are statuses, not stages.
		for (const unified of ['qualification', 'prospecting', 'needsAnalysis', 'proposal', 'negotiation']) {
			const id = String(PD_STAGE.write.get(unified));
			assert.ok(stages.some((s) => s.id === id), `PD_STAGE ${unified} → ${id} is a stage`);
		}
		assert.equal(stages.filter((s) => s.outcome !== 'open').length, 0, 'Pipedrive has no won/lost stage');
	});

	test('a second pipeline: its own stages in order_nr order with their probabilities; a deal there holds a listed stage id', async () => {
		const partners = (await api('POST', '/api/v2/pipelines', { name: 'Partners' })).data;
		const intro = (await api('POST', '/api/v2/stages', { name: 'Intro', pipeline_id: partners.id, deal_probability: 20 })).data;
		// A stage added to the default pipeline in between: ids interleave across pipelines.
		const contract = (await api('POST', '/api/v2/stages', { name: 'Contract Sent', pipeline_id: 1, deal_probability: 90 })).data;
		const pilot = (await api('POST', '/api/v2/stages', { name: 'Pilot', pipeline_id: partners.id, deal_probability: 60 })).data;
		const signed = (await api('POST', '/api/v2/stages', { name: 'Signed', pipeline_id: partners.id })).data;

		const stages = await connector().listStages();
		const of = (pipelineId: string) => stages.filter((s) => s.pipelineId === pipelineId);
		assert.equal(of('1').length, 6);
		assert.deepEqual(of('1')[5], { id: String(contract.id), label: 'Contract Sent', pipelineId: '1', pipelineLabel: 'Pipeline', outcome: 'open', probability: 90, order: 5 });
		assert.deepEqual(of(String(partners.id)), [
			{ id: String(intro.id), label: 'Intro', pipelineId: String(partners.id), pipelineLabel: 'Partners', outcome: 'open', probability: 20, order: 0 },
			{ id: String(pilot.id), label: 'Pilot', pipelineId: String(partners.id), pipelineLabel: 'Partners', outcome: 'open', probability: 60, order: 1 },
			// No deal_probability given: Pipedrive's default 100 (v2-create-stage-recorded.json).
			{ id: String(signed.id), label: 'Signed', pipelineId: String(partners.id), pipelineLabel: 'Partners', outcome: 'open', probability: 100, order: 2 },
		]);
		// The default pipeline comes first (the stage mapping's default pipeline).
		assert.equal(stages[0].pipelineId, '1');

		const deal = (await api('POST', '/api/v2/deals', { title: 'Partner deal', pipeline_id: partners.id, stage_id: pilot.id })).data;
		const read = await connector().get('opportunity', String(deal.id));
		const stage = stages.find((s) => s.id === String(read!.fields.stage_id));
		assert.equal(stage?.label, 'Pilot');
		assert.equal(stage?.pipelineId, String(read!.fields.pipeline_id));
	});

	test('a pipeline without deal probabilities: its stages carry none', async () => {
		const pipeline = (await api('POST', '/api/v2/pipelines', { name: 'Renewals', is_deal_probability_enabled: false })).data;
		const stage = (await api('POST', '/api/v2/stages', { name: 'Due', pipeline_id: pipeline.id, deal_probability: 50 })).data;
		const stages = await connector().listStages();
		assert.deepEqual(
			stages.find((s) => s.id === String(stage.id)),
			{ id: String(stage.id), label: 'Due', pipelineId: String(pipeline.id), pipelineLabel: 'Renewals', outcome: 'open', order: 0 },
		);
		assert.equal(stages.find((s) => s.id === '1')?.probability, 100);
	});

	test('more stages than one page (500): next_cursor is followed', async () => {
		const pipeline = (await api('POST', '/api/v2/pipelines', { name: 'Long' })).data;
		for (let i = 0; i < 500; i++) await api('POST', '/api/v2/stages', { name: `Step ${i}`, pipeline_id: pipeline.id, deal_probability: i % 101 });
		const before = apiCalls('/api/v2/stages');
		const stages = await connector().listStages();
		assert.equal(apiCalls('/api/v2/stages') - before, 2, 'two pages of stages');
		const long = stages.filter((s) => s.pipelineId === String(pipeline.id));
		assert.equal(long.length, 500);
		assert.deepEqual(long[499], { id: String(5 + 500), label: 'Step 499', pipelineId: String(pipeline.id), pipelineLabel: 'Long', outcome: 'open', probability: 499 % 101, order: 499 });
		assert.equal(stages.length, 505);
	});
});

describe('Pipedrive listUsers', () => {
	test("a new company's users, and an added inactive user with a mixed-case address, lower-cased", async () => {
		const added = (await api('POST', '/v1/users', { email: 'Jane.Doe@Example.COM', active_flag: false })).data;
		const users = await connector().listUsers();
		assert.deepEqual(users.slice(0, 2), [
			{ id: '1', email: 'sandbox.user@example.com', name: 'Sandbox User', active: true },
			{ id: '2', email: 'sandbox.colleague@example.com', name: 'Sandbox Colleague', active: true },
		]);
		assert.equal(users.length, 3);
		assert.deepEqual({ ...users[2], name: undefined }, { id: String(added.id), email: 'jane.doe@example.com', name: undefined, active: false });
		// The id is what a record's owner field holds.
		const org = await organization('Owned Org');
		await api('PATCH', `/api/v2/organizations/${org}`, { owner_id: added.id });
		const read = await connector().get('account', org);
		assert.equal(String(read!.fields.owner_id), String(added.id));
	});
});

describe('Pipedrive findAccountsByDomain', () => {
	test('a website stored as a URL, bare, or upper-case matches its host; acme.co does not match acme.com', async () => {
		const url1 = await organization('Acme Inc.', 'https://www.acme.com/about');
		const bare = await organization('Acme Europe', 'acme.com');
		const upper = await organization('ACME Holdings', 'ACME.COM');
		await organization('Acme Look-alike', 'https://acme.com.example.net');
		await organization('Globex', 'http://globex.io');
		await organization('No Website');
		const c = connector();
		const found = await c.findAccountsByDomain(['acme.com']);
		assert.deepEqual(ids(found), [url1, bare, upper]);
		assert.equal(found[0].fields.website, 'https://www.acme.com/about');
		assert.equal(found[0].fields.name, 'Acme Inc.');
		assert.ok(found[0].modifiedAt && !Number.isNaN(Date.parse(found[0].modifiedAt)));
		assert.deepEqual(await c.findAccountsByDomain(['acme.co']), []);
		// The caller's domain is normalised too.
		assert.deepEqual(ids(await c.findAccountsByDomain(['HTTPS://WWW.ACME.COM/'])), [url1, bare, upper]);
		assert.deepEqual(await c.findAccountsByDomain(['', 'not a domain']), []);
	});

	test('several domains in one call share one listing request; deleted organizations are left out', async () => {
		const acme = await organization('Acme Inc.', 'https://www.acme.com/about');
		const globex = await organization('Globex', 'http://globex.io/');
		const gone = await organization('Initech', 'initech.com');
		await organization('Other', 'other.org');
		await api('DELETE', `/api/v2/organizations/${gone}`);
		const before = apiCalls('/api/v2/organizations');
		const found = await connector().findAccountsByDomain(['acme.com', 'globex.io', 'initech.com', 'nothing.example']);
		assert.deepEqual(ids(found), [acme, globex]);
		assert.equal(apiCalls('/api/v2/organizations') - before, 1);
		assert.equal(apiCalls('/api/v2/organizations/search'), 0);
	});

	test('a company with more organizations than the listing bound: listed pages, then a name search for the rest', async () => {
		// Within the listed pages: found by its website although its name lacks "acme".
		const early = await organization('Wile E. Coyote Supplies', 'https://acme.com/shop');
		emulator.seed({ contacts: 0, companies: 1100, deals: 0, activities: 0, leads: 0 });
		const late = await organization('Acme Inc.', 'https://www.acme.com/about');
		const lateUk = await organization('ACME UK', 'acme.co.uk');
		await organization('Acme Rockets', 'acmerockets.com');
		const c = connector();
		const before = { list: apiCalls('/api/v2/organizations'), search: apiCalls('/api/v2/organizations/search') };
		assert.deepEqual(ids(await c.findAccountsByDomain(['acme.com'])), [early, late]);
		// 2 list pages of 500 (the bound for one domain), 1 search for "acme", 1 read of the hits by ids.
		assert.equal(apiCalls('/api/v2/organizations') - before.list, 3);
		assert.equal(apiCalls('/api/v2/organizations/search') - before.search, 1);
		// Two domains allow four pages: 1,104 organizations fit, so the listing alone answers.
		assert.deepEqual(ids(await c.findAccountsByDomain(['acme.com', 'acme.co.uk'])), [early, late, lateUk]);
		assert.equal(apiCalls('/api/v2/organizations') - before.list, 6);
		assert.equal(apiCalls('/api/v2/organizations/search') - before.search, 1);
	});
});

describe('Pipedrive findAccountsByName', () => {
	test('legal forms, case and punctuation do not matter; other names sharing the word do', async () => {
		const inc = await organization('Acme Inc.');
		const upper = await organization('ACME');
		const corp = await organization('The Acme Corporation');
		await organization('Acme Rockets');
		await organization('Acmeco');
		const c = connector();
		assert.deepEqual(ids(await c.findAccountsByName(['acme'])), [inc, upper, corp]);
		const found = await c.findAccountsByName(['Acme Inc.']);
		assert.deepEqual(ids(found), [inc, upper, corp]);
		assert.equal(found[0].fields.name, 'Acme Inc.');
		assert.ok(found[0].modifiedAt);
		assert.deepEqual(await c.findAccountsByName(['Acme Widgets']), []);
		assert.deepEqual(await c.findAccountsByName(['  ', 'Inc.']).then(ids), []);
	});

	test('a name with accents finds the accented and the plain spelling; several names in one call', async () => {
		const accented = await organization('Société Générale SA');
		const plain = await organization('Societe Generale');
		const muller = await organization('Müller & Söhne GmbH');
		const acme = await organization('Acme, Inc');
		await organization('Société Anonyme Belge');
		const c = connector();
		assert.deepEqual(ids(await c.findAccountsByName(['Société Générale'])), [accented, plain]);
		assert.deepEqual(ids(await c.findAccountsByName(['Müller & Söhne', 'ACME'])), [muller, acme]);
		// Deleted organizations are not found.
		await api('DELETE', `/api/v2/organizations/${plain}`);
		assert.deepEqual(ids(await c.findAccountsByName(['société générale'])), [accented]);
	});
});

describe('Pipedrive sandbox: pipelines, stages and users endpoints', () => {
	test('errors in the Pipedrive envelope; reset restores the new company; UI admin route adds users', async () => {
		const unknownPipeline = await api('POST', '/api/v2/stages', { name: 'X', pipeline_id: 99 }, [400]);
		assert.deepEqual([unknownPipeline.success, unknownPipeline.data], [false, null]);
		assert.match(unknownPipeline.error, /Pipeline with id 99 not found/);
		assert.match((await api('POST', '/api/v2/stages', { name: 'X', pipeline_id: 1, deal_probability: 101 }, [400])).error, /deal_probability/);
		assert.match((await api('POST', '/api/v2/pipelines', { name: 'X', color: 'red' }, [400])).error, /color: Unrecognized key/);
		assert.match((await api('GET', '/api/v2/stages/999', undefined, [404])).error, /Stage not found/);
		assert.match((await api('POST', '/v1/users', { email: 'SANDBOX.USER@example.com' }, [400])).error, /already exists/);
		assert.match((await api('GET', '/api/v2/organizations?ids=' + Array.from({ length: 101 }, (_, i) => i + 1).join(','), undefined, [400])).error, /ids/);
		const page = await api('GET', '/api/v2/stages?limit=2&pipeline_id=1');
		assert.deepEqual(page.data.map((s: any) => s.id), [1, 2]);
		assert.equal(typeof page.additional_data.next_cursor, 'string');
		const res = await fetch(`${url}/__admin/ui/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@example.com' }) });
		assert.equal(res.status, 200);
		assert.equal((await api('GET', '/api/v1/users')).data.length, 3);
		assert.equal((await api('GET', '/v1/users/me')).data.email, 'sandbox.user@example.com');
		emulator.reset();
		assert.equal((await api('GET', '/api/v1/users')).data.length, 2);
		assert.equal((await api('GET', '/api/v2/stages')).data.length, 5);
		assert.equal((await api('GET', '/api/v2/pipelines')).data.length, 1);
	});
});
