// DynamicsConnector over real HTTP against sandbox/dynamics (Dataverse Web API v9.2 emulator).

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { appUserIdFor } from '../../../../sandbox/dynamics';
import { create, DynamicsConnector, type DynamicsConfig } from '../../../../lib/crms/dynamics/connector';
import type { ConnectorRuntime, ConvertLeadSuccess, WriteFailure, WriteSuccess } from '../../../../lib/connectors/types';
import { CrmError, type TransportEvent } from '../../../../lib/http';
import { assertLostDeleteIsDone } from '../unanswered';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let clientSeq = 0;

/** A connector with its own app registration (limiter and token caches are per credential). */
function connector(extra: Partial<DynamicsConfig> = {}, runtime: ConnectorRuntime = {}): DynamicsConnector {
	return new DynamicsConnector(
		{ orgUrl: url, authorityUrl: url, tenantId: 'tenant-1', clientId: `client-${++clientSeq}`, clientSecret: 'secret', ...extra },
		{ retry: { baseDelayMs: 20 }, ...runtime },
	);
}

function ok(outcome: unknown): WriteSuccess {
	assert.notEqual((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteSuccess;
}

function failed(outcome: unknown): WriteFailure {
	assert.equal((outcome as WriteFailure).status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

async function requestCount(): Promise<number> {
	return ((await (await fetch(`${url}/__admin/health`)).json()) as { requests: number }).requests;
}

function rows(set: string): Array<Record<string, unknown>> {
	return emulator.dump()[set] as Array<Record<string, unknown>>;
}

before(async () => {
	sandbox = await startSandbox({ crms: ['dynamics'] });
	emulator = sandbox.emulators.dynamics!;
	url = sandbox.urls.dynamics!;
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

describe('Dynamics connector: records', () => {
	test('testConnection (WhoAmI) and the loop marker: our writes carry the application user', async () => {
		const dv = connector({ clientId: 'loop-app' });
		await dv.testConnection();
		const origin = await dv.changeOrigin();
		assert.equal(origin.actorId, appUserIdFor('loop-app'));
		const id = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Echo' } }]))[0]).id;
		assert.equal((await dv.get('contact', id))?.fields._modifiedby_value, origin.actorId);
	});

	test('$batch create with per-record failures in their own changesets; get, update with If-Match: *, delete', async () => {
		const dv = connector();
		const outcomes = await dv.create('contact', [
			{ ref: 0, fields: { firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@example.com', telephone1: '+44 20 7946 0000' } },
			{ ref: 1, fields: { lastname: 'Bad', not_a_column: 1 } },
			{ ref: 2, fields: { lastname: 'Wrong type', donotemail: 'yes' } },
			{ ref: 3, fields: { lastname: 'Babbage' } },
		]);
		const ada = ok(outcomes[0]).id;
		assert.match(failed(outcomes[1]).message, /not_a_column/);
		assert.equal(failed(outcomes[1]).code, '0x80060888');
		assert.match(failed(outcomes[2]).message, /Edm\.Boolean/);
		ok(outcomes[3]);
		assert.equal(rows('contacts').length, 2, 'failed changesets were rolled back, the others kept');

		const record = await dv.get('contact', ada);
		assert.equal(record?.fields.emailaddress1, 'ada@example.com');
		assert.ok(record?.modifiedAt);
		assert.equal(await dv.get('contact', '00000000-0000-0000-0000-000000000001'), undefined);

		const missing = '00000000-0000-0000-0000-000000000002';
		const updated = await dv.update('contact', [{ ref: 0, id: ada, fields: { jobtitle: 'Countess' } }, { ref: 1, id: missing, fields: { lastname: 'Ghost' } }, { ref: 2, id: 'nope', fields: {} }]);
		assert.deepEqual(updated[0], { ref: 0, status: 'updated', id: ada });
		assert.equal(failed(updated[1]).code, '0x80040217');
		assert.equal(failed(updated[2]).code, 'INVALID_ID');
		assert.equal(rows('contacts').length, 2, 'If-Match: * kept the PATCH of a missing id from creating a record');
		assert.equal((await dv.get('contact', ada))?.fields.jobtitle, 'Countess');

		assert.deepEqual((await dv.search('contact', 'emailaddress1', ['ADA@example.com', "o'hara@example.com"])).map((r) => r.id), [ada]);
		assert.deepEqual((await dv.search('contact', 'telephone1', ['+44 20 7946 0000'])).map((r) => r.id), [ada]);

		const deleted = await dv.delete('contact', [{ ref: 0, id: ada }, { ref: 1, id: missing }]);
		assert.deepEqual(deleted[0], { ref: 0, status: 'deleted', id: ada });
		assert.equal(failed(deleted[1]).category, 'validation');
		assert.equal(await dv.get('contact', ada), undefined);
	});

	test('writes go up to 1,000 operations per $batch', async () => {
		const dv = connector();
		await dv.testConnection();
		const before = await requestCount();
		const outcomes = await dv.create('account', Array.from({ length: 1200 }, (_, i) => ({ ref: i, fields: { name: `Account ${i}` } })));
		assert.equal(await requestCount() - before, 2);
		assert.equal(outcomes.filter((o) => o.status === 'created').length, 1200);
	});

	test('upsert by alternate key (PATCH contacts(emailaddress1=...)): 201 created / 200 updated, repeated keys in order', async () => {
		const dv = connector();
		const existing = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Old', emailaddress1: 'old@example.com' } }]))[0]).id;
		const outcomes = await dv.upsert('contact', 'emailaddress1', [
			{ ref: 0, fields: { lastname: 'Renamed', emailaddress1: 'old@example.com' } },
			{ ref: 1, fields: { lastname: 'New', emailaddress1: "o'new@example.com" } },
			{ ref: 2, fields: { lastname: 'New again', emailaddress1: "o'new@example.com" } },
			{ ref: 3, fields: { lastname: 'Keyless' } },
			{ ref: 4, fields: { lastname: 'Bad', emailaddress1: 'bad@example.com', birthdate: 'yesterday' } },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'updated', id: existing });
		assert.equal(ok(outcomes[1]).status, 'created');
		assert.deepEqual(outcomes[2], { ref: 2, status: 'updated', id: ok(outcomes[1]).id });
		assert.equal(failed(outcomes[3]).code, 'MISSING_MATCH_KEY');
		assert.match(failed(outcomes[4]).message, /Edm\.Date/);
		assert.equal((await dv.get('contact', ok(outcomes[1]).id))?.fields.lastname, 'New again');
	});

	test('upsert on a field that is not an alternate key falls back to search + write', async () => {
		const dv = connector();
		const [a] = (await dv.create('contact', [{ ref: 0, fields: { lastname: 'A', jobtitle: 'CTO' } }, { ref: 1, fields: { lastname: 'B', jobtitle: 'CFO' } }, { ref: 2, fields: { lastname: 'C', jobtitle: 'CFO' } }])).map((o) => ok(o).id);
		const outcomes = await dv.upsert('contact', 'jobtitle', [
			{ ref: 0, fields: { lastname: 'A2', jobtitle: 'CTO' } },
			{ ref: 1, fields: { lastname: 'D', jobtitle: 'CEO' } },
			{ ref: 2, fields: { lastname: 'D2', jobtitle: 'CEO' } },
			{ ref: 3, fields: { lastname: 'Which', jobtitle: 'CFO' } },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'updated', id: a });
		assert.equal(ok(outcomes[1]).status, 'created');
		assert.deepEqual(outcomes[2], { ref: 2, status: 'updated', id: ok(outcomes[1]).id });
		assert.equal(failed(outcomes[3]).code, 'MULTIPLE_MATCHES');
		assert.equal((await dv.get('contact', a))?.fields.lastname, 'A2');
	});

	for (const [fault, landed] of [['lostReplyRate', true], ['hangRate', false]] as const) {
		test(`search + write upsert whose create got no answer (${landed ? 'it was made' : 'it was not'}): looked up again, one record`, async () => {
			const dv = connector({}, { timeoutMs: 300 });
			const title = `Unanswered ${fault}`;
			ok((await dv.upsert('contact', 'jobtitle', [{ ref: 0, fields: { lastname: 'Learns the key', jobtitle: 'Not a key' } }]))[0]);
			emulator.setFaults({ [fault]: 1, maxFaults: 1, pathPattern: '\\$batch' });
			const [outcome] = await dv.upsert('contact', 'jobtitle', [{ ref: 0, fields: { lastname: 'Unanswered', jobtitle: title } }]);
			assert.equal(ok(outcome).status, landed ? 'updated' : 'created');
			assert.deepEqual(rows('contacts').filter((r) => r.jobtitle === title).map((r) => r.contactid), [ok(outcome).id]);
		});
	}

	test('accounts, leads, opportunities and tasks with @odata.bind lookups', async () => {
		const dv = connector();
		const account = ok((await dv.create('account', [{ ref: 0, fields: { name: 'Acme', accountnumber: 'A-1' } }]))[0]).id;
		const lead = ok((await dv.create('lead', [{ ref: 0, fields: { subject: 'Inbound', lastname: 'Lead', companyname: 'Acme', leadsourcecode: 8 } }]))[0]).id;
		const opp = ok((await dv.create('opportunity', [{ ref: 0, fields: { name: 'Big deal', estimatedvalue: 5000, estimatedclosedate: '2026-12-31', 'customerid_account@odata.bind': `/accounts(${account})` } }]))[0]).id;
		const task = ok((await dv.create('activity', [{ ref: 0, fields: { subject: 'Call back', scheduledend: '2026-12-01T10:00:00Z', 'regardingobjectid_opportunity_task@odata.bind': `/opportunities(${opp})` } }]))[0]).id;
		assert.equal((await dv.get('opportunity', opp))?.fields._customerid_value, account);
		assert.equal((await dv.get('activity', task))?.fields._regardingobjectid_value, opp);
		const [badBind] = await dv.create('opportunity', [{ ref: 0, fields: { name: 'Orphan', 'customerid_account@odata.bind': '/accounts(00000000-0000-0000-0000-000000000009)' } }]);
		assert.equal(failed(badBind).code, '0x80040217');
		ok((await dv.update('lead', [{ ref: 0, id: lead, fields: { companyname: 'Acme Ltd' } }]))[0]);
		ok((await dv.update('activity', [{ ref: 0, id: task, fields: { statecode: 1 } }]))[0]);
		assert.equal((await dv.get('lead', lead))?.fields.companyname, 'Acme Ltd');
		for (const [entity, id] of [['activity', task], ['opportunity', opp], ['lead', lead], ['account', account]] as const) {
			assert.equal(ok((await dv.delete(entity, [{ ref: 0, id }]))[0]).status, 'deleted');
		}
	});

	test('merge: POST /Merge deactivates the subordinate and keeps the master', async () => {
		const dv = connector();
		const [master, sub1, sub2] = (await dv.create('account', [0, 1, 2].map((i) => ({ ref: i, fields: { name: `Acme ${i}` } })))).map((o) => ok(o).id);
		const contact = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Child', 'parentcustomerid_account@odata.bind': `/accounts(${sub1})` } }]))[0]).id;
		const [merged, again] = await dv.merge('account', [
			{ ref: 0, masterId: master, mergeIds: [sub1, sub2] },
			{ ref: 1, masterId: master, mergeIds: [sub1] },
		]);
		assert.deepEqual(merged, { ref: 0, status: 'merged', id: master, mergedIds: [sub1, sub2] });
		assert.match(failed(again).message, /already been merged/);
		assert.equal((await dv.get('account', sub1))?.fields.statecode, 1, 'deactivated, not deleted');
		assert.equal((await dv.get('contact', contact))?.fields._parentcustomerid_value, master);
		await assert.rejects(dv.merge('opportunity', [{ ref: 0, masterId: master, mergeIds: [sub1] }]), /not implemented/);
	});
});

describe('Dynamics connector: convertLeads', () => {
	test('binds the lead to the contact and account, then QualifyLead creating nothing; qualified already is unchanged; missing NOT_FOUND; a mixed batch', async () => {
		const dv = connector();
		const account = ok((await dv.create('account', [{ ref: 0, fields: { name: 'Analytical Engines' } }]))[0]).id;
		const contact = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Lovelace', emailaddress1: 'ada@engines.example', 'parentcustomerid_account@odata.bind': `/accounts(${account})` } }]))[0]).id;
		const leads = (
			await dv.create(
				'lead',
				['Lovelace', 'Babbage', 'Somerville', 'Herschel'].map((name, ref) => ({ ref, fields: { lastname: name, companyname: `${name} Ltd`, subject: `${name} lead` } })),
			)
		).map((o) => ok(o).id);
		ok((await dv.update('lead', [{ ref: 0, id: leads[3], fields: { statecode: 2, statuscode: 4 } }]))[0]);
		const counts = () => ({ accounts: rows('accounts').length, contacts: rows('contacts').length, opportunities: (rows('opportunities') ?? []).length });
		const before = counts();

		const outcomes = await dv.convertLeads([
			{ ref: 0, id: leads[0], contactId: contact, accountId: account, withOpportunity: true },
			{ ref: 1, id: leads[1], contactId: contact },
			{ ref: 2, id: leads[2], contactId: '00000000-0000-0000-0000-00000000abcd' },
			{ ref: 3, id: leads[3], contactId: contact },
			{ ref: 4, id: '00000000-0000-0000-0000-000000000001', contactId: contact },
			{ ref: 5, id: 'not-a-guid', contactId: contact },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'converted', id: leads[0], contactId: contact, accountId: account });
		assert.deepEqual(outcomes[1], { ref: 1, status: 'converted', id: leads[1], contactId: contact });
		assert.equal(failed(outcomes[2]).category, 'validation', 'a contact that is not there');
		assert.equal(failed(outcomes[3]).code, 'LEAD_DISQUALIFIED');
		assert.equal(failed(outcomes[4]).code, 'NOT_FOUND');
		assert.equal(failed(outcomes[5]).code, 'INVALID_ID');
		assert.deepEqual(counts(), before, 'no account, contact or opportunity is created');
		const lead = rows('leads').find((r) => r.leadid === leads[0])!;
		assert.equal(lead.statecode, 1);
		assert.equal(lead.statuscode, 3);
		assert.equal(lead._parentcontactid_value, contact);
		assert.equal(lead._parentaccountid_value, account);
		assert.equal(rows('leads').find((r) => r.leadid === leads[2])!.statecode, 0, 'a refused conversion leaves the lead open');

		const again = await dv.convertLeads([{ ref: 7, id: leads[0], contactId: contact }]);
		assert.deepEqual(again, [{ ref: 7, status: 'unchanged', id: leads[0], contactId: contact, accountId: account } satisfies ConvertLeadSuccess]);
	});
});

describe('Dynamics connector: what a qualified lead became', () => {
	const qualify = async (id: string, body: Record<string, unknown>): Promise<Array<Record<string, string>>> => {
		const res = await fetch(`${url}/api/data/v9.2/leads(${id})/Microsoft.Dynamics.CRM.QualifyLead`, {
			method: 'POST',
			headers: { Authorization: 'Bearer person-in-the-app', 'Content-Type': 'application/json', 'x-sandbox-change-source': 'app' },
			body: JSON.stringify({ Status: 3, ...body }),
		});
		assert.equal(res.status, 200, await res.clone().text());
		return ((await res.json()) as { value: Array<Record<string, string>> }).value;
	};
	const reads = (set: string) => emulator.requests().filter((r) => r.method === 'GET' && r.path.split('?')[0].endsWith(`/${set}`)).length;
	const converted = (fields: Record<string, unknown>) => [fields.crmSyncConvertedContactId, fields.crmSyncConvertedAccountId, fields.crmSyncConvertedOpportunityId];

	test('QualifyLead creating records (originatingleadid), into existing ones (parentcontactid / parentaccountid) or mixed; open leads get nothing', async () => {
		const dv = connector();
		const account = ok((await dv.create('account', [{ ref: 0, fields: { name: 'Existing Co' } }]))[0]).id;
		const contact = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Existing' } }]))[0]).id;
		const [created, intoExisting, mixed, open, disqualified] = (
			await dv.create('lead', ['Created', 'Into', 'Mixed', 'Open', 'Nope'].map((name, ref) => ({ ref, fields: { lastname: name, companyname: `${name} Ltd`, subject: `${name} lead` } })))
		).map((o) => ok(o).id);
		const made = await qualify(created, { CreateAccount: true, CreateContact: true, CreateOpportunity: true });
		const idOf = (type: string) => made.find((m) => m['@odata.type'] === `#Microsoft.Dynamics.CRM.${type}`)![`${type}id`];
		ok((await dv.convertLeads([{ ref: 0, id: intoExisting, contactId: contact, accountId: account }]))[0]);
		ok((await dv.update('lead', [{ ref: 0, id: mixed, fields: { 'parentaccountid@odata.bind': `/accounts(${account})` } }]))[0]);
		const mixedMade = await qualify(mixed, { CreateAccount: false, CreateContact: true, CreateOpportunity: false });
		ok((await dv.update('lead', [{ ref: 0, id: disqualified, fields: { statecode: 2, statuscode: 4 } }]))[0]);

		assert.deepEqual(converted((await dv.get('lead', created))!.fields), [idOf('contact'), idOf('account'), idOf('opportunity')]);
		assert.deepEqual(converted((await dv.get('lead', intoExisting))!.fields), [contact, account, null]);
		assert.deepEqual(converted((await dv.get('lead', mixed))!.fields), [mixedMade[0].contactid, account, null]);
		for (const id of [open, disqualified]) {
			const fields = (await dv.get('lead', id))!.fields;
			assert.ok(!('crmSyncConvertedContactId' in fields) && !('crmSyncConvertedAccountId' in fields) && !('crmSyncConvertedOpportunityId' in fields), 'not qualified: no conversion fields');
		}

		// Asked for by name with other columns: no 400 for the made-up names; the lead's own columns are read too.
		const narrow = await dv.get('lead', created, { fields: ['lastname', 'crmSyncConvertedContactId'] });
		assert.equal(narrow?.fields.crmSyncConvertedContactId, idOf('contact'));
		const listed = await dv.search('lead', 'lastname', ['Created', 'Into', 'Mixed', 'Open'], { fields: ['lastname'] });
		assert.deepEqual(Object.fromEntries(listed.map((r) => [r.fields.lastname, r.fields.crmSyncConvertedContactId])), { Created: idOf('contact'), Into: contact, Mixed: mixedMade[0].contactid, Open: undefined });
	});

	test('bounded: one query per entity for a page of leads, only for the lookups leads lack; none for open leads; listChanges (filter and change tracking) too', async () => {
		const dv = connector();
		const account = ok((await dv.create('account', [{ ref: 0, fields: { name: 'Parent' } }]))[0]).id;
		const contact = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Parent' } }]))[0]).id;
		const leads = (await dv.create('lead', Array.from({ length: 30 }, (_, ref) => ({ ref, fields: { lastname: `L${ref}`, companyname: `C${ref}`, subject: `S${ref}` } })))).map((o) => ok(o).id);
		for (const id of leads.slice(0, 12)) await qualify(id, { CreateAccount: true, CreateContact: true, CreateOpportunity: false });
		ok((await dv.convertLeads(leads.slice(12, 20).map((id, ref) => ({ ref, id, contactId: contact, accountId: account }))))[0]);

		const origin = new Map(rows('contacts').filter((r) => r._originatingleadid_value).map((r) => [r._originatingleadid_value, r.contactid]));
		const counts = () => ({ contacts: reads('contacts'), accounts: reads('accounts'), opportunities: reads('opportunities') });
		const delta = (before: ReturnType<typeof counts>) => {
			const now = counts();
			return { contacts: now.contacts - before.contacts, accounts: now.accounts - before.accounts, opportunities: now.opportunities - before.opportunities };
		};
		const check = (records: Array<{ id: string; fields: Record<string, unknown> }>) => {
			for (const r of records) {
				const i = leads.indexOf(r.id);
				if (i < 12) assert.deepEqual(converted(r.fields).slice(0, 1), [origin.get(r.id)], `lead ${i}`);
				else if (i < 20) assert.deepEqual(converted(r.fields), [contact, account, null], `lead ${i}`);
				else assert.equal(r.fields.crmSyncConvertedContactId, undefined, `lead ${i}`);
			}
		};

		let before = counts();
		const all = await dv.search('lead', 'lastname', leads.map((_, i) => `L${i}`));
		assert.equal(all.length, 30);
		check(all);
		assert.deepEqual(delta(before), { contacts: 1, accounts: 1, opportunities: 1 }, '20 qualified leads: one query per entity');

		before = counts();
		check(await dv.search('lead', 'lastname', ['L25', 'L26', 'L27']));
		assert.deepEqual(delta(before), { contacts: 0, accounts: 0, opportunities: 0 }, 'open leads: no query');
		before = counts();
		check(await dv.search('lead', 'lastname', ['L13', 'L14']));
		assert.deepEqual(delta(before), { contacts: 0, accounts: 0, opportunities: 1 }, 'parents known: only the opportunity is looked up');

		before = counts();
		const page = await dv.listChanges('lead', { pageSize: 50 });
		assert.equal(page.records.length, 30);
		check(page.records);
		assert.deepEqual(delta(before), { contacts: 1, accounts: 1, opportunities: 1 });

		const tracked = connector({ changeTracking: true });
		before = counts();
		let cursor: string | undefined;
		const seen: Array<{ id: string; fields: Record<string, unknown> }> = [];
		for (;;) {
			const p = await tracked.listChanges('lead', { cursor, pageSize: 15, fields: ['lastname', 'crmSyncConvertedAccountId'] });
			seen.push(...p.records);
			cursor = p.cursor;
			if (!p.hasMore) break;
		}
		assert.equal(seen.length, 30);
		check(seen);
		assert.deepEqual(delta(before), { contacts: 1, accounts: 1, opportunities: 2 }, 'two pages: the first holds the 12 and 3 of the 8, the second 5 of the 8');
	});
});

describe('Dynamics connector: opportunities won and lost', () => {
	const opp = (id: string) => rows('opportunities').find((r) => r.opportunityid === id)!;
	const state = (id: string) => [opp(id).statecode, opp(id).statuscode];

	test('create won or lost: created open and closed by Win/LoseOpportunity in one changeset, one $batch', async () => {
		const dv = connector();
		await dv.testConnection();
		const before = await requestCount();
		const outcomes = await dv.create('opportunity', [
			{ ref: 0, fields: { name: 'Won deal', estimatedvalue: 5000, estimatedclosedate: '2026-03-31', statecode: 1 } },
			{ ref: 1, fields: { name: 'Lost deal', statecode: 2, statuscode: 5 } },
			{ ref: 2, fields: { name: 'Lost, custom reason', statecode: 2, statuscode: 100000001 } },
			{ ref: 3, fields: { name: 'Open deal', estimatedvalue: 10, statecode: 0 } },
			{ ref: 4, fields: { name: 'Bad', statecode: 1, not_a_column: 1 } },
		]);
		assert.equal(await requestCount() - before, 1, 'one $batch, no reads');
		const [won, lost, custom, open] = outcomes.slice(0, 4).map((o) => ok(o).id);
		assert.ok(outcomes.slice(0, 4).every((o) => o.status === 'created'));
		assert.deepEqual(state(won), [1, 3]);
		assert.deepEqual([opp(won).actualvalue, opp(won).actualclosedate], [5000, '2026-03-31'], 'actual revenue and end from the estimated ones');
		assert.deepEqual(state(lost), [2, 5]);
		assert.deepEqual(state(custom), [2, 4], 'a status reason not of the state: Status -1, the state default');
		assert.deepEqual(state(open), [0, 1]);
		assert.equal(failed(outcomes[4]).code, '0x80060888');
		assert.equal(rows('opportunities').length, 4, 'the failed changeset left nothing');
		const closes = emulator.requests().filter((r) => /WinOpportunity|LoseOpportunity/.test(r.path));
		assert.deepEqual(closes, [], 'the actions ran inside the $batch');
	});

	test('update: the other fields, then the close; already closed that way: unchanged or the fields only; won ↔ lost through a reopen; reopen by PATCH', async () => {
		const dv = connector();
		const [a, b, c, d, e] = (await dv.create('opportunity', ['A', 'B', 'C', 'D', 'E'].map((name, ref) => ({ ref, fields: { name, estimatedvalue: 100 } })))).map((o) => ok(o).id);
		const missing = '00000000-0000-0000-0000-0000000000ff';
		const first = await dv.update('opportunity', [
			{ ref: 0, id: a, fields: { name: 'A won', statecode: 1 } },
			{ ref: 1, id: b, fields: { statecode: 2, statuscode: 4 } },
			{ ref: 2, id: c, fields: { name: 'C still open', statecode: 0, statuscode: 2 } },
			{ ref: 3, id: missing, fields: { name: 'Ghost', statecode: 1 } },
		]);
		assert.deepEqual(first.slice(0, 3), [
			{ ref: 0, status: 'updated', id: a },
			{ ref: 1, status: 'updated', id: b },
			{ ref: 2, status: 'updated', id: c },
		]);
		assert.equal(failed(first[3]).code, '0x80040217');
		assert.deepEqual([opp(a).name, ...state(a)], ['A won', 1, 3]);
		assert.deepEqual(state(b), [2, 4]);
		assert.deepEqual([opp(c).name, ...state(c)], ['C still open', 0, 2]);

		const second = await dv.update('opportunity', [
			{ ref: 0, id: a, fields: { statecode: 1 } },
			{ ref: 1, id: a, fields: { name: 'A renamed', statecode: 1, statuscode: 3 } },
			{ ref: 2, id: b, fields: { statecode: 1 } },
			{ ref: 3, id: d, fields: { statecode: 2 } },
			{ ref: 4, id: e, fields: { name: 'E', statecode: 0 } },
		]);
		assert.deepEqual(second.map((o) => o.status), ['unchanged', 'updated', 'updated', 'updated', 'updated']);
		assert.deepEqual([opp(a).name, ...state(a)], ['A renamed', 1, 3]);
		assert.deepEqual(state(b), [1, 3], 'lost → won: reopened, then won');
		assert.deepEqual(state(d), [2, 4]);
		assert.deepEqual(state(e), [0, 1]);

		const reopened = await dv.update('opportunity', [{ ref: 0, id: a, fields: { statecode: 0, statuscode: 2 } }, { ref: 1, id: d, fields: { name: 'D again', statecode: 0 } }]);
		assert.deepEqual(reopened.map((o) => o.status), ['updated', 'updated']);
		assert.deepEqual(state(a), [0, 2]);
		assert.deepEqual([opp(d).name, ...state(d)], ['D again', 0, 1]);
	});

	test('a close the CRM refuses is the record\'s failure with the CRM\'s message; its other fields roll back, other records go on', async () => {
		const dv = connector();
		const [a, b] = (await dv.create('opportunity', [{ ref: 0, fields: { name: 'Needs products' } }, { ref: 1, fields: { name: 'Fine' } }])).map((o) => ok(o).id);
		type Ctx = { body?: { OpportunityClose?: Record<string, unknown> } };
		const impl = emulator as unknown as { closeOpportunity: (ctx: Ctx, outcome: string) => unknown };
		const original = impl.closeOpportunity;
		impl.closeOpportunity = function (this: unknown, ctx: Ctx, outcome: string) {
			const close = ctx.body?.OpportunityClose ?? {};
			if (String(close['opportunityid@odata.bind']).includes(a) || close.subject === 'Won: Created won') {
				return { status: 400, headers: { 'Content-Type': 'application/json' }, body: { error: { code: '0x80040265', message: 'Add a product before closing this opportunity as won.' } } };
			}
			return original.call(this, ctx, outcome);
		};
		try {
			const outcomes = await dv.update('opportunity', [{ ref: 0, id: a, fields: { name: 'Renamed', statecode: 1 } }, { ref: 1, id: b, fields: { statecode: 1 } }]);
			assert.deepEqual(failed(outcomes[0]), { ref: 0, status: 'failed', category: 'validation', code: '0x80040265', message: 'Dynamics: Add a product before closing this opportunity as won.' });
			assert.deepEqual(outcomes[1], { ref: 1, status: 'updated', id: b });
			const created = await dv.create('opportunity', [{ ref: 0, fields: { name: 'Created won', statecode: 1 } }]);
			assert.equal(failed(created[0]).code, '0x80040265', 'a create whose close fails: not created');
			assert.equal(rows('opportunities').filter((r) => r.name === 'Created won').length, 0);
		} finally {
			impl.closeOpportunity = original;
		}
		assert.deepEqual([opp(a).name, ...state(a)], ['Needs products', 0, 1]);
		assert.deepEqual(state(b), [1, 3]);
	});

	test('an update whose close went through but whose reply was lost: sent again, "already closed" settled as updated', async () => {
		const dv = connector({}, { timeoutMs: 300 });
		const id = ok((await dv.create('opportunity', [{ ref: 0, fields: { name: 'Lost reply' } }]))[0]).id;
		emulator.setFaults({ lostReplyRate: 1, maxFaults: 1, pathPattern: '\\$batch' });
		const [outcome] = await dv.update('opportunity', [{ ref: 0, id, fields: { name: 'Won after all', statecode: 1 } }]);
		assert.deepEqual(outcome, { ref: 0, status: 'updated', id });
		assert.deepEqual([opp(id).name, ...state(id)], ['Won after all', 1, 3]);
		const batches = emulator.requests().filter((r) => r.path.endsWith('/$batch'));
		assert.equal(batches.length, 4, 'the create, the lost one, the one refused "already closed", the fields written again');
	});

	test('upsert (search + write): found ones updated and closed, new ones created and closed; records without a state keep the plain path', async () => {
		const dv = connector();
		const existing = ok((await dv.create('opportunity', [{ ref: 0, fields: { name: 'Known deal' } }]))[0]).id;
		const outcomes = await dv.upsert('opportunity', 'name', [
			{ ref: 0, fields: { name: 'Known deal', estimatedvalue: 7, statecode: 1 } },
			{ ref: 1, fields: { name: 'New lost deal', statecode: 2 } },
			{ ref: 2, fields: { name: 'New open deal', estimatedvalue: 1 } },
		]);
		assert.deepEqual(outcomes[0], { ref: 0, status: 'updated', id: existing });
		assert.equal(ok(outcomes[1]).status, 'created');
		assert.equal(ok(outcomes[2]).status, 'created');
		assert.deepEqual(state(existing), [1, 3]);
		assert.deepEqual(state(ok(outcomes[1]).id), [2, 4]);
		assert.deepEqual(state(ok(outcomes[2]).id), [0, 1]);
		const again = await dv.upsert('opportunity', 'name', [{ ref: 0, fields: { name: 'Known deal', statecode: 1 } }]);
		assert.deepEqual(again, [{ ref: 0, status: 'updated', id: existing }], 'already won: the name written, no close');
		assert.deepEqual(state(existing), [1, 3]);
	});
});

describe('Dynamics connector: listChanges', () => {
	test('modifiedon filter with odata.maxpagesize and @odata.nextLink; resumes without repeats', async () => {
		const dv = connector();
		const ids = (await dv.create('contact', Array.from({ length: 12 }, (_, i) => ({ ref: i, fields: { lastname: `C${i}` } })))).map((o) => ok(o).id);
		const seen: string[] = [];
		let cursor: string | undefined;
		let pages = 0;
		for (;;) {
			const page = await dv.listChanges('contact', { cursor, pageSize: 5 });
			pages++;
			seen.push(...page.records.map((r) => r.id));
			cursor = page.cursor;
			if (!page.hasMore) break;
		}
		assert.equal(pages, 3);
		assert.deepEqual([...seen].sort(), [...ids].sort());
		const quiet = await dv.listChanges('contact', { cursor });
		assert.deepEqual(quiet.records, []);
		await new Promise((r) => setTimeout(r, 1100));
		await dv.update('contact', [{ ref: 0, id: ids[3], fields: { jobtitle: 'Changed' } }]);
		const changed = await dv.listChanges('contact', { cursor: quiet.cursor });
		assert.deepEqual(changed.records.map((r) => r.id), [ids[3]]);
	});

	test('change tracking: deltaLink reports updates and deletions', async () => {
		const dv = connector({ changeTracking: true });
		const ids = (await dv.create('account', Array.from({ length: 7 }, (_, i) => ({ ref: i, fields: { name: `A${i}` } })))).map((o) => ok(o).id);
		let cursor: string | undefined;
		const initial: string[] = [];
		for (;;) {
			const page = await dv.listChanges('account', { cursor, pageSize: 3 });
			initial.push(...page.records.map((r) => r.id));
			cursor = page.cursor;
			if (!page.hasMore) break;
		}
		assert.deepEqual([...initial].sort(), [...ids].sort());
		await dv.update('account', [{ ref: 0, id: ids[1], fields: { name: 'A1 renamed' } }]);
		await dv.delete('account', [{ ref: 0, id: ids[2] }]);
		const delta = await dv.listChanges('account', { cursor });
		assert.deepEqual(delta.records.map((r) => [r.id, r.fields.name]), [[ids[1], 'A1 renamed']]);
		assert.deepEqual(delta.deleted.map((d) => d.id), [ids[2]]);
		const none = await dv.listChanges('account', { cursor: delta.cursor });
		assert.deepEqual([none.records, none.deleted], [[], []]);
	});
});

describe('Dynamics connector: throttling, 5xx, tokens', () => {
	test('429 with Retry-After (service protection 0x80072322): waits and recovers', async () => {
		const policy = (emulator as unknown as { requestLimit: { limit: number; windowMs: number } }).requestLimit;
		const saved = { ...policy };
		Object.assign(policy, { limit: 3, windowMs: 1500 });
		try {
			emulator.setRateLimits(true);
			const events: TransportEvent[] = [];
			const dv = connector({}, { onEvent: (e) => events.push(e) });
			for (let i = 0; i < 6; i++) ok((await dv.create('contact', [{ ref: 0, fields: { lastname: `Limited ${i}` } }]))[0]);
			const throttles = events.filter((e) => e.type === 'throttle');
			assert.ok(throttles.length > 0);
			assert.ok(throttles.every((e) => e.error?.httpStatus === 429 && e.error.code === '0x80072322' && (e.delayMs ?? 0) >= 1000));
			assert.equal(rows('contacts').length, 6, 'a throttled $batch was not applied, so its retry made no duplicates');
		} finally {
			Object.assign(policy, saved);
		}
	});

	test('5xx replies are retried', async () => {
		emulator.setFaults({ errorRate: 0.5, seed: 3 });
		const events: TransportEvent[] = [];
		const dv = connector({}, { onEvent: (e) => events.push(e) });
		for (let i = 0; i < 10; i++) ok((await dv.create('contact', [{ ref: 0, fields: { lastname: `Flaky ${i}` } }]))[0]);
		assert.ok(events.some((e) => e.type === 'retry' && e.error?.httpStatus === 500));
		emulator.setFaults({});
		assert.equal(rows('contacts').length, 10);
	});

	test('an update whose reply never came is sent again (updates only: a create may have been applied)', async () => {
		const dv = connector({}, { timeoutMs: 300 });
		const id = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Hung' } }]))[0]).id;
		emulator.setFaults({ hangRate: 0.5, seed: 5, pathPattern: '\\$batch' });
		const events: TransportEvent[] = [];
		const retrying = connector({}, { timeoutMs: 300, onEvent: (e) => events.push(e) });
		try {
			for (let i = 0; i < 6; i++) ok((await retrying.update('contact', [{ ref: 0, id, fields: { lastname: `Hung ${i}` } }]))[0]);
		} finally {
			emulator.setFaults({});
		}
		assert.ok(events.some((e) => e.type === 'retry' && e.error?.code === 'TIMEOUT'), 'a timed-out update was retried');
		assert.equal(rows('contacts').find((r) => r.contactid === id)?.lastname, 'Hung 5');
	});

	test('client credentials: a new token on expiry / 401; a refused token without credentials is an auth error', async () => {
		emulator.setStrictAuth(true);
		const events: TransportEvent[] = [];
		const dv = connector({}, { onEvent: (e) => events.push(e) });
		await dv.testConnection();
		await fetch(`${url}/__admin/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ expireAll: true }) });
		ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'After renewal' } }]))[0]);
		assert.equal(events.filter((e) => e.type === 'refresh').length, 1);

		const tokenOnly = new DynamicsConnector({ orgUrl: url, accessToken: 'not-issued' });
		await assert.rejects(tokenOnly.testConnection(), (e: unknown) => e instanceof CrmError && e.category === 'auth' && e.httpStatus === 401);
	});
});

describe('Dynamics connector: built from n8n credential values', () => {
	test('create() takes the client-credentials credential (orgUrl, tenantId, clientId, clientSecret, authorityUrl)', async () => {
		emulator.setStrictAuth(true);
		const dv = create({ orgUrl: `${url}/`, tenantId: 'tenant-9', clientId: 'cred-app', clientSecret: 'secret', authorityUrl: url, accessToken: '' });
		assert.equal((await dv.changeOrigin()).actorId, appUserIdFor('cred-app'));
		assert.throws(() => create({ tenantId: 't' }), /no organization URL/);
	});
});

describe('Dynamics connector: metadata', () => {
	test("describeFields: EntityDefinitions(LogicalName='contact')/Attributes with lookup targets", async () => {
		const fields = await connector().describeFields('contact');
		const byName = new Map(fields.map((f) => [f.name, f]));
		assert.equal(byName.get('contactid')?.type, 'id');
		assert.equal(byName.get('emailaddress1')?.type, 'email');
		assert.equal(byName.get('parentcustomerid')?.type, 'reference');
		assert.deepEqual(byName.get('parentcustomerid')?.referenceTo, ['account', 'contact']);
		assert.equal(byName.get('donotemail')?.type, 'boolean');
		assert.ok(fields.length > 10);
	});
});

describe('Dynamics connector: a delete whose reply was lost', () => {
	test('is sent again, answered 404 0x80040217, reported NOT_FOUND and done by the writer', async () => {
		const dv = connector({}, { timeoutMs: 300 });
		const id = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Gone' } }]))[0]).id;
		assert.equal((await dv.delete('contact', [{ ref: 0, id }]))[0].status, 'deleted');
		assert.equal(failed((await dv.delete('contact', [{ ref: 0, id }]))[0]).code, 'NOT_FOUND');

		const other = ok((await dv.create('contact', [{ ref: 0, fields: { lastname: 'Lost reply' } }]))[0]).id;
		await assertLostDeleteIsDone({ connector: dv, emulator, entity: 'contact', id: other, deletePath: '/\\$batch$' });
		assert.equal(await dv.get('contact', other), undefined);
	});
});
