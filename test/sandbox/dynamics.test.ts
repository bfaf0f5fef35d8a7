// Conformance of the Dynamics 365 (Dataverse Web API v9.2) emulator over plain HTTP.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server } from 'node:http';
import { createEmulator, DynamicsEmulator, DEFAULT_APP_USER_ID, UI_USER_ID, appUserIdFor } from '../../sandbox/dynamics';

interface Res {
	status: number;
	headers: Headers;
	body: any;
	text: string;
}

async function receiver(statuses: number[] = []): Promise<{ url: string; got: { url: string; headers: IncomingMessage['headers']; body: any }[]; server: Server }> {
	const got: { url: string; headers: IncomingMessage['headers']; body: any }[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
			res.writeHead(statuses.shift() ?? 200).end();
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/dv`, got, server };
}

/** A 2xx reply (the body shown when not). */
function ok(res: Res): Res {
	assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
	return res;
}

function pick(row: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
	return Object.fromEntries(keys.map((k) => [k, row[k]]));
}

describe('dynamics emulator', () => {
	let emu: DynamicsEmulator;
	let org: string;
	let token = 'any-token';

	async function dv(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Res> {
		const headers: Record<string, string> = { Authorization: `Bearer ${token}`, 'OData-MaxVersion': '4.0', 'OData-Version': '4.0', Accept: 'application/json', ...(opts.headers ?? {}) };
		let body: string | undefined = opts.raw;
		if (opts.body !== undefined) {
			headers['Content-Type'] = 'application/json; charset=utf-8';
			body = JSON.stringify(opts.body);
		}
		const url = path.startsWith('http') ? path : `${org}/api/data/v9.2${path}`;
		const res = await fetch(url, { method, headers, body });
		const text = await res.text();
		let parsed: unknown;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			parsed = undefined;
		}
		return { status: res.status, headers: res.headers, body: parsed, text };
	}

	async function createContact(body: Record<string, unknown>): Promise<string> {
		const r = await dv('POST', '/contacts', { body });
		assert.equal(r.status, 204, r.text);
		return /\(([0-9a-f-]{36})\)$/.exec(r.headers.get('odata-entityid')!)![1];
	}

	before(async () => {
		emu = createEmulator({ webhookRetryDelayScale: 0.001 }) as DynamicsEmulator;
		org = await emu.start();
	});
	after(() => emu.stop());
	beforeEach(() => {
		emu.reset();
		emu.setStrictAuth(false);
		emu.setRateLimits(false);
		emu.setFaults({});
		token = 'any-token';
	});

	test('create 204 + OData-EntityId; return=representation 201; get with $select and etag; 404 error body', async () => {
		const id = await createContact({ firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@example.com' });
		const rep = await dv('POST', '/contacts?$select=fullname,emailaddress1', { body: { firstname: 'Grace', lastname: 'Hopper' }, headers: { Prefer: 'return=representation' } });
		assert.equal(rep.status, 201);
		assert.equal(rep.body.fullname, 'Grace Hopper');
		assert.match(rep.body['@odata.etag'], /^W\/"\d+"$/);
		assert.match(rep.body['@odata.context'], /\$metadata#contacts\(fullname,emailaddress1\)\/\$entity$/);
		const got = await dv('GET', `/contacts(${id})?$select=firstname,emailaddress1`);
		assert.equal(got.status, 200);
		assert.equal(got.body.contactid, id);
		assert.equal(got.body.firstname, 'Ada');
		assert.equal(got.body.lastname, undefined);
		assert.equal(got.headers.get('odata-version'), '4.0');
		const notModified = await dv('GET', `/contacts(${id})`, { headers: { 'If-None-Match': got.body['@odata.etag'] } });
		assert.equal(notModified.status, 304);
		const missing = await dv('GET', '/contacts(00000000-0000-0000-0000-000000000001)');
		assert.equal(missing.status, 404);
		assert.deepEqual(missing.body, { error: { code: '0x80040217', message: 'contact With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist' } });
		const badProp = await dv('POST', '/contacts', { body: { firstname: 'x', email: 'y' } });
		assert.equal(badProp.status, 400);
		assert.equal(badProp.body.error.code, '0x80060888');
		const badType = await dv('POST', '/contacts', { body: { donotemail: 'yes' } });
		assert.equal(badType.status, 400);
		assert.match(badType.body.error.message, /Edm\.Boolean/);
		const badSet = await dv('GET', '/widgets');
		assert.equal(badSet.status, 404);
	});

	test('PATCH: If-Match * → 404 when missing, If-None-Match * → 412, no header upserts, stale etag 412; DELETE 204/404', async () => {
		const id = await createContact({ lastname: 'One' });
		const upd = await dv('PATCH', `/contacts(${id})`, { body: { jobtitle: 'CEO' }, headers: { 'If-Match': '*' } });
		assert.equal(upd.status, 204);
		const rep = await dv('PATCH', `/contacts(${id})`, { body: { jobtitle: 'CTO' }, headers: { 'If-Match': '*', Prefer: 'return=representation' } });
		assert.equal(rep.status, 200);
		assert.equal(rep.body.jobtitle, 'CTO');
		const ghost = 'a0000000-0000-4000-8000-000000000001';
		const noCreate = await dv('PATCH', `/contacts(${ghost})`, { body: { lastname: 'x' }, headers: { 'If-Match': '*' } });
		assert.equal(noCreate.status, 404);
		const noUpdate = await dv('PATCH', `/contacts(${id})`, { body: { lastname: 'x' }, headers: { 'If-None-Match': '*' } });
		assert.equal(noUpdate.status, 412);
		assert.equal(noUpdate.body.error.message, 'A record with matching key values already exists.');
		const stale = await dv('PATCH', `/contacts(${id})`, { body: { lastname: 'x' }, headers: { 'If-Match': 'W/"1"' } });
		assert.equal(stale.status, 412);
		const upsert = await dv('PATCH', `/contacts(${ghost})`, { body: { lastname: 'Upserted' } });
		assert.equal(upsert.status, 204);
		assert.equal((await dv('GET', `/contacts(${ghost})`)).body.lastname, 'Upserted');
		assert.equal((await dv('DELETE', `/contacts(${ghost})`)).status, 204);
		assert.equal((await dv('DELETE', `/contacts(${ghost})`)).status, 404);
		// After a delete the id can be created again by an upsert.
		assert.equal((await dv('PATCH', `/contacts(${ghost})`, { body: { lastname: 'Again' } })).status, 204);
		assert.equal((await dv('GET', `/contacts(${ghost})`)).body.lastname, 'Again');
	});

	test('alternate key: PATCH contacts(emailaddress1=...) upserts, quotes doubled; key must be defined; keys unique', async () => {
		const created = await dv('PATCH', `/contacts(emailaddress1='o''brien@example.com')`, { body: { lastname: "O'Brien" } });
		assert.equal(created.status, 204);
		const id = /\(([0-9a-f-]{36})\)$/.exec(created.headers.get('odata-entityid')!)![1];
		const again = await dv('PATCH', `/contacts(emailaddress1='O''Brien@example.com')`, { body: { jobtitle: 'Chef' }, headers: { Prefer: 'return=representation' } });
		assert.equal(again.status, 200);
		assert.equal(again.body.contactid, id);
		assert.equal(again.body.emailaddress1, "o'brien@example.com");
		const read = await dv('GET', `/contacts(emailaddress1='o''brien@example.com')`);
		assert.equal(read.body.jobtitle, 'Chef');
		const badKey = await dv('PATCH', `/contacts(lastname='x')`, { body: { jobtitle: 'y' } });
		assert.equal(badKey.status, 400);
		const dup = await dv('POST', '/contacts', { body: { lastname: 'Dup', emailaddress1: "O'BRIEN@example.com" } });
		assert.equal(dup.status, 412);
		const account = await dv('PATCH', `/accounts(accountnumber='0003')`, { body: { name: 'Acme' } });
		assert.equal(account.status, 204);
	});

	test('$filter subset (eq with doubled quotes, ne, gt, contains, startswith, and/or), $orderby, $top, $count, lookups via @odata.bind', async () => {
		const acc = await dv('POST', '/accounts', { body: { name: 'Acme' }, headers: { Prefer: 'return=representation' } });
		const accId = acc.body.accountid;
		await createContact({ firstname: 'Pat', lastname: "O'Brien", emailaddress1: 'pat@acme.io', telephone1: '+1 415 555 0100', 'parentcustomerid_account@odata.bind': `/accounts(${accId})` });
		await createContact({ firstname: 'Sam', lastname: 'Smith', emailaddress1: 'sam@globex.io', mobilephone: '555-0199' });
		await createContact({ firstname: 'Alex', lastname: 'Able', emailaddress1: 'alex@acme.io' });
		const q = async (filter: string, extra = ''): Promise<any[]> => {
			const r = await dv('GET', `/contacts?$select=lastname&$filter=${encodeURIComponent(filter)}${extra}`);
			assert.equal(r.status, 200, r.text);
			return r.body.value.map((v: any) => v.lastname);
		};
		assert.deepEqual(await q("lastname eq 'O''Brien'"), ["O'Brien"]);
		assert.deepEqual(await q("emailaddress1 eq 'SAM@globex.io'"), ['Smith']);
		assert.deepEqual(await q("telephone1 eq '+1 415 555 0100' or mobilephone eq '555-0199'"), ["O'Brien", 'Smith']);
		assert.deepEqual(await q("contains(emailaddress1,'acme') and lastname ne 'Able'"), ["O'Brien"]);
		assert.deepEqual(await q("startswith(firstname,'Al')"), ['Able']);
		assert.deepEqual(await q(`_parentcustomerid_value eq ${accId}`), ["O'Brien"]);
		assert.deepEqual(await q("contains(emailaddress1,'.io')", '&$orderby=lastname desc&$top=2'), ['Smith', "O'Brien"]);
		const counted = await dv('GET', `/contacts?$count=true&$filter=${encodeURIComponent("contains(emailaddress1,'acme')")}`);
		assert.equal(counted.body['@odata.count'], 2);
		const badField = await dv('GET', `/contacts?$filter=${encodeURIComponent("nope eq 'x'")}`);
		assert.equal(badField.status, 400);
		const badSyntax = await dv('GET', `/contacts?$filter=${encodeURIComponent('lastname eq O')}`);
		assert.equal(badSyntax.status, 400);
		const ann = await dv('GET', `/contacts?$select=_parentcustomerid_value&$filter=${encodeURIComponent(`_parentcustomerid_value eq ${accId}`)}`, { headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' } });
		assert.equal(ann.body.value[0]['_parentcustomerid_value@OData.Community.Display.V1.FormattedValue'], 'Acme');
		const bindMissing = await dv('POST', '/contacts', { body: { lastname: 'x', 'parentcustomerid_account@odata.bind': '/accounts(00000000-0000-0000-0000-000000000009)' } });
		assert.equal(bindMissing.status, 404);
		assert.equal((await dv('GET', '/contacts?$expand=parentcustomerid_account')).status, 501);
	});

	test('paging: Prefer odata.maxpagesize → @odata.nextLink with $skiptoken, followed verbatim', async () => {
		const batch = Array.from({ length: 25 }, (_, i) => createContact({ lastname: `P${String(i).padStart(2, '0')}` }));
		await Promise.all(batch);
		const names: string[] = [];
		let url: string | undefined = `${org}/api/data/v9.2/contacts?$select=lastname`;
		let pages = 0;
		while (url) {
			const r: Res = await dv('GET', url, { headers: { Prefer: 'odata.maxpagesize=10' } });
			assert.equal(r.status, 200);
			names.push(...r.body.value.map((v: any) => v.lastname));
			url = r.body['@odata.nextLink'];
			if (url) assert.match(url, /\$skiptoken=/);
			pages++;
		}
		assert.equal(pages, 3);
		assert.equal(new Set(names).size, 25);
		const sorted: string[] = [];
		url = `${org}/api/data/v9.2/contacts?$select=lastname&$orderby=lastname desc`;
		while (url) {
			const r: Res = await dv('GET', url, { headers: { Prefer: 'odata.maxpagesize=10' } });
			sorted.push(...r.body.value.map((v: any) => v.lastname));
			url = r.body['@odata.nextLink'];
		}
		assert.equal(sorted[0], 'P24');
		assert.equal(sorted[24], 'P00');
	});

	test('delta: modifiedon gt filter with $orderby, and change tracking with deltaLink and $deletedEntity', async () => {
		const a = await createContact({ lastname: 'A' });
		const b = await createContact({ lastname: 'B' });
		const init = await dv('GET', '/contacts?$select=lastname', { headers: { Prefer: 'odata.track-changes' } });
		assert.equal(init.status, 200);
		assert.equal(init.headers.get('preference-applied'), 'odata.track-changes');
		assert.equal(init.body.value.length, 2);
		const deltaLink = init.body['@odata.deltaLink'];
		assert.match(deltaLink, /\$deltatoken=\d+(!|%21)/);
		const rejected = await dv('GET', `/contacts?$select=lastname&$filter=${encodeURIComponent("lastname eq 'A'")}`, { headers: { Prefer: 'odata.track-changes' } });
		assert.equal(rejected.status, 400);
		await new Promise((r) => setTimeout(r, 1100));
		const mark = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace('.000Z', 'Z');
		await dv('PATCH', `/contacts(${a})`, { body: { jobtitle: 'X' }, headers: { 'If-Match': '*' } });
		await dv('DELETE', `/contacts(${b})`);
		const c = await createContact({ lastname: 'C' });
		const delta = await dv('GET', deltaLink, { headers: { Prefer: 'odata.track-changes' } });
		assert.equal(delta.status, 200);
		const ids = delta.body.value.map((v: any) => v.contactid ?? `deleted:${v.id}`);
		assert.deepEqual(ids, [a, `deleted:${b}`, c]);
		const del = delta.body.value[1];
		assert.equal(del.reason, 'deleted');
		assert.match(del['@odata.context'], /\$metadata#contacts\/\$deletedEntity$/);
		const again = await dv('GET', delta.body['@odata.deltaLink']);
		assert.deepEqual(again.body.value, []);
		const mod = await dv('GET', `/contacts?$select=lastname&$filter=${encodeURIComponent(`modifiedon gt ${mark}`)}&$orderby=modifiedon asc`);
		assert.deepEqual(mod.body.value.map((v: any) => v.lastname), ['A', 'C']);
		const badToken = await dv('GET', '/contacts?$deltatoken=garbage');
		assert.equal(badToken.status, 400);
	});

	test('change tracking pages with odata.maxpagesize: nextLinks, then the deltaLink on the last page', async () => {
		const ids: string[] = [];
		for (let i = 0; i < 25; i++) ids.push(await createContact({ lastname: `CT${i}` }));
		const walk = async (start: string): Promise<{ rows: any[]; pages: number; delta: string }> => {
			const rows: any[] = [];
			let url: string | undefined = start;
			let pages = 0;
			let delta = '';
			while (url) {
				const r: Res = await dv('GET', url, { headers: { Prefer: 'odata.track-changes,odata.maxpagesize=10' } });
				assert.equal(r.status, 200, r.text);
				rows.push(...r.body.value);
				pages++;
				url = r.body['@odata.nextLink'];
				if (!url) delta = r.body['@odata.deltaLink'];
				else assert.equal(r.body['@odata.deltaLink'], undefined);
			}
			return { rows, pages, delta };
		};
		const first = await walk(`${org}/api/data/v9.2/contacts?$select=lastname`);
		assert.equal(first.rows.length, 25);
		assert.equal(first.pages, 3);
		for (const id of ids.slice(0, 12)) await dv('PATCH', `/contacts(${id})`, { body: { jobtitle: 'x' }, headers: { 'If-Match': '*' } });
		const second = await walk(first.delta);
		assert.deepEqual(second.rows.map((r) => r.contactid), ids.slice(0, 12));
		assert.equal(second.pages, 2);
		const third = await walk(second.delta);
		assert.equal(third.rows.length, 0);
	});

	test('$batch: changesets are atomic, Content-ID references, GETs outside changesets, continue-on-error, 1000-op cap', async () => {
		const body = [
			'--batch_1',
			'Content-Type: multipart/mixed; boundary=changeset_1',
			'',
			'--changeset_1',
			'Content-Type: application/http',
			'Content-Transfer-Encoding: binary',
			'Content-ID: 1',
			'',
			`POST ${org}/api/data/v9.2/accounts HTTP/1.1`,
			'Content-Type: application/json; type=entry',
			'',
			'{"name":"Batch Co"}',
			'--changeset_1',
			'Content-Type: application/http',
			'Content-Transfer-Encoding: binary',
			'Content-ID: 2',
			'',
			'POST contacts HTTP/1.1',
			'Content-Type: application/json; type=entry',
			'',
			'{"lastname":"Batchy","parentcustomerid_account@odata.bind":"$1"}',
			'--changeset_1--',
			'--batch_1',
			'Content-Type: application/http',
			'Content-Transfer-Encoding: binary',
			'',
			'GET contacts?$select=lastname HTTP/1.1',
			'Accept: application/json',
			'',
			'--batch_1--',
			'',
		].join('\r\n');
		const r = await dv('POST', '/$batch', { raw: body, headers: { 'Content-Type': 'multipart/mixed; boundary=batch_1' } });
		assert.equal(r.status, 200);
		assert.match(r.headers.get('content-type')!, /^multipart\/mixed; boundary=batchresponse_/);
		assert.equal((r.text.match(/HTTP\/1\.1 204 No Content/g) ?? []).length, 2);
		assert.match(r.text, /Content-ID: 2/);
		assert.match(r.text, /"lastname":"Batchy"/);
		const contact = (await dv('GET', `/contacts?$filter=${encodeURIComponent("lastname eq 'Batchy'")}`)).body.value[0];
		assert.ok(contact._parentcustomerid_value);

		// A failing changeset rolls back its earlier operations.
		const failing = [
			'--b2',
			'Content-Type: multipart/mixed; boundary=cs2',
			'',
			'--cs2',
			'Content-Type: application/http',
			'',
			'POST contacts HTTP/1.1',
			'Content-Type: application/json',
			'',
			'{"lastname":"Rolled back"}',
			'--cs2',
			'Content-Type: application/http',
			'',
			'POST contacts HTTP/1.1',
			'Content-Type: application/json',
			'',
			'{"nosuchfield":1}',
			'--cs2--',
			'--b2',
			'Content-Type: application/http',
			'',
			'GET contacts HTTP/1.1',
			'',
			'--b2--',
			'',
		].join('\r\n');
		const f = await dv('POST', '/$batch', { raw: failing, headers: { 'Content-Type': 'multipart/mixed; boundary=b2' } });
		// A batch that stops on an error answers 400 as a whole (dataverse/batch-response-error-stop.http).
		assert.equal(f.status, 400);
		assert.match(f.text, /HTTP\/1\.1 400 Bad Request/);
		assert.doesNotMatch(f.text, /HTTP\/1\.1 200 OK/, 'stops after the failure without continue-on-error');
		const rolled = await dv('GET', `/contacts?$filter=${encodeURIComponent("lastname eq 'Rolled back'")}`);
		assert.deepEqual(rolled.body.value, []);
		const cont = await dv('POST', '/$batch', { raw: failing, headers: { 'Content-Type': 'multipart/mixed; boundary=b2', Prefer: 'odata.continue-on-error' } });
		assert.match(cont.text, /HTTP\/1\.1 200 OK/);

		const parts: string[] = [];
		for (let i = 0; i < 1001; i++) parts.push('--b3', 'Content-Type: application/http', '', 'GET contacts HTTP/1.1', '');
		parts.push('--b3--', '');
		const tooMany = await dv('POST', '/$batch', { raw: parts.join('\r\n'), headers: { 'Content-Type': 'multipart/mixed; boundary=b3' } });
		assert.equal(tooMany.status, 400);
		assert.match(tooMany.body.error.message, /1000/);
	});

	test('Merge: subordinate deactivated (statecode 1), children re-parented, UpdateContent applied', async () => {
		const t = await createContact({ lastname: 'Target', emailaddress1: 't@x.io' });
		const s = await createContact({ lastname: 'Sub', jobtitle: 'CTO' });
		await dv('POST', '/tasks', { body: { subject: 'Call', 'regardingobjectid_contact_task@odata.bind': `/contacts(${s})` } });
		const r = await dv('POST', '/Merge', {
			body: {
				Target: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: t },
				Subordinate: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: s },
				UpdateContent: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', jobtitle: 'CTO' },
				PerformParentingChecks: false,
			},
		});
		assert.equal(r.status, 204, r.text);
		const sub = (await dv('GET', `/contacts(${s})`)).body;
		assert.equal(sub.statecode, 1);
		assert.equal(sub.merged, true);
		assert.equal(sub._masterid_value, t);
		assert.equal((await dv('GET', `/contacts(${t})`)).body.jobtitle, 'CTO');
		const tasks = await dv('GET', '/tasks?$select=_regardingobjectid_value');
		assert.equal(tasks.body.value[0]._regardingobjectid_value, t);
		const bad = await dv('POST', '/Merge', { body: { Target: { '@odata.type': 'Microsoft.Dynamics.CRM.task', activityid: t }, Subordinate: { '@odata.type': 'Microsoft.Dynamics.CRM.task', activityid: s } } });
		assert.equal(bad.status, 400);
	});

	async function createRow(set: string, body: Record<string, unknown>): Promise<string> {
		const r = await dv('POST', `/${set}`, { body });
		assert.equal(r.status, 204, r.text);
		return /\(([0-9a-f-]{36})\)$/.exec(r.headers.get('odata-entityid')!)![1];
	}

	test('QualifyLead: account, contact and opportunity from the lead with originatingleadid; lead Qualified; crmbaseentity collection; webhooks', async () => {
		const rcv = await receiver();
		try {
			const leadId = await createRow('leads', { subject: 'Engines for Ada', firstname: 'Ada', lastname: 'Lovelace', companyname: 'Analytical Engines', emailaddress1: 'ada@engines.example', telephone1: '+44 20 7946 0000', jobtitle: 'Countess', address1_city: 'London', estimatedamount: 5000 });
			emu.addSubscription({ url: rcv.url, entity: '*', authType: 'HttpHeader', values: { k: 'v' } });
			const r = await dv('POST', `/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, { body: { CreateAccount: true, CreateContact: true, CreateOpportunity: true, Status: 3 } });
			assert.equal(r.status, 200, r.text);
			assert.equal(r.body['@odata.context'], `${org}/api/data/v9.2/$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)`);
			assert.deepEqual(r.body.value.map((v: any) => v['@odata.type']), ['#Microsoft.Dynamics.CRM.account', '#Microsoft.Dynamics.CRM.contact', '#Microsoft.Dynamics.CRM.opportunity']);
			const [{ accountid }, { contactid }, { opportunityid }] = r.body.value;
			const account = (await dv('GET', `/accounts(${accountid})`)).body;
			assert.equal(account.name, 'Analytical Engines');
			assert.equal(account.address1_city, 'London');
			assert.equal(account._originatingleadid_value, leadId);
			const contact = (await dv('GET', `/contacts(${contactid})`)).body;
			assert.deepEqual([contact.firstname, contact.lastname, contact.emailaddress1, contact.telephone1, contact.jobtitle], ['Ada', 'Lovelace', 'ada@engines.example', '+44 20 7946 0000', 'Countess']);
			assert.equal(contact._parentcustomerid_value, accountid);
			assert.equal(contact._originatingleadid_value, leadId);
			const opp = (await dv('GET', `/opportunities(${opportunityid})`, { headers: { Prefer: 'odata.include-annotations="*"' } })).body;
			assert.equal(opp.name, 'Engines for Ada');
			assert.equal(opp.estimatedvalue, 5000);
			assert.equal(opp.statecode, 0);
			assert.equal(opp._customerid_value, accountid);
			assert.equal(opp['_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'], 'account');
			assert.equal(opp._parentcontactid_value, contactid);
			assert.equal(opp._originatingleadid_value, leadId);
			const lead = (await dv('GET', `/leads(${leadId})`)).body;
			assert.equal(lead.statecode, 1);
			assert.equal(lead.statuscode, 3);
			assert.equal(lead._qualifyingopportunityid_value, opportunityid);
			const rows = await dv('GET', `/contacts?$filter=_originatingleadid_value eq ${leadId}&$select=fullname`);
			assert.equal(rows.body.value.length, 1);

			await emu.webhooksIdle();
			assert.deepEqual(rcv.got.map((g) => [g.body.MessageName, g.body.PrimaryEntityName]), [['Create', 'account'], ['Create', 'contact'], ['Create', 'opportunity'], ['Update', 'lead']]);
			const leadTarget = Object.fromEntries(rcv.got[3].body.InputParameters[0].value.Attributes.map((a: any) => [a.key, a.value]));
			assert.deepEqual(leadTarget.statecode, { __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts', Value: 1 });
			assert.equal(leadTarget.statuscode.Value, 3);

			// Qualifying a lead that is not open: LeadAlreadyInClosedState.
			const again = await dv('POST', `/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, { body: { CreateAccount: false, CreateContact: false, CreateOpportunity: false, Status: 3 } });
			assert.equal(again.status, 400);
			assert.deepEqual(again.body, { error: { code: '0x80040519', message: 'The lead is already closed.' } });
		} finally {
			rcv.server.close();
		}
	});

	test('QualifyLead into an existing contact and account: parentcontactid/parentaccountid binds, nothing created; errors leave no trace', async () => {
		const accountId = await createRow('accounts', { name: 'Existing Co' });
		const contactId = await createRow('contacts', { lastname: 'Known', 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` });
		const leadId = await createRow('leads', { subject: 'Known again', lastname: 'Known', companyname: 'Existing Co' });
		const link = await dv('PATCH', `/leads(${leadId})`, { body: { 'parentcontactid@odata.bind': `/contacts(${contactId})`, 'parentaccountid@odata.bind': `/accounts(${accountId})` }, headers: { 'If-Match': '*' } });
		assert.equal(link.status, 204, link.text);
		const before = (await dv('GET', `/leads(${leadId})?$select=_parentcontactid_value,_parentaccountid_value`)).body;
		assert.deepEqual([before._parentcontactid_value, before._parentaccountid_value], [contactId, accountId]);

		const bad = async (body: unknown, status: number, code: string) => {
			const r = await dv('POST', `/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, { body });
			assert.equal(r.status, status, r.text);
			assert.equal(r.body.error.code, code, r.text);
			return r;
		};
		const wrongStatus = await bad({ CreateAccount: true, CreateContact: true, CreateOpportunity: true, Status: 4 }, 400, '0x80048408');
		assert.equal(wrongStatus.body.error.message, `4 is not a valid status code for state code LeadState.Qualified on lead with Id ${leadId}.`);
		await bad({ CreateContact: false, CreateOpportunity: false, Status: 3 }, 400, '0x80048d19');
		await bad({ CreateAccount: false, CreateContact: false, CreateOpportunity: true, Status: 3, OpportunityCustomerId: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: '00000000-0000-0000-0000-000000000001' } }, 404, '0x80040217');
		const unknown = await dv('POST', '/leads(00000000-0000-0000-0000-000000000002)/Microsoft.Dynamics.CRM.QualifyLead', { body: { CreateAccount: false, CreateContact: false, CreateOpportunity: false, Status: 3 } });
		assert.equal(unknown.status, 404);
		assert.equal((await dv('GET', `/leads(${leadId})`)).body.statecode, 0, 'failed calls change nothing');
		assert.equal((await dv('GET', '/accounts?$count=true')).body.value.length, 1);

		const ok = await dv('POST', `/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, { body: { CreateAccount: false, CreateContact: false, CreateOpportunity: true, Status: -1, OpportunityCustomerId: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: contactId } } });
		assert.equal(ok.status, 200, ok.text);
		assert.equal(ok.body.value.length, 1);
		const opp = (await dv('GET', `/opportunities(${ok.body.value[0].opportunityid})`)).body;
		assert.equal(opp._customerid_value, contactId);
		assert.equal(opp._parentaccountid_value, accountId);
		assert.equal(opp._parentcontactid_value, contactId);
		const lead = (await dv('GET', `/leads(${leadId})`)).body;
		assert.deepEqual([lead.statecode, lead.statuscode], [1, 3]);
		assert.equal((await dv('GET', '/contacts')).body.value.length, 1);
		assert.equal((await dv('GET', '/accounts')).body.value.length, 1);
	});

	test('WinOpportunity / LoseOpportunity: statecode 1 or 2 with the status given; already closed 0x80040515; wrong status 0x80048408', async () => {
		const won = await createRow('opportunities', { name: 'Win me', estimatedvalue: 100 });
		const lost = await createRow('opportunities', { name: 'Lose me' });
		const w = await dv('POST', '/WinOpportunity', { body: { Status: 3, OpportunityClose: { subject: 'Won!', actualrevenue: 5000, actualend: '2025-06-30', 'opportunityid@odata.bind': `/opportunities(${won})` } } });
		assert.equal(w.status, 204, w.text);
		const wo = (await dv('GET', `/opportunities(${won})`)).body;
		assert.deepEqual([wo.statecode, wo.statuscode, wo.actualvalue, wo.actualclosedate], [1, 3, 5000, '2025-06-30']);
		const twice = await dv('POST', '/WinOpportunity', { body: { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${won})` } } });
		assert.equal(twice.status, 400);
		assert.deepEqual(twice.body.error, { code: '0x80040515', message: 'The opportunity is already closed.' });
		const wrong = await dv('POST', '/LoseOpportunity', { body: { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${lost})` } } });
		assert.equal(wrong.status, 400);
		assert.equal(wrong.body.error.code, '0x80048408');
		const l = await dv('POST', '/LoseOpportunity', { body: { Status: 5, OpportunityClose: { subject: 'Lost', 'opportunityid@odata.bind': `/opportunities(${lost})` } } });
		assert.equal(l.status, 204, l.text);
		const lo = (await dv('GET', `/opportunities(${lost})`)).body;
		assert.deepEqual([lo.statecode, lo.statuscode], [2, 5]);
		assert.match(lo.actualclosedate, /^\d{4}-\d{2}-\d{2}$/);
		assert.equal((await dv('POST', '/WinOpportunity', { body: { Status: 3, OpportunityClose: {} } })).status, 400);
	});

	test('opportunities close only through Win/LoseOpportunity: statecode 1/2 in a POST or PATCH is 400 0x80100005; reopening is a PATCH', async () => {
		const refused = (state: number): { code: string; message: string } => {
			const name = state === 1 ? 'won' : 'lost';
			return { code: '0x80100005', message: `This message can not be used to set the state of opportunity to ${name}. In order to set state of opportunity to ${name}, use the ${name} message instead.` };
		};
		for (const state of [1, 2]) {
			const created = await dv('POST', '/opportunities', { body: { name: `Closed on create ${state}`, statecode: state, statuscode: state === 1 ? 3 : 4 } });
			assert.equal(created.status, 400);
			assert.deepEqual(created.body.error, refused(state));
		}
		assert.deepEqual((await dv('GET', '/opportunities')).body.value, [], 'nothing created');
		const id = await createRow('opportunities', { name: 'Plain', estimatedvalue: 10 });
		const patched = await dv('PATCH', `/opportunities(${id})`, { body: { name: 'Renamed', statecode: 1 }, headers: { 'If-Match': '*' } });
		assert.equal(patched.status, 400);
		assert.deepEqual(patched.body.error, refused(1));
		assert.equal((await dv('GET', `/opportunities(${id})`)).body.name, 'Plain', 'the refused update wrote nothing');
		const upsert = await dv('PATCH', '/opportunities(00000000-0000-0000-0000-0000000000aa)', { body: { name: 'Upserted lost', statecode: 2 } });
		assert.deepEqual(upsert.body.error, refused(2));
		// A status reason of another state is refused too.
		const status = await dv('PATCH', `/opportunities(${id})`, { body: { statuscode: 3 }, headers: { 'If-Match': '*' } });
		assert.equal(status.body.error.code, '0x80048408');
		assert.match(status.body.error.message, /^3 is not a valid status code for state code OpportunityState\.Open on opportunity with Id /);
		ok(await dv('PATCH', `/opportunities(${id})`, { body: { statuscode: 2 }, headers: { 'If-Match': '*' } }));

		// Closed through the action, reopened by a plain update (the state's default status unless given).
		assert.equal((await dv('POST', '/LoseOpportunity', { body: { Status: 4, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})` } } })).status, 204);
		ok(await dv('PATCH', `/opportunities(${id})`, { body: { statecode: 0 }, headers: { 'If-Match': '*' } }));
		assert.deepEqual(pick((await dv('GET', `/opportunities(${id})`)).body, 'statecode', 'statuscode'), { statecode: 0, statuscode: 1 });
		assert.equal((await dv('POST', '/WinOpportunity', { body: { Status: -1, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})` } } })).status, 204);
		ok(await dv('PATCH', `/opportunities(${id})`, { body: { statecode: 0, statuscode: 2 }, headers: { 'If-Match': '*' } }));
		assert.deepEqual(pick((await dv('GET', `/opportunities(${id})`)).body, 'statecode', 'statuscode'), { statecode: 0, statuscode: 2 });

		// In a changeset: create, then close by Content-ID; a refused close rolls the create back.
		const changeset = (name: string, status: number): string =>
			[
				'--b', 'Content-Type: multipart/mixed; boundary=cs', '',
				'--cs', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', 'Content-ID: 1', '',
				'POST opportunities HTTP/1.1', 'Content-Type: application/json', '', JSON.stringify({ name }),
				'--cs', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', 'Content-ID: 2', '',
				'POST WinOpportunity HTTP/1.1', 'Content-Type: application/json', '', JSON.stringify({ Status: status, OpportunityClose: { subject: 'Won', 'opportunityid@odata.bind': '$1' } }),
				'--cs--', '--b--', '',
			].join('\r\n');
		const good = await dv('POST', '/$batch', { raw: changeset('Won in one go', 3), headers: { 'Content-Type': 'multipart/mixed; boundary=b' } });
		assert.equal((good.text.match(/HTTP\/1\.1 204 No Content/g) ?? []).length, 2, good.text);
		const wonRow = (await dv('GET', `/opportunities?$filter=${encodeURIComponent("name eq 'Won in one go'")}`)).body.value[0];
		assert.deepEqual([wonRow.statecode, wonRow.statuscode], [1, 3]);
		const bad = await dv('POST', '/$batch', { raw: changeset('Never kept', 4), headers: { 'Content-Type': 'multipart/mixed; boundary=b' } });
		assert.match(bad.text, /0x80048408/);
		assert.deepEqual((await dv('GET', `/opportunities?$filter=${encodeURIComponent("name eq 'Never kept'")}`)).body.value, []);
	});

	test('currencies: transactioncurrencies (USD base, EUR) and the organization row, read-only; admin adds (201), changes (200) and deactivates them', async () => {
		const active = await dv('GET', `/transactioncurrencies?$select=isocurrencycode,currencyname,exchangerate&$filter=${encodeURIComponent('statecode eq 0')}&$orderby=isocurrencycode`);
		assert.deepEqual(active.body.value.map((r: Record<string, unknown>) => [r.isocurrencycode, r.currencyname, r.exchangerate]), [['EUR', 'Euro', 0.92], ['USD', 'US Dollar', 1]]);
		const organizations = (await dv('GET', '/organizations')).body.value;
		assert.equal(organizations.length, 1);
		const usd = active.body.value.find((r: Record<string, unknown>) => r.isocurrencycode === 'USD').transactioncurrencyid;
		assert.equal(organizations[0]._basecurrencyid_value, usd);
		assert.equal((await dv('PATCH', `/transactioncurrencies(${usd})`, { body: { statecode: 1 } })).status, 405);
		const post = async (body: unknown) => {
			const res = await fetch(`${org}/__admin/transactioncurrencies`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
			return { status: res.status, body: (await res.json()) as Record<string, unknown> };
		};
		const added = await post({ isocurrencycode: 'sek', currencyname: 'Swedish Krona', currencysymbol: 'kr', exchangerate: 10.5 });
		assert.equal(added.status, 201);
		assert.deepEqual(pick(added.body, 'isocurrencycode', 'statecode', 'statuscode', 'currencyprecision'), { isocurrencycode: 'SEK', statecode: 0, statuscode: 1, currencyprecision: 2 });
		const off = await post({ isocurrencycode: 'SEK', statecode: 1 });
		assert.equal(off.status, 200);
		assert.deepEqual(pick(off.body, 'transactioncurrencyid', 'statecode', 'statuscode'), { transactioncurrencyid: added.body.transactioncurrencyid, statecode: 1, statuscode: 2 });
		assert.equal((await post({ isocurrencycode: 'Euro' })).status, 400);
		assert.equal((await post({ isocurrencycode: 'USD', statecode: 1 })).status, 400, 'the base currency stays active');
		emu.reset();
		assert.deepEqual((await dv('GET', '/transactioncurrencies?$select=isocurrencycode')).body.value.map((r: Record<string, unknown>) => r.isocurrencycode).sort(), ['EUR', 'USD'], 'a reset brings back a new environment');
	});

	test('activities and notes: tasks, phonecalls, appointments, annotations', async () => {
		const c = await createContact({ lastname: 'Who' });
		for (const [set, body] of [
			['tasks', { subject: 'T', scheduledend: '2025-02-01T10:00:00Z', [`regardingobjectid_contact_task@odata.bind`]: `/contacts(${c})` }],
			['phonecalls', { subject: 'P', phonenumber: '555', directioncode: true, [`regardingobjectid_contact_phonecall@odata.bind`]: `/contacts(${c})` }],
			['appointments', { subject: 'A', scheduledstart: '2025-02-01T10:00:00Z', scheduledend: '2025-02-01T11:00:00Z' }],
			['annotations', { subject: 'N', notetext: 'Met', 'objectid_contact@odata.bind': `/contacts(${c})` }],
		] as const) {
			const r = await dv('POST', `/${set}`, { body, headers: { Prefer: 'return=representation' } });
			assert.equal(r.status, 201, `${set}: ${r.text}`);
		}
		const badDate = await dv('POST', '/tasks', { body: { subject: 'x', scheduledend: 'tomorrow' } });
		assert.equal(badDate.status, 400);
		assert.equal((await dv('GET', '/annotations?$select=notetext')).body.value[0].notetext, 'Met');
	});

	test('webhooks: RemoteExecutionContext, WCF dates, x-ms-dynamics headers, key header or ?code=, InitiatingUserId, one retry on 503', async () => {
		const rcv = await receiver([503]);
		const rcvKey = await receiver();
		try {
			emu.addSubscription({ url: rcv.url, entity: 'contact', authType: 'HttpHeader', values: { 'x-sync-key': 'k1' }, preImage: true });
			// The second subscription goes through the admin API over HTTP.
			const adm = await fetch(`${org}/__admin/webhooks/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rcvKey.url, entity: '*', messages: ['Delete'], authType: 'WebhookKey', key: 'secret-code' }) });
			assert.equal(adm.status, 201);
			const badAdm = await fetch(`${org}/__admin/webhooks/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rcvKey.url, authType: 'WebhookKey' }) });
			assert.equal(badAdm.status, 400);
			// Our app's own writes carry its application user id; a UI edit another user id.
			const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sync-app', client_secret: 's', scope: `${org}/.default` });
			const tok = (await (await fetch(`${org}/tenant-1/oauth2/v2.0/token`, { method: 'POST', body: form })).json()) as any;
			token = tok.access_token;
			const me = (await dv('GET', '/WhoAmI')).body.UserId;
			assert.equal(me, appUserIdFor('sync-app'));
			const id = await createContact({ firstname: 'James', lastname: 'Kirk' });
			await dv('PATCH', `/contacts(${id})`, { body: { firstname: 'Jim' }, headers: { 'If-Match': '*', 'x-sandbox-change-source': 'app' } });
			await dv('DELETE', `/contacts(${id})`);
			// The admin "UI" route acts as the interactive user too.
			const ui = await fetch(`${org}/__admin/ui/api/data/v9.2/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'From the UI' }) });
			assert.equal(ui.status, 204);
			const uiRow = await dv('GET', `${ui.headers.get('odata-entityid')}?$select=_modifiedby_value`);
			assert.equal(uiRow.body._modifiedby_value, UI_USER_ID);
			await emu.webhooksIdle();
			// Create was answered 503 once, then retried.
			assert.equal(rcv.got.length, 4);
			const byMsg = (m: string) => rcv.got.filter((g) => g.body.MessageName === m);
			const [create1, create2] = byMsg('Create');
			const [update] = byMsg('Update');
			const [del] = byMsg('Delete');
			assert.equal(create2.body.OperationId, create1.body.OperationId, 'the retry re-sends the same context');
			assert.equal(create1.headers['x-sync-key'], 'k1');
			assert.equal(create1.headers['x-ms-dynamics-entity-name'], 'contact');
			assert.equal(create1.headers['x-ms-dynamics-request-name'], 'Create');
			assert.ok(create1.headers['x-ms-dynamics-organization']);
			assert.ok(create1.headers['x-ms-correlation-request-id']);
			assert.ok(create1.headers['x-request-id']);
			const ctx = create1.body;
			assert.equal(ctx.MessageName, 'Create');
			assert.equal(ctx.InitiatingUserId, me);
			assert.equal(ctx.PrimaryEntityId, id);
			assert.equal(ctx.PrimaryEntityName, 'contact');
			assert.equal(ctx.Stage, 40);
			assert.deepEqual(ctx.OutputParameters, [{ key: 'id', value: id }]);
			const target = ctx.InputParameters[0].value;
			assert.equal(target.__type, 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts');
			const attrs = Object.fromEntries(target.Attributes.map((a: any) => [a.key, a.value]));
			assert.equal(attrs.firstname, 'James');
			assert.match(attrs.modifiedon, /^\/Date\(\d+\)\/$/);
			assert.equal(attrs.ownerid.__type, 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts');
			assert.match(ctx.OperationCreatedOn, /^\/Date\(\d+\)\/$/);
			assert.equal(update.body.MessageName, 'Update');
			assert.equal(update.body.InitiatingUserId, UI_USER_ID);
			const updAttrs = update.body.InputParameters[0].value.Attributes.map((a: any) => a.key);
			assert.ok(updAttrs.includes('firstname') && !updAttrs.includes('lastname'), 'Update target holds only written attributes');
			assert.equal(update.body.PreEntityImages[0].value.Attributes.find((a: any) => a.key === 'firstname').value, 'James');
			assert.equal(del.body.MessageName, 'Delete');
			assert.equal(del.body.InputParameters[0].value.__type, 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts');
			assert.equal(rcvKey.got.length, 1);
			assert.match(rcvKey.got[0].url, /\?code=secret-code$/);
			const attempts = emu.deliveries().filter((d) => d.url.startsWith(rcv.url));
			assert.deepEqual(attempts.map((d) => [d.attempt, d.status]).sort(), [[1, 200], [1, 200], [1, 503], [2, 200]]);
		} finally {
			rcv.server.close();
			rcvKey.server.close();
		}
	});

	test('webhooks over 256 KB: x-ms-dynamics-msg-size-exceeded and no InputParameters or images', async () => {
		const rcv = await receiver();
		try {
			emu.addSubscription({ url: rcv.url, entity: 'annotation', messages: ['Create'], authType: 'HttpQueryString', values: { k: 'v' } });
			await dv('POST', '/annotations', { body: { subject: 'big', notetext: 'x'.repeat(300 * 1024) } });
			await emu.webhooksIdle();
			assert.equal(rcv.got.length, 1);
			assert.equal(rcv.got[0].headers['x-ms-dynamics-msg-size-exceeded'], 'true');
			assert.deepEqual(rcv.got[0].body.InputParameters, []);
			assert.deepEqual(rcv.got[0].body.PostEntityImages, []);
			assert.match(rcv.got[0].url, /\?k=v$/);
		} finally {
			rcv.server.close();
		}
	});

	test('auth: 401 with WWW-Authenticate and empty body; client credentials token; strict mode; expiry', async () => {
		const anon = await fetch(`${org}/api/data/v9.2/contacts`);
		assert.equal(anon.status, 401);
		assert.equal(await anon.text(), '');
		assert.match(anon.headers.get('www-authenticate')!, /^Bearer authorization_uri=/);
		const bad = await fetch(`${org}/t/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'a', client_secret: 'b', scope: 'nope' }) });
		assert.equal(bad.status, 400);
		assert.equal(((await bad.json()) as any).error, 'invalid_scope');
		const ok = await fetch(`${org}/t/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'a', client_secret: 'b', scope: `${org}/.default` }) });
		const t = (await ok.json()) as any;
		assert.equal(t.token_type, 'Bearer');
		assert.equal(t.expires_in, 3599);
		assert.equal(t.refresh_token, undefined);
		emu.setStrictAuth(true);
		assert.equal((await dv('GET', '/contacts')).status, 401);
		token = t.access_token;
		assert.equal((await dv('GET', '/contacts')).status, 200);
		emu.tokens.expireAll();
		assert.equal((await dv('GET', '/contacts')).status, 401);
		emu.setStrictAuth(false);
		token = 'anything';
		assert.equal((await dv('GET', '/WhoAmI')).body.UserId, DEFAULT_APP_USER_ID);
	});

	test('service protection: 429 with Retry-After and 0x80072322 when the per-user request limit is exceeded', async () => {
		for (let i = 0; i < 20; i++) assert.equal((await dv('GET', '/contacts')).status, 200);
		emu.setRateLimits(true);
		const saved = emu.requestLimit.limit;
		emu.requestLimit.limit = 3;
		try {
			const statuses: number[] = [];
			let last: Res | undefined;
			for (let i = 0; i < 4; i++) {
				last = await dv('GET', '/contacts');
				statuses.push(last.status);
			}
			assert.deepEqual(statuses, [200, 200, 200, 429]);
			assert.equal(last!.body.error.code, '0x80072322');
			assert.ok(Number(last!.headers.get('retry-after')) >= 1);
		} finally {
			emu.requestLimit.limit = saved;
			emu.setRateLimits(false);
		}
	});

	test('metadata: EntityDefinitions and Attributes with $select; Targets needs the LookupAttributeMetadata cast', async () => {
		const ent = await dv('GET', "/EntityDefinitions(LogicalName='contact')");
		assert.equal(ent.body.EntitySetName, 'contacts');
		assert.equal(ent.body.PrimaryIdAttribute, 'contactid');
		const attrs = await dv('GET', "/EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,AttributeType,RequiredLevel,IsCustomAttribute,IsValidForCreate");
		assert.equal(attrs.status, 200);
		const byName = Object.fromEntries(attrs.body.value.map((a: any) => [a.LogicalName, a]));
		assert.equal(byName.emailaddress1.AttributeType, 'String');
		assert.equal(byName.lastname.RequiredLevel.Value, 'ApplicationRequired');
		assert.equal(byName.parentcustomerid.AttributeType, 'Customer');
		assert.equal(byName.fullname.IsValidForCreate, false);
		const noCast = await dv('GET', "/EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,Targets");
		assert.equal(noCast.status, 400);
		const lookups = await dv('GET', "/EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets");
		const pc = lookups.body.value.find((a: any) => a.LogicalName === 'parentcustomerid');
		assert.deepEqual(pc.Targets, ['account', 'contact']);
		assert.equal((await dv('GET', "/EntityDefinitions(LogicalName='widget')/Attributes")).status, 404);
	});

	test('service protection: concurrency (0x80072326) and combined execution time (0x80072321)', async () => {
		emu.setRateLimits(true);
		const saved = { c: emu.concurrencyLimit, s: emu.serviceTimeMs, e: emu.executionLimit.limit };
		emu.concurrencyLimit = 3;
		emu.serviceTimeMs = 200;
		try {
			const results = await Promise.all(Array.from({ length: 6 }, () => dv('GET', '/contacts')));
			const statuses = results.map((r) => r.status).sort();
			assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
			const throttled = results.find((r) => r.status === 429)!;
			assert.equal(throttled.body.error.code, '0x80072326');
			assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
			// Three requests took ≥ 600 ms together: a 500 ms budget is used up.
			emu.executionLimit.limit = 500;
			const spent = await dv('GET', '/contacts');
			assert.equal(spent.status, 429);
			assert.equal(spent.body.error.code, '0x80072321');
		} finally {
			emu.concurrencyLimit = saved.c;
			emu.serviceTimeMs = saved.s;
			emu.executionLimit.limit = saved.e;
			emu.setRateLimits(false);
		}
	});

	test('faults give Dataverse 500 errors; seed + dump', async () => {
		emu.setFaults({ errorRate: 1 });
		const r = await dv('GET', '/contacts');
		assert.equal(r.status, 500);
		assert.equal(r.body.error.code, '0x80040216');
		emu.setFaults({});
		const s = emu.seed({ contacts: 20, companies: 4, deals: 4, activities: 12, leads: 2 });
		assert.equal(s.contacts, 20);
		const first = emu.dump().contacts[0] as any;
		const found = await dv('GET', `/contacts?$filter=${encodeURIComponent(`emailaddress1 eq '${first.emailaddress1.replace(/'/g, "''")}'`)}`);
		assert.ok(found.body.value.some((v: any) => v.contactid === first.contactid));
	});
});
