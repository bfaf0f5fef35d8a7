// n8n in queue mode (EXECUTIONS_MODE=queue): a main process, two workers and a webhook processor
// on a real Redis and PostgreSQL, the package nodes on the Redis state store. The contact-sync
// template, wired to the five sandbox CRMs by their own webhooks, syncs a create and an update;
// the webhooks went through the webhook processor, the workers ran the executions, and the
// sync state is in Redis. (CRM_SYNC_E2E_QUEUE=1 runs every other e2e file in this mode too.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { startSandbox, type Sandbox } from '../../sandbox';
import { CRMS, configureContactSync, contactsIn, hookUrls, subscribeContactSync, type Crm, type Template } from './chaos/crms';
import { waitForQuiescence } from './chaos/quiescence';
import { sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';

const template = configureContactSync(JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template);
const TARGETS: Crm[] = ['hubspot', 'salesforce', 'zoho', 'dynamics'];
const EMAIL = 'grace.hopper@navy.example';

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	n8n = await startN8n({ queue: { workers: 2 }, workflowObjects: [template], credentials: sandboxCredentials(sandbox.urls) });
	const urls = hookUrls(template, n8n.baseUrl);
	for (const crm of CRMS) {
		await waitFor(async () => (await fetch(urls[crm], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
	await subscribeContactSync(sandbox, template, n8n.baseUrl);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('production webhooks are served by the webhook processor, not by main', async () => {
	assert.ok(n8n.queue, 'started in queue mode');
	const path = new URL(hookUrls(template, n8n.baseUrl).pipedrive).pathname;
	const atMain = await fetch(`${n8n.queue.mainUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
	assert.equal(atMain.status, 404, 'main has production webhooks off (N8N_DISABLE_PRODUCTION_MAIN_PROCESS)');
	const atProcessor = await fetch(`${n8n.queue.webhookUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
	assert.notEqual(atProcessor.status, 404, 'the webhook processor has the trigger registered');
});

test('a contact created and then updated in Pipedrive reaches the other four through the workers', async () => {
	const pipedrive = async (method: string, path: string, body: unknown) => {
		const res = await fetch(`${sandbox.urls.pipedrive}/__admin/ui${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		const text = await res.text();
		assert.ok(res.ok, text);
		return (JSON.parse(text) as { data: { id: number } }).data;
	};
	const values = (crm: Crm) => contactsIn(sandbox, crm).filter((c) => c.email === EMAIL);
	const person = await pipedrive('POST', '/api/v2/persons', {
		name: 'Grace Hopper', emails: [{ value: 'Grace.Hopper@navy.example', primary: true }], phones: [{ value: '+14155550123', primary: true }],
	});
	await waitFor(async () => TARGETS.every((crm) => values(crm).length > 0), 120_000).catch((error) => {
		throw new Error(`${(error as Error).message}; present in: ${TARGETS.filter((crm) => values(crm).length).join(', ') || 'none'}`);
	});
	await waitForQuiescence(sandbox, 4000, 120_000);
	await pipedrive('PATCH', `/api/v2/persons/${person.id}`, { name: 'Grace Hopper-Murray' });
	await waitFor(async () => TARGETS.every((crm) => values(crm)[0]?.lastName === 'Hopper-Murray'), 120_000);
	await waitForQuiescence(sandbox, 4000, 120_000);
	for (const crm of TARGETS) {
		const found = values(crm);
		assert.equal(found.length, 1, `${crm}: one contact`);
		assert.deepEqual([found[0].firstName, found[0].lastName, found[0].phone], ['Grace', 'Hopper-Murray', '+14155550123'], `${crm} fields`);
	}
	const fromPipedrive = sandbox.emulators.pipedrive!.deliveries().length;
	assert.ok(fromPipedrive <= 2, `Pipedrive sent ${fromPipedrive} webhooks: only the two UI changes, no write-back loop`);

	// The workers ran the executions (main and the webhook processor only enqueue them).
	const logs = n8n.queue!.logFiles.map((file) => [file, readFileSync(file, 'utf8')] as const);
	const started = logs.filter(([file]) => /worker-\d+\.log$/.test(file)).map(([, text]) => (text.match(/Worker started execution/g) ?? []).length);
	assert.ok(started.reduce((a, b) => a + b, 0) >= 2, `executions started by workers: ${started.join(', ')}`);
});

test('the sync state lives in Redis (the Redis state store every process shares)', async () => {
	const redis = new Redis({ host: n8n.queue!.redis.host, port: n8n.queue!.redis.port, lazyConnect: true });
	try {
		await redis.connect();
		// The namespace of the CRM Sync Settings credential every node of the template uses.
		const keys = await redis.keys('crmsync:{default}:*');
		assert.ok(keys.length > 0, 'state keys of the settings namespace');
		const queueKeys = await redis.keys('bull:*');
		assert.ok(queueKeys.length > 0, "n8n's Bull queue is on the same Redis");
	} finally {
		redis.disconnect();
	}
});
