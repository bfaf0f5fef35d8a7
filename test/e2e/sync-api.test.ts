// The sync API template (workflows/sync-api.json) in real n8n against all five sandbox CRMs:
// bad requests get 400 with reasons and write nothing; create / update / merge / delete land in
// every CRM; the bulk endpoint answers 202 with a job id at once and the records land.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NodeHelpers, type INode, type INodeTypeDescription } from 'n8n-workflow';
import { startSandbox, type Sandbox } from '../../sandbox';
import { sandboxCredentials, SYNC_API_KEY } from './fixtures';
import { postWebhook, REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';

type Crm = 'salesforce' | 'hubspot' | 'pipedrive' | 'zoho' | 'dynamics';
const CRMS: Crm[] = ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'];
type Row = Record<string, unknown>;
interface CrmResult {
	crm: Crm;
	status: string;
	id: string | null;
	error?: string;
}
interface SyncAnswer {
	ok: boolean;
	status: string;
	id: string;
	results: CrmResult[];
	reasons?: Array<{ path: string; message: string }>;
}

const TEMPLATE = join(REPO_ROOT, 'workflows/sync-api.json');
/** The template's webhooks use header auth: the sandbox key of its credential. */
const API_KEY = { [SYNC_API_KEY.name]: SYNC_API_KEY.value };
let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ crms: CRMS });
	n8n = await startN8n({ workflows: [TEMPLATE], credentials: sandboxCredentials(sandbox.urls) });
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

const CONTACT_TYPE: Record<Crm, string> = { hubspot: 'contacts', salesforce: 'Contact', zoho: 'Contacts', dynamics: 'contacts', pipedrive: 'persons' };
const ID_FIELD: Record<Crm, string> = { hubspot: 'id', salesforce: 'Id', zoho: 'id', dynamics: 'contactid', pipedrive: 'id' };
const rows = (crm: Crm): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[CONTACT_TYPE[crm]] ?? [];
const isLive = (r: Row) => !(r.archived || r.IsDeleted || r.is_deleted || r.active_flag === false || r.deleted || r.$deleted || r['@sandbox.deleted']);
const liveContacts = (crm: Crm) => rows(crm).filter(isLive);
const contactById = (crm: Crm, id: string) => liveContacts(crm).find((r) => String(r[ID_FIELD[crm]]) === id);
const counts = () => Object.fromEntries(CRMS.map((crm) => [crm, rows(crm).length]));

function lastNameOf(crm: Crm, row: Row): unknown {
	switch (crm) {
		case 'hubspot':
			return (row.properties as Row).lastname;
		case 'salesforce':
			return row.LastName;
		case 'zoho':
			return row.Last_Name;
		case 'dynamics':
			return row.lastname;
		case 'pipedrive':
			return row.last_name;
	}
}

async function sync(body: unknown): Promise<{ status: number; body: SyncAnswer; ms: number }> {
	const started = performance.now();
	const response = await postWebhook(n8n.baseUrl, 'crm/sync', body, API_KEY);
	const text = await response.text();
	const ms = performance.now() - started;
	let parsed: SyncAnswer;
	try {
		parsed = JSON.parse(text) as SyncAnswer;
	} catch {
		throw new Error(`not JSON (${response.status}): ${text.slice(0, 300)}`);
	}
	return { status: response.status, body: parsed, ms };
}

async function executionCount(): Promise<number> {
	const list = await n8n.api<{ data: unknown[] }>('GET', '/api/v1/executions?workflowId=crmSyncSyncApi01&limit=250');
	return list.data.length;
}

const byCrm = (answer: SyncAnswer) => Object.fromEntries(answer.results.map((r) => [r.crm, r])) as Record<Crm, CrmResult>;

test('the template is expression-free and every package node is a sync API step', () => {
	const text = readFileSync(TEMPLATE, 'utf8');
	assert.ok(!text.includes('{{'), 'no expressions');
	const workflow = JSON.parse(text) as { nodes: Array<{ type: string; parameters: Row }> };
	assert.ok(workflow.nodes.some((n) => n.type === 'n8n-nodes-base.stickyNote'));
	for (const node of workflow.nodes.filter((n) => n.type.startsWith('n8n-nodes-crm-sync.'))) assert.equal(node.parameters.operation, 'syncApiRequest');
});

