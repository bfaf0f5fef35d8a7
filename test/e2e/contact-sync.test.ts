// The contact-sync template in a real n8n, wired to all five sandbox CRMs by their own webhooks:
// a contact created in Pipedrive (as a person in the UI) appears, mapped, in the other four; an
// update follows; the webhooks our own writes cause (echoes) do not start a write loop.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { appUserIdFor } from '../../sandbox/dynamics';
import { sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';

const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
type Crm = (typeof CRMS)[number];

interface TemplateNode {
	name: string;
	type: string;
	webhookId?: string;
	disabled?: boolean;
	parameters: Record<string, unknown>;
}
interface Template {
	id: string;
	nodes: TemplateNode[];
}

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template;
const triggers = Object.fromEntries(
	template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger').map((n) => [n.parameters.crm as Crm, n]),
) as Record<Crm, TemplateNode>;
const secret = (crm: Crm) => String(triggers[crm].parameters.secret);

/** The template as a user sets it up for this sandbox: the identities our writes carry in each CRM. */
function configured(): Template {
	const markers: Partial<Record<Crm, string>> = {
		hubspot: '1160452', // the sandbox private app's id (sourceId of our HubSpot writes)
		pipedrive: '1', // the API token's user
		salesforce: 'n8n-crm-sync', // Sforce-Call-Options client name of our writes
		dynamics: appUserIdFor('sandbox-client'), // the application user of our client id
	};
	const copy = JSON.parse(JSON.stringify(template)) as Template;
	for (const node of copy.nodes) {
		const crm = node.parameters.crm as Crm;
		if (node.type === 'n8n-nodes-crm-sync.crmSyncTrigger' && markers[crm]) node.parameters.ownChangeMarkers = markers[crm];
	}
	return copy;
}

let sandbox: Sandbox;
let n8n: N8nInstance;
const hookUrl = (crm: Crm) => `${n8n.baseUrl}/webhook/${triggers[crm].webhookId}/${crm}`;

async function subscribeAll(): Promise<void> {
	const e = sandbox.emulators;
	e.hubspot!.addSubscription({ url: hookUrl('hubspot'), clientSecret: secret('hubspot'), types: ['contact.creation', 'contact.propertyChange'] });
	e.salesforce!.addSubscription({ type: 'changeEvent', url: hookUrl('salesforce'), secret: secret('salesforce'), entities: ['Contact'] });
	e.zoho!.addSubscription({ url: hookUrl('zoho'), events: ['Contacts.all'], token: secret('zoho') });
	e.dynamics!.addSubscription({ url: hookUrl('dynamics'), entity: 'contact', messages: ['Create', 'Update'], authType: 'WebhookKey', key: secret('dynamics') });
	const res = await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, {
		method: 'POST',
		headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' },
		body: JSON.stringify({
			subscription_url: hookUrl('pipedrive'), event_action: '*', event_object: 'person', version: '2.0',
			http_auth_user: triggers.pipedrive.parameters.basicAuthUser, http_auth_password: secret('pipedrive'),
		}),
	});
	assert.ok(res.ok, await res.text());
}

