// The opportunity-sync template in a real n8n, wired to all five sandbox CRMs by their own
// webhooks: a deal created in each CRM (as a person in the UI) appears in the other four with its
// name, amount and stage, read from and written to each CRM's own stages: won stays won and an
// open stage stays open. Owners follow by e-mail; deals keep their account (account-sync beside it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { REPO_ROOT, waitFor, type N8nInstance } from './harness';
import type { WorkflowJson } from './subscriptions';
import { executionReport as report } from './report';
import { assertCompactTemplate } from './template-shape';
import { startTemplates } from './templates';
import { addPipedriveAndZohoUser } from './users';

const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
type Crm = (typeof CRMS)[number];
type Row = Record<string, unknown>;

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/opportunity-sync.json'), 'utf8')) as WorkflowJson & { id: string };
// Deals link to accounts that account-sync synced: both run, with the same CRM Sync Settings.
const accountSync = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/account-sync.json'), 'utf8')) as WorkflowJson & { id: string };
const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;

let sandbox: Sandbox;
let n8n: N8nInstance;
/** A user of Pipedrive and of Zoho with one address (neither CRM's API user). */
let owner: { pipedrive: string; zoho: string };

const rows = (crm: Crm, type: string): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? [];

/** A deal as each CRM stores it: name, amount, its stage as the CRM says it, whether the CRM holds it won, and its owner. */
interface StoredDeal {
	name: unknown;
	amount: number;
	stage: string;
	won: boolean;
	owner: string;
}

const num = (v: unknown) => Number(v);
const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? String((v as Row).id ?? '') : String(v));

function deals(crm: Crm): StoredDeal[] {
	switch (crm) {
		case 'hubspot':
			return rows('hubspot', 'deals')
				.filter((r) => !r.archived)
				.map((r) => r.properties as Row)
				.map((p) => ({ name: p.dealname, amount: num(p.amount), stage: text(p.dealstage), won: p.dealstage === 'closedwon', owner: text(p.hubspot_owner_id) }));
		case 'salesforce':
			return rows('salesforce', 'Opportunity')
				.filter((r) => !r.IsDeleted)
				.map((r) => ({ name: r.Name, amount: num(r.Amount), stage: text(r.StageName), won: r.StageName === 'Closed Won', owner: text(r.OwnerId) }));
		case 'zoho':
			return rows('zoho', 'Deals')
				.filter((r) => !r.$deleted)
				.map((r) => ({ name: r.Deal_Name, amount: num(r.Amount), stage: text(r.Stage), won: r.Stage === 'Closed Won', owner: text(r.Owner) }));
		case 'dynamics':
			return rows('dynamics', 'opportunities')
				.filter((r) => !r['@sandbox.deleted'])
				.map((r) => ({ name: r.name, amount: num(r.estimatedvalue), stage: text(r.salesstage), won: r.statecode === 1, owner: text(r._ownerid_value ?? r.ownerid) }));
		case 'pipedrive':
			return rows('pipedrive', 'deals')
				.filter((r) => !r.is_deleted)
				.map((r) => ({ name: r.title, amount: num(r.value), stage: `${text(r.stage_id)}/${text(r.status)}`, won: r.status === 'won', owner: text(r.owner_id) }));
	}
}

const named = (crm: Crm, name: string) => deals(crm).filter((d) => d.name === name);

/**
 * A won deal created by a person in the CRM's UI (its webhook carries no marker of ours). Dynamics
 * closes a deal only through WinOpportunity: it is created open, then won (two changes).
 */
