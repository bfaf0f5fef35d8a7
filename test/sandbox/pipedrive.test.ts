// Conformance of the Pipedrive emulator, driven by the real `pipedrive` SDK (v1 + v2) over HTTP.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server } from 'node:http';
import axios, { AxiosError } from 'axios';
import { v1, v2 } from 'pipedrive';
import { createEmulator, PipedriveEmulator } from '../../sandbox/pipedrive';

interface Received {
	headers: IncomingMessage['headers'];
	body: any;
}

/** A webhook receiver on a random port that records what it gets. */
async function receiver(status = 200): Promise<{ url: string; got: Received[]; server: Server; setStatus: (s: number) => void }> {
	const got: Received[] = [];
	let code = status;
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
			res.writeHead(code).end('ok');
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const addr = server.address() as { port: number };
	return { url: `http://127.0.0.1:${addr.port}/hook`, got, server, setStatus: (s) => (code = s) };
}

/** The SDK rejects with the raw body; the documented workaround runs its request with our own axios. */
async function raw<T>(req: Promise<(ax?: any, basePath?: string) => Promise<T>>, headers: Record<string, string> = {}): Promise<{ status: number; headers: any; data: any }> {
	const ax = axios.create({ headers });
	try {
		const r = (await (await req)(ax)) as any;
		return { status: r.status, headers: r.headers, data: r.data };
	} catch (err) {
		const e = err as AxiosError;
		if (!e.response) throw err;
		return { status: e.response.status, headers: e.response.headers, data: e.response.data };
	}
}

