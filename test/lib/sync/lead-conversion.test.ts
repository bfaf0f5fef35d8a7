// Leads and lead conversion through "Sync to CRMs" (lib/sync/fan-out.ts, lead-conversion.ts) against
// the five sandbox CRMs, real connectors and a real embedded state store: a Salesforce lead lands
// as a lead in Zoho, Dynamics and Pipedrive (with its person) and as a contact at lifecycle stage
// lead in HubSpot; once converted in Salesforce, each copy is converted into that CRM's record of
// the same contact and account (which the contact and account syncs made), and no second contact
// appears anywhere. A conversion whose contact is not in a target yet waits for that target.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { defaultMapping } from '../../../lib/mapping';
import { CRM_NAMES, type CrmName } from '../../../lib/model';
import { openStateStore, type StateStore } from '../../../lib/state';
import { syncToCrms, type FanOutJob } from '../../../lib/sync/fan-out';
import type { EventItem } from '../../../lib/sync/route-by-operation';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { apiCredentials } from '../../e2e/fixtures';

type Row = Record<string, unknown>;

let dir: string;
let store: StateStore;
let sandbox: Sandbox;
let credentials: Record<string, Record<string, unknown>>;

const connectorFor = async (crm: CrmName): Promise<CrmConnector> => createConnector(crm, credentials[crm], { store });
const openStore = async () => store;

