// lib/sync/bulk.ts against the five sandbox CRMs through the real connectors, with a real embedded
// state store: a full job converges the targets with no duplicates and counts that match the CRMs'
// contents; an incremental rerun writes nothing; a dry run writes nothing; a job stopped by a target
// outage resumes from its checkpoint without losing or duplicating anything. Contacts without an
// email are created once and linked; one whose create was left unanswered (a pending claim) is
// reported, not created again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { CRM_NAMES, type CrmName } from '../../../lib/model';
import { openStateStore, type StateStore } from '../../../lib/state';
import {
	BulkRunInProgressError,
	bulkLeaseResource,
	finishJob,
	listSyncHistory,
	loadJob,
	parseBulkSettings,
	readSourceToSpool,
	writeSpoolToTarget,
	writeSpoolToTargets,
	type BulkFailure,
	type BulkSettings,
} from '../../../lib/sync/bulk';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { apiCredentials } from '../../e2e/fixtures';
import { contactEmails, contactRecords, sourceEmails } from '../../bench/bulk-n8n';

const SOURCE: CrmName = 'hubspot';
const TARGETS = CRM_NAMES.filter((crm) => crm !== SOURCE);
const CONTACTS = 600;

let dir: string;
let store: StateStore;
let sandbox: Sandbox;
let credentials: Record<string, Record<string, unknown>>;

// The sandbox runs without rate limits: the connectors pace by concurrency only.
const connector = (crm: CrmName): CrmConnector => createConnector(crm, credentials[crm], { store, limits: { default: { maxConcurrent: 16 }, search: { maxConcurrent: 8 } } });

before(async () => {
	dir = mkdtempSync(join(tmpdir(), 'bulk-unit-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'bulk-unit', path: join(dir, 'state.db') });
	sandbox = await startSandbox({ seed: { contacts: 0, companies: 0, deals: 0, activities: 0 }, perCrm: { [SOURCE]: { seed: { contacts: CONTACTS, companies: 0, deals: 0, activities: 0 } } } });
	credentials = apiCredentials(sandbox.urls);
});

after(async () => {
	await sandbox?.stop();
	await store?.close();
	rmSync(dir, { recursive: true, force: true });
});

async function runJob(settings: BulkSettings, failures: BulkFailure[] = []) {
	const job = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings });
	for (const target of TARGETS) {
		await writeSpoolToTarget(target, () => connector(target), store, { source: SOURCE, entity: 'contact', jobId: job.id, dryRun: settings.dryRun, onFailures: (f) => failures.push(...f) });
	}
	return finishJob(store, SOURCE, 'contact', job.id, settings.dryRun);
}

function emailsOf(crm: CrmName): string[] {
	return contactEmails(crm, sandbox.emulators[crm]!.dump() as Record<string, unknown[]>);
}

function recordsIn(crm: CrmName): number {
	return contactRecords(crm, sandbox.emulators[crm]!.dump() as Record<string, unknown[]>).length;
}

/** Claims of creates still open (lib/sync/bulk.ts: records without an email). */
async function openClaims(): Promise<string[]> {
	return (await store.kvScan('bulk', { prefix: 'creating|' })).items.map((e) => e.key);
}

test('settings: defaults, validation', () => {
	assert.deepEqual(parseBulkSettings({}), { mode: 'incremental', since: undefined, dryRun: false, batchSize: undefined, maxRecords: undefined, pageSize: undefined });
	assert.equal(parseBulkSettings({ mode: 'full', since: '2026-01-02', maxRecords: '10' }).since, '2026-01-02T00:00:00.000Z');
	assert.throws(() => parseBulkSettings({ mode: 'everything' }), /Unknown bulk mode/);
	assert.throws(() => parseBulkSettings({ since: 'yesterday' }), /not a date/);
	assert.throws(() => parseBulkSettings({ batchSize: -1 }), /whole number/);
});