/** A write by a person in Pipedrive's UI (user 2, change_source "app"), not by this sync. */
async function pipedriveUi(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
	const res = await fetch(`${sandbox.urls.pipedrive}${path}`, {
		method,
		headers: { 'x-api-token': 'sandbox-token', 'x-sandbox-change-source': 'app', 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	assert.ok(res.ok, text);
	return (JSON.parse(text) as { data: Record<string, unknown> }).data;
}

type Row = Record<string, unknown>;
const rows = (crm: Crm, type: string): Row[] => ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []);

/** The contact with this email as each target CRM stores it (its own field names). */
function contactIn(crm: Crm, email: string): Row[] {
	switch (crm) {
		case 'hubspot':
			return rows('hubspot', 'contacts').filter((r) => (r.properties as Row).email === email && !r.archived);
		case 'salesforce':
			return rows('salesforce', 'Contact').filter((r) => String(r.Email).toLowerCase() === email && !r.IsDeleted);
		case 'zoho':
			return rows('zoho', 'Contacts').filter((r) => String(r.Email).toLowerCase() === email);
		case 'dynamics':
			return rows('dynamics', 'contacts').filter((r) => String(r.emailaddress1).toLowerCase() === email);
		case 'pipedrive':
			return rows('pipedrive', 'persons').filter((r) => JSON.stringify(r.emails ?? r.email ?? '').toLowerCase().includes(email));
	}
}

/** [first name, last name, phone] as each target stores them. */
function names(crm: Crm, row: Row): [unknown, unknown, unknown] {
	switch (crm) {
		case 'hubspot': {
			const p = row.properties as Row;
			return [p.firstname, p.lastname, p.phone];
		}
		case 'salesforce':
			return [row.FirstName, row.LastName, row.Phone];
		case 'zoho':
			return [row.First_Name, row.Last_Name, row.Phone];
		case 'dynamics':
			return [row.firstname, row.lastname, row.telephone1];
		case 'pipedrive':
			return [row.first_name, row.last_name, (row.phones as Array<{ value: string }> | undefined)?.[0]?.value];
	}
}

const TARGETS: Crm[] = ['hubspot', 'salesforce', 'zoho', 'dynamics'];

async function executionCount(): Promise<number> {
	const list = await n8n.api<{ data: unknown[] }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=250`);
	return list.data.length;
}

/** Per execution: each node's item count per output and the first error, to say where a sync stopped. */
async function executionReport(): Promise<string> {
	const list = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=20`);
	const lines: string[] = [];
	for (const { id, status } of list.data) {
		const execution = await n8n.api<{ data: { resultData: { error?: { message: string }; runData: Record<string, Array<{ error?: { message: string }; data?: { main: Array<Array<{ json: Row }> | null> } }>> } } }>(
			'GET', `/api/v1/executions/${id}?includeData=true`,
		);
		const { runData, error } = execution.data.resultData;
		const nodes = Object.entries(runData).map(([name, runs]) =>
			runs.map((run) => `${name}[${run.error ? `ERROR ${run.error.message}` : (run.data?.main ?? []).map((out) => out?.length ?? 0).join('/')}]`).join(' '));
		const errors = [...new Set(Object.values(runData).flat().flatMap((run) => (run.data?.main ?? []).flat()).filter((item) => item?.json.error || item?.json.errors).map((item) => JSON.stringify(item!.json).slice(0, 400)))];
		lines.push(`#${id} ${status}${error ? ` (${error.message})` : ''}: ${nodes.join(', ')}${errors.map((e) => `\n   error item: ${e}`).join('')}`);
	}
	return lines.join('\n');
}

/** How many executions ran an upsert node (wrote to a CRM). */
async function writingExecutions(): Promise<number> {
	const list = await n8n.api<{ data: Array<{ id: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=250`);
	let writing = 0;
	for (const { id } of list.data) {
		const execution = await n8n.api<{ data: { resultData: { runData: Record<string, unknown> } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
		if (Object.keys(execution.data.resultData.runData).some((name) => name.startsWith('Upsert into'))) writing++;
	}
	return writing;
}

async function allIdle(): Promise<void> {
	await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
}

/** Waits until no webhook is pending and the number of executions stays put for a while. */
async function quiescent(): Promise<number> {
	let last = -1;
	let stableSince = Date.now();
	await waitFor(async () => {
		await allIdle();
		const count = await executionCount();
		if (count !== last) {
			last = count;
			stableSince = Date.now();
		}
		return Date.now() - stableSince > 4000;
	}, 90_000);
	return last;
}

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	n8n = await startN8n({ workflowObjects: [configured() as unknown as Record<string, unknown>], credentials: sandboxCredentials(sandbox.urls) });
	for (const crm of CRMS) {
		await waitFor(async () => (await fetch(hookUrl(crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
	await subscribeAll();
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template is expression-free and every trigger has a fixed webhookId', () => {
	assert.doesNotMatch(JSON.stringify(template.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote')), /\{\{|"=/);
	assert.deepEqual(Object.keys(triggers).sort(), [...CRMS].sort());
	for (const crm of CRMS) assert.equal(triggers[crm].webhookId, `crm-sync-contact-${crm}`);
});

const EMAIL = 'grace.hopper@navy.example';

test('a contact created in Pipedrive appears, mapped, in HubSpot, Salesforce, Zoho and Dynamics', async () => {
	await pipedriveUi('POST', '/api/v2/persons', {
		name: 'Grace Hopper',
		emails: [{ value: 'Grace.Hopper@navy.example', primary: true, label: 'work' }],
		phones: [{ value: '+14155550123', primary: true, label: 'work' }],
	});
	await waitFor(async () => TARGETS.every((crm) => contactIn(crm, EMAIL).length > 0), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}; present in: ${TARGETS.filter((crm) => contactIn(crm, EMAIL).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
	});
	for (const crm of TARGETS) {
		const found = contactIn(crm, EMAIL);
		assert.equal(found.length, 1, `${crm}: one contact`);
		assert.deepEqual(names(crm, found[0]), ['Grace', 'Hopper', '+14155550123'], `${crm} fields`);
	}
});

test('an update in Pipedrive follows; echoes of our own writes do not loop', async (t) => {
	const [person] = rows('pipedrive', 'persons').filter((r) => JSON.stringify(r.emails ?? '').toLowerCase().includes(EMAIL));
	assert.ok(person, 'the Pipedrive person exists');
	await quiescent();
	await pipedriveUi('PATCH', `/api/v2/persons/${String(person.id)}`, { name: 'Grace Hopper-Murray' });
	await waitFor(async () => TARGETS.every((crm) => names(crm, contactIn(crm, EMAIL)[0] ?? {})[1] === 'Hopper-Murray'), 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	for (const crm of TARGETS) {
		const found = contactIn(crm, EMAIL);
		assert.equal(found.length, 1, `${crm}: still one contact`);
		assert.deepEqual(names(crm, found[0]), ['Grace', 'Hopper-Murray', '+14155550123'], `${crm} fields`);
	}

	// Bounded: once every webhook is delivered, nothing else runs, and the source is not written back.
	const settled = await quiescent();
	await new Promise((r) => setTimeout(r, 3000));
	await allIdle();
	assert.equal(await executionCount(), settled, 'no further executions after quiescence');
	assert.equal(names('pipedrive', rows('pipedrive', 'persons').find((r) => r.id === person.id)!)[1], 'Hopper-Murray');
	const fromPipedriveWrites = sandbox.emulators.pipedrive!.deliveries().length;
	assert.ok(fromPipedriveWrites <= 2, `Pipedrive sent ${fromPipedriveWrites} webhooks: only the two UI changes`);
	assert.ok(settled <= 12, `${settled} executions for two changes: echoes must stay bounded`);
	// Only the two Pipedrive changes wrote anything; every echo was dropped or reviewed without a write.
	assert.equal(await writingExecutions(), 2, `executions that wrote:\n${await executionReport()}`);
	for (const crm of CRMS) for (const d of sandbox.emulators[crm]!.deliveries()) assert.ok(d.status !== undefined && d.status < 300, `${crm} webhook answered ${d.status}`);
	t.diagnostic(`executions after create + update: ${settled}\n${await executionReport()}`);
});

/** A contact created by a person in the source CRM's UI (so its webhook carries no marker of ours). */
async function createInUi(crm: Crm, first: string, last: string, email: string, phone: string): Promise<void> {
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/contacts', { properties: { firstname: first, lastname: last, email, phone } }],
		salesforce: ['/__admin/sobjects/Contact', { FirstName: first, LastName: last, Email: email, Phone: phone }],
		dynamics: ['/__admin/ui/api/data/v9.2/contacts', { firstname: first, lastname: last, emailaddress1: email, telephone1: phone }],
		zoho: ['/__admin/ui/crm/v6/Contacts', { data: [{ First_Name: first, Last_Name: last, Email: email, Phone: phone }] }],
		pipedrive: ['/__admin/ui/api/v2/persons', { name: `${first} ${last}`, emails: [{ value: email, primary: true }], phones: [{ value: phone, primary: true }] }],
	};
	const [path, body] = requests[crm];
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${crm}: ${res.status} ${await res.text()}`);
}

async function createdInOthers(source: Crm, first: string, last: string, phone: string, timeoutMs = 30_000): Promise<void> {
	const email = `${first}.${last}@${source}.example`.toLowerCase();
	const targets = CRMS.filter((crm) => crm !== source);
	await quiescent();
	await createInUi(source, first, last, email, phone);
	await waitFor(async () => targets.every((crm) => contactIn(crm, email).length > 0), timeoutMs).catch(async (error) => {
		throw new Error(`${(error as Error).message}; present in: ${targets.filter((crm) => contactIn(crm, email).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
	});
	for (const crm of targets) {
		const found = contactIn(crm, email);
		assert.equal(found.length, 1, `${crm}: one contact`);
		assert.deepEqual(names(crm, found[0]), [first, last, phone], `${crm} fields`);
	}
}

test('a contact created in Dynamics appears, mapped, in the other four', () => createdInOthers('dynamics', 'Katherine', 'Johnson', '+14155550124'));
test('a contact created in Salesforce appears, mapped, in the other four', () => createdInOthers('salesforce', 'Dorothy', 'Vaughan', '+14155550125'));
// The sandbox registers a post image by default, so the Update event carries the whole record.
test('an update in Dynamics (step with a post image) follows in the other four', async () => {
	const email = 'katherine.johnson@dynamics.example';
	const [row] = contactIn('dynamics', email);
	assert.ok(row, 'the Dynamics contact exists');
	await quiescent();
	const res = await fetch(`${sandbox.urls.dynamics}/__admin/ui/api/data/v9.2/contacts(${String(row.contactid)})`, {
		method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lastname: 'Goble' }),
	});
	assert.ok(res.ok, await res.text());
	const targets = CRMS.filter((crm) => crm !== 'dynamics');
	await waitFor(async () => targets.every((crm) => names(crm, contactIn(crm, email)[0] ?? {})[1] === 'Goble'), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	for (const crm of targets) assert.deepEqual(names(crm, contactIn(crm, email)[0]), ['Katherine', 'Goble', '+14155550124'], `${crm} fields`);
});

// Known gaps, run so that their state shows: these webhooks do not carry the record.
test('a contact created in HubSpot appears, mapped, in the other four', {
	todo: 'HubSpot events carry one property each (creation: none) and nothing fetches the record: each item lacks email or name',
}, () => createdInOthers('hubspot', 'Mary', 'Jackson', '+14155550126', 15_000));
test('a contact created in Zoho appears, mapped, in the other four', {
	todo: 'Zoho notifications carry ids only and nothing fetches the record: the item goes to the review queue',
}, () => createdInOthers('zoho', 'Annie', 'Easley', '+14155550127', 15_000));
