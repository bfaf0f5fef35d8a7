// The bulk-sync template in a real n8n against the five sandbox CRMs: 5K contacts seeded in HubSpot
// (BULK_E2E_CONTACTS to change) go to the four others, all through its one Bulk: Sync CRMs node.
// A dry run writes nothing; the real run converges every target with no duplicate and a summary
// that matches the CRMs' contents; an incremental rerun finds nothing new and writes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { CrmName } from '../../lib/model';
import { BULK_NODE, bulkWorkflow, contactEmails, contactRecords, FAILED_NODE, runBulk, SOURCE, startBulkRig, TARGETS, type BulkExecution, type BulkRig } from '../bench/bulk-n8n';

const CONTACTS = Number(process.env.BULK_E2E_CONTACTS) || 5000;
const RUN = { id: 'bulkE2eRun', path: 'bulk-e2e-run' };
const DRY = { id: 'bulkE2eDry', path: 'bulk-e2e-dry' };

let rig: BulkRig;

before(async () => {
	rig = await startBulkRig({
		contacts: CONTACTS,
		rateLimits: false,
		workflows: [bulkWorkflow(RUN.id, RUN.path, { mode: 'incremental' }, 'none'), bulkWorkflow(DRY.id, DRY.path, { mode: 'incremental', dryRun: true }, 'none')],
	});
});

after(async () => {
	await rig?.stop();
});

const dump = (crm: CrmName) => rig.sandbox.emulators[crm]!.dump() as Record<string, unknown[]>;
const requestCount = (crm: CrmName) => (rig.sandbox.emulators[crm] as unknown as { requestCount: number }).requestCount;

function summaryOf(run: BulkExecution): Record<string, any> {
	assert.equal(run.status, 'success', `execution ${run.id} ended ${run.status}`);
	// One summary per entity, in dependency order; these tests seed contacts only.
	const summaries = run.output(BULK_NODE);
	assert.deepEqual(summaries.map((s) => s.entity), ['account', 'contact', 'opportunity'], 'accounts, then contacts, then opportunities');
	const summary = summaries.find((s) => s.entity === 'contact');
	assert.ok(summary, 'no summary item');
	return summary;
}

test('a dry run reads everything and writes nothing', async () => {
	const before = TARGETS.map(requestCount);
	const summary = summaryOf(await runBulk(rig, DRY.id, DRY.path));
	assert.equal(summary.dryRun, true);
	assert.equal(summary.processed, CONTACTS);
	assert.equal(summary.wouldWrite, summary.read.spooled * TARGETS.length);
	assert.equal(summary.created + summary.updated + summary.unchanged, 0);
	assert.deepEqual(TARGETS.map(requestCount), before, 'no request reached a target CRM');
	for (const crm of TARGETS) assert.equal(contactRecords(crm, dump(crm)).length, 0, crm);
});

test('the bulk sync converges all five CRMs with no duplicates, and the summary matches their contents', async () => {
	const run = await runBulk(rig, RUN.id, RUN.path);
	const summary = summaryOf(run);
	const source = contactEmails(SOURCE, dump(SOURCE));
	const expected = [...new Set(source)].sort();
	const withoutEmail = contactRecords(SOURCE, dump(SOURCE)).length - source.length;
	assert.equal(summary.processed, CONTACTS);
	// Contacts without an email cannot be matched in a target: each is created there once (and linked); nothing fails.
	assert.ok(withoutEmail > 0, 'the seed has contacts without email');
	assert.equal(summary.failed, 0);
	const failed = run.allOutputs(FAILED_NODE);
	assert.equal(failed.length, 0, JSON.stringify(failed[0]));
	assert.equal(run.output(BULK_NODE, 1).length, 0, 'nothing on the bulk node\'s Errors output');
	for (const crm of TARGETS) {
		const records = contactRecords(crm, dump(crm));
		const emails = contactEmails(crm, dump(crm));
		assert.equal(new Set(emails).size, emails.length, `${crm}: duplicate emails`);
		assert.deepEqual([...emails].sort(), expected, `${crm}: does not hold exactly the source's emails`);
		// The source's emails once each, plus one record per contact without email: none lost, none duplicated.
		assert.equal(records.length, expected.length + withoutEmail, `${crm}: no other records`);
		const stats = summary.targets[crm];
		assert.equal(stats.failed, 0, crm);
		assert.equal(stats.created, records.length, `${crm}: created = records in the CRM`);
		assert.equal(stats.processed, summary.read.spooled, crm);
		assert.equal(stats.created + stats.updated + stats.unchanged + stats.failed, stats.processed, crm);
	}
	assert.equal(summary.created, TARGETS.reduce((n, crm) => n + contactRecords(crm, dump(crm)).length, 0));
	assert.equal(summary.read.spooled + summary.read.mergedDuplicates, CONTACTS);
	assert.ok(summary.durationMs > 0 && summary.recordsPerSecond > 0);
	// One node ran the whole job, once, and its summary has every target's own totals.
	assert.equal(run.runData[BULK_NODE].length, 1);
	assert.deepEqual(Object.keys(summary.targets as object).sort(), [...TARGETS].sort());
	assert.equal(summary.source, SOURCE);
});

test('an incremental rerun finds nothing new and writes nothing', async () => {
	const before = TARGETS.map(requestCount);
	const summary = summaryOf(await runBulk(rig, RUN.id, RUN.path));
	assert.equal(summary.processed, 0);
	assert.equal(summary.created + summary.updated + summary.failed, 0);
	assert.deepEqual(TARGETS.map(requestCount), before, 'no request reached a target CRM');
});
