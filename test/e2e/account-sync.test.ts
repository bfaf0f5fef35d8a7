// The account-sync template in a real n8n, wired to all five sandbox CRMs by their own webhooks:
// a company created in each CRM (as a person in the UI) appears, mapped, in the other four; a
// company a target already has (same website domain, written differently) is updated there, not
// created twice.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { normaliseDomain } from '../../lib/matching/normalise-domain';
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

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/account-sync.json'), 'utf8')) as WorkflowJson & { id: string };
// Contacts link to the accounts this template syncs: contact-sync runs beside it.
const contactSync = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as WorkflowJson & { id: string };

let sandbox: Sandbox;
let n8n: N8nInstance;
/** A user of Pipedrive and of Zoho with one address (neither CRM's API user). */
let owner: { pipedrive: string; zoho: string };

const rows = (crm: Crm, type: string): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? [];

/** Live accounts as each CRM stores them, with their name and website. */
function accounts(crm: Crm): Array<{ name: unknown; website: unknown }> {
	switch (crm) {
		case 'hubspot':
			return rows('hubspot', 'companies').filter((r) => !r.archived).map((r) => ({ name: (r.properties as Row).name, website: (r.properties as Row).website ?? (r.properties as Row).domain }));
		case 'salesforce':
			return rows('salesforce', 'Account').filter((r) => !r.IsDeleted).map((r) => ({ name: r.Name, website: r.Website }));
		case 'zoho':
			return rows('zoho', 'Accounts').filter((r) => !r.$deleted).map((r) => ({ name: r.Account_Name, website: r.Website }));
		case 'dynamics':
			// A merged-away account is deactivated (statecode 1), not deleted.
			return rows('dynamics', 'accounts').filter((r) => !r['@sandbox.deleted'] && r.statecode !== 1).map((r) => ({ name: r.name, website: r.websiteurl }));
		case 'pipedrive':
			return rows('pipedrive', 'organizations').filter((r) => !r.is_deleted).map((r) => ({ name: r.name, website: r.website }));
	}
}

const onDomain = (crm: Crm, domain: string) => accounts(crm).filter((a) => normaliseDomain(a.website) === domain);

