// The sync API: request validation (every reason with its field path, from lib/mapping's validators),
// and writes through the real connectors into the sandbox emulators with a real embedded state store.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { createConnector } from '../../../../lib/connectors';
import { CRM_NAMES, type CrmName } from '../../../../lib/model';
import { openStateStore, type StateStore } from '../../../../lib/state';
import {
	acceptBulkJob,
	BULK_MAX_BYTES,
	crmResultOf,
	MAX_REASONS,
	finishBulkJob,
	getBulkJob,
	unchangedFlags,
	validateBulkJob,
	validateBulkEnvelope,
	validateSyncRequest,
	withUnifiedId,
	type CrmResult,
	writeBulkJobToCrm,
	writeBulkJobToCrms,
	writeRequestsToCrm,
	type Reason,
	type WriteDeps,
} from '../../../../lib/sync/sync-api';
import { startSandbox, type Sandbox } from '../../../../sandbox';
import { sandboxCredentials } from '../../../e2e/fixtures';

const ALL: readonly CrmName[] = CRM_NAMES;

function reasons(body: unknown, crms = ALL): Reason[] {
	const result = validateSyncRequest(body, crms);
	assert.equal(result.ok, false, 'expected the request to be invalid');
	return (result as { reasons: Reason[] }).reasons;
}

function paths(body: unknown, crms = ALL): string[] {
	return reasons(body, crms).map((r) => r.path);
}

