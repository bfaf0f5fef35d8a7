// CRM Sync Trigger in a real n8n: webhooks signed by the HubSpot and Pipedrive emulators and
// hand-made ones for every CRM. Checks which requests start executions and what they contain, that
// one node serves the paths of the CRMs it has ticked and answers 404 on the others, and that the
// secrets come from the webhook credentials.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { CREDENTIAL_REFS, sandboxCredentials, WEBHOOK_CREDENTIAL_REFS } from './fixtures';
import { startN8n, waitFor, type CredentialFixture, type N8nInstance } from './harness';

type Crm = keyof typeof WEBHOOK_CREDENTIAL_REFS;
const WORKFLOW_ID = 'crmSyncTriggerE2e';
const SECRET = 'e2e-current-secret';
const OLD_SECRET = 'e2e-previous-secret';
const SF_ORG = '00D5g000004ABCDEAA';

/** This test's webhook credentials: the current and the previous secret of each CRM. */
const webhookCredential = (crm: Crm, data: Record<string, unknown> = { secret: SECRET, previousSecret: OLD_SECRET }, id = `e2eWebhook${crm}`): CredentialFixture => ({
	id,
	name: `${crm} webhook (e2e ${id})`,
	type: WEBHOOK_CREDENTIAL_REFS[crm].type,
	data: crm === 'pipedrive' ? { basicAuthUser: 'crm-sync', ...data } : data,
});
const WEBHOOK_CREDENTIALS = (Object.keys(WEBHOOK_CREDENTIAL_REFS) as Crm[]).map((crm) => webhookCredential(crm));
const usesWebhookCredentials = (crms: Crm[], credentials = WEBHOOK_CREDENTIALS) =>
	Object.fromEntries(credentials.filter((c) => crms.some((crm) => WEBHOOK_CREDENTIAL_REFS[crm].type === c.type)).map((c) => [c.type, { id: c.id, name: c.name }]));

let nodeCount = 0;
const trigger = (crms: Crm[], name: string, webhookId: string, parameters: Record<string, unknown>) => ({
	id: `0e2e0000-0000-4000-8000-0000000000${10 + nodeCount}`,
	name,
	type: 'n8n-nodes-crm-sync.crmSyncTrigger',
	typeVersion: 1,
	position: [0, 200 * nodeCount++],
	webhookId,
	parameters: { crm: crms, ...parameters },
	credentials: usesWebhookCredentials(crms),
});

/** The node, and its webhook id, that serves each CRM in the workflow below. */
const SERVED_BY: Record<Crm, { node: string; webhookId: string }> = {
	hubspot: { node: 'HubSpot and Pipedrive', webhookId: 'e2e-hp' },
	pipedrive: { node: 'HubSpot and Pipedrive', webhookId: 'e2e-hp' },
	salesforce: { node: 'Salesforce', webhookId: 'e2e-salesforce' },
	zoho: { node: 'Zoho', webhookId: 'e2e-zoho' },
	dynamics: { node: 'Dynamics', webhookId: 'e2e-dynamics' },
};

const workflow = {
	id: WORKFLOW_ID,
	name: 'CRM Sync Trigger e2e',
	active: false,
	settings: { executionOrder: 'v1' },
	pinData: {},
	connections: {},
	nodes: [
		// Two CRMs on one node, each on its own path. Subscriptions are made by the test itself
		// (registration on activation has its own e2e test); the webhooks' own events, no reads
		// (fetching: contact-sync.test.ts).
		trigger(['hubspot', 'pipedrive'], 'HubSpot and Pipedrive', 'e2e-hp', { maxBodyKb: 64, fetchRecords: [], registerSubscription: false }),
		trigger(['salesforce'], 'Salesforce', 'e2e-salesforce', { salesforceOrganizationIds: SF_ORG, includeRaw: true }),
		// fetchRecords as a workflow saved before it took CRMs: false = no CRM's records are read.
		trigger(['zoho'], 'Zoho', 'e2e-zoho', { entities: ['contact'], registerSubscription: false, fetchRecords: false }),
		// crm as a workflow saved when the node served one CRM: a string.
		{ ...trigger(['dynamics'], 'Dynamics', 'e2e-dynamics', { dynamicsOwnChangeMarkers: 'a1b2c3d4-0000-4000-8000-000000000001' }), parameters: { crm: 'dynamics', dynamicsOwnChangeMarkers: 'a1b2c3d4-0000-4000-8000-000000000001' } },
	],
};