test('a dry run reads and counts but writes nothing: no CRM record, no source position', async () => {
	const summary = await runJob({ mode: 'incremental', dryRun: true, pageSize: 250 });
	assert.equal(summary.processed, CONTACTS);
	assert.equal(summary.read.spooled, CONTACTS - summary.read.mergedDuplicates);
	assert.equal(summary.wouldWrite, summary.read.spooled * TARGETS.length);
	assert.equal(summary.created + summary.updated, 0);
	for (const crm of TARGETS) assert.equal(emailsOf(crm).length, 0, crm);
	assert.equal(await store.kvGet('bulk.polling', `cursor|${SOURCE}|contact`), undefined);
	assert.deepEqual(await openClaims(), [], 'a dry run claims nothing');
});

test('a run that dies while writing is resumed from its checkpoint by the next run and converges with no duplicates', async () => {
	const failures: BulkFailure[] = [];
	const settings: BulkSettings = { mode: 'incremental', dryRun: false, pageSize: 200 };
	const job = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings });
	assert.equal(job.pages, 3);
	await writeSpoolToTarget('salesforce', () => connector('salesforce'), store, { source: SOURCE, entity: 'contact', jobId: job.id, dryRun: false, onFailures: (f) => failures.push(...f) });
	// The run dies right after Pipedrive's first page was checkpointed.
	await assert.rejects(
		writeSpoolToTarget('pipedrive', () => connector('pipedrive'), store, {
			source: SOURCE,
			entity: 'contact',
			jobId: job.id,
			dryRun: false,
			log: (line) => {
				if (line.includes('pipedrive page 1/')) throw new Error('killed');
			},
		}),
		/killed/,
	);
	assert.equal((await loadJob(store, SOURCE, 'contact', false))!.progress.pipedrive!.nextPage, 1);
	await assert.rejects(finishJob(store, SOURCE, 'contact', job.id, false), /not yet written to pipedrive, zoho, dynamics/);

	// The next run: same job, read is done, salesforce is done, pipedrive goes on from page 2.
	const summary = await runJob(settings, failures);
	assert.equal(summary.jobId, job.id);
	assert.equal(summary.resumed, 1);
	const sourceDump = sandbox.emulators[SOURCE]!.dump() as Record<string, unknown[]>;
	const expected = [...new Set(sourceEmails(SOURCE, sourceDump))].sort();
	const noEmailIds = contactRecords(SOURCE, sourceDump)
		.filter((r) => !contactEmails(SOURCE, { contacts: [r] }).length)
		.map((r) => String(r.id));
	const withoutEmail = noEmailIds.length;
	assert.ok(withoutEmail > 0, 'the seed has contacts without email');
	const noEmailUnified = [...(await store.findUnifiedIds('contact', SOURCE, noEmailIds)).values()];
	assert.equal(noEmailUnified.length, withoutEmail);
	const refs = await store.getCrossRefs('contact', noEmailUnified);
	for (const crm of TARGETS) {
		const emails = emailsOf(crm);
		assert.equal(new Set(emails).size, emails.length, `${crm}: duplicate emails`);
		assert.deepEqual([...emails].sort(), expected, `${crm}: not converged`);
		// Each distinct email created once (Pipedrive's first page by the run that died); same-email records of later pages
		// update; records without email are created, once each.
		const records = recordsIn(crm);
		assert.equal(records, expected.length + withoutEmail, crm);
		assert.equal(summary.targets[crm]!.created, records, crm);
		assert.equal(summary.targets[crm]!.failed, 0, crm);
		assert.equal(summary.targets[crm]!.processed, summary.read.spooled, crm);
		assert.equal(summary.targets[crm]!.created + summary.targets[crm]!.updated, summary.read.spooled, crm);
		// Each contact without email is linked to its own record in the target, which exists there.
		const linked = noEmailUnified.map((id) => refs.get(id)?.ids[crm]);
		assert.ok(linked.every((id) => id), `${crm}: contacts without email not all linked`);
		assert.equal(new Set(linked).size, withoutEmail, `${crm}: two contacts linked to one record`);
		for (const id of linked) assert.ok(await connector(crm).get('contact', id!), `${crm}: linked record ${id} missing`);
	}
	assert.equal(summary.failed, 0);
	assert.deepEqual(failures, []);
	assert.deepEqual(await openClaims(), [], 'every claim released');
	assert.equal(summary.processed, CONTACTS);
	assert.equal(summary.read.spooled, CONTACTS - summary.read.mergedDuplicates);
	assert.deepEqual((await listSyncHistory(store, SOURCE, 'contact')).map((h) => h.jobId)[0], job.id);
	assert.equal((await store.kvScan('bulk', { prefix: `spool|${job.id}|` })).items.length, 0, 'spool dropped');
});

