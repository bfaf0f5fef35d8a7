// Salesforce connector: every operation through the real jsforce against the sandbox emulator.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSandbox, type Emulator, type EmulatorOptions, type Sandbox } from '../../../../sandbox';
import { create, SalesforceConnector } from '../../../../lib/crms/salesforce/connector';
import { createConnector, type ConvertLeadOutcome, type ConvertLeadSuccess, type WriteFailure, type WriteOutcome } from '../../../../lib/connectors';
import type { TransportEvent } from '../../../../lib/http';
import { assertHungRequestAborted, assertLostDeleteIsDone } from '../unanswered';

let sandbox: Sandbox;
let sf: Emulator;
let url: string;
let seq = 0;

before(async () => {
	// A small daily quota so REQUEST_LIMIT_EXCEEDED is reachable in a test (only enforced with rate limits on).
	sandbox = await startSandbox({ crms: ['salesforce'], perCrm: { salesforce: { dailyApiLimit: 40 } as EmulatorOptions } });
	sf = sandbox.emulators.salesforce!;
	url = sandbox.urls.salesforce!;
});

after(async () => {
	await sandbox?.stop();
});

/** Authorization-code credential (as n8n stores it) with a fresh refresh token per connector. */
function connector(extra: Parameters<typeof create>[1] = {}): SalesforceConnector {
	return create(
		{ grantType: 'authorizationCode', clientId: 'sandbox-client', clientSecret: 'sandbox-secret', loginUrl: url, apiVersion: '62.0', oauthTokenData: { refresh_token: `rt-${++seq}`, instance_url: url } },
		{ retry: { baseDelayMs: 20, maxDelayMs: 500 }, ...extra },
	);
}

type Row = Record<string, unknown> & { Id: string; IsDeleted?: boolean };
function rows(type: string): Row[] {
	return (sf.dump()[type] ?? []) as Row[];
}

function idOf(outcome: WriteOutcome): string {
	assert.notEqual(outcome.status, 'failed', JSON.stringify(outcome));
	return (outcome as { id: string }).id;
}

