// The lead-sync template in a real n8n beside contact-sync, account-sync and opportunity-sync, wired
// to all five sandbox CRMs by their own webhooks: a lead created in Salesforce or Zoho appears as a
// lead in the CRMs that have leads, with its person in Pipedrive, and as a contact at lifecycle
// stage lead in HubSpot. A Salesforce lead conversion (SOAP convertLead, as a person does it)
// yields one contact, one account and one opportunity in each CRM: the copies of the lead are
// converted into the records the other templates bring over, and nothing is duplicated.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Connection } from 'jsforce';

import { startSandbox, type Sandbox } from '../../sandbox';
import { REPO_ROOT, waitFor, type N8nInstance } from './harness';
import type { WorkflowJson } from './subscriptions';
import { executionReport as report } from './report';
import { assertCompactTemplate } from './template-shape';
import { startTemplates } from './templates';

const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
type Crm = (typeof CRMS)[number];
type Row = Record<string, unknown>;
type Template = WorkflowJson & { id: string };

const load = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, `workflows/${name}.json`), 'utf8')) as Template;
const template = load('lead-sync');
/** Short waits for the test: the retry loops come back every second. */
function quickRetry(workflow: Template): Template {
	const copy = JSON.parse(JSON.stringify(workflow)) as Template;
	for (const node of copy.nodes) if (node.type === 'n8n-nodes-base.wait') node.parameters = { ...node.parameters, amount: 1 };
	return copy;
}
const templates = [template, load('contact-sync'), load('account-sync'), load('opportunity-sync')].map(quickRetry);

let sandbox: Sandbox;
let n8n: N8nInstance;

const rows = (crm: Crm, type: string): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? [];
/** Not deleted, merged away or archived (each emulator's own marks). */
const live = (row: Row) => !Object.entries(row).some(([key, value]) => /deleted|archived|converted/i.test(key) && value === true);
const mentions = (row: Row, text: string) => JSON.stringify(row).toLowerCase().includes(text.toLowerCase());
const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** Each CRM's live leads (HubSpot: contacts at stage lead) with this e-mail. */
function leads(crm: Crm, email: string): Row[] {
	const type = { salesforce: 'Lead', zoho: 'Leads', dynamics: 'leads', pipedrive: 'leads', hubspot: 'contacts' }[crm];
	return rows(crm, type).filter((r) => {
		if (!live(r)) return false;
		if (crm === 'hubspot') return (r.properties as Row).email === email && (r.properties as Row).lifecyclestage === 'lead';
		// A Pipedrive lead holds no e-mail: its person does.
		if (crm === 'pipedrive') return rows('pipedrive', 'persons').some((p) => String(p.id) === text(r.person_id) && mentions(p, email));
		if (crm === 'dynamics') return r.emailaddress1 === email && r.statecode === 0;
		return r.Email === email;
	});
}

/** Each CRM's live contacts (Pipedrive: persons) with this e-mail. */
function contacts(crm: Crm, email: string): Row[] {
	const type = { salesforce: 'Contact', zoho: 'Contacts', dynamics: 'contacts', pipedrive: 'persons', hubspot: 'contacts' }[crm];
	return rows(crm, type).filter((r) => live(r) && (crm === 'hubspot' ? (r.properties as Row).email === email : crm === 'dynamics' ? r.emailaddress1 === email : crm === 'pipedrive' ? mentions(r, email) : r.Email === email));
}

function accounts(crm: Crm, name: string): Row[] {
	const [type, key] = { hubspot: ['companies', 'name'], salesforce: ['Account', 'Name'], zoho: ['Accounts', 'Account_Name'], dynamics: ['accounts', 'name'], pipedrive: ['organizations', 'name'] }[crm];
	return rows(crm, type).filter((r) => live(r) && (crm === 'hubspot' ? (r.properties as Row)[key] : r[key]) === name);
}

function deals(crm: Crm, name: string): Row[] {
	const [type, key] = { hubspot: ['deals', 'dealname'], salesforce: ['Opportunity', 'Name'], zoho: ['Deals', 'Deal_Name'], dynamics: ['opportunities', 'name'], pipedrive: ['deals', 'title'] }[crm];
	return rows(crm, type).filter((r) => live(r) && (crm === 'hubspot' ? (r.properties as Row)[key] : r[key]) === name);
}

const executionReport = () => report(n8n, sandbox, templates.map((t) => t.id));

async function waitUntil(what: string, done: () => boolean): Promise<void> {
	await waitFor(async () => done(), 90_000).catch(async (error) => {
		throw new Error(`${what}: ${(error as Error).message}\n${await executionReport()}`);
	});
}