test('an incremental rerun finds nothing new and writes nothing; full with force-overwrite rewrites', async () => {
	const requests = () => TARGETS.reduce((n, crm) => n + (sandbox.emulators[crm] as unknown as { requestCount: number }).requestCount, 0);
	const before = requests();
	const summary = await runJob({ mode: 'incremental', dryRun: false });
	assert.equal(summary.processed, 0);
	assert.equal(summary.created + summary.updated + summary.failed, 0);
	assert.equal(requests(), before);

	const counts = TARGETS.map(recordsIn);
	const full = await runJob({ mode: 'full', dryRun: false, pageSize: 300 });
	assert.equal(full.processed, CONTACTS);
	assert.equal(full.created + full.updated + full.failed, 0, 'full: the snapshots say the targets hold these values');
	assert.equal(full.unchanged, full.targets.salesforce!.processed * TARGETS.length);

	// Contacts without email are linked now: updated by id, not created again.
	const forced = await runJob({ mode: 'force-overwrite', dryRun: false, pageSize: 300 });
	assert.equal(forced.created + forced.failed, 0);
	assert.equal(forced.updated, forced.targets.salesforce!.processed * TARGETS.length);
	for (const crm of TARGETS) assert.equal(new Set(emailsOf(crm)).size, emailsOf(crm).length, crm);
	assert.deepEqual(TARGETS.map(recordsIn), counts, 'no record created by the full and forced runs');

	// Full runs keep their own position: incremental goes on where it was, and finds nothing new.
	const afterFull = await runJob({ mode: 'incremental', dryRun: false });
	assert.equal(afterFull.processed, 0);
});

test('a later run takes an unfinished job over: the earlier run stops at its next checkpoint', async () => {
	const settings: BulkSettings = { mode: 'full', dryRun: false, pageSize: 300 };
	const first = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-1' });
	const second = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-2' });
	assert.equal(second.id, first.id);
	await assert.rejects(
		writeSpoolToTarget('salesforce', () => connector('salesforce'), store, { source: SOURCE, entity: 'contact', jobId: first.id, dryRun: false, owner: 'execution-1' }),
		/taken over by a later run \(execution-2\)/,
	);
	for (const target of TARGETS) await writeSpoolToTarget(target, () => connector(target), store, { source: SOURCE, entity: 'contact', jobId: first.id, dryRun: false, owner: 'execution-2' });
	const summary = await finishJob(store, SOURCE, 'contact', first.id, false);
	assert.equal(summary.resumed, 1);
});

