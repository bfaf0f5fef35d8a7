// lib/webhooks/enrich: grouping, fetching through the real connectors against the sandbox
// emulators, erasure, unified ids, and "CRM down → claims released" with a real embedded store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { createConnector } from '../../../lib/connectors';
import { unifiedValues, isEchoOfOwnWrite } from '../../../lib/events/echo';
import { echoFingerprint, openStateStore, type StateStore } from '../../../lib/state';
import { crmModule } from '../../../lib/crms';
import type { CapturedEvent } from '../../../lib/events';
import { acceptAndEnrich, groupEvents, idempotencyKey, RecordFetchError } from '../../../lib/webhooks';
import { OWNER_EMAIL_FROM_METADATA, STAGE_FROM_METADATA } from '../../../lib/mapping';
import { crmMetadata } from '../../../lib/sync/crm-metadata';

let sandbox: Sandbox;
let store: StateStore;
let dir: string;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot', 'zoho', 'salesforce'] });
	dir = mkdtempSync(join(tmpdir(), 'enrich-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'enrich-test', path: join(dir, 'state.sqlite') });
});

after(async () => {
	await store?.close();
	await sandbox?.stop();
	rmSync(dir, { recursive: true, force: true });
});

const fastRetry = { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } };
const hubspot = () => createConnector('hubspot', { accessToken: 'pat-test', baseUrl: sandbox.urls.hubspot }, fastRetry);
const zoho = () => createConnector('zoho', { oauthTokenData: { access_token: 'zoho-test', api_domain: sandbox.urls.zoho }, apiDomainOverride: sandbox.urls.zoho, clientId: 'c', clientSecret: 's', accountsUrlOverride: sandbox.urls.zoho }, fastRetry);
const salesforce = () =>
	createConnector('salesforce', { grantType: 'authorizationCode', clientId: 'c', clientSecret: 's', loginUrl: sandbox.urls.salesforce, apiVersion: '62.0', oauthTokenData: { access_token: 'sf', refresh_token: 'r', instance_url: sandbox.urls.salesforce } }, fastRetry);

async function admin(crm: 'hubspot' | 'zoho' | 'salesforce', path: string, body: unknown, method = 'POST'): Promise<Record<string, unknown>> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	const text = await res.text();
	assert.ok(res.ok, text);
	return JSON.parse(text) as Record<string, unknown>;
}

/** Events as the CRM's webhook parser produces them from a body in the CRM's wire format. */
function parsed(crm: 'hubspot' | 'zoho', body: unknown): CapturedEvent[] {
	const request = { method: 'POST', url: '/', headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(JSON.stringify(body)) };
	return crmModule(crm).webhook.parse(request).events;
}

let eventSeq = 1000;
const hubspotEvent = (type: string, objectId: string, extra: Record<string, unknown> = {}) => ({
	eventId: ++eventSeq, subscriptionId: 1, portalId: 1, appId: 1, occurredAt: Date.now() + eventSeq, subscriptionType: type, attemptNumber: 0, objectId: Number(objectId), changeSource: 'CRM_UI', sourceId: 'userId:1', ...extra,
});

describe('grouping', () => {
	test('the events of one HubSpot record become one event; creation wins over its property changes', () => {
		const events = parsed('hubspot', [
			hubspotEvent('contact.creation', '7'),
			hubspotEvent('contact.propertyChange', '7', { propertyName: 'email', propertyValue: 'a@b.example' }),
			hubspotEvent('contact.propertyChange', '8', { propertyName: 'lastname', propertyValue: 'Other' }),
			hubspotEvent('contact.propertyChange', '7', { propertyName: 'firstname', propertyValue: 'Ann' }),
		]);
		const grouped = groupEvents(events);
		assert.equal(grouped.length, 2);
		assert.equal(grouped[0].operation, 'create');
		assert.deepEqual(grouped[0].record, { email: 'a@b.example', firstname: 'Ann' });
		assert.deepEqual(grouped[0].changedFields, ['email', 'firstname']);
		assert.equal(grouped[0].eventIds?.length, 3);
		assert.equal(grouped[1].operation, 'update');
	});
});