async function createWonInUi(crm: Crm, name: string, amount: number): Promise<void> {
	if (crm === 'dynamics') {
		const res = await fetch(`${sandbox.urls.dynamics}/__admin/ui/api/data/v9.2/opportunities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, estimatedvalue: amount, estimatedclosedate: '2026-12-31' }) });
		assert.ok(res.ok, await res.text());
		const id = /\(([^)]+)\)/.exec(res.headers.get('odata-entityid') ?? '')?.[1];
		assert.ok(id, 'the created deal\'s id (OData-EntityId)');
		await post('dynamics', '/__admin/ui/api/data/v9.2/WinOpportunity', { Status: 3, OpportunityClose: { subject: `Won: ${name}`, 'opportunityid@odata.bind': `/opportunities(${id})` } });
		return;
	}
	const requests: Record<Exclude<Crm, 'dynamics'>, [string, unknown]> = {
		hubspot: ['/__admin/objects/deals', { properties: { dealname: name, amount: String(amount), dealstage: 'closedwon', pipeline: 'default', closedate: '2026-12-31' } }],
		salesforce: ['/__admin/sobjects/Opportunity', { Name: name, Amount: amount, StageName: 'Closed Won', CloseDate: '2026-12-31' }],
		zoho: ['/__admin/ui/crm/v6/Deals', { data: [{ Deal_Name: name, Amount: amount, Stage: 'Closed Won', Closing_Date: '2026-12-31' }] }],
		pipedrive: ['/__admin/ui/api/v2/deals', { title: name, value: amount, status: 'won', stage_id: 4, expected_close_date: '2026-12-31' }],
	};
	await post(crm, ...requests[crm]);
}

async function post(crm: Crm, path: string, body: unknown): Promise<void> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${crm}: ${res.status} ${await res.text()}`);
}

const executionReport = () => report(n8n, sandbox, [template.id, accountSync.id]);

async function waitInTargets(source: Crm, name: string, done: (crm: Crm) => boolean): Promise<void> {
	const targets = CRMS.filter((crm) => crm !== source);
	await waitFor(async () => targets.every(done), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: ${targets.map((crm) => `${crm} ${JSON.stringify(named(crm, name))}`).join('; ')}\n${await executionReport()}`);
	});
}

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001, seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	// Before any sync reads the CRMs' users (they are cached for 10 minutes).
	owner = await addPipedriveAndZohoUser(sandbox, 'ada.owner@example.com');
	n8n = await startTemplates(sandbox, [template, accountSync]);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template: one expression-free chain for all five CRMs, every CRM read with its credential', () => {
	assertCompactTemplate(template, 'crm-sync-opportunity');
	assert.deepEqual([...(trigger.parameters.fetchRecords as string[])].sort(), [...CRMS].sort(), 'the trigger reads each CRM (records, stages, users)');
	for (const node of template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.unifiedCrmUpsert')) assert.equal(node.parameters.entity, 'opportunity', node.name);
});

for (const source of CRMS) {
	test(`a won deal created in ${source} appears won, with its amount, in the other four${source === 'dynamics' ? ' (created open, then closed as won)' : ''}`, async () => {
		const name = `Won in ${source}`;
		await createWonInUi(source, name, 4200);
		await waitInTargets(source, name, (crm) => named(crm, name).length > 0);
		for (const crm of CRMS.filter((c) => c !== source)) {
			const found = named(crm, name);
			assert.equal(found.length, 1, `${crm}: one deal`);
			assert.equal(found[0].amount, 4200, `${crm}: amount`);
			assert.equal(found[0].won, true, `${crm}: won (stage ${found[0].stage})`);
		}
	});
}

test('an open deal moved to negotiation in HubSpot is at the negotiation stage of each CRM, never won or lost', async () => {
	const name = 'Negotiating in HubSpot';
	await post('hubspot', '/__admin/objects/deals', { properties: { dealname: name, amount: '900', dealstage: 'contractsent', pipeline: 'default', closedate: '2027-01-31' } });
	const negotiation: Record<Exclude<Crm, 'hubspot'>, string> = { salesforce: 'Negotiation/Review', zoho: 'Negotiation/Review', dynamics: '3', pipedrive: '5/open' };
	await waitInTargets('hubspot', name, (crm) => crm === 'hubspot' || named(crm, name)[0]?.stage === negotiation[crm as Exclude<Crm, 'hubspot'>]);
	for (const crm of CRMS.filter((c) => c !== 'hubspot')) assert.equal(named(crm, name).length, 1, `${crm}: one deal`);
});

test("a deal's owner follows by e-mail: a Pipedrive user owns it in Zoho as the Zoho user with the same address", async () => {
	const name = 'Owned in Pipedrive';
	await post('pipedrive', '/__admin/ui/api/v2/deals', { title: name, value: 50, stage_id: 2, owner_id: Number(owner.pipedrive), expected_close_date: '2027-02-28' });
	await waitInTargets('pipedrive', name, (crm) => named(crm, name).length > 0);
	assert.equal(named('zoho', name)[0].owner, owner.zoho, "not Zoho's API user: the user with the Pipedrive owner's address");
});

test("the CRMs' reports of the sync's own writes start no execution (echoes are recognised with the stages and owners)", async () => {
	// People made eight changes before this test (seven deals, the Dynamics one created, then won); every other delivery reported one of our writes.
	await new Promise((r) => setTimeout(r, 3_000));
	const list = await n8n.api<{ data: Array<{ id: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=100`);
	assert.equal(list.data.length, 8, await executionReport());
});

