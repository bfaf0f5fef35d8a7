// Dynamics 365 / Dataverse conformance: the documented (and one third-party recorded) Web API
// payloads in ../shared/data/crm-fixtures/dataverse fed to the connector (through the replay
// server), the webhook parser, and compared in shape with the sandbox's answers.
//
// Serving notes, since the docs print replies, not recordings:
// - `[Organization URI]` / `[Organization Uri]` placeholders (and the third-party org's host) are
//   replaced by the replay server's URL so that nextLinks and Location headers point back at it.
// - The .http $batch replies have no outer Content-Type: the boundary is derived from the body's
//   first `--batchresponse_…` line and served as `multipart/mixed; boundary=…` (one check also
//   serves a reply without it, which the connector reads off the body).
// - Error bodies the docs show on their own are served as the status their file names, either for
//   a single call or as the inner part of a $batch reply laid out like
//   batch-response-continue-on-error.http (the connector writes through $batch only).
// - The .raw.txt files are served as their raw bytes (not valid JSON).
import assert from 'node:assert/strict';

import { create, type DynamicsConnector } from '../../lib/crms/dynamics/connector';
import { dynamics as dynamicsWebhook } from '../../lib/crms/dynamics/webhook';
import { isNotFound, type WriteFailure, type WriteOutcome, type WriteSuccess } from '../../lib/connectors/types';
import { CrmError } from '../../lib/http';
import { compileMapping } from '../../lib/mapping';
import type { Fixture } from './fixtures';
import { replayServer, type ReplayServer } from './replay';
import { conformance } from './suite';
import { registerSandboxChecks } from './dynamics/sandbox';

type Json = Record<string, any>;

let clientSeq = 0;

/** A replay server answering the Entra token request, and a connector pointed at it. */
async function withReplay(run: (server: ReplayServer, dv: DynamicsConnector) => Promise<void>): Promise<void> {
	const server = await replayServer();
	server.route((r) => r.method === 'POST' && r.url.endsWith('/oauth2/v2.0/token'), { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: 'replay-token' } });
	const dv = create(
		{ orgUrl: server.url, authorityUrl: server.url, tenantId: 'tenant', clientId: `conformance-${++clientSeq}`, clientSecret: 'secret' },
		{ retry: { baseDelayMs: 1, maxDelayMs: 5 } },
	);
	try {
		await run(server, dv);
	} finally {
		await server.close();
	}
}

/** The requests that reached the Web API (not the token endpoint). */
const apiRequests = (server: ReplayServer) => server.requests.filter((r) => r.url.startsWith('/api/data/'));

/** The fixture's text with the docs' org placeholders pointing at `url`. */
function served(text: string, url: string): string {
	return text.replace(/\[Organization UR[Ii]\]/g, url).replace(/https:\/\/org5bd08fdd\.api\.crm\.dynamics\.com/g, url);
}

function boundaryOf(body: string): string {
	const boundary = /^--(batchresponse_\S+)/m.exec(body)?.[1];
	assert.ok(boundary, 'the reply names its batch boundary');
	return boundary;
}

/** A .http $batch reply as recorded in the docs, with the boundary header they leave out. */
function batchReply(fixture: Fixture, url: string, withContentType = true) {
	assert.ok(fixture.http);
	const body = served(fixture.http.body, url);
	return { status: fixture.http.status, headers: withContentType ? { 'content-type': `multipart/mixed; boundary=${boundaryOf(body)}` } : { 'content-type': 'text/plain' }, body };
}

