// The contact-sync template in a real n8n: one contact, synced to all five sandbox CRMs, gets its
// phone changed in HubSpot and in Salesforce "at once" (both edits made before either webhook is
// processed). A small gate between the CRMs and n8n holds those two webhooks and releases them in
// either order, or both together (two concurrent n8n executions). After quiescence all five CRMs
// hold the value the configured strategy dictates, and nothing keeps writing.
//
// Two copies of the template run side by side (own webhook ids, and own CRM Sync Settings
// credentials with their own namespaces): the template as shipped (last-modified-wins) and one
// whose Conflict Resolver uses crm-wins (Salesforce). Every CRM's webhooks reach n8n through the
// gate only, which forwards them to the copy under test (so neither registers its own).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { SANDBOX_WEBHOOK_SECRETS, SETTINGS_CREDENTIAL_REF, sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type CredentialFixture, type N8nInstance } from './harness';
import { triggerUrl, withSandboxMarkers, type WorkflowJson } from './subscriptions';

const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
type Crm = (typeof CRMS)[number];
type Row = Record<string, unknown>;

type Template = WorkflowJson & { id: string; name: string };

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template;
const trigger = (t: Template) => t.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;
const secret = (crm: Crm) => SANDBOX_WEBHOOK_SECRETS[crm].secret;

/** The crm-wins copy's own CRM Sync Settings credential: the same embedded store, another namespace. */
const CRM_WINS_SETTINGS: CredentialFixture = { ...SETTINGS_CREDENTIAL_REF, id: 'crmSyncSettingsCw', name: 'CRM Sync settings (crm-wins)', data: { backend: 'embedded', namespace: 'crm-wins' } };

/** The template as a user sets it up for this sandbox; `variant` gets its own ids and settings credential. */
function configured(variant?: { suffix: string; idSuffix: string; conflicts: Record<string, unknown> }): Template {
	const copy = withSandboxMarkers(template);
	if (variant) {
		copy.id = `${template.id}${variant.idSuffix}`;
		copy.name = `${template.name} (${variant.suffix})`;
	}
	for (const node of copy.nodes) {
		if (node.type === 'n8n-nodes-crm-sync.crmSyncTrigger') {
			// The gate subscribes every CRM and forwards to the copy under test.
			node.parameters.registerSubscription = false;
			if (variant) node.webhookId = `${node.webhookId}${variant.suffix}`;
		}
		const settings = node.credentials?.[SETTINGS_CREDENTIAL_REF.type];
		if (variant && settings) node.credentials![SETTINGS_CREDENTIAL_REF.type] = { id: CRM_WINS_SETTINGS.id, name: CRM_WINS_SETTINGS.name };
		if (variant && node.type === 'n8n-nodes-crm-sync.conflictResolver') Object.assign(node.parameters, variant.conflicts);
	}
	return copy;
}

const LMW = configured();
const CRM_WINS = configured({ suffix: '-crmwins', idSuffix: 'CrmWins', conflicts: { strategy: 'crm-wins', winningCrm: 'salesforce' } });

let sandbox: Sandbox;
let n8n: N8nInstance;

// ---- the gate: CRM webhooks → n8n, with per-CRM holding -------------------------------------------

interface Held {
	crm: Crm;
	method: string;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
}
let active: Template = LMW;
const holding = new Set<Crm>();
const held: Held[] = [];
const forwarded: Array<{ crm: Crm; status: number }> = [];
let gate: http.Server;
let gateUrl = '';

async function forward(h: Held): Promise<number> {
	const target = new URL(triggerUrl(n8n.baseUrl, trigger(active), h.crm));
	const headers: http.OutgoingHttpHeaders = { ...h.headers, host: target.host, 'content-length': String(h.body.length) };
	// HubSpot's v3 signature covers the URL the CRM called (the gate's): the gate signs again, as
	// HubSpot would have for the URL it forwards to (the trigger accepts v3 only).
	if (h.crm === 'hubspot') {
		const timestamp = String(Date.now());
		headers['x-hubspot-request-timestamp'] = timestamp;
		headers['x-hubspot-signature-v3'] = createHmac('sha256', secret('hubspot')).update(`${h.method}${target.href}${h.body.toString('utf8')}${timestamp}`).digest('base64');
	}
	const status = await new Promise<number>((resolve, reject) => {
		const req = http.request(target, { method: h.method, headers }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode ?? 0));
		});
		req.on('error', reject);
		req.end(h.body);
	});
	forwarded.push({ crm: h.crm, status });
	return status;
}