// A Salesforce trigger with an Organization ID allow-list and a webhook credential without a
// secret: refused at activation (org ids are not secret). Published by the harness, like the
// others, and never live.
const UNSECURED_WORKFLOW = 'crmSyncTriggerUnsecuredE2e';
const EMPTY_SALESFORCE_CREDENTIAL = webhookCredential('salesforce', { secret: '' }, 'e2eWebhookEmpty');
const unsecuredWorkflow = {
	id: UNSECURED_WORKFLOW,
	name: 'CRM Sync Trigger e2e: Salesforce without a secret',
	active: false,
	settings: { executionOrder: 'v1' },
	pinData: {},
	connections: {},
	nodes: [
		{
			...trigger(['salesforce'], 'Salesforce', 'e2e-salesforce-unsecured', { salesforceOrganizationIds: SF_ORG }),
			credentials: usesWebhookCredentials(['salesforce'], [EMPTY_SALESFORCE_CREDENTIAL]),
		},
	],
};

// Echo test: Unified CRM Upsert writes to HubSpot and records fingerprints in namespace
// 'echo-e2e'; a trigger in another workflow, same namespace, gets HubSpot's webhook for that write.
const ECHO_TRIGGER_WORKFLOW = 'crmSyncEchoTriggerE2e';
const echoWorkflows = [
	{
		id: 'crmSyncEchoUpsertE2e', name: 'Echo e2e: upsert', active: false, settings: { executionOrder: 'v1' }, pinData: {},
		nodes: [
			{ id: '0e2e0000-0000-4000-8000-000000000020', name: 'Receive', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'e2e-echo-upsert', parameters: { httpMethod: 'POST', path: 'e2e-echo-upsert', responseMode: 'lastNode', responseData: 'allEntries', options: {} } },
			{
				id: '0e2e0000-0000-4000-8000-000000000021', name: 'Upsert', type: 'n8n-nodes-crm-sync.unifiedCrmUpsert', typeVersion: 1, position: [260, 0],
				parameters: { crm: 'hubspot', entity: 'contact', operation: 'upsert', matchKey: 'email', recordPath: 'body', syncNamespace: 'echo-e2e', options: {} },
				credentials: { hubSpotCrmSyncApi: { id: CREDENTIAL_REFS.hubspot.id, name: CREDENTIAL_REFS.hubspot.name } },
			},
		],
		connections: { Receive: { main: [[{ node: 'Upsert', type: 'main', index: 0 }]] } },
	},
	{
		id: ECHO_TRIGGER_WORKFLOW, name: 'Echo e2e: trigger', active: false, settings: { executionOrder: 'v1' }, pinData: {}, connections: {},
		nodes: [trigger(['hubspot'], 'HubSpot echo', 'e2e-echo', { syncNamespace: 'echo-e2e', fetchRecords: [] })],
	},
];

let sandbox: Sandbox;
let n8n: N8nInstance;
const url = (crm: Crm) => `${n8n.baseUrl}/webhook/${SERVED_BY[crm].webhookId}/${crm}`;

interface Execution {
	id: string;
	stoppedAt?: string;
}

