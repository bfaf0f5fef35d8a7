// Salesforce conformance (issue 20): each recorded payload in ../shared/data/crm-fixtures/salesforce
// goes through the code that meets it in production (the jsforce connector over the replay
// server, the webhook module's verify/parse), and the sandbox's answer to the same request is
// compared in shape. Expected values are read from the fixtures at test time.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';

import { XMLParser } from 'fast-xml-parser';

import { create, type SalesforceConnector } from '../../lib/crms/salesforce/connector';
import { salesforce as webhookModule, OUTBOUND_MESSAGE_ACK } from '../../lib/crms/salesforce/webhook';
import type { WriteOutcome } from '../../lib/connectors';
import { CrmError } from '../../lib/http';
import type { WebhookRequest } from '../../lib/webhooks/types';
import { startSandbox, type EmulatorOptions, type Sandbox } from '../../sandbox';
import type { Fixture } from './fixtures';
import { replayServer, type ReplayReply, type ReplayServer } from './replay';
import { compareShape, describeDifferences, type CompareOptions } from './shape';
import { conformance } from './suite';

type Json = Record<string, unknown>;
type SaveItem = { id?: string; success: boolean; created?: boolean; errors: Array<{ statusCode: string; message: string; fields: string[] }> };
type ApiError = { message: string; errorCode: string; fields?: string[] };

const SECRET = 'conformance-secret';
let connectorSeq = 0;

/** A connector whose instance URL is the replay server; retries kept short so a test stays fast. */
function connectorAt(url: string): SalesforceConnector {
	return create(
		{ grantType: 'authorizationCode', loginUrl: url, instanceUrl: url, apiVersion: '62.0', oauthTokenData: { access_token: `replay-token-${++connectorSeq}`, instance_url: url } },
		{ retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } },
	);
}

/** The recorded reply of a fixture: Nango's status and headers where recorded, else `status`. */
function recordedReply(fixture: Fixture, status = 200, body = fixture.text): ReplayReply {
	return { status: fixture.recorded?.status ?? status, headers: fixture.recorded?.headers ?? { 'content-type': 'application/json;charset=UTF-8' }, body };
}

/**
 * The `error-item-*` fixtures were pasted without the surrounding `[ ]` (SOURCES.md); the REST API
 * always answers errors as an array, so they are wrapped here as the API sends them.
 */
const asSent = (fixture: Fixture) => (fixture.file.startsWith('error-item-') ? `[${fixture.text}]` : fixture.text);

async function withReplay<T>(replies: ReplayReply[], run: (c: SalesforceConnector, server: ReplayServer) => Promise<T>): Promise<T> {
	const server = await replayServer();
	server.reply(...replies);
	try {
		return await run(connectorAt(server.url), server);
	} finally {
		await server.close();
	}
}

async function rejection(promise: Promise<unknown>): Promise<CrmError> {
	try {
		await promise;
	} catch (error) {
		assert.ok(error instanceof CrmError, `expected a CrmError, got ${String(error)}`);
		return error;
	}
	assert.fail('expected the call to fail');
}

/** Salesforce's `…000+0000` (no colon in the offset) as an instant, parsed independently of lib/. */
function instant(value: unknown): number {
	const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):?(\d{2}))$/.exec(String(value));
	assert.ok(m, `not a Salesforce datetime: ${String(value)}`);
	const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], Number((m[7] ?? '0').padEnd(3, '0')));
	const offset = m[8] === 'Z' ? 0 : (m[9] === '-' ? -1 : 1) * (+m[10] * 60 + +m[11]) * 60_000;
	return utc - offset;
}

/** Checks write outcomes against a collection reply, item by item. */
function assertOutcomes(outcomes: WriteOutcome[], items: SaveItem[], success: 'created' | 'updated' | 'deleted', knownIds: string[] = []): void {
	assert.equal(outcomes.length, items.length);
	items.forEach((item, i) => {
		const o = outcomes[i] as WriteOutcome & { id?: string; code?: string; message?: string; category?: string; fields?: string[] };
		if (item.success) {
			assert.equal(o.status, success, JSON.stringify(o));
			assert.equal(o.id, item.id ?? knownIds[i]);
		} else {
			assert.equal(o.status, 'failed', `item ${i} failed in the reply: ${JSON.stringify(o)}`);
			assert.equal(o.category, 'validation');
			assert.equal(o.code, item.errors[0].statusCode);
			assert.ok(o.message?.includes(item.errors[0].message), `message of item ${i}: ${o.message}`);
			const fields = item.errors.flatMap((e) => e.fields);
			assert.deepEqual(o.fields ?? [], fields);
		}
	});
}

function request(body: string, contentType: string, headers: Record<string, string> = {}, url = '/webhook/sf'): WebhookRequest {
	return { method: 'POST', url, headers: { 'content-type': contentType, ...headers }, rawBody: Buffer.from(body, 'utf8') };
}

/** A signed JSON delivery of `body`, through the module's verify and parse as handleWebhook runs them. */
function parseSignedJson(body: string) {
	const signature = createHmac('sha256', SECRET).update(body).digest('base64');
	const req = request(body, 'application/json', { 'x-sfdc-signature': signature });
	webhookModule.verify(req, { secrets: [SECRET] });
	return webhookModule.parse(req, new Date('2030-01-01T00:00:00Z'));
}

// ---- sandbox helpers ------------------------------------------------------------------------------

let sandbox: Sandbox;
let sbUrl: string;