async function startGate(): Promise<void> {
	gate = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const crm = (req.url ?? '').split('/')[1]?.split('?')[0] as Crm;
			const h: Held = { crm, method: req.method ?? 'POST', headers: req.headers, body: Buffer.concat(chunks) };
			if (holding.has(crm)) {
				held.push(h);
				res.writeHead(200, { 'content-type': 'application/json' }).end('{"held":true}');
				return;
			}
			forward(h).then(
				(status) => res.writeHead(status).end(),
				(error) => res.writeHead(502).end(String(error)),
			);
		});
	});
	await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
	gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
}

async function subscribeAll(): Promise<void> {
	const e = sandbox.emulators;
	// The gate signs HubSpot's deliveries again for the copy of the template it forwards to.
	e.hubspot!.addSubscription({ url: `${gateUrl}/hubspot`, clientSecret: secret('hubspot'), types: ['contact.creation', 'contact.propertyChange'] });
	e.salesforce!.addSubscription({ type: 'changeEvent', url: `${gateUrl}/salesforce`, secret: secret('salesforce'), entities: ['Contact'] });
	e.zoho!.addSubscription({ url: `${gateUrl}/zoho`, events: ['Contacts.all'], token: secret('zoho') });
	e.dynamics!.addSubscription({ url: `${gateUrl}/dynamics`, entity: 'contact', messages: ['Create', 'Update'], authType: 'WebhookKey', key: secret('dynamics') });
	const res = await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, {
		method: 'POST',
		headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' },
		body: JSON.stringify({
			subscription_url: `${gateUrl}/pipedrive`, event_action: '*', event_object: 'person', version: '2.0',
			http_auth_user: SANDBOX_WEBHOOK_SECRETS.pipedrive.basicAuthUser, http_auth_password: secret('pipedrive'),
		}),
	});
	assert.ok(res.ok, await res.text());
}

// ---- the CRMs ----------------------------------------------------------------------------------

const rows = (crm: Crm, type: string): Row[] => ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []);

function contactIn(crm: Crm, email: string): Row[] {
	switch (crm) {
		case 'hubspot':
			return rows('hubspot', 'contacts').filter((r) => (r.properties as Row).email === email && !r.archived);
		case 'salesforce':
			return rows('salesforce', 'Contact').filter((r) => String(r.Email).toLowerCase() === email && !r.IsDeleted);
		case 'zoho':
			return rows('zoho', 'Contacts').filter((r) => String(r.Email).toLowerCase() === email && !r.$deleted && !r.deleted);
		case 'dynamics':
			return rows('dynamics', 'contacts').filter((r) => String(r.emailaddress1).toLowerCase() === email);
		case 'pipedrive':
			return rows('pipedrive', 'persons').filter((r) => JSON.stringify(r.emails ?? r.email ?? '').toLowerCase().includes(email) && !r.deleted && r.active_flag !== false);
	}
}

function phoneOf(crm: Crm, row: Row | undefined): unknown {
	if (!row) return undefined;
	switch (crm) {
		case 'hubspot':
			return (row.properties as Row).phone;
		case 'salesforce':
		case 'zoho':
			return row.Phone;
		case 'dynamics':
			return row.telephone1;
		case 'pipedrive':
			return (row.phones as Array<{ value: string }> | undefined)?.[0]?.value;
	}
}

const phones = (email: string) => Object.fromEntries(CRMS.map((crm) => [crm, phoneOf(crm, contactIn(crm, email)[0])]));

async function ui(crm: Crm, method: string, path: string, body: unknown): Promise<Row> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, {
		method,
		headers: { 'content-type': 'application/json', ...(crm === 'pipedrive' ? { 'x-api-token': 'sandbox-token', 'x-sandbox-change-source': 'app' } : {}) },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	assert.ok(res.ok, `${crm} ${method} ${path}: ${res.status} ${text}`);
	return text ? (JSON.parse(text) as Row) : {};
}

const setPhone = {
	hubspot: (row: Row, phone: string) => ui('hubspot', 'PATCH', `/__admin/objects/contacts/${String(row.id)}`, { properties: { phone } }),
	salesforce: (row: Row, phone: string) => ui('salesforce', 'PATCH', `/__admin/sobjects/Contact/${String(row.Id)}`, { Phone: phone }),
};

