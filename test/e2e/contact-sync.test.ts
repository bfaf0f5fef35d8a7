// The contact-sync template in a real n8n, wired to all five sandbox CRMs by their own webhooks:
// a contact created in each CRM (as a person in the UI) appears, mapped, in the other four; an
// update follows; the webhooks our own writes cause (echoes) do not start a write loop; an email
// opt-out reaches the others and is not reverted; a delete and a GDPR erasure propagate, and the
// erasure leaves no personal data in the state store.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';

import { startSandbox, type Sandbox } from '../../sandbox';
import { sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';
import { subscribeTriggers, triggerUrl, withSandboxMarkers, type WorkflowJson } from './subscriptions';
import { assertCompactTemplate } from './template-shape';

const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
type Crm = (typeof CRMS)[number];

type Template = WorkflowJson & { id: string; connections: Record<string, { main: Array<Array<{ node: string }>> }> };

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template;
const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;
/** The nodes that write to the CRMs (Sync to CRMs: to the others, and back to the source). */
const writers = template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.unifiedCrmUpsert').map((n) => n.name);

let sandbox: Sandbox;
let n8n: N8nInstance;
const hookUrl = (crm: Crm) => triggerUrl(n8n.baseUrl, trigger, crm);

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
			return rows('zoho', 'Contacts').filter((r) => String(r.Email).toLowerCase() === email && !r.$deleted);
		case 'dynamics':
			return rows('dynamics', 'contacts').filter((r) => String(r.emailaddress1).toLowerCase() === email && !r['@sandbox.deleted']);
		case 'pipedrive':
			return rows('pipedrive', 'persons').filter((r) => JSON.stringify(r.emails ?? r.email ?? '').toLowerCase().includes(email) && !r.is_deleted);
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

/** Job title as each CRM stores it. */
function title(crm: Crm, row: Row): unknown {
	return { hubspot: (row.properties as Row | undefined)?.jobtitle, salesforce: row.Title, zoho: row.Title, dynamics: row.jobtitle, pipedrive: row.job_title }[crm];
}

/** The email opt-out as each CRM stores it, read as a boolean (Pipedrive: marketing_status). */
function optedOut(crm: Crm, row: Row): boolean {
	switch (crm) {
		case 'hubspot':
			return String((row.properties as Row).hs_email_optout) === 'true';
		case 'salesforce':
			return row.HasOptedOutOfEmail === true;
		case 'zoho':
			return row.Email_Opt_Out === true;
		case 'dynamics':
			return row.donotemail === true;
		case 'pipedrive':
			return row.marketing_status === 'unsubscribed';
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
		const events = Object.entries(runData).filter(([name]) => name === trigger.name).flatMap(([, runs]) => runs.flatMap((run) => (run.data?.main?.[0] ?? []).map((item) => {
			const { operation, recordId, unifiedId, changedFields, fetched } = item.json;
			return JSON.stringify({ operation, recordId, unifiedId, changedFields, fetched });
		})));
		const consent = Object.values(runData).flat().flatMap((run) => (run.data?.main?.[0] ?? []).filter((item) => item?.json.consent).map((item) => `${String(item.json.crm)}: ${String(item.json.consent)}`));
		lines.push(`#${id} ${status}${error ? ` (${error.message})` : ''}: ${nodes.join(', ')}${events.map((e) => `\n   event: ${e}`).join('')}${consent.map((c) => `\n   ${c}`).join('')}${errors.map((e) => `\n   error item: ${e}`).join('')}`);
	}
	// Webhooks the triggers refused (no execution shows them).
	for (const crm of CRMS) {
		for (const d of sandbox.emulators[crm]!.deliveries()) if (d.status === undefined || d.status >= 300) lines.push(`${crm} webhook answered ${d.status}: ${String(d.responseBody ?? d.error ?? '').slice(0, 300)}`);
	}
	return lines.join('\n');
}

/** How many executions ran a writing node (Sync to CRMs). */
async function writingExecutions(): Promise<number> {
	const list = await n8n.api<{ data: Array<{ id: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=250`);
	let writing = 0;
	for (const { id } of list.data) {
		const execution = await n8n.api<{ data: { resultData: { runData: Record<string, unknown> } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
		if (Object.keys(execution.data.resultData.runData).some((name) => writers.includes(name))) writing++;
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
	n8n = await startN8n({ workflowObjects: [withSandboxMarkers(template) as unknown as Record<string, unknown>], credentials: sandboxCredentials(sandbox.urls) });
	for (const crm of CRMS) {
		await waitFor(async () => (await fetch(hookUrl(crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
	const { failed } = await subscribeTriggers(sandbox, n8n.baseUrl, [template]);
	assert.deepEqual(failed, []);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template: one expression-free chain for all five CRMs under one fixed webhookId, on the settings credential, with no secret', () => {
	assertCompactTemplate(template, 'crm-sync-contact');
	// Resolved changes go to every other CRM, corrections back to the source; both write every CRM the trigger serves.
	const conflicts = template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.conflictResolver')!;
	const [resolved, , , correctSource] = template.connections[conflicts.name].main;
	const writer = (name: string) => template.nodes.find((n) => n.name === name)!.parameters;
	assert.deepEqual([writer(resolved[0].node).operation, writer(resolved[0].node).writeTo], ['syncToCrms', 'others']);
	assert.deepEqual([writer(correctSource[0].node).operation, writer(correctSource[0].node).writeTo], ['syncToCrms', 'source']);
	for (const name of writers) assert.deepEqual([writer(name).crm].flat().sort(), [...CRMS].sort(), name);
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
async function createInUi(crm: Crm, first: string, last: string, email: string, phone: string, jobTitle: string): Promise<void> {
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/contacts', { properties: { firstname: first, lastname: last, email, phone, jobtitle: jobTitle } }],
		salesforce: ['/__admin/sobjects/Contact', { FirstName: first, LastName: last, Email: email, Phone: phone, Title: jobTitle }],
		dynamics: ['/__admin/ui/api/data/v9.2/contacts', { firstname: first, lastname: last, emailaddress1: email, telephone1: phone, jobtitle: jobTitle }],
		zoho: ['/__admin/ui/crm/v6/Contacts', { data: [{ First_Name: first, Last_Name: last, Email: email, Phone: phone, Title: jobTitle }] }],
		pipedrive: ['/__admin/ui/api/v2/persons', { name: `${first} ${last}`, emails: [{ value: email, primary: true }], phones: [{ value: phone, primary: true }], job_title: jobTitle }],
	};
	const [path, body] = requests[crm];
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${crm}: ${res.status} ${await res.text()}`);
}

/** `beforeCreate` runs once the sync is quiet, right before the contact is created in `source`. */
async function createdInOthers(source: Crm, first: string, last: string, phone: string, timeoutMs = 30_000, beforeCreate?: () => void): Promise<void> {
	const email = `${first}.${last}@${source}.example`.toLowerCase();
	const jobTitle = `Mathematician (${source})`;
	const targets = CRMS.filter((crm) => crm !== source);
	await quiescent();
	beforeCreate?.();
	await createInUi(source, first, last, email, phone, jobTitle);
	await waitFor(async () => targets.every((crm) => contactIn(crm, email).length > 0), timeoutMs).catch(async (error) => {
		throw new Error(`${(error as Error).message}; present in: ${targets.filter((crm) => contactIn(crm, email).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
	});
	for (const crm of targets) {
		const found = contactIn(crm, email);
		assert.equal(found.length, 1, `${crm}: one contact`);
		assert.deepEqual(names(crm, found[0]), [first, last, phone], `${crm} fields`);
		assert.equal(title(crm, found[0]), jobTitle, `${crm} job title`);
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

// HubSpot events carry one property each (creation: none) and Zoho notifications ids only: the
// triggers fetch the record (Fetch Full Records) before emitting it.
test('a contact created in HubSpot appears, mapped, in the other four', () => createdInOthers('hubspot', 'Mary', 'Jackson', '+14155550126'));
test('a contact created in Zoho appears, mapped, in the other four', () => createdInOthers('zoho', 'Annie', 'Easley', '+14155550127'));

// Zoho never sends a notification again, so a 503 would lose the change: the trigger answers 200
// at once and reads the record with retries. Here every Zoho read is throttled for 2.5 s, longer
// than the read budget of CRMs that do redeliver (2 attempts, then 503).
test('a Zoho notification whose record cannot be read at first is answered 200 and still synced', async () => {
	const zoho = sandbox.emulators.zoho!;
	const before = zoho.deliveries().length;
	let clear: NodeJS.Timeout | undefined;
	try {
		await createdInOthers('zoho', 'Gladys', 'West', '+14155550128', 30_000, () => {
			zoho.setFaults({ throttleRate: 1, pathPattern: '^/crm/v6/Contacts' });
			clear = setTimeout(() => zoho.setFaults({}), 2_500);
		});
	} finally {
		clearTimeout(clear);
		zoho.setFaults({});
	}
	const answers = zoho.deliveries().slice(before).map((d) => d.status);
	assert.ok(answers.length > 0 && answers.every((status) => status === 200), `Zoho deliveries answered ${answers.join(', ')}`);
});

// When the reads still fail after all their retries, the notification (answered 200 already) stays
// in the state store's inbox, and the next Zoho notification's run syncs it with its own.
test('a Zoho notification whose reads fail past their retries is kept in the inbox and synced with the next notification', async () => {
	const zoho = sandbox.emulators.zoho!;
	const email = 'katherine.johnson@zoho.example';
	const throttledReads = () => zoho.requests().filter((r) => r.fault === 'throttle');
	await quiescent();
	const before = throttledReads().length;
	zoho.setFaults({ throttleRate: 1, pathPattern: '^/crm/v6/Contacts' });
	try {
		await createInUi('zoho', 'Katherine', 'Johnson', email, '+14155550129', 'Mathematician (zoho)');
		// The read's 6 attempts are refused; then nothing reads any more (the run failed).
		await waitFor(async () => {
			const throttled = throttledReads();
			return throttled.length - before >= 6 && Date.now() - throttled.at(-1)!.at > 3_000;
		}, 60_000);
	} finally {
		zoho.setFaults({});
	}
	const targets = CRMS.filter((crm) => crm !== 'zoho');
	assert.deepEqual(targets.filter((crm) => contactIn(crm, email).length > 0), [], 'not synced while Zoho could not be read');
	await createdInOthers('zoho', 'Dorothy', 'Vaughan', '+14155550130');
	await waitFor(async () => targets.every((crm) => contactIn(crm, email).length === 1), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}; present in: ${targets.filter((crm) => contactIn(crm, email).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
	});
});

async function ui(crm: Crm, method: string, path: string, body?: unknown): Promise<void> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
	assert.ok(res.ok, `${crm} ${method} ${path}: ${res.status} ${await res.text()}`);
}

test('an email opt-out in Zoho reaches the others and a later HubSpot change does not revert it', async () => {
	const email = 'annie.easley@zoho.example';
	const writableTargets: Crm[] = ['salesforce', 'pipedrive', 'dynamics']; // HubSpot's opt-out is read-only (see Known limits)
	const [annie] = contactIn('zoho', email);
	assert.ok(annie, 'the Zoho contact exists');
	await quiescent();
	await ui('zoho', 'PUT', `/__admin/ui/crm/v6/Contacts/${String(annie.id)}`, { data: [{ Email_Opt_Out: true }] });
	await waitFor(async () => writableTargets.every((crm) => contactIn(crm, email).some((r) => optedOut(crm, r))), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}; opted out in: ${writableTargets.filter((crm) => contactIn(crm, email).some((r) => optedOut(crm, r))).join(', ') || 'none'}\n${await executionReport()}`);
	});

	// Someone renames her in HubSpot, where she is still opted in: the name follows, the opt-out stays.
	await quiescent();
	const [inHubspot] = contactIn('hubspot', email);
	assert.equal(optedOut('hubspot', inHubspot), false, 'HubSpot could not be told (read-only property)');
	await ui('hubspot', 'PATCH', `/__admin/objects/contacts/${String(inHubspot.id)}`, { properties: { lastname: 'Easley-Brown' } });
	const others: Crm[] = ['salesforce', 'pipedrive', 'dynamics', 'zoho'];
	await waitFor(async () => others.every((crm) => names(crm, contactIn(crm, email)[0] ?? {})[1] === 'Easley-Brown'), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	await quiescent();
	const reverted = others.filter((crm) => !contactIn(crm, email).every((r) => optedOut(crm, r)));
	assert.deepEqual(reverted, [], `opt-out reverted in ${reverted.join(', ')}\n${await executionReport()}`);
});

test('a delete in Pipedrive removes the contact from the other four', async () => {
	const [person] = contactIn('pipedrive', EMAIL);
	assert.ok(person, 'the Pipedrive person exists');
	for (const crm of TARGETS) assert.equal(contactIn(crm, EMAIL).length, 1, `${crm} has the contact before`);
	await quiescent();
	await pipedriveUi('DELETE', `/api/v2/persons/${String(person.id)}`, undefined);
	await waitFor(async () => TARGETS.every((crm) => contactIn(crm, EMAIL).length === 0), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}; still in: ${TARGETS.filter((crm) => contactIn(crm, EMAIL).length > 0).join(', ')}\n${await executionReport()}`);
	});
});

/** Every value in the state store, as lower-case text: each table of the embedded file, or in queue mode each key in Redis. */
async function stateStoreText(): Promise<string> {
	if (n8n.queue) {
		const redis = new Redis({ host: n8n.queue.redis.host, port: n8n.queue.redis.port });
		try {
			const lines: string[] = [];
			for (const key of await redis.keys('crmsync:*')) {
				const type = await redis.type(key);
				const value = type === 'string' ? await redis.get(key)
					: type === 'hash' ? await redis.hgetall(key)
						: type === 'list' ? await redis.lrange(key, 0, -1)
							: type === 'set' ? await redis.smembers(key)
								: type === 'zset' ? await redis.zrange(key, 0, -1)
									: `(${type})`;
				lines.push(`${key}: ${JSON.stringify(value)}`);
			}
			assert.ok(lines.length > 0, 'the Redis state store has keys');
			return lines.join('\n').toLowerCase();
		} finally {
			redis.disconnect();
		}
	}
	const dir = join(n8n.userFolder, '.n8n', 'crm-sync');
	const file = join(dir, 'state.sqlite');
	assert.ok(existsSync(file), `state store at ${file} (${existsSync(dir) ? readdirSync(dir).join(', ') : 'no folder'})`);
	const db = new DatabaseSync(file, { readOnly: true });
	try {
		const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
		return tables.map(({ name }) => `${name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())}`).join('\n').toLowerCase();
	} finally {
		db.close();
	}
}

/**
 * The embedded state store as the disk holds it: the bytes of the SQLite file and of its
 * write-ahead log (deleted rows, older page versions), lower-cased. Queue mode: Redis keeps the
 * store in memory, read key by key in stateStoreText.
 */
function stateStoreBytes(): string {
	if (n8n.queue) return '';
	const file = join(n8n.userFolder, '.n8n', 'crm-sync', 'state.sqlite');
	return [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n').toLowerCase();
}

test('a GDPR erasure in HubSpot erases the contact in the other four and leaves no personal data in the state store', async () => {
	const email = 'mary.jackson@hubspot.example';
	const targets = CRMS.filter((crm) => crm !== 'hubspot');
	const [mary] = contactIn('hubspot', email);
	assert.ok(mary, 'the HubSpot contact exists');
	for (const crm of targets) assert.equal(contactIn(crm, email).length, 1, `${crm} has the contact before`);
	assert.match(await stateStoreText(), /\bjackson\b/, 'the synced snapshot holds her data before the erasure (the check can fail)');
	if (!n8n.queue) assert.match(stateStoreBytes(), /\bjackson\b/, 'the state file holds her data before the erasure (the check can fail)');
	await quiescent();
	// A privacy tool (another app: its changes carry another sourceId than this sync's) erases her.
	const tokenRes = await fetch(`${sandbox.urls.hubspot}/oauth/v1/token`, {
		method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'privacy-tool', client_secret: 'x', refresh_token: 'privacy-refresh' }).toString(),
	});
	const tokenText = await tokenRes.text();
	assert.ok(tokenRes.ok, tokenText);
	const { access_token: token } = JSON.parse(tokenText) as { access_token: string };
	const res = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/contacts/gdpr-delete`, {
		method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ objectId: String(mary.id) }),
	});
	assert.equal(res.status, 204, await res.text());
	await waitFor(async () => targets.every((crm) => contactIn(crm, email).length === 0), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}; still in: ${targets.filter((crm) => contactIn(crm, email).length > 0).join(', ')}\n${await executionReport()}`);
	});
	await quiescent();
	const state = await stateStoreText();
	const bytes = stateStoreBytes();
	for (const pii of [/\bmary\b/, /\bjackson\b/, /mary\.jackson@hubspot\.example/, /4155550126/, /mathematician \(hubspot\)/]) {
		assert.doesNotMatch(state, pii, `the state store still holds ${pii}`);
		assert.doesNotMatch(bytes, pii, `the state file (or its write-ahead log) still holds ${pii}`);
	}
	assert.match(state, /easley/, 'other people\'s data is still there');
});

test('a CRM that never answers a create does not stop the others: its write goes to the error output', async () => {
	const email = 'christine.darden@dynamics.example';
	const others: Crm[] = ['hubspot', 'pipedrive', 'zoho'];
	await quiescent();
	// Salesforce takes every create and never answers: the 20 s Request Timeout ends the wait; the
	// lookup by email finds nothing, the one more create hangs too, and the write goes to the errors.
	sandbox.emulators.salesforce!.setFaults({ seed: 1, hangRate: 1, pathPattern: '/composite/sobjects$|/sobjects/Contact$' });
	try {
		await createInUi('dynamics', 'Christine', 'Darden', email, '+14155550128', 'Mathematician (dynamics)');
		await waitFor(async () => others.every((crm) => contactIn(crm, email).length === 1), 60_000).catch(async (error) => {
			throw new Error(`${(error as Error).message}; present in: ${others.filter((crm) => contactIn(crm, email).length > 0).join(', ') || 'none'}\n${await executionReport()}`);
		});
		let failure: Row | undefined;
		await waitFor(async () => {
			const list = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=10`);
			for (const { id } of list.data) {
				const execution = await n8n.api<{ data: { resultData: { runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Row }> | null> } }>> } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
				const reviewed = (execution.data.resultData.runData['Review queue and errors'] ?? []).flatMap((run) => (run.data?.main[0] ?? []).map((item) => item.json));
				failure ??= reviewed.find((item) => item.crm === 'salesforce' && String(item.error).includes('no response within 20000 ms'));
			}
			return failure !== undefined;
		}, 60_000).catch(async (error) => {
			throw new Error(`${(error as Error).message}: no Salesforce timeout in "Review queue and errors"\n${await executionReport()}`);
		});
		assert.equal(contactIn('salesforce', email).length, 0, 'the hung create was not applied');
	} finally {
		sandbox.emulators.salesforce!.setFaults({});
	}
});
