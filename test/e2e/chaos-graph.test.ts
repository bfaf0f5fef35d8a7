// Graph chaos consistency (issue 21, item 7): account-sync, contact-sync and opportunity-sync side
// by side in one real n8n (their Wait nodes at 1 s), wired to the five sandbox CRMs by their own
// signed webhooks, under a random, seeded, logged load of a person's UI changes across the five
// CRMs (see chaos/graph-load.ts): account creates (each on its own website domain) and name edits,
// contacts created on an account and re-parented to another, deals created on an account and moved
// between open stages, won and lost, and deletes of accounts that have contacts; while the CRM
// APIs our nodes call fail and webhooks arrive twice or out of order (lighter rates than
// chaos.test.ts by default). After quiescence a checker (chaos/graph-checker.ts) compares every
// CRM with what last-modified-wins dictates, per record and field, links included: one account
// per domain per CRM with its name, each contact linked to that CRM's own record of its account,
// each deal once per CRM with its amount, outcome, open stage and account, no duplicates.
//
// Not covered, by design: HubSpot's contact–company and deal–company links (associations the
// maps do not write: README "Accounts", opportunity-sync's "Known limits"); a contact linked to an
// account a target does not hold yet (contact-sync's Missing References is "drop", no Wait loop,
// so the load links contacts to accounts every CRM has); lead conversions.
//
// Small by default: CHAOS_GRAPH_MUTATIONS=40 (seed CHAOS_GRAPH_SEED=7, rate CHAOS_GRAPH_RATE=1
// mutation/s). CHAOS_GRAPH_FAULTS=full uses chaos.test.ts's rates, =none none. A crash, a hang
// (quiescence not reached), a duplicate explosion or echoes that loop fail the test; other
// mismatches and a few duplicates are reported and mark the test todo (its figures in the output)
// unless CHAOS_GRAPH_STRICT=1, as chaos.test.ts does until convergence is proven over more seeds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { checkGraph, describeGraphMismatches } from './chaos/graph-checker';
import { CRMS } from './chaos/graph-crms';
import { runGraphLoad } from './chaos/graph-load';
import { writeGraphTrace, type ExecutionRecord, type RunData } from './chaos/graph-trace';
import { waitForQuiescence } from './chaos/quiescence';
import { templateStore, withAuditValues } from './chaos/trace';
import { sandboxCredentials } from './fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from './harness';
import { subscribeTriggers, triggerCrms, triggerUrl, withSandboxMarkers, type WorkflowJson } from './subscriptions';

const MUTATIONS = Number(process.env.CHAOS_GRAPH_MUTATIONS || 40);
const SEED = Number(process.env.CHAOS_GRAPH_SEED || 7);
/** Target mutations per second: each one causes five to ten executions (its event, echoes, deal retries). */
const RATE = Number(process.env.CHAOS_GRAPH_RATE || 1);
const LANES = 3;
const FAULTS = process.env.CHAOS_GRAPH_FAULTS || 'light';
/** Average writes per mutation above this mean echoes loop (a mutation needs four, plus a write back to its source). */
const MAX_WRITES_PER_MUTATION = 10;
/** More duplicates than this (per cent of the records) is an explosion, not a residual. */
const MAX_DUPLICATE_SHARE = 0.1;
/** A file to write what happened to the mismatched records into (turns on audit values). */
const TRACE = process.env.CHAOS_GRAPH_TRACE;
/** The namespace of the sandbox's CRM Sync Settings credential, which every node of the templates uses. */
const SETTINGS_NAMESPACE = 'default';