// ---- executions ----------------------------------------------------------------------------------

async function executions(workflow: Template): Promise<Array<{ id: string; status: string }>> {
	return (await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${workflow.id}&limit=250`)).data;
}

async function executionReport(workflow: Template): Promise<string> {
	const lines: string[] = [];
	for (const { id, status } of (await executions(workflow)).slice(0, 12)) {
		const execution = await n8n.api<{ data: { resultData: { error?: { message: string }; runData: Record<string, Array<{ error?: { message: string }; data?: { main: Array<Array<{ json: Row }> | null> } }>> } } }>(
			'GET', `/api/v1/executions/${id}?includeData=true`,
		);
		const { runData, error } = execution.data.resultData;
		const nodes = Object.entries(runData).map(([name, runs]) => runs.map((run) => `${name}[${run.error ? `ERROR ${run.error.message}` : (run.data?.main ?? []).map((out) => out?.length ?? 0).join('/')}]`).join(' '));
		const problems = [...new Set(Object.values(runData).flat().flatMap((run) => (run.data?.main ?? []).flat()).filter((item) => item?.json.error).map((item) => JSON.stringify(item!.json).slice(0, 300)))];
		lines.push(`#${id} ${status}${error ? ` (${error.message})` : ''}: ${nodes.join(', ')}${problems.map((e) => `\n   error item: ${e}`).join('')}`);
	}
	return lines.join('\n');
}

async function quiescent(workflow: Template): Promise<number> {
	let last = -1;
	let stableSince = Date.now();
	await waitFor(async () => {
		await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
		const count = (await executions(workflow)).length;
		if (count !== last) {
			last = count;
			stableSince = Date.now();
		}
		// Executions show up once finished; on a loaded machine that can take a few seconds.
		return Date.now() - stableSince > 8000;
	}, 90_000);
	return last;
}

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	n8n = await startN8n({ workflowObjects: [LMW, CRM_WINS] as unknown as Array<Record<string, unknown>>, credentials: [...sandboxCredentials(sandbox.urls), CRM_WINS_SETTINGS] });
	await startGate();
	for (const workflow of [LMW, CRM_WINS]) {
		for (const crm of CRMS) {
			const url = triggerUrl(n8n.baseUrl, trigger(workflow), crm);
			await waitFor(async () => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
		}
	}
	await subscribeAll();
});

