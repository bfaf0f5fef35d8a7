// Restart recovery in a real n8n: n8n is killed (SIGKILL) in the middle of a bulk sync, once the
// one Bulk: Sync CRMs node has checkpointed Pipedrive's first page while it writes the four targets
// at the same time; after a restart, running the workflow again resumes the same job, each target
// from its own checkpoint (a target complete at the kill gets no further request), and every target
// ends up with exactly the source's contacts: nothing lost, nothing duplicated.
// BULK_RESTART_CONTACTS to change the size (default 3000).
//
// In queue mode (CRM_SYNC_E2E_QUEUE=1) the worker running the job is the process killed. n8n
// marks its execution crashed and does not run it again (Bull's maxStalledCount is 0), so, as
// after a restart, the next run (on the other worker) resumes the job.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import type { CrmName } from '../../lib/model';
import { BULK_NODE, bulkWorkflow, contactEmails, contactRecords, FAILED_NODE, runBulk, SOURCE, startBulk, startBulkRig, TARGETS, type BulkRig } from '../bench/bulk-n8n';
import { waitFor } from './harness';

const CONTACTS = Number(process.env.BULK_RESTART_CONTACTS) || 3000;
const RUN = { id: 'bulkRestartRun', path: 'bulk-restart-run' };

let rig: BulkRig;

before(async () => {
	rig = await startBulkRig({ contacts: CONTACTS, rateLimits: false, workflows: [bulkWorkflow(RUN.id, RUN.path, { mode: 'incremental' }, 'none')] });
});

after(async () => {
	await rig?.stop();
});

const dump = (crm: CrmName) => rig.sandbox.emulators[crm]!.dump() as Record<string, unknown[]>;
/** The log of each n8n process that can run the job: main, or in queue mode each process. */
const logFiles = () => rig.n8n.queue?.logFiles ?? [rig.n8n.logFile!];
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const requestCount = (crm: CrmName) => (rig.sandbox.emulators[crm] as unknown as { requestCount: number }).requestCount;
const PIPEDRIVE_PAGE_1 = /bulk ([0-9a-f-]{36}): pipedrive page 1\//;

/** Each target's last checkpoint in a log (the node logs "<target> page N/M" once page N is stored), and whether it was the last page. */
function checkpoints(log: string, jobId: string): Map<CrmName, { page: number; done: boolean }> {
	const found = new Map<CrmName, { page: number; done: boolean }>();
	for (const [, crm, page, pages] of log.matchAll(new RegExp(`bulk ${jobId}: (\\w+) page (\\d+)/(\\d+):`, 'g'))) found.set(crm as CrmName, { page: Number(page), done: page === pages });
	return found;
}

function contactSummary(summaries: Array<Record<string, any>>): Record<string, any> {
	const summary = summaries.find((s) => s.entity === 'contact');
	assert.ok(summary, `no contact summary in ${JSON.stringify(summaries.map((s) => s.entity))}`);
	return summary;
}