describe('validateSyncRequest', () => {
	test('a good create is valid, normalised, and gets a unified id when it has none', () => {
		const result = validateSyncRequest({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' } }, ALL);
		assert.ok(result.ok);
		assert.deepEqual(result.value.options, { skip_validation: false, force_update: false, trigger_workflows: false });
		const withId = withUnifiedId(result.value);
		assert.match(String(withId.data.id), /^[0-9a-f-]{36}$/);
		assert.equal(withUnifiedId({ ...result.value, data: { ...result.value.data, id: 'app-1' } }).data.id, 'app-1');
	});

	test('the body must be an object', () => {
		assert.deepEqual(reasons('"just a string"'), [{ path: '', message: 'the request body must be a JSON object; got the string "just a string"' }]);
		assert.match(reasons('{"entity_type": ')[0].message, /^the request body is not valid JSON: /);
		assert.ok(validateSyncRequest('{"entity_type":"contact","operation":"delete","data":{"id":"u1"}}', ALL).ok, 'a body sent as text is parsed');
		assert.deepEqual(paths([1, 2]), ['']);
	});

	test('all envelope problems are reported at once', () => {
		const found = reasons({ entity_type: 'person', operation: 'upsert', extra: 1, options: { force_update: 'yes', dry: true } });
		assert.deepEqual(
			found.map((r) => r.path),
			['extra', 'entity_type', 'operation', 'options.force_update', 'options.dry', 'data'],
		);
		assert.match(found[1].message, /must be one of contact, lead, account, opportunity, activity; got "person"/);
		assert.match(found[2].message, /must be one of create, update, delete, merge; got "upsert"/);
		assert.match(found[3].message, /must be true or false/);
		assert.match(found[5].message, /is required/);
	});

	test('missing entity_type and operation are named', () => {
		assert.deepEqual(paths({ data: { email: 'a@b.co' } }), ['entity_type', 'operation']);
	});

	test('data must be an object', () => {
		assert.match(reasons({ entity_type: 'contact', operation: 'create', data: [] })[0].message, /must be an object; got an array/);
	});

	test('invalid field values are reported per field with the CRMs that reject them, once per problem', () => {
		const found = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'not-an-email', lastName: 'X', phone: 'call me' } });
		const email = found.find((r) => r.path === 'data.email');
		assert.ok(email);
		assert.match(email.message, /"not-an-email" is not a valid email address \(salesforce, hubspot, pipedrive, zoho, dynamics\)/);
		assert.ok(found.some((r) => r.path === 'data.phone' && /is not a phone number/.test(r.message)));
		assert.equal(found.filter((r) => r.path === 'data.email').length, 1);
	});

	test('unknown fields are named with the fields the entity has', () => {
		const found = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'a@b.co', lastName: 'B', favouriteColour: 'blue' } });
		assert.equal(found.length, 1);
		assert.equal(found[0].path, 'data.favouriteColour');
		assert.match(found[0].message, /is not a field of the unified contact model \(fields: .*email/);
	});

	test('a contact create needs an email or a lastName; CRM-required fields come from the CRMs configured', () => {
		const hubspotOnly = reasons({ entity_type: 'contact', operation: 'create', data: { firstName: 'Ada' } }, ['hubspot']);
		assert.deepEqual(hubspotOnly, [{ path: 'data', message: 'a contact needs an email or a lastName' }]);
		// Salesforce, Zoho and Dynamics require a last name (lib/mapping default maps).
		const all = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com' } });
		assert.deepEqual(all, [{ path: 'data.lastName', message: 'is required but missing (salesforce, zoho, dynamics)' }]);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com' } }, ['hubspot']).ok);
	});

	test('opportunity create: Salesforce needs stage and closeDate; bad picklist values are named', () => {
		const found = reasons({ entity_type: 'opportunity', operation: 'create', data: { name: 'Big deal', stage: 'almostThere' } }, ['salesforce']);
		assert.ok(found.some((r) => r.path === 'data.closeDate' && /required/.test(r.message)));
		assert.ok(found.some((r) => r.path === 'data.stage' && /no value in the target picklist/.test(r.message)));
	});

	test('update and delete need an id; update needs a field to write', () => {
		assert.deepEqual(reasons({ entity_type: 'contact', operation: 'update', data: { email: 'a@b.co' } }).map((r) => r.path), ['data.id']);
		assert.match(reasons({ entity_type: 'contact', operation: 'update', data: { email: 'a@b.co' } })[0].message, /is required for update: the unified id/);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: 'u1' } }), ['data']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'delete', data: {} }), ['data.id']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'delete', data: { id: 'u1', email: 'a@b.co' } }), ['data.email']);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'delete', data: { id: 'u1' } }, ALL).ok);
		// An update does not require the create-only fields (partial update).
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'update', data: { id: 'u1', title: 'CTO' } }, ALL).ok);
	});

	test('per-CRM id maps are checked and normalised to strings', () => {
		const ok = validateSyncRequest({ entity_type: 'contact', operation: 'update', data: { id: { pipedrive: 42, hubspot: '7' }, title: 'CTO' } }, ALL);
		assert.ok(ok.ok);
		assert.deepEqual(ok.value.data.id, { pipedrive: '42', hubspot: '7' });
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: { myCrm: '1', hubspot: '' }, title: 'CTO' } }), ['data.id.myCrm', 'data.id.hubspot']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: {}, title: 'CTO' } }), ['data.id']);
	});

	test('merge needs masterId and a non-empty mergedIds without the master', () => {
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: {} }), ['data.masterId', 'data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: [] } }), ['data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u1'] } }), ['data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u2', 5, null] } }), ['data.mergedIds[2]']);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u2', { hubspot: '9' }] } }, ALL).ok);
	});

	test('skip_validation skips field checks but not the envelope or ids', () => {
		const data = { email: 'not-an-email', favouriteColour: 'blue' };
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'create', data, options: { skip_validation: true } }, ALL).ok);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data, options: { skip_validation: true } }), ['data.id']);
	});
});