test('the template imports with every node type loaded, no parameter issues, and is published', async () => {
	const workflow = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { id: string; nodes: INode[] };
	const types = await n8n.api<INodeTypeDescription[]>('GET', '/types/nodes.json');
	for (const node of workflow.nodes) {
		const type = types.find((t) => t.name === node.type && ([] as number[]).concat(t.version).includes(node.typeVersion));
		assert.ok(type, `${node.name}: ${node.type} v${node.typeVersion} is not loaded`);
		const parameters = NodeHelpers.getNodeParameters(type.properties, node.parameters, true, false, node, type);
		const issues = NodeHelpers.getNodeParametersIssues(type.properties, { ...node, parameters: parameters ?? {} }, type);
		assert.equal(issues, null, `${node.name}: ${JSON.stringify(issues)}`);
	}
	const stored = await n8n.api<{ active: boolean; nodes: unknown[] }>('GET', `/api/v1/workflows/${workflow.id}`);
	assert.equal(stored.active, true);
	assert.equal(stored.nodes.length, workflow.nodes.length);
});

test('the template ships with header authentication: a request without the key (or with a wrong one) gets 403 and starts nothing', async () => {
	const before = counts();
	const executions = await executionCount();
	const body = { entity_type: 'contact', operation: 'create', data: { email: 'no-key@example.com', lastName: 'NoKey' } };
	for (const headers of [{}, { [SYNC_API_KEY.name]: 'wrong-key' }] as Array<Record<string, string>>) {
		for (const path of ['crm/sync', 'crm/bulk']) {
			const response = await postWebhook(n8n.baseUrl, path, path === 'crm/bulk' ? { ...body, records: [body.data] } : body, headers);
			assert.equal(response.status, 403, `${path} ${JSON.stringify(headers)}: ${await response.text()}`);
		}
		const status = await fetch(`${n8n.baseUrl}/webhook/crm/bulk?job=x`, { headers });
		assert.equal(status.status, 403);
	}
	assert.equal(await executionCount(), executions, 'no execution started');
	assert.deepEqual(counts(), before, 'nothing written');
});

test('bad requests get 400 with every reason and field path, and nothing is written', async () => {
	const before = counts();
	// Bad JSON sent as application/json: n8n's own body parser answers 422 with the parser's reason
	// before any workflow runs. Sent as text/plain, the body reaches the template and gets our 400.
	const executions = await executionCount();
	const badJson = await postWebhook(n8n.baseUrl, 'crm/sync', '{"entity_type": "contact", "operation": ', API_KEY);
	const badJsonAnswer = (await badJson.json()) as { message: string; hint: string };
	assert.equal(badJson.status, 422, JSON.stringify(badJsonAnswer));
	assert.equal(badJsonAnswer.message, 'Failed to parse request body');
	assert.match(badJsonAnswer.hint, /JSON/);
	assert.equal(await executionCount(), executions, 'no execution started');
	const badText = await postWebhook(n8n.baseUrl, 'crm/sync', '{"entity_type": "contact", "operation": ', { ...API_KEY, 'content-type': 'text/plain' });
	const badTextAnswer = (await badText.json()) as SyncAnswer;
	assert.equal(badText.status, 400, JSON.stringify(badTextAnswer));
	assert.match(badTextAnswer.reasons![0].message, /^the request body is not valid JSON: /);

	const cases: Array<[string, unknown, Array<[string, RegExp]>]> = [
		['wrong entity_type', { entity_type: 'person', operation: 'create', data: { email: 'x@example.com', lastName: 'X' } }, [['entity_type', /must be one of contact, lead, account, opportunity, activity; got "person"/]]],
		['missing data', { entity_type: 'contact', operation: 'create' }, [['data', /is required/]]],
		['invalid email', { entity_type: 'contact', operation: 'create', data: { email: 'not-an-email', lastName: 'X' } }, [['data.email', /"not-an-email" is not a valid email address/]]],
		['update without id', { entity_type: 'contact', operation: 'update', data: { title: 'CTO' } }, [['data.id', /is required for update/]]],
		['merge without ids', { entity_type: 'contact', operation: 'merge', data: {} }, [['data.masterId', /is required for merge/], ['data.mergedIds', /is required for merge/]]],
		[
			'several problems at once',
			{ entity_type: 'contact', operation: 'create', data: { firstName: 'Only', favouriteColour: 'blue' }, options: { force_update: 'yes' } },
			[
				['options.force_update', /must be true or false/],
				['data.favouriteColour', /is not a field of the unified contact model/],
				['data', /needs an email or a lastName/],
				['data.lastName', /is required but missing \(salesforce, zoho, dynamics\)/],
			],
		],
		['not an object', [1, 2, 3], [['', /must be a JSON object/]]],
	];
	for (const [what, body, expected] of cases) {
		const { status, body: answer } = await sync(body);
		assert.equal(status, 400, `${what}: ${JSON.stringify(answer)}`);
		assert.equal(answer.ok, false, what);
		for (const [path, message] of expected) {
			assert.ok(answer.reasons!.some((r) => r.path === path && message.test(r.message)), `${what}: expected ${path} ${message} in ${JSON.stringify(answer.reasons)}`);
		}
		assert.equal(answer.reasons!.length, expected.length, `${what}: ${JSON.stringify(answer.reasons)}`);
	}
	assert.deepEqual(counts(), before, 'no CRM got a record');
});

