// Dataverse sandbox conformance: the request each fixture answers, made against sandbox/dynamics,
// and the shape of the sandbox's answer compared with the fixture's (status, keys, value kinds,
// id and date formats, paging markers, error layout). $batch replies are compared as a tree of
// parts (headers, inner status line, inner headers and body), since they are multipart, not JSON.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import type { DynamicsEmulator } from '../../../sandbox/dynamics';
import { compareShape, describeDifferences, type CompareOptions } from '../shape';
import type { ConformanceSuite } from '../suite';

type Json = Record<string, any>;

interface Answer {
	status: number;
	headers: Headers;
	text: string;
	body: any;
}

export function registerSandboxChecks(suite: ConformanceSuite): void {
	let started: Promise<Sandbox> | undefined;
	const sandbox = () => (started ??= startSandbox({ crms: ['dynamics'] }));
	after(async () => {
		if (started) await (await started).stop();
	});

	async function org(): Promise<string> {
		return (await sandbox()).urls.dynamics!;
	}

	async function dv(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
		const base = await org();
		const headers: Record<string, string> = { Authorization: 'Bearer conformance', 'OData-MaxVersion': '4.0', 'OData-Version': '4.0', Accept: 'application/json', ...options.headers };
		let body = options.raw;
		if (options.body !== undefined) {
			headers['Content-Type'] = 'application/json; charset=utf-8';
			body = JSON.stringify(options.body);
		}
		const res = await fetch(path.startsWith('http') ? path : `${base}/api/data/v9.2${path}`, { method, headers, body });
		const text = await res.text();
		let parsed: unknown;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			parsed = undefined;
		}
		return { status: res.status, headers: res.headers, text, body: parsed };
	}

	async function createRow(set: string, fields: Json): Promise<string> {
		const r = await dv('POST', `/${set}`, { body: fields });
		assert.equal(r.status, 204, r.text);
		return /\(([0-9a-f-]{36})\)$/.exec(r.headers.get('odata-entityid')!)![1];
	}

	/** A unique tag per check, so rows of one check do not show up in another's queries. */
	let seq = 0;
	const tag = () => `conf${Date.now().toString(36)}${++seq}`;

	function sameShape(recorded: unknown, answer: unknown, options: CompareOptions = {}): void {
		const differences = compareShape(recorded, answer, options);
		assert.deepEqual(differences, [], describeDifferences(differences));
	}

	/** The columns a fixture's @odata.context names: `…#accounts(a,b,c)…`. */
	const columnsOf = (context: string) => /#\w+\(([^)]*)\)/.exec(context)![1];

	const annotations = { Prefer: 'odata.include-annotations="*"' };

	// ------------------------------------------------------------------ queries and paging

	/** The paging cookie of a nextLink: outer attributes, and the inner cookie after one more decoding. */
	function cookieOf(link: string): { outer: string[]; inner: string } {
		const token = /[?&]\$skiptoken=([^&]+)/.exec(link)![1];
		const once = decodeURIComponent(token);
		const outer = [...once.matchAll(/(\w+)="/g)].map((m) => m[1]);
		const paging = /pagingcookie="([^"]*)"/.exec(once)![1];
		// Still encoded after one decoding: the cookie is encoded twice.
		assert.match(paging, /^%3ccookie%20page%3d/, `pagingcookie ${paging.slice(0, 40)} is not URL-encoded XML`);
		return { outer, inner: decodeURIComponent(paging) };
	}

	suite.check('query-contacts-page1-nextlink.json', 'sandbox', 'Prefer maxpagesize=2: same page shape, nextLink with a double-encoded XML paging cookie', async (fixture) => {
		const recorded = fixture.json as Json;
		const t = tag();
		for (let i = 0; i < 5; i++) await createRow('contacts', { firstname: `P${i}`, lastname: t });
		const r = await dv('GET', `/contacts?$select=${columnsOf(recorded['@odata.context'])}&$filter=lastname eq '${t}'`, { headers: { Prefer: 'odata.maxpagesize=2' } });
		assert.equal(r.status, 200, r.text);
		sameShape(recorded, r.body);
		const real = cookieOf(recorded['@odata.nextLink']);
		const ours = cookieOf(r.body['@odata.nextLink']);
		assert.deepEqual(ours.outer, real.outer);
		assert.match(ours.inner, /^<cookie page="1"><contactid .*\/><\/cookie>$/);
		assert.match(real.inner, /^<cookie page="1"><contactid .*\/><\/cookie>$/);
		// Like Dataverse, the link leaves `=`, `,` and `/` unencoded.
		assert.match(r.body['@odata.nextLink'], /\$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e/);
	});

	suite.check('query-contacts-page2-nextlink.json', 'sandbox', 'the nextLink followed as is gives page 2 with the same shape and a page-3 cookie', async (fixture) => {
		const recorded = fixture.json as Json;
		const t = tag();
		for (let i = 0; i < 5; i++) await createRow('contacts', { firstname: `P${i}`, lastname: t });
		const first = await dv('GET', `/contacts?$select=fullname&$filter=lastname eq '${t}'`, { headers: { Prefer: 'odata.maxpagesize=2' } });
		const second = await dv('GET', first.body['@odata.nextLink'], { headers: { Prefer: 'odata.maxpagesize=2' } });
		assert.equal(second.status, 200, second.text);
		sameShape(recorded, second.body);
		assert.equal(second.body.value.length, 2);
		assert.deepEqual(cookieOf(second.body['@odata.nextLink']).outer, cookieOf(recorded['@odata.nextLink']).outer);
		assert.match(decodeURIComponent(second.body['@odata.nextLink']), /pagenumber="3"/);
	});

	suite.check('query-contacts-real-org-amp.json', 'sandbox', 'a query with annotations: totalrecordcount -1 without $count, formatted choice values, nextLink', async (fixture) => {
		const recorded = fixture.json as Json;
		const t = tag();
		for (let i = 0; i < 3; i++) await createRow('contacts', { firstname: `P${i}`, lastname: t, emailaddress1: `p${i}@${t}.example`, fax: '614-555-0100', familystatuscode: 1 });
		const r = await dv('GET', `/contacts?$select=${columnsOf(recorded['@odata.context'])}&$filter=lastname eq '${t}'`, { headers: { Prefer: `odata.maxpagesize=2,${annotations.Prefer}` } });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body['@Microsoft.Dynamics.CRM.totalrecordcount'], -1);
		sameShape(recorded, r.body);
	});

	/** An account like the docs' sample: a primary contact and the columns of the fixture's $select. */
	async function sampleAccount(t: string): Promise<string> {
		const contact = await createRow('contacts', { firstname: 'Sam', lastname: t });
		return createRow('accounts', {
			name: `Contoso ${t}`, accountnumber: t, telephone1: '555-1234', numberofemployees: 500, donotphone: true, industrycode: 7, ownershipcode: 2, customersizecode: 1,
			'primarycontactid@odata.bind': `/contacts(${contact})`,
		});
	}

	// opendeals_date is a rollup column the emulator does not have (user data of the sample, not API shape).
	const noRollup = (path: string): string[] => [`${path}.opendeals_date`, `${path}.opendeals_date@OData.Community.Display.V1.FormattedValue`];

	suite.check('query-accounts-annotations-count-nextlink.json', 'sandbox', '$count=true with annotations: @odata.count, totalrecordcount, lookup and formatted-value annotations', async (fixture) => {
		const recorded = fixture.json as Json;
		const t = tag();
		for (let i = 0; i < 3; i++) await sampleAccount(`${t}${i}`);
		const select = columnsOf(recorded['@odata.context']).split(',').filter((c) => c !== 'opendeals_date').join(',');
		const r = await dv('GET', `/accounts?$select=${select}&$filter=_primarycontactid_value ne null and startswith(accountnumber,'${t}')&$count=true`, { headers: { Prefer: `odata.maxpagesize=2,${annotations.Prefer}` } });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body['@odata.count'], 3);
		assert.equal(r.body['@Microsoft.Dynamics.CRM.totalrecordcount'], 3);
		sameShape(recorded, r.body, { ignore: noRollup('$.value[]') });
	});

	suite.check('get-account-annotations-etag.json', 'sandbox', 'GET by id with annotations: same keys, W/"n" etag, lookup annotations', async (fixture) => {
		const recorded = fixture.json as Json;
		const id = await sampleAccount(tag());
		const select = columnsOf(recorded['@odata.context']).split(',').filter((c) => c !== 'opendeals_date').join(',');
		const r = await dv('GET', `/accounts(${id})?$select=${select}`, { headers: annotations });
		assert.equal(r.status, 200, r.text);
		assert.match(r.body['@odata.etag'], /^W\/"\d+"$/);
		sameShape(recorded, r.body, { ignore: noRollup('$') });
	});

	suite.check('create-account-return-representation-201.json', 'sandbox', 'POST with return=representation: 201 and the entity with annotations', async (fixture) => {
		const recorded = fixture.json as Json;
		const t = tag();
		const contact = await createRow('contacts', { firstname: 'Sam', lastname: t });
		const select = columnsOf(recorded['@odata.context']).split(',').filter((c) => c !== 'opendeals_date').join(',');
		const r = await dv('POST', `/accounts?$select=${select}`, {
			body: { name: `Contoso ${t}`, accountnumber: t, telephone1: '555-1234', numberofemployees: 500, donotphone: true, industrycode: 7, ownershipcode: 2, customersizecode: 1, 'primarycontactid@odata.bind': `/contacts(${contact})` },
			headers: { Prefer: `return=representation,${annotations.Prefer}` },
		});
		assert.equal(r.status, 201, r.text);
		sameShape(recorded, r.body, { ignore: noRollup('$') });
	});

	// ------------------------------------------------------------------ errors

	async function errorCheck(fixture: { json?: unknown; file: string }, answer: Answer): Promise<void> {
		assert.equal(answer.status, Number(/^error-(\d{3})-/.exec(fixture.file)![1]), answer.text);
		sameShape(fixture.json, answer.body);
	}

	suite.check('error-404-upsert-if-match-not-found.json', 'sandbox', 'PATCH If-Match: * on a missing row: 404 {error:{code,message}}', async (fixture) => {
		await errorCheck(fixture, await dv('PATCH', '/accounts(00000000-0000-0000-0000-000000000001)', { body: { name: 'x' }, headers: { 'If-Match': '*' } }));
	});

	suite.check('error-412-upsert-if-none-match-exists.json', 'sandbox', 'PATCH If-None-Match: * on an existing row: 412', async (fixture) => {
		const id = await createRow('accounts', { name: tag() });
		await errorCheck(fixture, await dv('PATCH', `/accounts(${id})`, { body: { name: 'x' }, headers: { 'If-None-Match': '*' } }));
	});

	suite.check('error-412-concurrency-rowversion.json', 'sandbox', 'PATCH with a stale If-Match etag: 412', async (fixture) => {
		const id = await createRow('accounts', { name: tag() });
		await errorCheck(fixture, await dv('PATCH', `/accounts(${id})`, { body: { name: 'x' }, headers: { 'If-Match': 'W/"1"' } }));
	});

	suite.check('error-500-duplicate-detection-0x80040333.json', 'sandbox', 'MSCRM.SuppressDuplicateDetection: false and an account of the same name: 500 0x80040333', async (fixture) => {
		const name = `Duplicate ${tag()}`;
		await createRow('accounts', { name });
		const r = await dv('POST', '/accounts', { body: { name: name.toUpperCase() }, headers: { 'MSCRM.SuppressDuplicateDetection': 'false' } });
		await errorCheck(fixture, r);
		assert.deepEqual(r.body, fixture.json);
		// Without the header duplicate detection does not run.
		assert.equal((await dv('POST', '/accounts', { body: { name } })).status, 204);
	});

	suite.check('error-400-could-not-find-property-0x0-docs.json', 'sandbox', '$select=Name (names are case-sensitive): 400 with the same message', async (fixture) => {
		const r = await dv('GET', '/accounts?$select=Name');
		await errorCheck(fixture, r);
		assert.equal(r.body.error.message, (fixture.json as Json).error.message);
	});

	suite.check('error-404-resource-not-found-for-segment-docs.json', 'sandbox', 'GET /Account (not an entity set): 404 with the same message', async (fixture) => {
		const r = await dv('GET', '/Account');
		await errorCheck(fixture, r);
		assert.equal(r.body.error.message, (fixture.json as Json).error.message);
	});

	suite.check('error-404-no-http-resource-empty-code-docs.json', 'sandbox', 'a URL no route matches (WhoAmI with a key segment): 404 {error:{code,message}}', async (fixture) => {
		await errorCheck(fixture, await dv('GET', '/WhoAmI/nothing'));
	});

	suite.check('error-400-0x80048d19-undeclared-property-docs.raw.txt', 'sandbox', 'parentcustomerid@odata.bind (no single-valued navigation of that name): 400 with the same error layout', async (fixture) => {
		const text = fixture.text;
		// The published body is not JSON; its layout is read off the text.
		const recorded = { error: { code: /"code": "([^"]+)"/.exec(text)![1], message: /"message": "([^"]+)/.exec(text)![1] } };
		const account = await createRow('accounts', { name: tag() });
		const r = await dv('POST', '/contacts', { body: { lastname: 'x', 'parentcustomerid@odata.bind': `/accounts(${account})` } });
		assert.equal(r.status, 400, r.text);
		sameShape(recorded, r.body);
		assert.match(r.body.error.message, /undeclared property 'parentcustomerid' which only has property annotations/);
	});

	suite.difference('error-plugin-annotations.raw.txt', 'sandbox', 'the sandbox runs no plug-ins, so it never answers a plug-in error with @Microsoft.PowerApps.CDS.* annotations (VENDOR-DOC compose-http-requests-handle-errors.md); its error bodies are {error:{code,message}} only');

	// ------------------------------------------------------------------ $batch

	/** A multipart reply as a tree: each part's headers, its inner HTTP status and headers and JSON body, or its own parts. */
	function multipart(text: string, boundary: string): Json[] {
		const parts: Json[] = [];
		const chunks = text.split(new RegExp(`^--${boundary}(?:--)?\\r?$`, 'm')).slice(1, -1);
		for (const chunk of chunks) {
			const [head, ...rest] = chunk.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
			const headers = headerNames(head);
			const body = rest.join('\n\n');
			const inner = /boundary=([^;\s]+)/.exec(head)?.[1];
			if (inner) {
				parts.push({ headers, parts: multipart(body, inner) });
				continue;
			}
			const [httpHead, ...httpBody] = body.split(/\r?\n\r?\n/);
			const [statusLine, ...headerLines] = httpHead.split(/\r?\n/);
			const json = httpBody.join('\n').trim();
			parts.push({ headers, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)![1]), httpHeaders: headerNames(headerLines.join('\n')), ...(json ? { body: JSON.parse(json) } : {}) });
		}
		return parts;
	}

	/** Header names (lower case) and values; the docs' `Location:[…` without a space reads the same. */
	function headerNames(head: string): Json {
		const out: Json = {};
		for (const line of head.split(/\r?\n/)) {
			const colon = line.indexOf(':');
			if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
		}
		return out;
	}

	function recordedTree(text: string): { status: number; parts: Json[] } {
		const [head, ...body] = text.split(/\n\n/);
		const boundary = /^--(batchresponse_\S+)/m.exec(body.join('\n\n'))![1];
		return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)![1]), parts: multipart(body.join('\n\n'), boundary) };
	}

	async function batch(parts: string[], prefer?: string): Promise<{ status: number; contentType: string; parts: Json[] }> {
		const body = [...parts, '--batch_conf--', ''].join('\r\n');
		const r = await dv('POST', '/$batch', { raw: body, headers: { 'Content-Type': 'multipart/mixed; boundary=batch_conf', ...(prefer ? { Prefer: prefer } : {}) } });
		const contentType = r.headers.get('content-type') ?? '';
		const boundary = /boundary=([^;\s]+)/.exec(contentType)?.[1];
		assert.ok(boundary, `$batch answered ${r.status} ${contentType}: ${r.text.slice(0, 300)}`);
		return { status: r.status, contentType, parts: multipart(r.text, boundary) };
	}

	const op = (method: string, url: string, body?: Json, contentId?: number) => [
		'Content-Type: application/http',
		'Content-Transfer-Encoding: binary',
		...(contentId ? [`Content-ID: ${contentId}`] : []),
		'',
		`${method} ${url} HTTP/1.1`,
		...(body ? ['Content-Type: application/json; type=entry', ''] : ['Accept: application/json', '']),
		...(body ? [JSON.stringify(body)] : []),
	];

	const statuses = (parts: Json[]): unknown[] => parts.map((p) => (p.parts ? statuses(p.parts) : p.status));

	// The docs' replies are recorded without the request's values: tasks' subjects and the ids differ; shape only.
	suite.check('batch-response-no-changeset.http', 'sandbox', '3 POSTs and a GET outside changesets: 204 parts with Location/OData-EntityId, then the 200 GET', async (fixture) => {
		const t = tag();
		const parts: string[] = [];
		for (let i = 1; i <= 3; i++) parts.push('--batch_conf', ...op('POST', 'tasks', { subject: `${t} Task ${i} in batch` }));
		parts.push('--batch_conf', ...op('GET', `tasks?$select=subject&$filter=contains(subject,'${t}')`));
		const ours = await batch(parts);
		const recorded = recordedTree(fixture.text);
		assert.deepEqual([ours.status, statuses(ours.parts)], [recorded.status, statuses(recorded.parts)]);
		sameShape(recorded.parts, ours.parts);
		sameShape(recorded.parts[3], ours.parts[3]);
	});

	suite.check('batch-response-changeset.http', 'sandbox', 'a changeset of 3 POSTs then a GET: Content-IDs in the changeset, same part layout', async (fixture) => {
		const t = tag();
		const parts = ['--batch_conf', 'Content-Type: multipart/mixed; boundary=changeset_conf', ''];
		for (let i = 1; i <= 3; i++) parts.push('--changeset_conf', ...op('POST', 'tasks', { subject: `${t} Task ${i} in batch` }, i));
		parts.push('--changeset_conf--', '--batch_conf', ...op('GET', `tasks?$select=subject&$filter=contains(subject,'${t}')`));
		const ours = await batch(parts);
		const recorded = recordedTree(fixture.text);
		assert.deepEqual([ours.status, statuses(ours.parts)], [recorded.status, statuses(recorded.parts)]);
		for (let i = 0; i < 3; i++) sameShape(recorded.parts[0].parts[i], ours.parts[0].parts[i]);
		sameShape(recorded.parts[1], ours.parts[1]);
	});

	suite.check('batch-response-changeset-content-id-ref.http', 'sandbox', 'a changeset creating a contact and referring to it as $1: 204 with Location, then 204', async (fixture) => {
		const account = await createRow('accounts', { name: tag() });
		const parts = ['--batch_conf', 'Content-Type: multipart/mixed; boundary=changeset_conf', ''];
		parts.push('--changeset_conf', ...op('POST', 'contacts', { lastname: 'Ref' }, 1));
		parts.push('--changeset_conf', ...op('PATCH', `accounts(${account})`, { 'primarycontactid@odata.bind': '$1' }, 2));
		parts.push('--changeset_conf--');
		const ours = await batch(parts);
		const recorded = recordedTree(fixture.text);
		assert.deepEqual([ours.status, statuses(ours.parts)], [recorded.status, statuses(recorded.parts)]);
		sameShape(recorded.parts[0].parts[0], ours.parts[0].parts[0]);
		// The docs' second operation (an association by $ref) answers no Location; our PATCH names its row.
		sameShape(recorded.parts[0].parts[1], ours.parts[0].parts[1], { ignore: ['$.httpHeaders.location', '$.httpHeaders.odata-entityid'] });
	});

	/** The docs' failing operation: a task subject longer than the column's 200 characters. */
	const tooLong = (t: string) => `${t} ${'x'.repeat(200)}`;

	suite.check('batch-response-error-stop.http', 'sandbox', 'an invalid first operation without continue-on-error: outer 400, one error part with REQ_ID', async (fixture) => {
		const t = tag();
		const parts: string[] = [];
		parts.push('--batch_conf', ...op('POST', 'tasks', { subject: tooLong(t) }));
		for (let i = 2; i <= 3; i++) parts.push('--batch_conf', ...op('POST', 'tasks', { subject: `${t} Task ${i}` }));
		const ours = await batch(parts);
		const recorded = recordedTree(fixture.text);
		assert.deepEqual([ours.status, statuses(ours.parts)], [recorded.status, statuses(recorded.parts)]);
		sameShape(recorded.parts, ours.parts);
		assert.equal(ours.parts[0].body.error.code, recorded.parts[0].body.error.code);
	});

	suite.check('batch-response-continue-on-error.http', 'sandbox', 'the same with Prefer odata.continue-on-error: 200, the error part then two 204s', async (fixture) => {
		const t = tag();
		const parts: string[] = [];
		parts.push('--batch_conf', ...op('POST', 'tasks', { subject: tooLong(t) }));
		for (let i = 2; i <= 3; i++) parts.push('--batch_conf', ...op('POST', 'tasks', { subject: `${t} Task ${i}` }));
		const ours = await batch(parts, 'odata.continue-on-error');
		const recorded = recordedTree(fixture.text);
		assert.deepEqual([ours.status, statuses(ours.parts)], [recorded.status, statuses(recorded.parts)]);
		for (let i = 0; i < 3; i++) sameShape(recorded.parts[i], ours.parts[i]);
	});

	// ------------------------------------------------------------------ webhook

	suite.check('webhook-remoteexecutioncontext-contact-update.json', 'sandbox', 'an Update delivered to a webhook: the same RemoteExecutionContext layout', async (fixture) => {
		const got: Json[] = [];
		const server: Server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
				res.writeHead(200).end();
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const emulator = (await sandbox()).emulators.dynamics as unknown as DynamicsEmulator;
			const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
			const t = tag();
			const id = await createRow('contacts', { firstname: 'James', lastname: t });
			emulator.addSubscription({ url, entity: 'contact', messages: ['Update'], authType: 'WebhookKey', key: 'k', postImage: true });
			assert.equal((await dv('PATCH', `/contacts(${id})`, { body: { firstname: 'Jim' }, headers: { 'If-Match': '*' } })).status, 204);
			await emulator.webhooksIdle();
			const delivered = got.find((c) => c.PrimaryEntityId === id);
			assert.ok(delivered, 'the update was delivered');
			const recorded = fixture.json as Json;
			// Attribute values are the org's columns (user data, any type); the {key,value} layout is compared.
			sameShape(recorded, delivered, { ignore: ['$.InputParameters[].value.Attributes[].value', '$.PostEntityImages[].value.Attributes[].value'] });
			assert.match(delivered.OperationCreatedOn, /^\/Date\(\d+([+-]\d{4})?\)\/$/);
		} finally {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	});
}