describe('fetching through the connector', () => {
	test('HubSpot: creation plus one property becomes one create with the whole record; unified id minted and linked', async () => {
		const created = await admin('hubspot', '/__admin/objects/contacts', { properties: { email: 'mary.j@hubspot.example', firstname: 'Mary', lastname: 'Jackson', phone: '+14155550126' } });
		const id = String(created.id);
		const events = parsed('hubspot', [hubspotEvent('contact.creation', id), hubspotEvent('contact.propertyChange', id, { propertyName: 'email', propertyValue: 'mary.j@hubspot.example' })]);
		const result = await acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot });
		assert.equal(result.events.length, 1);
		const [event] = result.events;
		assert.equal(event.operation, 'create');
		assert.equal(event.fetched, true);
		assert.equal(event.record?.firstname, 'Mary');
		assert.equal(event.record?.lastname, 'Jackson');
		assert.equal(event.record?.phone, '+14155550126');
		assert.ok('hs_email_optout' in (event.record ?? {}), 'the opt-out property is read too');
		assert.equal(event.unifiedId, `hubspot:${id}`);
		assert.equal(await store.findUnifiedId('contact', 'hubspot', id), `hubspot:${id}`);

		// Redelivery: dropped; a later change of the same record: the same unified id.
		assert.equal((await acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot })).events.length, 0);
		const later = await acceptAndEnrich(parsed('hubspot', [hubspotEvent('contact.propertyChange', id, { propertyName: 'lastname', propertyValue: 'Jackson' })]), { store, fetchRecords: true, reader: hubspot });
		assert.equal(later.events[0].unifiedId, `hubspot:${id}`);
		assert.deepEqual(later.events[0].changedFields, ['lastname'], 'changed fields stay the webhook\'s');
		assert.equal(later.events[0].record?.lastname, 'Jackson');
		assert.ok(!('hs_email_optout' in (later.events[0].record ?? {})), 'an update that did not touch the opt-out does not restate it');
		const optOut = await acceptAndEnrich(parsed('hubspot', [hubspotEvent('contact.propertyChange', id, { propertyName: 'hs_email_optout', propertyValue: 'true' })]), { store, fetchRecords: true, reader: hubspot });
		assert.ok('hs_email_optout' in (optOut.events[0].record ?? {}), 'a change of the opt-out carries it');
	});

	test('Salesforce: a deal is read with only the CRM\'s fields and gets its unified stage and owner e-mail from the metadata', async () => {
		const created = await admin('salesforce', '/__admin/sobjects/Opportunity', { Name: 'Orbital', Amount: 900, StageName: 'Closed Won', CloseDate: '2026-12-31' });
		const id = String(created.id);
		const event: CapturedEvent = { eventId: `sf-deal-${id}`, source: 'salesforce', entity: 'opportunity', operation: 'create', recordId: id, occurredAt: new Date().toISOString() };
		const connector = salesforce();
		const result = await acceptAndEnrich([event], { store, fetchRecords: true, reader: () => connector, metadata: () => crmMetadata(connector) });
		const record = result.events[0].record ?? {};
		assert.equal(record.Name, 'Orbital');
		assert.equal(record[STAGE_FROM_METADATA], 'closedWon');
		const owner = (await connector.listUsers()).find((u) => u.id === record.OwnerId);
		assert.equal(record[OWNER_EMAIL_FROM_METADATA], owner?.email?.toLowerCase(), "the owner's e-mail, as the CRM's users list it");
		assert.equal(unifiedValues('salesforce', 'opportunity', record).stage, 'closedWon', 'the default map reads it');
	});

	test('HubSpot: a person\'s change already overwritten by another write keeps its own values (not taken for that write\'s echo)', async () => {
		const created = await admin('hubspot', '/__admin/objects/contacts', { properties: { email: 'dorothy@hubspot.example', firstname: 'Dorothy', lastname: 'Vaughan', phone: '+14155550128' } });
		const id = String(created.id);
		// The person renames her; a sync write lands a moment later, before the webhook is processed.
		const change = parsed('hubspot', [hubspotEvent('contact.propertyChange', id, { propertyName: 'lastname', propertyValue: 'Johnson' })]);
		await admin('hubspot', `/__admin/objects/contacts/${id}`, { properties: { lastname: 'Synced', phone: '+14155550199' } }, 'PATCH');
		const result = await acceptAndEnrich(change, { store, fetchRecords: true, reader: hubspot, isEcho: async () => false });
		assert.equal(result.events[0].record?.lastname, 'Johnson', 'the changed field keeps the value of the change');
		assert.equal(result.events[0].record?.phone, '+14155550199', 'fields the event did not change are as fetched');
		assert.equal(result.events[0].record?.firstname, 'Dorothy');
	});

	test('a record that no longer exists is emitted as a delete; privacyDeletion is a delete flagged as erasure', async () => {
		const result = await acceptAndEnrich(
			parsed('hubspot', [hubspotEvent('contact.propertyChange', '99999999', { propertyName: 'lastname', propertyValue: 'x' }), hubspotEvent('contact.privacyDeletion', '55555555')]),
			{ store, fetchRecords: true, reader: hubspot },
		);
		assert.deepEqual(result.events.map((e) => [e.recordId, e.operation, e.erase ?? false]), [['99999999', 'delete', false], ['55555555', 'delete', true]]);
		assert.equal(result.events[0].record, undefined);
	});

	test('Zoho: a notification with ids only gets each whole record', async () => {
		const created = (await admin('zoho', '/__admin/ui/crm/v6/Contacts', { data: [{ First_Name: 'Annie', Last_Name: 'Easley', Email: 'annie@zoho.example', Phone: '+14155550127' }] })) as { data: Array<{ details: { id: string } }> };
		const id = created.data[0].details.id;
		const events = parsed('zoho', { server_time: Date.now(), query_params: {}, module: 'Contacts', resource_uri: 'x', ids: [id], operation: 'insert', channel_id: 5, token: 't' });
		const result = await acceptAndEnrich(events, { store, fetchRecords: true, reader: zoho });
		assert.equal(result.events.length, 1);
		assert.equal(result.events[0].record?.Last_Name, 'Easley');
		assert.equal(result.events[0].record?.Email, 'annie@zoho.example');
		assert.equal(result.events[0].unifiedId, `zoho:${id}`);
	});

	test('Salesforce: several records are read in one batched query', async () => {
		const a = (await admin('salesforce', '/__admin/sobjects/Contact', { LastName: 'Vaughan', Email: 'dv@sf.example' })) as { id: string };
		const b = (await admin('salesforce', '/__admin/sobjects/Contact', { LastName: 'Johnson', Email: 'kj@sf.example' })) as { id: string };
		const before = (await (await fetch(`${sandbox.urls.salesforce}/__admin/health`)).json()) as { requests: number };
		const events: CapturedEvent[] = [a.id, b.id, '003000000000000AAA'].map((id, i) => ({ eventId: `sf-${i}-${id}`, source: 'salesforce', entity: 'contact', operation: 'update', recordId: id, occurredAt: new Date().toISOString() }));
		const result = await acceptAndEnrich(events, { store, fetchRecords: true, reader: salesforce });
		const afterHealth = (await (await fetch(`${sandbox.urls.salesforce}/__admin/health`)).json()) as { requests: number };
		assert.deepEqual(result.events.map((e) => e.record?.LastName ?? e.operation), ['Vaughan', 'Johnson', 'delete']);
		assert.ok(afterHealth.requests - before.requests <= 2, `${afterHealth.requests - before.requests} API requests for three records`);
	});

	test('CRM down: RecordFetchError, and the claims are released so the redelivery is processed', async () => {
		const created = await admin('hubspot', '/__admin/objects/contacts', { properties: { email: 'down@hubspot.example', lastname: 'Down' } });
		const events = parsed('hubspot', [hubspotEvent('contact.creation', String(created.id))]);
		sandbox.emulators.hubspot!.setFaults({ errorRate: 1 });
		try {
			await assert.rejects(acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot }), RecordFetchError);
		} finally {
			sandbox.emulators.hubspot!.setFaults({});
		}
		assert.equal(await store.findUnifiedId('contact', 'hubspot', String(created.id)), undefined, 'nothing linked');
		const retry = await acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot });
		assert.equal(retry.events.length, 1, 'the redelivery is processed');
		assert.equal(retry.events[0].record?.lastname, 'Down');
		assert.deepEqual(await store.claimIdempotencyKeys([idempotencyKey(events[0])], 60_000), [false], 'claimed by the successful run');
	});

	test('merges carry the CRM ids of the merged-away record in every other CRM', async () => {
		await store.linkMany([
			{ entity: 'contact', unifiedId: 'u-win', crm: 'hubspot', recordId: '501' },
			{ entity: 'contact', unifiedId: 'u-lose', crm: 'hubspot', recordId: '502' },
			{ entity: 'contact', unifiedId: 'u-lose', crm: 'zoho', recordId: 'z-502' },
			{ entity: 'contact', unifiedId: 'u-lose', crm: 'salesforce', recordId: 's-502' },
		]);
		const result = await acceptAndEnrich(parsed('hubspot', [hubspotEvent('contact.merge', '501', { primaryObjectId: 501, mergedObjectIds: [502], newObjectId: 501 })]), { store, fetchRecords: true, reader: hubspot });
		assert.equal(result.events[0].operation, 'merge');
		assert.equal(result.events[0].unifiedId, 'u-win');
		assert.deepEqual(result.events[0].mergedIdsByCrm, { zoho: ['z-502'], salesforce: ['s-502'] });
	});
});