test('create, update, merge and delete through the API land in all five CRMs', async () => {
	// create, with the app's own id as the unified id
	const created = await sync({ entity_type: 'contact', operation: 'create', data: { id: 'app-100', email: 'ada@example.com', firstName: 'Ada', lastName: 'Byron', title: 'Analyst' } });
	assert.equal(created.status, 200, JSON.stringify(created.body));
	assert.equal(created.body.id, 'app-100');
	const ids = Object.fromEntries(created.body.results.map((r) => [r.crm, r.id])) as Record<Crm, string>;
	for (const crm of CRMS) {
		assert.equal(byCrm(created.body)[crm].status, 'created', `${crm}: ${JSON.stringify(byCrm(created.body)[crm])}`);
		const row = contactById(crm, ids[crm]);
		assert.ok(row, `${crm} has the contact`);
		assert.equal(lastNameOf(crm, row), 'Byron', crm);
	}

	// retrying the same create does not duplicate
	const again = await sync({ entity_type: 'contact', operation: 'create', data: { id: 'app-100', email: 'ada@example.com', lastName: 'Byron' } });
	assert.equal(again.status, 207);
	assert.ok(again.body.results.every((r) => r.status === 'error' && /already exists/.test(r.error!)), JSON.stringify(again.body));

	// update by unified id
	const updated = await sync({ entity_type: 'contact', operation: 'update', data: { id: 'app-100', firstName: 'Ada', lastName: 'Lovelace' } });
	assert.equal(updated.status, 200, JSON.stringify(updated.body));
	for (const crm of CRMS) {
		assert.equal(byCrm(updated.body)[crm].status, 'updated', crm);
		assert.equal(lastNameOf(crm, contactById(crm, ids[crm])!), 'Lovelace', crm);
	}
	// the same values again: unchanged (per the synced snapshot) unless force_update
	const same = await sync({ entity_type: 'contact', operation: 'update', data: { id: 'app-100', firstName: 'Ada', lastName: 'Lovelace' } });
	assert.ok(same.body.results.every((r) => r.status === 'unchanged'), JSON.stringify(same.body));
	const forced = await sync({ entity_type: 'contact', operation: 'update', data: { id: 'app-100', lastName: 'Lovelace' }, options: { force_update: true } });
	assert.ok(forced.body.results.every((r) => r.status === 'updated'), JSON.stringify(forced.body));

	// update by one CRM's id only: that CRM is written, the others report they were not given an id
	const one = await sync({ entity_type: 'contact', operation: 'update', data: { id: { pipedrive: ids.pipedrive }, title: 'Countess' } });
	assert.equal(one.status, 207);
	assert.equal(byCrm(one.body).pipedrive.status, 'updated');
	assert.equal(byCrm(one.body).salesforce.status, 'error');

	// merge a duplicate into the master
	const dup = await sync({ entity_type: 'contact', operation: 'create', data: { id: 'app-101', email: 'ada.l@example.com', lastName: 'Lovelace' } });
	assert.equal(dup.status, 200, JSON.stringify(dup.body));
	const merged = await sync({ entity_type: 'contact', operation: 'merge', data: { masterId: 'app-100', mergedIds: ['app-101'] } });
	const mergedBy = byCrm(merged.body);
	for (const crm of CRMS) {
		assert.equal(mergedBy[crm].status, 'merged', `${crm}: ${JSON.stringify(mergedBy[crm])}`);
		assert.ok(contactById(crm, ids[crm]), `${crm}: the master survives`);
		const loser = contactById(crm, byCrm(dup.body)[crm].id!);
		// Dataverse keeps a merged record, deactivated and pointing at its master.
		if (crm === 'dynamics') assert.deepEqual([loser?.merged, loser?.statecode, loser?._masterid_value], [true, 1, ids.dynamics], 'dynamics: the duplicate is merged into the master');
		else assert.equal(loser, undefined, `${crm}: the duplicate is gone`);
	}

	// delete by unified id
	const deleted = await sync({ entity_type: 'contact', operation: 'delete', data: { id: 'app-100' } });
	assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
	for (const crm of CRMS) {
		assert.equal(byCrm(deleted.body)[crm].status, 'deleted', crm);
		assert.equal(contactById(crm, ids[crm]), undefined, `${crm}: deleted`);
	}
});