/** Each CRM's id of the live account called `name`. */
function accountId(crm: Crm, name: string): string | undefined {
	const [type, nameKey] = { hubspot: ['companies', 'name'], salesforce: ['Account', 'Name'], zoho: ['Accounts', 'Account_Name'], dynamics: ['accounts', 'name'], pipedrive: ['organizations', 'name'] }[crm];
	const row = rows(crm, type).find((r) => (crm === 'hubspot' ? (r.properties as Row).name : r[nameKey]) === name);
	return row ? text(crm === 'salesforce' ? row.Id : crm === 'dynamics' ? row.accountid : row.id) : undefined;
}

/** The account a CRM's deal is linked to (HubSpot: none in its deal fields). */
function dealAccount(crm: Exclude<Crm, 'hubspot'>, name: string): string {
	const field = { salesforce: ['Opportunity', 'Name', 'AccountId'], zoho: ['Deals', 'Deal_Name', 'Account_Name'], dynamics: ['opportunities', 'name', '_customerid_value'], pipedrive: ['deals', 'title', 'org_id'] }[crm];
	const row = rows(crm, field[0]).find((r) => r[field[1]] === name);
	return text(row?.[field[2]]);
}

test("a deal keeps its account in every CRM with an account field: each target's own record of that account", async () => {
	const company = 'Initech Corporation';
	const res = await fetch(`${sandbox.urls.salesforce}/__admin/sobjects/Account`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Name: company, Website: 'https://initech.example' }) });
	const account = (await res.json()) as { id: string };
	await waitFor(async () => CRMS.every((crm) => accountId(crm, company) !== undefined), 60_000).catch(async (error) => {
		throw new Error(`account-sync: ${(error as Error).message}\n${await executionReport()}`);
	});
	const name = 'Initech renewal';
	await post('salesforce', '/__admin/sobjects/Opportunity', { Name: name, Amount: 12000, StageName: 'Proposal/Price Quote', CloseDate: '2027-03-31', AccountId: account.id });
	const linked = ['pipedrive', 'zoho', 'dynamics'] as const;
	await waitInTargets('salesforce', name, (crm) => crm === 'hubspot' ? named(crm, name).length > 0 : dealAccount(crm as (typeof linked)[number], name) !== '');
	for (const crm of linked) assert.equal(dealAccount(crm, name), accountId(crm, company), `${crm}: the deal's account is ${crm}'s record of ${company}`);
	assert.equal(named('hubspot', name).length, 1, 'HubSpot has the deal (its company link is an association, not a deal field)');
});

test('a deal deleted in Pipedrive is deleted in the other four', async () => {
	const name = 'Won in pipedrive';
	const deal = rows('pipedrive', 'deals').find((r) => r.title === name && !r.is_deleted);
	assert.ok(deal, 'the deal of the earlier test');
	const res = await fetch(`${sandbox.urls.pipedrive}/__admin/ui/api/v2/deals/${text(deal.id)}`, { method: 'DELETE' });
	assert.ok(res.ok, await res.text());
	await waitInTargets('pipedrive', name, (crm) => named(crm, name).length === 0);
});
