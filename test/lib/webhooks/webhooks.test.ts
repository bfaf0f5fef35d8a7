// lib/webhooks: real signatures computed here with node:crypto (and HubSpot's own SDK signer),
// real payload shapes from the CRMs' docs, every rejection class.

import { createHash, createHmac, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Signature } from '@hubspot/api-client';

import {
	DEFAULT_MAX_BODY_BYTES,
	acceptEvents,
	activationProblem,
	handleWebhook,
	acceptAndEnrich,
	readRecords,
	unavailableReply,
	type HandleOptions,
	type WebhookOutcome,
	type WebhookRequest,
} from '../../../lib/webhooks';
import { isOwnChange, type CapturedEvent } from '../../../lib/events';
import { createConnector } from '../../../lib/connectors';
import { OUTBOUND_MESSAGE_ACK } from '../../../lib/crms/salesforce/webhook';
import type { CrmName } from '../../../lib/model';
import { echoFingerprint, openStateStore } from '../../../lib/state';

const CURRENT = 'current-secret-7f3a';
const PREVIOUS = 'previous-secret-19c2';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function req(body: string | Buffer, headers: Record<string, string> = {}, url = '/webhook/abc/test', method = 'POST'): WebhookRequest {
	const lower: Record<string, string> = {};
	for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
	return { method, url, headers: lower, rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') };
}

function handle(crm: CrmName, request: WebhookRequest, options: Partial<HandleOptions> = {}): WebhookOutcome {
	return handleWebhook(crm, request, { secrets: [CURRENT, PREVIOUS], now: () => NOW, ...options });
}

function accepted(outcome: WebhookOutcome) {
	assert.equal(outcome.ok, true, outcome.ok ? '' : `rejected ${outcome.status}: ${outcome.reason}`);
	return outcome as Extract<WebhookOutcome, { ok: true }>;
}

function refused(outcome: WebhookOutcome, status: number, reason?: RegExp) {
	assert.equal(outcome.ok, false, 'expected a rejection');
	const r = outcome as Extract<WebhookOutcome, { ok: false }>;
	assert.equal(r.status, status, r.reason);
	if (reason) assert.match(r.reason, reason);
	assert.equal(r.reply.status, status);
	assert.deepEqual(JSON.parse(r.reply.body), { error: r.reason });
	return r;
}

// ------------------------------------------------------------------------------- HubSpot

const hubspotBatch = [
	{
		eventId: 3816279340, subscriptionId: 25, portalId: 33, appId: 1160452, occurredAt: 1462216307945,
		subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 1246965,
		propertyName: 'lifecyclestage', propertyValue: 'subscriber', changeSource: 'CRM_UI', sourceId: 'userId:45678',
	},
	{
		eventId: 3816279341, subscriptionId: 26, portalId: 33, appId: 1160452, occurredAt: 1462216307946,
		subscriptionType: 'company.creation', attemptNumber: 0, objectId: 555, changeFlag: 'CREATED', changeSource: 'API',
	},
	{
		eventId: 3816279342, subscriptionId: 27, portalId: 33, appId: 1160452, occurredAt: 1462216307947,
		subscriptionType: 'deal.deletion', attemptNumber: 0, objectId: 777, changeFlag: 'DELETED',
	},
	{
		eventId: 3816279343, subscriptionId: 28, portalId: 33, appId: 1160452, occurredAt: 1462216307948,
		subscriptionType: 'contact.merge', attemptNumber: 0, objectId: 100,
		primaryObjectId: 100, mergedObjectIds: [101, 102], newObjectId: 100, numberOfPropertiesMoved: 3,
	},
	{
		eventId: 3816279344, subscriptionId: 29, portalId: 33, appId: 1160452, occurredAt: 1462216307949,
		subscriptionType: 'object.creation', objectTypeId: '0-1', objectId: 2001,
	},
	{
		eventId: 3816279345, subscriptionId: 30, portalId: 33, appId: 1160452, occurredAt: 1462216307950,
		subscriptionType: 'ticket.creation', objectId: 9,
	},
	{
		eventId: 3816279346, subscriptionId: 31, portalId: 33, appId: 1160452, occurredAt: 1462216307951,
		subscriptionType: 'contact.privacyDeletion', objectId: 1246966,
	},
	{
		eventId: 3816279347, subscriptionId: 32, portalId: 33, appId: 1160452, occurredAt: 1462216307952,
		subscriptionType: 'contact.restore', objectId: 1246967,
	},
];

const HS_HOST = 'n8n.example.com';
const HS_PATH = '/webhook/abc/hubspot';

function hubspotV3(body: string, opts: { secret?: string; timestamp?: number; uri?: string; path?: string; method?: string } = {}) {
	const timestamp = String(opts.timestamp ?? NOW - 1000);
	const path = opts.path ?? HS_PATH;
	const uri = opts.uri ?? `https://${HS_HOST}${path}`;
	const signature = createHmac('sha256', opts.secret ?? CURRENT)
		.update(`${opts.method ?? 'POST'}${uri}${body}${timestamp}`)
		.digest('base64');
	return req(
		body,
		{
			'content-type': 'application/json',
			host: HS_HOST,
			'x-forwarded-proto': 'https',
			'x-hubspot-signature-v3': signature,
			'x-hubspot-request-timestamp': timestamp,
		},
		path,
		opts.method ?? 'POST',
	);
}

describe('HubSpot', () => {
	const body = JSON.stringify(hubspotBatch);

	test('v3 signature with the current and the previous secret', () => {
		accepted(handle('hubspot', hubspotV3(body)));
		accepted(handle('hubspot', hubspotV3(body, { secret: PREVIOUS })));
	});

	test('v3 matches the HubSpot SDK signer, and the SDK accepts our test signature', () => {
		const timestamp = Date.now() - 2000;
		const uri = `https://${HS_HOST}${HS_PATH}`;
		const sdkSignature = Signature.getSignature('POST', 'v3', { signature: '', clientSecret: CURRENT, url: uri, requestBody: body, timestamp });
		const request = hubspotV3(body, { timestamp });
		assert.equal(request.headers['x-hubspot-signature-v3'], sdkSignature);
		assert.equal(
			Signature.isValid({ signatureVersion: 'v3', clientSecret: CURRENT, url: uri, requestBody: body, timestamp, signature: sdkSignature, method: 'POST' }),
			true,
		);
		accepted(handleWebhook('hubspot', request, { secrets: [CURRENT] }));
	});

	test('v3 with a wrong secret, a tampered body or another method is 401', () => {
		refused(handle('hubspot', hubspotV3(body, { secret: 'wrong' })), 401, /invalid X-HubSpot-Signature-v3/);
		const tampered = hubspotV3(body);
		tampered.rawBody = Buffer.from(body.replace('subscriber', 'customer'));
		refused(handle('hubspot', tampered), 401);
		const otherUri = hubspotV3(body, { uri: `https://${HS_HOST}/webhook/abc/other` });
		refused(handle('hubspot', otherUri), 401);
	});

	test('v3 timestamps older than 5 minutes or more than 5 minutes ahead are 401', () => {
		refused(handle('hubspot', hubspotV3(body, { timestamp: NOW - 5 * 60 * 1000 - 1 })), 401, /expired/);
		refused(handle('hubspot', hubspotV3(body, { timestamp: NOW + 5 * 60 * 1000 + 1 })), 401, /future/);
		accepted(handle('hubspot', hubspotV3(body, { timestamp: NOW - 5 * 60 * 1000 + 10 })));
		const noTs = hubspotV3(body);
		delete noTs.headers['x-hubspot-request-timestamp'];
		refused(handle('hubspot', noTs), 401, /Timestamp/);
	});

	test('v3 URI: HubSpot decodes %3A %2F %40 ... before signing; the public URL is used when given', () => {
		const path = '/webhook/abc/hubspot?ref=a%3Ab%40c%2Fd';
		const decoded = `https://${HS_HOST}/webhook/abc/hubspot?ref=a:b@c/d`;
		accepted(handle('hubspot', hubspotV3(body, { path, uri: decoded })));
		// Behind a proxy the Host header is internal; n8n's public URL is what HubSpot signed.
		const behindProxy = hubspotV3(body, { uri: 'https://public.example.org/n8n/webhook/abc/hubspot' });
		behindProxy.headers.host = '127.0.0.1:5678';
		delete behindProxy.headers['x-forwarded-proto'];
		refused(handle('hubspot', behindProxy), 401);
		behindProxy.publicUrls = ['https://public.example.org/n8n/webhook/abc/hubspot'];
		accepted(handle('hubspot', behindProxy));
	});

	test('legacy apps: v1 and v2 signatures (sha256 hex), both secrets, only with hubspotLegacySignatures; wrong ones are 401', () => {
		const uri = `https://${HS_HOST}${HS_PATH}`;
		const legacy = { hubspotLegacySignatures: true };
		for (const secret of [CURRENT, PREVIOUS]) {
			const v1 = createHash('sha256').update(secret + body).digest('hex');
			assert.equal(v1, Signature.getSignature('POST', 'v1', { signature: '', clientSecret: secret, requestBody: body }));
			const base = { 'content-type': 'application/json', host: HS_HOST, 'x-forwarded-proto': 'https' };
			accepted(handle('hubspot', req(body, { ...base, 'x-hubspot-signature': v1, 'x-hubspot-signature-version': 'v1' }, HS_PATH), legacy));
			const v2 = createHash('sha256').update(`${secret}POST${uri}${body}`).digest('hex');
			accepted(handle('hubspot', req(body, { ...base, 'x-hubspot-signature': v2, 'x-hubspot-signature-version': 'v2' }, HS_PATH), legacy));
		}
		const bad = createHash('sha256').update('nope' + body).digest('hex');
		refused(handle('hubspot', req(body, { 'content-type': 'application/json', 'x-hubspot-signature': bad }, HS_PATH), legacy), 401, /v1/);
		refused(handle('hubspot', req(body, { 'content-type': 'application/json' }, HS_PATH), legacy), 401, /missing/);
		refused(handle('hubspot', req(body, { 'content-type': 'application/json' }, HS_PATH)), 401, /missing X-HubSpot-Signature-v3/);
	});

	test('a batched array becomes one event per element, with entity, operation, ids and origin', () => {
		const outcome = accepted(handle('hubspot', hubspotV3(body)));
		const byId = new Map(outcome.events.map((e) => [e.eventId, e]));
		assert.equal(outcome.events.length, 7);
		assert.deepEqual(outcome.skipped, [{ index: 5, reason: 'unsupported subscriptionType "ticket.creation"' }]);
		const change = byId.get('3816279340')!;
		assert.equal(change.source, 'hubspot');
		assert.equal(change.entity, 'contact');
		assert.equal(change.operation, 'update');
		assert.equal(change.recordId, '1246965');
		assert.equal(change.occurredAt, new Date(1462216307945).toISOString());
		assert.deepEqual(change.changedFields, ['lifecyclestage']);
		assert.deepEqual(change.record, { lifecyclestage: 'subscriber' });
		assert.deepEqual(change.origin, { source: 'CRM_UI', actorId: 'userId:45678' });
		assert.deepEqual(change.raw, hubspotBatch[0]);
		assert.equal(byId.get('3816279341')!.entity, 'account');
		assert.equal(byId.get('3816279341')!.operation, 'create');
		assert.equal(byId.get('3816279342')!.entity, 'opportunity');
		assert.equal(byId.get('3816279342')!.operation, 'delete');
		const merge = byId.get('3816279343')!;
		assert.equal(merge.operation, 'merge');
		assert.equal(merge.recordId, '100');
		assert.deepEqual(merge.mergedIds, ['101', '102']);
		assert.equal(byId.get('3816279344')!.entity, 'contact');
		assert.equal(byId.get('3816279344')!.operation, 'create');
		assert.equal(byId.get('3816279346')!.operation, 'delete');
		assert.equal(byId.get('3816279347')!.operation, 'restore');
		assert.deepEqual(JSON.parse(outcome.reply.body), { received: 7, ignored: 0, skipped: outcome.skipped, skippedCount: 1 });
	});

	test('the reply lists at most 100 skipped elements and their count, however many the body had', () => {
		const good = { eventId: 1, subscriptionId: 1, portalId: 62515, occurredAt: Date.now(), subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 1 };
		const bad = Array.from({ length: 5_000 }, (_, i) => ({ ...good, eventId: i + 2, subscriptionType: 'ticket.creation' }));
		const outcome = accepted(handle('hubspot', hubspotV3(JSON.stringify([good, ...bad]))));
		assert.equal(outcome.skipped.length, 5_000, 'every skipped element reaches the node (log and Errors output)');
		const reply = JSON.parse(outcome.reply.body);
		assert.equal(reply.skipped.length, 100);
		assert.equal(reply.skippedCount, 5_000);
		assert.ok(outcome.reply.body.length < 20_000, `reply of ${outcome.reply.body.length} bytes`);
	});

	test('the entities option keeps only those entities', () => {
		const outcome = accepted(handle('hubspot', hubspotV3(body), { entities: ['contact'] }));
		assert.deepEqual(new Set(outcome.events.map((e) => e.entity)), new Set(['contact']));
		assert.equal(outcome.events.length, 5);
		assert.equal(JSON.parse(outcome.reply.body).ignored, 2);
	});

	test('a validly signed but malformed body is 400 with a reason; bad elements are skipped one by one', () => {
		refused(handle('hubspot', hubspotV3('[{"eventId": 1,')), 400, /malformed JSON/);
		refused(handle('hubspot', hubspotV3('"just a string"')), 400, /array/);
		refused(handle('hubspot', hubspotV3('[]')), 400, /no events/);
		const mixed = JSON.stringify([hubspotBatch[0], 42, { ...hubspotBatch[1], eventId: undefined }, { ...hubspotBatch[2], occurredAt: 'soon' }]);
		const outcome = accepted(handle('hubspot', hubspotV3(mixed)));
		assert.equal(outcome.events.length, 1);
		assert.deepEqual(outcome.skipped.map((s) => s.index), [1, 2, 3]);
		assert.match(outcome.skipped[1].reason, /eventId/);
		assert.match(outcome.skipped[2].reason, /occurredAt/);
	});

	test('an unsigned malformed body is 401, not parsed', () => {
		refused(handle('hubspot', req('{not json', { 'content-type': 'application/json' })), 401);
	});
});

// ------------------------------------------------------------------------------- common checks

describe('common checks (every CRM)', () => {
	const crms: CrmName[] = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'];

	test('empty body is 400, oversized is 413, wrong content type is 400, GET is 405', () => {
		for (const crm of crms) {
			refused(handle(crm, req('', { 'content-type': 'application/json' })), 400, /empty/);
			const big = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
			refused(handle(crm, req(big, { 'content-type': 'application/json' })), 413, /exceeds/);
			refused(handle(crm, req('{"a":1}', { 'content-type': 'application/json' }), { maxBodyBytes: 3 }), 413);
			refused(handle(crm, req('{"a":1}', { 'content-type': 'text/plain' })), 400, /content type/);
			refused(handle(crm, req('{"a":1}', {})), 400, /content type/);
			const get = refused(handle(crm, req('{"a":1}', { 'content-type': 'application/json' }, '/x', 'GET')), 405);
			assert.equal(get.reply.headers?.Allow, 'POST');
		}
	});

	test('no configured secret is 401 for every CRM (never an open endpoint)', () => {
		const bodies: Record<CrmName, string> = {
			hubspot: JSON.stringify(hubspotBatch),
			pipedrive: '{"meta":{}}',
			salesforce: '{}',
			zoho: '{"token":"x","ids":[]}',
			dynamics: '{}',
		};
		for (const crm of crms) {
			refused(handleWebhook(crm, req(bodies[crm], { 'content-type': 'application/json', 'x-crm-sync-key': 'x' }, '/x?code=x'), { secrets: ['', ''] }), 401);
		}
	});
});

// ------------------------------------------------------------------------------- Pipedrive

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

const pipedriveV2Change = {
	meta: {
		action: 'change', entity: 'person', version: '2.0', company_id: 1, user_id: 2, id: 1, entity_id: 1,
		webhook_id: 99, webhook_owner_id: 2, permitted_user_ids: [2], attempt: 1, host: 'x.pipedrive.com',
		timestamp: 1727447128, change_source: 'api', is_bulk_edit: false,
	},
	data: {
		id: 1, name: 'Ada Lovelace', first_name: 'Ada', last_name: 'Lovelace', emails: [{ value: 'ada@example.com', primary: true, label: 'work' }],
		custom_fields: { '3f1c9a': 'Web' }, update_time: '2024-09-27T14:25:28Z',
	},
	previous: { name: 'Ada Byron', last_name: 'Byron', custom_fields: { '3f1c9a': null } },
};

const pipedriveV1Update = {
	v: 1,
	matches_filters: { current: [] },
	meta: {
		v: 1, action: 'updated', object: 'person', id: 42, company_id: 7, user_id: 8, host: 'x.pipedrive.com',
		timestamp: 1727447000, timestamp_micro: 1727447000123456, permitted_user_ids: [8], webhook_id: '5', is_bulk_update: false,
	},
	current: { id: 42, name: 'Grace Hopper', email: [{ value: 'grace@example.com', primary: true }], org_id: 3, update_time: '2024-09-27 14:23:20' },
	previous: { id: 42, name: 'Grace Murray', email: [{ value: 'grace@example.com', primary: true }], org_id: 3, update_time: '2024-09-01 10:00:00' },
	event: 'updated.person',
	retry: 0,
};

function pipedriveReq(body: unknown, userPass = `crm-sync:${CURRENT}`) {
	return req(JSON.stringify(body), { 'content-type': 'application/json', authorization: basic(userPass) });
}

describe('Pipedrive', () => {
	const secrets = [`crm-sync:${CURRENT}`, `crm-sync:${PREVIOUS}`];

	test('HTTP Basic with the current and the previous password; wrong or missing is 401 with a challenge', () => {
		accepted(handle('pipedrive', pipedriveReq(pipedriveV2Change), { secrets }));
		accepted(handle('pipedrive', pipedriveReq(pipedriveV2Change, `crm-sync:${PREVIOUS}`), { secrets }));
		const wrong = refused(handle('pipedrive', pipedriveReq(pipedriveV2Change, 'crm-sync:guess'), { secrets }), 401, /invalid/);
		assert.match(wrong.reply.headers?.['WWW-Authenticate'] ?? '', /^Basic/);
		refused(handle('pipedrive', pipedriveReq(pipedriveV2Change, `other:${CURRENT}`), { secrets }), 401);
		refused(handle('pipedrive', req(JSON.stringify(pipedriveV2Change), { 'content-type': 'application/json' }), { secrets }), 401, /missing/);
		refused(handle('pipedrive', req(JSON.stringify(pipedriveV2Change), { 'content-type': 'application/json', authorization: 'Bearer x' }), { secrets }), 401);
	});

	test('v2 change: record from data, changed fields from previous keys, origin, stable event id', () => {
		const [event] = accepted(handle('pipedrive', pipedriveReq(pipedriveV2Change), { secrets })).events;
		assert.equal(event.entity, 'contact');
		assert.equal(event.operation, 'update');
		assert.equal(event.recordId, '1');
		assert.equal(event.occurredAt, new Date(1727447128 * 1000).toISOString());
		assert.deepEqual(event.changedFields, ['name', 'last_name', 'custom_fields.3f1c9a']);
		assert.deepEqual(event.record, pipedriveV2Change.data);
		assert.deepEqual(event.origin, { source: 'api', actorId: '2' });
		// A redelivery (attempt 2) has the same event id; a different change does not.
		const retry = { ...pipedriveV2Change, meta: { ...pipedriveV2Change.meta, attempt: 2 } };
		assert.equal(accepted(handle('pipedrive', pipedriveReq(retry), { secrets })).events[0].eventId, event.eventId);
		const other = { ...pipedriveV2Change, data: { ...pipedriveV2Change.data, name: 'Ada King' } };
		assert.notEqual(accepted(handle('pipedrive', pipedriveReq(other), { secrets })).events[0].eventId, event.eventId);
	});

	test('v2 create, delete, and delete with merged_to_id → merge', () => {
		const create = { ...pipedriveV2Change, meta: { ...pipedriveV2Change.meta, action: 'create', entity: 'deal', entity_id: 9 }, previous: null };
		const [c] = accepted(handle('pipedrive', pipedriveReq(create), { secrets })).events;
		assert.deepEqual([c.entity, c.operation, c.recordId, c.changedFields], ['opportunity', 'create', '9', undefined]);
		const del = { meta: { ...pipedriveV2Change.meta, action: 'delete', entity_id: 5 }, data: null, previous: { id: 5, name: 'Old' } };
		const [d] = accepted(handle('pipedrive', pipedriveReq(del), { secrets })).events;
		assert.deepEqual([d.operation, d.recordId, d.record], ['delete', '5', undefined]);
		const merged = { meta: { ...pipedriveV2Change.meta, action: 'delete', entity_id: 5, merged_to_id: 6 }, data: null, previous: { id: 5 } };
		const [m] = accepted(handle('pipedrive', pipedriveReq(merged), { secrets })).events;
		assert.deepEqual([m.operation, m.recordId, m.mergedIds], ['merge', '6', ['5']]);
	});

	test('v1 updated: record from current, changed fields = keys whose values differ; merged', () => {
		const [event] = accepted(handle('pipedrive', pipedriveReq(pipedriveV1Update), { secrets })).events;
		assert.equal(event.entity, 'contact');
		assert.equal(event.operation, 'update');
		assert.equal(event.recordId, '42');
		assert.deepEqual(event.changedFields, ['name', 'update_time']);
		// v1 records are carried in the v2 shape: emails, RFC 3339 times (conformance: webhook-v1-updated-deal-recorded.json).
		assert.deepEqual(event.record, { id: 42, name: 'Grace Hopper', emails: [{ value: 'grace@example.com', primary: true }], org_id: 3, update_time: '2024-09-27T14:23:20Z' });
		assert.equal(event.occurredAt, new Date(1727447000123).toISOString());
		assert.deepEqual(event.origin, { actorId: '8' });
		const merged = { ...pipedriveV1Update, meta: { ...pipedriveV1Update.meta, action: 'merged', id: 43 }, previous: { id: 43 }, current: { id: 42, name: 'Grace Hopper' } };
		const [m] = accepted(handle('pipedrive', pipedriveReq(merged), { secrets })).events;
		assert.deepEqual([m.operation, m.recordId, m.mergedIds], ['merge', '42', ['43']]);
		const added = { ...pipedriveV1Update, meta: { ...pipedriveV1Update.meta, action: 'added', object: 'organization' }, previous: null };
		const [a] = accepted(handle('pipedrive', pipedriveReq(added), { secrets })).events;
		assert.deepEqual([a.entity, a.operation], ['account', 'create']);
	});

	test('malformed JSON is 400; unsupported objects are skipped with a reason', () => {
		refused(handle('pipedrive', req('{"meta":', { 'content-type': 'application/json', authorization: basic(`crm-sync:${CURRENT}`) }), { secrets }), 400, /malformed JSON/);
		refused(handle('pipedrive', pipedriveReq({ data: {} }), { secrets }), 400, /meta/);
		const product = { ...pipedriveV2Change, meta: { ...pipedriveV2Change.meta, entity: 'product' } };
		const outcome = accepted(handle('pipedrive', pipedriveReq(product), { secrets }));
		assert.equal(outcome.events.length, 0);
		assert.match(outcome.skipped[0].reason, /product/);
	});
});

// ------------------------------------------------------------------------------- Salesforce

const ORG = '00D5g000004ABCDEAA';

function outboundMessage(org = ORG, notifications = 2): string {
	const items = [
		`<Notification><Id>04l5g000001AAAAAA1</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
			`<sf:Id>0035g00000AAAAAAA1</sf:Id><sf:Email>ada&amp;co@example.com</sf:Email><sf:FirstName>Ada</sf:FirstName>` +
			`<sf:MailingPostalCode>00123</sf:MailingPostalCode><sf:Phone xsi:nil="true"/>` +
			`<sf:CreatedDate>2026-01-15T11:00:00.000Z</sf:CreatedDate><sf:LastModifiedDate>2026-01-15T11:59:00.000Z</sf:LastModifiedDate>` +
			`<sf:LastModifiedById>0055g00000INTEGR</sf:LastModifiedById></sObject></Notification>`,
		`<Notification><Id>04l5g000001AAAAAA2</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
			`<sf:Id>00Q5g00000AAAAAAA2</sf:Id><sf:Company>Acme</sf:Company>` +
			`<sf:CreatedDate>2026-01-15T11:58:00.000Z</sf:CreatedDate><sf:LastModifiedDate>2026-01-15T11:58:00.000Z</sf:LastModifiedDate></sObject></Notification>`,
		`<Notification><Id>04l5g000001AAAAAA3</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>5005g</sf:Id></sObject></Notification>`,
	].slice(0, notifications);
	return (
		`<?xml version="1.0" encoding="UTF-8"?>` +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">` +
		`<OrganizationId>${org}</OrganizationId><ActionId>04k5g000000AAAAAAA</ActionId><SessionId xsi:nil="true"/>` +
		`<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004ABCD</EnterpriseUrl>` +
		`<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004ABCD</PartnerUrl>` +
		items.join('') +
		`</notifications></soapenv:Body></soapenv:Envelope>`
	);
}

const omReq = (xml: string, url = '/webhook/abc/salesforce') => req(xml, { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, url);

function cdcMessage(header: Record<string, unknown>, fields: Record<string, unknown> = {}) {
	return {
		data: {
			schema: 'IeRuaY6cbI_HsV8Rv1Mc5g',
			payload: {
				ChangeEventHeader: {
					entityName: 'Contact', recordIds: ['0035g00000AAAAAAA1'], changeType: 'UPDATE',
					changeOrigin: 'com/salesforce/api/rest/62.0;client=crm-sync', transactionKey: '0002343d-9d90-e395-ed20-cf416ba652ad',
					sequenceNumber: 1, isTransactionEnd: true, commitTimestamp: 1768478400000, commitNumber: 10595136, commitUser: '0055g00000INTEGR',
					changedFields: ['Name.LastName', 'Email', 'MailingAddress.City', 'LastModifiedDate'], diffFields: [], nulledFields: [],
					...header,
				},
				...fields,
			},
			event: { replayId: 7 },
		},
		channel: '/data/ContactChangeEvent',
	};
}

const sign = (body: string, secret = CURRENT) => createHmac('sha256', secret).update(body).digest('base64');
const cdcReq = (body: string, signature = sign(body)) =>
	req(body, { 'content-type': 'application/json', 'x-sfdc-signature': signature }, '/webhook/abc/salesforce');

describe('Salesforce Outbound Message', () => {
	test('OrganizationId allow-list (15- or 18-character ids) on top of the URL key; a foreign org is 401', () => {
		const url = `/webhook/abc/salesforce?key=${CURRENT}`;
		accepted(handle('salesforce', omReq(outboundMessage(), url), { salesforceOrganizationIds: [ORG.slice(0, 15)] }));
		accepted(handle('salesforce', omReq(outboundMessage(ORG.slice(0, 15)), url), { salesforceOrganizationIds: [ORG] }));
		refused(handle('salesforce', omReq(outboundMessage('00D000000000001AAA'), url), { salesforceOrganizationIds: [ORG] }), 401, /allow-list/);
		refused(handle('salesforce', omReq(outboundMessage(), url), { secrets: [], salesforceOrganizationIds: [ORG] }), 401, /no secret/);
	});

	test('URL key with the current and the previous secret; wrong or missing is 401; both checks when both are set', () => {
		accepted(handle('salesforce', omReq(outboundMessage(), `/webhook/abc/salesforce?key=${CURRENT}`)));
		accepted(handle('salesforce', omReq(outboundMessage(), `/webhook/abc/salesforce?key=${PREVIOUS}`)));
		refused(handle('salesforce', omReq(outboundMessage(), '/webhook/abc/salesforce?key=nope')), 401, /invalid/);
		refused(handle('salesforce', omReq(outboundMessage())), 401, /missing/);
		refused(handle('salesforce', omReq(outboundMessage('00D000000000001'), `/webhook/abc/salesforce?key=${CURRENT}`), { salesforceOrganizationIds: [ORG] }), 401);
		accepted(handle('salesforce', omReq(outboundMessage(), `/webhook/abc/salesforce?key=${CURRENT}`), { salesforceOrganizationIds: [ORG] }));
	});

	test('answers with the exact SOAP Ack and parses each Notification', () => {
		const outcome = accepted(handle('salesforce', omReq(outboundMessage(ORG, 3), `/webhook/abc/salesforce?key=${CURRENT}`)));
		assert.equal(outcome.reply.status, 200);
		assert.match(outcome.reply.contentType, /^text\/xml/);
		assert.equal(
			outcome.reply.body,
			'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
				'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>',
		);
		assert.equal(outcome.reply.body, OUTBOUND_MESSAGE_ACK);
		assert.equal(outcome.events.length, 2);
		assert.deepEqual(outcome.skipped, [{ index: 2, reason: 'unsupported sObject type "Case"' }]);
		const [contact, lead] = outcome.events;
		assert.equal(contact.eventId, '04l5g000001AAAAAA1');
		assert.deepEqual([contact.entity, contact.operation, contact.recordId], ['contact', 'update', '0035g00000AAAAAAA1']);
		assert.equal(contact.occurredAt, '2026-01-15T11:59:00.000Z');
		assert.equal(contact.record?.Email, 'ada&co@example.com');
		assert.equal(contact.record?.MailingPostalCode, '00123');
		assert.equal(contact.record?.Phone, null);
		assert.deepEqual(contact.origin, { actorId: '0055g00000INTEGR' });
		assert.deepEqual([lead.entity, lead.operation], ['lead', 'create']);
	});

	test('malformed XML, a DTD, or a SOAP body without notifications is 400', () => {
		const url = `/webhook/abc/salesforce?key=${CURRENT}`;
		refused(handle('salesforce', omReq(outboundMessage().replace('</notifications>', ''), url)), 400, /malformed XML/);
		refused(handle('salesforce', omReq('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', url)), 400, /DTD/);
		refused(handle('salesforce', omReq('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>', url)), 400, /notifications/);
		refused(handle('salesforce', omReq('plain words', url)), 400, /malformed XML/);
	});
});

describe('Salesforce JSON (CDC relay / Flow callout)', () => {
	test('X-Sfdc-Signature HMAC with the current and the previous secret; wrong or missing is 401', () => {
		const body = JSON.stringify(cdcMessage({}));
		accepted(handle('salesforce', cdcReq(body)));
		accepted(handle('salesforce', cdcReq(body, sign(body, PREVIOUS))));
		refused(handle('salesforce', cdcReq(body, sign(body, 'other'))), 401, /invalid/);
		refused(handle('salesforce', cdcReq(body, sign(body + ' '))), 401);
		refused(handle('salesforce', req(body, { 'content-type': 'application/json' })), 401, /missing X-Sfdc-Signature/);
	});

	test('UPDATE: changed fields (compound names flattened), record, origin, event id from the transaction', () => {
		const body = JSON.stringify(cdcMessage({}, { Name: { LastName: 'Byron' }, Email: 'ada@example.com', MailingAddress: { City: 'London' }, LastModifiedDate: '2026-01-15T12:00:00.000Z' }));
		const [event] = accepted(handle('salesforce', cdcReq(body))).events;
		assert.deepEqual([event.entity, event.operation, event.recordId], ['contact', 'update', '0035g00000AAAAAAA1']);
		assert.equal(event.eventId, '0002343d-9d90-e395-ed20-cf416ba652ad:1');
		assert.equal(event.occurredAt, new Date(1768478400000).toISOString());
		assert.deepEqual(event.changedFields, ['LastName', 'Email', 'MailingCity', 'LastModifiedDate']);
		assert.deepEqual(event.record, { LastName: 'Byron', Email: 'ada@example.com', MailingCity: 'London', LastModifiedDate: '2026-01-15T12:00:00.000Z' });
		assert.deepEqual(event.origin, { source: 'com/salesforce/api/rest/62.0;client=crm-sync', actorId: '0055g00000INTEGR' });
	});

	test('CREATE / DELETE / UNDELETE / GAP_*, several recordIds, bare and batched forms', () => {
		const create = cdcMessage({ changeType: 'CREATE', changedFields: [], entityName: 'Opportunity', recordIds: ['0065g1'] }, { Name: 'Big deal', Amount: 5000 });
		const del = cdcMessage({ changeType: 'DELETE', changedFields: [], recordIds: ['0035g1', '0035g2'], sequenceNumber: 2 });
		const undelete = cdcMessage({ changeType: 'UNDELETE', changedFields: [], sequenceNumber: 3 });
		const gap = cdcMessage({ changeType: 'GAP_UPDATE', changedFields: [], sequenceNumber: 4 });
		const overflow = cdcMessage({ changeType: 'GAP_OVERFLOW', recordIds: [], sequenceNumber: 5 });
		const account = { ChangeEventHeader: { ...cdcMessage({}).data.payload.ChangeEventHeader, entityName: 'Account', sequenceNumber: 6 }, Name: 'Acme' };
		const body = JSON.stringify([create, del, undelete, gap, overflow, account, { hello: 1 }]);
		const outcome = accepted(handle('salesforce', cdcReq(body)));
		const ops = outcome.events.map((e) => `${e.entity}:${e.operation}:${e.recordId}`);
		assert.deepEqual(ops, [
			'opportunity:create:0065g1',
			'contact:delete:0035g1',
			'contact:delete:0035g2',
			'contact:restore:0035g00000AAAAAAA1',
			'contact:update:0035g00000AAAAAAA1',
			'account:update:0035g00000AAAAAAA1',
		]);
		assert.deepEqual(outcome.events[0].record, { Name: 'Big deal', Amount: 5000 });
		assert.deepEqual(outcome.events[0].changedFields, ['Name', 'Amount']);
		assert.notEqual(outcome.events[1].eventId, outcome.events[2].eventId);
		assert.equal(outcome.events[4].record, undefined, 'a GAP event carries no field values');
		assert.deepEqual(outcome.skipped.map((s) => s.index), [4, 6]);
		assert.match(outcome.skipped[0].reason, /GAP_OVERFLOW/);
		const wrapped = JSON.stringify({ events: [create] });
		assert.equal(accepted(handle('salesforce', cdcReq(wrapped))).events.length, 1);
	});

	test('malformed JSON with a valid signature is 400', () => {
		const body = '{"data": {"payload": ';
		refused(handle('salesforce', cdcReq(body)), 400, /malformed JSON/);
		refused(handle('salesforce', cdcReq('[]')), 400, /no events/);
	});
});

// ------------------------------------------------------------------------------- Zoho

const zohoNotification = (token: string, extra: Record<string, unknown> = {}) => ({
	server_time: 1560407839000,
	query_params: {},
	module: 'Contacts',
	resource_uri: 'https://www.zohoapis.com/crm/v2/Contacts',
	ids: ['3652397000000377001', '3652397000000377002'],
	affected_fields: [{ '3652397000000377001': ['Last_Name', 'Email'] }, { '3652397000000377002': ['Phone'] }],
	operation: 'update',
	channel_id: '1000000068001',
	token,
	...extra,
});
const zohoReq = (body: unknown) => req(typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });

describe('Zoho', () => {
	test('token with the current and the previous secret; wrong or missing is 401', () => {
		accepted(handle('zoho', zohoReq(zohoNotification(CURRENT))));
		accepted(handle('zoho', zohoReq(zohoNotification(PREVIOUS))));
		refused(handle('zoho', zohoReq(zohoNotification('guess'))), 401, /invalid/);
		refused(handle('zoho', zohoReq({ ...zohoNotification(CURRENT), token: undefined })), 401, /missing token/);
	});

	test('one event per id with changed fields and values; insert/delete; unknown modules skipped', () => {
		const outcome = accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { affected_values: [{ id: '3652397000000377001', Last_Name: 'Byron', Email: 'ada@example.com' }] }))));
		assert.equal(outcome.events.length, 2);
		const [a, b] = outcome.events;
		assert.deepEqual([a.entity, a.operation, a.recordId], ['contact', 'update', '3652397000000377001']);
		assert.deepEqual(a.changedFields, ['Last_Name', 'Email']);
		assert.deepEqual(a.record, { id: '3652397000000377001', Last_Name: 'Byron', Email: 'ada@example.com' });
		assert.equal(a.occurredAt, new Date(1560407839000).toISOString());
		assert.deepEqual(b.changedFields, ['Phone']);
		assert.equal(b.record, undefined);
		assert.notEqual(a.eventId, b.eventId);
		const insert = accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { module: 'Deals', operation: 'insert', ids: ['9'] })))).events[0];
		assert.deepEqual([insert.entity, insert.operation, insert.changedFields], ['opportunity', 'create', undefined]);
		const del = accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { operation: 'delete' })))).events[0];
		assert.equal(del.operation, 'delete');
		const vendors = accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { module: 'Vendors' }))));
		assert.equal(vendors.events.length, 0);
		assert.equal(vendors.skipped.length, 2);
	});

	test('malformed JSON or a body without ids is 400', () => {
		refused(handle('zoho', zohoReq('{"token": "x"')), 400, /malformed JSON/);
		refused(handle('zoho', zohoReq('[1,2]')), 400, /object/);
		refused(handle('zoho', zohoReq({ ...zohoNotification(CURRENT), ids: undefined })), 400, /ids/);
	});
});