async function executions(workflowId = WORKFLOW_ID): Promise<Execution[]> {
	const list = await n8n.api<{ data: Execution[] }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=250`);
	return list.data;
}

/** Items the given trigger node emitted in one execution. */
async function items(executionId: string, node: string, output = 0): Promise<Array<Record<string, unknown>>> {
	const execution = await n8n.api<{ data: { resultData: { runData: Record<string, Array<{ data: { main: Array<Array<{ json: Record<string, unknown> }>> } }>> } } }>(
		'GET',
		`/api/v1/executions/${executionId}?includeData=true`,
	);
	return (execution.data.resultData.runData[node][0].data.main[output] ?? []).map((item) => item.json);
}

/** Runs `action`, then returns the executions it started (waits until they are finished). */
async function newExecutions(action: () => Promise<void>, expected: number, workflowId = WORKFLOW_ID): Promise<Execution[]> {
	const executions_ = () => executions(workflowId);
	const before = new Set((await executions_()).map((e) => e.id));
	await action();
	let fresh: Execution[] = [];
	if (expected > 0) {
		await waitFor(async () => {
			fresh = (await executions_()).filter((e) => !before.has(e.id));
			return fresh.length >= expected && fresh.every((e) => e.stoppedAt);
		}, 45_000);
	} else {
		// Nothing may start: give n8n time to show one if it wrongly did.
		await new Promise((r) => setTimeout(r, 700));
	}
	fresh = (await executions_()).filter((e) => !before.has(e.id));
	assert.equal(fresh.length, expected, `expected ${expected} new executions, got ${fresh.length}`);
	return fresh;
}

async function post(crm: Crm, body: string, headers: Record<string, string>, query = ''): Promise<Response> {
	let response: Response | undefined;
	await waitFor(async () => {
		response = await fetch(url(crm) + query, { method: 'POST', headers, body });
		return response.status !== 404;
	}, 20_000);
	return response!;
}

function hubspotHeaders(body: string, opts: { secret?: string; timestamp?: number } = {}): Record<string, string> {
	const timestamp = String(opts.timestamp ?? Date.now());
	return {
		'content-type': 'application/json',
		'x-hubspot-signature-v3': createHmac('sha256', opts.secret ?? SECRET).update(`POST${url('hubspot')}${body}${timestamp}`).digest('base64'),
		'x-hubspot-request-timestamp': timestamp,
	};
}

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot', 'pipedrive'] });
	n8n = await startN8n({
		workflowObjects: [workflow, ...echoWorkflows, unsecuredWorkflow],
		credentials: [...sandboxCredentials(sandbox.urls), ...WEBHOOK_CREDENTIALS, EMPTY_SALESFORCE_CREDENTIAL],
	});
	// Emulators deliver once and then back off: wait until every path is live (401, not 404).
	for (const crm of Object.keys(SERVED_BY) as Crm[]) {
		await waitFor(async () => (await fetch(url(crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

describe('one node, several CRMs', () => {
	test('a CRM that is not ticked answers 404 on its path and starts nothing; the ticked ones are live', async () => {
		await newExecutions(async () => {
			for (const [webhookId, crm] of [['e2e-hp', 'salesforce'], ['e2e-hp', 'zoho'], ['e2e-salesforce', 'hubspot'], ['e2e-dynamics', 'pipedrive']]) {
				const res = await fetch(`${n8n.baseUrl}/webhook/${webhookId}/${crm}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
				assert.equal(res.status, 404, `${webhookId}/${crm}`);
				assert.match(await res.text(), new RegExp(`${crm} is not enabled on this trigger`), 'answered by the node, not by n8n');
			}
			// Both paths of the two-CRM node check their requests (here: unsigned, 401).
			for (const crm of ['hubspot', 'pipedrive'] as const) assert.equal((await post(crm, '[]', { 'content-type': 'application/json' })).status, 401, crm);
		}, 0);
	});
});