/** A company created by a person in the CRM's UI (its webhook carries no marker of ours). */
async function createInUi(crm: Crm, name: string, website: string): Promise<void> {
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/companies', { properties: { name, website } }],
		salesforce: ['/__admin/sobjects/Account', { Name: name, Website: website }],
		dynamics: ['/__admin/ui/api/data/v9.2/accounts', { name, websiteurl: website }],
		zoho: ['/__admin/ui/crm/v6/Accounts', { data: [{ Account_Name: name, Website: website }] }],
		pipedrive: ['/__admin/ui/api/v2/organizations', { name, website }],
	};
	const [path, body] = requests[crm];
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${crm}: ${res.status} ${await res.text()}`);
}

const executionReport = () => report(n8n, sandbox, [template.id, contactSync.id]);

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001, seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	// Before any sync reads the CRMs' users (they are cached for 10 minutes).
	owner = await addPipedriveAndZohoUser(sandbox, 'grace.owner@example.com');
	n8n = await startTemplates(sandbox, [template, contactSync]);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template: one expression-free chain for all five CRMs, accounts matched by domain', () => {
	assertCompactTemplate(template, 'crm-sync-account');
	for (const node of template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.unifiedCrmUpsert')) {
		assert.deepEqual([node.parameters.entity, node.parameters.matchKey], ['account', 'domain'], node.name);
	}
});

for (const source of CRMS) {
	test(`a company created in ${source} appears, mapped, in the other four`, async () => {
		const domain = `acme-${source}.example`;
		const name = `Acme ${source[0].toUpperCase()}${source.slice(1)} Ltd`;
		await createInUi(source, name, `https://www.${domain}/about`);
		const targets = CRMS.filter((crm) => crm !== source);
		await waitFor(async () => targets.every((crm) => onDomain(crm, domain).length > 0), 60_000).catch(async (error) => {
			throw new Error(`${(error as Error).message}; present in: ${targets.filter((crm) => onDomain(crm, domain).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
		});
		for (const crm of targets) {
			const found = onDomain(crm, domain);
			assert.equal(found.length, 1, `${crm}: one account`);
			assert.equal(found[0].name, name, `${crm}: name`);
		}
	});
}

test('a company the targets already have, on the same domain written differently, is updated there, not created twice', async () => {
	const domain = 'globex.example';
	await createInUi('salesforce', 'Globex Corporation', `https://www.${domain}/`);
	const others = CRMS.filter((crm) => crm !== 'salesforce');
	await waitFor(async () => others.every((crm) => onDomain(crm, domain).length === 1), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	// Someone enters the company again in Pipedrive, with a bare domain and another legal form.
	await createInUi('pipedrive', 'GLOBEX Inc.', domain);
	const targets = CRMS.filter((crm) => crm !== 'pipedrive');
	await waitFor(async () => targets.every((crm) => onDomain(crm, domain)[0]?.name === 'GLOBEX Inc.'), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: ${targets.map((crm) => `${crm} ${JSON.stringify(onDomain(crm, domain))}`).join('; ')}\n${await executionReport()}`);
	});
	for (const crm of targets) assert.equal(onDomain(crm, domain).length, 1, `${crm}: still one account on ${domain}`);
});

/** Each CRM's id of its live account on `domain`. */
function accountIdOn(crm: Crm, domain: string): string | undefined {
	const type = { hubspot: 'companies', salesforce: 'Account', zoho: 'Accounts', dynamics: 'accounts', pipedrive: 'organizations' }[crm];
	const websiteOf = (r: Row) => (crm === 'hubspot' ? ((r.properties as Row).website ?? (r.properties as Row).domain) : (r.Website ?? r.website ?? r.websiteurl));
	const row = rows(crm, type).find((r) => normaliseDomain(websiteOf(r)) === domain);
	return row ? String(crm === 'salesforce' ? row.Id : crm === 'dynamics' ? row.accountid : row.id) : undefined;
}

/** The account of the contact with `email` as the CRM links it (HubSpot: an association, not a contact field). */
function contactAccount(crm: Exclude<Crm, 'hubspot'>, email: string): string | undefined {
	const lookup = (v: unknown) => (v && typeof v === 'object' ? String((v as Row).id) : v === undefined || v === null ? undefined : String(v));
	switch (crm) {
		case 'salesforce':
			return lookup(rows('salesforce', 'Contact').find((r) => r.Email === email)?.AccountId);
		case 'zoho':
			return lookup(rows('zoho', 'Contacts').find((r) => r.Email === email)?.Account_Name);
		case 'dynamics':
			return lookup(rows('dynamics', 'contacts').find((r) => r.emailaddress1 === email)?._parentcustomerid_value);
		case 'pipedrive':
			return lookup(rows('pipedrive', 'persons').find((r) => JSON.stringify(r.emails ?? r.email ?? '').includes(email))?.org_id);
	}
}

test("a contact keeps its account (contact-sync beside this template): each target's own record of that company", async () => {
	const domain = 'umbrella.example';
	await createInUi('salesforce', 'Umbrella Corporation', `https://${domain}`);
	await waitFor(async () => CRMS.every((crm) => accountIdOn(crm, domain) !== undefined), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const email = 'alice.wesker@umbrella.example';
	const res = await fetch(`${sandbox.urls.salesforce}/__admin/sobjects/Contact`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ FirstName: 'Alice', LastName: 'Wesker', Email: email, AccountId: accountIdOn('salesforce', domain) }),
	});
	assert.ok(res.ok, await res.text());
	const linked = ['pipedrive', 'zoho', 'dynamics'] as const;
	await waitFor(async () => linked.every((crm) => contactAccount(crm, email) !== undefined), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: ${linked.map((crm) => `${crm} ${contactAccount(crm, email)}`).join(', ')}\n${await executionReport()}`);
	});
	for (const crm of linked) assert.equal(contactAccount(crm, email), accountIdOn(crm, domain), `${crm}: the contact's account is ${crm}'s Umbrella`);
});

test("a company's owner follows by e-mail: a Pipedrive user owns it in Zoho as the Zoho user with the same address", async () => {
	const domain = 'owned-in-pipedrive.example';
	const res = await fetch(`${sandbox.urls.pipedrive}/__admin/ui/api/v2/organizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Owned Org', website: `https://${domain}`, owner_id: Number(owner.pipedrive) }) });
	assert.ok(res.ok, await res.text());
	const zohoOwner = () => {
		const row = rows('zoho', 'Accounts').find((r) => normaliseDomain(r.Website) === domain);
		const value = row?.Owner as Row | string | undefined;
		return value && typeof value === 'object' ? String(value.id) : value;
	};
	await waitFor(async () => zohoOwner() !== undefined, 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	assert.equal(zohoOwner(), owner.zoho, "not Zoho's API user: the user with the Pipedrive owner's address");
});

test('a company deleted in Zoho is deleted in the other four', async () => {
	const domain = 'acme-zoho.example';
	const id = accountIdOn('zoho', domain);
	assert.ok(id, 'the company of the earlier test');
	const res = await fetch(`${sandbox.urls.zoho}/__admin/ui/crm/v6/Accounts/${id}`, { method: 'DELETE' });
	assert.ok(res.ok, await res.text());
	await waitFor(async () => CRMS.every((crm) => onDomain(crm, domain).length === 0), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: still in ${CRMS.filter((crm) => onDomain(crm, domain).length > 0).join(', ')}\n${await executionReport()}`);
	});
});

test('two companies merged in HubSpot are merged in the other four: the survivor stays, the other is gone everywhere (Dynamics: deactivated)', async () => {
	const [survivor, merged] = ['acme-hubspot.example', 'acme-salesforce.example'];
	const ids = [accountIdOn('hubspot', survivor), accountIdOn('hubspot', merged)];
	assert.ok(ids[0] && ids[1], 'both companies of the earlier tests are in HubSpot');
	const res = await fetch(`${sandbox.urls.hubspot}/__admin/objects/companies/merge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ primaryObjectId: ids[0], objectIdToMerge: ids[1] }) });
	assert.ok(res.ok, await res.text());
	await waitFor(async () => CRMS.every((crm) => onDomain(crm, merged).length === 0), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: ${merged} still in ${CRMS.filter((crm) => onDomain(crm, merged).length > 0).join(', ')}\n${await executionReport()}`);
	});
	for (const crm of CRMS) assert.equal(onDomain(crm, survivor).length, 1, `${crm}: the survivor is still there`);
});