type Template = WorkflowJson & { id: string; name?: string };
const load = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, `workflows/${name}.json`), 'utf8')) as Template;
/** Short waits for the test: the retry loops come back every second (as lead-sync.test.ts does). */
function quickRetry(workflow: Template): Template {
	const copy = JSON.parse(JSON.stringify(workflow)) as Template;
	for (const node of copy.nodes) if (node.type === 'n8n-nodes-base.wait') node.parameters = { ...node.parameters, amount: 1 };
	return copy;
}
const templates = ['account-sync', 'contact-sync', 'opportunity-sync']
	.map((name) => withSandboxMarkers(quickRetry(load(name))))
	.map((template) => (TRACE ? (withAuditValues(template as Parameters<typeof withAuditValues>[0]) as Template) : template));

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ webhookRetryDelayScale: 0.001, seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	n8n = await startN8n({
		workflowObjects: templates as unknown as Array<Record<string, unknown>>,
		credentials: sandboxCredentials(sandbox.urls),
		// As chaos.test.ts, but successful executions are kept: the report lists the items that
		// reached each template's "Review queue and errors".
		env: { N8N_EXPRESSION_ENGINE: 'legacy', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true', N8N_CONCURRENCY_PRODUCTION_LIMIT: '20', DB_PING_TIMEOUT_MS: '30000' },
	});
	for (const node of templates.flatMap((w) => w.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger'))) {
		for (const crm of triggerCrms(node)) {
			await waitFor(async () => (await fetch(triggerUrl(n8n.baseUrl, node, crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
		}
	}
	const { failed } = await subscribeTriggers(sandbox, n8n.baseUrl, templates);
	assert.deepEqual(failed, [], 'webhook subscriptions');
	if (FAULTS === 'none') return;
	const full = FAULTS === 'full';
	for (const crm of CRMS) {
		sandbox.emulators[crm]!.setFaults({
			seed: SEED + CRMS.indexOf(crm),
			errorRate: full ? 0.1 : 0.05,
			// Salesforce has no short-window throttle (see chaos.test.ts).
			throttleRate: crm === 'salesforce' ? 0 : full ? 0.05 : 0.02,
			hangRate: full ? 0.01 : 0.005,
			lostReplyRate: full ? 0.01 : 0.005,
			webhookDuplicateRate: 0.1,
			webhookReorderRate: 0.2,
			webhookReorderWindowMs: 500,
		});
	}
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});


/** How n8n answered webhook attempts: status (or the sender's error) → count, with one reply body per status (as chaos.test.ts). */
function answers(list: Array<{ status?: number; error?: string; responseBody?: string }>): Record<string, string> {
	const counts = new Map<string, { n: number; sample: string }>();
	for (const d of list) {
		const key = d.status !== undefined ? String(d.status) : (d.error ?? 'no answer').slice(0, 60);
		const entry = counts.get(key) ?? { n: 0, sample: (d.responseBody ?? '').slice(0, 300) };
		entry.n++;
		counts.set(key, entry);
	}
	return Object.fromEntries([...counts].map(([key, { n, sample }]) => [key, sample ? `${n} (${sample})` : String(n)]));
}

/** What reached each template's "Review queue and errors" (the CRM's own messages), and executions that failed. */
async function reviewQueue(): Promise<{ lines: string[]; failed: number; executions: number; records: ExecutionRecord[] }> {
	const counts = new Map<string, { n: number; sample: string }>();
	let failed = 0;
	let executions = 0;
	const records: ExecutionRecord[] = [];
	for (const template of templates) {
		let cursor: string | undefined;
		do {
			const page = await n8n.api<{ data: Array<{ id: string; status: string; startedAt?: string; data?: { resultData: { runData: RunData; error?: { message: string } } } }>; nextCursor?: string }>(
				'GET', `/api/v1/executions?workflowId=${template.id}&limit=100&includeData=true${cursor ? `&cursor=${cursor}` : ''}`,
			);
			for (const execution of page.data) {
				executions++;
				const runData = execution.data?.resultData.runData ?? {};
				if (TRACE) records.push({ workflowId: template.id, id: execution.id, status: execution.status, startedAt: execution.startedAt, runData });
				if (execution.status === 'error' || execution.status === 'crashed') {
					failed++;
					const message = execution.data?.resultData.error?.message ?? Object.values(runData).flat().find((r) => r.error)?.error?.message ?? execution.status;
					const key = `${template.id} execution ${execution.status}: ${message.slice(0, 160)}`;
					counts.set(key, { n: (counts.get(key)?.n ?? 0) + 1, sample: `#${execution.id}` });
				}
				for (const run of runData['Review queue and errors'] ?? []) {
					for (const item of (run.data?.main ?? []).flat()) {
						if (!item) continue;
						const json = item.json;
						const reason = String(json.error ?? json.reason ?? json.message ?? (json.errors ? JSON.stringify(json.errors) : '') ?? '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\b\d{6,}\b|\b[0-9A-Za-z]{15,18}\b/g, '<id>').slice(0, 160);
						const key = `${template.id} review: ${json.crm ?? json.targetCrm ?? ''} ${reason || JSON.stringify(json).slice(0, 160)}`;
						counts.set(key, { n: (counts.get(key)?.n ?? 0) + 1, sample: counts.get(key)?.sample ?? `#${execution.id} ${JSON.stringify(json).slice(0, 500)}` });
					}
				}
			}
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
	}
	const lines = [...counts].sort((a, b) => b[1].n - a[1].n).map(([key, { n, sample }]) => `  ${n} × ${key}\n      e.g. ${sample}`);
	return { lines, failed, executions, records };
}

test(`chaos graph: ${MUTATIONS} account, contact and deal mutations across five CRMs (faults: ${FAULTS}) converge, links included`, {
	timeout: Math.max(1_800_000, (MUTATIONS / RATE) * 3_000 + 900_000),
}, async (t) => {
	const loadStarted = Date.now();
	const log = await runGraphLoad(sandbox, { mutations: MUTATIONS, seed: SEED, parallel: LANES, pauseMs: (LANES / RATE) * 1000 });
	const loadMs = Date.now() - loadStarted;
	// A hang (a loop that never becomes quiet) fails here.
	const quiescenceMs = await waitForQuiescence(sandbox);
	const result = checkGraph(sandbox, log);
	const review = await reviewQueue();

	const totalWrites = CRMS.reduce((sum, crm) => sum + result.writes[crm], 0);
	const deliveries = CRMS.flatMap((crm) => sandbox.emulators[crm]!.deliveries());
	const kinds = [...new Set(log.map((m) => `${m.entity} ${m.kind}`))].map((k) => `${k} ${log.filter((m) => `${m.entity} ${m.kind}` === k).length}`).join(', ');
	const recordCount = result.records.account + result.records.contact + result.records.deal;
	const figures = [
		`target rate ${RATE} mutations/s; faults ${FAULTS}; cores: ${cpus().length}; seed ${SEED}`,
		`mutations: ${log.length} (${kinds}) on ${result.records.account} accounts, ${result.records.contact} contacts, ${result.records.deal} deals`,
		`load: ${(loadMs / 1000).toFixed(1)} s; time to quiescence after the load: ${(quiescenceMs / 1000).toFixed(1)} s`,
		`webhook deliveries: ${deliveries.length} (duplicates ${deliveries.filter((d) => d.duplicate).length}, not ok ${deliveries.filter((d) => !d.ok).length})`,
		`not-ok deliveries by CRM and answer: ${CRMS.map((crm) => `${crm} ${JSON.stringify(answers(sandbox.emulators[crm]!.deliveries().filter((d) => !d.ok)))}`).join('; ')}`,
		`API requests from the sync: ${CRMS.map((crm) => `${crm} ${result.requests[crm].total} ${JSON.stringify(result.requests[crm].faults)}`).join('; ')}`,
		`writes: ${totalWrites} (${CRMS.map((crm) => `${crm} ${result.writes[crm]}`).join(', ')}); writes/mutation ${(totalWrites / log.length).toFixed(2)}`,
		`executions: ${review.executions} (failed ${review.failed})`,
		`mismatches: ${result.mismatches.length}; duplicates: ${result.duplicates.length}`,
	];
	if (result.mismatches.length) figures.push(describeGraphMismatches(result.mismatches));
	for (const d of result.duplicates.slice(0, 10)) figures.push(`  duplicate ${d.entity} in ${d.crm}: ${d.key} ids ${d.ids.join(', ')}`);
	if (review.lines.length) figures.push('review queue and failed executions:', ...review.lines.slice(0, 25));
	if (process.env.CHAOS_GRAPH_LOG) figures.push('mutation log:', ...log.map((m) => `  ${m.seq} ${new Date(m.doneAt).toISOString()} ${m.entity} ${m.kind} ${m.crm} ${m.key}${m.id ? ` id ${m.id}` : ''}${m.name ? ` name "${m.name}"` : ''}${m.account ? ` account ${m.account}` : ''}${m.stage ? ` stage ${m.stage}` : ''}`));
	const report = figures.join('\n');
	t.diagnostic(report);
	console.log(`\n--- chaos graph figures ---\n${report}\n`);
	if (TRACE && result.mismatches.length) await writeGraphTrace(TRACE, sandbox, templateStore(SETTINGS_NAMESPACE, n8n.userFolder, n8n.queue?.redis), log, result.mismatches, review.records);

	// Crashes and loops fail whatever the flag.
	assert.equal(review.failed, 0, 'no execution failed');
	assert.ok(totalWrites / log.length <= MAX_WRITES_PER_MUTATION, `writes per mutation ${(totalWrites / log.length).toFixed(2)} > ${MAX_WRITES_PER_MUTATION}: echoes loop`);
	assert.ok(result.duplicates.length <= Math.max(2, recordCount * MAX_DUPLICATE_SHARE), `${result.duplicates.length} duplicates of ${recordCount} records: duplicates explode`);
	// The residual: reported, and the test marked todo with its count (as chaos.test.ts does until convergence holds over more seeds).
	const residual = result.mismatches.length + result.duplicates.length;
	if (residual && process.env.CHAOS_GRAPH_STRICT !== '1') t.todo(`${result.mismatches.length} mismatches, ${result.duplicates.length} duplicates (CHAOS_GRAPH_STRICT=1 fails on them)`);
	assert.equal(result.duplicates.length, 0, 'no duplicate records');
	assert.equal(result.mismatches.length, 0, `every CRM holds what last-modified-wins dictates:\n${describeGraphMismatches(result.mismatches)}`);
});