test('Pipedrive: an update of lastName alone keeps the first name', async () => {
	const created = await sync({ entity_type: 'contact', operation: 'create', data: { id: 'app-300', email: 'pd@example.com', firstName: 'Pat', lastName: 'Drive' } });
	const id = byCrm(created.body).pipedrive.id!;
	await sync({ entity_type: 'contact', operation: 'update', data: { id: 'app-300', lastName: 'Rive' } });
	const row = contactById('pipedrive', id)!;
	assert.deepEqual([row.first_name, row.last_name], ['Pat', 'Rive']);
});

test('bulk: 202 with a job id at once, then every valid record lands in every CRM; GET shows the outcome', async () => {
	const N = 1000;
	const before = Object.fromEntries(CRMS.map((crm) => [crm, liveContacts(crm).length]));
	const records = Array.from({ length: N }, (_, i) => ({ id: `bulk-${i}`, email: `bulk${i}@example.com`, firstName: 'Bulk', lastName: `Person ${i}` }));
	records.push({ id: 'bulk-bad', email: 'broken', firstName: 'Bad', lastName: 'Email' });
	const body = JSON.stringify({ entity_type: 'contact', operation: 'create', records });
	const started = performance.now();
	const response = await postWebhook(n8n.baseUrl, 'crm/bulk', body, API_KEY);
	const acceptMs = performance.now() - started;
	const receipt = (await response.json()) as { jobId: string; status: string; records: number };
	assert.equal(response.status, 202, JSON.stringify(receipt));
	assert.deepEqual([receipt.status, receipt.records], ['accepted', N + 1]);
	assert.match(receipt.jobId, /^[0-9a-f-]{36}$/);

	let job: { status: string; invalid: number; invalidRecords: Array<{ index: number; reasons: Array<{ path: string }> }>; results: Array<{ crm: Crm; created: number; failed: number }>; durationMs: number } | undefined;
	await waitFor(async () => {
		const res = await fetch(`${n8n.baseUrl}/webhook/crm/bulk?job=${receipt.jobId}`, { headers: API_KEY });
		job = (await res.json()) as typeof job;
		return res.status === 200 && job!.status === 'done';
	}, 600_000);
	assert.equal(job!.invalid, 1);
	assert.deepEqual([job!.invalidRecords[0].index, job!.invalidRecords[0].reasons[0].path], [N, `records[${N}].email`]);
	for (const crm of CRMS) {
		const summary = job!.results.find((r) => r.crm === crm);
		assert.deepEqual([summary?.created, summary?.failed], [N, 0], `${crm}: ${JSON.stringify(summary)}`);
		assert.equal(liveContacts(crm).length, before[crm] + N, crm);
	}
	const unknown = await fetch(`${n8n.baseUrl}/webhook/crm/bulk?job=no-such-job`, { headers: API_KEY });
	assert.equal(unknown.status, 404);
	const tooBig = await postWebhook(n8n.baseUrl, 'crm/bulk', { entity_type: 'contact', operation: 'create', records: [{ email: 'a@b.co', lastName: 'x'.repeat(10.5 * 1024 * 1024) }] }, API_KEY);
	assert.equal(tooBig.status, 400, await tooBig.text());
	console.log(`bulk: ${N} contacts accepted in ${acceptMs.toFixed(0)} ms (202), all five CRMs written ${job!.durationMs} ms after acceptance (${cpus().length} CPUs)`);
});

test('figures: sync request latency (create + update in five CRMs)', async () => {
	const times: number[] = [];
	for (let i = 0; i < 20; i++) {
		const created = await sync({ entity_type: 'contact', operation: 'create', data: { id: `lat-${i}`, email: `lat${i}@example.com`, lastName: `Latency ${i}` } });
		assert.equal(created.status, 200, JSON.stringify(created.body));
		times.push(created.ms);
	}
	const invalid: number[] = [];
	for (let i = 0; i < 20; i++) invalid.push((await sync({ entity_type: 'contact', operation: 'create', data: { email: 'bad' } })).ms);
	const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))].toFixed(0);
	console.log(`sync create in 5 CRMs: P50 ${pct(times, 50)} ms, P95 ${pct(times, 95)} ms; 400 answer: P50 ${pct(invalid, 50)} ms (${cpus().length} CPUs, sequential, sandbox on loopback)`);
});