describe('echoes of our writes: consumed only by a request that succeeded', () => {
	/** A HubSpot contact as our write left it, with the fingerprint Unified CRM Upsert stores for that write. */
	async function writtenByUs(email: string, lastname: string): Promise<string> {
		const created = await admin('hubspot', '/__admin/objects/contacts', { properties: { email, lastname } });
		const id = String(created.id);
		await store.recordEchoes([echoFingerprint('hubspot', 'contact', id, unifiedValues('hubspot', 'contact', { email, lastname }))], 60_000);
		return id;
	}

	/** One request: our write's two property events, and a person's change of another record. */
	async function request(tag: string) {
		const ours = await writtenByUs(`ours.${tag}@hubspot.example`, 'Ours');
		const other = String((await admin('hubspot', '/__admin/objects/contacts', { properties: { email: `theirs.${tag}@hubspot.example`, lastname: 'Theirs' } })).id);
		const events = () =>
			parsed('hubspot', [
				hubspotEvent('contact.propertyChange', ours, { propertyName: 'email', propertyValue: `ours.${tag}@hubspot.example` }),
				hubspotEvent('contact.propertyChange', ours, { propertyName: 'lastname', propertyValue: 'Ours' }),
				hubspotEvent('contact.propertyChange', other, { propertyName: 'lastname', propertyValue: 'Theirs' }),
			]);
		return { ours, other, events: events(), sameValuesLater: events };
	}

	// The check as the trigger node passes it.
	const isEcho = (event: CapturedEvent) => isEchoOfOwnWrite(store, event);

	for (const fetchRecords of [true, false]) {
		test(`${fetchRecords ? 'fetched records' : 'values the webhook carried'}: the store fails after the echo was recognised; the redelivery is still an echo`, async () => {
			const { ours, other, events, sameValuesLater } = await request(`store-${fetchRecords}`);
			// The state store goes away while the second record is checked, after ours was recognised.
			const failing = async (event: CapturedEvent) => {
				if (event.recordId === other) throw new Error('state store went away');
				return isEcho(event);
			};
			await assert.rejects(acceptAndEnrich(events, { store, fetchRecords, reader: hubspot, isEcho: failing }), /went away/);

			const redelivery = await acceptAndEnrich(events, { store, fetchRecords, reader: hubspot, isEcho });
			assert.deepEqual([...new Set(redelivery.echoes.map((e) => e.recordId))], [ours], 'our write is still recognised');
			assert.deepEqual(redelivery.events.map((e) => e.recordId), [other]);

			// The successful request consumed the fingerprint: the same values reported again are a change.
			const later = await acceptAndEnrich(sameValuesLater(), { store, fetchRecords, reader: hubspot, isEcho });
			assert.deepEqual([...new Set(later.events.map((e) => e.recordId))].sort(), [ours, other].sort());
			assert.equal(later.echoes.length, 0);
		});
	}

	test("a person's change back to values we once wrote is no echo when the CRM names its maker (A → B → A)", async () => {
		const ours = await writtenByUs('aba@hubspot.example', 'Ours');
		const byUser = { changeSource: 'CRM_UI', sourceId: 'userId:77' };
		const back = () =>
			parsed('hubspot', [
				hubspotEvent('contact.propertyChange', ours, { propertyName: 'email', propertyValue: 'aba@hubspot.example', ...byUser }),
				hubspotEvent('contact.propertyChange', ours, { propertyName: 'lastname', propertyValue: 'Ours', ...byUser }),
			]);
		// With our app's id as the marker, the CRM says a person made it: it goes on, the fingerprint stays.
		const byPerson = await acceptAndEnrich(back(), { store, fetchRecords: false, isEcho, markers: ['1160452'] });
		assert.deepEqual([...new Set(byPerson.events.map((e) => e.recordId))], [ours]);
		assert.equal(byPerson.echoes.length, 0);
		// Without markers only the fingerprint can tell, and it takes the change for our write's echo.
		const unmarked = await acceptAndEnrich(back(), { store, fetchRecords: false, isEcho });
		assert.deepEqual([...new Set(unmarked.echoes.map((e) => e.recordId))], [ours]);
	});

	test('a record read fails (RecordFetchError, 503): the redelivery is still an echo', async () => {
		const { ours, other, events } = await request('read');
		sandbox.emulators.hubspot!.setFaults({ errorRate: 1, pathPattern: `/contacts/${other}` });
		try {
			await assert.rejects(acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot, isEcho }), RecordFetchError);
		} finally {
			sandbox.emulators.hubspot!.setFaults({});
		}
		const redelivery = await acceptAndEnrich(events, { store, fetchRecords: true, reader: hubspot, isEcho });
		assert.deepEqual(redelivery.echoes.map((e) => e.recordId), [ours]);
		assert.deepEqual(redelivery.events.map((e) => e.recordId), [other]);
	});
});

