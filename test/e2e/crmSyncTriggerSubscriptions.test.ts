// CRM Sync Trigger in a real n8n, registering its own subscriptions: activating the workflow
// creates the Pipedrive webhook and the Zoho notification channel for the production URLs of one
// node with both CRMs ticked, with the secrets of their webhook credentials; CRM changes then start
// executions, and deactivating removes both (no more executions); activating again registers them anew.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { PipedriveConnector } from '../../lib/crms/pipedrive/connector';
import { ZohoConnector } from '../../lib/crms/zoho/connector';
import { CREDENTIAL_REFS, sandboxCredentials, WEBHOOK_CREDENTIAL_REFS } from './fixtures';
import { startN8n, waitFor, type N8nInstance } from './harness';

// At most 21 characters: n8n saves static data (where the node keeps its subscription ids) only for such ids.
const WORKFLOW_ID = 'crmSyncSubsE2e';

const CRMS = ['pipedrive', 'zoho'] as const;
const credential = (ref: { id: string; name: string; type: string }) => [ref.type, { id: ref.id, name: ref.name }];

const trigger = {
	id: '0e2e0000-0000-4000-8000-000000000040',
	name: 'Pipedrive and Zoho',
	type: 'n8n-nodes-crm-sync.crmSyncTrigger',
	typeVersion: 1,
	position: [0, 0],
	webhookId: 'e2e-subs',
	// registerSubscription is left out: it is on by default for these two CRMs.
	parameters: { crm: CRMS, entities: ['contact'] },
	credentials: Object.fromEntries(CRMS.flatMap((crm) => [credential(CREDENTIAL_REFS[crm]), credential(WEBHOOK_CREDENTIAL_REFS[crm])])),
};

const workflow = {
	id: WORKFLOW_ID,
	name: 'CRM Sync Trigger subscriptions e2e',
	active: false,
	settings: { executionOrder: 'v1' },
	pinData: {},
	connections: {},
	nodes: [trigger],
};

let sandbox: Sandbox;
let n8n: N8nInstance;
let pipedrive: PipedriveConnector;
let zoho: ZohoConnector;
const hookUrl = (crm: string) => `${n8n.baseUrl}/webhook/e2e-subs/${crm}`;

async function executionCount(): Promise<number> {
	const list = await n8n.api<{ data: Array<{ id: string; stoppedAt?: string }> }>('GET', `/api/v1/executions?workflowId=${WORKFLOW_ID}&limit=250`);
	return list.data.filter((e) => e.stoppedAt).length;
}

async function registered(): Promise<{ pipedrive: string[]; zoho: string[] }> {
	return {
		pipedrive: (await pipedrive.listWebhooks()).map((w) => w.url),
		zoho: (await zoho.listWatches()).map((w) => w.url),
	};
}

/** Creates one contact in each CRM (by API, as a user would) and returns when the CRMs have sent their webhooks. */
async function changeBoth(name: string): Promise<void> {
	await pipedrive.create('contact', [{ ref: 0, fields: { name } }]);
	await zoho.create('contact', [{ ref: 0, fields: { Last_Name: name } }]);
	await sandbox.emulators.pipedrive!.webhooksIdle();
	await sandbox.emulators.zoho!.webhooksIdle();
}

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive', 'zoho'] });
	pipedrive = new PipedriveConnector({ apiToken: 'sandbox-token', baseUrl: sandbox.urls.pipedrive! });
	zoho = new ZohoConnector({ accessToken: 'sandbox-access', apiDomain: sandbox.urls.zoho! });
	n8n = await startN8n({ workflowObjects: [workflow], credentials: sandboxCredentials(sandbox.urls) });
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('activation registers the Pipedrive webhook and the Zoho channel; changes start executions; deactivation removes both', async () => {
	// The harness publishes the workflow once n8n is ready, as the editor's Publish button does.
	await waitFor(async () => {
		const r = await registered();
		return r.pipedrive.length > 0 && r.zoho.length > 0;
	}, 60_000);
	assert.deepEqual(await registered(), { pipedrive: [hookUrl('pipedrive')], zoho: [hookUrl('zoho')] });
	const [hook] = await pipedrive.listWebhooks();
	assert.equal(hook.version, '2.0');
	const [channel] = await zoho.listWatches();
	assert.deepEqual(channel.events, ['Contacts.all'], 'the channel watches the modules of the selected entities');
	assert.ok(channel.expiresAt > Date.now() + 23 * 3600_000, 'a channel of one day');

	await changeBoth('Ada Lovelace');
	await waitFor(async () => (await executionCount()) >= 2, 45_000);
	assert.equal(await executionCount(), 2, 'one execution per CRM change');

	// n8n answers the (de)activation call before the webhook lifecycle has run: wait for it.
	await n8n.api('POST', `/rest/workflows/${WORKFLOW_ID}/deactivate`, {});
	await waitFor(async () => JSON.stringify(await registered()) === JSON.stringify({ pipedrive: [], zoho: [] }), 30_000);
	await changeBoth('Grace Hopper');
	await new Promise((r) => setTimeout(r, 700));
	assert.equal(await executionCount(), 2, 'nothing starts after deactivation');

	const { data } = await n8n.api<{ data: { versionId: string } }>('GET', `/rest/workflows/${WORKFLOW_ID}`);
	await n8n.api('POST', `/rest/workflows/${WORKFLOW_ID}/activate`, { versionId: data.versionId });
	await waitFor(async () => {
		const r = await registered();
		return r.pipedrive.length > 0 && r.zoho.length > 0;
	}, 30_000);
	assert.deepEqual(await registered(), { pipedrive: [hookUrl('pipedrive')], zoho: [hookUrl('zoho')] }, 'activating again registers anew');
	const [again] = await pipedrive.listWebhooks();
	assert.notEqual(again.id, hook.id);
});