describe('pipedrive emulator', () => {
	let emu: PipedriveEmulator;
	let host: string;
	let cfg2: v2.Configuration;
	let cfg1: v1.Configuration;
	let persons: v2.PersonsApi;

	before(async () => {
		emu = createEmulator({ webhookRetryDelayScale: 0.001 }) as PipedriveEmulator;
		host = await emu.start();
		cfg2 = new v2.Configuration({ apiKey: 'test-token', basePath: `${host}/api/v2` });
		cfg1 = new v1.Configuration({ apiKey: 'test-token', basePath: `${host}/v1` });
		persons = new v2.PersonsApi(cfg2);
	});
	after(() => emu.stop());
	beforeEach(() => {
		emu.reset();
		emu.setStrictAuth(false);
		emu.setRateLimits(false);
		emu.setTokenLifetime(3600 * 1000);
		emu.setFaults({});
	});

	test('person CRUD through the v2 SDK with v2 shapes and envelopes', async () => {
		const created = await persons.addPerson({
			AddPersonRequest: { name: 'Ada Lovelace', emails: [{ value: 'ada@example.com', primary: true, label: 'work' }], phones: [{ value: '+44 20 7946 0000', primary: true, label: 'work' }] },
		});
		assert.equal(created.success, true);
		const p = created.data!;
		assert.equal(p.id, 1);
		assert.equal(p.first_name, 'Ada');
		assert.equal(p.last_name, 'Lovelace');
		assert.match(p.add_time!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
		const got = await persons.getPerson({ id: 1 });
		assert.equal(got.data!.emails![0].value, 'ada@example.com');
		const upd = await persons.updatePerson({ id: 1, UpdatePersonRequest: { job_title: 'Analyst' } });
		assert.equal(upd.data!.job_title, 'Analyst');
		const del = await persons.deletePerson({ id: 1 });
		assert.deepEqual(del, { success: true, data: { id: 1 } });
		// After delete: 404 with the success:false envelope; the SDK rejects with the raw body.
		await assert.rejects(persons.getPerson({ id: 1 }), (b: any) => b.success === false && b.error === 'Person not found');
		const r = await raw(v2.PersonsApiFp(cfg2).getPerson(1));
		assert.equal(r.status, 404);
		assert.equal(r.data.success, false);
		assert.equal(r.data.data, null);
		// The soft-deleted person is still in the dump with is_deleted.
		assert.equal((emu.dump().persons[0] as any).is_deleted, true);
	});

	test('create errors: missing name, unknown field, bad org reference; POST status 201', async () => {
		const missing = await raw(v2.PersonsApiFp(cfg2).addPerson({ emails: [] } as any));
		assert.equal(missing.status, 400);
		assert.match(missing.data.error, /name: Required/);
		const unknown = await raw(v2.PersonsApiFp(cfg2).addPerson({ name: 'X', email: 'x@y.z' } as any));
		assert.equal(unknown.status, 400);
		assert.match(unknown.data.error, /email: Unrecognized key/);
		const badOrg = await raw(v2.PersonsApiFp(cfg2).addPerson({ name: 'X', org_id: 99 }));
		assert.equal(badOrg.status, 400);
		const ok = await raw(v2.PersonsApiFp(cfg2).addPerson({ name: 'X' }));
		assert.equal(ok.status, 201);
		const patchMissing = await raw(v2.PersonsApiFp(cfg2).updatePerson(42, { name: 'Y' }));
		assert.equal(patchMissing.status, 404);
	});

	test('list paging with cursor and limit ≤ 500', async () => {
		for (let i = 0; i < 7; i++) await persons.addPerson({ AddPersonRequest: { name: `P ${i}` } });
		const seen: number[] = [];
		let cursor: string | undefined;
		let pages = 0;
		do {
			const page = await persons.getPersons({ limit: 3, cursor });
			seen.push(...page.data!.map((p) => p.id!));
			cursor = page.additional_data?.next_cursor ?? undefined;
			pages++;
		} while (cursor);
		assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
		assert.equal(pages, 3);
		const tooBig = await raw(v2.PersonsApiFp(cfg2).getPersons(undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 501));
		assert.equal(tooBig.status, 400);
		const desc = await persons.getPersons({ sort_by: 'id', sort_direction: 'desc', limit: 2 });
		assert.deepEqual(desc.data!.map((p) => p.id), [7, 6]);
	});

	test('delta: updated_since (inclusive) with sort_by=update_time and cursor paging', async () => {
		for (let i = 0; i < 3; i++) await persons.addPerson({ AddPersonRequest: { name: `Old ${i}` } });
		await new Promise((r) => setTimeout(r, 1100));
		const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000', '');
		await persons.updatePerson({ id: 2, UpdatePersonRequest: { name: 'Changed' } });
		await persons.addPerson({ AddPersonRequest: { name: 'New' } });
		const ids: number[] = [];
		let cursor: string | undefined;
		do {
			const page = await persons.getPersons({ updated_since: since, sort_by: 'update_time', sort_direction: 'asc', limit: 1, cursor });
			ids.push(...page.data!.map((p) => p.id!));
			cursor = page.additional_data?.next_cursor ?? undefined;
		} while (cursor);
		assert.deepEqual(ids, [2, 4]);
		const until = await persons.getPersons({ updated_until: since });
		assert.deepEqual(until.data!.map((p) => p.id), [1, 3]);
	});

	test('search persons by email and phone (exact_match), result_score items', async () => {
		await persons.addPerson({ AddPersonRequest: { name: 'Grace Hopper', emails: [{ value: 'Grace@Navy.mil', primary: true }], phones: [{ value: '(415) 555-0100', primary: true }] } });
		await persons.addPerson({ AddPersonRequest: { name: 'Other', emails: [{ value: 'other@navy.mil', primary: true }] } });
		const byEmail = await persons.searchPersons({ term: 'grace@navy.mil', fields: 'email', exact_match: true });
		assert.equal(byEmail.data!.items!.length, 1);
		const item = byEmail.data!.items![0];
		assert.equal(typeof item.result_score, 'number');
		assert.deepEqual(item.item!.emails, ['Grace@Navy.mil']);
		assert.equal(item.item!.type, 'person');
		const byPhone = await persons.searchPersons({ term: '4155550100', fields: 'phone', exact_match: true });
		assert.equal(byPhone.data!.items![0].item!.name, 'Grace Hopper');
		const none = await persons.searchPersons({ term: 'nobody@x.io', fields: 'email', exact_match: true });
		assert.deepEqual(none.data!.items, []);
		const partial = await persons.searchPersons({ term: 'navy' });
		assert.equal(partial.data!.items!.length, 2);
		const short = await raw(v2.PersonsApiFp(cfg2).searchPersons('a'));
		assert.equal(short.status, 400);
	});

	test('organizations, deals, activities (v2) and notes (v1)', async () => {
		const org = await new v2.OrganizationsApi(cfg2).addOrganization({ AddOrganizationRequest: { name: 'Acme' } });
		const person = await persons.addPerson({ AddPersonRequest: { name: 'Wile E', org_id: org.data!.id } });
		const deal = await new v2.DealsApi(cfg2).addDeal({ AddDealRequest: { title: 'Rockets', value: 500, person_id: person.data!.id, org_id: org.data!.id } });
		assert.equal(deal.data!.status, 'open');
		assert.equal(deal.data!.currency, 'USD');
		const badDeal = await raw(v2.DealsApiFp(cfg2).addDeal({ title: 'X', status: 'maybe' } as any));
		assert.equal(badDeal.status, 400);
		const act = await new v2.ActivitiesApi(cfg2).addActivity({ AddActivityRequest: { subject: 'Call him', type: 'call', due_date: '2025-02-01', due_time: '10:00', person_id: person.data!.id, deal_id: deal.data!.id } });
		assert.equal(act.data!.done, false);
		const acts = await new v2.ActivitiesApi(cfg2).getActivities({ person_id: person.data!.id });
		assert.equal(acts.data!.length, 1);
		const notes = new v1.NotesApi(cfg1);
		const note = await notes.addNote({ AddNoteRequest: { content: 'Met at expo', person_id: person.data!.id } });
		assert.equal(note.data!.content, 'Met at expo');
		assert.match(note.data!.add_time!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
		const updated = await notes.updateNote({ id: note.data!.id!, NoteRequest: { content: 'Met at expo 2025' } });
		assert.equal(updated.data!.content, 'Met at expo 2025');
		const list = await notes.getNotes({ person_id: person.data!.id });
		assert.equal(list.data!.length, 1);
		const orphan = await raw(v1.NotesApiFp(cfg1).addNote({ content: 'nowhere' }));
		assert.equal(orphan.status, 400);
		await notes.deleteNote({ id: note.data!.id! });
		assert.equal((await notes.getNotes({})).data!.length, 0);
	});

	test('leads (v1) with UUID ids, validation, paging and updated_since; /api/v1 prefix too', async () => {
		const person = await persons.addPerson({ AddPersonRequest: { name: 'Lead Person' } });
		const leads = new v1.LeadsApi(cfg1);
		const lead = await leads.addLead({ AddLeadRequest: { title: 'Big lead', person_id: person.data!.id, value: { amount: 100, currency: 'EUR' } } });
		assert.match(lead.data!.id!, /^[0-9a-f-]{36}$/);
		const noLink = await raw(v1.LeadsApiFp(cfg1).addLead({ title: 'Orphan' }));
		assert.equal(noLink.status, 400);
		assert.equal(noLink.data.success, false);
		const upd = await leads.updateLead({ id: lead.data!.id!, UpdateLeadRequest: { title: 'Bigger lead' } });
		assert.equal(upd.data!.title, 'Bigger lead');
		for (let i = 0; i < 3; i++) await leads.addLead({ AddLeadRequest: { title: `L${i}`, person_id: person.data!.id } });
		const page = await leads.getLeads({ limit: 2 });
		assert.equal(page.data!.length, 2);
		assert.equal((page as any).additional_data.pagination.more_items_in_collection, true);
		const api1 = new v1.LeadsApi(new v1.Configuration({ apiKey: 't', basePath: `${host}/api/v1` }));
		const viaApiV1 = await api1.getLead({ id: lead.data!.id! });
		assert.equal(viaApiV1.data!.title, 'Bigger lead');
		const missing = await raw(v1.LeadsApiFp(cfg1).getLead('00000000-0000-4000-8000-000000000000'));
		assert.equal(missing.status, 404);
		await leads.deleteLead({ id: lead.data!.id! });
		assert.equal((await leads.getLeads({})).data!.length, 3);
	});

	test('recents since a timestamp across item types', async () => {
		await persons.addPerson({ AddPersonRequest: { name: 'Before' } });
		await new Promise((r) => setTimeout(r, 1100));
		const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
		await persons.addPerson({ AddPersonRequest: { name: 'After' } });
		await new v2.OrganizationsApi(cfg2).addOrganization({ AddOrganizationRequest: { name: 'Org after' } });
		const rec = await new v1.RecentsApi(cfg1).getRecents({ since_timestamp: since, items: 'person' });
		assert.deepEqual(rec.data!.map((d: any) => [d.item, d.data.name]), [['person', 'After']]);
		const all = await new v1.RecentsApi(cfg1).getRecents({ since_timestamp: since });
		assert.equal(all.data!.length, 2);
		assert.equal((all as any).additional_data.pagination.more_items_in_collection, false);
	});

	test('webhooks 2.0: Basic auth, create/change/delete payloads, change_source api vs app', async () => {
		const rcv = await receiver();
		try {
			const hooks = new v1.WebhooksApi(cfg1);
			const created = await hooks.addWebhook({ AddWebhookRequest: { subscription_url: rcv.url, event_action: '*', event_object: 'person', http_auth_user: 'u', http_auth_password: 'p', version: '2.0', name: 'sync' } as any });
			assert.equal(created.success, true);
			const list = await hooks.getWebhooks();
			assert.equal(list.data!.length, 1);
			await persons.addPerson({ AddPersonRequest: { name: 'Hook Me' } });
			// A write made "in the app" (sandbox header) is marked change_source app.
			const app = await raw(v2.PersonsApiFp(cfg2).updatePerson(1, { name: 'Hooked' }), { 'x-sandbox-change-source': 'app' });
			assert.equal(app.status, 200);
			await persons.deletePerson({ id: 1 });
			await emu.webhooksIdle();
			assert.equal(rcv.got.length, 3);
			// The admin "UI" route runs an API call as a colleague in the app.
			const ui = await fetch(`${host}/__admin/ui/api/v2/persons`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Typed In The App' }) });
			assert.equal(ui.status, 201);
			await emu.webhooksIdle();
			assert.equal(rcv.got[3].body.meta.change_source, 'app');
			assert.equal(rcv.got[3].body.data.name, 'Typed In The App');
			rcv.got.length = 3;
			const [c, u, d] = rcv.got;
			assert.equal(c.headers.authorization, 'Basic ' + Buffer.from('u:p').toString('base64'));
			assert.equal(c.body.meta.action, 'create');
			assert.equal(c.body.meta.version, '2.0');
			assert.equal(c.body.meta.change_source, 'api');
			assert.equal(c.body.meta.entity, 'person');
			assert.equal(c.body.meta.attempt, 1);
			assert.equal(c.body.data.name, 'Hook Me');
			assert.equal(c.body.previous, null);
			assert.equal(u.body.meta.action, 'change');
			assert.equal(u.body.meta.change_source, 'app');
			// v2 meta ids are strings (webhook-v2-change-deal-recorded-TRIMMED.json).
			assert.equal(u.body.meta.user_id, '2');
			assert.equal(c.body.meta.user_id, '1');
			assert.deepEqual(u.body.previous, { name: 'Hook Me', first_name: 'Hook', last_name: 'Me' });
			assert.equal(d.body.meta.action, 'delete');
			assert.equal(d.body.data, null);
			assert.equal(d.body.previous.name, 'Hooked');
			await hooks.deleteWebhook({ id: created.data!.id! });
			assert.equal((await hooks.getWebhooks()).data!.length, 0);
			const bad = await raw(v1.WebhooksApiFp(cfg1).addWebhook({ subscription_url: 'not a url', event_action: 'create', event_object: 'person' } as any));
			assert.equal(bad.status, 400);
			assert.ok(bad.data.errors.subscription_url);
		} finally {
			rcv.server.close();
		}
	});

	test('merge: merge_with_id survives; v2 delete with merged_to_id plus change; v1 merged event; retries', async () => {
		const rcv2 = await receiver();
		const rcv1 = await receiver(500);
		try {
			const hooks = new v1.WebhooksApi(cfg1);
			await hooks.addWebhook({ AddWebhookRequest: { subscription_url: rcv2.url, event_action: '*', event_object: 'person', version: '2.0' } as any });
			await hooks.addWebhook({ AddWebhookRequest: { subscription_url: rcv1.url, event_action: 'merged', event_object: 'person', version: '1.0' } as any });
			await persons.addPerson({ AddPersonRequest: { name: 'Jon Smith', emails: [{ value: 'jon@x.io', primary: true }], job_title: 'CTO' } });
			await persons.addPerson({ AddPersonRequest: { name: 'John Smith', emails: [{ value: 'john@x.io', primary: true }] } });
			const deal = await new v2.DealsApi(cfg2).addDeal({ AddDealRequest: { title: 'Linked', person_id: 1 } });
			await emu.webhooksIdle();
			rcv2.got.length = 0;
			const merged = await new v1.PersonsApi(cfg1).mergePersons({ id: 1, MergePersonsRequest: { merge_with_id: 2 } });
			assert.equal((await new v2.DealsApi(cfg2).getDeal({ id: deal.data!.id! })).data!.person_id, 2, 'deals move to the survivor');
			assert.equal(merged.data!.id, 2);
			assert.equal((merged.data as any).name, 'John Smith');
			assert.deepEqual((merged.data as any).email.map((e: any) => e.value), ['john@x.io', 'jon@x.io']);
			assert.equal((merged.data as any).job_title, 'CTO');
			assert.equal((await raw(v2.PersonsApiFp(cfg2).getPerson(1))).status, 404);
			await emu.webhooksIdle();
			const actions = rcv2.got.map((g) => [g.body.meta.action, g.body.meta.entity_id, g.body.meta.merged_to_id]);
			assert.deepEqual(actions, [['delete', '1', '2'], ['change', '2', undefined]]);
			// v1 receiver answers 500: the first attempt and 3 retries are recorded.
			assert.equal(rcv1.got.length, 4);
			assert.equal(rcv1.got[0].body.event, 'merged.person');
			assert.equal(rcv1.got[0].body.meta.v, 1);
			assert.equal(rcv1.got[0].body.current.merge_what_id, 1);
			assert.deepEqual(rcv1.got.map((g) => g.body.retry), [0, 1, 2, 3]);
			assert.equal(new Set(rcv1.got.map((g) => g.body.meta.timestamp_micro)).size, 1, 'retries re-send the same event');
			const selfMerge = await raw(v1.PersonsApiFp(cfg1).mergePersons(2, { merge_with_id: 2 }));
			assert.equal(selfMerge.status, 400);
		} finally {
			rcv1.server.close();
			rcv2.server.close();
		}
	});

	test('auth: 401 envelope without token; strict mode; OAuth token endpoint returns own api_domain and refreshes', async () => {
		const anon = await axios.get(`${host}/api/v2/persons`, { validateStatus: () => true });
		assert.equal(anon.status, 401);
		assert.deepEqual(anon.data, { success: false, error: 'unauthorized access', errorCode: 401, error_info: anon.data.error_info });

		const oauth = new v2.OAuth2Configuration({ clientId: 'cid', clientSecret: 'sec', redirectUri: 'http://localhost/cb', host });
		const tok = await oauth.authorize('code-1');
		assert.equal(tok.api_domain, host);
		assert.equal(oauth.basePath, `${host}/api/v2`);
		emu.setStrictAuth(true);
		const api = new v2.PersonsApi(oauth as any);
		const list = await api.getPersons({});
		assert.equal(list.success, true);
		const strictAnon = await axios.get(`${host}/api/v2/persons`, { headers: { 'x-api-token': 'made-up' }, validateStatus: () => true });
		assert.equal(strictAnon.status, 401);
		// Expire the token: the API refuses it, the SDK refresh gets a new one that works.
		emu.tokens.expireAll();
		const expired = await axios.get(`${host}/api/v2/persons`, { headers: { authorization: `Bearer ${tok.access_token}` }, validateStatus: () => true });
		assert.equal(expired.status, 401);
		const fresh = await oauth.tokenRefresh();
		assert.notEqual(fresh.access_token, tok.access_token);
		assert.equal((await api.getPersons({})).success, true);
		// Short-lived tokens: the SDK notices expires_in and refreshes by itself before the call.
		emu.setTokenLifetime(1000);
		const short = new v2.OAuth2Configuration({ clientId: 'cid', clientSecret: 'sec', redirectUri: 'http://localhost/cb', host });
		const first = await short.authorize('code-2');
		assert.equal(first.expires_in, 1);
		await new Promise((r) => setTimeout(r, 1100));
		// The SDK's documented wiring: Configuration.accessToken = oauth.getAccessToken (refreshes when due).
		const shortApi = new v2.PersonsApi(new v2.Configuration({ accessToken: short.getAccessToken, basePath: short.basePath }));
		assert.equal((await shortApi.getPersons({})).success, true);
		assert.notEqual(await short.getAccessToken(), first.access_token);
		emu.setTokenLifetime(3600 * 1000);
		emu.setStrictAuth(false);
	});

	test('rate limits: off by default; on → 429 with Retry-After and x-ratelimit headers; SDK rejects with raw body', async () => {
		const ax = axios.create({ baseURL: `${host}/api/v2`, headers: { 'x-api-token': 'rl' }, validateStatus: () => true });
		for (let i = 0; i < 100; i++) assert.equal((await ax.get('/persons')).status, 200);
		emu.setRateLimits(true);
		let last;
		let ok = 0;
		for (let i = 0; i < 85; i++) {
			last = await ax.get('/persons/1');
			if (last.status !== 404) break;
			ok++;
			assert.ok(last.headers['x-ratelimit-remaining'] !== undefined);
		}
		assert.equal(ok, 80);
		assert.equal(last!.status, 429);
		assert.ok(Number(last!.headers['retry-after']) >= 1);
		assert.equal(last!.headers['x-ratelimit-limit'], '80');
		assert.equal(last!.data.success, false);
		const sdk = new v2.PersonsApi(new v2.Configuration({ apiKey: 'rl', basePath: `${host}/api/v2` }));
		await assert.rejects(sdk.getPersons({}), (b: any) => b.success === false && b.errorCode === 429);
		// Search has its own smaller burst (10 / 2 s).
		const ax2 = axios.create({ baseURL: `${host}/api/v2`, headers: { 'x-api-token': 'rl-search' }, validateStatus: () => true });
		const statuses: number[] = [];
		for (let i = 0; i < 11; i++) statuses.push((await ax2.get('/persons/search', { params: { term: 'abc' } })).status);
		assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
		emu.setRateLimits(false);
	});

	test('field metadata (v2 *Fields, v1 leadFields), current user, and search of organizations, deals and leads', async () => {
		const pf = await new v2.PersonFieldsApi(cfg2).getPersonFields({ limit: 5 });
		assert.equal(pf.data!.length, 5);
		assert.equal(pf.data![1].field_code, 'name');
		assert.ok(pf.additional_data?.next_cursor);
		const dealFields = await new v2.DealFieldsApi(cfg2).getDealFields({});
		assert.ok(dealFields.data!.some((f) => f.field_code === 'status' && f.options!.length === 3));
		const leadFields = await new v1.LeadFieldsApi(cfg1).getLeadFields({});
		assert.ok((leadFields.data as any[]).some((f) => f.key === 'title' && f.mandatory_flag === true));
		const me = await new v1.UsersApi(cfg1).getCurrentUser();
		assert.equal(me.data!.id, 1);
		const org = await new v2.OrganizationsApi(cfg2).addOrganization({ AddOrganizationRequest: { name: 'Initech Labs', address: { value: 'Austin, US' } as any } });
		const person = await persons.addPerson({ AddPersonRequest: { name: 'Peter Gibbons', org_id: org.data!.id } });
		await new v2.DealsApi(cfg2).addDeal({ AddDealRequest: { title: 'TPS reports', org_id: org.data!.id, person_id: person.data!.id } });
		await new v1.LeadsApi(cfg1).addLead({ AddLeadRequest: { title: 'Initech upsell', organization_id: org.data!.id } });
		const orgs = await new v2.OrganizationsApi(cfg2).searchOrganization({ term: 'initech labs', exact_match: true });
		assert.equal(orgs.data!.items![0].item!.name, 'Initech Labs');
		const deals = await new v2.DealsApi(cfg2).searchDeals({ term: 'TPS' });
		assert.equal((deals.data!.items![0].item as any).organization.name, 'Initech Labs');
		const leads = await new v2.LeadsApi(cfg2).searchLeads({ term: 'upsell' });
		assert.equal((leads.data!.items![0].item as any).title, 'Initech upsell');
		const bad = await raw(v2.DealsApiFp(cfg2).searchDeals('TPS', 'email' as any));
		assert.equal(bad.status, 400);
	});

	test('fault injection answers with the Pipedrive 503 envelope; seed + dump', async () => {
		emu.setFaults({ errorRate: 1 });
		const r = await raw(v2.PersonsApiFp(cfg2).getPersons());
		assert.equal(r.status, 503);
		assert.equal(r.data.success, false);
		emu.setFaults({});
		const summary = emu.seed({ contacts: 20, companies: 5, deals: 4, activities: 10, leads: 2 });
		assert.equal(summary.persons, 22);
		const dump = emu.dump();
		assert.equal(dump.persons.length, 22);
		assert.equal(dump.leads.length, 2);
		const first = (await persons.getPersons({ limit: 1 })).data![0];
		const found = await persons.searchPersons({ term: first.emails![0].value!, fields: 'email', exact_match: true });
		assert.ok(found.data!.items!.some((i) => i.item!.id === first.id));
	});
});

describe('pipedrive emulator: currencies', () => {
	let emu: PipedriveEmulator;
	let host: string;
	let cfg1: v1.Configuration;
	let cfg2: v2.Configuration;
	const admin = async (method: string, path: string, body: unknown) => {
		const res = await fetch(`${host}/__admin/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		return { status: res.status, body: (await res.json()) as any };
	};

	before(async () => {
		emu = createEmulator() as PipedriveEmulator;
		host = await emu.start();
		cfg1 = new v1.Configuration({ apiKey: 'test-token', basePath: `${host}/v1` });
		cfg2 = new v2.Configuration({ apiKey: 'test-token', basePath: `${host}/api/v2` });
	});
	after(() => emu.stop());
	beforeEach(() => emu.reset());

	test('GET /v1/currencies: the ISO currencies, USD EUR GBP first as in the documented example; term searches code and name', async () => {
		const all = (await new v1.CurrenciesApi(cfg1).getCurrencies()).data!;
		assert.deepEqual(all.slice(0, 3), [
			{ id: 1, code: 'USD', name: 'US Dollar', decimal_points: 2, symbol: '$', active_flag: true, is_custom_flag: false },
			{ id: 2, code: 'EUR', name: 'Euro', decimal_points: 2, symbol: '€', active_flag: true, is_custom_flag: false },
			{ id: 3, code: 'GBP', name: 'British Pound', decimal_points: 2, symbol: '£', active_flag: true, is_custom_flag: false },
		]);
		assert.ok(all.length > 100);
		assert.equal(all.find((c) => c.code === 'JPY')!.decimal_points, 0);
		assert.deepEqual((await new v1.CurrenciesApi(cfg1).getCurrencies({ term: 'yen' })).data!.map((c) => c.code), ['JPY']);
		assert.equal((await new v1.UsersApi(cfg1).getCurrentUser()).data!.default_currency, 'USD');
	});

	test("a deal without a currency gets the user's default currency; a custom currency can be deactivated, a standard one cannot", async () => {
		assert.equal((await admin('PATCH', 'users/1', { default_currency: 'eur' })).status, 200);
		assert.equal((await new v1.UsersApi(cfg1).getCurrentUser()).data!.default_currency, 'EUR');
		assert.equal((await new v1.UsersApi(cfg1).getUser({ id: 1 })).data!.default_currency, 'EUR');
		const deal = await new v2.DealsApi(cfg2).addDeal({ AddDealRequest: { title: 'Euro by default', value: 5 } });
		assert.equal(deal.data!.currency, 'EUR');
		const custom = await admin('POST', 'currencies', { name: 'Seats', symbol: 'seats', decimal_points: 0, code: 'STS' });
		assert.equal(custom.status, 201);
		assert.deepEqual({ ...custom.body.data, id: undefined }, { id: undefined, code: 'STS', name: 'Seats', decimal_points: 0, symbol: 'seats', active_flag: true, is_custom_flag: true });
		const generated = await admin('POST', 'currencies', { name: 'Stars', symbol: '*' });
		assert.equal(generated.body.data.code, 'STA');
		assert.equal((await admin('POST', 'currencies', { name: 'Seats', symbol: 's', code: 'STS' })).status, 400);
		assert.equal((await admin('PATCH', `currencies/${custom.body.data.id}`, { active_flag: false })).status, 200);
		const listed = (await new v1.CurrenciesApi(cfg1).getCurrencies({ term: 'seats' })).data!;
		assert.deepEqual(listed.map((c) => [c.code, c.active_flag]), [['STS', false]]);
		assert.equal((await admin('PATCH', 'currencies/1', { active_flag: false })).status, 400);
		assert.equal((await admin('PATCH', 'users/1', { default_currency: 'STS' })).status, 400);
		emu.reset();
		assert.equal((await new v1.UsersApi(cfg1).getCurrentUser()).data!.default_currency, 'USD');
		assert.equal((await new v1.CurrenciesApi(cfg1).getCurrencies({ term: 'seats' })).data!.length, 0);
	});
});