describe('hostile requests (issue 17)', () => {
	const hostile = JSON.parse('{"toString":1,"valueOf":1}') as unknown;

	test('a value String() cannot convert gets a reason at its field instead of throwing (item 15)', () => {
		const fields = [['contact', 'firstName'], ['contact', 'leadSource'], ['contact', 'emailOptOut'], ['opportunity', 'closeDate'], ['activity', 'contactIds'], ['activity', 'accountIds'], ['activity', 'type']] as const;
		for (const [entity, field] of fields) {
			for (const value of [hostile, [hostile]]) {
				const body = { entity_type: entity, operation: 'update', data: { id: 'u1', body: entity === 'activity' ? 'text' : undefined, [field]: value } };
				const result = validateSyncRequest(body, ALL);
				assert.equal(result.ok, false, `${entity}.${field}`);
				assert.ok((result as { reasons: Reason[] }).reasons.some((r) => r.path === `data.${field}`), `${entity}.${field}: ${JSON.stringify(result)}`);
			}
		}
		assert.equal(validateSyncRequest({ entity_type: 'contact', operation: 'merge', data: { masterId: hostile, mergedIds: [hostile] } }, ALL).ok, false);
	});

	test('a refusal lists at most MAX_REASONS reasons and counts them all (item 17)', () => {
		const data: Record<string, string> = { email: 'a@b.co', lastName: 'B' };
		for (let i = 0; i < 10_000; i++) data[`f${i}`] = 'x';
		const body = JSON.stringify({ entity_type: 'contact', operation: 'create', data });
		const result = validateSyncRequest(body, ALL);
		assert.equal(result.ok, false);
		const refusal = result as { reasons: Reason[]; reasonCount: number };
		assert.equal(refusal.reasons.length, MAX_REASONS);
		assert.equal(refusal.reasonCount, 10_000);
		assert.equal(refusal.reasons[0].path, 'data.f0');
		const reply = JSON.stringify(refusal).length;
		assert.ok(reply < body.length, `the reply (${reply} bytes) is smaller than the request (${body.length} bytes)`);
		// A field name or value megabytes long is cut in the reason.
		const long = validateSyncRequest({ entity_type: 'contact', operation: 'create', data: { lastName: 'B', ['k'.repeat(100_000)]: 1 } }, ALL) as { reasons: Reason[] };
		assert.ok(JSON.stringify(long.reasons).length < 2_000);
	});
});

describe('validateBulkEnvelope', () => {
	test('size limit, records array and envelope', () => {
		assert.match((validateBulkEnvelope({}, BULK_MAX_BYTES + 1) as { reasons: Reason[] }).reasons[0].message, /up to 10485760/);
		const bad = validateBulkEnvelope({ entity_type: 'contact', operation: 'create', records: [] }, 10);
		assert.deepEqual((bad as { reasons: Reason[] }).reasons.map((r) => r.path), ['records']);
		const ok = validateBulkEnvelope({ entity_type: 'contact', operation: 'create', records: [{ email: 'a@b.co' }] }, 10);
		assert.ok(ok.ok);
		assert.equal(ok.value.records.length, 1);
	});
});

// ---- writes: real connectors against the HubSpot and Salesforce emulators, a real embedded store ----

