// Chaos consistency: the contact-sync template in a real n8n, wired to the five sandbox CRMs by
// their own signed webhooks, under random creates, updates and deletes (concurrent edits of one
// contact in two CRMs included) while the CRM APIs our nodes call fail (10% 5xx, 5% throttled, 2%
// never answer: half before and half after carrying the request out) and webhooks arrive twice or out of order. After quiescence a checker compares
// every CRM with what last-modified-wins dictates, looks for duplicates and counts writes.
//
// Small by default (60 mutations); CHAOS_MUTATIONS=10000 for the full size. CRM_SYNC_E2E_QUEUE=1
// runs n8n in queue mode (main, 2 workers, webhook processor, Redis, Redis state store).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { check, describeMismatches } from './chaos/checker';
import { CRMS, configureContactSync, hookUrls, subscribeContactSync, type Template } from './chaos/crms';
import { runLoad } from './chaos/load';
import { waitForQuiescence } from './chaos/quiescence';
import { templateStore, withAuditValues, writeTrace } from './chaos/trace';
import { sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';

const MUTATIONS = Number(process.env.CHAOS_MUTATIONS || 60);
const SEED = Number(process.env.CHAOS_SEED || 7);
/** Target mutations per second: each one causes about five executions (its event and four echoes). */
const RATE = Number(process.env.CHAOS_RATE || 3);
const LANES = 3;
/** A file to write what happened to the mismatched contacts into (turns on audit values). */
const TRACE = process.env.CHAOS_TRACE;
/** Average writes per mutation above this mean echoes loop (a mutation needs four, one per other CRM, plus the resolved record written back to its source). */
const MAX_WRITES_PER_MUTATION = 8;

/** The namespace of the sandbox's CRM Sync Settings credential, which every node of the template uses. */
const SETTINGS_NAMESPACE = 'default';

const configured = configureContactSync(JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template);
const template = TRACE ? withAuditValues(configured) : configured;

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	n8n = await startN8n({
		workflowObjects: [template],
		credentials: sandboxCredentials(sandbox.urls),
		// The settings the README recommends for high-volume sync, plus a bounded number of parallel
		// executions and a DB ping that tolerates a starved CPU (SQLite pings time out under load and
		// n8n then answers every webhook 503 "Database is not ready").
		env: { N8N_EXPRESSION_ENGINE: 'legacy', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true', EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', N8N_CONCURRENCY_PRODUCTION_LIMIT: '20', DB_PING_TIMEOUT_MS: '30000' },
	});
	const urls = hookUrls(template, n8n.baseUrl);
	for (const crm of CRMS) {
		await waitFor(async () => (await fetch(urls[crm], { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
	}
	await subscribeContactSync(sandbox, template, n8n.baseUrl);
	for (const crm of CRMS) {
		sandbox.emulators[crm]!.setFaults({
			seed: SEED + CRMS.indexOf(crm),
			errorRate: 0.1,
			// Salesforce has no short-window throttle: its only limit is the daily one (403), which a
			// client rightly does not retry, so it gets no throttle faults.
			throttleRate: crm === 'salesforce' ? 0 : 0.05,
			// Timeouts: half never reach the CRM, half are carried out and their reply is lost.
			hangRate: 0.01,
			lostReplyRate: 0.01,
			webhookDuplicateRate: 0.1,
			webhookReorderRate: 0.2,
			webhookReorderWindowMs: 500,
		});
	}
});

/** How n8n answered webhook attempts: status (or the sender's error) → count, with one reply body per status. */
function answers(list: Array<{ status?: number; error?: string; responseBody?: string }>): Record<string, string> {
	const counts = new Map<string, { n: number; sample: string }>();
	for (const d of list) {
		const key = d.status !== undefined ? String(d.status) : (d.error ?? 'no answer').slice(0, 60);
		const entry = counts.get(key) ?? { n: 0, sample: (d.responseBody ?? '').slice(0, 120) };
		entry.n++;
		counts.set(key, entry);
	}
	return Object.fromEntries([...counts].map(([key, { n, sample }]) => [key, sample ? `${n} (${sample})` : String(n)]));
}

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

test(`chaos: ${MUTATIONS} mutations across five CRMs under faults converge (last-modified-wins)`, {
	// Twice the load's planned length plus the quiescence limit: the full size runs about an hour.
	timeout: Math.max(3_600_000, (MUTATIONS / RATE) * 2_000 + 900_000),
	// Runs and prints its figures in every `npm test`; it fails the suite only with CHAOS_STRICT=1
	// until convergence has held over more seeds (seed 11: 0 mismatches at 1,000 and at 10,000
	// mutations). CHAOS_TRACE=<file> writes what happened to each mismatched contact.
	todo: process.env.CHAOS_STRICT === '1' ? false : 'not yet proven over more seeds (see the comment above)',
}, async (t) => {
	const loadStarted = Date.now();
	const log = await runLoad(sandbox, { mutations: MUTATIONS, seed: SEED, parallel: LANES, pauseMs: (LANES / RATE) * 1000 });
	const loadMs = Date.now() - loadStarted;
	const quiescenceMs = await waitForQuiescence(sandbox);
	const result = check(sandbox, log);

	const totalWrites = CRMS.reduce((sum, crm) => sum + result.writes[crm], 0);
	const deliveries = CRMS.flatMap((crm) => sandbox.emulators[crm]!.deliveries());
	const kinds = (kind: string) => log.filter((m) => m.kind === kind).length;
	const figures = [
		`target rate ${RATE} mutations/s; mode: ${n8n.queue ? `queue (main + ${n8n.queue.workers} workers + webhook processor, Redis state store)` : 'regular'}; cores: ${cpus().length}; seed ${SEED}`,
		`mutations: ${log.length} (create ${kinds('create')}, update ${kinds('update')}, delete ${kinds('delete')}, concurrent pairs ${new Set(log.map((m) => m.concurrentPair).filter(Boolean)).size}) on ${result.contacts} contacts`,
		`load: ${(loadMs / 1000).toFixed(1)} s; time to quiescence after the load: ${(quiescenceMs / 1000).toFixed(1)} s`,
		`webhook deliveries: ${deliveries.length} (duplicates ${deliveries.filter((d) => d.duplicate).length}, not ok ${deliveries.filter((d) => !d.ok).length})`,
		`not-ok deliveries by CRM and answer: ${CRMS.map((crm) => `${crm} ${JSON.stringify(answers(sandbox.emulators[crm]!.deliveries().filter((d) => !d.ok)))}`).join('; ')}`,
		`API requests from the sync: ${CRMS.map((crm) => `${crm} ${result.requests[crm].total} ${JSON.stringify(result.requests[crm].faults)}`).join('; ')}`,
		`writes: ${totalWrites} (${CRMS.map((crm) => `${crm} ${result.writes[crm]}`).join(', ')}); writes/mutation ${(totalWrites / log.length).toFixed(2)}`,
		`mismatches: ${result.mismatches.length}; duplicates: ${result.duplicates.length}; tied edits merged field by field: ${result.fieldMixes.length}${result.fieldMixes.length ? ` (${result.fieldMixes.slice(0, 5).join(', ')})` : ''}`,
	];
	if (result.mismatches.length) figures.push(describeMismatches(result.mismatches));
	for (const d of result.duplicates.slice(0, 10)) figures.push(`  duplicate in ${d.crm}: ${d.email} ids ${d.ids.join(', ')}`);
	const report = figures.join('\n');
	t.diagnostic(report);
	console.log(`\n--- chaos figures ---\n${report}\n`);
	if (TRACE && result.mismatches.length) await writeTrace(TRACE, sandbox, templateStore(SETTINGS_NAMESPACE, n8n.userFolder, n8n.queue?.redis), log, result.mismatches);

	assert.equal(result.duplicates.length, 0, 'no duplicate records');
	assert.ok(totalWrites / log.length <= MAX_WRITES_PER_MUTATION, `writes per mutation ${(totalWrites / log.length).toFixed(2)} > ${MAX_WRITES_PER_MUTATION}: echoes loop`);
	assert.equal(result.mismatches.length, 0, `every CRM holds what last-modified-wins dictates:\n${describeMismatches(result.mismatches)}`);
});
