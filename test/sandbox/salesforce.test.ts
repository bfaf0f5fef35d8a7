// Conformance of the Salesforce emulator, driven by the real jsforce 3.x over HTTP.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { Connection } from 'jsforce';
import { XMLParser } from 'fast-xml-parser';
import { createEmulator, SalesforceEmulator } from '../../sandbox/salesforce';
import { Prng } from '../../sandbox/common/prng';

interface Received {
	headers: IncomingMessage['headers'];
	raw: string;
}

/** Receiver on a random port; `reply(n)` gives status and body for the n-th request. */
async function receiver(reply: (n: number) => { status: number; body: string } = () => ({ status: 200, body: '' })): Promise<{ url: string; got: Received[]; server: Server }> {
	const got: Received[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
			const r = reply(got.length);
			res.writeHead(r.status, { 'content-type': 'text/xml' }).end(r.body);
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/sf`, got, server };
}

const ACK = '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';

async function sfError(p: PromiseLike<unknown>): Promise<{ errorCode: string; message: string; data?: any }> {
	try {
		await p;
	} catch (err) {
		return err as { errorCode: string; message: string };
	}
	assert.fail('expected a Salesforce error');
}

let em: SalesforceEmulator;
let url: string;
const conn = (extra: Record<string, unknown> = {}) => new Connection({ instanceUrl: url, accessToken: 'sandbox-token', version: '62.0', ...extra } as any);
/** jsforce 3 runs queryAll as query with scanAll. */
const queryAll = (c: Connection, soql: string) => c.query(soql, { scanAll: true });

before(async () => {
	em = createEmulator({ webhookRetryDelayScale: 0.0001, webhookBatchWindowMs: 5 });
	url = await em.start();
});
after(() => em.stop());
beforeEach(() => em.reset());

describe('sObject REST', () => {
	test('create 201, retrieve with fields, update 204, delete 204, 404 and ENTITY_IS_DELETED', async () => {
		const c = conn();
		const acct = await c.sobject('Account').create({ Name: 'Acme' });
		assert.equal(acct.success, true);
		assert.match(acct.id!, /^001[A-Za-z0-9]{15}$/);
		const res = await c.sobject('Contact').create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com', AccountId: acct.id });
		const id = res.id!;
		assert.match(id, /^003/);
		const got = (await c.sobject('Contact').retrieve(id, { fields: ['Email', 'Name', 'AccountId', 'SystemModstamp'] })) as any;
		assert.equal(got.attributes.type, 'Contact');
		assert.equal(got.Name, 'Ada Lovelace');
		assert.equal(got.AccountId, acct.id);
		assert.match(got.SystemModstamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
		assert.equal(got.FirstName, undefined);
		// 15-character ids work too.
		assert.equal(((await c.sobject('Contact').retrieve(id.slice(0, 15))) as any).Id, id);

		const upd = await c.sobject('Contact').update({ Id: id, Title: 'Countess', Phone: null });
		assert.equal(upd.success, true);
		const after = (await c.sobject('Contact').retrieve(id)) as any;
		assert.equal(after.Title, 'Countess');
		assert.ok(after.SystemModstamp > got.SystemModstamp);

		await c.sobject('Contact').destroy(id);
		assert.equal((await sfError(c.sobject('Contact').retrieve(id))).errorCode, 'ENTITY_IS_DELETED');
		assert.equal((await sfError(c.sobject('Contact').retrieve('003Dn0000000000AAA'))).errorCode, 'NOT_FOUND');
		assert.equal((await sfError(c.sobject('Contact').destroy(id))).errorCode, 'ENTITY_IS_DELETED');
	});

	test('validation errors: required fields, bad email, unknown and read-only fields, bad references', async () => {
		const c = conn();
		const missing = await sfError(c.sobject('Contact').create({ FirstName: 'No' }));
		assert.equal(missing.errorCode, 'REQUIRED_FIELD_MISSING');
		assert.deepEqual((missing as any).data.fields, ['LastName']);
		assert.equal((await sfError(c.sobject('Contact').create({ LastName: 'X', Email: 'nope' }))).errorCode, 'INVALID_EMAIL_ADDRESS');
		assert.equal((await sfError(c.sobject('Contact').create({ LastName: 'X', Foo: 1 }))).errorCode, 'INVALID_FIELD');
		assert.equal((await sfError(c.sobject('Contact').create({ LastName: 'X', CreatedDate: '2020-01-01T00:00:00Z' }))).errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
		assert.equal((await sfError(c.sobject('Contact').create({ LastName: 'X', AccountId: '001Dn0000000000AAA' }))).errorCode, 'INVALID_CROSS_REFERENCE_KEY');
		assert.equal((await sfError(c.sobject('Opportunity').create({ Name: 'O', StageName: 'Prospecting', CloseDate: 'soon' }))).errorCode, 'JSON_PARSER_ERROR');
		const lead = await c.sobject('Lead').create({ LastName: 'L', Company: 'C' });
		assert.equal(((await c.sobject('Lead').retrieve(lead.id!)) as any).Status, 'Open - Not Contacted');
	});

	test('describe lists fields with types, picklists, references and the custom external-id fields in use', async () => {
		const c = conn();
		await c.sobject('Contact').create({ LastName: 'X', Ext_Id__c: 'E9' });
		const d = await c.sobject('Contact').describe();
		const f = (n: string) => d.fields.find((x) => x.name === n)!;
		assert.equal(f('Email').type, 'email');
		assert.equal(f('LastName').nillable, false);
		assert.equal(f('CreatedDate').createable, false);
		assert.deepEqual(f('AccountId').referenceTo, ['Account']);
		assert.ok(f('LeadSource').picklistValues!.some((p) => p.value === 'Web'));
		assert.equal(f('Ext_Id__c').externalId, true);
		assert.equal(f('Ext_Id__c').custom, true);
		const opp = await c.sobject('Opportunity').describe();
		assert.ok(opp.fields.find((x) => x.name === 'StageName')!.picklistValues!.some((p) => p.value === 'Closed Won'));
	});

	test('every object: Lead, Opportunity (IsWon/IsClosed), Task, Event', async () => {
		const c = conn();
		const contact = await c.sobject('Contact').create({ LastName: 'C' });
		const opp = await c.sobject('Opportunity').create({ Name: 'Deal', StageName: 'Closed Won', CloseDate: '2025-06-30', Amount: 1200 });
		const o = (await c.sobject('Opportunity').retrieve(opp.id!)) as any;
		assert.equal(o.IsWon, true);
		assert.equal(o.IsClosed, true);
		assert.equal(o.Amount, 1200);
		const task = await c.sobject('Task').create({ Subject: 'Call', TaskSubtype: 'Call', WhoId: contact.id, WhatId: opp.id, ActivityDate: '2025-07-01', CallDurationInSeconds: 60 });
		const t = (await c.sobject('Task').retrieve(task.id!)) as any;
		assert.equal(t.Status, 'Not Started');
		assert.equal(t.WhoId, contact.id);
		const ev = await c.sobject('Event').create({ Subject: 'Meet', StartDateTime: '2025-07-01T10:00:00Z', DurationInMinutes: 30, WhoId: contact.id });
		const e = (await c.sobject('Event').retrieve(ev.id!)) as any;
		assert.equal(e.EndDateTime, '2025-07-01T10:30:00.000+0000');
		assert.equal((await sfError(c.sobject('Event').create({ Subject: 'x' }))).errorCode, 'REQUIRED_FIELD_MISSING');
	});

	test('upsert by external id: 201 created, 200 updated, 300 on multiple matches', async () => {
		const c = conn();
		const created = (await c.sobject('Contact').upsert({ Ext_Id__c: 'E1', LastName: 'One' }, 'Ext_Id__c')) as any;
		assert.equal(created.success, true);
		assert.equal(created.created, true);
		const updated = (await c.sobject('Contact').upsert({ Ext_Id__c: 'E1', LastName: 'Uno' }, 'Ext_Id__c')) as any;
		assert.equal(updated.created, false);
		assert.equal(updated.id, created.id);
		assert.equal(((await c.sobject('Contact').retrieve(created.id)) as any).LastName, 'Uno');
		await c.sobject('Contact').create({ LastName: 'Twin', Ext_Id__c: 'E2' });
		await c.sobject('Contact').create({ LastName: 'Twin', Ext_Id__c: 'E2' });
		assert.equal((await sfError(c.sobject('Contact').upsert({ Ext_Id__c: 'E2', LastName: 'X' }, 'Ext_Id__c'))).errorCode, 'MULTIPLE_CHOICES');
		// Email is an idLookup field: upsert by it works (conformance fixture rest-upsert-by-external-id-201-created-recorded.json).
		assert.equal(((await c.sobject('Contact').upsert({ Email: 'a@b.co', LastName: 'X' }, 'Email')) as any).created, true);
		assert.equal((await sfError(c.sobject('Contact').upsert({ Phone: '555', LastName: 'X' }, 'Phone'))).errorCode, 'NOT_FOUND');
		const byExt = (await c.request('/services/data/v62.0/sobjects/Contact/Ext_Id__c/E1?fields=LastName')) as any;
		assert.equal(byExt.LastName, 'Uno');
		assert.equal((await sfError(c.request('/services/data/v62.0/sobjects/Contact/Ext_Id__c/E2'))).errorCode, 'MULTIPLE_CHOICES');
		const versions = (await (await fetch(`${url}/services/data`)).json()) as any[];
		assert.ok(versions.some((v) => v.version === '62.0'));
		assert.equal((await fetch(`${url}/services/data/62.0/limits`, { headers: { authorization: 'Bearer t' } })).status, 404, 'the version needs its v');
	});
});

describe('collections', () => {
	test('create/update/upsert/delete with per-item statusCode errors; allOrNone rolls back', async () => {
		const c = conn();
		const created = (await c.sobject('Contact').create([{ LastName: 'A', Email: 'a@x.co' }, { LastName: 'B', Email: 'bad' }, { LastName: 'C' }])) as any[];
		assert.deepEqual(created.map((r) => r.success), [true, false, true]);
		assert.equal(created[1].errors[0].statusCode, 'INVALID_EMAIL_ADDRESS');
		assert.deepEqual(created[1].errors[0].fields, ['Email']);
		assert.equal(em.store.require('Contact').size, 2);

		const rolled = (await c.sobject('Contact').create([{ LastName: 'D' }, { FirstName: 'NoLast' }], { allOrNone: true })) as any[];
		assert.equal(rolled[0].success, false);
		assert.equal(rolled[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
		assert.equal(rolled[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
		assert.equal(em.store.require('Contact').size, 2);

		const ids = [created[0].id, created[2].id];
		const updated = (await c.sobject('Contact').update(ids.map((Id) => ({ Id, Title: 'T' })))) as any[];
		assert.ok(updated.every((r) => r.success));
		const many = (await c.sobject('Contact').retrieve(ids, { fields: ['Title'] })) as any[];
		assert.deepEqual(many.map((r) => r.Title), ['T', 'T']);

		const upserted = (await c.sobject('Contact').upsert(
			[
				{ Ext_Id__c: 'U1', LastName: 'New' },
				{ Ext_Id__c: 'U2', LastName: 'New2' },
			],
			'Ext_Id__c',
		)) as any[];
		assert.deepEqual(upserted.map((r) => r.created), [true, true]);
		const again = (await c.sobject('Contact').upsert([{ Ext_Id__c: 'U1', LastName: 'Again' }, { Ext_Id__c: 'U3', LastName: 'Three', Email: 'oops' }], 'Ext_Id__c')) as any[];
		assert.equal(again[0].created, false);
		assert.equal(again[1].success, false);
		assert.equal(again[1].errors[0].statusCode, 'INVALID_EMAIL_ADDRESS');

		const deleted = (await c.sobject('Contact').destroy([ids[0], '003Dn0000000000AAA'])) as any[];
		assert.equal(deleted[0].success, true);
		assert.equal(deleted[1].success, false);
	});

	test('more than 200 records in one collection call is refused', async () => {
		const records = Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Contact' }, LastName: `L${i}` }));
		const res = await fetch(`${url}/services/data/v62.0/composite/sobjects`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify({ allOrNone: false, records }) });
		assert.equal(res.status, 400);
		assert.equal(((await res.json()) as any)[0].errorCode, 'EXCEEDED_ID_LIMIT');
		// jsforce chunks by 200 when asked to.
		const out = (await conn().sobject('Contact').create(records.map(({ LastName }) => ({ LastName })), { allowRecursive: true })) as any[];
		assert.equal(out.length, 201);
		assert.equal(em.store.require('Contact').size, 201);
	});
});

describe('SOQL', () => {
	test('operators, AND/OR/NOT, IN, LIKE, ORDER BY, LIMIT, relationship fields, COUNT()', async () => {
		const c = conn();
		const acct = await c.sobject('Account').create({ Name: 'Acme' });
		await c.sobject('Contact').create([
			{ LastName: 'Ames', FirstName: 'Ann', Email: "ann.o'neil@acme.example.com", AccountId: acct.id },
			{ LastName: 'Bates', FirstName: 'Bob', Email: 'bob@acme.example.com', HasOptedOutOfEmail: true },
			{ LastName: 'Cole', FirstName: 'Cy', Phone: '+14155550100' },
		]);
		const q = async (soql: string) => (await c.query(soql)).records as any[];
		assert.equal((await q("SELECT Id FROM Contact WHERE Email = 'ANN.O\\'NEIL@acme.example.com'")).length, 1);
		assert.equal((await q("SELECT Id FROM Contact WHERE Email != 'bob@acme.example.com'")).length, 2);
		assert.equal((await q("SELECT Id FROM Contact WHERE Email LIKE '%@acme.example.com'")).length, 2);
		assert.equal((await q("SELECT Id FROM Contact WHERE LastName IN ('Ames', 'Cole')")).length, 2);
		assert.equal((await q("SELECT Id FROM Contact WHERE LastName NOT IN ('Ames')")).length, 2);
		assert.deepEqual((await q("SELECT LastName FROM Contact WHERE Email IN ('BOB@acme.example.com', 'nobody@x.example', 'ann.o\\'neil@acme.example.com') AND LastName != 'Nope'")).map((r) => r.LastName), ['Ames', 'Bates']);
		assert.equal((await q('SELECT Id FROM Contact WHERE HasOptedOutOfEmail = true')).length, 1);
		assert.equal((await q('SELECT Id FROM Contact WHERE Email = null')).length, 1);
		assert.equal((await q("SELECT Id FROM Contact WHERE (LastName = 'Ames' OR LastName = 'Bates') AND NOT FirstName = 'Bob'")).length, 1);
		assert.equal((await q("SELECT Id FROM Contact WHERE Phone = '+14155550100' OR MobilePhone = '+14155550100'")).length, 1);
		const ordered = await q('SELECT LastName, Account.Name FROM Contact ORDER BY LastName DESC LIMIT 2');
		assert.deepEqual(ordered.map((r) => r.LastName), ['Cole', 'Bates']);
		const withAcct = await q("SELECT FirstName, Account.Name FROM Contact WHERE Account.Name = 'Acme'");
		assert.equal(withAcct[0].Account.Name, 'Acme');
		assert.equal(withAcct[0].Account.attributes.type, 'Account');
		const all = await q('SELECT Id, LastName FROM Contact ORDER BY LastName');
		const byIds = await q(`SELECT LastName FROM Contact WHERE Id IN ('${all[0].Id}', '${all[2].Id.slice(0, 15)}', '003Dn0000000000AAA')`);
		assert.deepEqual(byIds.map((r) => r.LastName), ['Ames', 'Cole']);
		assert.equal((await q(`SELECT Id FROM Contact WHERE Id = '${all[1].Id}' AND LastName = 'Nope'`)).length, 0);
		const count = await c.query('SELECT COUNT() FROM Contact WHERE LastName > \'B\'');
		assert.equal(count.totalSize, 2);
	});

	test('SOSL search by email and by phone (digits), RETURNING fields, wildcards, errors', async () => {
		const c = conn();
		await c.sobject('Contact').create([
			{ LastName: 'Ames', Email: 'Ann@Acme.example.com', Phone: '(415) 555-0100' },
			{ LastName: 'Bates', Email: 'bob@acme.example.com', MobilePhone: '+1 415 555 0199' },
		]);
		await c.sobject('Lead').create({ LastName: 'Lee', Company: 'Acme', Email: 'ann@acme.example.com' });
		const byEmail = await c.search('FIND {ann@acme.example.com} IN EMAIL FIELDS RETURNING Contact(Id, Email), Lead(Id)');
		assert.deepEqual(byEmail.searchRecords.map((r: any) => r.attributes.type).sort(), ['Contact', 'Lead']);
		assert.equal((byEmail.searchRecords.find((r: any) => r.attributes.type === 'Contact') as any).Email, 'Ann@Acme.example.com');
		const byPhone = await c.search('FIND {4155550199} IN PHONE FIELDS RETURNING Contact(LastName)');
		assert.deepEqual(byPhone.searchRecords.map((r: any) => r.LastName), ['Bates']);
		const wild = await c.search('FIND {am*} IN NAME FIELDS RETURNING Contact(LastName)');
		assert.deepEqual(wild.searchRecords.map((r: any) => r.LastName), ['Ames']);
		assert.equal((await sfError(c.search('FIND ann RETURNING Contact'))).errorCode, 'MALFORMED_SEARCH');
	});

	test('query errors: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, quoted datetime', async () => {
		const c = conn();
		assert.equal((await sfError(c.query('SELECT FROM Contact'))).errorCode, 'MALFORMED_QUERY');
		assert.equal((await sfError(c.query('SELECT Foo FROM Contact'))).errorCode, 'INVALID_FIELD');
		assert.equal((await sfError(c.query('SELECT Id FROM Nope'))).errorCode, 'INVALID_TYPE');
		assert.equal((await sfError(c.query("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'"))).errorCode, 'INVALID_QUERY_FILTER_OPERATOR');
		assert.equal((await sfError(c.query('SELECT Id FROM Contact GROUP BY Id'))).errorCode, 'MALFORMED_QUERY');
	});

	test('nextRecordsUrl paging of 2000 records per page, followed by jsforce autoFetch', async () => {
		em.seed({ contacts: 4500, duplicateShare: 0 });
		const c = conn();
		const first = await c.query('SELECT Id, Email FROM Contact');
		assert.equal(first.totalSize, 4500);
		assert.equal(first.records.length, 2000);
		assert.equal(first.done, false);
		const raw = (await (await fetch(`${url}/services/data/v62.0/query?q=SELECT+Id+FROM+Contact`, { headers: { authorization: 'Bearer t' } })).json()) as any;
		assert.match(raw.nextRecordsUrl, /^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]+-2000$/);
		assert.equal(raw.records.length, 2000);
		const all = await c.query('SELECT Id FROM Contact').run({ autoFetch: true, maxFetch: 10000 });
		assert.equal(all.records.length, 4500);
		assert.equal(new Set(all.records.map((r: any) => r.Id)).size, 4500);
		const small = await c.request({ method: 'GET', url: '/query?q=' + encodeURIComponent('SELECT Id FROM Contact'), headers: { 'Sforce-Query-Options': 'batchSize=500' } });
		assert.equal((small as any).records.length, 500);
		assert.equal((await sfError(c.request('/services/data/v62.0/query/01gBOGUS-2000'))).errorCode, 'INVALID_QUERY_LOCATOR');
	});

	test('delta: SystemModstamp/LastModifiedDate windows, queryAll with IsDeleted, getUpdated/getDeleted', async () => {
		const c = conn();
		em.seed({ contacts: 20, duplicateShare: 0 });
		const mark = ((await c.query('SELECT SystemModstamp FROM Contact ORDER BY SystemModstamp DESC LIMIT 1')).records[0] as any).SystemModstamp as string;
		const ids = ((await c.query('SELECT Id FROM Contact ORDER BY LastName, Id')).records as any[]).map((r) => r.Id);
		// Seeded records were last modified in the past (their seed dates), so the mark is old.
		assert.ok(Date.parse(mark.replace('+0000', 'Z')) < Date.now() - 86_400_000);
		// getUpdated/getDeleted take second-precision bounds (jsforce formats them so): change things after the next full second.
		const start = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
		while (Date.now() <= start.getTime()) await new Promise((r) => setTimeout(r, 20));
		await c.sobject('Contact').update({ Id: ids[5], Title: 'Changed' });
		await c.sobject('Contact').update({ Id: ids[2], Title: 'Changed too' });
		await c.sobject('Contact').destroy(ids[7]);
		const literal = new Date(Date.parse(mark.replace('+0000', 'Z'))).toISOString();
		const delta = await c.query(`SELECT Id, Title FROM Contact WHERE SystemModstamp > ${literal} ORDER BY SystemModstamp`);
		assert.deepEqual(delta.records.map((r: any) => r.Id), [ids[5], ids[2]]);
		const byLmd = await c.query(`SELECT Id FROM Contact WHERE LastModifiedDate >= ${literal}`);
		assert.equal(byLmd.totalSize, 3, 'the record at the mark plus the two updated; the deleted one is not in query');
		const withDeleted = await queryAll(c, `SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp > ${literal} ORDER BY SystemModstamp`);
		assert.deepEqual(withDeleted.records.map((r: any) => [r.Id, r.IsDeleted]), [[ids[5], false], [ids[2], false], [ids[7], true]]);
		assert.equal((await c.query('SELECT Id FROM Contact WHERE IsDeleted = true')).totalSize, 0);
		assert.equal((await queryAll(c, 'SELECT Id FROM Contact WHERE IsDeleted = true')).totalSize, 1);

		const end = new Date(Date.now() + 60_000);
		const updated = (await c.sobject('Contact').updated(start, end)) as any;
		assert.deepEqual([...updated.ids].sort(), [ids[2], ids[5]].sort());
		assert.match(updated.latestDateCovered, /\+0000$/);
		const deleted = (await c.sobject('Contact').deleted(start, end)) as any;
		assert.deepEqual(deleted.deletedRecords.map((d: any) => d.id), [ids[7]]);
		assert.ok(deleted.earliestDateAvailable);
		assert.equal((await sfError(c.sobject('Contact').updated(end, start))).errorCode, 'INVALID_REPLICATION_DATE');
	});
});

describe('SOAP merge', () => {
	test('merge returns the MergeResult jsforce parses; losers get MasterRecordId and show in queryAll; children move', async () => {
		const c = conn();
		const [m, l1, l2] = (await c.sobject('Contact').create([{ LastName: 'Master' }, { LastName: 'Loser1' }, { LastName: 'Loser2' }])) as any[];
		const task = await c.sobject('Task').create({ Subject: 'T', WhoId: l1.id });
		const res = (await c.soap.merge({ masterRecord: { type: 'Contact', Id: m.id, Title: 'Merged' } as any, recordToMergeIds: [l1.id, l2.id] })) as any;
		assert.equal(res.success, true);
		assert.equal(res.id, m.id);
		assert.deepEqual(res.mergedRecordIds, [l1.id, l2.id]);
		assert.deepEqual(res.updatedRelatedIds, [task.id]);
		assert.equal(((await c.sobject('Contact').retrieve(m.id)) as any).Title, 'Merged');
		const losers = await queryAll(c, `SELECT Id, MasterRecordId, IsDeleted FROM Contact WHERE MasterRecordId = '${m.id}'`);
		assert.equal(losers.totalSize, 2);
		assert.ok(losers.records.every((r: any) => r.IsDeleted === true));
		assert.equal(((await c.sobject('Task').retrieve(task.id!)) as any).WhoId, m.id);
		const notMerge = await fetch(`${url}/services/Soap/u/62.0`, { method: 'POST', headers: { 'content-type': 'text/xml', SOAPAction: '""' }, body: '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><SessionHeader><sessionId>t</sessionId></SessionHeader></soapenv:Header><soapenv:Body><describeTabs/></soapenv:Body></soapenv:Envelope>' });
		assert.equal(notMerge.status, 500);
		assert.match(await notMerge.text(), /<faultcode>sf:INVALID_OPERATION<\/faultcode>/);
		const bad = (await c.soap.merge({ masterRecord: { type: 'Opportunity', Id: m.id } as any, recordToMergeIds: [l1.id] })) as any;
		assert.equal(bad.success, false);
		assert.equal(bad.errors[0].statusCode, 'INVALID_TYPE');
	});
});

describe('SOAP convertLead', () => {
	/** The raw SOAP convertLead envelope jsforce sends, for wire-level checks. */
	const rawConvert = (inner: string) =>
		fetch(`${url}/services/Soap/u/62.0`, {
			method: 'POST',
			headers: { 'content-type': 'text/xml', SOAPAction: '""' },
			body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header xmlns="urn:partner.soap.sforce.com"><SessionHeader><sessionId>t</sessionId></SessionHeader></soapenv:Header><soapenv:Body xmlns="urn:partner.soap.sforce.com"><convertLead>${inner}</convertLead></soapenv:Body></soapenv:Envelope>`,
		});

	test('a lead becomes an account, a contact and an opportunity; the lead is marked converted; every write sends its change event', async () => {
		const rx = await receiver();
		try {
			em.addSubscription({ type: 'changeEvent', url: rx.url, secret: 's' });
			const c = conn({ callOptions: { client: 'mysync' } });
			const { id: leadId } = await c.sobject('Lead').create({ FirstName: 'Ada', LastName: 'Lovelace', Company: 'Analytical Engines', Email: 'ada@engines.example', Phone: '+44 20 7946 0000', Title: 'Countess', LeadSource: 'Web', Street: '1 Byron St', City: 'London', Country: 'UK', Website: 'https://engines.example' });
			const task = await c.sobject('Task').create({ Subject: 'Call Ada', WhoId: leadId });
			await em.webhooksIdle();
			rx.got.length = 0;

			// jsforce: one LeadConvert in, one LeadConvertResult out (an array in gives an array).
			const res = (await c.soap.convertLead({ leadId, convertedStatus: 'Closed - Converted' } as any)) as any;
			assert.equal(res.success, true, JSON.stringify(res));
			assert.deepEqual(res.errors, []);
			assert.equal(res.leadId, leadId);
			assert.match(res.accountId, /^001[A-Za-z0-9]{15}$/);
			assert.match(res.contactId, /^003[A-Za-z0-9]{15}$/);
			assert.match(res.opportunityId, /^006[A-Za-z0-9]{15}$/);

			const acct = (await c.sobject('Account').retrieve(res.accountId)) as any;
			assert.equal(acct.Name, 'Analytical Engines');
			assert.equal(acct.Phone, '+44 20 7946 0000');
			assert.equal(acct.Website, 'https://engines.example');
			assert.equal(acct.BillingCity, 'London');
			const contact = (await c.sobject('Contact').retrieve(res.contactId)) as any;
			assert.deepEqual([contact.FirstName, contact.LastName, contact.Email, contact.Title, contact.LeadSource, contact.MailingStreet, contact.MailingCity, contact.MailingCountry], ['Ada', 'Lovelace', 'ada@engines.example', 'Countess', 'Web', '1 Byron St', 'London', 'UK']);
			assert.equal(contact.AccountId, res.accountId);
			const opp = (await c.sobject('Opportunity').retrieve(res.opportunityId)) as any;
			// opportunityName defaults to the lead's company (SOAP API reference); the first open stage; the quarter's last day.
			assert.equal(opp.Name, 'Analytical Engines');
			assert.equal(opp.StageName, 'Prospecting');
			assert.equal(opp.IsClosed, false);
			assert.match(opp.CloseDate, /^\d{4}-(03-31|06-30|09-30|12-31)$/);
			assert.equal(opp.AccountId, res.accountId);
			assert.equal(opp.ContactId, res.contactId);
			assert.equal(opp.LeadSource, 'Web');
			const lead = (await c.sobject('Lead').retrieve(leadId!)) as any;
			assert.equal(lead.IsConverted, true);
			assert.equal(lead.Status, 'Closed - Converted');
			assert.match(lead.ConvertedDate, /^\d{4}-\d{2}-\d{2}$/);
			assert.deepEqual([lead.ConvertedAccountId, lead.ConvertedContactId, lead.ConvertedOpportunityId], [res.accountId, res.contactId, res.opportunityId]);
			// Converted leads stay queryable.
			assert.equal((await c.query(`SELECT Id FROM Lead WHERE IsConverted = true`)).totalSize, 1);
			const moved = (await c.sobject('Task').retrieve(task.id!)) as any;
			assert.equal(moved.WhoId, res.contactId);
			assert.equal(moved.WhatId, res.opportunityId);

			await em.webhooksIdle();
			const events = rx.got.map((g) => JSON.parse(g.raw).data.payload);
			assert.deepEqual(
				events.map((e) => [e.ChangeEventHeader.entityName, e.ChangeEventHeader.changeType]),
				[['Account', 'CREATE'], ['Contact', 'CREATE'], ['Opportunity', 'CREATE'], ['Lead', 'UPDATE'], ['Task', 'UPDATE']],
			);
			for (const e of events) assert.equal(e.ChangeEventHeader.changeOrigin, 'com/salesforce/api/soap/62.0;client=mysync');
			const leadEvent = events[3];
			for (const f of ['IsConverted', 'Status', 'ConvertedAccountId', 'ConvertedContactId', 'ConvertedOpportunityId', 'ConvertedDate']) assert.ok(leadEvent.ChangeEventHeader.changedFields.includes(f), f);
			assert.equal(leadEvent.IsConverted, true);
		} finally {
			rx.server.close();
		}
	});

	test('into an existing account and contact without an opportunity: only empty fields are filled, overwriteLeadSource, an ownerId', async () => {
		const c = conn();
		const acct = await c.sobject('Account').create({ Name: 'Existing Co' });
		const contact = await c.sobject('Contact').create({ LastName: 'Keep', AccountId: acct.id, LeadSource: 'Other' });
		const { id: leadId } = await c.sobject('Lead').create({ FirstName: 'New', LastName: 'Person', Company: 'Lead Co', Phone: '555-0100', Title: 'CTO', LeadSource: 'Web' });
		const owner = (await fetch(`${url}/__admin/sobjects/User`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Username: 'rep@sandbox.example.com', Email: 'rep@sandbox.example.com', LastName: 'Rep' }) }).then((r) => r.json())) as any;
		const [res] = (await c.soap.convertLead([{ leadId, convertedStatus: 'Closed - Converted', accountId: acct.id, contactId: contact.id, doNotCreateOpportunity: true, overwriteLeadSource: true, ownerId: owner.id, sendNotificationEmail: false }] as any)) as any[];
		assert.equal(res.success, true, JSON.stringify(res));
		assert.equal(res.accountId, acct.id);
		assert.equal(res.contactId, contact.id);
		assert.equal(res.opportunityId, null, 'nil opportunityId: jsforce reads xsi:nil as null');
		const a = (await c.sobject('Account').retrieve(acct.id!)) as any;
		assert.equal(a.Name, 'Existing Co', 'existing data is not overwritten');
		assert.equal(a.Phone, '555-0100', 'an empty field is filled from the lead');
		assert.notEqual(a.OwnerId, owner.id, 'ownerId applies to new records only');
		const k = (await c.sobject('Contact').retrieve(contact.id!)) as any;
		assert.equal(k.LastName, 'Keep');
		assert.equal(k.Title, 'CTO');
		assert.equal(k.LeadSource, 'Web', 'overwriteLeadSource');
		assert.equal((await c.query('SELECT COUNT() FROM Contact')).totalSize, 1);
		assert.equal((await c.query('SELECT COUNT() FROM Account')).totalSize, 1);
		assert.equal((await c.query('SELECT COUNT() FROM Opportunity')).totalSize, 0);
		const lead = (await c.sobject('Lead').retrieve(leadId!)) as any;
		assert.equal(lead.ConvertedOpportunityId, null);
		assert.equal(lead.ConvertedContactId, contact.id);

		// ownerId owns what conversion creates; opportunityName names the opportunity.
		const { id: lead2 } = await c.sobject('Lead').create({ LastName: 'Two', Company: 'Second Co' });
		const r2 = (await c.soap.convertLead({ leadId: lead2, convertedStatus: 'Closed - Converted', ownerId: owner.id, opportunityName: 'Big deal' } as any)) as any;
		assert.equal(r2.success, true, JSON.stringify(r2));
		const opp = (await c.sobject('Opportunity').retrieve(r2.opportunityId)) as any;
		assert.equal(opp.Name, 'Big deal');
		assert.equal(opp.OwnerId, owner.id);
		assert.equal(((await c.sobject('Contact').retrieve(r2.contactId)) as any).OwnerId, owner.id);
	});

	test('LeadStatus: converted statuses by SOQL; an admin-added converted status converts; the API cannot write LeadStatus', async () => {
		const c = conn();
		const statuses = await c.query('SELECT ApiName, IsDefault FROM LeadStatus WHERE IsConverted = true ORDER BY SortOrder');
		assert.deepEqual(statuses.records.map((r: any) => r.ApiName), ['Closed - Converted']);
		await fetch(`${url}/__admin/sobjects/LeadStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ MasterLabel: 'Qualified', IsConverted: true, SortOrder: 5 }) });
		const { id } = await c.sobject('Lead').create({ LastName: 'Q', Company: 'Q Co' });
		const res = (await c.soap.convertLead({ leadId: id, convertedStatus: 'Qualified', doNotCreateOpportunity: true } as any)) as any;
		assert.equal(res.success, true, JSON.stringify(res));
		assert.equal(((await c.sobject('Lead').retrieve(id!)) as any).Status, 'Qualified');
		assert.equal((await sfError(c.sobject('LeadStatus').create({ MasterLabel: 'X' }))).errorCode, 'INVALID_TYPE_FOR_OPERATION');
	});

	test('errors per result: converted twice, bad status, contact without account, foreign contact, unknown lead; nothing is written', async () => {
		const c = conn();
		const acct = await c.sobject('Account').create({ Name: 'A' });
		const other = await c.sobject('Account').create({ Name: 'B' });
		const contact = await c.sobject('Contact').create({ LastName: 'C', AccountId: other.id });
		const leads = (await c.sobject('Lead').create([1, 2, 3, 4, 5].map((n) => ({ LastName: `L${n}`, Company: `Co ${n}` })))) as any[];
		const [l1, l2, l3, l4, l5] = leads.map((l) => l.id);
		assert.equal(((await c.soap.convertLead({ leadId: l1, convertedStatus: 'Closed - Converted' } as any)) as any).success, true);
		const before = em.dump();
		const results = (await c.soap.convertLead([
			{ leadId: l1, convertedStatus: 'Closed - Converted' },
			{ leadId: l2, convertedStatus: 'Open - Not Contacted' },
			{ leadId: l3, convertedStatus: 'Closed - Converted', contactId: contact.id },
			{ leadId: l4, convertedStatus: 'Closed - Converted', accountId: acct.id, contactId: contact.id },
			{ leadId: '00QDn0000000ZZZZZZ', convertedStatus: 'Closed - Converted' },
			{ leadId: l5, convertedStatus: 'Closed - Converted', doNotCreateOpportunity: true, opportunityName: 'X' },
		] as any)) as any[];
		assert.deepEqual(
			results.map((r) => [r.success, r.errors[0]?.statusCode]),
			[[false, 'CANNOT_UPDATE_CONVERTED_LEAD'], [false, 'INVALID_STATUS'], [false, 'REQUIRED_FIELD_MISSING'], [false, 'FIELD_INTEGRITY_EXCEPTION'], [false, 'INVALID_CROSS_REFERENCE_KEY'], [false, 'FIELD_INTEGRITY_EXCEPTION']],
		);
		assert.equal(results[0].errors[0].message, 'cannot reference converted lead');
		assert.equal(results[1].errors[0].message, 'invalid convertedStatus: Open - Not Contacted');
		assert.deepEqual(results[1].errors[0].fields, ['Status']);
		assert.equal(results[1].leadId, l2);
		assert.equal(results[1].accountId, null);
		assert.deepEqual(em.dump(), before, 'failed conversions write nothing');

		// Wire shape: convertLeadResponse/result in WSDL order, nil ids, errors like merge's.
		const raw = await rawConvert(`<leadConverts><convertedStatus>Nope</convertedStatus><leadId>${l2}</leadId></leadConverts>`);
		assert.equal(raw.status, 200);
		const text = await raw.text();
		assert.match(text, /<soapenv:Body><convertLeadResponse><result><accountId xsi:nil="true"\/><contactId xsi:nil="true"\/><errors><fields>Status<\/fields><message>invalid convertedStatus: Nope<\/message><statusCode>INVALID_STATUS<\/statusCode><\/errors><leadId>00Q[A-Za-z0-9]{15}<\/leadId><opportunityId xsi:nil="true"\/><success>false<\/success><\/result><\/convertLeadResponse>/);
		const empty = await rawConvert('');
		assert.equal(empty.status, 500);
		const tooMany = await rawConvert(`<leadConverts><leadId>${l2}</leadId><convertedStatus>Closed - Converted</convertedStatus></leadConverts>`.repeat(101));
		assert.equal(tooMany.status, 500);
		assert.match(await tooMany.text(), /<faultcode>sf:EXCEEDED_ID_LIMIT<\/faultcode>/);
	});

	test('a converted lead is read-only: REST PATCH 400 CANNOT_UPDATE_CONVERTED_LEAD, collections and upsert fail per item, no new references', async () => {
		const c = conn();
		const id = (await c.sobject('Lead').create({ LastName: 'Done', Company: 'Done Co', Email: 'done@x.example' })).id!;
		await c.soap.convertLead({ leadId: id, convertedStatus: 'Closed - Converted' } as any);
		const raw = await fetch(`${url}/services/data/v62.0/sobjects/Lead/${id}`, { method: 'PATCH', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify({ Title: 'x' }) });
		assert.equal(raw.status, 400);
		assert.deepEqual(await raw.json(), [{ message: 'cannot reference converted lead', errorCode: 'CANNOT_UPDATE_CONVERTED_LEAD', fields: [] }]);
		assert.equal((await sfError(c.sobject('Lead').update({ Id: id, Title: 'x' }))).errorCode, 'CANNOT_UPDATE_CONVERTED_LEAD');
		const [item] = (await c.sobject('Lead').update([{ Id: id, Title: 'x' }])) as any[];
		assert.equal(item.success, false);
		assert.equal(item.errors[0].statusCode, 'CANNOT_UPDATE_CONVERTED_LEAD');
		assert.equal((await sfError(c.sobject('Lead').upsert({ Email: 'done@x.example', Title: 'x' } as any, 'Email'))).errorCode, 'CANNOT_UPDATE_CONVERTED_LEAD');
		assert.equal((await sfError(c.sobject('Task').create({ Subject: 'late', WhoId: id }))).errorCode, 'CANNOT_UPDATE_CONVERTED_LEAD');
		assert.equal(((await c.sobject('Lead').retrieve(id!)) as any).Title, null);
	});
});

describe('auth and limits', () => {
	test('OAuth: client_credentials and refresh return id and the sandbox instance_url; jsforce refreshes on 401', async () => {
		const cc = await fetch(`${url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=cid&client_secret=sec' });
		const tok = (await cc.json()) as any;
		assert.equal(tok.instance_url, url);
		assert.match(tok.id, new RegExp(`^${url}/id/00D[A-Za-z0-9]{15}/005[A-Za-z0-9]{15}$`));
		assert.equal(tok.token_type, 'Bearer');
		assert.equal(tok.refresh_token, undefined);

		const who = await conn().identity();
		assert.equal(who.user_id, em.apiUserId);
		assert.equal(who.organization_id, em.orgId);
		const codeRes = (await (await fetch(`${url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=abc&client_id=cid&client_secret=sec' })).json()) as any;
		em.setStrictAuth(true);
		try {
			assert.equal((await sfError(conn({ accessToken: 'unknown' }).query('SELECT Id FROM Contact'))).errorCode, 'INVALID_SESSION_ID');
			const c = new Connection({ instanceUrl: url, accessToken: codeRes.access_token, refreshToken: codeRes.refresh_token, version: '62.0', oauth2: { clientId: 'cid', clientSecret: 'sec', loginUrl: url } });
			await c.query('SELECT Id FROM Contact');
			em.tokens.expireAll();
			let refreshed = '';
			c.on('refresh', (t: string) => (refreshed = t));
			const res = await c.query('SELECT Id FROM Contact');
			assert.equal(res.totalSize, 0);
			assert.ok(refreshed && refreshed !== codeRes.access_token);
			const soapAfterExpiry = new Connection({ instanceUrl: url, accessToken: refreshed, refreshToken: codeRes.refresh_token, version: '62.0', oauth2: { clientId: 'cid', clientSecret: 'sec', loginUrl: url } });
			const [a, b] = (await soapAfterExpiry.sobject('Contact').create([{ LastName: 'A' }, { LastName: 'B' }])) as any[];
			em.tokens.expireAll();
			const merged = (await soapAfterExpiry.soap.merge({ masterRecord: { type: 'Contact', Id: a.id } as any, recordToMergeIds: [b.id] })) as any;
			assert.equal(merged.success, true);
			const badRefresh = await fetch(`${url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=nope&client_id=cid&client_secret=sec' });
			assert.equal(badRefresh.status, 400);
			assert.equal(((await badRefresh.json()) as any).error, 'invalid_grant');
		} finally {
			em.setStrictAuth(false);
		}
	});

	test('Sforce-Limit-Info feeds conn.limitInfo; with limits on, the daily quota gives 403 REQUEST_LIMIT_EXCEEDED', async () => {
		const small = createEmulator({ dailyApiLimit: 5, rateLimits: true });
		const smallUrl = await small.start();
		try {
			const c = new Connection({ instanceUrl: smallUrl, accessToken: 't', version: '62.0' });
			for (let i = 0; i < 5; i++) await c.query('SELECT Id FROM Contact');
			assert.deepEqual(c.limitInfo?.apiUsage, { used: 5, limit: 5 });
			const err = await sfError(c.query('SELECT Id FROM Contact'));
			assert.equal(err.errorCode, 'REQUEST_LIMIT_EXCEEDED');
			const raw = await fetch(`${smallUrl}/services/data/v62.0/limits`, { headers: { authorization: 'Bearer t' } });
			assert.equal(raw.status, 403);
		} finally {
			await small.stop();
		}
		const c = conn();
		await c.query('SELECT Id FROM Contact');
		assert.equal(c.limitInfo?.apiUsage?.limit, 15000);
		const limits = (await c.request('/services/data/v62.0/limits')) as any;
		assert.equal(limits.DailyApiRequests.Max, 15000);
	});
});

describe('webhooks', () => {
	test('Outbound Message SOAP: notifications batch, retried until Ack', async () => {
		const rx = await receiver((n) => (n === 1 ? { status: 200, body: '<nope/>' } : { status: 200, body: ACK }));
		try {
			em.addSubscription({ type: 'outboundMessage', url: rx.url, object: 'Contact', fields: ['Email', 'LastName', 'LastModifiedDate'] });
			const c = conn();
			await c.sobject('Contact').create([{ LastName: 'One', Email: 'one@x.co' }, { LastName: 'Two' }]);
			await c.sobject('Account').create({ Name: 'ignored' });
			await em.webhooksIdle();
			assert.equal(rx.got.length, 2, 'first answer had no Ack, so it was retried');
			assert.equal(rx.got[0].raw, rx.got[1].raw);
			assert.equal(rx.got[0].headers['content-type'], 'text/xml; charset=utf-8');
			const doc = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false }).parse(rx.got[1].raw);
			const n = doc.Envelope.Body.notifications;
			assert.equal(n.OrganizationId, em.orgId);
			const list = Array.isArray(n.Notification) ? n.Notification : [n.Notification];
			assert.equal(list.length, 2);
			assert.equal(list[0].sObject['@_type'], 'sf:Contact');
			assert.equal(list[0].sObject.Email, 'one@x.co');
			assert.equal(list[0].sObject.Phone, undefined);
			assert.deepEqual(em.deliveries().map((d) => d.ok), [false, true]);
		} finally {
			rx.server.close();
		}
	});

	test('JSON change events: CDC shape, X-Sfdc-Signature, changeOrigin from Sforce-Call-Options, UI changes', async () => {
		const rx = await receiver();
		try {
			em.addSubscription({ type: 'changeEvent', url: rx.url, secret: 'topsecret', entities: ['Contact'] });
			const c = conn({ callOptions: { client: 'mysync' } });
			const { id } = await c.sobject('Contact').create({ FirstName: 'Ada', LastName: 'L', MailingCity: 'London' });
			await c.sobject('Contact').update({ Id: id, LastName: 'Lovelace', MailingCity: null } as any);
			await c.sobject('Contact').destroy(id!);
			await fetch(`${url}/__admin/sobjects/Contact/${id}/undelete`, { method: 'POST' });
			await fetch(`${url}/__admin/sobjects/Contact/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Title: 'By hand' }) });
			await em.webhooksIdle();
			const msgs = rx.got.map((g) => JSON.parse(g.raw));
			for (const g of rx.got) assert.equal(g.headers['x-sfdc-signature'], createHmac('sha256', 'topsecret').update(g.raw).digest('base64'));
			const heads = msgs.map((m) => m.data.payload.ChangeEventHeader);
			assert.deepEqual(heads.map((h) => h.changeType), ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'UPDATE']);
			assert.equal(msgs[0].channel, '/data/ContactChangeEvent');
			assert.equal(heads[0].changeOrigin, 'com/salesforce/api/rest/62.0;client=mysync');
			assert.deepEqual(heads[0].recordIds, [id]);
			assert.equal(typeof heads[0].commitTimestamp, 'number');
			assert.deepEqual(msgs[0].data.payload.Name, { FirstName: 'Ada', LastName: 'L' });
			assert.equal(msgs[0].data.payload.MailingAddress.City, 'London');
			assert.ok(heads[1].changedFields.includes('Name.LastName'));
			// The update carries the compound Name with the changed part only, never the derived full name.
			assert.deepEqual(msgs[1].data.payload.Name, { LastName: 'Lovelace' });
			assert.ok(!heads[1].changedFields.includes('Name'), JSON.stringify(heads[1].changedFields));
			assert.deepEqual(heads[1].nulledFields, ['MailingAddress.City']);
			assert.equal(heads[4].changeOrigin, '');
			assert.equal(heads[4].commitUser, em.uiUserId);
			assert.equal(heads[0].commitUser, em.apiUserId);
			assert.ok(msgs[1].data.event.replayId > msgs[0].data.event.replayId);
		} finally {
			rx.server.close();
		}
	});

	test("an Account's CREATE event carries its Name, a field of its own (no compound name)", async () => {
		const rx = await receiver();
		try {
			em.addSubscription({ type: 'changeEvent', url: rx.url, secret: 'topsecret', entities: ['Account'] });
			await conn().sobject('Account').create({ Name: 'Acme Ltd', Website: 'https://acme.example' });
			await em.webhooksIdle();
			const payload = JSON.parse(rx.got[0].raw).data.payload;
			assert.equal(payload.ChangeEventHeader.changeType, 'CREATE');
			assert.equal(payload.Name, 'Acme Ltd');
			assert.equal(payload.Website, 'https://acme.example');
		} finally {
			rx.server.close();
		}
	});
});

describe('faults and admin', () => {
	test('5xx faults: POSTs fail at once, jsforce retries GETs and recovers; hangs time out; paths filter faults', async () => {
		em.setFaults({ errorRate: 1 });
		try {
			const err = await sfError(conn().sobject('Contact').create({ LastName: 'X' }));
			assert.equal(err.errorCode, 'SERVER_UNAVAILABLE');
			// A seed whose first draw faults and second does not: jsforce's GET retry recovers.
			let seed = 1;
			for (; ; seed++) {
				const p = new Prng(seed);
				if (p.next() < 0.5 && p.next() >= 0.5) break;
			}
			em.setFaults({ seed, errorRate: 0.5 });
			const before = em.requestCount;
			const res = await conn().query('SELECT Id FROM Contact');
			assert.equal(res.totalSize, 0);
			assert.ok(em.requestCount - before >= 2, 'at least one retry happened');
			em.setFaults({ hangRate: 1, pathPattern: '/query' });
			await assert.rejects(fetch(`${url}/services/data/v62.0/query?q=SELECT+Id+FROM+Contact`, { headers: { authorization: 'Bearer t' }, signal: AbortSignal.timeout(150) }));
			const ok = await fetch(`${url}/services/data/v62.0/limits`, { headers: { authorization: 'Bearer t' } });
			assert.equal(ok.status, 200, 'pathPattern limits faults to matching paths');
		} finally {
			em.setFaults({});
		}
	});

	test('seed gives deterministic accounts, contacts, leads, opportunities, tasks and events; dump shows them', async () => {
		const summary = em.seed({ seed: 3, contacts: 30, companies: 5, leads: 4, deals: 6, activities: 10 });
		assert.deepEqual(summary, { Account: 5, Contact: 30, Lead: 4, Opportunity: 6, Task: 8, Event: 2 });
		const dump = em.dump() as any;
		assert.equal(dump.Contact.length, 30);
		assert.ok(dump.Contact.every((r: any) => /^003/.test(r.Id) && r.LastName));
		const first = dump.Contact.map((r: any) => r.Email);
		em.reset();
		em.seed({ seed: 3, contacts: 30, companies: 5, leads: 4, deals: 6, activities: 10 });
		assert.deepEqual((em.dump() as any).Contact.map((r: any) => r.Email), first);
		const res = await conn().query("SELECT Id FROM Contact WHERE Account.Name != null");
		assert.ok(res.totalSize > 0);
	});
});

describe('currencies (single- and multi-currency orgs)', () => {
	const setup = async (body: Record<string, unknown>) => {
		const res = await fetch(`${url}/__admin/currency-setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		assert.equal(res.status, 200);
		return res.json();
	};
	const opportunity = { Name: 'Deal', StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 100 };

	test('a new org has one currency, USD: getUserInfo names it; no CurrencyType object, no CurrencyIsoCode field', async () => {
		const c = conn();
		const info = await c.soap.getUserInfo();
		assert.equal(info.organizationMultiCurrency, false);
		assert.equal(info.orgDefaultCurrencyIsoCode, 'USD');
		assert.equal(info.currencySymbol, '$');
		assert.equal(info.userDefaultCurrencyIsoCode, null);
		assert.equal(info.userId, em.apiUserId);
		assert.equal((await sfError(c.query('SELECT IsoCode FROM CurrencyType'))).errorCode, 'INVALID_TYPE');
		assert.equal((await sfError(c.query('SELECT CurrencyIsoCode FROM Opportunity'))).errorCode, 'INVALID_FIELD');
		assert.equal((await sfError(c.sobject('Opportunity').create({ ...opportunity, CurrencyIsoCode: 'USD' }))).errorCode, 'INVALID_FIELD');
		const id = (await c.sobject('Opportunity').create(opportunity)).id!;
		assert.equal('CurrencyIsoCode' in (await c.sobject('Opportunity').retrieve(id)), false);
		assert.equal((await c.sobject('Opportunity').describe()).fields.some((f) => f.name === 'CurrencyIsoCode'), false);
		assert.equal((await c.describeGlobal()).sobjects.some((s) => s.name === 'CurrencyType'), false);
		// Another currency locale: still one currency.
		await setup({ currencyIsoCode: 'EUR' });
		const eur = await c.soap.getUserInfo();
		assert.deepEqual([eur.organizationMultiCurrency, eur.orgDefaultCurrencyIsoCode, eur.currencySymbol], [false, 'EUR', '€']);
	});

	test('enabling multiple currencies: the corporate CurrencyType, CurrencyIsoCode on every record, getUserInfo says so', async () => {
		const c = conn();
		const before = (await c.sobject('Account').create({ Name: 'Before' })).id!;
		const state = await setup({ multiCurrency: true });
		assert.deepEqual(state, { multiCurrency: true, currencyIsoCode: 'USD', currencies: [{ IsoCode: 'USD', IsActive: true, IsCorporate: true }] });
		const info = await c.soap.getUserInfo();
		assert.deepEqual([info.organizationMultiCurrency, info.orgDefaultCurrencyIsoCode, info.currencySymbol, info.userDefaultCurrencyIsoCode], [true, null, null, 'USD']);
		assert.deepEqual((await c.query('SELECT IsoCode, IsActive, IsCorporate, ConversionRate, DecimalPlaces FROM CurrencyType')).records.map(({ attributes: _a, Id: _i, ...r }) => r), [{ IsoCode: 'USD', IsActive: true, IsCorporate: true, ConversionRate: 1, DecimalPlaces: 2 }]);
		assert.equal((await c.sobject('Account').retrieve(before)).CurrencyIsoCode, 'USD');
		// The API adds currencies (CurrencyType supports create and update); IsActive defaults to false.
		const eur = await c.sobject('CurrencyType').create({ IsoCode: 'EUR', ConversionRate: 0.9, DecimalPlaces: 2, IsActive: true });
		const jpy = await c.sobject('CurrencyType').create({ IsoCode: 'JPY', ConversionRate: 150, DecimalPlaces: 0 });
		assert.equal((await c.sobject('CurrencyType').retrieve(jpy.id!)).IsActive, false);
		assert.equal((await sfError(c.sobject('CurrencyType').create({ IsoCode: 'EUR', ConversionRate: 1, DecimalPlaces: 2 }))).errorCode, 'DUPLICATE_VALUE');
		// A record takes an active currency; without one, the user's (the corporate) currency.
		const inEur = (await c.sobject('Opportunity').create({ ...opportunity, CurrencyIsoCode: 'EUR' })).id!;
		const plain = (await c.sobject('Opportunity').create(opportunity)).id!;
		assert.equal((await c.sobject('Opportunity').retrieve(inEur)).CurrencyIsoCode, 'EUR');
		assert.equal((await c.sobject('Opportunity').retrieve(plain)).CurrencyIsoCode, 'USD');
		const picklist = (await c.sobject('Opportunity').describe()).fields.find((f) => f.name === 'CurrencyIsoCode')!;
		assert.deepEqual(picklist.picklistValues!.map((v) => v.value), ['USD', 'EUR']);
		// Inactive (JPY) and unknown (CHF) codes are refused, as is clearing the currency.
		for (const code of ['JPY', 'CHF', 'eur']) {
			const res = await fetch(`${url}/services/data/v62.0/sobjects/Opportunity`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify({ ...opportunity, CurrencyIsoCode: code }) });
			assert.equal(res.status, 400);
			assert.deepEqual(await res.json(), [{ message: `Currency ISO Code: invalid currency code: ${code}`, errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['CurrencyIsoCode'] }]);
		}
		assert.equal((await sfError(c.sobject('Opportunity').update({ Id: plain, CurrencyIsoCode: null } as never))).errorCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
		// Deactivated: no longer writable, the records that have it keep it.
		await c.sobject('CurrencyType').update({ Id: eur.id!, IsActive: false });
		assert.equal((await sfError(c.sobject('Opportunity').update({ Id: plain, CurrencyIsoCode: 'EUR' }))).errorCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
		assert.equal((await c.sobject('Opportunity').retrieve(inEur)).CurrencyIsoCode, 'EUR');
		// Nobody deletes a currency.
		assert.equal((await sfError(c.sobject('CurrencyType').destroy(eur.id!))).errorCode, 'INVALID_TYPE_FOR_OPERATION');
	});

	test('the corporate currency moves to another active currency, cannot be unset or deactivated; switching back drops the currencies', async () => {
		const c = conn();
		await setup({ multiCurrency: true, currencyIsoCode: 'GBP' });
		const usd = await c.sobject('CurrencyType').create({ IsoCode: 'USD', ConversionRate: 1.25, DecimalPlaces: 2, IsActive: true });
		const gbp = (await c.query<{ Id: string }>("SELECT Id FROM CurrencyType WHERE IsoCode = 'GBP'")).records[0].Id;
		for (const change of [{ IsCorporate: false }, { IsActive: false }]) {
			assert.equal((await sfError(c.sobject('CurrencyType').update({ Id: gbp, ...change }))).errorCode, 'FIELD_INTEGRITY_EXCEPTION');
		}
		await c.sobject('CurrencyType').update({ Id: usd.id!, IsCorporate: true });
		assert.deepEqual((await c.query<{ IsoCode: string; IsCorporate: boolean }>('SELECT IsoCode, IsCorporate FROM CurrencyType ORDER BY IsoCode')).records.map((r) => [r.IsoCode, r.IsCorporate]), [['GBP', false], ['USD', true]]);
		assert.equal((await c.soap.getUserInfo()).userDefaultCurrencyIsoCode, 'USD');
		const id = (await c.sobject('Opportunity').create({ ...opportunity })).id!;
		assert.equal((await c.sobject('Opportunity').retrieve(id)).CurrencyIsoCode, 'USD');
		assert.deepEqual(await setup({ multiCurrency: false }), { multiCurrency: false, currencyIsoCode: 'USD', currencies: [] });
		assert.equal('CurrencyIsoCode' in (await c.sobject('Opportunity').retrieve(id)), false);
		em.reset();
		assert.deepEqual(em.getCurrencySetup(), { multiCurrency: false, currencyIsoCode: 'USD', currencies: [] });
	});
});
