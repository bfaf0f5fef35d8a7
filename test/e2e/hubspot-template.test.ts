// The HubSpot contact template runs in real n8n and writes into the HubSpot emulator.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSandbox, type Sandbox } from '../../sandbox';
import { sandboxCredentials } from './fixtures';
import { lastRunData, postWebhook, REPO_ROOT, startN8n, type N8nInstance } from './harness';

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot'] });
	n8n = await startN8n({
		workflows: [join(REPO_ROOT, 'workflows/hubspot-contact-upsert.json')],
		credentials: sandboxCredentials(sandbox.urls),
	});
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

function hubspotContacts(): Array<{ id: string; properties: Record<string, string> }> {
	return (sandbox.emulators.hubspot!.dump().contacts ?? []) as Array<{ id: string; properties: Record<string, string> }>;
}

test('a posted contact is created in HubSpot, then updated by email without a duplicate', async () => {
	const created = await postWebhook(n8n.baseUrl, 'crm-sync/hubspot/contacts', { email: 'Ada.Lovelace@Example.com', firstname: 'Ada', lastname: 'Byron' });
	assert.equal(created.status, 200, await created.clone().text());
	const [first] = (await created.json()) as Array<{ status: string; id: string }>;
	assert.equal(first.status, 'created');

	let stored = hubspotContacts().filter((contact) => contact.properties.email === 'ada.lovelace@example.com');
	assert.equal(stored.length, 1);
	assert.equal(stored[0].id, first.id);
	assert.equal(stored[0].properties.firstname, 'Ada');
	assert.equal(stored[0].properties.lastname, 'Byron');

	const updated = await postWebhook(n8n.baseUrl, 'crm-sync/hubspot/contacts', { email: 'ada.lovelace@example.com', lastname: 'Lovelace' });
	assert.equal(updated.status, 200);
	const [second] = (await updated.json()) as Array<{ status: string; id: string }>;
	assert.equal(second.status, 'updated');
	assert.equal(second.id, first.id);

	stored = hubspotContacts().filter((contact) => contact.properties.email === 'ada.lovelace@example.com');
	assert.equal(stored.length, 1);
	assert.equal(stored[0].properties.firstname, 'Ada');
	assert.equal(stored[0].properties.lastname, 'Lovelace');
});

test('a record without an email goes to the Errors output with the reason, and nothing is written', async () => {
	const countBefore = hubspotContacts().length;
	const response = await postWebhook(n8n.baseUrl, 'crm-sync/hubspot/contacts', { firstname: 'No', lastname: 'Email' });
	assert.equal(response.status, 200);
	assert.equal(hubspotContacts().length, countBefore);

	const runData = await lastRunData(n8n, 'crmSyncHsUpsert1');
	const [success, errors] = runData['Upsert into HubSpot'][0].data.main;
	assert.equal(success.length, 0);
	assert.equal(errors.length, 1);
	assert.match(String(errors[0].json.error), /needs a value for email/);
});
