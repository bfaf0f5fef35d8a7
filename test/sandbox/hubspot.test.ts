// Conformance of the HubSpot emulator, driven by the real @hubspot/api-client over HTTP.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server } from 'node:http';
import { Client } from '@hubspot/api-client';
import { Signature } from '@hubspot/api-client/lib/src/utils/signature';
import { createEmulator, HubSpotEmulator } from '../../sandbox/hubspot';

interface Received {
	headers: IncomingMessage['headers'];
	raw: string;
	body: any;
}

/** Webhook receiver on a random port; `plan` gives the status per request (last one repeats). */
async function receiver(plan: number[] = [200]): Promise<{ url: string; got: Received[]; server: Server }> {
	const got: Received[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			got.push({ headers: req.headers, raw, body: JSON.parse(raw) });
			res.writeHead(plan[Math.min(got.length - 1, plan.length - 1)]).end();
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hubspot/webhook?x=1`, got, server };
}

/** Runs `fn` and returns the SDK's ApiException (fails when nothing is thrown). */
async function apiError(fn: () => Promise<unknown>): Promise<{ code: number; body: any; headers: any }> {
	try {
		await fn();
	} catch (err) {
		return err as { code: number; body: any; headers: any };
	}
	assert.fail('expected an ApiException');
}

let em: HubSpotEmulator;
let url: string;
const client = (opts: { accessToken?: string; retries?: number } = {}) =>
	new Client({ accessToken: opts.accessToken ?? 'pat-na1-sandbox', basePath: url, numberOfApiCallRetries: opts.retries ?? 0 });

before(async () => {
	em = createEmulator({ webhookRetryDelayScale: 0.001, webhookBatchWindowMs: 5 });
	url = await em.start();
});
after(() => em.stop());
beforeEach(() => em.reset());

describe('objects: single endpoints', () => {
	test('create 201, get by id and by email, update 200, archive 204, archived get', async () => {
		const hs = client();
		const created = await hs.crm.contacts.basicApi.create({ properties: { email: 'Ada@Example.com', firstname: 'Ada', lastname: 'Lovelace' }, associations: [] });
		assert.match(created.id, /^\d+$/);
		assert.equal(created.properties.email, 'ada@example.com');
		assert.equal(created.archived, false);
		assert.ok(created.createdAt instanceof Date);

		const byId = await hs.crm.contacts.basicApi.getById(created.id);
		assert.deepEqual(Object.keys(byId.properties).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
		const byEmail = await hs.crm.contacts.basicApi.getById('ADA@example.com', ['phone', 'firstname'], undefined, undefined, false, 'email');
		assert.equal(byEmail.id, created.id);
		assert.equal(byEmail.properties.phone, null);
		assert.equal(byEmail.properties.firstname, 'Ada');

		const before = Date.parse(byId.properties.lastmodifieddate!);
		const updated = await hs.crm.contacts.basicApi.update(created.id, { properties: { phone: '+1 415 555 0100', firstname: 'Augusta' } });
		assert.equal(updated.properties.firstname, 'Augusta');
		assert.ok(Date.parse(updated.properties.lastmodifieddate!) > before);

		await hs.crm.contacts.basicApi.archive(created.id);
		const gone = await apiError(() => hs.crm.contacts.basicApi.getById(created.id));
		assert.equal(gone.code, 404);
		assert.equal(gone.body.category, 'OBJECT_NOT_FOUND');
		const archived = await hs.crm.contacts.basicApi.getById(created.id, undefined, undefined, undefined, true);
		assert.equal(archived.archived, true);
		assert.ok(archived.archivedAt instanceof Date);
	});

	test('duplicate email 409 CONFLICT with the existing id; invalid email and read-only property 400', async () => {
		const hs = client();
		const first = await hs.crm.contacts.basicApi.create({ properties: { email: 'dup@example.com' }, associations: [] });
		const dup = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { email: 'DUP@example.com' }, associations: [] }));
		assert.equal(dup.code, 409);
		assert.equal(dup.body.category, 'CONFLICT');
		assert.equal(dup.body.message, `Contact already exists. Existing ID: ${first.id}`);
		assert.equal(typeof dup.body.correlationId, 'string');

		const bad = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { email: 'not-an-email' }, associations: [] }));
		assert.equal(bad.code, 400);
		assert.equal(bad.body.category, 'VALIDATION_ERROR');
		assert.match(bad.body.message, /INVALID_EMAIL/);
		const ro = await apiError(() => hs.crm.contacts.basicApi.update(first.id, { properties: { hs_object_id: '5' } }));
		assert.equal(ro.code, 400);
		assert.equal(ro.body.errors[0].code, 'READ_ONLY_VALUE');
		const noTs = await apiError(() => hs.crm.objects.notes.basicApi.create({ properties: { hs_note_body: 'x' }, associations: [] }));
		assert.equal(noTs.code, 400);
	});

	test('properties API lists standard properties; unknown properties and bad option values are refused; custom properties can be created', async () => {
		const hs = client();
		const props = await hs.crm.properties.coreApi.getAll('contacts');
		const email = props.results.find((p) => p.name === 'email')!;
		assert.equal(email.hasUniqueValue, true);
		assert.equal(props.results.find((p) => p.name === 'lastmodifieddate')!.modificationMetadata!.readOnlyValue, true);
		assert.ok(props.results.find((p) => p.name === 'lifecyclestage')!.options.some((o) => o.value === 'customer'));
		const unknown = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { favourite_colour: 'blue' }, associations: [] }));
		assert.equal(unknown.code, 400);
		assert.equal(unknown.body.errors[0].code, 'PROPERTY_DOESNT_EXIST');
		const badOption = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { lifecyclestage: 'vip' }, associations: [] }));
		assert.equal(badOption.body.errors[0].code, 'INVALID_OPTION');
		const badNumber = await apiError(() => hs.crm.deals.basicApi.create({ properties: { dealname: 'x', amount: 'lots' }, associations: [] }));
		assert.equal(badNumber.body.errors[0].code, 'INVALID_FLOAT');
		const created = await hs.crm.properties.coreApi.create('contacts', { name: 'favourite_colour', label: 'Favourite colour', type: 'string' as any, fieldType: 'text' as any, groupName: 'contactinformation' });
		assert.equal(created.hubspotDefined, false);
		const dupProp = await apiError(() => hs.crm.properties.coreApi.create('contacts', { name: 'favourite_colour', label: 'x', type: 'string' as any, fieldType: 'text' as any, groupName: 'contactinformation' }));
		assert.equal(dupProp.code, 409);
		const wrongObject = await apiError(() => hs.crm.contacts.basicApi.create({ properties: { favourite_colour: 'blue', dealname: 'x' }, associations: [] }));
		assert.equal(wrongObject.code, 400, 'dealname is not a contact property');
		const ok = await hs.crm.contacts.basicApi.create({ properties: { favourite_colour: 'blue' }, associations: [] });
		assert.equal((await hs.crm.contacts.basicApi.getById(ok.id, ['favourite_colour'])).properties.favourite_colour, 'blue');
		const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'D', closedate: '1735689600000' }, associations: [] });
		assert.equal((await hs.crm.deals.basicApi.getById(deal.id, ['closedate'])).properties.closedate, '2025-01-01T00:00:00.000Z');
	});

	test('list pages with after until paging disappears; limit above 100 is refused', async () => {
		em.seed({ contacts: 25, duplicateShare: 0 });
		const hs = client();
		const seen: string[] = [];
		let after: string | undefined;
		for (let page = 0; page < 10; page++) {
			const res = await hs.crm.contacts.basicApi.getPage(10, after, ['email']);
			seen.push(...res.results.map((r) => r.id));
			after = res.paging?.next?.after;
			if (!after) break;
			assert.ok(res.paging!.next!.link!.includes(`after=${after}`));
		}
		assert.equal(seen.length, 25);
		assert.equal(new Set(seen).size, 25);
		await hs.crm.contacts.basicApi.archive(seen[0]);
		await hs.crm.contacts.basicApi.archive('999999999');
		const archived = await hs.crm.contacts.basicApi.getPage(10, undefined, undefined, undefined, undefined, true);
		assert.deepEqual(archived.results.map((r) => r.id), [seen[0]]);
		assert.equal((await hs.crm.contacts.basicApi.getPage(100)).results.length, 24);
		const tooMany = await apiError(() => hs.crm.contacts.basicApi.getPage(101));
		assert.equal(tooMany.code, 400);
	});

	test('every object type: companies, deals and the engagements', async () => {
		const hs = client();
		const company = await hs.crm.companies.basicApi.create({ properties: { name: 'Acme', domain: 'acme.example.com' }, associations: [] });
		assert.ok('hs_lastmodifieddate' in (await hs.crm.companies.basicApi.getById(company.id)).properties);
		const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'Big', amount: '1000', dealstage: 'appointmentscheduled' }, associations: [] });
		assert.equal((await hs.crm.deals.basicApi.getById(deal.id, ['pipeline'])).properties.pipeline, 'default');
		const ts = new Date().toISOString();
		const apis = {
			notes: { hs_note_body: 'n' },
			tasks: { hs_task_subject: 't', hs_task_status: 'NOT_STARTED' },
			calls: { hs_call_title: 'c', hs_call_duration: '60000' },
			meetings: { hs_meeting_title: 'm' },
			emails: { hs_email_subject: 'e' },
		};
		for (const [type, props] of Object.entries(apis)) {
			const created = await hs.crm.objects.basicApi.create(type, { properties: { ...props, hs_timestamp: ts }, associations: [] });
			const got = await hs.crm.objects.basicApi.getById(type, created.id, Object.keys(props));
			for (const [k, v] of Object.entries(props)) assert.equal(got.properties[k], v, `${type}.${k}`);
		}
	});
});

describe('batch endpoints', () => {
	test('create 201, then 207 with numErrors for a duplicate; read 200/207; update 200; archive 204', async () => {
		const hs = client();
		const inputs = [1, 2, 3].map((i) => ({ properties: { email: `b${i}@example.com`, firstname: `B${i}` }, associations: [] }));
		const created = await hs.crm.contacts.batchApi.create({ inputs });
		assert.equal(created.results.length, 3);
		assert.equal((created as any).numErrors, undefined);

		const mixed = await hs.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'b1@example.com' }, associations: [] }, { properties: { email: 'b4@example.com' }, associations: [] }] });
		assert.equal((mixed as any).numErrors, 1);
		assert.equal(mixed.results.length, 1);
		assert.equal((mixed as any).errors[0].category, 'CONFLICT');

		const ids = created.results.map((r) => r.id);
		const read = await hs.crm.contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: ['firstname'], propertiesWithHistory: [] });
		assert.deepEqual(read.results.map((r) => r.properties.firstname).sort(), ['B1', 'B2', 'B3']);
		const partial = await hs.crm.contacts.batchApi.read({ inputs: [{ id: ids[0] }, { id: '999' }], properties: [], propertiesWithHistory: [] });
		assert.equal((partial as any).numErrors, 1);
		assert.deepEqual((partial as any).errors[0].context.ids, ['999']);
		const byEmail = await hs.crm.contacts.batchApi.read({ inputs: [{ id: 'b2@example.com' }], idProperty: 'email', properties: [], propertiesWithHistory: [] });
		assert.equal(byEmail.results[0].id, ids[1]);

		const updated = await hs.crm.contacts.batchApi.update({ inputs: ids.map((id) => ({ id, properties: { lastname: 'Batch' } })) });
		assert.equal(updated.results.length, 3);
		assert.ok(updated.results.every((r) => r.properties.lastname === 'Batch'));

		await hs.crm.contacts.batchApi.archive({ inputs: ids.map((id) => ({ id })) });
		assert.equal(em.store.require('contacts').size, 1);
	});

	test('upsert by email reports new true/false; more than 100 inputs is a 400', async () => {
		const hs = client();
		await hs.crm.contacts.basicApi.create({ properties: { email: 'old@example.com', firstname: 'Old' }, associations: [] });
		const res = await hs.crm.contacts.batchApi.upsert({
			inputs: [
				{ idProperty: 'email', id: 'old@example.com', properties: { lastname: 'Updated' } },
				{ idProperty: 'email', id: 'new@example.com', properties: { firstname: 'New' } },
			],
		});
		const byEmail = Object.fromEntries(res.results.map((r) => [r.properties.email ?? '', r]));
		assert.equal(res.results.length, 2);
		const flags = res.results.map((r) => (r as any)._new ?? (r as any)['new']).sort();
		assert.deepEqual(flags, [false, true]);
		assert.equal(em.store.require('contacts').size, 2);
		void byEmail;
		const big = await apiError(() => hs.crm.contacts.batchApi.create({ inputs: Array.from({ length: 101 }, (_, i) => ({ properties: { firstname: `x${i}` }, associations: [] })) }));
		assert.equal(big.code, 400);
		assert.equal(big.body.category, 'VALIDATION_ERROR');
	});
});

describe('search', () => {
	test('operators, sorting, paging and property selection', async () => {
		const hs = client();
		const mk = (email: string, firstname: string, phone?: string) => hs.crm.contacts.basicApi.create({ properties: { email, firstname, ...(phone ? { phone } : {}) }, associations: [] });
		const a = await mk('ann@acme.example.com', 'Ann', '+14155550100');
		await mk('bob@acme.example.com', 'Bob');
		await mk('cy@other.example.com', 'Cy', '+14155550199');
		const search = (filters: any[], extra: any = {}) => hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters }], properties: ['email', 'firstname'], limit: 100, after: '0', sorts: [], ...extra });

		assert.equal((await search([{ propertyName: 'email', operator: 'EQ', value: 'ANN@acme.example.com' }])).results[0].id, a.id);
		assert.equal((await search([{ propertyName: 'email', operator: 'NEQ', value: 'ann@acme.example.com' }])).total, 2);
		assert.equal((await search([{ propertyName: 'firstname', operator: 'IN', values: ['ann', 'cy'] }])).total, 2);
		assert.equal((await search([{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@acme.example.com' }])).total, 2);
		assert.equal((await search([{ propertyName: 'phone', operator: 'HAS_PROPERTY' }])).total, 2);
		assert.equal((await search([{ propertyName: 'phone', operator: 'NOT_HAS_PROPERTY' }])).total, 1);
		assert.equal((await search([{ propertyName: 'hs_object_id', operator: 'GT', value: a.id }])).total, 2);
		assert.equal((await search([{ propertyName: 'hs_object_id', operator: 'LTE', value: a.id }])).total, 1);
		const sorted = await search([], { sorts: [{ propertyName: 'firstname', direction: 'DESCENDING' }] as any });
		assert.deepEqual(sorted.results.map((r) => r.properties.firstname), ['Cy', 'Bob', 'Ann']);
		const page1 = await search([], { limit: 2 });
		assert.equal(page1.results.length, 2);
		assert.equal(page1.paging?.next?.after, '2');
		const page2 = await search([], { limit: 2, after: '2' });
		assert.equal(page2.results.length, 1);
		assert.equal(page2.paging, undefined);
		// OR across groups
		const or = await hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'firstname', operator: 'EQ' as any, value: 'Ann' }] }, { filters: [{ propertyName: 'firstname', operator: 'EQ' as any, value: 'Bob' }] }], properties: [], limit: 10, after: '0', sorts: [] });
		assert.equal(or.total, 2);
		assert.deepEqual(Object.keys(or.results[0].properties).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
	});

	test('delta read on lastmodifieddate (ms epoch, GTE, ascending); hs_lastmodifieddate finds nothing on contacts', async () => {
		const hs = client();
		em.seed({ contacts: 30, duplicateShare: 0 });
		const ids = [...em.store.require('contacts').values()].map((r) => r.id);
		const mark = Date.parse((await hs.crm.contacts.basicApi.getById(ids[29])).properties.lastmodifieddate!);
		await hs.crm.contacts.basicApi.update(ids[3], { properties: { firstname: 'Changed' } });
		await hs.crm.contacts.basicApi.update(ids[1], { properties: { firstname: 'Changed2' } });
		const delta = await hs.crm.contacts.searchApi.doSearch({
			filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GT' as any, value: String(mark) }] }],
			sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }] as any,
			properties: ['firstname'],
			limit: 100,
			after: '0',
		});
		assert.deepEqual(delta.results.map((r) => r.id), [ids[3], ids[1]]);
		const iso = await hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE' as any, value: new Date(mark).toISOString() }] }], sorts: [], properties: [], limit: 100, after: '0' });
		assert.equal(iso.total, 3);
		const wrongProp = await hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GT' as any, value: '0' }] }], sorts: [], properties: [], limit: 100, after: '0' });
		assert.equal(wrongProp.total, 0);
		const company = await hs.crm.companies.basicApi.create({ properties: { name: 'X' }, associations: [] });
		const companies = await hs.crm.companies.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE' as any, value: String(mark) }] }], sorts: [], properties: [], limit: 10, after: '0' });
		assert.deepEqual(companies.results.map((r) => r.id), [company.id]);
	});

	test('limits: limit above 200, the 10,000-result window and too many filters are 400s', async () => {
		const hs = client();
		const s = (extra: any) => apiError(() => hs.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 10, after: '0', ...extra }));
		assert.equal((await s({ limit: 201 })).code, 400);
		const window = await s({ after: '10000' });
		assert.equal(window.code, 400);
		assert.equal(window.body.category, 'VALIDATION_ERROR');
		assert.match(window.body.message, /10000/);
		const groups = Array.from({ length: 6 }, () => ({ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }));
		assert.equal((await s({ filterGroups: groups })).code, 400);
	});

	test('a search reaching the 10,000 window stops offering the next page', async () => {
		em.seed({ contacts: 10_050, duplicateShare: 0 });
		const hs = client();
		const res = await hs.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 200, after: '9900' });
		assert.equal(res.total, 10_050);
		assert.equal(res.results.length, 100);
		assert.equal(res.paging?.next?.after, '10000');
		const err = await apiError(() => hs.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 200, after: res.paging!.next!.after }));
		assert.equal(err.code, 400);
	});
});

describe('merge and associations', () => {
	test('merge keeps the primary, archives the other, fills empty properties and redirects the merged id', async () => {
		const hs = client();
		const p = await hs.crm.contacts.basicApi.create({ properties: { email: 'p@example.com', firstname: 'P' }, associations: [] });
		const l = await hs.crm.contacts.basicApi.create({ properties: { email: 'l@example.com', firstname: 'L', phone: '123' }, associations: [] });
		const merged = await hs.crm.contacts.basicApi.merge({ primaryObjectId: p.id, objectIdToMerge: l.id });
		assert.equal(merged.id, p.id);
		const got = await hs.crm.contacts.basicApi.getById(p.id, ['firstname', 'phone', 'hs_additional_emails', 'hs_merged_object_ids']);
		assert.equal(got.properties.firstname, 'P');
		assert.equal(got.properties.phone, '123');
		assert.equal(got.properties.hs_additional_emails, 'l@example.com');
		assert.equal(got.properties.hs_merged_object_ids, l.id);
		assert.equal((await hs.crm.contacts.basicApi.getById(l.id)).id, p.id);
		const byOldEmail = await hs.crm.contacts.basicApi.getById('l@example.com', undefined, undefined, undefined, false, 'email');
		assert.equal(byOldEmail.id, p.id);
		const self = await apiError(() => hs.crm.contacts.basicApi.merge({ primaryObjectId: p.id, objectIdToMerge: p.id }));
		assert.equal(self.code, 400);
	});

	test('create-time associations, v3 associations on get, v4 create/list/archive', async () => {
		const hs = client();
		const company = await hs.crm.companies.basicApi.create({ properties: { name: 'Acme' }, associations: [] });
		const contact = await hs.crm.contacts.basicApi.create({
			properties: { email: 'a@acme.example.com' },
			associations: [{ to: { id: company.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279 }] }],
		});
		const got = await hs.crm.contacts.basicApi.getById(contact.id, undefined, undefined, ['companies']);
		assert.equal(got.associations!.companies.results[0].id, company.id);
		const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'D' }, associations: [] });
		const made = await hs.crm.associations.v4.basicApi.create('deals', deal.id, 'contacts', contact.id, [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 3 }]);
		assert.equal(String(made.toObjectId), contact.id);
		const fromContact = await hs.crm.associations.v4.basicApi.getPage('contacts', contact.id, 'deals');
		assert.equal(String(fromContact.results[0].toObjectId), deal.id);
		assert.equal(fromContact.results[0].associationTypes[0].typeId, 4);
		await hs.crm.associations.v4.basicApi.archive('deals', deal.id, 'contacts', contact.id);
		assert.equal((await hs.crm.associations.v4.basicApi.getPage('contacts', contact.id, 'deals')).results.length, 0);
		const dflt = await hs.crm.associations.v4.basicApi.createDefault('notes', (await hs.crm.objects.basicApi.create('notes', { properties: { hs_timestamp: String(Date.now()) }, associations: [] })).id, 'contacts', contact.id);
		assert.equal(dflt.results[0].associationSpec.associationTypeId, 202);
		const bad = await apiError(() =>
			hs.crm.contacts.basicApi.create({ properties: {}, associations: [{ to: { id: '42' }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279 }] }] }),
		);
		assert.equal(bad.code, 400);
	});
});

describe('auth', () => {
	test('OAuth refresh through the SDK; strict mode refuses unknown tokens; expired tokens get EXPIRED_AUTHENTICATION', async () => {
		em.setStrictAuth(true);
		try {
			const unknown = await apiError(() => client({ accessToken: 'made-up' }).crm.contacts.basicApi.getPage());
			assert.equal(unknown.code, 401);
			assert.equal(unknown.body.category, 'INVALID_AUTHENTICATION');
			const first = await new Client({ basePath: url }).oauth.tokensApi.create('authorization_code', 'code-1', 'http://localhost/cb', 'cid', 'secret');
			assert.equal(first.expiresIn, 1800);
			assert.equal(first.tokenType, 'bearer');
			const ok = await client({ accessToken: first.accessToken }).crm.contacts.basicApi.getPage();
			assert.deepEqual(ok.results, []);
			em.tokens.expireAll();
			const expired = await apiError(() => client({ accessToken: first.accessToken }).crm.contacts.basicApi.getPage());
			assert.equal(expired.code, 401);
			assert.equal(expired.body.category, 'EXPIRED_AUTHENTICATION');
			const refreshed = await new Client({ basePath: url }).oauth.tokensApi.create('refresh_token', undefined, undefined, 'cid', 'secret', first.refreshToken);
			assert.notEqual(refreshed.accessToken, first.accessToken);
			await client({ accessToken: refreshed.accessToken }).crm.contacts.basicApi.getPage();
			const info = await new Client({ basePath: url }).oauth.accessTokensApi.get(refreshed.accessToken);
			assert.equal(info.hubId, em.portalId);
			assert.equal(info.appId, em.appIdForToken(refreshed.accessToken));
			const badRefresh = await apiError(() => new Client({ basePath: url }).oauth.tokensApi.create('refresh_token', undefined, undefined, 'cid', 'secret', 'nope'));
			assert.equal(badRefresh.code, 400);
			assert.equal(badRefresh.body.status, 'BAD_REFRESH_TOKEN');
		} finally {
			em.setStrictAuth(false);
		}
	});

	test('a short token lifetime expires tokens on its own; missing auth is 401', async () => {
		em.setTokenLifetime(50);
		try {
			const t = await new Client({ basePath: url }).oauth.tokensApi.create('authorization_code', 'c', 'http://x', 'cid', 'secret');
			await client({ accessToken: t.accessToken }).crm.contacts.basicApi.getPage();
			await new Promise((r) => setTimeout(r, 80));
			assert.equal((await apiError(() => client({ accessToken: t.accessToken }).crm.contacts.basicApi.getPage())).body.category, 'EXPIRED_AUTHENTICATION');
		} finally {
			em.setTokenLifetime(1800_000);
		}
		const res = await fetch(`${url}/crm/v3/objects/contacts`);
		assert.equal(res.status, 401);
	});
});

describe('rate limits', () => {
	test('off by default; when on: rate headers, 429 TEN_SECONDLY_ROLLING after 100 requests in 10 s', async () => {
		for (let i = 0; i < 110; i++) await fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer a' } });
		em.setRateLimits(true);
		try {
			const hs = client({ accessToken: 'rl-token' });
			const first = await fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer rl-token' } });
			assert.equal(first.headers.get('x-hubspot-ratelimit-max'), '100');
			assert.equal(first.headers.get('x-hubspot-ratelimit-remaining'), '99');
			for (let i = 0; i < 99; i++) await hs.crm.contacts.basicApi.getPage(1);
			const err = await apiError(() => hs.crm.contacts.basicApi.getPage(1));
			assert.equal(err.code, 429);
			assert.equal(err.body.policyName, 'TEN_SECONDLY_ROLLING');
			assert.equal(err.body.errorType, 'RATE_LIMIT');
			assert.equal(err.body.message, 'You have reached your ten_secondly_rolling limit.');
			// Another token has its own window.
			await client({ accessToken: 'other-token' }).crm.contacts.basicApi.getPage(1);
		} finally {
			em.setRateLimits(false);
		}
	});

	test('the SDK waits 10 s and retries after a TEN_SECONDLY_ROLLING 429, then succeeds', async () => {
		em.setRateLimits(true);
		try {
			const hs = client({ accessToken: 'burst-token', retries: 2 });
			for (let i = 0; i < 100; i++) await fetch(`${url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: 'Bearer burst-token' } });
			const t0 = Date.now();
			const page = await hs.crm.contacts.basicApi.getPage(1);
			assert.deepEqual(page.results, []);
			assert.ok(Date.now() - t0 >= 9_500, 'the first attempt was throttled and the retry came about 10 s later');
		} finally {
			em.setRateLimits(false);
		}
	});

	test('search secondly limit: 429 with the message the SDK retries on, and the SDK recovers', async () => {
		em.setRateLimits(true);
		try {
			const body = { filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' };
			const hs = client({ accessToken: 'search-token' });
			for (let i = 0; i < 4; i++) await hs.crm.contacts.searchApi.doSearch(body);
			const err = await apiError(() => hs.crm.contacts.searchApi.doSearch(body));
			assert.equal(err.code, 429);
			assert.equal(err.body.message, 'You have reached your secondly limit.');
			const retrying = client({ accessToken: 'search-token', retries: 2 });
			const t0 = Date.now();
			const ok = await retrying.crm.contacts.searchApi.doSearch(body);
			assert.equal(ok.total, 0);
			assert.ok(Date.now() - t0 >= 900, 'the SDK waited about 1 s before retrying');
		} finally {
			em.setRateLimits(false);
		}
	});
});

