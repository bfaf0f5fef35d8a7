// CRM Sync Poll Trigger in a real n8n: a published workflow polls the HubSpot emulator; each poll
// starts an execution with at most "Max Records per Poll" SyncEvents, the next polls continue
// where the stored position stopped (embedded store in the n8n user folder), every contact
// arrives exactly once, and a later edit arrives as one update event.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { createConnector, type CrmConnector } from '../../lib/connectors';
import { CREDENTIAL_REFS, sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';

const WORKFLOW_ID = 'crmSyncPollE2e001';
const NODE_FILE = 'dist/nodes/CrmSyncPollTrigger/CrmSyncPollTrigger.node.js';
const CONTACTS = 20;
const MAX_RECORDS = 12;

let sandbox: Sandbox;
let n8n: N8nInstance;
let hubspot: CrmConnector;
const ids: string[] = [];

const workflow = {
	id: WORKFLOW_ID,
	name: 'CRM Sync Poll Trigger e2e',
	active: false,
	settings: { executionOrder: 'v1' },
	pinData: {},
	nodes: [
		{
			id: 'poll-trigger',
			name: 'Poll HubSpot',
			type: 'n8n-nodes-crm-sync.crmSyncPollTrigger',
			typeVersion: 1,
			position: [0, 0],
			parameters: {
				// n8n polls once on activation, then at most once a minute (it refuses sub-minute crons).
				pollTimes: { item: [{ mode: 'everyMinute' }] },
				crm: 'hubspot',
				entity: 'contact',
				mode: 'incremental',
				maxRecords: MAX_RECORDS,
				syncNamespace: 'poll-e2e',
			},
			credentials: { [CREDENTIAL_REFS.hubspot.type]: { id: CREDENTIAL_REFS.hubspot.id, name: CREDENTIAL_REFS.hubspot.name } },
		},
	],
	connections: {},
};

interface Event {
	eventId: string;
	source: string;
	entity: string;
	operation: string;
	recordId: string;
	occurredAt: string;
	record?: Record<string, unknown>;
}

before(async () => {
	// n8n loads only the nodes listed in the package manifest; without the entry the workflow cannot activate.
	const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { n8n: { nodes: string[] } };
	assert.ok(manifest.n8n.nodes.includes(NODE_FILE), `package.json n8n.nodes must list ${NODE_FILE}`);
	sandbox = await startSandbox({ crms: ['hubspot'] });
	hubspot = createConnector('hubspot', { accessToken: 'pat-e2e-writer', baseUrl: sandbox.urls.hubspot });
	const made = await hubspot.create('contact', Array.from({ length: CONTACTS }, (_, i) => ({ ref: i, fields: { email: `poll${i}@e2e.example`, lastname: `Poll ${i}` } })));
	for (const outcome of made) {
		assert.equal(outcome.status, 'created', JSON.stringify(outcome));
		ids.push((outcome as { id: string }).id);
	}
	n8n = await startN8n({ workflowObjects: [workflow], credentials: sandboxCredentials(sandbox.urls) });
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

/** Trigger output of every finished execution of the workflow, oldest first. */
async function executions(): Promise<Event[][]> {
	const list = await n8n.api<{ data: Array<{ id: string; stoppedAt?: string; status?: string }> }>('GET', `/api/v1/executions?workflowId=${WORKFLOW_ID}&limit=100`);
	const out: Event[][] = [];
	for (const execution of list.data.filter((e) => e.stoppedAt).reverse()) {
		const full = await n8n.api<{ status?: string; data: { resultData: { runData: Record<string, Array<{ data: { main: Array<Array<{ json: Event }>> } }>> } } }>(
			'GET',
			`/api/v1/executions/${execution.id}?includeData=true`,
		);
		assert.equal(full.status ?? 'success', 'success', `execution ${execution.id} failed`);
		out.push(full.data.resultData.runData['Poll HubSpot'][0].data.main[0].map((item) => item.json));
	}
	return out;
}

test('polls page through the contacts at most Max Records per execution, each exactly once, then pick up an edit', async () => {
	let runs: Event[][] = [];
	await waitFor(async () => {
		runs = await executions();
		return runs.flat().length >= CONTACTS;
	}, 240_000);
	for (const run of runs) assert.ok(run.length <= MAX_RECORDS, `an execution carried ${run.length} events`);
	assert.ok(runs.length >= Math.ceil(CONTACTS / MAX_RECORDS));
	const events = runs.flat();
	assert.deepEqual(events.map((e) => e.recordId).sort(), [...ids].sort(), 'each contact exactly once');
	for (const event of events) {
		assert.equal(event.source, 'hubspot');
		assert.equal(event.entity, 'contact');
		assert.equal(event.operation, 'create');
		assert.match(String(event.record?.email), /^poll\d+@e2e\.example$/);
	}

	const before = runs.length;
	const [edit] = await hubspot.update('contact', [{ ref: 0, id: ids[7], fields: { lastname: 'Edited in HubSpot' } }]);
	assert.equal(edit.status, 'updated');
	await waitFor(async () => {
		runs = await executions();
		return runs.length > before;
	}, 130_000);
	const later = runs.slice(before).flat();
	assert.deepEqual(later.map((e) => [e.recordId, e.operation, e.record?.lastname]), [[ids[7], 'update', 'Edited in HubSpot']]);
});
