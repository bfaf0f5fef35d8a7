// ZohoConnector over real HTTP against sandbox/zoho (Zoho CRM v6 emulator).

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { create, ZohoConnector, type ZohoConfig } from '../../../../lib/crms/zoho/connector';
import type { ConnectorRuntime, ConvertLeadSuccess, WriteFailure, WriteSuccess } from '../../../../lib/connectors/types';
import { CrmError, type TransportEvent } from '../../../../lib/http';
import { assertLostDeleteIsDone } from '../unanswered';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let tokenSeq = 0;

/** A connector with its own token (limiter and token caches are per credential). */
function connector(extra: Partial<ZohoConfig> = {}, runtime: ConnectorRuntime = {}): ZohoConnector {
	return new ZohoConnector({ accessToken: `zoho-test-${++tokenSeq}`, apiDomain: url, ...extra }, { retry: { baseDelayMs: 20 }, ...runtime });
}

function ok(outcome: unknown): WriteSuccess {
	assert.notEqual((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteSuccess;
}

function failed(outcome: unknown): WriteFailure {
	assert.equal((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

async function grant(): Promise<{ access_token: string; refresh_token: string; api_domain: string }> {
	const res = await fetch(`${url}/oauth/v2/token`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'cid', client_secret: 'secret', code: 'c0de', redirect_uri: 'x' }).toString(),
	});
	return (await res.json()) as { access_token: string; refresh_token: string; api_domain: string };
}

before(async () => {
	sandbox = await startSandbox({ crms: ['zoho'] });
	emulator = sandbox.emulators.zoho!;
	url = sandbox.urls.zoho!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => {
	emulator.reset();
	emulator.setFaults({});
	emulator.setRateLimits(false);
	emulator.setStrictAuth(false);
});

describe('Zoho connector: records', () => {
	test('testConnection, and a refused token is an auth CrmError', async () => {
		await connector().testConnection();
		emulator.setStrictAuth(true);
		await assert.rejects(connector().testConnection(), (e: unknown) => e instanceof CrmError && e.category === 'auth' && e.code === 'INVALID_TOKEN');
	});

	test('contacts: batch create with per-record errors, get, update, search by email and phone, delete', async () => {
		const zoho = connector();
		const outcomes = await zoho.create('contact', [
			{ ref: 0, fields: { First_Name: 'Ada', Last_Name: 'Lovelace', Email: 'ada@example.com', Phone: '+1 415 555 0101' } },
			{ ref: 1, fields: { First_Name: 'No', Email: 'nolast@example.com' } },
			{ ref: 2, fields: { Last_Name: 'Bad', Email: 'not-an-email' } },
			{ ref: 3, fields: { Last_Name: 'Babbage', Email: 'charles@example.com' } },
		]);
		const ada = ok(outcomes[0]).id;
		assert.equal(failed(outcomes[1]).code, 'MANDATORY_NOT_FOUND');
		assert.deepEqual(failed(outcomes[1]).fields, ['Last_Name']);
		assert.equal(failed(outcomes[2]).code, 'INVALID_DATA');
		assert.deepEqual(failed(outcomes[2]).fields, ['Email']);
		const charles = ok(outcomes[3]).id;

		const record = await zoho.get('contact', ada);
		assert.equal(record?.fields.Last_Name, 'Lovelace');
		assert.ok(record?.modifiedAt && !Number.isNaN(Date.parse(record.modifiedAt)));
		assert.equal(await zoho.get('contact', '4150868000000999999'), undefined);

		assert.deepEqual(await zoho.update('contact', [{ ref: 5, id: ada, fields: { Title: 'Countess' } }, { ref: 6, id: '4150868000000999999', fields: { Title: 'x' } }]).then((o) => o.map((x) => x.status)), ['updated', 'failed']);
		assert.equal((await zoho.get('contact', ada))?.fields.Title, 'Countess');

		assert.deepEqual((await zoho.search('contact', 'Email', ['ADA@example.com', 'charles@example.com'])).map((r) => r.id).sort(), [ada, charles].sort());
		assert.deepEqual((await zoho.search('contact', 'Phone', ['4155550101'])).map((r) => r.id), [ada]);
		assert.deepEqual(await zoho.search('contact', 'Email', ['nobody@example.com']), [], '204 No Content is no match');

		const deleted = await zoho.delete('contact', [{ ref: 0, id: charles }, { ref: 1, id: '4150868000000999999' }]);
		assert.deepEqual(deleted[0], { ref: 0, status: 'deleted', id: charles });
		assert.equal(failed(deleted[1]).category, 'validation');
		assert.equal(await zoho.get('contact', charles), undefined);
	});

	test('writes go 100 records per call', async () => {
		const zoho = connector();
		const before = (await (await fetch(`${url}/__admin/health`)).json()) as { requests: number };
		const outcomes = await zoho.create('account', Array.from({ length: 250 }, (_, i) => ({ ref: i, fields: { Account_Name: `Account ${i}` } })));
		const afterHealth = (await (await fetch(`${url}/__admin/health`)).json()) as { requests: number };
		assert.equal(outcomes.filter((o) => o.status === 'created').length, 250);
		assert.equal(afterHealth.requests - before.requests, 3);
		assert.deepEqual(outcomes.map((o) => o.ref), Array.from({ length: 250 }, (_, i) => i));
	});

	test('upsert with duplicate_check_fields: insert vs update, repeated keys in order, missing key', async () => {
		const zoho = connector();
		const existing = ok((await zoho.create('lead', [{ ref: 0, fields: { Last_Name: 'Old', Company: 'Acme', Email: 'lead@example.com' } }]))[0]).id;
		const outcomes = await zoho.upsert('lead', 'Email', [
			{ ref: 0, fields: { Last_Name: 'Updated', Company: 'Acme', Email: 'lead@example.com' } },
			{ ref: 1, fields: { Last_Name: 'New', Company: 'Beta', Email: 'new@example.com' } },
			{ ref: 2, fields: { Last_Name: 'New again', Company: 'Beta', Email: 'NEW@example.com' } },
			{ ref: 3, fields: { Last_Name: 'Keyless', Company: 'Gamma' } },
			{ ref: 4, fields: { Company: 'No last name', Email: 'incomplete@example.com' } },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'updated', id: existing });
		assert.equal(ok(outcomes[1]).status, 'created');
		assert.deepEqual(outcomes[2], { ref: 2, status: 'updated', id: ok(outcomes[1]).id });
		assert.equal(failed(outcomes[3]).code, 'MISSING_MATCH_KEY');
		assert.equal(failed(outcomes[4]).code, 'MANDATORY_NOT_FOUND');
		assert.equal((await zoho.get('lead', ok(outcomes[1]).id))?.fields.Last_Name, 'New again');
		assert.equal((await zoho.get('lead', existing))?.fields.Last_Name, 'Updated');
	});

	test('deals and tasks: create, update, delete', async () => {
		const zoho = connector();
		const account = ok((await zoho.create('account', [{ ref: 0, fields: { Account_Name: 'Acme' } }]))[0]).id;
		const contact = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Buyer', Account_Name: { id: account } } }]))[0]).id;
		const deal = ok((await zoho.create('opportunity', [{ ref: 0, fields: { Deal_Name: 'Big', Stage: 'Qualification', Amount: 1000, Account_Name: { id: account } } }]))[0]).id;
		const task = ok((await zoho.create('activity', [{ ref: 0, fields: { Subject: 'Call', Due_Date: '2026-12-01', Who_Id: { id: contact }, What_Id: { id: deal }, $se_module: 'Deals' } }]))[0]).id;
		const [badDeal] = await zoho.create('opportunity', [{ ref: 0, fields: { Deal_Name: 'No amount type', Stage: 'x', Amount: 'lots' } }]);
		assert.equal(failed(badDeal).code, 'INVALID_DATA');
		ok((await zoho.update('opportunity', [{ ref: 0, id: deal, fields: { Stage: 'Closed Won' } }]))[0]);
		ok((await zoho.update('activity', [{ ref: 0, id: task, fields: { Status: 'Completed' } }]))[0]);
		assert.equal((await zoho.get('opportunity', deal))?.fields.Stage, 'Closed Won');
		assert.equal((await zoho.get('activity', task))?.fields.Status, 'Completed');
		for (const [entity, id] of [['activity', task], ['opportunity', deal], ['contact', contact], ['account', account]] as const) {
			assert.equal(ok((await zoho.delete(entity, [{ ref: 0, id }]))[0]).status, 'deleted');
		}
	});

	test('merge: master keeps its id, children are gone, three children take two calls', async () => {
		const zoho = connector();
		const ids = (await zoho.create('contact', [0, 1, 2, 3].map((i) => ({ ref: i, fields: { Last_Name: `Dup ${i}`, Email: `dup${i}@example.com` } })))).map((o) => ok(o).id);
		const [merged, bad] = await zoho.merge('contact', [
			{ ref: 0, masterId: ids[0], mergeIds: ids.slice(1) },
			{ ref: 1, masterId: ids[0], mergeIds: ['4150868000000999999'] },
		]);
		assert.deepEqual(merged, { ref: 0, status: 'merged', id: ids[0], mergedIds: ids.slice(1) });
		assert.equal(failed(bad).category, 'validation');
		for (const id of ids.slice(1)) assert.equal(await zoho.get('contact', id), undefined);
		assert.ok(await zoho.get('contact', ids[0]));
		await assert.rejects(zoho.merge('activity', [{ ref: 0, masterId: ids[0], mergeIds: [ids[1]] }]), /not implemented/);
	});
});

describe('Zoho connector: convertLeads', () => {
	/** A pass-through proxy to the sandbox that keeps each request body (the sandbox does not check every key). */
	async function recordingProxy(): Promise<{ url: string; bodies: Array<{ path: string; body: unknown }>; close: () => Promise<void> }> {
		const bodies: Array<{ path: string; body: unknown }> = [];
		const target = new URL(url);
		const server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				const raw = Buffer.concat(chunks);
				if (raw.length) bodies.push({ path: req.url ?? '', body: JSON.parse(raw.toString('utf8')) });
				const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstream) => {
					res.writeHead(upstream.statusCode ?? 502, upstream.headers);
					upstream.pipe(res);
				});
				forward.end(raw);
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
	}

	test('converts into the given contact and account (no deal, no overwrite, no notifications); converted already is unchanged; a lead gone answers NOT_FOUND; a mixed batch', async () => {
		const proxy = await recordingProxy();
		try {
			const zoho = connector({ apiDomain: proxy.url });
			const account = ok((await zoho.create('account', [{ ref: 0, fields: { Account_Name: 'Analytical Engines' } }]))[0]).id;
			const contact = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Lovelace', Email: 'ada@engines.example', Account_Name: { id: account } } }]))[0]).id;
			const loner = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Somerville', Email: 'mary@example.com' } }]))[0]).id;
			const [lead, other, deleted, lone] = (
				await zoho.create('lead', [
					{ ref: 0, fields: { Last_Name: 'Lovelace', Email: 'ada@engines.example', Company: 'Analytical Engines' } },
					{ ref: 1, fields: { Last_Name: 'Babbage', Company: 'Difference Engines' } },
					{ ref: 2, fields: { Last_Name: 'Gone', Company: 'Nowhere' } },
					{ ref: 3, fields: { Last_Name: 'Somerville', Company: 'Mechanism of the Heavens' } },
				])
			).map((o) => ok(o).id);
			await zoho.delete('lead', [{ ref: 0, id: deleted }]);
			const dealsBefore = emulator.dump().Deals?.length ?? 0;
			const contactsBefore = emulator.dump().Contacts?.length ?? 0;

			const outcomes = await zoho.convertLeads([
				{ ref: 0, id: lead, contactId: contact, accountId: account, withOpportunity: true },
				{ ref: 1, id: deleted, contactId: contact },
				{ ref: 2, id: other, contactId: contact, accountId: '4150868000000999999' },
				{ ref: 3, id: lone, contactId: loner },
			]);
			assert.deepEqual(outcomes[0], { ref: 0, status: 'converted', id: lead, contactId: contact, accountId: account });
			assert.equal(failed(outcomes[1]).code, 'NOT_FOUND');
			assert.equal(failed(outcomes[1]).category, 'validation');
			assert.equal(failed(outcomes[2]).code, 'INVALID_DATA');
			assert.deepEqual(failed(outcomes[2]).fields, ['Accounts']);
			assert.equal(outcomes[3].status, 'converted');
			assert.equal(await zoho.get('lead', lead), undefined, 'a converted lead leaves Leads');
			assert.ok(await zoho.get('lead', other), 'a refused conversion keeps its lead');
			assert.equal(emulator.dump().Deals?.length ?? 0, dealsBefore, 'no deal is made');
			assert.equal(emulator.dump().Contacts?.length ?? 0, contactsBefore, 'no contact is made');

			// What was sent: the lead's own contact and account as {id} lookups, nothing created, nobody notified.
			const sent = proxy.bodies.find((b) => b.path === `/crm/v6/Leads/${lead}/actions/convert`);
			assert.deepEqual(sent?.body, { data: [{ overwrite: false, notify_lead_owner: false, notify_new_entity_owner: false, Contacts: { id: contact }, Accounts: { id: account } }] });
			// Without an accountId: the contact's own account (read once for the batch), none for a contact without one.
			const contactsAccount = proxy.bodies.find((b) => b.path === `/crm/v6/Leads/${deleted}/actions/convert`);
			assert.deepEqual(contactsAccount?.body, { data: [{ overwrite: false, notify_lead_owner: false, notify_new_entity_owner: false, Contacts: { id: contact }, Accounts: { id: account } }] });
			const noAccount = proxy.bodies.find((b) => b.path === `/crm/v6/Leads/${lone}/actions/convert`);
			assert.deepEqual(noAccount?.body, { data: [{ overwrite: false, notify_lead_owner: false, notify_new_entity_owner: false, Contacts: { id: loner } }] });
			assert.equal(emulator.requests().filter((r) => r.method === 'GET' && r.path === '/crm/v6/Contacts').length, 1);

			// Converted already: Zoho answers ID_ALREADY_CONVERTED (the lead has left Leads).
			const again = await zoho.convertLeads([{ ref: 7, id: lead, contactId: contact, accountId: account }]);
			assert.deepEqual(again, [{ ref: 7, status: 'unchanged', id: lead, contactId: contact, accountId: account } satisfies ConvertLeadSuccess]);
		} finally {
			await proxy.close();
		}
	});
});

describe('Zoho connector: listChanges', () => {
	test('pages past 2,000 records with page_token, resumes without repeats, reports deletions', async () => {
		const zoho = connector();
		const total = 2150;
		for (let i = 0; i < total; i += 1000) {
			const part = await zoho.create('account', Array.from({ length: Math.min(1000, total - i) }, (_, j) => ({ ref: i + j, fields: { Account_Name: `Acc ${i + j}` } })));
			assert.ok(part.every((o) => o.status === 'created'));
		}
		const seen = new Set<string>();
		let cursor: string | undefined;
		let pages = 0;
		for (;;) {
			const page = await zoho.listChanges('account', { cursor });
			pages++;
			for (const r of page.records) seen.add(r.id);
			cursor = page.cursor;
			if (!page.hasMore) break;
		}
		assert.equal(seen.size, total);
		assert.equal(pages, Math.ceil(total / 200));

		// The sandbox clock runs ahead under bulk writes, so many records share the boundary second:
		// a sweep can take several pages of already-delivered rows (skipped) before it is caught up.
		const sweep = async (from: string): Promise<{ ids: string[]; deleted: string[]; cursor: string }> => {
			const out = { ids: [] as string[], deleted: [] as string[], cursor: from };
			for (;;) {
				const page = await zoho.listChanges('account', { cursor: out.cursor });
				out.ids.push(...page.records.map((r) => r.id));
				out.deleted.push(...page.deleted.map((d) => d.id));
				out.cursor = page.cursor;
				if (!page.hasMore) return out;
			}
		};
		const quiet = await sweep(cursor!);
		assert.deepEqual(quiet.ids, []);

		await new Promise((r) => setTimeout(r, 1100));
		const [first, second] = [...seen];
		await zoho.update('account', [{ ref: 0, id: first, fields: { Website: 'https://first.test' } }]);
		await zoho.delete('account', [{ ref: 0, id: second }]);
		const changed = await sweep(quiet.cursor);
		assert.deepEqual(changed.ids, [first]);
		assert.deepEqual(changed.deleted, [second]);
		const again = await sweep(changed.cursor);
		assert.deepEqual(again.ids, [], 'the overlap second is de-duplicated');
	});
});

describe('Zoho connector: throttling, 5xx, token refresh', () => {
	test('429 TOO_MANY_REQUESTS: waits for X-RATELIMIT-RESET and recovers', async () => {
		const credits = (emulator as unknown as { credits: { limit: number; windowMs: number } }).credits;
		const saved = { ...credits };
		Object.assign(credits, { limit: 3, windowMs: 1500 });
		try {
			emulator.setRateLimits(true);
			const events: TransportEvent[] = [];
			const zoho = connector({}, { onEvent: (e) => events.push(e) });
			for (let i = 0; i < 6; i++) ok((await zoho.create('account', [{ ref: 0, fields: { Account_Name: `Limited ${i}` } }]))[0]);
			const throttles = events.filter((e) => e.type === 'throttle');
			assert.ok(throttles.length > 0);
			assert.ok(throttles.every((e) => e.error?.httpStatus === 429 && e.error.code === 'TOO_MANY_REQUESTS' && e.error.retryAfterMs !== undefined));
		} finally {
			Object.assign(credits, saved);
		}
	});

	test('5xx replies are retried', async () => {
		emulator.setFaults({ errorRate: 0.5, seed: 3 });
		const events: TransportEvent[] = [];
		const zoho = connector({}, { onEvent: (e) => events.push(e) });
		for (let i = 0; i < 5; i++) ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: `Flaky ${i}` } }]))[0]);
		assert.ok(events.some((e) => e.type === 'retry' && e.error?.httpStatus === 500));
	});

	test('refresh token: api_domain from the token response, refresh on 401 after expiry', async () => {
		emulator.setStrictAuth(true);
		const { refresh_token } = await grant();
		const events: TransportEvent[] = [];
		// No apiDomain and no access token: the first refresh supplies both.
		const zoho = new ZohoConnector({ refreshToken: refresh_token, clientId: 'cid', clientSecret: 'secret', accountsUrl: url }, { retry: { baseDelayMs: 20 }, onEvent: (e) => events.push(e) });
		await zoho.testConnection();
		await fetch(`${url}/__admin/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ expireAll: true }) });
		ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'After refresh' } }]))[0]);
		assert.equal(events.filter((e) => e.type === 'refresh').length, 1);

		const revoked = new ZohoConnector({ refreshToken: 'never-issued', clientId: 'cid', clientSecret: 'secret', accountsUrl: url });
		await assert.rejects(revoked.testConnection(), (e: unknown) => e instanceof CrmError && e.category === 'auth' && /invalid_code/.test(e.message));
	});
});

describe('Zoho connector: built from n8n credential values', () => {
	test('create() takes the OAuth2 credential (oauthTokenData, data centre or accounts override)', async () => {
		emulator.setStrictAuth(true);
		const token = await grant();
		const zoho = create({ clientId: 'cid', clientSecret: 'secret', accountsUrl: 'https://accounts.zoho.eu', accountsUrlOverride: url, apiDomainOverride: '', oauthTokenData: token });
		ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'From credential' } }]))[0]);
		assert.throws(() => create({ clientId: 'cid', oauthTokenData: {} }), /not connected/);
	});
});

describe('Zoho connector: metadata and loop marker', () => {
	test('describeFields: GET /settings/fields', async () => {
		const fields = await connector().describeFields('contact');
		const byName = new Map(fields.map((f) => [f.name, f]));
		assert.equal(byName.get('Last_Name')?.required, true);
		assert.equal(byName.get('Email')?.type, 'email');
		assert.equal(byName.get('Account_Name')?.type, 'reference');
		assert.deepEqual(byName.get('Account_Name')?.referenceTo, ['Accounts']);
		assert.ok((byName.get('Lead_Source')?.options ?? []).some((o) => o.value === 'Web Download'));
		assert.equal(byName.get('Modified_Time')?.readOnly, true);
		assert.ok(fields.every((f) => f.custom === false), 'the sandbox defines no custom fields');
	});

	test('changeOrigin: Modified_By of our writes is the token user (GET /users?type=CurrentUser)', async () => {
		const zoho = connector();
		const origin = await zoho.changeOrigin();
		const id = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Echo' } }]))[0]).id;
		assert.equal(((await zoho.get('contact', id))?.fields.Modified_By as { id: string }).id, origin.actorId);
	});
});

describe('Zoho connector: a delete whose reply was lost', () => {
	test('is sent again, answered INVALID_DATA "the id given seems to be invalid", reported NOT_FOUND and done by the writer', async () => {
		const zoho = connector({}, { timeoutMs: 300 });
		const id = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Gone' } }]))[0]).id;
		assert.equal((await zoho.delete('contact', [{ ref: 0, id }]))[0].status, 'deleted');
		assert.equal(failed((await zoho.delete('contact', [{ ref: 0, id }]))[0]).code, 'NOT_FOUND');

		const other = ok((await zoho.create('contact', [{ ref: 0, fields: { Last_Name: 'Lost reply' } }]))[0]).id;
		await assertLostDeleteIsDone({ connector: zoho, emulator, entity: 'contact', id: other, deletePath: '^/crm/v6/Contacts$' });
		assert.equal(await zoho.get('contact', other), undefined);
	});
});