test('a contact without email whose create got no answer (pending claim) is reported, not created again, until it is linked', async () => {
	const [made] = await connector(SOURCE).create('contact', [{ ref: 0, fields: { firstname: 'Nomail', lastname: 'Interrupted' } }]);
	assert.equal(made.status, 'created');
	const recordId = (made as { id: string }).id;
	// As if a run had died while creating it in Salesforce: the claim is there, the record is not linked.
	const unifiedId = `${SOURCE}:${recordId}`;
	const claim = `creating|salesforce|contact|${unifiedId}`;
	await store.kvPut('bulk', claim, { jobId: 'killed-job', at: new Date().toISOString() });
	const counts = Object.fromEntries(TARGETS.map((crm) => [crm, recordsIn(crm)]));

	const failures: BulkFailure[] = [];
	const summary = await runJob({ mode: 'incremental', dryRun: false }, failures);
	assert.equal(summary.processed, 1);
	assert.equal(summary.targets.salesforce!.created, 0);
	assert.equal(summary.targets.salesforce!.failed, 1);
	assert.equal(recordsIn('salesforce'), counts.salesforce, 'nothing created in Salesforce');
	assert.equal(failures.length, 1);
	assert.equal(failures[0].code, 'INTERRUPTED_CREATE');
	assert.equal(failures[0].target, 'salesforce');
	assert.equal(failures[0].unifiedId, unifiedId);
	assert.match(failures[0].error, /may exist in salesforce already/);
	assert.deepEqual(await openClaims(), [claim], 'the claim is kept for review');
	// The other targets had no claim: created there once and linked.
	const ref = await store.getCrossRef('contact', unifiedId);
	for (const crm of TARGETS.filter((c) => c !== 'salesforce')) {
		assert.equal(summary.targets[crm]!.created, 1, crm);
		assert.equal(recordsIn(crm), counts[crm] + 1, crm);
		assert.ok(ref?.ids[crm], crm);
	}
	assert.equal(ref?.ids.salesforce, undefined);

	// A later (full) run reports it again and still creates nothing.
	const again: BulkFailure[] = [];
	const full = await runJob({ mode: 'full', dryRun: false, pageSize: 300 }, again);
	assert.equal(full.created, 0);
	assert.deepEqual(again.map((f) => [f.target, f.code, f.unifiedId]), [['salesforce', 'INTERRUPTED_CREATE', unifiedId]]);
	assert.equal(recordsIn('salesforce'), counts.salesforce);

	// Someone finds the record in Salesforce and links it: the next run updates it by id and drops the claim.
	const [found] = await connector('salesforce').create('contact', [{ ref: 0, fields: { FirstName: 'Nomail', LastName: 'Interrupted' } }]);
	await store.linkMany([{ entity: 'contact', unifiedId, crm: 'salesforce', recordId: (found as { id: string }).id }]);
	await connector(SOURCE).update('contact', [{ ref: 0, id: recordId, fields: { lastname: 'Linked' } }]);
	const linked = await runJob({ mode: 'incremental', dryRun: false });
	assert.equal(linked.processed, 1);
	assert.equal(linked.targets.salesforce!.updated, 1);
	assert.equal(linked.created + linked.failed, 0);
	assert.equal(recordsIn('salesforce'), counts.salesforce + 1);
	assert.deepEqual(await openClaims(), []);
});

test('a second run while a step of the first holds the job lease fails ("in progress") after waiting 1.5 leases; the lease is renewed through a long step and released at its end', async () => {
	const settings: BulkSettings = { mode: 'force-overwrite', dryRun: false, pageSize: 100 };
	const leaseMs = 300;
	const job = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-A', leaseMs });
	// Every Salesforce request takes 200 ms: the write step outlasts the lease's lifetime several times.
	sandbox.emulators.salesforce!.setFaults({ latencyMs: 200 });
	const attempts: Array<{ at: number; outcome: Promise<unknown> }> = [];
	const started = Date.now();
	try {
		await writeSpoolToTarget('salesforce', () => connector('salesforce'), store, {
			source: SOURCE,
			entity: 'contact',
			jobId: job.id,
			dryRun: false,
			owner: 'execution-A',
			leaseMs,
			// After each page but the last, a second run of the job starts. Its lease of 60 ms makes it wait
			// 90 ms for the lease, less than a page takes: it gives up while the first run still writes.
			log: () => {
				if (attempts.length === job.pages - 1) return;
				const outcome = readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-B', leaseMs: 60 }).then(() => 'ran', (error: unknown) => error);
				attempts.push({ at: Date.now() - started, outcome });
			},
		});
	} finally {
		sandbox.emulators.salesforce!.setFaults({});
	}
	assert.equal(attempts.length, job.pages - 1);
	for (const outcome of await Promise.all(attempts.map((a) => a.outcome))) {
		assert.ok(outcome instanceof BulkRunInProgressError, `the second run ran: ${String(outcome)}`);
		assert.match(outcome.message, new RegExp(`^A bulk run of job ${job.id} \\(hubspot contact\\) is in progress \\(started \\d{4}-.+ by execution execution-A, now writing to salesforce\\)`));
	}
	const last = attempts[attempts.length - 1].at;
	assert.ok(last > leaseMs, `the last attempt came ${last} ms into the step, after the lease's first lifetime: it was renewed`);
	assert.equal((await loadJob(store, SOURCE, 'contact', false))!.owner, 'execution-A', 'the second run changed nothing');
	// Released at the end of the step: a run started now goes on with the job.
	const next = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-B', leaseMs });
	assert.equal(next.id, job.id);
	assert.equal(next.progress.salesforce!.done, true);
});