describe('webhooks', () => {
	test('batched array with creation and propertyChange events, valid v1 and v3 signatures, INTEGRATION source', async () => {
		const rx = await receiver();
		try {
			em.addSubscription({ url: rx.url, clientSecret: 'shh', types: ['contact.creation', 'contact.propertyChange', 'contact.deletion', 'contact.restore'] });
			const hs = client();
			const c = await hs.crm.contacts.basicApi.create({ properties: { email: 'w@example.com', firstname: 'W' }, associations: [] });
			await hs.crm.contacts.basicApi.archive(c.id);
			await em.webhooksIdle();
			const events = rx.got.flatMap((g) => g.body);
			const types = events.map((e: any) => `${e.subscriptionType}${e.propertyName ? ':' + e.propertyName : ''}`);
			assert.deepEqual(types.sort(), ['contact.creation', 'contact.deletion', 'contact.propertyChange:email', 'contact.propertyChange:firstname']);
			assert.equal((await fetch(`${url}/__admin/objects/contacts/${c.id}/restore`, { method: 'POST' })).status, 200);
			await em.webhooksIdle();
			const restore = rx.got.flatMap((g) => g.body).find((e: any) => e.subscriptionType === 'contact.restore');
			assert.equal(restore.changeFlag, 'RESTORED');
			assert.equal(restore.changeSource, 'CRM_UI');
			assert.equal((await hs.crm.contacts.basicApi.getById(c.id)).archived, false);
			em.addSubscription({ url: rx.url, clientSecret: 'shh', types: ['contact.privacyDeletion'] });
			await hs.crm.contacts.basicApi.purge({ objectId: 'w@example.com', idProperty: 'email' });
			await em.webhooksIdle();
			assert.ok(rx.got.flatMap((g) => g.body).some((e: any) => e.subscriptionType === 'contact.privacyDeletion' && e.objectId === Number(c.id)));
			assert.equal((await apiError(() => hs.crm.contacts.basicApi.getById(c.id, undefined, undefined, undefined, true))).code, 404, 'GDPR delete leaves nothing, not even an archived copy');
			for (const e of events) {
				assert.equal(e.objectId, Number(c.id));
				assert.equal(e.changeSource, 'INTEGRATION');
				assert.equal(e.sourceId, String(em.appId));
				assert.equal(e.attemptNumber, 0);
				assert.equal(e.portalId, em.portalId);
			}
			assert.equal(events.find((e: any) => e.subscriptionType === 'contact.creation').changeFlag, 'CREATED');
			for (const g of rx.got) {
				assert.equal(g.headers['x-hubspot-signature-version'], 'v1');
				assert.ok(Signature.isValid({ signatureVersion: 'v1', signature: g.headers['x-hubspot-signature'] as string, clientSecret: 'shh', requestBody: g.raw }));
				assert.ok(
					Signature.isValid({
						signatureVersion: 'v3',
						signature: g.headers['x-hubspot-signature-v3'] as string,
						clientSecret: 'shh',
						requestBody: g.raw,
						url: rx.url,
						method: 'POST',
						timestamp: Number(g.headers['x-hubspot-request-timestamp']),
					}),
				);
				assert.ok(!Signature.isValid({ signatureVersion: 'v1', signature: g.headers['x-hubspot-signature'] as string, clientSecret: 'wrong', requestBody: g.raw }));
			}
		} finally {
			rx.server.close();
		}
	});

	test('v2 signatures, at most 100 events per request, merge and UI changes', async () => {
		const rx = await receiver();
		try {
			em.addSubscription({ url: rx.url, clientSecret: 's2', signatureVersion: 'v2', types: ['contact.creation', 'contact.merge', { type: 'contact.propertyChange', propertyName: 'lastname' }] });
			const hs = client();
			const inputs = Array.from({ length: 100 }, (_, i) => ({ properties: { email: `m${i}@example.com` }, associations: [] }));
			const a = await hs.crm.contacts.batchApi.create({ inputs });
			const b = await hs.crm.contacts.batchApi.create({ inputs: inputs.slice(0, 50).map((x, i) => ({ ...x, properties: { email: `n${i}@example.com` } })) });
			await em.webhooksIdle();
			assert.ok(rx.got.every((g) => g.body.length <= 100));
			assert.equal(rx.got.flatMap((g) => g.body).length, 150);
			for (const g of rx.got) {
				assert.ok(Signature.isValid({ signatureVersion: 'v2', signature: g.headers['x-hubspot-signature'] as string, clientSecret: 's2', requestBody: g.raw, url: rx.url, method: 'POST' }));
			}
			rx.got.length = 0;
			await hs.crm.contacts.basicApi.merge({ primaryObjectId: a.results[0].id, objectIdToMerge: b.results[0].id });
			await fetch(`${url}/__admin/objects/contacts/${a.results[1].id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { lastname: 'Typed', firstname: 'Ignored' } }) });
			await em.webhooksIdle();
			const events = rx.got.flatMap((g) => g.body);
			const merge = events.find((e: any) => e.subscriptionType === 'contact.merge');
			assert.deepEqual(merge.mergedObjectIds, [Number(b.results[0].id)]);
			assert.equal(merge.primaryObjectId, Number(a.results[0].id));
			const ui = events.filter((e: any) => e.subscriptionType === 'contact.propertyChange');
			assert.equal(ui.length, 1);
			assert.equal(ui[0].propertyName, 'lastname');
			assert.equal(ui[0].changeSource, 'CRM_UI');
		} finally {
			rx.server.close();
		}
	});

	test('retries 5xx with increasing attemptNumber, stops on 400, and records every attempt', async () => {
		const flaky = await receiver([500, 503, 200]);
		const refusing = await receiver([400]);
		try {
			em.addSubscription({ url: flaky.url, clientSecret: 'a', types: ['company.creation'] });
			em.addSubscription({ url: refusing.url, clientSecret: 'b', types: ['company.creation'] });
			await client().crm.companies.basicApi.create({ properties: { name: 'R' }, associations: [] });
			await em.webhooksIdle();
			assert.deepEqual(flaky.got.map((g) => g.body[0].attemptNumber), [0, 1, 2]);
			assert.equal(refusing.got.length, 1);
			const log = em.deliveries();
			assert.deepEqual(log.filter((d) => d.url === flaky.url).map((d) => [d.attempt, d.status, d.ok]), [[1, 500, false], [2, 503, false], [3, 200, true]]);
			assert.equal(log.filter((d) => d.url === refusing.url).length, 1);
		} finally {
			flaky.server.close();
			refusing.server.close();
		}
	});
});

describe('fault injection', () => {
	test('5xx faults: the SDK retries 5xx and finally throws the 503', async () => {
		em.setFaults({ errorRate: 1 });
		try {
			const err = await apiError(() => client({ retries: 2 }).crm.contacts.basicApi.getPage());
			assert.equal(err.code, 503);
			assert.equal(em.requestCount, 2);
		} finally {
			em.setFaults({});
		}
	});

	test('the same seed gives the same faults; drops and hangs look like network failures', async () => {
		const run = async () => {
			em.setFaults({ seed: 7, errorRate: 0.5 });
			const codes: number[] = [];
			for (let i = 0; i < 12; i++) codes.push((await fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer x' } })).status);
			return codes;
		};
		const a = await run();
		const b = await run();
		assert.deepEqual(a, b);
		assert.ok(a.includes(503) && a.includes(200));
		em.setFaults({ dropRate: 1 });
		await assert.rejects(fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer x' } }));
		em.setFaults({ hangRate: 1 });
		await assert.rejects(fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer x' }, signal: AbortSignal.timeout(150) }));
		em.setFaults({ latencyMs: 120 });
		const t0 = Date.now();
		await fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer x' } });
		assert.ok(Date.now() - t0 >= 110);
		em.setFaults({});
	});

	test('a lost reply carries the write out; a hang does not', async () => {
		const post = (lastname: string) =>
			fetch(`${url}/crm/v3/objects/contacts`, {
				method: 'POST',
				headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
				body: JSON.stringify({ properties: { lastname } }),
				signal: AbortSignal.timeout(150),
			});
		const named = async (lastname: string) => (await client().crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'lastname', operator: 'EQ' as never, value: lastname }] }] })).total;
		try {
			em.setFaults({ lostReplyRate: 1, pathPattern: '/crm/v3/objects/contacts$' });
			await assert.rejects(post('Lost reply'));
			em.setFaults({ hangRate: 1, pathPattern: '/crm/v3/objects/contacts$', maxFaults: 1 });
			await assert.rejects(post('Hung request'));
			assert.equal((await post('After the last fault')).status, 201, 'maxFaults: 1 faults only the first request');
			assert.throws(() => em.setFaults({ maxFaults: -1 }), /maxFaults/);
		} finally {
			em.setFaults({});
		}
		assert.equal(await named('Lost reply'), 1);
		assert.equal(await named('Hung request'), 0);
		assert.equal(await named('After the last fault'), 1);
	});

	test('duplicate webhook deliveries share a delivery id; admin API sets faults and lists deliveries', async () => {
		const rx = await receiver();
		try {
			const set = await fetch(`${url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ webhookDuplicateRate: 1 }) });
			assert.equal(set.status, 200);
			const sub = await fetch(`${url}/__admin/webhooks/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, clientSecret: 'z', types: ['deal.creation'] }) });
			assert.equal(sub.status, 201);
			await client().crm.deals.basicApi.create({ properties: { dealname: 'dup' }, associations: [] });
			await fetch(`${url}/__admin/webhooks/idle`, { method: 'POST' });
			const log = (await (await fetch(`${url}/__admin/webhooks/deliveries`)).json()) as any[];
			assert.equal(log.length, 2);
			assert.equal(log[0].deliveryId, log[1].deliveryId);
			assert.equal(log.filter((d) => d.duplicate).length, 1);
			assert.equal(rx.got[0].raw, rx.got[1].raw);
			const bad = await fetch(`${url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 2 }) });
			assert.equal(bad.status, 400);
		} finally {
			em.setFaults({});
			rx.server.close();
		}
	});
});