before(async () => {
	dir = mkdtempSync(join(tmpdir(), 'lead-conversion-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'leads', path: join(dir, 'state.db') });
	sandbox = await startSandbox({ seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	credentials = apiCredentials(sandbox.urls);
});

after(async () => {
	await sandbox?.stop();
	await store?.close();
	rmSync(dir, { recursive: true, force: true });
});

const job = (entity: FanOutJob['entity']): FanOutJob => ({
	crms: [...CRM_NAMES],
	entity,
	writeTo: 'others',
	missingReferences: 'retry',
	retryLimitMs: 60_000,
	matchKey: entity === 'account' ? 'domain' : 'email',
	dryRun: false,
	unchangedAgainst: 'nothing',
	recordEchoes: true,
	continueOnFail: true,
	recordState: true,
});

function change(source: CrmName, recordId: string, record: Row, unifiedId?: string): EventItem {
	return { index: 0, record, unifiedId, event: { source, recordId, operation: 'update', occurredAt: new Date().toISOString(), record } };
}

async function sync(entity: FanOutJob['entity'], item: EventItem) {
	const [outcome] = await syncToCrms([item], job(entity), connectorFor, openStore);
	return outcome;
}

const rows = (crm: CrmName, type: string): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? [];
const mentions = (row: Row, text: string) => JSON.stringify(row).includes(text);

const EMAIL = 'grace.lead@example.com';
const COMPANY = 'Hopper Analytics';
const lead = { firstName: 'Grace', lastName: 'Lead', email: EMAIL, phone: '+1 415 555 0101', company: COMPANY, title: 'CTO', status: 'contacted', leadSource: 'web' };
let leadUnifiedId: string;
let contactUnifiedId: string;
let accountUnifiedId: string;

test('a Salesforce lead becomes a lead in Zoho, Dynamics and Pipedrive (with its person) and a contact at stage lead in HubSpot', async () => {
	const outcome = await sync('lead', change('salesforce', '00Q000000000001AAA', lead));
	assert.deepEqual(outcome.errors, []);
	leadUnifiedId = outcome.unifiedId!;
	const ref = await store.getCrossRef('lead', leadUnifiedId);
	assert.deepEqual(Object.keys(ref!.ids).sort(), ['dynamics', 'hubspot', 'pipedrive', 'zoho']);

	assert.equal(rows('zoho', 'Leads').filter((r) => r.Email === EMAIL).length, 1, 'Zoho: one lead');
	assert.equal(rows('dynamics', 'leads').filter((r) => r.emailaddress1 === EMAIL).length, 1, 'Dynamics: one lead');
	const hubspot = rows('hubspot', 'contacts').filter((r) => (r.properties as Row).email === EMAIL);
	assert.equal(hubspot.length, 1, 'HubSpot: one contact');
	assert.equal((hubspot[0].properties as Row).lifecyclestage, 'lead');
	const person = rows('pipedrive', 'persons').filter((r) => mentions(r, EMAIL));
	assert.equal(person.length, 1, 'Pipedrive: one person');
	const pdLead = rows('pipedrive', 'leads').find((r) => String(r.id) === ref!.ids.pipedrive);
	assert.equal(String(pdLead?.person_id), String(person[0].id), "the Pipedrive lead points to the lead's person");
});

test('a converted lead whose contact is not in the targets yet waits for them, and converts nothing', async () => {
	const converted = { ...lead, status: 'qualified', converted: true, convertedContactId: '003000000000001AAA', convertedAccountId: '001000000000001AAA', convertedOpportunityId: '006000000000001AAA' };
	// As the Field Mapper hands it on: the references as unified ids (the ids they get when synced).
	const { referencesToUnified } = await import('../../../lib/sync/associations');
	const [record] = await referencesToUnified(store, [{ source: 'salesforce', record: converted }], 'lead');
	contactUnifiedId = record.convertedContactUnifiedId as string;
	accountUnifiedId = record.convertedAccountUnifiedId as string;
	assert.ok(contactUnifiedId && accountUnifiedId);
	const outcome = await sync('lead', change('salesforce', '00Q000000000001AAA', record, leadUnifiedId));
	assert.deepEqual(outcome.errors, []);
	assert.deepEqual([...(outcome.retry?.targets ?? [])].sort(), ['dynamics', 'hubspot', 'pipedrive', 'zoho'], 'every target waits for the contact');
	assert.equal(rows('dynamics', 'leads').find((r) => r.emailaddress1 === EMAIL)?.statecode, 0, 'the Dynamics lead is still open');
});

test("once the contact and account are synced, each copy is converted into that CRM's contact and account: one contact per CRM", async () => {
	const account = await sync('account', change('salesforce', '001000000000001AAA', { name: COMPANY }, accountUnifiedId));
	assert.deepEqual(account.errors, []);
	const contact = await sync('contact', change('salesforce', '003000000000001AAA', { firstName: 'Grace', lastName: 'Lead', email: EMAIL, accountUnifiedId }, contactUnifiedId));
	assert.deepEqual(contact.errors, []);

	const { referencesToUnified } = await import('../../../lib/sync/associations');
	const [record] = await referencesToUnified(store, [{ source: 'salesforce', record: { ...lead, status: 'qualified', converted: true, convertedContactId: '003000000000001AAA', convertedAccountId: '001000000000001AAA', convertedOpportunityId: '006000000000001AAA' } }], 'lead');
	const outcome = await sync('lead', change('salesforce', '00Q000000000001AAA', record, leadUnifiedId));
	assert.deepEqual(outcome.errors, []);
	assert.equal(outcome.retry, undefined);
	for (const crm of ['zoho', 'dynamics', 'pipedrive', 'hubspot'] as const) assert.equal(outcome.synced[crm]?.status, 'converted', `${crm}: ${JSON.stringify(outcome.synced[crm])}`);

	const contactRef = (await store.getCrossRef('contact', contactUnifiedId))!;
	const accountRef = (await store.getCrossRef('account', accountUnifiedId))!;
	// Zoho: the lead left Leads, converted into the synced contact; still one contact.
	assert.equal(rows('zoho', 'Contacts').filter((r) => r.Email === EMAIL).length, 1, 'Zoho: one contact');
	// Dynamics: the lead qualified, pointing to the synced contact and account.
	const dyLead = rows('dynamics', 'leads').find((r) => r.emailaddress1 === EMAIL)!;
	assert.equal(dyLead.statecode, 1, 'Dynamics: qualified');
	assert.equal(rows('dynamics', 'contacts').filter((r) => r.emailaddress1 === EMAIL).length, 1, 'Dynamics: one contact');
	// Pipedrive: the lead archived on the one person, which the contact sync found by e-mail.
	const leadRef = (await store.getCrossRef('lead', leadUnifiedId))!;
	const pdLead = rows('pipedrive', 'leads').find((r) => String(r.id) === leadRef.ids.pipedrive)!;
	assert.equal(pdLead.is_archived, true, 'Pipedrive: archived');
	assert.equal(String(pdLead.person_id), contactRef.ids.pipedrive);
	assert.equal(String(pdLead.organization_id), accountRef.ids.pipedrive);
	assert.equal(rows('pipedrive', 'persons').filter((r) => mentions(r, EMAIL)).length, 1, 'Pipedrive: one person');
	// HubSpot: the one contact moved on to stage opportunity.
	const hubspot = rows('hubspot', 'contacts').filter((r) => (r.properties as Row).email === EMAIL);
	assert.equal(hubspot.length, 1, 'HubSpot: one contact');
	assert.equal((hubspot[0].properties as Row).lifecyclestage, 'opportunity');
	assert.equal(contactRef.ids.hubspot, leadRef.ids.hubspot, "HubSpot's lead and contact are one record");

	// Carried again (a retry, a second delivery): nothing more happens.
	const again = await sync('lead', change('salesforce', '00Q000000000001AAA', record, leadUnifiedId));
	for (const crm of ['zoho', 'dynamics', 'pipedrive', 'hubspot'] as const) assert.equal(again.synced[crm]?.status, 'unchanged', `${crm}: ${JSON.stringify(again.synced[crm])}`);
	assert.equal(rows('zoho', 'Contacts').filter((r) => r.Email === EMAIL).length, 1, 'Zoho: still one contact');
});

test('a lead qualified in Dynamics by a person reads as converted, naming the contact and account it became', async () => {
	const dynamics = await connectorFor('dynamics');
	const [created] = await dynamics.create('lead', [{ ref: 0, fields: { firstname: 'Ada', lastname: 'Qualified', emailaddress1: 'ada.qualified@example.com', companyname: 'Qualified Engines' } }]);
	assert.equal(created.status, 'created');
	const leadId = (created as { id: string }).id;
	const res = await fetch(`${sandbox.urls.dynamics}/__admin/ui/api/data/v9.2/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ CreateAccount: true, CreateContact: true, CreateOpportunity: false, Status: 3 }),
	});
	assert.ok(res.ok, await res.text());
	const contact = rows('dynamics', 'contacts').find((r) => r.emailaddress1 === 'ada.qualified@example.com');
	const account = rows('dynamics', 'accounts').find((r) => r.name === 'Qualified Engines');
	assert.ok(contact && account, 'Dynamics made a contact and an account');

	const read = await dynamics.get('lead', leadId);
	const unified = defaultMapping('toUnified', 'dynamics', 'lead').map(read!.fields).record;
	assert.equal(unified.converted, true);
	assert.equal(unified.convertedContactId, contact.contactid);
	assert.equal(unified.convertedAccountId, account.accountid);
	const { referencesToUnified } = await import('../../../lib/sync/associations');
	const [withRefs] = await referencesToUnified(store, [{ source: 'dynamics', record: unified }], 'lead');
	assert.equal(withRefs.convertedContactUnifiedId, `dynamics:${String(contact.contactid)}`, "the id the contact gets when contact-sync first syncs it");
});
