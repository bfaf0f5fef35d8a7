// Cost of checking and parsing one webhook request in lib/webhooks (the trigger's hot path
// before n8n starts an execution), per CRM, with the largest batches each CRM sends.
import { createHmac } from 'node:crypto';
import { cpus } from 'node:os';

import type { CrmName } from '../../lib/model';
import { handleWebhook, type WebhookRequest } from '../../lib/webhooks';

const SECRET = 'bench-secret';
const HOST = 'n8n.example.com';
const PATH = '/webhook/abc/';

function request(crm: CrmName, body: string, headers: Record<string, string>, query = ''): WebhookRequest {
	return { method: 'POST', url: PATH + crm + query, headers: { host: HOST, 'x-forwarded-proto': 'https', ...headers }, rawBody: Buffer.from(body) };
}

function hubspot(events: number): WebhookRequest {
	const now = Date.now();
	const body = JSON.stringify(
		Array.from({ length: events }, (_, i) => ({
			eventId: 1000 + i, subscriptionId: 1, portalId: 1, appId: 2, occurredAt: now, subscriptionType: 'contact.propertyChange',
			attemptNumber: 0, objectId: 5000 + i, propertyName: 'email', propertyValue: `user${i}@example.com`, changeSource: 'CRM_UI', sourceId: 'userId:1',
		})),
	);
	const ts = String(now);
	const v3 = createHmac('sha256', SECRET).update(`POSThttps://${HOST}${PATH}hubspot${body}${ts}`).digest('base64');
	return request('hubspot', body, { 'content-type': 'application/json', 'x-hubspot-signature-v3': v3, 'x-hubspot-request-timestamp': ts });
}

function pipedrive(): WebhookRequest {
	const body = JSON.stringify({
		meta: { action: 'change', entity: 'person', version: '2.0', entity_id: 1, user_id: 2, timestamp: 1727447128, change_source: 'api' },
		data: { id: 1, name: 'Ada Lovelace', emails: [{ value: 'ada@example.com', primary: true }], custom_fields: { a: 1 } },
		previous: { name: 'Ada Byron' },
	});
	return request('pipedrive', body, { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`u:${SECRET}`).toString('base64')}` });
}

function outboundMessage(notifications: number): WebhookRequest {
	const items = Array.from(
		{ length: notifications },
		(_, i) =>
			`<Notification><Id>04l${i}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003${i}</sf:Id>` +
			`<sf:Email>user${i}@example.com</sf:Email><sf:FirstName>Ada</sf:FirstName><sf:LastName>Lovelace</sf:LastName><sf:Phone xsi:nil="true"/>` +
			`<sf:LastModifiedDate>2026-01-15T11:59:00.000Z</sf:LastModifiedDate></sObject></Notification>`,
	).join('');
	const body =
		'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
		`<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001</OrganizationId><ActionId>04k1</ActionId>${items}</notifications></soapenv:Body></soapenv:Envelope>`;
	return request('salesforce', body, { 'content-type': 'text/xml; charset=utf-8' }, `?key=${SECRET}`);
}

function changeEvent(): WebhookRequest {
	const body = JSON.stringify({
		data: {
			payload: {
				ChangeEventHeader: { entityName: 'Contact', recordIds: ['003A'], changeType: 'UPDATE', changedFields: ['Email', 'Name.LastName'], commitTimestamp: Date.now(), transactionKey: 't', sequenceNumber: 1, changeOrigin: 'client=x' },
				Email: 'ada@example.com',
				Name: { LastName: 'Lovelace' },
			},
			event: { replayId: 1 },
		},
	});
	return request('salesforce', body, { 'content-type': 'application/json', 'x-sfdc-signature': createHmac('sha256', SECRET).update(body).digest('base64') });
}

function zoho(ids: number): WebhookRequest {
	const list = Array.from({ length: ids }, (_, i) => String(3652397000000377001 + i));
	const body = JSON.stringify({ server_time: Date.now(), module: 'Contacts', ids: list, affected_fields: list.map((id) => ({ [id]: ['Email'] })), operation: 'update', channel_id: '1', token: SECRET });
	return request('zoho', body, { 'content-type': 'application/json' });
}

function dynamics(): WebhookRequest {
	const body = JSON.stringify({
		MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: '7d1d6a3b-2f4e-4c8a-9d1e-1a2b3c4d5e6f', InitiatingUserId: 'a1', OperationId: 'op-1',
		OperationCreatedOn: '/Date(1506409448000)/',
		InputParameters: [{ key: 'Target', value: { Attributes: [{ key: 'firstname', value: 'James' }, { key: 'modifiedon', value: '/Date(1506384247000)/' }] } }],
	});
	return request('dynamics', body, { 'content-type': 'application/json', 'x-crm-sync-key': SECRET });
}

function measure(name: string, crm: CrmName, make: () => WebhookRequest, secrets = [SECRET, 'previous-secret']) {
	// A fresh request object each time: parsed bodies are cached per request.
	const requests = Array.from({ length: 50 }, make);
	const options = { secrets: crm === 'pipedrive' ? secrets.map((s) => `u:${s}`) : secrets };
	let events = 0;
	for (let i = 0; i < 200; i++) handleWebhook(crm, { ...requests[i % 50] }, options);
	const iterations = 2000;
	const start = process.hrtime.bigint();
	for (let i = 0; i < iterations; i++) {
		const outcome = handleWebhook(crm, { ...requests[i % 50] }, options);
		if (!outcome.ok) throw new Error(`${name}: ${outcome.reason}`);
		events += outcome.events.length;
	}
	const ms = Number(process.hrtime.bigint() - start) / 1e6;
	const perRequestUs = (ms * 1000) / iterations;
	const result = { name, bytes: requests[0].rawBody.length, eventsPerRequest: events / iterations, perRequestUs: +perRequestUs.toFixed(1), perEventUs: +(perRequestUs / (events / iterations)).toFixed(2) };
	console.log(`${name.padEnd(40)} ${String(result.bytes).padStart(7)} B  ${result.perRequestUs.toFixed(1).padStart(8)} µs/request  ${result.perEventUs.toFixed(2).padStart(7)} µs/event`);
	return result;
}

export async function run(): Promise<unknown> {
	console.log(`cores: ${cpus().length}; single thread; verify + parse per request (two secrets configured)`);
	return [
		measure('HubSpot v3, batch of 100 events', 'hubspot', () => hubspot(100)),
		measure('HubSpot v3, 1 event', 'hubspot', () => hubspot(1)),
		measure('Pipedrive v2, Basic auth', 'pipedrive', pipedrive),
		measure('Salesforce Outbound Message, 100 notes', 'salesforce', () => outboundMessage(100)),
		measure('Salesforce CDC JSON, HMAC', 'salesforce', changeEvent),
		measure('Zoho, 100 ids', 'zoho', () => zoho(100)),
		measure('Dynamics RemoteExecutionContext', 'dynamics', dynamics),
	];
}

if (require.main === module) void run();