test('a run that died holding the lease keeps other runs out until the lease expires; the next run waits for that, then resumes the job', async () => {
	const settings: BulkSettings = { mode: 'force-overwrite', dryRun: false, pageSize: 100 };
	const unfinished = (await loadJob(store, SOURCE, 'contact', false))!;
	assert.equal(unfinished.status, 'read');
	const resource = bulkLeaseResource(SOURCE, 'contact', false);
	// A lease that outlives the wait (a live holder, as seen by a run with a 200 ms lease): "in progress".
	const held = await store.acquireLock(resource, 60_000);
	assert.ok(held);
	await assert.rejects(readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-C', leaseMs: 200 }), (e: unknown) => e instanceof BulkRunInProgressError && e.message.includes(`job ${unfinished.id}`) && /waited/.test(e.message));
	await assert.rejects(finishJob(store, SOURCE, 'contact', unfinished.id, false, { leaseMs: 200 }), BulkRunInProgressError);
	await store.releaseLock(resource, held.token);
	// As if execution-B's process died in the middle of a step: its lease stays until it expires, and the next run waits for it.
	assert.ok(await store.acquireLock(resource, 500));
	const waitStarted = Date.now();
	const job = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-C' });
	assert.ok(Date.now() - waitStarted >= 400, 'it waited for the dead run\'s lease');
	assert.equal(job.id, unfinished.id);
	assert.equal(job.resumed, unfinished.resumed + 1);
	for (const target of TARGETS) await writeSpoolToTarget(target, () => connector(target), store, { source: SOURCE, entity: 'contact', jobId: job.id, dryRun: false, owner: 'execution-C' });
	const summary = await finishJob(store, SOURCE, 'contact', job.id, false, { owner: 'execution-C' });
	assert.equal(summary.jobId, job.id);
	assert.equal(summary.created, 0);
	assert.equal(summary.failed, 0);
	assert.equal(summary.updated, summary.read.spooled * TARGETS.length, 'force-overwrite: every record rewritten once in every target (Salesforce by the earlier run)');
});

test('every target written at once in one step: a target that fails stops at its checkpoint, the others finish, and a later step completes it', async () => {
	// Force overwrite: every record is written (nothing skipped as unchanged), so Zoho is called.
	const settings: BulkSettings = { mode: 'force-overwrite', dryRun: false, pageSize: 300 };
	const before = Object.fromEntries(TARGETS.map((crm) => [crm, recordsIn(crm)]));
	const job = await readSourceToSpool(connector(SOURCE), store, { entity: 'contact', settings, owner: 'execution-D' });
	const options = { source: SOURCE, entity: 'contact' as const, jobId: job.id, dryRun: false, owner: 'execution-D' };
	// Zoho's writes fail as a whole call (as an outage past its retries would).
	const failingZoho = (): CrmConnector => {
		const real = connector('zoho');
		return new Proxy(real, { get: (target, key) => (key === 'upsert' || key === 'update' ? async () => Promise.reject(new Error('zoho is down')) : Reflect.get(target, key, target)) });
	};
	const targets = TARGETS.map((crm) => ({ crm, connector: crm === 'zoho' ? failingZoho : () => connector(crm) }));
	await assert.rejects(writeSpoolToTargets(targets, store, options), /zoho is down/);
	const afterFailure = (await loadJob(store, SOURCE, 'contact', false))!;
	for (const crm of TARGETS) assert.equal(afterFailure.progress[crm]?.done === true, crm !== 'zoho', `${crm} done`);
	await assert.rejects(finishJob(store, SOURCE, 'contact', job.id, false), /not yet written to zoho/);

	const { stats } = await writeSpoolToTargets(TARGETS.map((crm) => ({ crm, connector: () => connector(crm) })), store, options);
	assert.equal(stats.zoho!.failed, 0);
	const summary = await finishJob(store, SOURCE, 'contact', job.id, false, { owner: 'execution-D' });
	assert.equal(summary.failed, 0);
	assert.equal(summary.unchanged + summary.updated + summary.created, summary.read.spooled * TARGETS.length, 'each target holds every record once');
	for (const crm of TARGETS) assert.equal(recordsIn(crm), before[crm], `${crm}: no record created twice`);
});