/** One inner error part in a 200 $batch reply, laid out like batch-response-continue-on-error.http. */
function innerPart(status: number, body: string, statusText = 'Error') {
	const boundary = 'batchresponse_3d0c5ac4-5e55-4a50-9b1a-0fe0dc1b2c3d';
	const text = [`--${boundary}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', `HTTP/1.1 ${status} ${statusText}`, 'Content-Type: application/json; odata.metadata=minimal', 'OData-Version: 4.0', '', body, `--${boundary}--`, ''].join('\r\n');
	return { status: 200, headers: { 'content-type': `multipart/mixed; boundary=${boundary}` }, body: text };
}

/** A .raw.txt error: status line, headers up to a blank line or the body's first `{`, then the body bytes. */
function rawMessage(text: string): { status: number; headers: Record<string, string>; body: string } {
	const lines = text.split(/\r?\n/);
	const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0])?.[1]);
	assert.ok(status >= 400, 'a status line');
	const headers: Record<string, string> = {};
	let i = 1;
	for (; i < lines.length && lines[i].trim() !== '' && !lines[i].startsWith('{'); i++) {
		const colon = lines[i].indexOf(':');
		headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
	}
	while (lines[i]?.trim() === '') i++;
	return { status, headers, body: lines.slice(i).join('\n') };
}

/** The status the file's name gives (error-<status>-…). */
const statusOf = (file: string): number => Number(/^error-(\d{3})-/.exec(file)?.[1]);

/** Record ids in the order of the reply's Location headers (with or without a space after the colon). */
function locationIds(text: string): string[] {
	const ids = [...text.matchAll(/^Location: ?.*\(([0-9a-f-]{36})\)$/gim)].map((m) => m[1].toLowerCase());
	assert.ok(ids.length > 0, 'the reply has Location headers');
	return ids;
}

function ok(outcome: WriteOutcome | undefined): WriteSuccess {
	assert.ok(outcome && outcome.status !== 'failed', JSON.stringify(outcome));
	return outcome as WriteSuccess;
}

function failed(outcome: WriteOutcome | undefined): WriteFailure {
	assert.equal(outcome?.status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

/** The operations a $batch request carried (one changeset per operation). */
const operationsIn = (body: string) => body.match(/^(POST|PATCH|DELETE) /gm)?.length ?? 0;

/** The request the connector sent for a nextLink, as the path it asked for. */
const pathOf = (link: string, url: string) => served(link, url).trim().slice(url.length);

conformance('dataverse', (suite) => {
	// ------------------------------------------------------------------ $batch replies

	suite.check('batch-response-no-changeset.http', 'connector', '3 creates answered 204 + Location, ids in order; the trailing GET part is not taken for an operation', async (fixture) => {
		const ids = locationIds(fixture.text);
		assert.equal(ids.length, 3);
		for (const withContentType of [true, false]) {
			await withReplay(async (server, dv) => {
				server.reply(batchReply(fixture, server.url, withContentType));
				const outcomes = await dv.create('activity', ids.map((_, ref) => ({ ref, fields: { subject: `Task ${ref + 1} in batch` } })));
				assert.deepEqual(outcomes.map((o) => ok(o).id), ids);
				assert.deepEqual(outcomes.map((o) => o.status), ['created', 'created', 'created']);
				assert.equal(apiRequests(server).length, 1);
			});
		}
	});

	suite.check('batch-response-changeset.http', 'connector', 'a changeset of 3 creates: ids by Content-ID', async (fixture) => {
		const ids = locationIds(fixture.text);
		assert.equal(ids.length, 3);
		await withReplay(async (server, dv) => {
			server.reply(batchReply(fixture, server.url));
			const outcomes = await dv.create('activity', ids.map((_, ref) => ({ ref, fields: { subject: `Task ${ref + 1} in batch` } })));
			assert.deepEqual(outcomes.map((o) => ok(o).id), ids);
		});
	});

	suite.check('batch-response-changeset-content-id-ref.http', 'connector', '`Location:[…` without a space: the id is read; a part without an id fails alone, not the batch', async (fixture) => {
		const [id] = locationIds(fixture.text);
		assert.ok(id);
		await withReplay(async (server, dv) => {
			server.reply(batchReply(fixture, server.url));
			const [first, second] = await dv.create('contact', [
				{ ref: 0, fields: { lastname: 'a' } },
				{ ref: 1, fields: { lastname: 'b' } },
			]);
			assert.equal(ok(first).id, id);
			// Content-ID 2 answers 204 without Location (it was an association): no id to report.
			assert.match(failed(second).message, /no record id/);
		});
	});

	suite.check('batch-response-continue-on-error.http', 'connector', 'HTTP 200 with mixed inner statuses: item 0 fails with 0x80044331, items 1 and 2 are created', async (fixture) => {
		const ids = locationIds(fixture.text);
		const error = JSON.parse(/^\{"error".*$/m.exec(fixture.text)![0]).error;
		await withReplay(async (server, dv) => {
			server.reply(batchReply(fixture, server.url));
			const outcomes = await dv.create('activity', [0, 1, 2].map((ref) => ({ ref, fields: { subject: `t${ref}` } })));
			const failure = failed(outcomes[0]);
			assert.deepEqual([failure.category, failure.code], ['validation', error.code]);
			assert.ok(failure.message.includes(error.message));
			assert.deepEqual([ok(outcomes[1]).id, ok(outcomes[2]).id], ids);
		});
	});

	suite.check('batch-response-error-stop.http', 'connector', 'outer 400 of a stopped batch: the error goes to item 0, items 1 and 2 are sent again and created', async (fixture) => {
		assert.equal(fixture.http?.status, 400);
		const error = JSON.parse(/^\{"error".*$/m.exec(fixture.text)![0]).error;
		const second = suite.fixture('batch-response-no-changeset.http');
		const ids = locationIds(second.text);
		await withReplay(async (server, dv) => {
			server.reply(batchReply(fixture, server.url), batchReply(second, server.url));
			const outcomes = await dv.create('activity', [0, 1, 2].map((ref) => ({ ref, fields: { subject: `t${ref}` } })));
			const failure = failed(outcomes[0]);
			assert.deepEqual([failure.ref, failure.category, failure.code], [0, 'validation', error.code]);
			assert.deepEqual([ok(outcomes[1]).id, ok(outcomes[2]).id], ids.slice(0, 2));
			const batches = apiRequests(server);
			assert.deepEqual(batches.map((r) => operationsIn(r.body)), [3, 2]);
			assert.match(batches[1].body, /"subject":"t1"/);
		});
	});

	// ------------------------------------------------------------------ records and paging

	suite.check('create-account-return-representation-201.json', 'connector', 'upsert by alternate key answered 201 + representation: created, id from the body', async (fixture) => {
		const body = fixture.json as Json;
		await withReplay(async (server, dv) => {
			server.reply(innerPart(201, served(fixture.text, server.url), 'Created'));
			const [outcome] = await dv.upsert('account', 'accountnumber', [{ ref: 0, fields: { accountnumber: body.accountnumber, name: body.name } }]);
			assert.deepEqual([ok(outcome).status, ok(outcome).id], ['created', body.accountid]);
		});
	});

	suite.check('get-account-annotations-etag.json', 'connector', 'GET with annotations: id, values and the unified account', async (fixture) => {
		const body = fixture.json as Json;
		await withReplay(async (server, dv) => {
			server.reply({ status: 200, body: served(fixture.text, server.url) });
			const record = await dv.get('account', body.accountid);
			assert.equal(record?.id, body.accountid);
			assert.equal(record?.fields.numberofemployees, body.numberofemployees);
			assert.equal(record?.fields['opendeals_date@OData.Community.Display.V1.FormattedValue'], body['opendeals_date@OData.Community.Display.V1.FormattedValue']);
			const unified = compileMapping({ direction: 'toUnified', source: 'dynamics', entity: 'account' }).map(record!.fields).record;
			assert.equal(unified.name, body.name);
			assert.equal(unified.phone, body.telephone1);
		});
	});

	suite.check('query-accounts-annotations-count-nextlink.json', 'connector', '@odata.count page: rows, nulls kept, nextLink (leading space and all) followed verbatim', async (fixture) => {
		const body = fixture.json as Json;
		await withReplay(async (server, dv) => {
			server.reply({ status: 200, body: served(fixture.text, server.url) });
			const page = await dv.listChanges('account');
			assert.deepEqual(page.records.map((r) => r.id), body.value.map((row: Json) => row.accountid));
			assert.equal(page.records[1].fields.telephone1, null);
			assert.equal(page.hasMore, true);
			await dv.listChanges('account', { cursor: page.cursor });
			assert.equal(apiRequests(server)[1].url, pathOf(body['@odata.nextLink'], server.url));
		});
	});

	suite.check('query-contacts-page1-nextlink.json', 'connector', 'maxpagesize=2 page 1: the paging cookie in $skiptoken goes back byte for byte', async (fixture) => {
		const page1 = fixture.json as Json;
		const page2 = suite.fixture('query-contacts-page2-nextlink.json');
		await withReplay(async (server, dv) => {
			server.reply({ status: 200, body: served(fixture.text, server.url) }, { status: 200, body: served(page2.text, server.url) });
			const first = await dv.listChanges('contact', { pageSize: 2 });
			assert.deepEqual(first.records.map((r) => r.id), page1.value.map((row: Json) => row.contactid));
			assert.equal(first.hasMore, true);
			await dv.listChanges('contact', { pageSize: 2, cursor: first.cursor });
			const asked = apiRequests(server)[1];
			assert.equal(asked.url, pathOf(page1['@odata.nextLink'], server.url));
			// Double-encoded cookie stays double-encoded (%253c), never decoded or re-encoded.
			assert.match(asked.url, /pagingcookie=%22%253ccookie%2520page%253d%25221%2522/);
			assert.equal(asked.headers.prefer, 'odata.maxpagesize=2');
		});
	});

	suite.check('query-contacts-page2-nextlink.json', 'connector', 'page 2: rows and the next cookie (page 3) followed verbatim', async (fixture) => {
		const page1 = suite.fixture('query-contacts-page1-nextlink.json');
		const page2 = fixture.json as Json;
		await withReplay(async (server, dv) => {
			server.reply({ status: 200, body: served(page1.text, server.url) }, { status: 200, body: served(fixture.text, server.url) });
			const first = await dv.listChanges('contact', { pageSize: 2 });
			const second = await dv.listChanges('contact', { pageSize: 2, cursor: first.cursor });
			assert.deepEqual(second.records.map((r) => r.id), page2.value.map((row: Json) => row.contactid));
			assert.equal(second.hasMore, true);
			await dv.listChanges('contact', { pageSize: 2, cursor: second.cursor });
			assert.equal(apiRequests(server)[2].url, pathOf(page2['@odata.nextLink'], server.url));
		});
	});

	suite.check('query-contacts-real-org-amp.json', 'connector', 'real org page (totalrecordcount -1): ids, unified e-mail, nextLink on the org host followed', async (fixture) => {
		const body = fixture.json as Json;
		await withReplay(async (server, dv) => {
			server.reply({ status: 200, body: served(fixture.text, server.url) });
			const page = await dv.listChanges('contact');
			assert.deepEqual(page.records.map((r) => r.id), body.value.map((row: Json) => row.contactid));
			const toUnified = compileMapping({ direction: 'toUnified', source: 'dynamics', entity: 'contact' });
			assert.deepEqual(page.records.map((r) => toUnified.map(r.fields).record.email), body.value.map((row: Json) => row.emailaddress1));
			assert.equal(page.hasMore, true);
			await dv.listChanges('contact', { cursor: page.cursor });
			assert.equal(apiRequests(server)[1].url, pathOf(body['@odata.nextLink'], server.url));
		});
	});

	// ------------------------------------------------------------------ errors

	/** One failing write in a $batch answered with the fixture as its inner part. */
	async function batchFailure(fixture: Fixture, write: (dv: DynamicsConnector) => Promise<WriteOutcome[]>, body = fixture.text, status = statusOf(fixture.file)): Promise<{ failure: WriteFailure; requests: number }> {
		let result: { failure: WriteFailure; requests: number } | undefined;
		await withReplay(async (server, dv) => {
			server.reply(innerPart(status, body));
			const [outcome] = await write(dv);
			result = { failure: failed(outcome), requests: apiRequests(server).length };
		});
		return result!;
	}

	/** A single call answered with the fixture: the CrmError it raises, and how many requests it took. */
	async function callFailure(fixture: Fixture, call: (dv: DynamicsConnector) => Promise<unknown>, reply: { status: number; headers?: Record<string, string>; body: string } = { status: statusOf(fixture.file), body: fixture.text }): Promise<{ error: CrmError; requests: number }> {
		let result: { error: CrmError; requests: number } | undefined;
		await withReplay(async (server, dv) => {
			server.reply(reply);
			const error = await call(dv).then(
				(value) => assert.fail(`expected a CrmError, got ${JSON.stringify(value)}`),
				(e: unknown) => e,
			);
			assert.ok(error instanceof CrmError, String(error));
			result = { error, requests: apiRequests(server).length };
		});
		return result!;
	}

	const someId = '00000000-0000-0000-0000-000000000001';

	suite.check('error-500-duplicate-detection-0x80040333.json', 'connector', 'HTTP 500 duplicate detection is a duplicate (validation, 0x80040333), never retried', async (fixture) => {
		const error = (fixture.json as Json).error;
		const { failure, requests } = await batchFailure(fixture, (dv) => dv.create('contact', [{ ref: 0, fields: { lastname: 'Dup', emailaddress1: 'dup@example.com' } }]));
		assert.deepEqual([failure.category, failure.code, requests], ['validation', error.code, 1]);
		assert.ok(failure.message.includes(error.message));
		const call = await callFailure(fixture, (dv) => dv.get('contact', someId));
		assert.deepEqual([call.error.category, call.error.code, call.error.httpStatus, call.error.retryable, call.requests], ['validation', error.code, 500, false, 1]);
	});

	suite.check('error-404-upsert-if-match-not-found.json', 'connector', 'empty code, "Does Not Exist": update fails as validation, delete reports NOT_FOUND, get answers undefined', async (fixture) => {
		const error = (fixture.json as Json).error;
		assert.equal(error.code, '');
		const update = await batchFailure(fixture, (dv) => dv.update('account', [{ ref: 0, id: someId, fields: { name: 'x' } }]));
		assert.deepEqual([update.failure.category, update.failure.code], ['validation', undefined]);
		assert.ok(update.failure.message.includes(error.message));
		const del = await batchFailure(fixture, (dv) => dv.delete('account', [{ ref: 0, id: someId }]));
		assert.ok(isNotFound(del.failure), JSON.stringify(del.failure));
		await withReplay(async (server, dv) => {
			server.reply({ status: 404, body: fixture.text });
			assert.equal(await dv.get('account', someId), undefined);
		});
	});

	suite.check('error-412-upsert-if-none-match-exists.json', 'connector', '412 "matching key values already exists" with an empty code is a duplicate', async (fixture) => {
		const error = (fixture.json as Json).error;
		const { failure } = await batchFailure(fixture, (dv) => dv.create('account', [{ ref: 0, fields: { name: 'x' } }]));
		assert.deepEqual([failure.category, failure.code], ['validation', 'DUPLICATE_RECORD']);
		assert.ok(failure.message.includes(error.message));
	});

	suite.check('error-412-concurrency-rowversion.json', 'connector', '412 RowVersion mismatch: a validation failure with the message, no empty code', async (fixture) => {
		const error = (fixture.json as Json).error;
		const { failure } = await batchFailure(fixture, (dv) => dv.update('account', [{ ref: 0, id: someId, fields: { name: 'x' } }]));
		assert.deepEqual([failure.category, failure.code], ['validation', undefined]);
		assert.ok(failure.message.includes(error.message));
	});

	suite.check('error-400-could-not-find-property-0x0-docs.json', 'connector', 'code "0x0" carries nothing: classified by status and message', async (fixture) => {
		const error = (fixture.json as Json).error;
		const { failure } = await batchFailure(fixture, (dv) => dv.create('account', [{ ref: 0, fields: { Name: 'x' } }]));
		assert.deepEqual([failure.category, failure.code], ['validation', undefined]);
		assert.ok(failure.message.includes(error.message));
		const call = await callFailure(fixture, (dv) => dv.get('account', someId, { fields: ['Name'] }));
		assert.deepEqual([call.error.category, call.error.code, call.error.httpStatus, call.requests], ['validation', undefined, 400, 1]);
		assert.ok(call.error.message.includes(error.message));
	});

	suite.check('error-404-no-http-resource-empty-code-docs.json', 'connector', 'testConnection against a wrong URL: a 404 validation error with the message, not a retry', async (fixture) => {
		const error = (fixture.json as Json).error;
		const call = await callFailure(fixture, (dv) => dv.testConnection());
		assert.deepEqual([call.error.category, call.error.code, call.error.httpStatus, call.requests], ['validation', undefined, 404, 1]);
		assert.ok(call.error.message.includes(error.message));
	});

	suite.check('error-404-resource-not-found-for-segment-docs.json', 'connector', 'a wrong entity set is an error, not "record not found"', async (fixture) => {
		const error = (fixture.json as Json).error;
		const call = await callFailure(fixture, (dv) => dv.get('account', someId));
		assert.deepEqual([call.error.category, call.error.code, call.error.httpStatus], ['validation', error.code, 404]);
		assert.ok(call.error.message.includes(error.message));
	});

	suite.check('error-400-0x80048d19-undeclared-property-docs.raw.txt', 'connector', 'not JSON as published: still a clear 0x80048d19 validation error', async (fixture) => {
		const raw = rawMessage(fixture.text);
		const code = /"code": "([^"]+)"/.exec(raw.body)![1];
		const { failure } = await batchFailure(fixture, (dv) => dv.create('contact', [{ ref: 0, fields: { lastname: 'x' } }]), raw.body, raw.status);
		assert.deepEqual([failure.category, failure.code], ['validation', code]);
		assert.match(failure.message, /undeclared property 'parentcustomerid'/);
		const call = await callFailure(fixture, (dv) => dv.get('contact', someId), raw);
		assert.deepEqual([call.error.category, call.error.code, call.error.httpStatus], ['validation', code, raw.status]);
		assert.match(call.error.message, /undeclared property 'parentcustomerid'/);
	});

	suite.check('error-plugin-annotations.raw.txt', 'connector', 'a plug-in error (missing comma as published): code and message read, no crash', async (fixture) => {
		const raw = rawMessage(fixture.text);
		assert.match(raw.headers['content-type'], /^application\/json/);
		const code = /"code": "([^"]+)"/.exec(raw.body)![1];
		const message = /"message": "([^"]+)"/.exec(raw.body)![1];
		const { failure } = await batchFailure(fixture, (dv) => dv.create('account', [{ ref: 0, fields: { name: 'x' } }]), raw.body, raw.status);
		assert.deepEqual([failure.category, failure.code, failure.message], ['validation', code, `Dynamics: ${message}`]);
		const call = await callFailure(fixture, (dv) => dv.get('account', someId), raw);
		assert.deepEqual([call.error.category, call.error.code, call.error.message], ['validation', code, `Dynamics: ${message}`]);
	});

	// ------------------------------------------------------------------ webhook

	suite.check('webhook-remoteexecutioncontext-contact-update.json', 'parser', 'RemoteExecutionContext Update: ids, changed attributes, WCF dates as instants, initiating user', async (fixture) => {
		const context = fixture.json as Json;
		const secret = 'conformance-webhook-key';
		const request = {
			method: 'POST',
			url: `/webhook/conformance/dynamics?code=${secret}`,
			headers: { 'content-type': 'application/json', 'x-ms-dynamics-entity-name': 'contact', 'x-ms-dynamics-request-name': 'Update' },
			rawBody: Buffer.from(fixture.text),
		};
		dynamicsWebhook.verify(request, { secrets: [secret] });
		assert.throws(() => dynamicsWebhook.verify(request, { secrets: ['another-key'] }));
		const parsed = dynamicsWebhook.parse(request);
		assert.equal(parsed.events.length, 1, JSON.stringify(parsed));
		const [event] = parsed.events;
		const attributes = Object.fromEntries((context.InputParameters[0].value.Attributes as Json[]).map((a) => [a.key, a.value]));
		/** `/Date(ms±hhmm)/`: ms since the epoch (UTC), the offset apart. */
		const wcf = (value: string) => {
			const m = /^\/Date\((-?\d+)([+-]\d{2})?(\d{2})?\)\/$/.exec(value)!;
			return { ms: Number(m[1]), offsetMs: m[2] ? (Number(m[2]) * 60 + Math.sign(Number(m[2] + '1')) * Number(m[3])) * 60_000 : 0 };
		};
		assert.deepEqual([event.entity, event.operation, event.recordId, event.eventId], ['contact', 'update', context.PrimaryEntityId, context.OperationId]);
		assert.deepEqual(event.origin, { actorId: context.InitiatingUserId });
		assert.deepEqual(event.changedFields, Object.keys(attributes));
		assert.equal(event.record?.firstname, attributes.firstname);
		assert.deepEqual(event.record?.modifiedby, { id: attributes.modifiedby.Id, logicalName: attributes.modifiedby.LogicalName, name: null });
		// modifiedon has no offset: plain UTC ms. It is when the change happened.
		const modifiedMs = wcf(attributes.modifiedon).ms;
		assert.equal(Date.parse(event.record?.modifiedon as string), modifiedMs);
		assert.equal(Date.parse(event.occurredAt), modifiedMs);
		// OperationCreatedOn (-0700) read as plain UTC ms would be 7 h after that modifiedon: the
		// server wrote its UTC time as local. With the offset applied it is within seconds of it, and
		// that is what a change without modifiedon (a Delete) gets.
		const created = wcf(context.OperationCreatedOn);
		assert.ok(Math.abs(created.ms - modifiedMs) > 3600_000);
		const withoutModifiedOn = structuredClone(context);
		withoutModifiedOn.InputParameters[0].value.Attributes = (withoutModifiedOn.InputParameters[0].value.Attributes as Json[]).filter((a) => a.key !== 'modifiedon');
		const [late] = dynamicsWebhook.parse({ ...request, rawBody: Buffer.from(JSON.stringify(withoutModifiedOn)) }).events;
		assert.equal(Date.parse(late.occurredAt), created.ms + created.offsetMs);
		assert.ok(Math.abs(Date.parse(late.occurredAt) - modifiedMs) < 5000);
	});

	registerSandboxChecks(suite);
});