describe('writeRequestsToCrm and bulk jobs (sandbox)', () => {
	let sandbox: Sandbox;
	let store: StateStore;
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-api-'));
	let deps: Record<'hubspot' | 'salesforce', WriteDeps>;

	before(async () => {
		sandbox = await startSandbox({ crms: ['hubspot', 'salesforce'] });
		store = await openStateStore({ backend: 'embedded', namespace: 'sync-api-test', path: path.join(tmp, 'state.sqlite') });
		const credentials = Object.fromEntries(sandboxCredentials(sandbox.urls).map((c) => [c.type, c.data]));
		const make = (crm: 'hubspot' | 'salesforce', type: string): WriteDeps => ({
			crm,
			store: async () => store,
			connector: (options) => createConnector(crm, credentials[type], { store, ...(options.trigger_workflows ? { changeSourceMarker: 'x' } : {}) }),
		});
		deps = { hubspot: make('hubspot', 'hubSpotCrmSyncApi'), salesforce: make('salesforce', 'salesforceCrmSyncOAuth2Api') };
	});
	after(async () => {
		await store?.close();
		await sandbox?.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	});

	const noOptions = { skip_validation: false, force_update: false, trigger_workflows: false };
	const hsContact = (id: string) => (sandbox.emulators.hubspot!.dump().contacts as Array<{ id: string; archived?: boolean; properties: Record<string, string> }>).find((c) => c.id === id);
	const sfContact = (id: string) => (sandbox.emulators.salesforce!.dump().Contact as Array<Record<string, unknown>>).find((c) => c.Id === id);

	test('create, update (unchanged unless force_update), delete by unified id, and merge, in two CRMs', async () => {
		const data = { id: 'app-1', email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper' };
		const [hs] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [data]);
		const [sf] = await writeRequestsToCrm(deps.salesforce, 'contact', 'create', noOptions, [data]);
		assert.equal(hs.status, 'created', JSON.stringify(hs));
		assert.equal(sf.status, 'created', JSON.stringify(sf));
		assert.equal(hsContact(hs.id!)!.properties.email, 'grace@example.com');
		assert.equal(sfContact(sf.id!)!.LastName, 'Hopper');
		assert.deepEqual((await store.getCrossRef('contact', 'app-1'))?.ids, { hubspot: hs.id, salesforce: sf.id });

		const [again] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [data]);
		assert.equal(again.code, 'ALREADY_EXISTS');

		const [updated] = await writeRequestsToCrm(deps.salesforce, 'contact', 'update', noOptions, [{ id: 'app-1', title: 'Rear Admiral' }]);
		assert.equal(updated.status, 'updated');
		assert.equal(sfContact(sf.id!)!.Title, 'Rear Admiral');
		// Unchanged is decided once against the snapshot before any CRM is written (the snapshot is shared).
		const again2 = [{ id: 'app-1', title: 'Rear Admiral' }];
		const flags = await unchangedFlags(store, 'contact', 'update', again2);
		assert.deepEqual(flags, [true]);
		const [same] = await writeRequestsToCrm(deps.salesforce, 'contact', 'update', noOptions, again2, flags);
		assert.equal(same.status, 'unchanged');
		assert.equal(same.id, sf.id);
		const [forced] = await writeRequestsToCrm(deps.salesforce, 'contact', 'update', { ...noOptions, force_update: true }, again2, flags);
		assert.equal(forced.status, 'updated');
		const changed = [{ id: 'app-1', firstName: 'Amazing Grace' }];
		const before = await unchangedFlags(store, 'contact', 'update', changed);
		assert.deepEqual(before, [false]);
		const [sfChanged] = await writeRequestsToCrm(deps.salesforce, 'contact', 'update', noOptions, changed, before);
		const [hsChanged] = await writeRequestsToCrm(deps.hubspot, 'contact', 'update', noOptions, changed, before);
		assert.deepEqual([sfChanged.status, hsChanged.status], ['updated', 'updated']);
		assert.equal(hsContact(hs.id!)!.properties.firstname, 'Amazing Grace');

		const [byCrmId] = await writeRequestsToCrm(deps.hubspot, 'contact', 'update', noOptions, [{ id: { hubspot: hs.id! }, lastName: 'Hopper-Murray' }]);
		assert.equal(byCrmId.status, 'updated');
		assert.equal(hsContact(hs.id!)!.properties.lastname, 'Hopper-Murray');
		const [unknown] = await writeRequestsToCrm(deps.hubspot, 'contact', 'update', noOptions, [{ id: 'never-created', lastName: 'X' }]);
		assert.equal(unknown.code, 'MISSING_ID');
		assert.match(unknown.error!, /unified id never-created has no contact in hubspot/);

		// Merge: a second record merged into the first (Salesforce; HubSpot's connector merge fails on a
		// fresh connector, see the report), and a CRM where the master is not linked.
		const dup = { id: 'app-2', email: 'grace.h@example.com', lastName: 'Hopper' };
		const [sfDup] = await writeRequestsToCrm(deps.salesforce, 'contact', 'create', noOptions, [dup]);
		const [merged] = await writeRequestsToCrm(deps.salesforce, 'contact', 'merge', noOptions, [{ masterId: 'app-1', mergedIds: ['app-2'] }]);
		assert.equal(merged.status, 'merged', JSON.stringify(merged));
		assert.equal(merged.id, sf.id);
		const loser = sfContact(sfDup.id!);
		assert.ok(!loser || loser.IsDeleted === true, 'the merged record is gone');
		assert.equal((await store.getCrossRef('contact', 'app-2'))?.ids.salesforce, undefined);
		const [hsMissing] = await writeRequestsToCrm(deps.hubspot, 'contact', 'merge', noOptions, [{ masterId: 'app-1', mergedIds: ['app-2'] }]);
		assert.equal(hsMissing.code, 'MISSING_ID');
		assert.match(hsMissing.error!, /merged unified id app-2 has no contact in hubspot/);

		const [deleted] = await writeRequestsToCrm(deps.salesforce, 'contact', 'delete', noOptions, [{ id: 'app-1' }]);
		assert.equal(deleted.status, 'deleted');
		const row = sfContact(sf.id!);
		assert.ok(!row || row.IsDeleted === true);
	});

	test('a create whose cross-reference write fails is not made a second time by a retry (item 6)', async () => {
		// No email: HubSpot's email uniqueness would refuse a second create, Salesforce and the others do not.
		const data = { id: 'app-once', firstName: 'Ada', lastName: 'Created-Once' };
		const made = () => (sandbox.emulators.hubspot!.dump().contacts as Array<{ id: string; properties: Record<string, string> }>).filter((c) => c.properties.lastname === 'Created-Once');
		// Break the real store's file: every cross-reference insert fails (as on a full disk), reads still work.
		const db = new DatabaseSync(path.join(tmp, 'state.sqlite'));
		db.exec(`CREATE TRIGGER break_links BEFORE INSERT ON xref BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
		let first: CrmResult;
		try {
			[first] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [data]);
		} finally {
			db.exec('DROP TRIGGER break_links');
			db.close();
		}
		assert.equal(first.status, 'error', JSON.stringify(first));
		assert.match(first.error!, /disk is full/);
		assert.equal(made().length, 1, 'HubSpot made the record before the state store failed');

		const [retry] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [data]);
		assert.equal(made().length, 1, 'the retry created no second record');
		assert.equal(retry.code, 'INTERRUPTED_CREATE', JSON.stringify(retry));
		assert.match(retry.error!, /may exist in hubspot already/);

		// Someone checks HubSpot and links the record: a create is then refused as existing, and the claim is gone.
		await store.link({ entity: 'contact', unifiedId: 'app-once', crm: 'hubspot', recordId: made()[0].id });
		const [linked] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [data]);
		assert.equal(linked.code, 'ALREADY_EXISTS');
		assert.equal((await store.kvScan('bulk', { prefix: 'creating|hubspot|contact|app-once' })).items.length, 0);
	});

	test('a deferred write is reported as deferred with its reason, not as updated (item 18)', () => {
		// The result UpsertWriter gives when another execution holds the record's write lock.
		const reason = 'another execution is writing this record to hubspot and writes the newest values when its write ends';
		const deferred = crmResultOf('hubspot', { index: 0, ok: true, json: { status: 'deferred', id: '51', reason, crm: 'hubspot', entity: 'contact', operation: 'update' } });
		assert.deepEqual(deferred, { crm: 'hubspot', status: 'deferred', id: '51', reason });
		const unknown = crmResultOf('hubspot', { index: 0, ok: true, json: { status: 'dryRun', id: null } });
		assert.equal(unknown.status, 'error');
		assert.match(unknown.error!, /status dryRun/);
	});

	test('trigger_workflows=false records echo fingerprints; true does not', async () => {
		const [quiet] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', noOptions, [{ id: 'app-3', email: 'quiet@example.com', lastName: 'Q' }]);
		assert.equal(await store.consumeEcho('hubspot', 'contact', quiet.id!, { email: 'quiet@example.com', lastName: 'Q' }), true);
		const [loud] = await writeRequestsToCrm(deps.hubspot, 'contact', 'create', { ...noOptions, trigger_workflows: true }, [{ id: 'app-4', email: 'loud@example.com', lastName: 'L' }]);
		assert.equal(loud.status, 'created');
		assert.equal(await store.consumeEcho('hubspot', 'contact', loud.id!, { email: 'loud@example.com', lastName: 'L' }), false);
		assert.ok(await store.getCrossRef('contact', 'app-4'), 'cross-references are still kept');
	});

	test('a bulk job: invalid records are set aside with reasons, the rest land in each CRM, pages are deleted at the end', async () => {
		const envelope = validateBulkEnvelope(
			{ entity_type: 'contact', operation: 'create', records: [...Array.from({ length: 620 }, (_, i) => ({ email: `bulk${i}@example.com`, lastName: `Bulk ${i}` })), { email: 'broken', lastName: 'X' }] },
			1000,
		);
		assert.ok(envelope.ok);
		const job = await acceptBulkJob(store, envelope.value);
		assert.equal(job.records, 621);
		assert.equal(job.pages, 2);
		assert.equal((await store.kvScan('syncApi.bulk', { prefix: `spool|${job.jobId}|` })).items.length, 2, 'the records are spooled in two pages');
		await assert.rejects(writeBulkJobToCrm(deps.hubspot, job.jobId), /not validated yet/);
		const checked = await validateBulkJob(store, job.jobId, ['hubspot', 'salesforce']);
		assert.equal(checked.invalid, 1);
		assert.equal(checked.invalidRecords[0].index, 620);
		assert.equal(checked.invalidRecords[0].reasons[0].path, 'records[620].email');
		const before = (sandbox.emulators.hubspot!.dump().contacts as unknown[]).length;
		// Both CRMs at once, as the Write to CRMs step does: neither summary overwrites the other.
		const written = await writeBulkJobToCrms([deps.hubspot, deps.salesforce], job.jobId);
		assert.deepEqual(written.results.map((r) => [r.crm, r.created, r.failed]), [['hubspot', 620, 0], ['salesforce', 620, 0]]);
		assert.deepEqual((await getBulkJob(store, job.jobId))?.results.map((r) => r.crm), ['hubspot', 'salesforce']);
		assert.equal((sandbox.emulators.hubspot!.dump().contacts as unknown[]).length, before + 620);
		const done = await finishBulkJob(store, job.jobId);
		assert.equal(done.status, 'done');
		assert.equal((await getBulkJob(store, job.jobId))?.status, 'done');
		assert.equal((await store.kvScan('syncApi.bulk', { prefix: `spool|${job.jobId}|` })).items.length, 0);
	});

	test('a bulk record that String() cannot convert is invalid with a reason; the job goes on and its pages are deleted (item 15)', async () => {
		const hostile = JSON.parse('{"toString":1,"valueOf":1}') as unknown;
		const records = [{ email: 'h0@example.com', lastName: 'H0' }, { email: 'h1@example.com', lastName: 'H1', leadSource: hostile }, { email: 'h2@example.com', lastName: 'H2', firstName: hostile }, { email: 'h3@example.com', lastName: 'H3' }];
		const envelope = validateBulkEnvelope({ entity_type: 'contact', operation: 'create', records }, 1000);
		assert.ok(envelope.ok);
		const job = await acceptBulkJob(store, envelope.value);
		const checked = await validateBulkJob(store, job.jobId, ['hubspot']);
		assert.equal(checked.invalid, 2);
		assert.deepEqual(checked.invalidRecords.map((r) => [r.index, r.reasons[0].path]), [[1, 'records[1].leadSource'], [2, 'records[2].firstName']]);
		const written = await writeBulkJobToCrm(deps.hubspot, job.jobId);
		assert.deepEqual(written.results.map((r) => [r.crm, r.created, r.failed]), [['hubspot', 2, 0]]);
		await finishBulkJob(store, job.jobId);
		assert.equal((await store.kvScan('syncApi.bulk', { prefix: `spool|${job.jobId}|` })).items.length, 0);
	});
});
