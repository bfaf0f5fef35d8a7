// The activity-sync template in a real n8n against the five sandbox CRMs. Contacts are put into
// the CRMs the way a sync does it, through Unified CRM Upsert with one unified id (which records
// the cross-reference); then activities logged in a source CRM are created in the targets
// attached to that contact, one whose contact arrives later waits for it, and one whose contact
// never arrives ends in the error branch with its reason; the targets that can be written are
// written at once, only the others wait.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { CREDENTIAL_REFS, SANDBOX_WEBHOOK_SECRETS, SETTINGS_CREDENTIAL_REF, sandboxCredentials } from './fixtures';
import { batchWorkflow, postWebhook, REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';
import { SANDBOX_OWN_CHANGE_MARKERS, triggerUrl, type WorkflowJson } from './subscriptions';
import { assertCompactTemplate } from './template-shape';

type Crm = 'hubspot' | 'pipedrive' | 'salesforce' | 'zoho' | 'dynamics';
type Row = Record<string, unknown>;
type Template = WorkflowJson & { id: string; connections: Record<string, { main: Array<Array<{ node: string; index: number }>> }> };

const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/activity-sync.json'), 'utf8')) as Template;
const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;

/** Short waits for the test: retry every second, give up after 20 s. */
const RETRY_LIMIT_S = 20;

/** The template as a user sets it up for this sandbox, with a short retry wait and limit. */
function configured(): Template {
	const copy = JSON.parse(JSON.stringify(template)) as Template;
	// Our own writes carry these identities. HubSpot keeps the placeholder: the test's HubSpot
	// engagement is logged through the API with the sandbox's one private-app token, standing in
	// for another integration (a calling app), so it must not count as our own change.
	for (const node of copy.nodes) {
		if (node.type === 'n8n-nodes-crm-sync.crmSyncTrigger') {
			for (const crm of ['pipedrive', 'salesforce', 'dynamics'] as const) node.parameters[`${crm}OwnChangeMarkers`] = SANDBOX_OWN_CHANGE_MARKERS[crm];
		}
		if (node.type === 'n8n-nodes-base.wait') node.parameters = { ...node.parameters, amount: 1 };
		if (node.type === 'n8n-nodes-crm-sync.unifiedCrmUpsert' && node.parameters.missingReferences === 'retry') node.parameters.retryLimitSeconds = RETRY_LIMIT_S;
	}
	return copy;
}

/** Webhook → Split Out → Unified CRM Upsert of unified contacts into one CRM, on the templates' settings credential (their namespace). */
function contactUpsert(crm: Crm) {
	const ref = CREDENTIAL_REFS[crm];
	return batchWorkflow(`activitySyncContacts${crm}`, `activity-sync-contacts-${crm}`, {
		name: 'Upsert contacts',
		type: 'unifiedCrmUpsert',
		parameters: { crm, entity: 'contact', operation: 'upsert', inputFormat: 'unified', matchKey: 'email', recordPath: 'record', stateBackend: 'settings', options: {} },
		extra: {
			credentials: {
				[ref.type]: { id: ref.id, name: ref.name },
				[SETTINGS_CREDENTIAL_REF.type]: { id: SETTINGS_CREDENTIAL_REF.id, name: SETTINGS_CREDENTIAL_REF.name },
			},
		},
	});
}

let sandbox: Sandbox;
let n8n: N8nInstance;
const hookUrl = (crm: Crm) => triggerUrl(n8n.baseUrl, trigger, crm);
const WRITER = 'Write activity to the other CRMs';
const rows = (crm: Crm, type: string): Row[] => ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []);

/** The contact with this email in a CRM (its own shape). */
function contactId(crm: Crm, email: string): string | undefined {
	const match: Record<Crm, [string, (r: Row) => boolean, string]> = {
		hubspot: ['contacts', (r) => (r.properties as Row)?.email === email, 'id'],
		salesforce: ['Contact', (r) => String(r.Email).toLowerCase() === email, 'Id'],
		pipedrive: ['persons', (r) => JSON.stringify(r.emails ?? '').toLowerCase().includes(email), 'id'],
		zoho: ['Contacts', (r) => String(r.Email).toLowerCase() === email, 'id'],
		dynamics: ['contacts', (r) => String(r.emailaddress1).toLowerCase() === email, 'contactid'],
	};
	const [type, is, key] = match[crm];
	const row = rows(crm, type).find(is);
	return row ? String(row[key]) : undefined;
}

