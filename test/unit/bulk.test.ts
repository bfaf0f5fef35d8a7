// lib/sync/bulk.ts against the five sandbox CRMs through the real connectors, with a real embedded
// state store: a full job converges the targets with no duplicates and counts that match the CRMs'
// contents; an incremental rerun writes nothing; a dry run writes nothing; a job stopped by a target
// outage resumes from its checkpoint without losing or duplicating anything.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../lib/connectors';
import { CRM_NAMES, type CrmName } from '../../lib/model';
import { openStateStore, type StateStore } from '../../lib/state';
import { finishJob, listSyncHistory, loadJob, parseBulkSettings, readSourceToSpool, writeSpoolToTarget, type BulkFailure, type BulkSettings } from '../../lib/sync/bulk';
import { startSandbox, type Sandbox } from '../../sandbox';
import { CREDENTIAL_REFS, sandboxCredentials } from '../e2e/fixtures';
import { contactEmails, contactRecords, sourceEmails } from '../bench/bulk-n8n';

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
	credentials = Object.fromEntries(sandboxCredentials(sandbox.urls).map((c) => [Object.entries(CREDENTIAL_REFS).find(([, ref]) => ref.id === c.id)![0], c.data]));
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
	const withoutEmail = contactRecords(SOURCE, sourceDump).length - sourceEmails(SOURCE, sourceDump).length;
	for (const crm of TARGETS) {
		const emails = emailsOf(crm);
		assert.equal(new Set(emails).size, emails.length, `${crm}: duplicate emails`);
		assert.deepEqual([...emails].sort(), expected, `${crm}: not converged`);
		// Each distinct email created once (Pipedrive's first page by the run that died); same-email records of later pages
		// update; records without email fail (no match key).
		const records = contactRecords(crm, sandbox.emulators[crm]!.dump() as Record<string, unknown[]>).length;
		assert.equal(records, expected.length, crm);
		assert.equal(summary.targets[crm]!.created, records, crm);
		assert.equal(summary.targets[crm]!.failed, withoutEmail, crm);
		assert.equal(summary.targets[crm]!.processed, summary.read.spooled, crm);
		assert.equal(summary.targets[crm]!.created + summary.targets[crm]!.updated + summary.targets[crm]!.failed, summary.read.spooled, crm);
	}
	assert.ok(withoutEmail > 0);
	assert.equal(summary.failed, withoutEmail * TARGETS.length);
	// Failures of the run that died were reported by it; this run reports the rest, each with its reason.
	assert.ok(failures.length > 0 && failures.every((f) => f.code === 'MISSING_MATCH_KEY' && f.recordId && f.error));
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

	const full = await runJob({ mode: 'full', dryRun: false, pageSize: 300 });
	assert.equal(full.processed, CONTACTS);
	assert.equal(full.created + full.updated, 0, 'full: the snapshots say the targets hold these values');
	assert.equal(full.unchanged + full.failed, full.targets.salesforce!.processed * TARGETS.length);

	const forced = await runJob({ mode: 'force-overwrite', dryRun: false, pageSize: 300 });
	assert.equal(forced.created, 0);
	assert.equal(forced.updated + forced.failed, forced.targets.salesforce!.processed * TARGETS.length);
	for (const crm of TARGETS) assert.equal(new Set(emailsOf(crm)).size, emailsOf(crm).length, crm);

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