async function post(crm: Crm, path: string, body: unknown): Promise<Row> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	const answer = await res.text();
	assert.ok(res.ok, `${crm}: ${res.status} ${answer}`);
	return JSON.parse(answer) as Row;
}

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001, seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	n8n = await startTemplates(sandbox, templates);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template: one expression-free chain from the four CRMs with leads, written to all five', () => {
	assertCompactTemplate(template, 'crm-sync-lead', ['dynamics', 'pipedrive', 'salesforce', 'zoho']);
	for (const node of template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.unifiedCrmUpsert')) assert.equal(node.parameters.entity, 'lead', node.name);
	const writer = template.nodes.find((n) => n.name === 'Write to the other CRMs')!;
	assert.deepEqual([...(writer.parameters.crm as string[])].sort(), [...CRMS].sort(), 'HubSpot is a target (a contact at stage lead)');
});

test('a lead created in Salesforce is a lead in Zoho, Dynamics and Pipedrive (with its person) and a contact at stage lead in HubSpot', async () => {
	const email = 'ada.lead@example.com';
	await post('salesforce', '/__admin/sobjects/Lead', { FirstName: 'Ada', LastName: 'Lead', Email: email, Company: 'Lovelace Engines', Status: 'Open - Not Contacted', LeadSource: 'Web' });
	await waitUntil('the lead in the four others', () => CRMS.every((crm) => leads(crm, email).length === 1));
	assert.equal(leads('zoho', email)[0].Company, 'Lovelace Engines');
	assert.equal(contacts('pipedrive', email).length, 1, 'Pipedrive: one person');
});

test('a lead created in Zoho reaches Salesforce, Dynamics, Pipedrive and HubSpot', async () => {
	const email = 'alan.lead@example.com';
	await post('zoho', '/__admin/ui/crm/v6/Leads', { data: [{ First_Name: 'Alan', Last_Name: 'Lead', Email: email, Company: 'Turing Machines', Lead_Status: 'Not Contacted' }] });
	await waitUntil('the lead in the four others', () => CRMS.every((crm) => leads(crm, email).length === 1));
	assert.equal(leads('salesforce', email)[0].Company, 'Turing Machines');
});

test('a Salesforce lead conversion yields one contact, one account and one opportunity in each CRM, and no duplicates', async () => {
	const email = 'grace.convert@example.com';
	const company = 'Hopper Compilers';
	const created = await post('salesforce', '/__admin/sobjects/Lead', { FirstName: 'Grace', LastName: 'Convert', Email: email, Company: company, Status: 'Working - Contacted' });
	await waitUntil('the lead in the four others', () => CRMS.every((crm) => leads(crm, email).length === 1));

	// A person converts it (a SOAP call that is not this package's: no n8n-crm-sync client name).
	const conn = new Connection({ instanceUrl: sandbox.urls.salesforce, accessToken: 'sandbox-access', version: '62.0' });
	const result = await conn.soap.convertLead({ leadId: String(created.id), convertedStatus: 'Closed - Converted', doNotCreateOpportunity: false, overwriteLeadSource: false, sendNotificationEmail: false });
	assert.equal(result.success, true, JSON.stringify(result));
	const opportunity = rows('salesforce', 'Opportunity').find((r) => r.Id === result.opportunityId)!;

	await waitUntil('one contact, account and deal everywhere, no open lead', () =>
		CRMS.every((crm) => contacts(crm, email).length === 1 && accounts(crm, company).length === 1 && deals(crm, text(opportunity.Name)).length === 1 && leads(crm, email).length === 0),
	);
	for (const crm of CRMS) {
		assert.equal(contacts(crm, email).length, 1, `${crm}: one contact`);
		assert.equal(accounts(crm, company).length, 1, `${crm}: one account`);
		assert.equal(deals(crm, text(opportunity.Name)).length, 1, `${crm}: one opportunity`);
	}
	// What the conversion means in each: Dynamics qualified the lead, Pipedrive archived it on the
	// person, HubSpot's one contact moved on to stage opportunity.
	assert.equal(rows('dynamics', 'leads').find((r) => r.emailaddress1 === email)?.statecode, 1, 'Dynamics: qualified');
	const pdPerson = contacts('pipedrive', email)[0];
	assert.ok(rows('pipedrive', 'leads').some((r) => text(r.person_id) === text(pdPerson.id) && r.is_archived === true), 'Pipedrive: the lead archived on the one person');
	assert.equal((contacts('hubspot', email)[0].properties as Row).lifecyclestage, 'opportunity');
});