describe('HubSpot', () => {
	test('a batch signed by the emulator is ONE execution with one item per event; its redelivery starts none', async () => {
		const hubspot = sandbox.emulators.hubspot!;
		hubspot.addSubscription({ url: url('hubspot'), clientSecret: SECRET, types: ['contact.creation'] });
		const [execution] = await newExecutions(async () => {
			for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
				const res = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/contacts`, {
					method: 'POST',
					headers: { authorization: 'Bearer pat-sandbox', 'content-type': 'application/json' },
					body: JSON.stringify({ properties: { email } }),
				});
				assert.equal(res.status, 201, await res.text());
			}
			await hubspot.webhooksIdle();
		}, 1);
		const delivery = hubspot.deliveries().at(-1)!;
		assert.equal(delivery.status, 200, delivery.responseBody);
		const emitted = await items(execution.id, SERVED_BY.hubspot.node);
		assert.equal(emitted.length, 3);
		for (const item of emitted) {
			assert.equal(item.source, 'hubspot');
			assert.equal(item.entity, 'contact');
			assert.equal(item.operation, 'create');
			assert.match(String(item.recordId), /^\d+$/);
			assert.equal(typeof item.origin, 'object');
		}

		// The same request again (a redelivery; signature still valid): acknowledged, nothing runs.
		await newExecutions(async () => {
			const again = await post('hubspot', delivery.body, delivery.headers);
			assert.equal(again.status, 200);
		}, 0);
	});

	test('the previous secret is accepted during a rotation', async () => {
		const body = JSON.stringify([{ eventId: 91, subscriptionId: 1, portalId: 1, occurredAt: Date.now(), subscriptionType: 'deal.propertyChange', objectId: 7, propertyName: 'amount', propertyValue: '10' }]);
		const [execution] = await newExecutions(async () => {
			const res = await post('hubspot', body, hubspotHeaders(body, { secret: OLD_SECRET }));
			assert.equal(res.status, 200, await res.text());
		}, 1);
		const [item] = await items(execution.id, SERVED_BY.hubspot.node);
		assert.deepEqual([item.entity, item.operation, item.recordId, item.changedFields], ['opportunity', 'update', '7', ['amount']]);
	});

	test('wrong, expired and future signatures are 401; malformed, empty, wrong type 400; oversized 413; none runs', async () => {
		const body = JSON.stringify([{ eventId: 92, occurredAt: Date.now(), subscriptionType: 'contact.creation', objectId: 8 }]);
		await newExecutions(async () => {
			const cases: Array<[string, Record<string, string>, number, RegExp]> = [
				[body, hubspotHeaders(body, { secret: 'wrong' }), 401, /invalid X-HubSpot-Signature-v3/],
				[body, hubspotHeaders(body, { timestamp: Date.now() - 6 * 60 * 1000 }), 401, /expired/],
				[body, hubspotHeaders(body, { timestamp: Date.now() + 6 * 60 * 1000 }), 401, /future/],
				[body, { 'content-type': 'application/json' }, 401, /missing/],
				['[{"eventId": 93,', hubspotHeaders('[{"eventId": 93,'), 400, /malformed JSON/],
				['', hubspotHeaders(''), 400, /empty body/],
				[body, { ...hubspotHeaders(body), 'content-type': 'text/plain' }, 400, /content type/],
				['[' + ' '.repeat(70 * 1024) + ']', { 'content-type': 'application/json' }, 413, /exceeds/],
			];
			for (const [payload, headers, status, reason] of cases) {
				const res = await post('hubspot', payload, headers);
				const text = await res.text();
				assert.equal(res.status, status, `${status} expected for ${reason}: got ${res.status} ${text}`);
				assert.match(text, reason);
			}
		}, 0);
	});

	test('a batch with a bad element: the good events run on Events, the bad one is on Errors with its reason, and the batch is taken (200)', async () => {
		const good = { eventId: 94, subscriptionId: 1, portalId: 1, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', objectId: 9, propertyName: 'firstname', propertyValue: 'Ada' };
		const bad = { ...good, eventId: 95, objectId: { toString: 1, valueOf: 1 } };
		const body = JSON.stringify([good, bad]);
		const [execution] = await newExecutions(async () => {
			const res = await post('hubspot', body, hubspotHeaders(body));
			assert.equal(res.status, 200, await res.text());
		}, 1);
		assert.deepEqual((await items(execution.id, SERVED_BY.hubspot.node)).map((i) => i.recordId), ['9']);
		const errors = await items(execution.id, SERVED_BY.hubspot.node, 1);
		assert.equal(errors.length, 1);
		assert.equal(errors[0].index, 1);
		assert.match(String(errors[0].error), /element 1 of the delivery was skipped/);
	});
});

describe('Pipedrive', () => {
	test('v2 and v1 webhooks from the emulator with HTTP Basic auth start executions', async () => {
		const pipedrive = sandbox.emulators.pipedrive!;
		const api = (path: string, method: string, body: unknown) =>
			fetch(`${sandbox.urls.pipedrive}${path}`, { method, headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' }, body: JSON.stringify(body) });
		for (const version of ['2.0', '1.0']) {
			const res = await api('/v1/webhooks', 'POST', {
				subscription_url: url('pipedrive'), event_action: '*', event_object: 'person', version,
				http_auth_user: 'crm-sync', http_auth_password: version === '2.0' ? SECRET : OLD_SECRET,
			});
			assert.ok(res.ok, await res.text());
		}
		const runs = await newExecutions(async () => {
			const res = await api('/api/v2/persons', 'POST', { name: 'Ada Lovelace', emails: [{ value: 'ada@example.com', primary: true }] });
			assert.ok(res.ok, await res.text());
			await pipedrive.webhooksIdle();
		}, 2);
		for (const delivery of pipedrive.deliveries()) assert.equal(delivery.status, 200, delivery.responseBody);
		const all = (await Promise.all(runs.map((r) => items(r.id, SERVED_BY.pipedrive.node)))).flat();
		assert.equal(all.length, 2);
		for (const item of all) assert.deepEqual([item.entity, item.operation, item.source], ['contact', 'create', 'pipedrive']);
	});

	test('wrong Basic credentials are 401 with a challenge and start nothing', async () => {
		await newExecutions(async () => {
			const res = await post('pipedrive', '{"meta":{}}', { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('crm-sync:guess').toString('base64') });
			assert.equal(res.status, 401);
			assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
		}, 0);
	});
});

describe('Salesforce', () => {
	const om = (org: string) =>
		'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
		`<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${org}</OrganizationId><ActionId>04k1</ActionId>` +
		'<Notification><Id>04l1</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003A1</sf:Id><sf:Email>ada@example.com</sf:Email></sObject></Notification>' +
		'<Notification><Id>04l2</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>001A1</sf:Id><sf:Name>Acme</sf:Name></sObject></Notification>' +
		'</notifications></soapenv:Body></soapenv:Envelope>';

	test('an Outbound Message gets the SOAP Ack as text/xml and one execution with both notifications', async () => {
		const [execution] = await newExecutions(async () => {
			const res = await post('salesforce', om(SF_ORG), { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, `?key=${SECRET}`);
			assert.equal(res.status, 200);
			assert.match(res.headers.get('content-type') ?? '', /^text\/xml/);
			assert.match(await res.text(), /<notificationsResponse xmlns="http:\/\/soap.sforce.com\/2005\/09\/outbound"><Ack>true<\/Ack><\/notificationsResponse>/);
		}, 1);
		const emitted = await items(execution.id, 'Salesforce');
		assert.deepEqual(emitted.map((i) => `${i.entity}:${i.recordId}`), ['contact:003A1', 'account:001A1']);
		assert.ok(emitted[0].raw, 'includeRaw adds the notification');
	});

	test('a foreign org, a wrong key or malformed XML starts nothing', async () => {
		await newExecutions(async () => {
			assert.equal((await post('salesforce', om('00D000000000001'), { 'content-type': 'text/xml' }, `?key=${SECRET}`)).status, 401);
			assert.equal((await post('salesforce', om(SF_ORG), { 'content-type': 'text/xml' }, '?key=nope')).status, 401);
			const bad = await post('salesforce', om(SF_ORG).replace('</notifications>', ''), { 'content-type': 'text/xml' }, `?key=${SECRET}`);
			assert.equal(bad.status, 400);
			assert.match(await bad.text(), /malformed XML/);
		}, 0);
	});

	test('without a secret the trigger refuses to activate: its URL is never live (the message is unit-tested: activationProblem)', async () => {
		const forged = await fetch(`${n8n.baseUrl}/webhook/e2e-salesforce-unsecured/salesforce`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: om(SF_ORG) });
		assert.equal(forged.status, 404, 'an anonymous Outbound Message carrying the org id reaches nothing');
	});

	test('a signed CDC change event starts an execution; a bad signature does not', async () => {
		const body = JSON.stringify({
			data: { payload: { ChangeEventHeader: { entityName: 'Lead', recordIds: ['00Q1'], changeType: 'UPDATE', changedFields: ['Company'], commitTimestamp: Date.now(), transactionKey: 'tx-1', sequenceNumber: 1, changeOrigin: 'com/salesforce/api/rest/62.0;client=crm-sync' }, Company: 'Acme' }, event: { replayId: 1 } },
		});
		const sign = (secret: string) => createHmac('sha256', secret).update(body).digest('base64');
		const [execution] = await newExecutions(async () => {
			assert.equal((await post('salesforce', body, { 'content-type': 'application/json', 'x-sfdc-signature': sign(SECRET) })).status, 200);
			assert.equal((await post('salesforce', body, { 'content-type': 'application/json', 'x-sfdc-signature': sign('wrong') })).status, 401);
		}, 1);
		const [item] = await items(execution.id, 'Salesforce');
		assert.deepEqual([item.entity, item.operation, item.recordId, item.changedFields], ['lead', 'update', '00Q1', ['Company']]);
	});
});

describe('Zoho and Dynamics', () => {
	test('Zoho: the token is checked; the entities filter keeps contacts only', async () => {
		const note = (token: string, module: string) =>
			JSON.stringify({ server_time: Date.now(), module, ids: ['100', '101'], operation: 'insert', channel_id: '1000', token, affected_fields: [] });
		const [execution] = await newExecutions(async () => {
			assert.equal((await post('zoho', note(SECRET, 'Contacts'), { 'content-type': 'application/json' })).status, 200);
			assert.equal((await post('zoho', note(SECRET, 'Deals'), { 'content-type': 'application/json' })).status, 200);
			assert.equal((await post('zoho', note('wrong', 'Contacts'), { 'content-type': 'application/json' })).status, 401);
		}, 1);
		assert.deepEqual((await items(execution.id, 'Zoho')).map((i) => i.recordId), ['100', '101']);
	});

	test('Dynamics: key in the header or ?code=; own changes (InitiatingUserId) are dropped', async () => {
		const context = (initiator: string, id: string) =>
			JSON.stringify({
				MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: id, InitiatingUserId: initiator, OperationId: `op-${id}-${initiator}`,
				OperationCreatedOn: `/Date(${Date.now()})/`,
				InputParameters: [{ key: 'Target', value: { __type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts', Attributes: [{ key: 'firstname', value: 'James' }], Id: id, LogicalName: 'contact' } }],
			});
		const runs = await newExecutions(async () => {
			assert.equal((await post('dynamics', context('someone', 'c1'), { 'content-type': 'application/json', 'x-crm-sync-key': SECRET })).status, 200);
			assert.equal((await post('dynamics', context('someone', 'c2'), { 'content-type': 'application/json' }, `?code=${OLD_SECRET}`)).status, 200);
			assert.equal((await post('dynamics', context('A1B2C3D4-0000-4000-8000-000000000001', 'c3'), { 'content-type': 'application/json', 'x-crm-sync-key': SECRET })).status, 200);
			assert.equal((await post('dynamics', context('someone', 'c4'), { 'content-type': 'application/json', 'x-crm-sync-key': 'nope' })).status, 401);
		}, 2);
		const ids = (await Promise.all(runs.map((r) => items(r.id, 'Dynamics')))).flat().map((i) => i.recordId);
		assert.deepEqual(ids.sort(), ['c1', 'c2']);
	});
});

describe('echoes', () => {
	test('a write by Unified CRM Upsert comes back as a HubSpot webhook and is dropped; a later foreign change is not', async () => {
		const hubspot = sandbox.emulators.hubspot!;
		const echoUrl = `${n8n.baseUrl}/webhook/e2e-echo/hubspot`;
		await waitFor(async () => (await fetch(echoUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 60_000);
		hubspot.addSubscription({ url: echoUrl, clientSecret: SECRET, types: ['contact.propertyChange'] });
		let contactId = '';
		await newExecutions(async () => {
			let res: Response | undefined;
			await waitFor(async () => {
				res = await fetch(`${n8n.baseUrl}/webhook/e2e-echo-upsert`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ email: 'echo@example.com', firstname: 'Echo', lastname: 'Loop' }),
				});
				return res.status !== 404;
			}, 60_000);
			const [result] = (await res!.json()) as Array<{ status: string; id: string }>;
			assert.equal(result.status, 'created', JSON.stringify(result));
			contactId = result.id;
			await hubspot.webhooksIdle();
		}, 0, ECHO_TRIGGER_WORKFLOW);
		const toEcho = hubspot.deliveries().filter((d) => d.url === echoUrl);
		assert.ok(toEcho.length > 0, 'HubSpot delivered the change to the trigger');
		for (const delivery of toEcho) assert.equal(delivery.status, 200, delivery.responseBody);

		// Someone changes the contact in HubSpot: a real change, it runs.
		const [run] = await newExecutions(async () => {
			const res = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/contacts/${contactId}`, {
				method: 'PATCH',
				headers: { authorization: 'Bearer pat-sandbox', 'content-type': 'application/json' },
				body: JSON.stringify({ properties: { firstname: 'Changed' } }),
			});
			assert.equal(res.status, 200, await res.text());
			await hubspot.webhooksIdle();
		}, 1, ECHO_TRIGGER_WORKFLOW);
		const emitted = await items(run.id, 'HubSpot echo');
		assert.ok(
			emitted.some((i) => i.recordId === contactId && JSON.stringify(i.changedFields) === '["firstname"]'),
			JSON.stringify(emitted),
		);
	});
});