test('killed while writing to Pipedrive, the next run after a restart resumes the job and converges with nothing lost or duplicated', async () => {
	await startBulk(rig, RUN.id, RUN.path);
	// The progress lines the node logs per page (n8n log, level info): kill once Pipedrive's first page is checkpointed.
	await waitFor(async () => logFiles().some((file) => PIPEDRIVE_PAGE_1.test(read(file))), 15 * 60_000);
	const runner = logFiles().find((file) => PIPEDRIVE_PAGE_1.test(read(file)))!;
	const killedJob = PIPEDRIVE_PAGE_1.exec(read(runner))![1];
	if (rig.n8n.queue) await rig.n8n.queue.kill(runner);
	else process.kill(rig.pid(), 'SIGKILL');
	const atKill = new Map(TARGETS.map((crm) => [crm, contactRecords(crm, dump(crm)).length]));
	const logAtKill = read(runner);
	const logged = checkpoints(logAtKill, killedJob);
	assert.ok(atKill.get('pipedrive')! < contactEmails(SOURCE, dump(SOURCE)).length, 'killed before Pipedrive was complete');
	assert.equal(logged.get('pipedrive')?.done, false, 'Pipedrive had pages left when killed');
	// The node writes the targets at the same time: the others did not wait for Pipedrive.
	const others = TARGETS.filter((crm) => crm !== 'pipedrive');
	assert.ok(others.some((crm) => atKill.get(crm)! > 0), `no other target written while Pipedrive was: ${JSON.stringify(Object.fromEntries(atKill))}`);
	console.log(`killed ${killedJob}: records ${JSON.stringify(Object.fromEntries(atKill))}, checkpoints logged ${JSON.stringify(Object.fromEntries(logged))}`);

	if (!rig.n8n.queue) await rig.restart();
	// Requests the killed process had in flight have landed by now.
	await new Promise((resolve) => setTimeout(resolve, 1000));
	const logOffsets = new Map(logFiles().map((file) => [file, read(file).length]));
	const requestsBefore = new Map(TARGETS.map((crm) => [crm, requestCount(crm)]));
	const run = await runBulk(rig, RUN.id, RUN.path);
	assert.equal(run.status, 'success', run.error);
	// One summary per entity (accounts, contacts, opportunities); the contacts' job is the killed one.
	const summary = contactSummary(run.output(BULK_NODE));
	assert.equal(summary.jobId, killedJob, 'the killed job was resumed, not a new one started');
	assert.equal(summary.resumed, 1);
	assert.equal(summary.processed, CONTACTS);

	// Each target resumed from its own checkpoint: none started over, and one complete at the kill was not written again.
	const resumedLog = logFiles().map((file) => read(file).slice(logOffsets.get(file) ?? 0)).join('\n');
	const resuming = new RegExp(`bulk ${killedJob}: resuming \\(read, (\\d+) pages spooled([^)]*)\\)`).exec(resumedLog);
	assert.ok(resuming, 'the resumed run logged where each target stood');
	const resumedAt = new Map([...resuming[2].matchAll(/, (\w+) at page (\d+)/g)].map(([, crm, page]) => [crm as CrmName, Number(page)]));
	for (const crm of TARGETS) {
		const checkpoint = logged.get(crm)?.page ?? 0;
		assert.ok((resumedAt.get(crm) ?? 0) >= checkpoint, `${crm}: resumed at page ${resumedAt.get(crm) ?? 0}, checkpointed page ${checkpoint} before the kill`);
		if (logged.get(crm)?.done) assert.equal(requestCount(crm), requestsBefore.get(crm), `${crm} was complete at the kill: the resumed run sent it no request`);
	}
	assert.ok(resumedAt.get('pipedrive')! >= 1, 'Pipedrive went on from its checkpoint');

	const source = contactEmails(SOURCE, dump(SOURCE));
	const expected = [...new Set(source)].sort();
	const withoutEmail = contactRecords(SOURCE, dump(SOURCE)).length - source.length;
	assert.ok(withoutEmail > 0, 'the seed has contacts without email');
	// Contacts without an email are created once per target. Only one whose create was in flight at the kill
	// can fail: it may exist there unlinked, so it is reported (INTERRUPTED_CREATE), never created again.
	// The targets are written at the same time, so any target unfinished at the kill may have one.
	const failed = run.allOutputs(FAILED_NODE);
	assert.ok(failed.every((f) => f.code === 'INTERRUPTED_CREATE' && logged.get(f.target as CrmName)?.done !== true), JSON.stringify(failed[0]));
	for (const crm of TARGETS) {
		const emails = contactEmails(crm, dump(crm));
		assert.equal(new Set(emails).size, emails.length, `${crm}: duplicate emails`);
		assert.deepEqual([...emails].sort(), expected, `${crm}: does not hold exactly the source's emails`);
		const stats = summary.targets[crm];
		const interrupted = failed.filter((f) => f.target === crm).length;
		assert.equal(stats.failed, interrupted, crm);
		// The source's emails once each, plus one record per contact without email (an interrupted one: there or not).
		const records = contactRecords(crm, dump(crm)).length;
		const all = expected.length + withoutEmail;
		assert.ok(records <= all && records >= all - interrupted, `${crm}: ${records} records, expected ${all}${interrupted ? ` (${interrupted} interrupted creates)` : ''}`);
		assert.equal(stats.processed, summary.read.spooled, `${crm}: every spooled record handed to ${crm} exactly once`);
		assert.equal(stats.created + stats.updated + stats.unchanged + stats.failed, stats.processed, crm);
	}

	// And the job is complete: a further run starts a new one and finds nothing.
	const again = contactSummary((await runBulk(rig, RUN.id, RUN.path)).output(BULK_NODE));
	assert.notEqual(again.jobId, killedJob);
	assert.equal(again.processed, 0);
});