describe('admin API', () => {
	test('seed, dump and reset', async () => {
		const seeded = (await (await fetch(`${url}/__admin/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contacts: 20, companies: 3, deals: 4, activities: 10 }) })).json()) as any;
		assert.equal(seeded.contacts, 20);
		const dump = (await (await fetch(`${url}/__admin/dump`)).json()) as any;
		assert.equal(dump.contacts.length, 20);
		assert.equal(dump.companies.length, 3);
		assert.equal(dump.deals.length, 4);
		assert.equal(dump.notes.length + dump.tasks.length + dump.calls.length + dump.meetings.length + dump.emails.length, 10);
		assert.ok(dump.contacts.every((c: any) => c.properties.hs_object_id === c.id));
		// The same seed gives the same data.
		em.reset();
		em.seed({ contacts: 20, companies: 3, deals: 4, activities: 10 });
		const again = em.dump() as any;
		assert.deepEqual(again.contacts.map((c: any) => c.properties.email), dump.contacts.map((c: any) => c.properties.email));
		await fetch(`${url}/__admin/reset`, { method: 'POST' });
		assert.equal((em.dump() as any).contacts.length, 0);
	});
});

describe('currencies (account details)', () => {
	const details = async (token = 'pat-na1-sandbox') => {
		const res = await client({ accessToken: token }).apiRequest({ method: 'GET', path: '/account-info/v3/details' });
		assert.equal(res.status, 200);
		return (await res.json()) as Record<string, unknown>;
	};
	const currencies = async (body: unknown) => fetch(`${url}/__admin/currencies`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

	test('a new portal has one currency, USD; the details have every key of PortalInformationResponse', async () => {
		const d = await details();
		assert.deepEqual(Object.keys(d).sort(), ['accountType', 'additionalCurrencies', 'companyCurrency', 'dataHostingLocation', 'portalId', 'timeZone', 'uiDomain', 'utcOffset', 'utcOffsetMilliseconds']);
		assert.deepEqual([d.companyCurrency, d.additionalCurrencies, d.portalId], ['USD', [], em.portalId]);
		assert.match(String(d.utcOffset), /^[+-]\d{2}:\d{2}$/);
		const strict = await fetch(`${url}/account-info/v3/details`);
		assert.equal(strict.status, 401);
	});

	test('deal_currency_code takes the portal currencies only; a removed currency is refused, deals keep it', async () => {
		const hs = client();
		const options = async () => (await hs.crm.properties.coreApi.getByName('deals', 'deal_currency_code')).options.map((o) => o.value);
		assert.deepEqual(await options(), ['USD']);
		assert.equal((await apiError(() => hs.crm.deals.basicApi.create({ properties: { dealname: 'Euro deal', deal_currency_code: 'EUR' }, associations: [] }))).body.category, 'VALIDATION_ERROR');
		const set = await currencies({ companyCurrency: 'EUR', additionalCurrencies: ['USD', 'GBP', 'EUR'] });
		assert.deepEqual(await set.json(), { companyCurrency: 'EUR', additionalCurrencies: ['USD', 'GBP'] });
		assert.deepEqual([(await details()).companyCurrency, (await details()).additionalCurrencies], ['EUR', ['USD', 'GBP']]);
		assert.deepEqual(await options(), ['EUR', 'USD', 'GBP']);
		const deal = await hs.crm.deals.basicApi.create({ properties: { dealname: 'Pound deal', deal_currency_code: 'GBP' }, associations: [] });
		await currencies({ additionalCurrencies: ['USD'] });
		const refused = await apiError(() => hs.crm.deals.basicApi.update(deal.id, { properties: { deal_currency_code: 'GBP' } }));
		assert.equal(refused.code, 400);
		assert.match(JSON.stringify(refused.body), /INVALID_OPTION/);
		assert.equal((await hs.crm.deals.basicApi.getById(deal.id, ['deal_currency_code'])).properties.deal_currency_code, 'GBP');
		assert.equal((await currencies({ companyCurrency: 'euro' })).status, 400);
		em.reset();
		assert.deepEqual([(await details()).companyCurrency, (await details()).additionalCurrencies], ['USD', []]);
	});
});
