// Conformance of the Zoho CRM v6 emulator over plain HTTP (fetch), as Zoho clients talk to it.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server } from 'node:http';
import { createEmulator, ZohoEmulator } from '../../sandbox/zoho';

interface Res {
	status: number;
	headers: Headers;
	body: any;
}

async function receiver(): Promise<{ url: string; got: { headers: IncomingMessage['headers']; body: any }[]; server: Server }> {
	const got: { headers: IncomingMessage['headers']; body: any }[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
			res.writeHead(200).end();
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/zoho?src=sandbox`, got, server };
}

describe('zoho emulator', () => {
	let emu: ZohoEmulator;
	let apiDomain: string;
	let token = 'any-token';

	async function z(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; auth?: string | null } = {}): Promise<Res> {
		const headers: Record<string, string> = { ...(opts.headers ?? {}) };
		if (opts.auth !== null) headers.Authorization = `Zoho-oauthtoken ${opts.auth ?? token}`;
		if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
		const res = await fetch(`${apiDomain}/crm/v6${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
		const text = await res.text();
		return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
	}

	before(async () => {
		emu = createEmulator() as ZohoEmulator;
		apiDomain = await emu.start();
	});
	after(() => emu.stop());
	beforeEach(() => {
		emu.reset();
		emu.setStrictAuth(false);
		emu.setRateLimits(false);
		emu.setFaults({});
		token = 'any-token';
	});

	test('create, get, update, delete with per-record envelopes and status codes', async () => {
		const created = await z('POST', '/Contacts', { body: { data: [{ First_Name: 'Ada', Last_Name: 'Lovelace', Email: 'ada@example.com', Phone: '+44 20 7946 0000' }], trigger: ['workflow'] } });
		assert.equal(created.status, 201);
		const r0 = created.body.data[0];
		assert.equal(r0.code, 'SUCCESS');
		assert.equal(r0.message, 'record added');
		assert.match(r0.details.id, /^\d{19}$/);
		assert.match(r0.details.Modified_Time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
		const id = r0.details.id;
		const got = await z('GET', `/Contacts/${id}`);
		assert.equal(got.status, 200);
		assert.equal(got.body.data[0].Full_Name, 'Ada Lovelace');
		assert.equal(got.body.data[0].Owner.id, '4150868000000225013');
		const upd = await z('PUT', `/Contacts/${id}`, { body: { data: [{ Title: 'Analyst' }] } });
		assert.equal(upd.status, 200);
		assert.equal(upd.body.data[0].message, 'record updated');
		const updMany = await z('PUT', '/Contacts', { body: { data: [{ id, Mobile: '+44 7700 900000' }, { id: '999', Title: 'x' }, { Title: 'no id' }] } });
		assert.equal(updMany.status, 207);
		assert.deepEqual(updMany.body.data.map((d: any) => d.code), ['SUCCESS', 'INVALID_DATA', 'MANDATORY_NOT_FOUND']);
		const del = await z('DELETE', `/Contacts?ids=${id},123`);
		assert.equal(del.status, 207);
		assert.deepEqual(del.body.data[0], { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' });
		const gone = await z('GET', `/Contacts/${id}`);
		assert.equal(gone.status, 400);
		assert.equal(gone.body.code, 'INVALID_DATA');
		assert.equal(gone.body.status, 'error');
	});

	test('validation: mandatory fields, data types, lookups, duplicate email, 100-record cap, bad module/url', async () => {
		const res = await z('POST', '/Leads', {
			body: { data: [{ Last_Name: 'A', Company: 'Acme', Email: 'a@acme.io' }, { Last_Name: 'B' }, { Last_Name: 'C', Company: 'X', Email: 'not-an-email' }, { Last_Name: 'D', Company: 'Y', Email: 'A@acme.io' }] },
		});
		assert.equal(res.status, 207);
		const [ok, missing, badType, dup] = res.body.data;
		assert.equal(ok.status, 'success');
		assert.deepEqual(missing, { code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Company', json_path: '$.data[1].Company' }, message: 'required field not found', status: 'error' });
		assert.deepEqual(badType.details, { expected_data_type: 'email', api_name: 'Email', json_path: '$.data[2].Email' });
		assert.equal(dup.code, 'DUPLICATE_DATA');
		const allBad = await z('POST', '/Deals', { body: { data: [{ Deal_Name: 'x', Stage: 'Qualification', Account_Name: { id: '1' } }] } });
		assert.equal(allBad.status, 400);
		assert.equal(allBad.body.data[0].details.api_name, 'Account_Name');
		const tooMany = await z('POST', '/Contacts', { body: { data: Array.from({ length: 101 }, (_, i) => ({ Last_Name: `N${i}` })) } });
		assert.equal(tooMany.status, 400);
		assert.equal(tooMany.body.code, 'LIMIT_EXCEEDED');
		const hundred = await z('POST', '/Contacts', { body: { data: Array.from({ length: 100 }, (_, i) => ({ Last_Name: `N${i}` })) } });
		assert.equal(hundred.status, 201);
		const badModule = await z('GET', '/Widgets?fields=Name');
		assert.equal(badModule.status, 400);
		assert.equal(badModule.body.code, 'INVALID_MODULE');
		const ui = await fetch(`${apiDomain}/__admin/ui/crm/v6/Accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: [{ Account_Name: 'From the UI' }] }) });
		assert.equal(ui.status, 201);
		const coql = await z('POST', '/coql', { body: { select_query: 'select Email from Contacts' } });
		assert.equal(coql.status, 501);
		assert.match(coql.body.message, /not implemented/);
		const badUrl = await z('GET', '/Contacts/1/2/3');
		assert.equal(badUrl.status, 404);
		assert.equal(badUrl.body.code, 'INVALID_URL_PATTERN');
	});

	test('list: fields required, projection, page/per_page ≤ 200, 2,000-record window and page_token, 204 when empty', async () => {
		assert.equal((await z('GET', '/Contacts?fields=Last_Name')).status, 204);
		for (let b = 0; b < 23; b++) {
			const r = await z('POST', '/Contacts', { body: { data: Array.from({ length: 100 }, (_, i) => ({ Last_Name: `L${b * 100 + i}`, Email: `c${b * 100 + i}@x.io` })) } });
			assert.equal(r.status, 201);
		}
		const noFields = await z('GET', '/Contacts');
		assert.equal(noFields.status, 400);
		assert.equal(noFields.body.code, 'REQUIRED_PARAM_MISSING');
		const p1 = await z('GET', '/Contacts?fields=Last_Name,Email&per_page=200&page=1&sort_by=id&sort_order=asc');
		assert.equal(p1.body.data.length, 200);
		assert.deepEqual(Object.keys(p1.body.data[0]).sort(), ['Email', 'Last_Name', 'id']);
		assert.equal(p1.body.data[0].Last_Name, 'L0');
		assert.equal(p1.body.info.more_records, true);
		assert.equal((await z('GET', '/Contacts?fields=Last_Name&per_page=201')).status, 400);
		const p10 = await z('GET', '/Contacts?fields=Last_Name&per_page=200&page=10&sort_by=id&sort_order=asc');
		assert.equal(p10.body.data[0].Last_Name, 'L1800');
		const p11 = await z('GET', '/Contacts?fields=Last_Name&per_page=200&page=11');
		assert.equal(p11.status, 400);
		assert.equal(p11.body.code, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED');
		// Walk everything with page_token.
		const seen = new Set<string>();
		let tok: string | null = null;
		let pages = 0;
		do {
			const q: string = tok ? `&page_token=${tok}` : '';
			const r = await z('GET', `/Contacts?fields=Last_Name&per_page=200&sort_by=id&sort_order=asc${q}`);
			for (const d of r.body.data) seen.add(d.id);
			tok = r.body.info.next_page_token;
			pages++;
		} while (tok);
		assert.equal(seen.size, 2300);
		assert.equal(pages, 12);
		const desc = await z('GET', '/Contacts?fields=Last_Name&per_page=2');
		assert.deepEqual(desc.body.data.map((d: any) => d.Last_Name), ['L2299', 'L2298']);
	});

	test('search by email, phone, word and criteria; 204 when nothing matches', async () => {
		await z('POST', '/Contacts', {
			body: { data: [{ Last_Name: "O'Brien", First_Name: 'Pat', Email: 'Pat@Example.com', Phone: '(415) 555-0100' }, { Last_Name: 'Smith', Email: 'smith@example.com', Mobile: '+1 415 555 0199' }] },
		});
		const byEmail = await z('GET', '/Contacts/search?email=pat@example.com');
		assert.equal(byEmail.status, 200);
		assert.equal(byEmail.body.data[0].Last_Name, "O'Brien");
		assert.equal(byEmail.body.info.count, 1);
		const byPhone = await z('GET', '/Contacts/search?phone=4155550199');
		assert.equal(byPhone.body.data[0].Last_Name, 'Smith');
		const byWord = await z('GET', '/Contacts/search?word=brien');
		assert.equal(byWord.body.data.length, 1);
		const crit = encodeURIComponent('((Email:equals:smith@example.com)or(Last_Name:starts_with:o\'b))');
		const byCrit = await z('GET', `/Contacts/search?criteria=${crit}`);
		assert.equal(byCrit.body.data.length, 2);
		const none = await z('GET', '/Contacts/search?email=nobody@example.com');
		assert.equal(none.status, 204);
		assert.equal(none.body, undefined);
		const badCrit = await z('GET', `/Contacts/search?criteria=${encodeURIComponent('(Email:like:x)')}`);
		assert.equal(badCrit.status, 400);
		assert.equal(badCrit.body.code, 'INVALID_QUERY');
		assert.equal((await z('GET', '/Contacts/search')).status, 400);
	});

	test('delta: If-Modified-Since (304 when none), Modified_Time criteria, /deleted', async () => {
		const a = await z('POST', '/Accounts', { body: { data: [{ Account_Name: 'Acme' }, { Account_Name: 'Globex' }] } });
		const [acme, globex] = a.body.data.map((d: any) => d.details.id);
		await new Promise((r) => setTimeout(r, 1100));
		const mark = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace('.000Z', '+00:00');
		const none = await z('GET', '/Accounts?fields=Account_Name', { headers: { 'If-Modified-Since': mark } });
		assert.equal(none.status, 304);
		const oneNone = await z('GET', `/Accounts/${acme}`, { headers: { 'If-Modified-Since': mark } });
		assert.equal(oneNone.status, 304);
		await z('PUT', `/Accounts/${acme}`, { body: { data: [{ Website: 'https://acme.io' }] } });
		const changed = await z('GET', '/Accounts?fields=Account_Name&sort_by=Modified_Time&sort_order=asc', { headers: { 'If-Modified-Since': mark } });
		assert.equal(changed.status, 200);
		assert.deepEqual(changed.body.data.map((d: any) => d.id), [acme]);
		const crit = encodeURIComponent(`(Modified_Time:greater_than:${mark})`);
		const viaCrit = await z('GET', `/Accounts/search?criteria=${crit}`);
		assert.deepEqual(viaCrit.body.data.map((d: any) => d.id), [acme]);
		await z('DELETE', `/Accounts/${globex}`);
		const del = await z('GET', '/Accounts/deleted?type=all', { headers: { 'If-Modified-Since': mark } });
		assert.equal(del.status, 200);
		assert.equal(del.body.data[0].id, globex);
		assert.equal(del.body.data[0].type, 'recycle');
		assert.equal(del.body.data[0].display_name, 'Globex');
		assert.equal((await z('GET', '/Accounts/deleted?type=permanent')).status, 204);
	});

	test('upsert with duplicate_check_fields: insert/update actions, 207 for mixed', async () => {
		await z('POST', '/Contacts', { body: { data: [{ Last_Name: 'Known', Email: 'known@x.io' }] } });
		const res = await z('POST', '/Contacts/upsert', {
			body: { data: [{ Last_Name: 'Known2', Email: 'KNOWN@x.io' }, { Last_Name: 'New', Email: 'new@x.io' }], duplicate_check_fields: ['Email'], trigger: [] },
		});
		assert.equal(res.status, 200);
		assert.deepEqual(res.body.data.map((d: any) => [d.action, d.duplicate_field, d.message]), [
			['update', 'Email', 'record updated'],
			['insert', null, 'record added'],
		]);
		const mixed = await z('POST', '/Contacts/upsert', { body: { data: [{ Last_Name: 'Third', Email: 'third@x.io' }, { Email: 'nolast@x.io' }] } });
		assert.equal(mixed.status, 207);
		assert.equal(mixed.body.data[1].code, 'MANDATORY_NOT_FOUND');
		const search = await z('GET', '/Contacts/search?email=known@x.io');
		assert.equal(search.body.data[0].Last_Name, 'Known2');
	});

	test('activities: Tasks, Calls, Events, Notes with Who_Id/What_Id/Parent_Id lookups', async () => {
		const c = (await z('POST', '/Contacts', { body: { data: [{ Last_Name: 'Who' }] } })).body.data[0].details.id;
		const d = (await z('POST', '/Deals', { body: { data: [{ Deal_Name: 'Big', Stage: 'Qualification', Amount: 1000, Closing_Date: '2025-06-30', Contact_Name: { id: c } }] } })).body.data[0].details.id;
		const t = await z('POST', '/Tasks', { body: { data: [{ Subject: 'Follow up', Due_Date: '2025-02-01', Who_Id: { id: c }, What_Id: { id: d }, $se_module: 'Deals' }] } });
		assert.equal(t.status, 201);
		const call = await z('POST', '/Calls', { body: { data: [{ Subject: 'Intro', Call_Type: 'Outbound', Call_Start_Time: '2025-02-01T10:00:00+00:00', Who_Id: { id: c } }] } });
		assert.equal(call.status, 201);
		const ev = await z('POST', '/Events', { body: { data: [{ Event_Title: 'Demo', Start_DateTime: '2025-02-02T10:00:00+00:00', End_DateTime: '2025-02-02T11:00:00+00:00' }] } });
		assert.equal(ev.status, 201);
		const note = await z('POST', '/Notes', { body: { data: [{ Note_Title: 'N', Note_Content: 'Met', Parent_Id: { module: { api_name: 'Contacts' }, id: c } }] } });
		assert.equal(note.status, 201);
		const badNote = await z('POST', '/Notes', { body: { data: [{ Note_Content: 'x', Parent_Id: { id: '42' }, $se_module: 'Contacts' }] } });
		assert.equal(badNote.status, 400);
		const task = await z('GET', `/Tasks/${t.body.data[0].details.id}`);
		assert.deepEqual(task.body.data[0].What_Id, { name: 'Big', id: d });
		assert.deepEqual(task.body.data[0].Who_Id, { name: 'Who', id: c });
		const badCall = await z('POST', '/Calls', { body: { data: [{ Subject: 'x', Call_Type: 'Outbound', Call_Start_Time: 'tomorrow' }] } });
		assert.equal(badCall.body.data[0].details.expected_data_type, 'datetime');
	});

	test('merge: master keeps its values, children deleted, related records re-parented', async () => {
		const ids = (await z('POST', '/Contacts', { body: { data: [{ Last_Name: 'Master', Email: 'm@x.io' }, { Last_Name: 'Child', Email: 'c@x.io', Title: 'CTO' }] } })).body.data.map((d: any) => d.details.id);
		const [master, child] = ids;
		const task = (await z('POST', '/Tasks', { body: { data: [{ Subject: 'T', Who_Id: { id: child } }] } })).body.data[0].details.id;
		const res = await z('POST', `/Contacts/${master}/actions/merge`, { body: { merge: [{ data: [{ id: child }], master_record_fields: [{ api_name: 'Title', id: child }] }] } });
		assert.equal(res.status, 200);
		assert.deepEqual(res.body.merge[0], { code: 'SUCCESS', details: { id: master }, message: 'The records have been merged successfully', status: 'success' });
		const m = (await z('GET', `/Contacts/${master}`)).body.data[0];
		assert.equal(m.Email, 'm@x.io');
		assert.equal(m.Title, 'CTO');
		assert.equal((await z('GET', `/Contacts/${child}`)).status, 400);
		assert.equal((await z('GET', `/Tasks/${task}`)).body.data[0].Who_Id.id, master);
		const status = await z('GET', `/Contacts/${master}/actions/merge?job_id=123`);
		assert.equal(status.body.merge[0].status, 'COMPLETED');
		const self = await z('POST', `/Contacts/${master}/actions/merge`, { body: { merge: [{ data: [{ id: master }] }] } });
		assert.equal(self.status, 400);
		const notMergeable = await z('POST', `/Tasks/${task}/actions/merge`, { body: { merge: [{ data: [{ id: task }] }] } });
		assert.equal(notMergeable.status, 400);
	});

	async function insert(module: string, fields: Record<string, unknown>): Promise<string> {
		const r = await z('POST', `/${module}`, { body: { data: [fields] } });
		assert.equal(r.status, 201, JSON.stringify(r.body));
		return r.body.data[0].details.id;
	}

	test('convert: new contact and account from the lead, a deal only with Deals; the lead leaves Leads (GET 204, not in /deleted); notifications', async () => {
		const rcv = await receiver();
		try {
			await z('POST', '/actions/watch', { body: { watch: [{ channel_id: '42', events: ['Contacts.all', 'Accounts.all', 'Deals.all', 'Leads.all'], notify_url: rcv.url, token: 't' }] } });
			const lead = await insert('Leads', { First_Name: 'Ada', Last_Name: 'Lovelace', Company: 'Analytical Engines', Email: 'ada@engines.example', Phone: '+44 20 7946 0000', Designation: 'Countess', City: 'London' });
			await emu.webhooksIdle();
			rcv.got.length = 0;
			const r = await z('POST', `/Leads/${lead}/actions/convert`, { body: { data: [{ overwrite: false, notify_lead_owner: false, notify_new_entity_owner: false }] } });
			assert.equal(r.status, 200, JSON.stringify(r.body));
			const { Contacts: contact, Accounts: account, Deals: deal } = r.body.data[0];
			assert.deepEqual(Object.keys(r.body.data[0]).sort(), ['Accounts', 'Contacts', 'Deals']);
			assert.equal(deal, null, 'no Deals key, no deal');
			assert.equal(emu.dump().Deals.length, 0);
			const c = (await z('GET', `/Contacts/${contact}`)).body.data[0];
			assert.deepEqual([c.First_Name, c.Last_Name, c.Email, c.Title, c.Mailing_City], ['Ada', 'Lovelace', 'ada@engines.example', 'Countess', 'London']);
			assert.equal(c.Account_Name.id, account);
			assert.equal((await z('GET', `/Accounts/${account}`)).body.data[0].Account_Name, 'Analytical Engines');
			const gone = await z('GET', `/Leads/${lead}`);
			assert.equal(gone.status, 204);
			assert.equal(gone.body, undefined);
			assert.equal((await z('GET', '/Leads/deleted')).status, 204, 'a converted lead is not in the recycle bin');
			assert.equal((await z('GET', '/Leads?fields=Last_Name')).status, 204);
			const again = await z('POST', `/Leads/${lead}/actions/convert`, { body: { data: [{}] } });
			assert.equal(again.status, 400);
			assert.deepEqual(again.body, { code: 'ID_ALREADY_CONVERTED', details: { id: lead }, message: 'id already converted', status: 'error' });
			await emu.webhooksIdle();
			assert.deepEqual(rcv.got.map((g) => [g.body.module, g.body.operation, g.body.ids]), [['Accounts', 'insert', [account]], ['Contacts', 'insert', [contact]]]);

			// With Deals: a deal on the account and contact.
			const lead2 = await insert('Leads', { Last_Name: 'Babbage', Company: 'Difference Engines' });
			const withDeal = await z('POST', `/Leads/${lead2}/actions/convert`, { body: { data: [{ Deals: { Deal_Name: 'Engine', Closing_Date: '2026-12-31', Stage: 'Qualification', Amount: 5000 } }] } });
			assert.equal(withDeal.status, 200, JSON.stringify(withDeal.body));
			const d = (await z('GET', `/Deals/${withDeal.body.data[0].Deals}`)).body.data[0];
			assert.equal(d.Account_Name.id, withDeal.body.data[0].Accounts);
			assert.equal(d.Contact_Name.id, withDeal.body.data[0].Contacts);
			const lead3 = await insert('Leads', { Last_Name: 'Three', Company: 'Third Co' });
			const noName = await z('POST', `/Leads/${lead3}/actions/convert`, { body: { data: [{ Deals: { Stage: 'Qualification' } }] } });
			assert.equal(noName.status, 400);
			assert.deepEqual(noName.body.data[0].details, { api_name: 'Deal_Name', json_path: '$.data[0].Deals.Deal_Name' });
			assert.equal((await z('GET', `/Leads/${lead3}`)).status, 200, 'a refused conversion keeps its lead');
		} finally {
			rcv.server.close();
		}
	});

	test('convert into an EXISTING contact and account ({id} lookups): nothing new is created; errors', async () => {
		const account = await insert('Accounts', { Account_Name: 'Existing Co' });
		const contact = await insert('Contacts', { Last_Name: 'Known', Email: 'known@x.example' });
		const lead = await insert('Leads', { Last_Name: 'Known', Company: 'Lead Co', Email: 'lead@x.example' });
		const counts = () => ({ Contacts: emu.dump().Contacts.length, Accounts: emu.dump().Accounts.length, Deals: emu.dump().Deals.length });
		const before = counts();

		const bad = async (data: unknown, code: string, details: Record<string, unknown>) => {
			const r = await z('POST', `/Leads/${lead}/actions/convert`, { body: { data: [data] } });
			assert.equal(r.status, 400, JSON.stringify(r.body));
			assert.equal(r.body.code, code, JSON.stringify(r.body));
			assert.deepEqual(r.body.details, details);
		};
		await bad({ Accounts: {} }, 'MANDATORY_NOT_FOUND', { api_name: 'id', json_path: '$.data[0].Accounts.id' });
		await bad({ Contacts: { id: '4150868000009999999' } }, 'INVALID_DATA', { api_name: 'Contacts', json_path: '$.data[0].Contacts' });
		await bad({ Accounts: account }, 'INVALID_DATA', { expected_data_type: 'jsonobject', api_name: 'Accounts', json_path: '$.data[0].Accounts' });
		const noBody = await fetch(`${apiDomain}/crm/v6/Leads/${lead}/actions/convert`, { method: 'POST', headers: { Authorization: 'Zoho-oauthtoken t' } });
		assert.equal(noBody.status, 400);
		assert.deepEqual(await noBody.json(), { code: 'INVALID_DATA', details: { expected_data_type: 'jsonobject' }, message: 'body', status: 'error' });
		assert.equal((await z('POST', '/Leads/4150868000009999999/actions/convert', { body: { data: [{}] } })).body.code, 'INVALID_DATA');
		assert.deepEqual(counts(), before);

		const r = await z('POST', `/Leads/${lead}/actions/convert`, { body: { data: [{ overwrite: false, notify_lead_owner: false, notify_new_entity_owner: false, Contacts: { id: contact }, Accounts: { id: account } }] } });
		assert.equal(r.status, 200, JSON.stringify(r.body));
		assert.deepEqual(r.body.data[0], { Contacts: contact, Deals: null, Accounts: account });
		assert.deepEqual(counts(), before, 'no new contact, account or deal');
		const c = (await z('GET', `/Contacts/${contact}`)).body.data[0];
		assert.equal(c.Account_Name.id, account, 'the contact without an account is linked to the given one');
		assert.equal(c.Email, 'known@x.example');
		assert.equal((await z('GET', `/Accounts/${account}`)).body.data[0].Account_Name, 'Existing Co', 'overwrite false keeps the account name');

		// Without Contacts, the lead's e-mail finds the existing contact (documented order of preference).
		const lead2 = await insert('Leads', { Last_Name: 'Again', Company: 'Existing Co', Email: 'KNOWN@x.example' });
		const r2 = await z('POST', `/Leads/${lead2}/actions/convert`, { body: { data: [{}] } });
		assert.deepEqual(r2.body.data[0], { Contacts: contact, Deals: null, Accounts: account });
		assert.deepEqual(counts(), before);
	});

	test('notifications: watch enable/get/update/disable, token echoed, affected_fields, expiry ≤ 1 day', async () => {
		const rcv = await receiver();
		try {
			const tooLong = await z('POST', '/actions/watch', { body: { watch: [{ channel_id: '1000', events: ['Contacts.all'], notify_url: rcv.url, token: 'x'.repeat(51) }] } });
			assert.equal(tooLong.status, 400);
			const week = new Date(Date.now() + 7 * 86400000).toISOString();
			const en = await z('POST', '/actions/watch', {
				body: { watch: [{ channel_id: '1000000068001', events: ['Contacts.all', 'Deals.create'], channel_expiry: week, token: 'sync-secret', notify_url: rcv.url, return_affected_field_values: true }] },
			});
			assert.equal(en.status, 200);
			assert.equal(en.body.watch[0].code, 'SUCCESS');
			const expiry = Date.parse(en.body.watch[0].details.events[0].channel_expiry);
			assert.ok(expiry <= Date.now() + 86400000 + 1000, 'expiry clamped to one day');
			const list = await z('GET', '/actions/watch');
			assert.equal(list.body.watch[0].channel_id, '1000000068001');

			const created = await z('POST', '/Contacts', { body: { data: [{ Last_Name: 'A' }, { Last_Name: 'B' }] } });
			const [a, b] = created.body.data.map((d: any) => d.details.id);
			await z('PUT', '/Contacts', { body: { data: [{ id: a, Title: 'CEO' }] } });
			await z('DELETE', `/Contacts/${b}`);
			await z('POST', '/Accounts', { body: { data: [{ Account_Name: 'not watched' }] } });
			await emu.webhooksIdle();
			assert.equal(rcv.got.length, 3);
			const [ins, upd, del] = rcv.got.map((g) => g.body);
			assert.equal(ins.operation, 'insert');
			assert.deepEqual(ins.ids, [a, b]);
			assert.equal(ins.token, 'sync-secret');
			assert.equal(ins.module, 'Contacts');
			// A string, as recorded (notification-update-affected-values-recorded.json): channel ids reach 19 digits.
			assert.equal(ins.channel_id, '1000000068001');
			assert.deepEqual(ins.query_params, { src: 'sandbox' });
			assert.equal(ins.resource_uri, `${apiDomain}/crm/v6/Contacts`);
			assert.equal(typeof ins.server_time, 'number');
			assert.equal(upd.operation, 'update');
			assert.deepEqual(upd.affected_fields, [{ [a]: ['Title'] }]);
			assert.deepEqual(upd.affected_values, [{ record_id: a, values: { Title: 'CEO' } }]);
			assert.equal(del.operation, 'delete');

			// PATCH removes the Contacts events; PUT of an unknown channel fails; DELETE disables.
			const patch = await z('PATCH', '/actions/watch', { body: { watch: [{ channel_id: '1000000068001', events: ['Contacts.all'], _delete_events: true }] } });
			assert.equal(patch.status, 200);
			await z('POST', '/Contacts', { body: { data: [{ Last_Name: 'C' }] } });
			await z('POST', '/Deals', { body: { data: [{ Deal_Name: 'D', Stage: 'Qualification' }] } });
			await emu.webhooksIdle();
			assert.equal(rcv.got.length, 4);
			assert.equal(rcv.got[3].body.module, 'Deals');
			assert.equal((await z('PUT', '/actions/watch', { body: { watch: [{ channel_id: '5', events: ['Deals.all'], notify_url: rcv.url }] } })).status, 400);
			const off = await z('DELETE', '/actions/watch?channel_ids=1000000068001');
			assert.equal(off.status, 200);
			assert.equal((await z('GET', '/actions/watch')).status, 204);
		} finally {
			rcv.server.close();
		}
	});

	test('webhook faults from the core: duplicated notifications keep the same body', async () => {
		const rcv = await receiver();
		try {
			emu.setFaults({ webhookDuplicateRate: 1 });
			await z('POST', '/actions/watch', { body: { watch: [{ channel_id: '77', events: ['Leads.create'], notify_url: rcv.url, token: 't' }] } });
			await z('POST', '/Leads', { body: { data: [{ Last_Name: 'Dup', Company: 'X' }] } });
			await emu.webhooksIdle();
			assert.equal(rcv.got.length, 2);
			assert.deepEqual(rcv.got[0].body, rcv.got[1].body);
			const deliveries = emu.deliveries();
			assert.equal(deliveries.filter((d) => d.duplicate).length, 1);
		} finally {
			emu.setFaults({});
			rcv.server.close();
		}
	});

	test('auth: token endpoint returns its own api_domain, refresh; 401 bodies; strict mode and expiry', async () => {
		const missing = await z('GET', '/Contacts?fields=Email', { auth: null });
		assert.equal(missing.status, 401);
		assert.equal(missing.body.code, 'AUTHENTICATION_FAILURE');
		const grant = await fetch(`${apiDomain}/oauth/v2/token?grant_type=authorization_code&client_id=c&client_secret=s&code=abc&redirect_uri=http://localhost`, { method: 'POST' });
		const t1 = (await grant.json()) as any;
		assert.equal(t1.api_domain, apiDomain);
		assert.equal(t1.token_type, 'Bearer');
		assert.equal(t1.expires_in, 3600);
		emu.setStrictAuth(true);
		assert.equal((await z('GET', '/Contacts?fields=Email')).status, 401);
		token = t1.access_token;
		assert.equal((await z('GET', '/Contacts?fields=Email')).status, 204);
		emu.tokens.expireAll();
		const expired = await z('GET', '/Contacts?fields=Email');
		assert.equal(expired.status, 401);
		assert.deepEqual(expired.body, { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' });
		const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'c', client_secret: 's', refresh_token: t1.refresh_token });
		const t2 = (await (await fetch(`${apiDomain}/oauth/v2/token`, { method: 'POST', body: form })).json()) as any;
		assert.ok(t2.access_token && t2.access_token !== t1.access_token);
		assert.equal(t2.refresh_token, undefined);
		token = t2.access_token;
		assert.equal((await z('GET', '/Contacts?fields=Email')).status, 204);
		const badRefresh = await fetch(`${apiDomain}/oauth/v2/token?grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=nope`, { method: 'POST' });
		assert.equal(badRefresh.status, 200);
		assert.deepEqual(await badRefresh.json(), { error: 'invalid_code' });
		emu.setStrictAuth(false);
	});

	test('rate limits: off by default; on → 429 TOO_MANY_REQUESTS when credits run out; writes cost 1 per 10 records', async () => {
		for (let i = 0; i < 30; i++) assert.equal((await z('GET', '/Contacts?fields=Email')).status, 204);
		emu.setRateLimits(true);
		const saved = emu.credits.limit;
		emu.credits.limit = 5;
		try {
			const write = await z('POST', '/Contacts', { body: { data: Array.from({ length: 40 }, (_, i) => ({ Last_Name: `R${i}` })) } });
			assert.equal(write.status, 201);
			assert.equal(write.headers.get('x-ratelimit-remaining'), '1');
			assert.equal((await z('GET', '/Contacts?fields=Email')).status, 200);
			const throttled = await z('GET', '/Contacts?fields=Email');
			assert.equal(throttled.status, 429);
			assert.equal(throttled.body.code, 'TOO_MANY_REQUESTS');
			assert.equal(throttled.body.status, 'error');
		} finally {
			emu.credits.limit = saved;
			emu.setRateLimits(false);
		}
	});

	test('field metadata (settings/fields) and the current user', async () => {
		const f = await z('GET', '/settings/fields?module=Contacts');
		assert.equal(f.status, 200);
		const last = f.body.fields.find((x: any) => x.api_name === 'Last_Name');
		assert.equal(last.system_mandatory, true);
		const acc = f.body.fields.find((x: any) => x.api_name === 'Account_Name');
		assert.equal(acc.data_type, 'lookup');
		assert.equal(acc.lookup.module.api_name, 'Accounts');
		assert.equal(f.body.fields.find((x: any) => x.api_name === 'Email').unique.casesensitive, false);
		const stage = (await z('GET', '/settings/fields?module=Deals')).body.fields.find((x: any) => x.api_name === 'Stage');
		assert.ok(stage.pick_list_values.some((p: any) => p.actual_value === 'Closed Won'));
		assert.equal((await z('GET', '/settings/fields')).status, 400);
		assert.equal((await z('GET', '/settings/fields?module=Nope')).body.code, 'INVALID_MODULE');
		const me = await z('GET', '/users?type=CurrentUser');
		assert.equal(me.body.users[0].id, '4150868000000225013');
		assert.equal(me.body.users[0].email, 'sandbox.user@example.com');
	});

	test('faults answer with Zoho 500 INTERNAL_ERROR; seed + dump use Zoho shapes', async () => {
		emu.setFaults({ errorRate: 1 });
		const r = await z('GET', '/Contacts?fields=Email');
		assert.equal(r.status, 500);
		assert.equal(r.body.code, 'INTERNAL_ERROR');
		emu.setFaults({});
		const s = emu.seed({ contacts: 30, companies: 5, deals: 5, activities: 20, leads: 3 });
		assert.equal(s.Contacts, 30);
		const dump = emu.dump();
		assert.equal(dump.Contacts.length, 30);
		const first = dump.Contacts[0] as any;
		const found = await z('GET', `/Contacts/search?email=${encodeURIComponent(first.Email)}`);
		assert.ok(found.body.data.some((d: any) => d.id === first.id));
	});
});

describe('zoho emulator: currencies', () => {
	let emu: ZohoEmulator;
	let apiDomain: string;

	async function z(method: string, path: string, body?: unknown): Promise<Res> {
		const res = await fetch(`${apiDomain}/crm/v6${path}`, {
			method,
			headers: { Authorization: 'Zoho-oauthtoken any-token', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
	}
	const deal = (extra: Record<string, unknown> = {}) => ({ data: [{ Deal_Name: 'Deal', Stage: 'Qualification', ...extra }] });
	const fieldNames = async () => ((await z('GET', '/settings/fields?module=Deals')).body.fields as Array<{ api_name: string }>).map((f) => f.api_name);

	before(async () => {
		emu = createEmulator() as ZohoEmulator;
		apiDomain = await emu.start();
	});
	after(() => emu.stop());
	beforeEach(() => emu.reset());

	test('a new org has one currency: GET /org (iso_code USD, mc_status false), /org/currencies 403, no Currency field', async () => {
		const org = await z('GET', '/org');
		assert.equal(org.status, 200);
		const o = org.body.org[0];
		assert.deepEqual([o.iso_code, o.mc_status, o.currency, o.currency_symbol, o.currency_locale], ['USD', false, 'US Dollar - USD', '$', 'en_US']);
		const none = await z('GET', '/org/currencies');
		assert.deepEqual([none.status, none.body], [403, { code: 'CURRENCIES_NOT_ENABLED', details: {}, message: 'Multi currency is not enabled', status: 'error' }]);
		assert.equal((await fieldNames()).includes('Currency'), false);
		const added = await z('POST', '/org/currencies', { currencies: [{ iso_code: 'EUR', exchange_rate: '0.9' }] });
		assert.equal(added.status, 400);
		assert.equal(added.body.currencies[0].code, 'FEATURE_NOT_ENABLED');
	});

	test('enabling multiple currencies (API): base currency, Currency on records, add, deactivate; a record takes active currencies only', async () => {
		const before = (await z('POST', '/Deals', deal())).body.data[0].details.id;
		const enabled = await z('POST', '/org/currencies/actions/enable', { base_currency: { iso_code: 'EUR', exchange_rate: '1.000000000' } });
		assert.equal(enabled.status, 200);
		assert.equal(enabled.body.base_currency.code, 'SUCCESS');
		assert.equal((await z('POST', '/org/currencies/actions/enable', { base_currency: { iso_code: 'USD' } })).body.base_currency.code, 'ALREADY_ENABLED');
		assert.deepEqual([(await z('GET', '/org')).body.org[0].mc_status, (await z('GET', '/org')).body.org[0].iso_code], [true, 'EUR']);
		const existing = (await z('GET', `/Deals/${before}`)).body.data[0];
		assert.deepEqual([existing.Currency, existing.Exchange_Rate], ['EUR', 1]);
		const added = await z('POST', '/org/currencies', { currencies: [{ iso_code: 'USD', exchange_rate: '1.1' }, { iso_code: 'GBP', exchange_rate: '0.85' }, { iso_code: 'EUR' }, { iso_code: 'XYZ' }] });
		assert.equal(added.status, 207);
		assert.deepEqual(added.body.currencies.map((r: { code: string }) => r.code), ['SUCCESS', 'SUCCESS', 'DUPLICATE_DATA', 'INVALID_DATA']);
		const list = (await z('GET', '/org/currencies')).body.currencies as Array<Record<string, unknown>>;
		assert.deepEqual(list.map((c) => [c.iso_code, c.is_base, c.is_active, c.exchange_rate]), [['EUR', true, true, '1.000000000'], ['USD', false, true, '1.100000000'], ['GBP', false, true, '0.850000000']]);
		assert.deepEqual(Object.keys(list[0]), ['prefix_symbol', 'format', 'exchange_rate', 'is_active', 'exchange_rate_auto_update', 'iso_code', 'symbol', 'name', 'is_base', 'id', 'created_by', 'modified_by', 'modified_time', 'created_time', 'exchange_rate_updated_time']);
		assert.ok((await fieldNames()).includes('Currency'));
		const inUsd = (await z('POST', '/Deals', deal({ Currency: 'USD' }))).body.data[0].details.id;
		assert.deepEqual([(await z('GET', `/Deals/${inUsd}`)).body.data[0].Currency, (await z('GET', `/Deals/${inUsd}`)).body.data[0].Exchange_Rate], ['USD', 1.1]);
		const plain = (await z('POST', '/Deals', deal())).body.data[0].details.id;
		assert.equal((await z('GET', `/Deals/${plain}`)).body.data[0].Currency, 'EUR');
		// Deactivated: refused on records; the base currency cannot be deactivated.
		const gbp = list.find((c) => c.iso_code === 'GBP')!.id;
		assert.equal((await z('PUT', `/org/currencies/${gbp}`, { currencies: [{ is_active: false }] })).status, 200);
		const refused = await z('POST', '/Deals', deal({ Currency: 'GBP' }));
		assert.equal(refused.status, 400);
		assert.deepEqual([refused.body.data[0].code, refused.body.data[0].details.api_name], ['INVALID_DATA', 'Currency']);
		assert.equal((await z('PUT', '/org/currencies', { currencies: [{ id: list[0].id, is_active: false }] })).body.currencies[0].code, 'NOT_ALLOWED');
		assert.equal((await z('PUT', '/org/currencies/not-a-number', { currencies: [{ is_active: true }] })).status, 404);
	});

	test('admin: the home currency of a single-currency org; multiple currencies on and off', async () => {
		const admin = async (body: unknown) => (await (await fetch(`${apiDomain}/__admin/org-currency`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
		assert.deepEqual(await admin({ homeCurrency: 'GBP' }), { multiCurrency: false, homeCurrency: 'GBP', currencies: [] });
		assert.equal((await z('GET', '/org')).body.org[0].iso_code, 'GBP');
		const id = (await z('POST', '/Deals', deal())).body.data[0].details.id;
		assert.deepEqual(await admin({ multiCurrency: true }), { multiCurrency: true, homeCurrency: 'GBP', currencies: [{ iso_code: 'GBP', is_active: true, is_base: true }] });
		assert.equal((await z('GET', `/Deals/${id}`)).body.data[0].Currency, 'GBP');
		assert.deepEqual(await admin({ multiCurrency: false }), { multiCurrency: false, homeCurrency: 'GBP', currencies: [] });
		assert.equal('Currency' in (await z('GET', `/Deals/${id}`)).body.data[0], false);
		assert.deepEqual(Object.keys(await admin({ homeCurrency: 'NOPE' })), ['error']);
	});
});