after(async () => {
	gate?.close();
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template: one Conflict Resolver for every CRM, enabled against the synced state, the Duplicate Detector reads the record field, no expressions', () => {
	assert.doesNotMatch(JSON.stringify(template.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote')), /\{\{|"=/);
	const resolvers = template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.conflictResolver');
	assert.equal(resolvers.length, 1);
	for (const node of resolvers) {
		assert.notEqual(node.disabled, true, node.name);
		assert.equal(node.parameters.against, 'syncedState', node.name);
		assert.equal(node.parameters.strategy, 'last-modified-wins', node.name);
	}
	const detectors = template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.duplicateDetector');
	assert.equal(detectors.length, 1);
	for (const node of detectors) assert.equal((node.parameters.options as Row).recordField, 'record', node.name);
	// The crm-wins copy keeps its state apart: its own settings credential (another namespace) and webhook id.
	for (const node of CRM_WINS.nodes.filter((n) => n.credentials?.[SETTINGS_CREDENTIAL_REF.type])) assert.equal(node.credentials![SETTINGS_CREDENTIAL_REF.type].id, CRM_WINS_SETTINGS.id, node.name);
	assert.notEqual(trigger(CRM_WINS).webhookId, trigger(LMW).webhookId);
});

type Order = 'hubspot first' | 'salesforce first' | 'concurrently';

/**
 * A contact created in Pipedrive and synced to all five; then `first` CRM's phone edit, 1.5 s
 * later the other's, both webhooks held at the gate and released in `order`.
 */
async function concurrentEdits(workflow: Template, tag: string, n: number, first: 'hubspot' | 'salesforce', order: Order): Promise<{ email: string; phones: Record<string, string>; executions: number }> {
	active = workflow;
	const email = `ada.${tag}@conflicts.example`;
	const original = '+14155550100';
	await ui('pipedrive', 'POST', '/__admin/ui/api/v2/persons', { name: `Ada ${tag}`, emails: [{ value: email, primary: true }], phones: [{ value: original, primary: true }] });
	await waitFor(async () => CRMS.every((crm) => phoneOf(crm, contactIn(crm, email)[0]) === original), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: ${JSON.stringify(phones(email))}\n${await executionReport(workflow)}`);
	});
	await quiescent(workflow);

	// Distinct valid numbers: +1 415 555 <n><1 = first edit, 2 = second><11 HubSpot, 22 Salesforce>.
	const values = { hubspot: `+1415555${n}${first === 'hubspot' ? 1 : 2}11`, salesforce: `+1415555${n}${first === 'salesforce' ? 1 : 2}22` };
	const second = first === 'hubspot' ? 'salesforce' : 'hubspot';
	holding.add('hubspot');
	holding.add('salesforce');
	held.length = 0;
	await setPhone[first](contactIn(first, email)[0], values[first]);
	await new Promise((r) => setTimeout(r, 1500)); // beyond the 1 s clock-skew tolerance
	await setPhone[second](contactIn(second, email)[0], values[second]);
	await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
	await waitFor(async () => held.some((h) => h.crm === 'hubspot') && held.some((h) => h.crm === 'salesforce'), 15_000);
	holding.clear();
	const batch = held.splice(0);
	const byCrm = (crm: Crm) => batch.filter((h) => h.crm === crm);
	const statuses: number[] = [];
	if (order === 'concurrently') {
		statuses.push(...(await Promise.all(batch.map(forward))));
	} else {
		const [a, b] = order === 'hubspot first' ? (['hubspot', 'salesforce'] as const) : (['salesforce', 'hubspot'] as const);
		for (const h of byCrm(a)) statuses.push(await forward(h));
		for (const h of byCrm(b)) statuses.push(await forward(h));
	}
	assert.ok(statuses.every((s) => s >= 200 && s < 300), `n8n answered ${statuses.join(', ')}`);
	// Both scenarios converge on Salesforce's value; wait for it (the assertion afterwards reports a miss).
	await waitFor(async () => CRMS.every((crm) => phoneOf(crm, contactIn(crm, email)[0]) === values.salesforce), 60_000).catch(() => undefined);
	const settled = await quiescent(workflow);
	return { email, phones: values, executions: settled };
}

async function assertEverywhere(workflow: Template, email: string, expected: string, note: string): Promise<void> {
	const found = phones(email);
	if (!CRMS.every((crm) => found[crm] === expected)) {
		assert.fail(`${note}: expected ${expected} in all five, got ${JSON.stringify(found)}\n${await executionReport(workflow)}`);
	}
	for (const crm of CRMS) assert.equal(contactIn(crm, email).length, 1, `${crm}: one contact`);
}

/** No loop: after quiescence nothing else runs. */
async function assertBounded(workflow: Template, settled: number): Promise<void> {
	await new Promise((r) => setTimeout(r, 3000));
	await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
	assert.equal((await executions(workflow)).length, settled, 'no further executions after quiescence');
}

const ORDERS: Order[] = ['hubspot first', 'salesforce first', 'concurrently'];

for (const [i, order] of ORDERS.entries()) {
	test(`last-modified-wins (template default): HubSpot at t1, Salesforce at t2, webhooks ${order} → t2 everywhere`, async (t) => {
		const before = (await executions(LMW)).length;
		const run = await concurrentEdits(LMW, `lmw${i}`, i, 'hubspot', order);
		await assertEverywhere(LMW, run.email, run.phones.salesforce, order);
		await assertBounded(LMW, run.executions);
		t.diagnostic(`executions for create + two concurrent edits: ${run.executions - before}`);
	});
}

for (const [i, order] of ORDERS.entries()) {
	test(`crm-wins (Salesforce) in the test's copy: Salesforce at t1, HubSpot at t2, webhooks ${order} → Salesforce's older value everywhere`, async (t) => {
		const before = (await executions(CRM_WINS)).length;
		const run = await concurrentEdits(CRM_WINS, `cw${i}`, i + 3, 'salesforce', order);
		await assertEverywhere(CRM_WINS, run.email, run.phones.salesforce, order);
		await assertBounded(CRM_WINS, run.executions);
		t.diagnostic(`executions for create + two concurrent edits: ${run.executions - before}`);
	});
}