// ------------------------------------------------------------------------------- Dynamics

const CONTACT_ID = '7d1d6a3b-2f4e-4c8a-9d1e-1a2b3c4d5e6f';
const APP_USER = 'A1B2C3D4-0000-4000-8000-000000000001';

function executionContext(message: string, extra: Record<string, unknown> = {}) {
	return {
		BusinessUnitId: 'b0f1e2d3-0000-0000-0000-000000000000',
		CorrelationId: 'c0ffee00-1111-2222-3333-444455556666',
		Depth: 1,
		InitiatingUserId: APP_USER,
		InputParameters: [
			{
				key: 'Target',
				value: {
					__type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts',
					Attributes: [
						{ key: 'firstname', value: 'James' },
						{ key: 'modifiedon', value: '/Date(1506384247000)/' },
						{ key: 'parentcustomerid', value: { __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts', Id: 'acc-1', LogicalName: 'account', Name: 'Acme' } },
						{ key: 'preferredcontactmethodcode', value: { __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts', Value: 2 } },
						{ key: 'contactid', value: CONTACT_ID },
					],
					EntityState: null, FormattedValues: [], Id: CONTACT_ID, KeyAttributes: [], LogicalName: 'contact', RelatedEntities: [], RowVersion: null,
				},
			},
		],
		IsExecutingOffline: false, IsInTransaction: false, IsOfflinePlayback: false, IsolationMode: 1,
		MessageName: message, Mode: 1,
		OperationCreatedOn: '/Date(1506409448000-0700)/',
		OperationId: '0a0b0c0d-1111-2222-3333-444455556666',
		OrganizationId: 'org-1', OrganizationName: 'acme',
		OutputParameters: [],
		OwningExtension: { Id: 'step-1', LogicalName: 'sdkmessageprocessingstep' },
		PostEntityImages: [],
		PreEntityImages: [],
		PrimaryEntityId: CONTACT_ID,
		PrimaryEntityName: 'contact',
		RequestId: null,
		SecondaryEntityName: 'none',
		SharedVariables: [],
		Stage: 40,
		UserId: APP_USER,
		...extra,
	};
}

const dynReq = (body: unknown, headers: Record<string, string> = {}, url = '/webhook/abc/dynamics') =>
	req(JSON.stringify(body), { 'content-type': 'application/json', 'x-ms-dynamics-entity-name': 'contact', ...headers }, url);

describe('Dynamics', () => {
	test('key in the x-crm-sync-key header or ?code=, current and previous; wrong or missing is 401', () => {
		const body = executionContext('Update');
		accepted(handle('dynamics', dynReq(body, { 'x-crm-sync-key': CURRENT })));
		accepted(handle('dynamics', dynReq(body, { 'x-crm-sync-key': PREVIOUS })));
		accepted(handle('dynamics', dynReq(body, {}, `/webhook/abc/dynamics?code=${encodeURIComponent(CURRENT)}`)));
		accepted(handle('dynamics', dynReq(body, {}, `/webhook/abc/dynamics?code=${PREVIOUS}`)));
		refused(handle('dynamics', dynReq(body, { 'x-crm-sync-key': 'nope' })), 401, /invalid/);
		refused(handle('dynamics', dynReq(body, {}, '/webhook/abc/dynamics?code=nope')), 401);
		refused(handle('dynamics', dynReq(body)), 401, /missing/);
	});

	test('Update: attributes with WCF dates, lookups, option sets; InitiatingUserId as origin', () => {
		const [event] = accepted(handle('dynamics', dynReq(executionContext('Update'), { 'x-crm-sync-key': CURRENT }))).events;
		assert.deepEqual([event.entity, event.operation, event.recordId], ['contact', 'update', CONTACT_ID]);
		assert.equal(event.eventId, '0a0b0c0d-1111-2222-3333-444455556666');
		// The change's own modifiedon, not OperationCreatedOn (server-local, see lib/crms/dynamics/webhook.ts).
		assert.equal(event.occurredAt, new Date(1506384247000).toISOString());
		assert.deepEqual(event.changedFields, ['firstname', 'modifiedon', 'parentcustomerid', 'preferredcontactmethodcode', 'contactid']);
		assert.deepEqual(event.record, {
			firstname: 'James',
			modifiedon: new Date(1506384247000).toISOString(),
			parentcustomerid: { id: 'acc-1', logicalName: 'account', name: 'Acme' },
			preferredcontactmethodcode: 2,
			contactid: CONTACT_ID,
		});
		assert.deepEqual(event.origin, { actorId: APP_USER.toLowerCase() });
	});

	test('Create (id from OutputParameters), Delete (EntityReference target), Merge', () => {
		const create = executionContext('Create', { PrimaryEntityId: '00000000-0000-0000-0000-000000000000', OutputParameters: [{ key: 'id', value: CONTACT_ID }] });
		const [c] = accepted(handle('dynamics', dynReq(create, { 'x-crm-sync-key': CURRENT }))).events;
		assert.deepEqual([c.operation, c.recordId], ['create', CONTACT_ID]);
		const del = executionContext('Delete', {
			InputParameters: [{ key: 'Target', value: { __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts', Id: CONTACT_ID, LogicalName: 'contact', Name: null } }],
		});
		const [d] = accepted(handle('dynamics', dynReq(del, { 'x-crm-sync-key': CURRENT }))).events;
		assert.deepEqual([d.operation, d.recordId, d.record, d.changedFields], ['delete', CONTACT_ID, undefined, undefined]);
		const merge = executionContext('Merge', {
			InputParameters: [
				{ key: 'Target', value: { __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts', Id: CONTACT_ID, LogicalName: 'contact' } },
				{ key: 'SubordinateId', value: 'B0000000-0000-4000-8000-00000000000B' },
			],
		});
		const [m] = accepted(handle('dynamics', dynReq(merge, { 'x-crm-sync-key': CURRENT }))).events;
		assert.deepEqual([m.operation, m.recordId, m.mergedIds], ['merge', CONTACT_ID, ['b0000000-0000-4000-8000-00000000000b']]);
		const incident = accepted(handle('dynamics', dynReq(executionContext('Update', { PrimaryEntityName: 'incident' }), { 'x-crm-sync-key': CURRENT })));
		assert.equal(incident.events.length, 0);
		assert.match(incident.skipped[0].reason, /incident/);
	});

	test('malformed JSON or a body that is no RemoteExecutionContext is 400', () => {
		refused(handle('dynamics', req('{"MessageName": ', { 'content-type': 'application/json', 'x-crm-sync-key': CURRENT })), 400, /malformed JSON/);
		refused(handle('dynamics', dynReq({ hello: 'world' }, { 'x-crm-sync-key': CURRENT })), 400, /RemoteExecutionContext/);
	});
});

// ------------------------------------------------------------------------------- own changes

describe('own-change markers', () => {
	const base: CapturedEvent = { eventId: 'e', source: 'hubspot', entity: 'contact', operation: 'update', recordId: '1', occurredAt: new Date(NOW).toISOString() };

	test('each CRM recognises its marker and nothing else', () => {
		assert.equal(isOwnChange({ ...base, origin: { source: 'INTEGRATION', actorId: '1160452' } }, ['1160452']), true);
		assert.equal(isOwnChange({ ...base, origin: { source: 'CRM_UI', actorId: 'userId:45678' } }, ['1160452']), false);
		const pd: CapturedEvent = { ...base, source: 'pipedrive' };
		assert.equal(isOwnChange({ ...pd, origin: { source: 'api', actorId: '2' } }, ['2']), true);
		assert.equal(isOwnChange({ ...pd, origin: { source: 'app', actorId: '2' } }, ['2']), false, 'the same user in the app is a real change');
		const sf: CapturedEvent = { ...base, source: 'salesforce' };
		assert.equal(isOwnChange({ ...sf, origin: { source: 'com/salesforce/api/rest/62.0;client=crm-sync', actorId: '005A' } }, ['crm-sync']), true);
		assert.equal(isOwnChange({ ...sf, origin: { source: 'com/salesforce/api/rest/62.0;client=other', actorId: '005A' } }, ['crm-sync']), false);
		assert.equal(isOwnChange({ ...sf, origin: { actorId: '005INTEGRATION' } }, ['005integration']), true);
		const dyn: CapturedEvent = { ...base, source: 'dynamics' };
		assert.equal(isOwnChange({ ...dyn, origin: { actorId: APP_USER.toLowerCase() } }, [APP_USER]), true);
		assert.equal(isOwnChange({ ...dyn, origin: { actorId: 'someone-else' } }, [APP_USER]), false);
		assert.equal(isOwnChange({ ...base, source: 'zoho' }, ['anything']), false);
		assert.equal(isOwnChange({ ...base, origin: { actorId: '1' } }, []), false);
	});

	test('acceptEvents drops own changes (no store configured: nothing is claimed)', async () => {
		const events: CapturedEvent[] = [
			{ ...base, eventId: 'a', source: 'salesforce', origin: { source: 'x;client=crm-sync' } },
			{ ...base, eventId: 'b', source: 'salesforce', origin: { source: 'x;client=ui' } },
		];
		const result = await acceptEvents(events, { markers: ['crm-sync'] });
		assert.deepEqual(result.ownChanges.map((e) => e.eventId), ['a']);
		assert.deepEqual(result.fresh.map((e) => e.eventId), ['b']);
		assert.deepEqual(result.duplicates, []);
	});

	test('acceptEvents with a real embedded store: redeliveries are dropped, a closed store rejects', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-webhooks-'));
		const store = await openStateStore({ backend: 'embedded', namespace: `ns-${randomUUID()}`, path: path.join(dir, 'state.sqlite') });
		try {
			const body = JSON.stringify(hubspotBatch);
			const first = await acceptEvents(accepted(handle('hubspot', hubspotV3(body))).events, { store, ttlMs: 60_000 });
			assert.equal(first.fresh.length, 7);
			assert.equal(first.duplicates.length, 0);
			// The same batch again (HubSpot retry), plus one new event: only the new one goes on.
			const retry = JSON.stringify([...hubspotBatch, { ...hubspotBatch[0], eventId: 4000000001 }]);
			const second = await acceptEvents(accepted(handle('hubspot', hubspotV3(retry))).events, { store, ttlMs: 60_000 });
			assert.deepEqual(second.fresh.map((e) => e.eventId), ['4000000001']);
			assert.equal(second.duplicates.length, 7);
			// Own changes are dropped before claiming, so they never use up a key.
			const own = await acceptEvents([{ ...base, eventId: 'own-1', origin: { actorId: 'app-1' } }], { store, markers: ['app-1'] });
			assert.deepEqual([own.ownChanges.length, own.fresh.length], [1, 0]);
			assert.deepEqual((await acceptEvents([{ ...base, eventId: 'own-1' }], { store })).fresh.map((e) => e.eventId), ['own-1']);
		} finally {
			await store.close();
		}
		await assert.rejects(acceptEvents([{ ...base, eventId: 'late' }], { store }), (error: Error & { code?: string }) => error.code === 'closed');
		fs.rmSync(dir, { recursive: true, force: true });
	});

	test('echoes: the per-property events of one record are checked together; a failed check releases the claims', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-webhooks-'));
		const store = await openStateStore({ backend: 'embedded', namespace: `ns-${randomUUID()}`, path: path.join(dir, 'state.sqlite') });
		try {
			// What the upsert wrote (here compared on the CRM's own field names).
			await store.recordEchoes([echoFingerprint('hubspot', 'contact', '501', { email: 'ada@example.com', firstname: 'Ada' })], 60_000);
			const change = (eventId: number, objectId: number, propertyName: string, propertyValue: string) => ({
				eventId, subscriptionId: 1, portalId: 1, occurredAt: NOW - 1000, subscriptionType: 'contact.propertyChange', objectId, propertyName, propertyValue,
			});
			const batch = JSON.stringify([change(1, 501, 'email', 'ada@example.com'), change(2, 502, 'email', 'x@example.com'), change(3, 501, 'firstname', 'Ada')]);
			const events = accepted(handle('hubspot', hubspotV3(batch))).events;
			const isEcho = (e: CapturedEvent) => store.consumeEcho(e.source, e.entity, e.recordId, e.record ?? {});

			const failing = async () => {
				throw new Error('store went away');
			};
			await assert.rejects(acceptAndEnrich(events, { store, fetchRecords: false, isEcho: failing }), /store went away/);
			const result = await acceptAndEnrich(events, { store, fetchRecords: false, isEcho });
			assert.deepEqual(result.echoes.map((e) => e.eventId), ['1', '3'], 'both halves of our write are dropped');
			assert.deepEqual(result.events.map((e) => e.eventId), ['2'], 'claims were released after the failed check');
			// The fingerprint was consumed: the same values written by someone else later are a real change.
			const again = JSON.stringify([change(4, 501, 'email', 'ada@example.com'), change(5, 501, 'firstname', 'Ada')]);
			const later = await acceptAndEnrich(accepted(handle('hubspot', hubspotV3(again))).events, { store, fetchRecords: false, isEcho });
			assert.deepEqual(later.events.map((e) => e.eventId), ['4', '5']);
		} finally {
			await store.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

// ------------------------------------------------------------------------------- issue 17: hardening

describe('issue 17: every delivery needs its secret, legacy signatures are opt-in, bad elements are skipped', () => {
	const crms: CrmName[] = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'];
	const omUrl = `/webhook/abc/salesforce?key=${CURRENT}`;

	test('1: an anonymous Outbound Message that carries an allowed OrganizationId is refused without the secret', () => {
		const orgOnly = { secrets: [], salesforceOrganizationIds: [ORG] };
		refused(handle('salesforce', omReq(outboundMessage()), orgOnly), 401, /no secret is configured/);
		refused(handle('salesforce', omReq(outboundMessage(), omUrl), orgOnly), 401, /no secret is configured/);
		// With the secret, the org id is checked on top: key and org must both match.
		refused(handle('salesforce', omReq(outboundMessage()), { salesforceOrganizationIds: [ORG] }), 401, /missing \?key=/);
		accepted(handle('salesforce', omReq(outboundMessage(), omUrl), { salesforceOrganizationIds: [ORG] }));
	});

	test('1: activationProblem says what to set when no secret is configured, for every CRM', () => {
		const problem = activationProblem('salesforce', { secrets: ['', ''], salesforceOrganizationIds: [ORG] });
		assert.match(problem ?? '', /^Set the Secret: .*\?key=.*Outbound Message URL.*sign the JSON body/);
		for (const crm of crms) {
			assert.match(activationProblem(crm, { secrets: [] }) ?? '', /^Set the /, crm);
			assert.equal(activationProblem(crm, { secrets: ['', CURRENT] }), undefined, crm);
		}
		assert.match(activationProblem('salesforce', { secrets: [CURRENT], allowedIps: ['13.108.0.0/14', '13.110.0.0/99'] }) ?? '', /"13\.110\.0\.0\/99" is not an IP/);
		assert.equal(activationProblem('salesforce', { secrets: [CURRENT], allowedIps: ['13.108.0.0/14', ' 2001:db8::/32 ', '203.0.113.7', ''] }), undefined);
	});

	test('1: a non-empty Salesforce IP allow-list refuses other senders (403), for both forms, on top of the secret', () => {
		const allowedIps = ['13.108.0.0/14', '2001:db8::/32'];
		const from = (request: WebhookRequest, remoteAddress?: string) => ({ ...request, remoteAddress });
		for (const address of ['13.110.1.1', '::ffff:13.110.1.1', '2001:db8::5']) {
			accepted(handle('salesforce', from(omReq(outboundMessage(), omUrl), address), { allowedIps }));
		}
		refused(handle('salesforce', from(omReq(outboundMessage(), omUrl), '203.0.113.9'), { allowedIps }), 403, /203\.0\.113\.9.*not in the IP allow-list/);
		refused(handle('salesforce', from(omReq(outboundMessage(), omUrl)), { allowedIps }), 403, /unknown.*allow-list/);
		const cdc = JSON.stringify(cdcMessage({}));
		accepted(handle('salesforce', from(cdcReq(cdc), '13.108.0.1'), { allowedIps }));
		refused(handle('salesforce', from(cdcReq(cdc), '198.51.100.1'), { allowedIps }), 403);
		// The allow-list never replaces the secret.
		refused(handle('salesforce', from(omReq(outboundMessage()), '13.110.1.1'), { allowedIps, secrets: [] }), 401, /no secret/);
		refused(handle('salesforce', from(omReq(outboundMessage()), '13.110.1.1'), { allowedIps }), 401, /missing \?key=/);
	});

	test('2: HubSpot v1/v2 signatures without v3 are refused unless the legacy option is on', () => {
		const body = JSON.stringify(hubspotBatch);
		const base = { 'content-type': 'application/json', host: HS_HOST, 'x-forwarded-proto': 'https' };
		const v1 = createHash('sha256').update(CURRENT + body).digest('hex');
		const v2 = createHash('sha256').update(`${CURRENT}POSThttps://${HS_HOST}${HS_PATH}${body}`).digest('hex');
		for (const [signature, version] of [[v1, 'v1'], [v2, 'v2']]) {
			// A captured request with its v3 headers stripped: validly signed, days old.
			const replay = req(body, { ...base, 'x-hubspot-signature': signature, 'x-hubspot-signature-version': version }, HS_PATH);
			refused(handle('hubspot', replay), 401, /no replay protection.*Legacy App \(v1\/v2 Signatures\)/);
			accepted(handle('hubspot', replay, { hubspotLegacySignatures: true }));
		}
		// With v3 present, v3 alone decides, even for legacy apps.
		const forged = hubspotV3(body, { secret: 'wrong' });
		forged.headers['x-hubspot-signature'] = v1;
		refused(handle('hubspot', forged, { hubspotLegacySignatures: true }), 401, /v3/);
	});

	test('3: a missing secret is 401 with the same reason for all five CRMs (Salesforce included, both forms)', () => {
		const missing = { secrets: [undefined as unknown as string, ''] };
		const requests: Array<[CrmName, WebhookRequest]> = [
			['hubspot', hubspotV3(JSON.stringify(hubspotBatch))],
			['pipedrive', pipedriveReq(pipedriveV2Change)],
			['salesforce', omReq(outboundMessage(), omUrl)],
			['salesforce', cdcReq(JSON.stringify(cdcMessage({})))],
			['zoho', zohoReq(zohoNotification(CURRENT))],
			['dynamics', dynReq(executionContext('Update'), { 'x-crm-sync-key': CURRENT })],
		];
		for (const [crm, request] of requests) refused(handle(crm, request, missing), 401, /^no secret is configured for this endpoint$/);
	});

	test('4: a max body size that is not a finite positive number keeps the default limit', () => {
		const big = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
		for (const maxBodyBytes of [Number.NaN, 'abc' as unknown as number, Number.POSITIVE_INFINITY, 0, -5, undefined]) {
			for (const crm of crms) {
				refused(handle(crm, req(big, { 'content-type': 'application/json' }), { maxBodyBytes }), 413, new RegExp(`limit of ${DEFAULT_MAX_BODY_BYTES} bytes`));
			}
		}
	});

	// JSON.parse gives an own `toString` key: String() on such an object throws.
	const unprintable = { toString: 1 };

	test('7: HubSpot and Salesforce batches: a bad element is skipped with a reason, the good ones go on (200)', () => {
		const hubspot = JSON.stringify([
			hubspotBatch[0],
			{ ...hubspotBatch[4], eventId: 11, objectTypeId: unprintable },
			{ ...hubspotBatch[1], eventId: 12, subscriptionType: 'contact.constructor' },
			{ ...hubspotBatch[1], eventId: 13, subscriptionType: 'constructor.creation' },
			hubspotBatch[2],
		]);
		const hs = accepted(handle('hubspot', hubspotV3(hubspot)));
		assert.equal(hs.reply.status, 200);
		assert.deepEqual(hs.events.map((e) => e.eventId), ['3816279340', '3816279342']);
		assert.deepEqual(hs.skipped.map((s) => s.index), [1, 2, 3]);
		assert.match(hs.skipped[0].reason, /unsupported objectTypeId \{"toString":1\}/);
		assert.match(hs.skipped[1].reason, /contact\.constructor/);

		const good = cdcMessage({});
		const cdc = JSON.stringify([cdcMessage({ entityName: unprintable }), good, cdcMessage({ changeType: 'toString', sequenceNumber: 9 })]);
		const sf = accepted(handle('salesforce', cdcReq(cdc)));
		assert.equal(sf.events.length, 1);
		assert.deepEqual(sf.skipped.map((s) => s.index), [0, 2]);
		assert.match(sf.skipped[0].reason, /entityName/);
		assert.match(sf.skipped[1].reason, /changeType "toString"/);

		const om = outboundMessage(ORG, 2).replace('xsi:type="sf:Lead"', 'xsi:type="sf:constructor"');
		const sfOm = accepted(handle('salesforce', omReq(om, omUrl)));
		assert.equal(sfOm.reply.body, OUTBOUND_MESSAGE_ACK);
		assert.deepEqual(sfOm.events.map((e) => e.entity), ['contact']);
		assert.deepEqual(sfOm.skipped, [{ index: 1, reason: 'unsupported sObject type "constructor"' }]);
	});

	test('7: Pipedrive, Zoho and Dynamics: a bad field skips the change with a reason instead of a 400', () => {
		const secrets = [`crm-sync:${CURRENT}`];
		const farStamp = { ...pipedriveV2Change, meta: { ...pipedriveV2Change.meta, timestamp: 1e20 } };
		const pd = accepted(handle('pipedrive', pipedriveReq(farStamp), { secrets }));
		assert.deepEqual([pd.reply.status, pd.events.length, pd.skipped[0].index], [200, 0, 0]);
		assert.match(pd.skipped[0].reason, /timestamp/);
		const odd = { ...pipedriveV2Change, meta: { ...pipedriveV2Change.meta, entity: unprintable } };
		assert.match(accepted(handle('pipedrive', pipedriveReq(odd), { secrets })).skipped[0].reason, /unsupported Pipedrive object/);

		const zoho = accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { module: unprintable }))));
		assert.equal(zoho.events.length, 0);
		assert.deepEqual(zoho.skipped.map((s) => s.index), [0, 1], 'each id is reported');
		assert.match(zoho.skipped[0].reason, /unsupported Zoho module/);
		assert.match(accepted(handle('zoho', zohoReq(zohoNotification(CURRENT, { operation: 'constructor' })))).skipped[0].reason, /operation "constructor"/);

		const key = { 'x-crm-sync-key': CURRENT };
		const dyn = accepted(handle('dynamics', dynReq(executionContext('Update', { PrimaryEntityName: unprintable }), key)));
		assert.deepEqual([dyn.events.length, dyn.skipped[0].index], [0, 0]);
		assert.match(dyn.skipped[0].reason, /PrimaryEntityName/);
		// A date out of Date's range stays the value it was sent as; the change goes on.
		const context = executionContext('Update');
		const target = context.InputParameters[0].value as { Attributes: Array<{ key: string; value: unknown }> };
		target.Attributes.push({ key: 'birthdate', value: '/Date(99999999999999999)/' });
		const [event] = accepted(handle('dynamics', dynReq(context, key))).events;
		assert.equal(event.record?.birthdate, '/Date(99999999999999999)/');
	});

	test('7: a body unusable as a whole is still 400, and only after the signature was checked', () => {
		refused(handle('hubspot', hubspotV3('{"eventId": 1')), 400, /malformed JSON/);
		refused(handle('pipedrive', pipedriveReq([1, 2]), { secrets: [`crm-sync:${CURRENT}`] }), 400, /meta/);
		const unsigned = JSON.stringify([{ ...hubspotBatch[0], objectTypeId: unprintable }]);
		refused(handle('hubspot', req(unsigned, { 'content-type': 'application/json' })), 401);
	});
});

describe('503 replies (issue 17 item 5)', () => {
	test('name the kind of failure only: no local path, host or stack trace reaches the CRM', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-503-'));
		try {
			// A real store failure: the store's folder is a file.
			const notADir = path.join(dir, 'not-a-folder');
			fs.writeFileSync(notADir, 'x');
			const storeFailure = await openStateStore({ backend: 'embedded', path: path.join(notADir, 'state.sqlite'), namespace: 'n' }).then(
				() => assert.fail('the store opened'),
				(error: unknown) => error,
			);
			assert.match(String((storeFailure as Error).message), /not-a-folder/, 'the error itself has the path (for the log)');
			// A real CRM read failure: nothing listens on the port.
			const crmFailure = await readRecords(createConnector('hubspot', { accessToken: 'pat', baseUrl: 'http://127.0.0.1:9' }, { timeoutMs: 500, retry: { maxAttempts: 1 } }), 'contact', ['1']).then(
				() => assert.fail('the read succeeded'),
				(error: unknown) => error,
			);
			assert.match(String((crmFailure as Error).message), /127\.0\.0\.1|ECONNREFUSED|fetch failed/);
			for (const [error, kind] of [
				[storeFailure, 'state store unavailable'],
				[crmFailure, 'CRM unavailable'],
				[new Error(`ENOENT: ${dir}/x.sqlite\n    at Object.openSync (node:fs:573:18)`), 'cannot process the events'],
			] as const) {
				const reply = unavailableReply(error);
				assert.equal(reply.status, 503);
				assert.deepEqual(JSON.parse(reply.body), { error: `${kind}; send it again later` });
				assert.ok(!reply.body.includes(dir) && !reply.body.includes('127.0.0.1') && !reply.body.includes(' at '), reply.body);
			}
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