async function sb(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; text: string }> {
	const res = await fetch(`${sbUrl}${path}`, {
		method,
		headers: { authorization: 'Bearer conformance-token', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	let json: unknown;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	return { status: res.status, json, text };
}

function assertSameShape(recorded: unknown, answer: unknown, options: CompareOptions = {}): void {
	const differences = compareShape(recorded, answer, options);
	assert.deepEqual(differences, [], describeDifferences(differences));
}

const V = '/services/data/v62.0';
let nameSeq = 0;
const uniqueName = (prefix: string) => `${prefix} ${++nameSeq}`;

async function newAccount(fields: Json = {}): Promise<string> {
	const r = await sb('POST', `${V}/sobjects/Account`, { Name: uniqueName('Conformance'), ...fields });
	assert.equal(r.status, 201, r.text);
	return (r.json as { id: string }).id;
}

/** Removes a sandbox push subscription, so that later records do not deliver to a closed receiver. */
function unsubscribe(sub: { id: string }): void {
	(sandbox.emulators.salesforce as unknown as { subscriptions: Map<string, unknown> }).subscriptions.delete(sub.id);
}

/** A local receiver for the sandbox's pushes (Outbound Messages, JSON change events). */
async function receiver(reply: string): Promise<{ url: string; got: Array<{ headers: IncomingMessage['headers']; raw: string }>; server: Server }> {
	const got: Array<{ headers: IncomingMessage['headers']; raw: string }> = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			got.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
			res.writeHead(200, { 'content-type': 'text/xml' }).end(reply);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rx`, got, server };
}

const xml = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

// ---------------------------------------------------------------------------------------------------

conformance('salesforce', (suite) => {
	before(async () => {
		sandbox = await startSandbox({ crms: ['salesforce'] });
		sbUrl = sandbox.urls.salesforce!;
	});
	after(async () => {
		await sandbox?.stop();
	});

	// ---- single-record REST: no connector path (it writes through Collections); sandbox shape ----

	for (const file of ['rest-create-account-201-recorded.json', 'create-sobject-success-recorded.json', 'create-sobject-success-amp.json']) {
		suite.check(file, 'sandbox', 'POST sobjects/Account answers 201 {id, success, errors}', async (fixture) => {
			const r = await sb('POST', `${V}/sobjects/Account`, { Name: uniqueName('Create') });
			assert.equal(r.status, fixture.recorded?.status ?? 201);
			assertSameShape(fixture.json, r.json);
		});
	}

	suite.check('rest-get-account-recorded.json', 'connector', 'get() reads the record: id, values, compound address, instants', async (fixture) => {
		const recorded = fixture.json as Json & { Id: string };
		await withReplay([recordedReply(fixture)], async (c, server) => {
			const record = await c.get('account', recorded.Id, { fields: ['Name', 'BillingCity', 'BillingAddress', 'LastModifiedDate', 'CreatedDate'] });
			assert.ok(record);
			assert.equal(record.id, recorded.Id);
			for (const [key, value] of Object.entries(recorded)) if (key !== 'Id' && key !== 'attributes') assert.deepEqual(record.fields[key], value, key);
			assert.equal(Date.parse(record.modifiedAt!), instant(recorded.LastModifiedDate));
			assert.equal(Date.parse(record.createdAt!), instant(recorded.CreatedDate));
			assert.match(server.requests[0].url, new RegExp(`/sobjects/Account/${recorded.Id}\\?fields=`));
		});
	});

	suite.check('rest-get-account-recorded.json', 'sandbox', 'GET sobjects/Account/{id}: flat and compound address, attributes, date format', async (fixture) => {
		const recorded = fixture.json as Json;
		const id = await newAccount({ BillingStreet: '1 Main St', BillingCity: 'Austin', BillingState: 'TX', BillingCountry: 'United States' });
		const r = await sb('GET', `${V}/sobjects/Account/${id}`);
		assert.equal(r.status, 200);
		const answer = r.json as Json;
		// A real org's field set is its own (custom fields, features switched on); what the sandbox
		// answers must have the recording's shape for every field the sandbox's schema has.
		const ignore = Object.keys(recorded).filter((k) => !(k in answer) && !['attributes', 'Id', 'BillingAddress', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'].includes(k)).map((k) => `$.${k}`);
		// State/country picklists and geocoding are org features the sandbox's schema lacks (as it lacks BillingStateCode).
		ignore.push(...['countryCode', 'stateCode', 'latitude', 'longitude', 'geocodeAccuracy'].map((k) => `$.BillingAddress.${k}`));
		assertSameShape(recorded, answer, { ignore, allowExtraKeys: false });
	});

	suite.check('rest-update-account-204-recorded.txt', 'sandbox', 'PATCH sobjects/Account/{id} answers 204 with an empty body', async (fixture) => {
		const id = await newAccount();
		const r = await sb('PATCH', `${V}/sobjects/Account/${id}`, { Phone: '555-0100' });
		assert.equal(r.status, fixture.recorded?.status ?? 204);
		assert.equal(r.text, fixture.text);
	});

	suite.check('rest-upsert-by-external-id-201-created-recorded.json', 'sandbox', 'PATCH sobjects/Contact/Email/{value} (idLookup field) creates: 201, created true', async (fixture) => {
		const r = await sb('PATCH', `${V}/sobjects/Contact/Email/${encodeURIComponent(`${uniqueName('up').replace(' ', '')}@example.com`)}`, { LastName: 'Upsert' });
		assert.equal(r.status, fixture.recorded!.status, r.text);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as Json).created, (fixture.json as Json).created);
	});

	suite.check('rest-upsert-by-id-200-updated-recorded.json', 'sandbox', 'PATCH sobjects/Account/Id/{id}?updateOnly=true updates: 200, created false', async (fixture) => {
		const id = await newAccount();
		const r = await sb('PATCH', `${V}/sobjects/Account/Id/${id}?updateOnly=true`, { Phone: '555-0101' });
		assert.equal(r.status, fixture.recorded!.status, r.text);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as Json).created, (fixture.json as Json).created);
	});

	// ---- sObject Collections: 200 even when items fail; item errors use statusCode ----

	const createCollections = [
		'collections-create-success-recorded.json',
		'sobject-collections-create-all-success.json',
		'sobject-collections-create-partial-allornone-false.json',
		'sobject-collections-create-rolled-back-allornone-true.json',
		'sobject-collections-create-allornone-rolled-back-amp.json',
	];
	for (const file of createCollections) {
		suite.check(file, 'connector', 'create(): each item is created or failed with its statusCode, message and fields', async (fixture) => {
			const items = fixture.json as SaveItem[];
			await withReplay([recordedReply(fixture)], async (c, server) => {
				const outcomes = await c.create('contact', items.map((_, ref) => ({ ref, fields: { LastName: `Item ${ref}` } })));
				assertOutcomes(outcomes, items, 'created');
				assert.equal(server.requests.length, 1, 'an HTTP 200 with failed items is not retried');
				assert.match(server.requests[0].url, /\/composite\/sobjects$/);
			});
		});
		suite.check(file, 'sandbox', 'POST composite/sobjects: item shape of successes and failures', async (fixture) => {
			const items = fixture.json as SaveItem[];
			const allOrNone = file.includes('rolled-back');
			// The sandbox has no duplicate rules; a missing LastName fails the item the same way.
			const records = items.map((item, i) => ({ attributes: { type: 'Contact' }, ...(item.success || (allOrNone && i > 0) ? { LastName: `Item ${i}` } : {}), FirstName: 'C' }));
			const r = await sb('POST', `${V}/composite/sobjects`, { allOrNone, records });
			assert.equal(r.status, 200, r.text);
			const answer = r.json as SaveItem[];
			assert.equal(answer.length, items.length);
			items.forEach((item, i) => {
				assert.equal(answer[i].success, item.success, `item ${i}`);
				assertSameShape(item, answer[i]);
				if (!item.success && item.errors[0].statusCode === 'ALL_OR_NONE_OPERATION_ROLLED_BACK') assert.deepEqual(answer[i].errors, item.errors);
			});
		});
	}

	suite.check('collections-update-invalid-cross-reference-recorded.json', 'connector', 'update(): HTTP 200 with INVALID_CROSS_REFERENCE_KEY is a failed item, not a thrown error', async (fixture) => {
		const items = fixture.json as SaveItem[];
		await withReplay([recordedReply(fixture)], async (c) => {
			const outcomes = await c.update('account', items.map((_, ref) => ({ ref, id: '001000000000000AAA', fields: { Name: 'x' } })));
			assertOutcomes(outcomes, items, 'updated');
		});
	});
	suite.check('collections-update-invalid-cross-reference-recorded.json', 'connector', 'delete(): the same answer means the record is not there (NOT_FOUND)', async (fixture) => {
		await withReplay([recordedReply(fixture)], async (c) => {
			const [outcome] = await c.delete('account', [{ ref: 0, id: '001000000000000AAA' }]);
			assert.equal(outcome.status, 'failed');
			assert.equal((outcome as { code?: string }).code, 'NOT_FOUND');
		});
	});
	suite.check('collections-update-invalid-cross-reference-recorded.json', 'sandbox', 'PATCH composite/sobjects with an unknown id', async (fixture) => {
		const r = await sb('PATCH', `${V}/composite/sobjects`, { allOrNone: false, records: [{ attributes: { type: 'Account' }, Id: '001000000000000AAA', Name: 'x' }] });
		assert.equal(r.status, fixture.recorded!.status);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as SaveItem[])[0].errors[0].statusCode, (fixture.json as SaveItem[])[0].errors[0].statusCode);
	});

	suite.check('sobject-collections-update-missing-id-amp.json', 'connector', 'update(): MISSING_ARGUMENT items are failed outcomes', async (fixture) => {
		const items = fixture.json as SaveItem[];
		await withReplay([recordedReply(fixture)], async (c) => {
			assertOutcomes(await c.update('contact', items.map((_, ref) => ({ ref, id: `003000000000000AA${ref}`, fields: { LastName: 'x' } }))), items, 'updated');
		});
	});
	suite.check('sobject-collections-update-missing-id-amp.json', 'sandbox', 'PATCH composite/sobjects with records lacking Id', async (fixture) => {
		const r = await sb('PATCH', `${V}/composite/sobjects`, { allOrNone: false, records: [{ attributes: { type: 'Contact' }, LastName: 'a' }, { attributes: { type: 'Contact' }, LastName: 'b' }] });
		assert.equal(r.status, 200, r.text);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as SaveItem[])[0].errors[0].statusCode, 'MISSING_ARGUMENT');
	});

	suite.check('collections-upsert-json-parser-error-recorded.json', 'connector', 'upsert() by an external id: a failed item with created:false is failed, not updated', async (fixture) => {
		const items = fixture.json as SaveItem[];
		await withReplay([recordedReply(fixture)], async (c, server) => {
			const outcomes = await c.upsert('account', 'Ext_Id__c', items.map((_, ref) => ({ ref, fields: { Ext_Id__c: `E${ref}`, Name: 'x' } })));
			assertOutcomes(outcomes, items, 'updated');
			assert.match(server.requests[0].url, /\/composite\/sobjects\/Account\/Ext_Id__c$/);
		});
	});
	suite.check('collections-upsert-json-parser-error-recorded.json', 'sandbox', 'PATCH composite/sobjects/Account/Id with records lacking attributes', async (fixture) => {
		const r = await sb('PATCH', `${V}/composite/sobjects/Account/Id`, { allOrNone: false, records: [{ Name: 'no attributes' }] });
		assert.equal(r.status, fixture.recorded!.status, r.text);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as SaveItem[])[0].errors[0].statusCode, 'JSON_PARSER_ERROR');
	});

	suite.check('collections-delete-success-recorded.json', 'connector', 'delete(): every id deleted', async (fixture) => {
		const items = fixture.json as SaveItem[];
		await withReplay([recordedReply(fixture)], async (c, server) => {
			const outcomes = await c.delete('account', items.map((item, ref) => ({ ref, id: item.id! })));
			assertOutcomes(outcomes, items, 'deleted');
			assert.equal(new URL(server.requests[0].url, 'http://x').searchParams.get('ids'), items.map((i) => i.id).join(','));
		});
	});
	suite.check('collections-delete-success-recorded.json', 'sandbox', 'DELETE composite/sobjects?ids=…', async (fixture) => {
		const ids = [await newAccount(), await newAccount()];
		const r = await sb('DELETE', `${V}/composite/sobjects?ids=${ids.join(',')}&allOrNone=false`);
		assert.equal(r.status, fixture.recorded!.status);
		assertSameShape(fixture.json, r.json);
	});

	suite.check('sobject-collections-create-empty-400-amp.json', 'connector', 'a top-level 400 on a collection is a validation failure of the record, code kept', async (fixture) => {
		const [error] = fixture.json as ApiError[];
		await withReplay([{ status: 400, body: fixture.text }], async (c) => {
			const [outcome] = await c.create('contact', [{ ref: 0, fields: { LastName: 'x' } }]);
			assert.equal(outcome.status, 'failed');
			assert.equal((outcome as { code?: string }).code, error.errorCode);
			assert.ok((outcome as { message: string }).message.includes(error.message));
		});
	});
	suite.check('sobject-collections-create-empty-400-amp.json', 'sandbox', 'POST composite/sobjects with no records answers 400 [{message, errorCode}]', async (fixture) => {
		const r = await sb('POST', `${V}/composite/sobjects`, { allOrNone: false, records: [] });
		assert.equal(r.status, 400);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as ApiError[])[0].errorCode, (fixture.json as ApiError[])[0].errorCode);
	});

	suite.difference(
		'composite-graph-recorded.json',
		'sandbox',
		'composite/graph is not emulated and the connector never calls it (it writes through sObject Collections); the recording shows httpStatusCode and Location inside the body',
	);

	// ---- SOQL query and paging ----

	for (const file of ['query-accounts-limit5-recorded.json', 'query-accounts-recorded-jsforce-cli.json', 'query-contacts-recorded-v58.json', 'query-empty-result-recorded.json']) {
		suite.check(file, 'connector', 'search(): one page, done, every record and value read', async (fixture) => {
			const result = fixture.json as { totalSize: number; done: boolean; records: Array<Json & { Id: string; attributes: { type: string } }> };
			const entity = result.records[0]?.attributes.type === 'Contact' ? 'contact' : 'account';
			await withReplay([recordedReply(fixture)], async (c, server) => {
				const found = await c.search(entity, 'Name', ['x'], { fields: ['Name'] });
				assert.equal(server.requests.length, 1, 'done:true: no further page asked');
				assert.equal(found.length, result.records.length);
				result.records.forEach((row, i) => {
					assert.equal(found[i].id, row.Id);
					assert.equal(found[i].fields.Name, row.Name);
					assert.equal('attributes' in found[i].fields, false);
				});
			});
		});
		suite.check(file, 'sandbox', 'GET query: {totalSize, done, records[attributes{type,url}, …]}', async (fixture) => {
			const empty = file.includes('empty');
			const type = file.includes('contacts') ? 'Contact' : 'Account';
			if (!empty) await sb('POST', `${V}/sobjects/${type}`, type === 'Contact' ? { LastName: 'Query' } : { Name: uniqueName('Query') });
			const soql = empty ? `SELECT Id, Name FROM Account WHERE Name = 'nothing by this name'` : `SELECT Id, Name FROM ${type} LIMIT 5`;
			const r = await sb('GET', `${V}/query?q=${encodeURIComponent(soql)}`);
			assert.equal(r.status, 200);
			assertSameShape(fixture.json, r.json);
			assert.deepEqual(Object.keys(r.json as Json), Object.keys(fixture.json as Json), 'key order: totalSize, done, records');
		});
	}

	suite.check('query-page1-nextRecordsUrl-recorded-TRIMMED.json', 'connector', 'search() follows nextRecordsUrl to the last page (done, no nextRecordsUrl); instants kept', async (fixture) => {
		const page1 = fixture.json as { nextRecordsUrl: string; records: Array<Json & { Id: string }> };
		const page2Fixture = suite.fixture('query-more-page2-done-recorded.json');
		const page2 = page2Fixture.json as { done: boolean; records: Array<Json & { Id: string }> };
		await withReplay([recordedReply(fixture), recordedReply(page2Fixture)], async (c, server) => {
			const found = await c.search('account', 'Name', ['x'], { fields: ['Name', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'] });
			assert.equal(server.requests.length, 2);
			// jsforce asks the locator of nextRecordsUrl under its own API version.
			assert.equal(server.requests[1].url.split('/').at(-1), page1.nextRecordsUrl.split('/').at(-1));
			const rows = [...page1.records, ...page2.records];
			assert.deepEqual(found.map((r) => r.id), rows.map((r) => r.Id));
			rows.forEach((row, i) => {
				assert.equal(Date.parse(found[i].modifiedAt!), instant(row.LastModifiedDate));
				assert.equal(Date.parse(found[i].createdAt!), instant(row.CreatedDate));
				assert.equal(found[i].fields.Name, row.Name);
			});
		});
	});
	suite.check('query-page1-nextRecordsUrl-recorded-TRIMMED.json', 'connector', 'listChanges(): SystemModstamp …+0000 read as the same instant; page 1 is not the end', async (fixture) => {
		const page1 = fixture.json as { records: Array<Json & { Id: string; SystemModstamp: string }> };
		await withReplay([recordedReply(fixture)], async (c) => {
			const page = await c.listChanges('account', { pageSize: page1.records.length, fields: ['Name'] });
			assert.deepEqual(page.records.map((r) => r.id), page1.records.map((r) => r.Id));
			page.records.forEach((r, i) => assert.equal(Date.parse(r.modifiedAt!), instant(page1.records[i].SystemModstamp)));
			assert.equal(page.hasMore, true);
			const cursor = JSON.parse(page.cursor!) as { t: string };
			assert.equal(Date.parse(cursor.t), Math.floor(instant(page1.records.at(-1)!.SystemModstamp) / 1000) * 1000);
		});
	});
	suite.check('query-more-page2-done-recorded.json', 'sandbox', 'queryMore: the last page has done:true and no nextRecordsUrl; page 1 carries nextRecordsUrl', async (fixture) => {
		const page1Fixture = suite.fixture('query-page1-nextRecordsUrl-recorded-TRIMMED.json');
		for (let i = 0; i < 3; i++) await newAccount();
		const soql = 'SELECT Id, Name, AccountNumber, Industry, Type, BillingCity, BillingState, BillingCountry, Phone, Website, CreatedDate, LastModifiedDate, SystemModstamp FROM Account';
		const first = await sb('GET', `${V}/query?q=${encodeURIComponent(soql)}`, undefined, { 'sforce-query-options': 'batchSize=200' });
		// batchSize 200 is the smallest Salesforce honours; page through to the end.
		let page = first.json as Json & { nextRecordsUrl?: string };
		const total = page.totalSize as number;
		if (total > 200) {
			assertSameShape(page1Fixture.json, page);
			assert.match(String(page.nextRecordsUrl), /^\/services\/data\/v62\.0\/query\/[^/]+-200$/);
		}
		while (page.nextRecordsUrl) page = (await sb('GET', page.nextRecordsUrl)).json as Json & { nextRecordsUrl?: string };
		assertSameShape(fixture.json, page);
		assert.equal(page.done, true);
		assert.equal('nextRecordsUrl' in page, false);
	});
	suite.check('query-page1-nextRecordsUrl-recorded-TRIMMED.json', 'sandbox', 'page 1 of a query: done:false and nextRecordsUrl …/query/<locator>-<batch>', async (fixture) => {
		const soql = 'SELECT Id, Name, AccountNumber, Industry, Type, BillingCity, BillingState, BillingCountry, Phone, Website, CreatedDate, LastModifiedDate, SystemModstamp FROM Account';
		const have = ((await sb('GET', `${V}/query?q=${encodeURIComponent('SELECT COUNT() FROM Account')}`)).json as { totalSize: number }).totalSize;
		for (let i = have; i < 201; i++) await newAccount();
		const r = await sb('GET', `${V}/query?q=${encodeURIComponent(soql)}`, undefined, { 'sforce-query-options': 'batchSize=200' });
		assert.equal(r.status, 200, r.text);
		assertSameShape(fixture.json, r.json);
		assert.deepEqual(Object.keys(r.json as Json), Object.keys(fixture.json as Json), 'key order: totalSize, done, nextRecordsUrl, records');
		assert.match(String((r.json as Json).nextRecordsUrl), /^\/services\/data\/v62\.0\/query\/[^/]+-200$/);
	});
	suite.check('query-more-page2-done-recorded.json', 'connector', 'the last page alone: done, every id and instant', async (fixture) => {
		const page = fixture.json as { records: Array<Json & { Id: string }> };
		await withReplay([recordedReply(fixture)], async (c, server) => {
			const found = await c.search('account', 'Name', ['x'], { fields: ['Name', 'LastModifiedDate'] });
			assert.equal(server.requests.length, 1);
			assert.deepEqual(found.map((r) => r.id), page.records.map((r) => r.Id));
			found.forEach((r, i) => assert.equal(Date.parse(r.modifiedAt!), instant(page.records[i].LastModifiedDate)));
		});
	});

	suite.check('query-accounts-vendor-doc-with-ellipsis.raw.txt', 'sandbox', 'the doc example (not JSON): the sandbox puts totalSize before done, as real responses do', async (fixture) => {
		// The doc lists `done` first; every RECORDED query reply (and the sandbox) puts totalSize first.
		assert.ok(fixture.text.indexOf('"done"') < fixture.text.indexOf('"totalSize"'));
		const recorded = suite.fixture('query-accounts-limit5-recorded.json').json as Json;
		assert.deepEqual(Object.keys(recorded).slice(0, 2), ['totalSize', 'done']);
		const r = await sb('GET', `${V}/query?q=${encodeURIComponent('SELECT Id, Name FROM Account LIMIT 2')}`);
		assert.deepEqual(Object.keys(r.json as Json).slice(0, 2), ['totalSize', 'done']);
		const next = /"nextRecordsUrl"\s*:\s*"([^"]+)"/.exec(fixture.text)?.[1];
		assert.match(String(next), /^\/services\/data\/v\d+\.\d\/query\/[^/]+-2000$/);
	});

	// ---- /limits ----

	suite.check('limits-recorded.json', 'connector', 'testConnection() reads GET /limits without error', async (fixture) => {
		await withReplay([recordedReply(fixture)], async (c, server) => {
			await c.testConnection();
			assert.equal(server.requests[0].url, '/services/data/v62.0/limits');
		});
	});
	suite.check('limits-recorded.json', 'sandbox', 'GET /limits: {Name: {Max, Remaining}} with DailyApiRequests', async (fixture) => {
		const recorded = fixture.json as Record<string, Json>;
		const r = await sb('GET', `${V}/limits`);
		assert.equal(r.status, 200);
		const answer = r.json as Record<string, Json>;
		// Which limits an org lists depends on its edition and features; the API-request one is what we read.
		const ignore = Object.keys(recorded).filter((k) => !(k in answer)).map((k) => `$.${k}`);
		assert.ok(!ignore.includes('$.DailyApiRequests'));
		assertSameShape(recorded, answer, { ignore });
	});

	// ---- top-level REST errors: [{message, errorCode, fields?}] ----

	suite.check('error-403-request-limit-exceeded-recorded.json', 'connector', '403 REQUEST_LIMIT_EXCEEDED is a rate limit, retried, not an auth failure', async (fixture) => {
		const [error] = fixture.json as ApiError[];
		const ok = suite.fixture('limits-recorded.json');
		await withReplay([{ status: 403, body: fixture.text }, recordedReply(ok)], async (c, server) => {
			await c.testConnection();
			assert.equal(server.requests.length, 2, 'retried after the throttle');
			assert.equal(c.transport.stats.throttled, 1);
			assert.equal(c.transport.stats.refreshes, 0, 'no token refresh: it is not an auth failure');
		});
		await withReplay([{ status: 403, body: fixture.text }], async (c) => {
			const e = await rejection(c.testConnection());
			assert.equal(e.category, 'rate_limit');
			assert.equal(e.code, error.errorCode);
			assert.equal(e.httpStatus, 403);
			assert.ok(e.message.includes(error.message));
		});
	});

	const validationErrors: Array<[file: string, status: number]> = [
		['error-400-invalid-field-recorded.json', 400],
		['error-exceeded-id-limit-recorded.json', 400],
		['error-invalid-input-recorded.json', 400],
		['error-required-field-missing-recorded.json', 400],
		['error-duplicate-value-tooling-vendor-code-comment.json', 400],
		['error-invalid-field-for-insert-update-amp.json', 400],
		['error-item-invalid-cross-reference-key-recorded.json', 400],
		['error-item-invalid-field-for-insert-update-recorded.json', 400],
		['error-item-restricted-picklist-recorded.json', 400],
	];
	for (const [file, status] of validationErrors) {
		suite.check(file, 'connector', `a ${status} on a write fails that record with errorCode, message and fields (not retried)`, async (fixture) => {
			const [error] = JSON.parse(asSent(fixture)) as ApiError[];
			await withReplay([{ status, body: asSent(fixture) }], async (c, server) => {
				const [outcome] = await c.create('account', [{ ref: 0, fields: { Name: 'x' } }]);
				const failed = outcome as WriteOutcome & { code?: string; message: string; category: string; fields?: string[] };
				assert.equal(failed.status, 'failed');
				assert.equal(failed.category, 'validation');
				assert.equal(failed.code, error.errorCode);
				assert.ok(failed.message.includes(error.message), failed.message);
				assert.deepEqual(failed.fields ?? [], error.fields ?? []);
				assert.equal(server.requests.length, 1);
			});
		});
	}
	for (const file of ['error-400-invalid-field-recorded.json', 'error-exceeded-id-limit-recorded.json', 'error-invalid-input-recorded.json']) {
		suite.check(file, 'connector', 'a 400 on a query throws a validation CrmError with the errorCode', async (fixture) => {
			const [error] = fixture.json as ApiError[];
			await withReplay([{ status: 400, body: fixture.text }], async (c, server) => {
				const e = await rejection(c.search('lead', 'Email', ['a@b.c']));
				assert.equal(e.category, 'validation');
				assert.equal(e.code, error.errorCode);
				assert.ok(e.message.includes(error.message.trim().split('\n')[0]));
				assert.equal(server.requests.length, 1);
			});
		});
	}

	suite.check('error-unknown-exception-recorded.json', 'connector', 'a 500 UNKNOWN_EXCEPTION is transient: retried, then thrown with its code', async (fixture) => {
		const [error] = fixture.json as ApiError[];
		await withReplay([{ status: 500, body: fixture.text }], async (c, server) => {
			const e = await rejection(c.search('account', 'Name', ['x']));
			assert.equal(e.category, 'transient');
			assert.equal(e.code, error.errorCode);
			assert.ok(e.message.includes(error.message));
			assert.equal(server.requests.length, 3, 'retried up to maxAttempts');
		});
	});

	suite.check('error-entity-is-deleted-recorded.json', 'connector', 'get() of a deleted record (404 ENTITY_IS_DELETED) is "no record"', async (fixture) => {
		await withReplay([{ status: 404, body: fixture.text }], async (c) => {
			assert.equal(await c.get('account', '001dM00003kREKdQAO'), undefined);
		});
	});
	suite.check('error-entity-is-deleted-recorded.json', 'connector', 'delete() answered ENTITY_IS_DELETED (as a collection item) is NOT_FOUND', async (fixture) => {
		const [error] = fixture.json as ApiError[];
		// The same error as a Collections item carries statusCode instead of errorCode.
		const item = [{ success: false, errors: [{ statusCode: error.errorCode, message: error.message, fields: error.fields }] }];
		await withReplay([{ status: 200, body: item }], async (c) => {
			const [outcome] = await c.delete('account', [{ ref: 0, id: '001dM00003kREKdQAO' }]);
			assert.equal((outcome as { code?: string }).code, 'NOT_FOUND');
		});
	});

	// Sandbox shapes of the top-level errors.
	suite.check('error-400-invalid-field-recorded.json', 'sandbox', 'SOQL with an unknown column: 400 INVALID_FIELD', async (fixture) => {
		// The sandbox takes any `__c` name as a custom field of the org, so an unknown standard name is used.
		const r = await sb('GET', `${V}/query?q=${encodeURIComponent('SELECT Id, Company, NoSuchField FROM Lead')}`);
		assert.equal(r.status, 400);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as ApiError[])[0].errorCode, 'INVALID_FIELD');
	});
	suite.check('error-required-field-missing-recorded.json', 'sandbox', 'POST sobjects/Account without Name: 400 REQUIRED_FIELD_MISSING with fields', async (fixture) => {
		const r = await sb('POST', `${V}/sobjects/Account`, { Phone: '1' });
		assert.equal(r.status, 400);
		assertSameShape(fixture.json, r.json);
		assert.deepEqual((r.json as ApiError[])[0].fields, (fixture.json as ApiError[])[0].fields);
	});
	suite.check('error-entity-is-deleted-recorded.json', 'sandbox', 'GET of a deleted record: ENTITY_IS_DELETED with fields []', async (fixture) => {
		const id = await newAccount();
		assert.equal((await sb('DELETE', `${V}/sobjects/Account/${id}`)).status, 204);
		const r = await sb('DELETE', `${V}/sobjects/Account/${id}`);
		assert.equal(r.status, 404);
		assertSameShape(fixture.json, r.json);
		assert.equal((r.json as ApiError[])[0].errorCode, 'ENTITY_IS_DELETED');
	});
	for (const file of ['error-invalid-field-for-insert-update-amp.json', 'error-item-invalid-field-for-insert-update-recorded.json']) {
		suite.check(file, 'sandbox', 'a write of a read-only field: 400 INVALID_FIELD_FOR_INSERT_UPDATE with fields', async (fixture) => {
			const r = await sb('POST', `${V}/sobjects/Account`, { Name: 'x', MasterRecordId: '001000000000000AAA' });
			assert.equal(r.status, 400, r.text);
			assertSameShape(JSON.parse(asSent(fixture)), r.json);
			assert.equal((r.json as ApiError[])[0].errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
		});
	}
	suite.check('error-item-invalid-cross-reference-key-recorded.json', 'sandbox', 'a reference to no record: 400 INVALID_CROSS_REFERENCE_KEY with fields', async (fixture) => {
		const r = await sb('POST', `${V}/sobjects/Contact`, { LastName: 'x', AccountId: '001000000000000AAA' });
		assert.equal(r.status, 400, r.text);
		assertSameShape(JSON.parse(asSent(fixture)), r.json);
		assert.equal((r.json as ApiError[])[0].errorCode, 'INVALID_CROSS_REFERENCE_KEY');
	});
	suite.check('error-403-request-limit-exceeded-recorded.json', 'sandbox', 'the daily quota spent: 403 REQUEST_LIMIT_EXCEEDED', async (fixture) => {
		const limited = await startSandbox({ crms: ['salesforce'], rateLimits: true, perCrm: { salesforce: { dailyApiLimit: 2 } as EmulatorOptions } });
		try {
			let r: Response | undefined;
			for (let i = 0; i < 4; i++) r = await fetch(`${limited.urls.salesforce}${V}/limits`, { headers: { authorization: 'Bearer t' } });
			assert.equal(r!.status, 403);
			const body = await r!.json();
			assertSameShape(fixture.json, body);
			assert.equal((body as ApiError[])[0].errorCode, 'REQUEST_LIMIT_EXCEEDED');
		} finally {
			await limited.stop();
		}
	});
	suite.difference('error-exceeded-id-limit-recorded.json', 'sandbox', 'the sandbox has no aggregate SOQL, so queryMore of an aggregate query cannot be provoked; the connector check covers the body');
	suite.difference('error-invalid-input-recorded.json', 'sandbox', 'the sandbox has no SOQL FIELDS() function; the connector check covers the body');
	suite.difference('error-unknown-exception-recorded.json', 'sandbox', 'UNKNOWN_EXCEPTION is an internal Salesforce failure; the sandbox faults answer 503 SERVER_UNAVAILABLE instead');
	suite.difference('error-duplicate-value-tooling-vendor-code-comment.json', 'sandbox', 'a Tooling API error (ApexExecutionOverlayAction); the Tooling API is not emulated');
	suite.difference('error-item-restricted-picklist-recorded.json', 'sandbox', 'the sandbox schema has no restricted picklist field (Job_Category__c is a custom field of the recording org)');

	// ---- Change Data Capture (JSON relay form, signed) ----

	suite.check('cdc-account-update-pubsub-avro-unions-recorded.json', 'parser', 'Pub/Sub Avro unions ({"string":…}, {"long":…}) are unwrapped; replayId string', async (fixture) => {
		const events = fixture.json as Array<{ replayId: string; payload: Json & { ChangeEventHeader: Json } }>;
		const parsed = parseSignedJson(fixture.text);
		assert.deepEqual(parsed.skipped, []);
		assert.equal(parsed.events.length, events.length);
		const [event] = parsed.events;
		const { payload } = events[0];
		const head = payload.ChangeEventHeader as { recordIds: string[]; commitTimestamp: number; transactionKey: string; changedFields: string[]; nulledFields: string[]; commitUser: string; changeOrigin: string };
		assert.equal(event.entity, 'account');
		assert.equal(event.operation, 'update');
		assert.equal(event.recordId, head.recordIds[0]);
		assert.equal(Date.parse(event.occurredAt), head.commitTimestamp);
		assert.deepEqual(event.changedFields, head.changedFields);
		assert.equal(event.origin?.actorId, head.commitUser);
		assert.equal(event.origin?.source, head.changeOrigin);
		assert.match(event.eventId, new RegExp(`^${head.transactionKey}:`));
		// {"string": "Hot"} is the value "Hot"; {"long": ms} of a datetime field is that instant.
		const rating = (payload.Rating as { string: string }).string;
		assert.equal(event.record?.Rating, rating);
		// Pub/Sub sends unchanged fields as null; only nulledFields (none here) were emptied.
		const sent = Object.keys(payload).filter((k) => k !== 'ChangeEventHeader' && payload[k] !== null);
		assert.deepEqual(head.nulledFields, []);
		assert.deepEqual(Object.keys(event.record ?? {}).sort(), sent.sort());
		const modified = (payload.LastModifiedDate as { long: number }).long;
		assert.equal(Date.parse(String(event.record?.LastModifiedDate)), modified);
	});
	suite.check('cdc-account-update-pubsub-compound-address-recorded.json', 'parser', 'compound BillingAddress flattened to Billing* fields; changedFields BillingAddress.City → BillingCity', async (fixture) => {
		const message = fixture.json as { replayId: number; payload: Json & { ChangeEventHeader: Json; BillingAddress: Json } };
		const parsed = parseSignedJson(fixture.text);
		assert.deepEqual(parsed.skipped, []);
		const [event] = parsed.events;
		const head = message.payload.ChangeEventHeader as { recordIds: string[]; commitTimestamp: number; changedFields: string[] };
		assert.equal(event.recordId, head.recordIds[0]);
		assert.equal(Date.parse(event.occurredAt), head.commitTimestamp);
		// Only the address parts that were sent with a value: the nulls are unchanged parts (nulledFields is empty).
		for (const [part, value] of Object.entries(message.payload.BillingAddress)) assert.equal(event.record?.[`Billing${part}`], value ?? undefined, part);
		const sent = Object.entries(message.payload.BillingAddress).filter(([, v]) => v !== null).map(([part]) => `Billing${part}`);
		assert.deepEqual(Object.keys(event.record ?? {}).sort(), [...sent, 'LastModifiedDate'].sort());
		assert.deepEqual(event.changedFields, head.changedFields.map((f) => f.replace(/^BillingAddress\./, 'Billing')));
		assert.equal(Date.parse(String(event.record?.LastModifiedDate)), message.payload.LastModifiedDate);
	});
	suite.check('cdc-case-update-cometd-recorded.json', 'parser', 'CometD form ({schema, payload, event.replayId}): Case is not a synced entity, skipped with the reason, nothing thrown', async (fixture) => {
		const parsed = parseSignedJson(fixture.text);
		assert.deepEqual(parsed.events, []);
		assert.equal(parsed.skipped.length, 1);
		assert.match(parsed.skipped[0].reason, /unsupported entityName "Case"/);
	});
	suite.check('cdc-case-update-cometd-recorded.json', 'parser', 'the same CometD message for a synced entity: only the changed fields, ISO date kept as the same instant', async (fixture) => {
		// Derived from the fixture at test time: entityName Case → Account (Case is not synced); all else as recorded.
		const message = fixture.json as { event: { replayId: number }; payload: Json & { ChangeEventHeader: Json } };
		const head = message.payload.ChangeEventHeader as { recordIds: string[]; commitTimestamp: number; changedFields: string[]; transactionKey: string };
		const body = JSON.stringify({ ...message, payload: { ...message.payload, ChangeEventHeader: { ...head, entityName: 'Account' } } });
		const parsed = parseSignedJson(body);
		const [event] = parsed.events;
		assert.equal(event.recordId, head.recordIds[0]);
		assert.deepEqual(event.changedFields, head.changedFields);
		// Unchanged fields are absent in CometD: the record holds only what was sent.
		assert.deepEqual(Object.keys(event.record ?? {}).sort(), Object.keys(message.payload).filter((k) => k !== 'ChangeEventHeader').sort());
		assert.equal(Date.parse(String(event.record?.LastModifiedDate)), instant(message.payload.LastModifiedDate));
		assert.equal(Date.parse(event.occurredAt), head.commitTimestamp);
		// Without a transactionKey the event id comes from event.replayId of this envelope.
		const noKey = JSON.stringify({ ...message, payload: { ...message.payload, ChangeEventHeader: { ...head, entityName: 'Account', transactionKey: undefined } } });
		assert.equal(parseSignedJson(noKey).events[0].eventId, `replay:${message.event.replayId}`);
		// CometD sends changed fields only: a null there was really emptied, even without nulledFields.
		const cleared = JSON.stringify({ ...message, payload: { ...message.payload, AccountId: null, ChangeEventHeader: { ...head, entityName: 'Account' } } });
		assert.equal(parseSignedJson(cleared).events[0].record?.AccountId, null);
	});
	suite.check('cdc-case-update-cometd-recorded.json', 'sandbox', 'the sandbox CometD change event (data of the message) has the recorded shape; UPDATE omits unchanged fields', async (fixture) => {
		const rx = await receiver('');
		const sub = sandbox.emulators.salesforce!.addSubscription({ type: 'changeEvent', url: rx.url, secret: SECRET, entities: ['Account'] });
		try {
			const id = await newAccount();
			await sb('PATCH', `${V}/sobjects/Account/${id}`, { Phone: '555-0102' });
			await (sandbox.emulators.salesforce as unknown as { webhooksIdle(): Promise<void> }).webhooksIdle();
			const update = rx.got.map((g) => JSON.parse(g.raw) as { data: { payload: Json & { ChangeEventHeader: Json } } }).find((m) => m.data.payload.ChangeEventHeader.changeType === 'UPDATE');
			assert.ok(update, 'an UPDATE event was sent');
			const recorded = fixture.json as { payload: Json };
			// The set of changed fields differs (Case vs Account); the header and envelope must not.
			// nulledFields and diffFields are in both Pub/Sub recordings (2022, 2023), not in this 2019 CometD one.
			assertSameShape(recorded, update.data, { ignore: ['$.payload.AccountId', '$.payload.Phone', '$.payload.ChangeEventHeader.nulledFields', '$.payload.ChangeEventHeader.diffFields'] });
			assert.deepEqual(Object.keys(update.data.payload).sort(), ['ChangeEventHeader', 'LastModifiedDate', 'Phone']);
		} finally {
			unsubscribe(sub);
			rx.server.close();
		}
	});
	suite.difference('cdc-account-update-pubsub-avro-unions-recorded.json', 'sandbox', 'the gRPC Pub/Sub API is not emulated (sandbox/salesforce/events.ts): the sandbox sends the CometD JSON form only');
	suite.difference('cdc-account-update-pubsub-compound-address-recorded.json', 'sandbox', 'the gRPC Pub/Sub API is not emulated: the sandbox sends the CometD JSON form only (its compound fields nest the same way: BillingAddress.City)');

	// ---- Outbound Messages (SOAP) ----

	suite.check('outbound-message-contact-anonymized.xml', 'parser', 'verify (?key=) and parse: one Contact notification, its fields, ids and instants', async (fixture) => {
		const doc = xml.parse(fixture.text) as { Envelope: { Body: { notifications: { OrganizationId: string; Notification: { Id: string; sObject: Json } } } } };
		const n = doc.Envelope.Body.notifications;
		const req = request(fixture.text, 'text/xml; charset=utf-8', {}, `/webhook/sf?key=${SECRET}`);
		webhookModule.verify(req, { secrets: [SECRET], salesforceOrganizationIds: [n.OrganizationId] });
		assert.throws(() => webhookModule.verify(request(fixture.text, 'text/xml', {}, '/webhook/sf?key=wrong'), { secrets: [SECRET] }));
		const parsed = webhookModule.parse(req, new Date('2030-01-01T00:00:00Z'));
		assert.deepEqual(parsed.skipped, []);
		const [event] = parsed.events;
		const sObject = n.Notification.sObject;
		assert.equal(event.entity, 'contact');
		assert.equal(event.eventId, n.Notification.Id);
		// The anonymized Id has 19 characters (SOURCES.md); the parser keeps it as sent.
		assert.equal(event.recordId, sObject.Id);
		assert.equal(event.operation, sObject.CreatedDate === sObject.LastModifiedDate ? 'create' : 'update');
		assert.equal(Date.parse(event.occurredAt), instant(sObject.LastModifiedDate));
		for (const key of ['FirstName', 'LastName', 'CreatedDate', 'LastModifiedDate']) assert.equal(event.record?.[key], sObject[key], key);
		const reply = webhookModule.successReply!(req, parsed);
		assert.equal(reply?.body, OUTBOUND_MESSAGE_ACK);
		assert.equal(reply?.status, 200);
		assert.match(reply!.contentType, /^text\/xml/);
	});
	suite.check('outbound-message-contact-anonymized.xml', 'sandbox', 'the sandbox Outbound Message has the recorded envelope shape', async (fixture) => {
		const rx = await receiver(OUTBOUND_MESSAGE_ACK);
		const sub = sandbox.emulators.salesforce!.addSubscription({ type: 'outboundMessage', url: rx.url, object: 'Contact', fields: ['FirstName', 'LastName', 'CreatedDate', 'LastModifiedDate'] });
		try {
			await sb('POST', `${V}/sobjects/Contact`, { FirstName: 'some', LastName: 'dude' });
			await (sandbox.emulators.salesforce as unknown as { webhooksIdle(): Promise<void> }).webhooksIdle();
			assert.ok(rx.got.length >= 1);
			assert.match(String(rx.got[0].headers['content-type']), /^text\/xml/);
			const recorded = xml.parse(fixture.text) as Json;
			const sent = xml.parse(rx.got[0].raw) as Json;
			// Namespace declarations are attributes of where the sender chose to put them.
			// SessionId is nil unless the Outbound Message sends one ("Send Session ID"), as the recording's did.
			const ignore = ['$.Envelope.Body.notifications.SessionId', '$.?xml', '$.Envelope.@_xmlns:soapenv', '$.Envelope.@_xmlns:xsd', '$.Envelope.@_xmlns:xsi', '$.Envelope.Body.notifications.@_xmlns', '$.Envelope.Body.notifications.Notification.sObject.@_xmlns:sf'];
			assertSameShape(recorded, sent, { ignore });
		} finally {
			unsubscribe(sub);
			rx.server.close();
		}
	});

	suite.check('outbound-message-ack-schema-vendor.xml', 'parser', 'the ack we answer is a notificationsResponse holding one boolean Ack, as the WSDL defines', async (fixture) => {
		const schema = xml.parse(fixture.text) as { element: { '@_name': string; complexType: { sequence: { element: { '@_name': string; '@_type': string } } } } };
		const ack = xml.parse(OUTBOUND_MESSAGE_ACK) as { Envelope: { Body: Record<string, Record<string, unknown>> } };
		const body = ack.Envelope.Body;
		assert.deepEqual(Object.keys(body), [schema.element['@_name']]);
		const response = body[schema.element['@_name']];
		const field = schema.element.complexType.sequence.element;
		assert.deepEqual(Object.keys(response).filter((k) => !k.startsWith('@_')), [field['@_name']]);
		assert.equal(field['@_type'], 'xsd:boolean');
		assert.equal(response[field['@_name']], 'true');
	});
	suite.check('outbound-message-ack-response-thirdparty.xml', 'parser', 'our ack has the same elements, namespace and value as the node-red envelope (hand-written, unverified)', async (fixture) => {
		const strip = (text: string) => new XMLParser({ ignoreAttributes: false, parseTagValue: false, attributeNamePrefix: '@_' }).parse(text.replace(/>\s+</g, '><'));
		assert.deepEqual(strip(OUTBOUND_MESSAGE_ACK)['soapenv:Envelope'], strip(fixture.text)['soapenv:Envelope']);
	});
	suite.check('outbound-message-ack-response-thirdparty.xml', 'sandbox', 'the sandbox takes this ack as delivered (no retry)', async (fixture) => {
		const rx = await receiver(fixture.text);
		const em = sandbox.emulators.salesforce as unknown as { addSubscription(s: Json): { id: string }; webhooksIdle(): Promise<void>; deliveries(): Array<{ ok: boolean; url: string }> };
		const sub = em.addSubscription({ type: 'outboundMessage', url: rx.url, object: 'Lead', fields: ['LastName'] });
		try {
			await sb('POST', `${V}/sobjects/Lead`, { LastName: 'Ack', Company: 'Ack Co' });
			await em.webhooksIdle();
			const mine = em.deliveries().filter((d) => d.url === rx.url);
			assert.deepEqual(mine.map((d) => d.ok), [true]);
		} finally {
			unsubscribe(sub);
			rx.server.close();
		}
	});
	suite.check('outbound-message-ack-schema-vendor.xml', 'sandbox', 'the sandbox takes our ack (the schema\'s notificationsResponse/Ack) as delivered', async () => {
		const rx = await receiver(OUTBOUND_MESSAGE_ACK);
		const em = sandbox.emulators.salesforce as unknown as { addSubscription(s: Json): { id: string }; webhooksIdle(): Promise<void>; deliveries(): Array<{ ok: boolean; url: string }> };
		const sub = em.addSubscription({ type: 'outboundMessage', url: rx.url, object: 'Lead', fields: ['LastName'] });
		try {
			await sb('POST', `${V}/sobjects/Lead`, { LastName: 'Ack2', Company: 'Ack Co' });
			await em.webhooksIdle();
			assert.deepEqual(em.deliveries().filter((d) => d.url === rx.url).map((d) => d.ok), [true]);
		} finally {
			unsubscribe(sub);
			rx.server.close();
		}
	});
});