describe('Salesforce connector', () => {
	test('createConnector builds it; testConnection obtains a token with the refresh token', async () => {
		const c = createConnector('salesforce', { grantType: 'authorizationCode', clientId: 'a', clientSecret: 'b', loginUrl: url, oauthTokenData: { refresh_token: 'rt-x' } });
		assert.equal(c.crm, 'salesforce');
		assert.equal(c.maxBatchSize('contact'), 200);
		assert.equal(c.matchField('contact', 'email'), 'Email');
		await c.testConnection();
	});

	test('client credentials grant', async () => {
		const c = create({ grantType: 'clientCredentials', clientId: 'cc-client', clientSecret: `cc-secret-${++seq}`, loginUrl: url });
		await c.testConnection();
		assert.equal(c.tokens.refreshCount, 1);
	});

	test('create, get, search, update, delete contacts; per-record errors use Salesforce\'s statusCode and message', async () => {
		const c = connector();
		const made = await c.create('contact', [
			{ ref: 0, fields: { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' } },
			{ ref: 1, fields: { FirstName: 'No', Email: 'nolastname@example.com' } },
			{ ref: 2, fields: { LastName: 'Bad', Email: 'not-an-email' } },
		]);
		const ada = idOf(made[0]);
		assert.equal(made[1].status, 'failed');
		assert.equal((made[1] as { code: string }).code, 'REQUIRED_FIELD_MISSING');
		assert.equal(made[2].status, 'failed');
		assert.equal((made[2] as { code: string }).code, 'INVALID_EMAIL_ADDRESS');
		assert.deepEqual((made[2] as { fields: string[] }).fields, ['Email']);

		const got = await c.get('contact', ada);
		assert.equal(got?.fields.LastName, 'Lovelace');
		assert.ok(got?.modifiedAt);
		assert.equal(await c.get('contact', '003000000000000AAA'), undefined);

		const found = await c.search('contact', 'Email', ['ada@example.com', "o'brien@example.com"]);
		assert.deepEqual(found.map((r) => r.id), [ada]);

		const upd = await c.update('contact', [
			{ ref: 0, id: ada, fields: { Title: 'Countess' } },
			{ ref: 1, id: ada, fields: { Email: 'still-bad' } },
		]);
		assert.equal(upd[0].status, 'updated');
		assert.equal(upd[1].status, 'failed');
		assert.equal(rows('Contact').find((r) => r.Id === ada)?.Title, 'Countess');

		const del = await c.delete('contact', [{ ref: 0, id: ada }, { ref: 1, id: '003000000000000AAA' }]);
		assert.equal(del[0].status, 'deleted');
		assert.equal(del[1].status, 'failed');
		assert.equal(await c.get('contact', ada), undefined);
	});

	test('upsert by Email: create, update, unchanged; a bad email fails alone', async () => {
		const c = connector();
		const first = await c.upsert('contact', 'Email', [
			{ ref: 0, fields: { Email: 'Grace@Example.com', LastName: 'Hopper' } },
			{ ref: 1, fields: { Email: 'bad-email', LastName: 'X' } },
			{ ref: 2, fields: { LastName: 'No key' } },
		]);
		assert.equal(first[0].status, 'created');
		assert.equal(first[1].status, 'failed');
		assert.equal(first[2].status, 'failed');
		assert.match((first[2] as { message: string }).message, /needs a value for Email/);
		const second = await c.upsert('contact', 'Email', [
			{ ref: 0, fields: { Email: 'grace@example.com', LastName: 'Hopper', Title: 'Rear Admiral' } },
		]);
		assert.equal(second[0].status, 'updated');
		assert.equal(idOf(second[0]), idOf(first[0]));
		const third = await c.upsert('contact', 'Email', [{ ref: 0, fields: { Email: 'grace@example.com', Title: 'Rear Admiral' } }]);
		assert.equal(third[0].status, 'unchanged');
		assert.equal(rows('Contact').filter((r) => String(r.Email).toLowerCase() === 'grace@example.com').length, 1);
	});

	for (const [fault, landed] of [['lostReplyRate', true], ['hangRate', false]] as const) {
		test(`upsert by Email whose create got no answer (${landed ? 'it was made' : 'it was not'}): looked up again, one record`, async () => {
			const c = connector({ timeoutMs: 300 });
			await c.testConnection();
			const email = `unanswered-${fault}@example.com`;
			sf.setFaults({ [fault]: 1, maxFaults: 1, pathPattern: '/composite/sobjects$' });
			let outcomes: WriteOutcome[];
			try {
				outcomes = await c.upsert('contact', 'Email', [{ ref: 0, fields: { Email: email, LastName: 'Unanswered' } }]);
			} finally {
				sf.setFaults({});
			}
			assert.equal(outcomes[0].status, 'created');
			const stored = rows('Contact').filter((r) => r.Email === email && !r.IsDeleted);
			assert.deepEqual(stored.map((r) => r.Id), [idOf(outcomes[0])]);
		});
	}

	test('upsert by an external id field: sObject Collections upsert in chunks of 200', async () => {
		const c = connector();
		const records = Array.from({ length: 450 }, (_, i) => ({ ref: i, fields: { Ext_Id__c: `E${i}`, Name: `Account ${i}` } }));
		const outcomes = await c.upsert('account', 'Ext_Id__c', records);
		assert.equal(outcomes.length, 450);
		assert.ok(outcomes.every((o) => o.status === 'created'), JSON.stringify(outcomes.find((o) => o.status !== 'created')));
		assert.equal(c.transport.stats.calls, 3, '450 records = 3 collection calls');
		const again = await c.upsert('account', 'Ext_Id__c', [{ ref: 0, fields: { Ext_Id__c: 'E5', Name: 'Account five' } }]);
		assert.equal(again[0].status, 'updated');
		assert.equal(idOf(again[0]), idOf(outcomes[5]));
	});

	test('opportunities and tasks', async () => {
		const c = connector();
		const opp = await c.create('opportunity', [{ ref: 0, fields: { Name: 'Big', StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 5000 } }]);
		assert.equal((await c.get('opportunity', idOf(opp[0])))?.fields.Amount, 5000);
		const task = await c.create('activity', [{ ref: 0, fields: { Subject: 'Call back', Status: 'Not Started', ActivityDate: '2026-12-01' } }]);
		const taskId = idOf(task[0]);
		assert.ok(taskId.startsWith('00T'));
		const upd = await c.update('activity', [{ ref: 0, id: taskId, fields: { Status: 'Completed' } }]);
		assert.equal(upd[0].status, 'updated');
		assert.equal((await c.get('activity', taskId))?.fields.Status, 'Completed');
		assert.equal((await c.delete('activity', [{ ref: 0, id: taskId }]))[0].status, 'deleted');
	});

	test('merge contacts through SOAP merge (master + 3 losers in two rounds); opportunities cannot merge', async () => {
		const c = connector();
		const made = await c.create('contact', Array.from({ length: 4 }, (_, i) => ({ ref: i, fields: { LastName: `Dup${i}`, Email: `dup${i}@example.com` } })));
		const [master, ...losers] = made.map(idOf);
		const merged = await c.merge('contact', [
			{ ref: 0, masterId: master, mergeIds: losers },
			{ ref: 1, masterId: master, mergeIds: ['003000000000000AAA'] },
		]);
		assert.equal(merged[0].status, 'merged');
		assert.equal(merged[1].status, 'failed');
		for (const loser of losers) {
			const row = rows('Contact').find((r) => r.Id === loser);
			assert.equal(row?.IsDeleted, true);
			assert.equal(row?.MasterRecordId, master);
		}
		await assert.rejects(c.merge('opportunity', [{ ref: 0, masterId: 'a', mergeIds: ['b'] }]), /not implemented/);
	});

	test('listChanges: SystemModstamp watermark, ties within a second, small pages, deletions and merges via queryAll', async () => {
		const c = connector();
		const since = new Date(Date.now() - 1000).toISOString();
		const made = await c.create('lead', Array.from({ length: 23 }, (_, i) => ({ ref: i, fields: { LastName: `Lead${i}`, Company: 'Co', Status: 'Open - Not Contacted' } })));
		const ids = made.map(idOf);
		const seen: string[] = [];
		let cursor: string | undefined;
		for (let pages = 0; ; pages++) {
			assert.ok(pages < 20, 'paging terminates');
			const page = await c.listChanges('lead', { since, cursor, pageSize: 5 });
			seen.push(...page.records.map((r) => r.id));
			cursor = page.cursor;
			if (!page.hasMore) break;
		}
		for (const id of ids) assert.ok(seen.includes(id), `lead ${id} listed`);
		assert.equal(new Set(seen).size, seen.length, 'no duplicates');

		await c.update('lead', [{ ref: 0, id: ids[0], fields: { Company: 'NewCo' } }]);
		await c.delete('lead', [{ ref: 0, id: ids[1] }]);
		await c.merge('lead', [{ ref: 0, masterId: ids[2], mergeIds: [ids[3]] }]);
		const next = await c.listChanges('lead', { cursor });
		assert.ok(next.records.some((r) => r.id === ids[0] && r.fields.Company === 'NewCo'));
		assert.ok(next.deleted.some((d) => d.id === ids[1] && !d.mergedInto));
		assert.ok(next.deleted.some((d) => d.id === ids[3] && d.mergedInto === ids[2]));
	});

	test('describeFields: live metadata with required and custom flags', async () => {
		const fields = await connector().describeFields('contact');
		const lastName = fields.find((f) => f.name === 'LastName');
		assert.equal(lastName?.required, true);
		assert.equal(fields.find((f) => f.name === 'Email')?.type, 'email');
		assert.equal(fields.find((f) => f.name === 'Id')?.readOnly, true);
	});

	test('403 REQUEST_LIMIT_EXCEEDED is a throttle: retried, and the call recovers once the quota is back', async () => {
		const events: TransportEvent[] = [];
		const c = connector({ retry: { baseDelayMs: 100, maxDelayMs: 400, maxAttempts: 30 }, onEvent: (e) => events.push(e) });
		await c.testConnection();
		sf.setRateLimits(true);
		let restored = false;
		try {
			const calls = Array.from({ length: 60 }, () => c.search('contact', 'Email', ['quota@example.com']));
			const throttled = new Promise<void>((resolve) => {
				const timer = setInterval(() => {
					if (events.some((e) => e.type === 'throttle')) {
						clearInterval(timer);
						resolve();
					}
				}, 20);
			});
			await throttled;
			// The "day" rolls over: the quota is available again.
			sf.setRateLimits(false);
			restored = true;
			const results = await Promise.all(calls);
			assert.equal(results.length, 60);
			const throttle = events.find((e) => e.type === 'throttle');
			assert.equal(throttle?.error?.code, 'REQUEST_LIMIT_EXCEEDED');
			assert.equal(throttle?.error?.httpStatus, 403);
			assert.equal(throttle?.error?.category, 'rate_limit');
		} finally {
			if (!restored) sf.setRateLimits(false);
		}
	});

	test('5xx replies are retried (jsforce\'s own retries are off, ours count them)', async () => {
		const c = connector();
		await c.testConnection();
		sf.setFaults({ errorRate: 0.5, seed: 3, pathPattern: '^/services/data/' });
		try {
			const outcomes = await c.create('account', Array.from({ length: 10 }, (_, i) => ({ ref: i, fields: { Name: `Flaky ${i}` } })));
			assert.ok(outcomes.every((o) => o.status === 'created'));
			for (let i = 0; i < 20; i++) assert.ok(await c.get('account', idOf(outcomes[0])));
			assert.ok(c.transport.stats.retries > 0);
		} finally {
			sf.setFaults({});
		}
	});

	test('an expired session (401 INVALID_SESSION_ID) is refreshed once and the call replayed', async () => {
		const c = connector();
		await c.testConnection();
		(sf as unknown as { tokens: { expireAll(): void } }).tokens.expireAll();
		const made = await c.create('account', [{ ref: 0, fields: { Name: 'After refresh' } }]);
		idOf(made[0]);
		assert.equal(c.transport.stats.refreshes, 1);
		// SOAP carries the session in the body: a refresh works there too.
		(sf as unknown as { tokens: { expireAll(): void } }).tokens.expireAll();
		const two = await c.create('account', [{ ref: 0, fields: { Name: 'M1' } }, { ref: 1, fields: { Name: 'M2' } }]);
		const merged = await c.merge('account', [{ ref: 0, masterId: idOf(two[0]), mergeIds: [idOf(two[1])] }]);
		assert.equal(merged[0].status, 'merged');
	});

	test('a refused refresh token is a clear auth error', async () => {
		sf.setStrictAuth(true);
		try {
			await assert.rejects(connector().testConnection(), (error: Error & { category?: string }) => {
				assert.equal(error.category, 'auth');
				assert.match(error.message, /token/);
				return true;
			});
		} finally {
			sf.setStrictAuth(false);
		}
	});
	test('writes carry Sforce-Call-Options client=<marker>: CDC changeOrigin shows it (echo detection)', async () => {
		const bodies: string[] = [];
		const receiver = createServer((req, res) => {
			let body = '';
			req.on('data', (c) => (body += c));
			req.on('end', () => {
				bodies.push(body);
				res.end('ok');
			});
		});
		await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
		try {
			sf.addSubscription({ type: 'changeEvent', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cdc`, secret: 's3cret', entities: ['Contact'] });
			const c = connector({ changeSourceMarker: 'crm-sync-e2e' });
			const made = await c.create('contact', [{ ref: 0, fields: { LastName: 'Echo', Email: 'echo@example.com' } }]);
			const id = idOf(made[0]);
			await sf.webhooksIdle();
			const event = bodies.map((b) => JSON.parse(b) as { data: { payload: { ChangeEventHeader: { recordIds: string[]; changeOrigin: string } } } }).find((e) => e.data.payload.ChangeEventHeader.recordIds.includes(id));
			assert.ok(event, 'a change event for the created contact');
			assert.match(event.data.payload.ChangeEventHeader.changeOrigin, /client=crm-sync-e2e/);
		} finally {
			receiver.closeAllConnections();
			await new Promise((resolve) => receiver.close(resolve));
		}
	});
});

describe('Salesforce connector: convertLeads', () => {
	function failure(outcome: ConvertLeadOutcome): WriteFailure {
		assert.equal(outcome.status, 'failed', JSON.stringify(outcome));
		return outcome as WriteFailure;
	}

	test('SOAP convertLead into the given contact and its account, no opportunity; converted already is unchanged; missing lead NOT_FOUND; a mixed batch', async () => {
		const c = connector();
		const [account, otherAccount] = (await c.create('account', [{ ref: 0, fields: { Name: 'Analytical Engines' } }, { ref: 1, fields: { Name: 'Other Co' } }])).map(idOf);
		const [contact, loner] = (
			await c.create('contact', [
				{ ref: 0, fields: { LastName: 'Lovelace', Email: 'ada@engines.example', AccountId: account } },
				{ ref: 1, fields: { LastName: 'Somerville', Email: 'mary@example.com' } },
			])
		).map(idOf);
		const leads = (
			await c.create(
				'lead',
				['Lovelace', 'Babbage', 'Somerville', 'Herschel'].map((name, ref) => ({ ref, fields: { LastName: name, Company: `${name} Ltd`, Status: 'Open - Not Contacted' } })),
			)
		).map(idOf);
		const counts = () => ({ accounts: rows('Account').filter((r) => !r.IsDeleted).length, contacts: rows('Contact').filter((r) => !r.IsDeleted).length, opportunities: rows('Opportunity').length });
		const before = counts();

		const outcomes = await c.convertLeads([
			// No accountId: the contact's own account.
			{ ref: 0, id: leads[0], contactId: contact, withOpportunity: true },
			{ ref: 1, id: leads[1], contactId: contact, accountId: account },
			// A contact without an account cannot take a lead in Salesforce.
			{ ref: 2, id: leads[2], contactId: loner },
			// An account the contact does not belong to: Salesforce's own refusal.
			{ ref: 3, id: leads[3], contactId: contact, accountId: otherAccount },
			{ ref: 4, id: '00Q000000000000AAA', contactId: contact },
			{ ref: 5, id: 'not-an-id', contactId: contact },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'converted', id: leads[0], contactId: contact, accountId: account });
		assert.equal(outcomes[1].status, 'converted');
		assert.equal(failure(outcomes[2]).code, 'ACCOUNT_REQUIRED');
		assert.deepEqual(failure(outcomes[2]).fields, ['accountId']);
		assert.equal(failure(outcomes[3]).category, 'validation');
		assert.equal(failure(outcomes[3]).code, 'FIELD_INTEGRITY_EXCEPTION');
		assert.equal(failure(outcomes[4]).code, 'NOT_FOUND');
		assert.equal(failure(outcomes[5]).code, 'INVALID_ID');
		assert.deepEqual(counts(), before, 'no account, contact or opportunity is created');
		const lead = rows('Lead').find((r) => r.Id === leads[0])!;
		assert.equal(lead.IsConverted, true);
		assert.equal(lead.ConvertedContactId, contact);
		assert.equal(lead.ConvertedAccountId, account);
		assert.equal(lead.Status, 'Closed - Converted');
		assert.notEqual(rows('Lead').find((r) => r.Id === leads[3])!.IsConverted, true, 'a refused conversion leaves the lead open');

		// Converted already: read in one query, not sent again.
		const again = await c.convertLeads([{ ref: 9, id: leads[0], contactId: contact }]);
		assert.deepEqual(again, [{ ref: 9, status: 'unchanged', id: leads[0], contactId: contact, accountId: account } satisfies ConvertLeadSuccess]);
	});

	test('a convertLead whose reply was lost is sent again, refused as converted, and reported converted', async () => {
		const c = connector({ timeoutMs: 300 });
		const account = idOf((await c.create('account', [{ ref: 0, fields: { Name: 'Lost Reply Ltd' } }]))[0]);
		const contact = idOf((await c.create('contact', [{ ref: 0, fields: { LastName: 'Lost', AccountId: account } }]))[0]);
		const lead = idOf((await c.create('lead', [{ ref: 0, fields: { LastName: 'Lost', Company: 'Lost Reply Ltd', Status: 'Open - Not Contacted' } }]))[0]);
		const before = Math.max(0, ...sf.requests().map((r) => r.seq));
		sf.setFaults({ lostReplyRate: 1, maxFaults: 1, pathPattern: '^/services/Soap/' });
		try {
			const [outcome] = await c.convertLeads([{ ref: 0, id: lead, contactId: contact, accountId: account }]);
			assert.deepEqual(outcome, { ref: 0, status: 'converted', id: lead, contactId: contact, accountId: account });
		} finally {
			sf.setFaults({});
		}
		const soap = sf.requests().filter((r) => r.seq > before && r.path.startsWith('/services/Soap/'));
		assert.deepEqual(soap.map((r) => r.fault ?? r.status), ['lostReply', 200]);
	});
});

describe('Salesforce connector: requests without an answer', () => {
	test('a delete whose reply was lost is sent again, answered ENTITY_IS_DELETED, reported NOT_FOUND and done by the writer', async () => {
		const c = connector({ timeoutMs: 400 });
		const [made] = await c.create('contact', [{ ref: 0, fields: { LastName: 'Gone', Email: 'gone.sf@example.com' } }]);
		assert.equal((await c.delete('contact', [{ ref: 0, id: idOf(made) }]))[0].status, 'deleted');
		// A second delete finds the record in the recycle bin.
		const [gone] = await c.delete('contact', [{ ref: 0, id: idOf(made) }]);
		assert.deepEqual({ status: gone.status, code: (gone as { code?: string }).code }, { status: 'failed', code: 'NOT_FOUND' });
		assert.match((gone as { message: string }).message, /ENTITY_IS_DELETED/);

		const [other] = await c.create('contact', [{ ref: 0, fields: { LastName: 'Lost reply', Email: 'lost.sf@example.com' } }]);
		await assertLostDeleteIsDone({ connector: c, emulator: sf, entity: 'contact', id: idOf(other), deletePath: '/composite/sobjects$' });
		assert.equal(rows('Contact').find((r) => r.Id === idOf(other))?.IsDeleted, true);
	});

	test('a request that times out is aborted by jsforce (its connection closed) before the retry', async () => {
		const c = connector({ timeoutMs: 400 });
		const [made] = await c.create('contact', [{ ref: 0, fields: { LastName: 'Slow', Email: 'slow.sf@example.com' } }]);
		const [updated] = await assertHungRequestAborted(sf, '/composite/sobjects$', () => c.update('contact', [{ ref: 0, id: idOf(made), fields: { Title: 'Slower' } }]));
		assert.equal(updated.status, 'updated');
		assert.equal(rows('Contact').find((r) => r.Id === idOf(made))?.Title, 'Slower');
	});
});