/** Creates (or finds) the contact in these CRMs under one unified id, as a contact sync does. */
async function syncContact(unifiedId: string, first: string, last: string, crms: Crm[]): Promise<Partial<Record<Crm, string>>> {
	const email = `${first}.${last}@example.com`.toLowerCase();
	for (const crm of crms) {
		const res = await postWebhook(n8n.baseUrl, `activity-sync-contacts-${crm}`, [{ unifiedId, record: { email, firstName: first, lastName: last } }]);
		assert.equal(res.status, 200, `${crm}: ${await res.text()}`);
	}
	await waitFor(async () => crms.every((crm) => contactId(crm, email) !== undefined), 30_000);
	return Object.fromEntries(crms.map((crm) => [crm, contactId(crm, email)]));
}

/** An activity logged by a person in Pipedrive's UI (user 2, change_source "app"). */
async function pipedriveActivity(body: Record<string, unknown>): Promise<Row> {
	const res = await fetch(`${sandbox.urls.pipedrive}/api/v2/activities`, {
		method: 'POST',
		headers: { 'x-api-token': 'sandbox-token', 'x-sandbox-change-source': 'app', 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	assert.ok(res.ok, text);
	return (JSON.parse(text) as { data: Row }).data;
}

/** The unified activity an error item of the writer carries (the item it could not write, under `item`). */
const activityOf = (error: Row) => ((error.item as Row | undefined)?.record as Row | undefined);

const salesforceTasks = (subject: string) => rows('salesforce', 'Task').filter((t) => t.Subject === subject && !t.IsDeleted);

/** Every item that reached the error branch, across the template's executions (newest first). */
async function errorItems(): Promise<Row[]> {
	const list = await n8n.api<{ data: Array<{ id: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=100`);
	const out: Row[] = [];
	for (const { id } of list.data) {
		const execution = await n8n.api<{ data?: { resultData?: { runData?: Record<string, Array<{ data?: { main: Array<Array<{ json: Row }> | null> } }>> } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
		for (const run of execution.data?.resultData?.runData?.['Activity errors'] ?? []) out.push(...(run.data?.main[0] ?? []).map((i) => i.json));
	}
	return out;
}

/** Per execution: status and each node's item counts per output, to say where an activity stopped. */
async function executionReport(): Promise<string> {
	const list = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&limit=20`);
	const running = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${template.id}&status=running&limit=20`).catch((e: Error) => ({ data: [{ id: e.message, status: '?' }] }));
	list.data.unshift(...running.data);
	const lines: string[] = [];
	for (const { id, status } of list.data) {
		const execution = await n8n.api<{ data?: { resultData?: { error?: { message: string }; runData?: Record<string, Array<{ error?: { message: string }; data?: { main: Array<unknown[] | null> } }>> } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
		const runData = execution.data?.resultData?.runData ?? {};
		const nodes = Object.entries(runData).map(([name, runs]) => `${name}[${runs.map((r) => (r.error ? `ERROR ${r.error.message}` : (r.data?.main ?? []).map((o) => o?.length ?? 0).join('/'))).join(' ')}]`);
		lines.push(`#${id} ${status}: ${nodes.join(', ')}`);
	}
	const deliveries = sandbox.emulators.pipedrive!.deliveries() as unknown as Row[];
	lines.push(`Pipedrive webhook deliveries: ${JSON.stringify(deliveries.map((d) => d.status))}`);
	return lines.join('\n');
}

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	n8n = await startN8n({
		workflowObjects: [configured(), contactUpsert('pipedrive'), contactUpsert('salesforce'), contactUpsert('hubspot')] as unknown as Array<Record<string, unknown>>,
		credentials: sandboxCredentials(sandbox.urls),
	});
	for (const crm of ['pipedrive', 'hubspot'] as const) {
		await waitFor(async () => (await fetch(hookUrl(crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
	// The trigger registered its Pipedrive webhook on activation (as shipped); HubSpot is subscribed in its own test.
	const webhooks = async () => (await (await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, { headers: { 'x-api-token': 'sandbox-token' } })).json()) as { data: Array<{ subscription_url: string }> };
	await waitFor(async () => (await webhooks()).data.some((w) => w.subscription_url === hookUrl('pipedrive')), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}: no Pipedrive webhook for ${hookUrl('pipedrive')}: ${JSON.stringify(await webhooks())}`);
	});
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test('the template is expression-free, has sticky notes, and loops Retry Later through a static Wait', () => {
	assertCompactTemplate(template, 'crm-sync-activity');
	assert.ok(template.nodes.filter((n) => n.type === 'n8n-nodes-base.stickyNote').length >= 3);
	// Trigger → Field Mapper (source from each event) → Sync to CRMs, which resolves references per target.
	const mapper = template.nodes.find((n) => n.name === template.connections[trigger.name].main[0][0].node)!;
	assert.equal(mapper.type, 'n8n-nodes-crm-sync.fieldMapper');
	assert.deepEqual([mapper.parameters.direction, (mapper.parameters.options as Row).useEventSource], ['toUnified', true]);
	const [mapped, unmappable] = template.connections[mapper.name].main;
	assert.equal(mapped[0].node, WRITER);
	assert.equal(unmappable[0].node, 'Activity errors');
	const writer = template.nodes.find((n) => n.name === WRITER)!;
	assert.equal(writer.parameters.operation, 'syncToCrms', 'written by the event operation, to every other CRM');
	assert.deepEqual([writer.parameters.writeTo, writer.parameters.missingReferences, writer.parameters.retryLimitSeconds], ['others', 'retry', 240]);
	assert.deepEqual([writer.parameters.crm].flat().sort(), ['dynamics', 'hubspot', 'pipedrive', 'salesforce', 'zoho']);
	const [, errors, retry] = template.connections[WRITER].main;
	assert.equal(errors[0].node, 'Activity errors');
	const wait = template.nodes.find((n) => n.name === retry[0].node)!;
	assert.equal(wait.type, 'n8n-nodes-base.wait');
	assert.deepEqual([wait.parameters.amount, wait.parameters.unit], [15, 'seconds'], 'a static wait');
	assert.equal(template.connections[wait.name].main[0][0].node, WRITER, 'the Wait loops back into the writer');
});

test('a call logged in Pipedrive is created in Salesforce, attached to the same contact', async () => {
	const ids = await syncContact('u-ada', 'Ada', 'Lovelace', ['pipedrive', 'salesforce']);
	const started = Date.now();
	await pipedriveActivity({ subject: 'Call Ada about engines', type: 'call', person_id: Number(ids.pipedrive), due_date: '2026-03-05', due_time: '14:30', duration: '00:30' });
	await waitFor(async () => salesforceTasks('Call Ada about engines').length > 0, 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	// HubSpot, Zoho and Dynamics have no Ada: they wait for her, Salesforce does not wait with them.
	assert.ok(Date.now() - started < RETRY_LIMIT_S * 1000, `written to Salesforce after ${Date.now() - started} ms, not at once`);
	const [task] = salesforceTasks('Call Ada about engines');
	assert.equal(task.WhoId, ids.salesforce, 'WhoId is the Salesforce id of the same contact');
	assert.equal(task.TaskSubtype, 'Call');
	assert.equal(task.ActivityDate, '2026-03-05');
	assert.equal(task.CallDurationInSeconds, 1800);
	assert.equal(task.OwnerId === undefined || !String(task.OwnerId).match(/^\d+$/), true, 'no Pipedrive owner id copied into Salesforce');
});

test('a meeting is created in Salesforce with high priority', async () => {
	const ids = await syncContact('u-ada', 'Ada', 'Lovelace', ['pipedrive', 'salesforce']);
	await pipedriveActivity({ subject: 'Engine demo', type: 'meeting', person_id: Number(ids.pipedrive), due_date: '2026-03-06', due_time: '09:00' });
	await waitFor(async () => salesforceTasks('Engine demo').length > 0, 60_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const [task] = salesforceTasks('Engine demo');
	assert.deepEqual([task.Type, task.Priority, task.WhoId], ['Meeting', 'High', ids.salesforce]);
});

test('an activity whose contact arrives later is created once the contact is synced', async () => {
	const ids = await syncContact('u-grace', 'Grace', 'Hopper', ['pipedrive']);
	await pipedriveActivity({ subject: 'Call Grace about COBOL', type: 'call', person_id: Number(ids.pipedrive), due_date: '2026-03-07', due_time: '11:00' });
	// Several retry rounds pass without the contact: nothing is written to Salesforce.
	await new Promise((r) => setTimeout(r, 4000));
	assert.equal(salesforceTasks('Call Grace about COBOL').length, 0, 'not written without its contact');
	const later = await syncContact('u-grace', 'Grace', 'Hopper', ['salesforce']);
	await waitFor(async () => salesforceTasks('Call Grace about COBOL').length > 0, (RETRY_LIMIT_S + 30) * 1000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const tasks = salesforceTasks('Call Grace about COBOL');
	assert.equal(tasks.length, 1, 'created once');
	assert.equal(tasks[0].WhoId, later.salesforce);
	// The retries go on for the CRMs still without Grace, and only for them: Salesforce is not written again, nor given up on.
	let gaveUp: Row[] = [];
	await waitFor(async () => {
		gaveUp = (await errorItems()).filter((i) => activityOf(i)?.subject === 'Call Grace about COBOL');
		return gaveUp.length >= 3;
	}, (RETRY_LIMIT_S + 40) * 1000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	assert.deepEqual(gaveUp.map((i) => i.crm).sort(), ['dynamics', 'hubspot', 'zoho']);
	assert.equal(salesforceTasks('Call Grace about COBOL').length, 1, 'still one Task');
});

test('an activity whose contact never arrives ends in the error output with its reason', async () => {
	const ids = await syncContact('u-linus', 'Linus', 'Pauling', ['pipedrive']);
	const started = Date.now();
	await pipedriveActivity({ subject: 'Call Linus about vitamins', type: 'call', person_id: Number(ids.pipedrive), due_date: '2026-03-08', due_time: '08:00' });
	let reasons: Row[] = [];
	await waitFor(async () => {
		reasons = (await errorItems()).filter((i) => String(i.error ?? '').includes(`pipedrive contact ${ids.pipedrive} has no salesforce record`));
		return reasons.length > 0;
	}, (RETRY_LIMIT_S + 40) * 1000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const elapsed = (Date.now() - started) / 1000;
	const [item] = reasons;
	assert.match(String(item.error), /contactIds: pipedrive contact \d+ has no salesforce record \(unified id u-linus is not linked to salesforce\); gave up after \d+ attempts over \d+ s \(limit 20 s\)/);
	assert.deepEqual([item.crm, item.code], ['salesforce', 'MISSING_REFERENCE']);
	// Every target retried on its own (in parallel); the limit counts from the change for all.
	const ofThisActivity = (await errorItems()).filter((i) => activityOf(i)?.subject === 'Call Linus about vitamins');
	assert.deepEqual(ofThisActivity.map((i) => i.crm).sort(), ['dynamics', 'hubspot', 'salesforce', 'zoho']);
	for (const i of ofThisActivity) assert.match(String(i.error), new RegExp(`has no ${String(i.crm)} record`));
	assert.ok(Math.max(...ofThisActivity.map((i) => Number(i.attempts))) >= 5, `attempts: ${ofThisActivity.map((i) => i.attempts).join(', ')}`);
	// The limit counts from the change's time in Pipedrive, which has whole seconds: up to 1 s earlier than `started`.
	assert.ok(elapsed >= RETRY_LIMIT_S - 1, `gave up after ${elapsed} s, not before the limit`);
	assert.equal(activityOf(item)?.subject, 'Call Linus about vitamins', 'the error item carries the activity');
	assert.equal(salesforceTasks('Call Linus about vitamins').length, 0);
});

test('an activity logged in HubSpot appears in Salesforce attached to the right contact', async () => {
	const ids = await syncContact('u-ada', 'Ada', 'Lovelace', ['hubspot', 'salesforce']);
	sandbox.emulators.hubspot!.addSubscription({
		url: hookUrl('hubspot'), clientSecret: SANDBOX_WEBHOOK_SECRETS.hubspot.secret,
		types: ['object.creation', 'object.propertyChange', 'object.associationChange', 'object.deletion'],
	});
	const res = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/notes`, {
		method: 'POST',
		headers: { authorization: 'Bearer pat-sandbox', 'content-type': 'application/json' },
		body: JSON.stringify({
			properties: { hs_note_body: 'Ada asked for the engine drawings', hs_timestamp: String(Date.parse('2026-03-09T10:00:00Z')) },
			associations: [{ to: { id: ids.hubspot }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 202 }] }],
		}),
	});
	const text = await res.text();
	assert.ok(res.ok, text);
	const noteId = String((JSON.parse(text) as { id: string }).id);
	await waitFor(async () => rows('salesforce', 'Task').some((t) => t.Description === 'Ada asked for the engine drawings'), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const task = rows('salesforce', 'Task').find((t) => t.Description === 'Ada asked for the engine drawings')!;
	assert.equal(task.Type, 'Note');
	assert.equal(task.WhoId, ids.salesforce);

	// An edit in HubSpot updates that Task (found by the cross-reference): no second copy.
	const edit = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/notes/${noteId}`, {
		method: 'PATCH',
		headers: { authorization: 'Bearer pat-sandbox', 'content-type': 'application/json' },
		body: JSON.stringify({ properties: { hs_note_body: 'Ada asked for the engine drawings (sent)' } }),
	});
	assert.ok(edit.ok, await edit.text());
	await waitFor(async () => rows('salesforce', 'Task').some((t) => t.Description === 'Ada asked for the engine drawings (sent)'), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
	const copies = rows('salesforce', 'Task').filter((t) => String(t.Description).startsWith('Ada asked for the engine drawings') && !t.IsDeleted);
	assert.deepEqual(copies.map((t) => t.Id), [task.Id], 'the synced Task was updated, not copied');
	assert.equal(copies[0].WhoId, ids.salesforce);

	// A delete in HubSpot deletes that Task (the delete event passes the mapper unmapped).
	const removed = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/notes/${noteId}`, { method: 'DELETE', headers: { authorization: 'Bearer pat-sandbox' } });
	assert.ok(removed.ok, await removed.text());
	await waitFor(async () => !rows('salesforce', 'Task').some((t) => t.Id === task.Id && !t.IsDeleted), 30_000).catch(async (error) => {
		throw new Error(`${(error as Error).message}\n${await executionReport()}`);
	});
});