describe('prototype keys', () => {
	const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];
	const plain = (record: Record<string, unknown> | undefined) => {
		assert.ok(record);
		assert.equal(Object.getPrototypeOf(record), Object.prototype);
		assert.deepEqual(Object.keys(record).filter((k) => PROTOTYPE_KEYS.includes(k)), []);
		assert.equal((record as { isAdmin?: unknown }).isAdmin, undefined);
	};

	test('HubSpot property events named __proto__, constructor or prototype: the merged record keeps Object.prototype and drops them', async () => {
		const events = parsed('hubspot', [
			...PROTOTYPE_KEYS.map((name) => hubspotEvent('contact.propertyChange', '9001', { propertyName: name, propertyValue: { isAdmin: true } })),
			hubspotEvent('contact.propertyChange', '9001', { propertyName: 'lastname', propertyValue: 'Plain' }),
		]);
		const [grouped] = groupEvents(events);
		plain(grouped.record);
		assert.equal(grouped.record?.lastname, 'Plain');
		assert.deepEqual(grouped.changedFields, ['lastname']);

		// The record the echo check sees (values merged per record, without fetching).
		const checked: CapturedEvent[] = [];
		const isEcho = async (event: CapturedEvent) => (checked.push(event), false);
		await acceptAndEnrich(events, { store, fetchRecords: false, isEcho });
		assert.equal(checked.length, 1);
		plain(checked[0].record);
	});

	test('records of any CRM with such own keys (as JSON.parse builds them) are merged without them', async () => {
		const hostile = (n: number): CapturedEvent => ({
			eventId: `proto-${n}`, source: 'pipedrive', entity: 'contact', operation: 'update', recordId: '77', occurredAt: new Date(Date.now() + n).toISOString(),
			record: JSON.parse(`{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"polluted": 1}}, "prototype": 1, "name": "n${n}"}`) as Record<string, unknown>,
			changedFields: ['name'],
		});
		const [grouped] = groupEvents([hostile(1), hostile(2)]);
		plain(grouped.record);
		assert.equal(grouped.record?.name, 'n2');
		const checked: CapturedEvent[] = [];
		await acceptAndEnrich([hostile(3), hostile(4)], { store, fetchRecords: false, isEcho: async (event) => (checked.push(event), false) });
		plain(checked[0].record);
		assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
	});
});
