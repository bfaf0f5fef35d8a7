// Bulk sync through real n8n: the workflows/bulk-sync.json template copies N seeded contacts from
// HubSpot (sandbox) into the four other sandbox CRMs. Prints wall time, records/s and n8n's peak
// RSS (VmHWM of the n8n process, from /proc), with the sandbox rate limits off (10K / 25K / 50K;
// the template's client-side limit set to "None") and on (the documented values, the template as
// shipped), where it also prints each target's ratio to its rate-limit-bound maximum.
//
// Then the whole graph (BULK_BENCH_GRAPH, default 10K accounts + 50K contacts + 10K deals), accounts →
// contacts → opportunities in one run, with the time per entity.
//
//   npx tsx test/bench/bulk-n8n.ts
//   BULK_BENCH_SIZES=10000,50000 BULK_BENCH_LIMITS=off|on|both BULK_BENCH_ON_SIZE=2000 BULK_BENCH_GRAPH=10000,50000,10000
//
// The template is one *Bulk: Sync CRMs* node (BULK_NODE): its first output is the summary, its
// second (Errors) feeds "Failed records". Also the rig the e2e tests use (bulkWorkflow,
// startBulkRig, runBulk, contactEmails).

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import type { CrmName } from '../../lib/model';
import { startSandbox, type Sandbox } from '../../sandbox';
import { CREDENTIAL_REFS, sandboxCredentials } from '../e2e/fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance, type RunData } from '../e2e/harness';

export const SOURCE: CrmName = 'hubspot';
export const TARGETS: CrmName[] = ['salesforce', 'pipedrive', 'zoho', 'dynamics'];
const TEMPLATE = join(REPO_ROOT, 'workflows/bulk-sync.json');
/** The template's one bulk node (Bulk: Sync CRMs): output 0 the summary (also in the sync history), output 1 the failed records. */
export const BULK_NODE = 'Bulk sync CRMs';
/** The NoOp the bulk node's failed records go to. */
export const FAILED_NODE = 'Failed records';

interface TemplateNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: number[];
	webhookId?: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
}
interface Template {
	id: string;
	name: string;
	nodes: TemplateNode[];
	connections: Record<string, unknown>;
}

export type BulkSettingsInput = Partial<Record<'mode' | 'since' | 'dryRun' | 'batchSize' | 'maxRecords', string | number | boolean>>;

/** Lower-cased email of every live contact in one sandbox CRM's dump (in the CRM's own shape). */
export function contactEmails(crm: CrmName, dump: Record<string, unknown[]>): string[] {
	const live = (r: Record<string, unknown>) => r.archived !== true && r.IsDeleted !== true && r.is_deleted !== true && r.statecode !== 1;
	const email = (r: Record<string, unknown>): unknown => {
		switch (crm) {
			case 'hubspot':
				return (r.properties as Record<string, unknown>)?.email;
			case 'salesforce':
			case 'zoho':
				return r.Email;
			case 'pipedrive': {
				const emails = r.emails as Array<{ value?: string; primary?: boolean }> | undefined;
				return emails?.find((e) => e.primary)?.value ?? emails?.[0]?.value;
			}
			case 'dynamics':
				return r.emailaddress1;
		}
	};
	return contactRecords(crm, dump)
		.filter(live)
		.map(email)
		.filter((e): e is string => typeof e === 'string' && e !== '')
		.map((e) => e.trim().toLowerCase());
}

/** Live and deleted contact records of one CRM's dump. */
export function contactRecords(crm: CrmName, dump: Record<string, unknown[]>): Array<Record<string, unknown>> {
	const type = { hubspot: 'contacts', salesforce: 'Contact', pipedrive: 'persons', zoho: 'Contacts', dynamics: 'contacts' }[crm];
	return (dump[type] ?? []) as Array<Record<string, unknown>>;
}

/** The source's contact emails (the same reading as the targets'). */
export const sourceEmails = contactEmails;

/**
 * A copy of workflows/bulk-sync.json for tests and the bench: a Webhook trigger (POST /webhook/<path>)
 * beside the template's own triggers, the given values in "Bulk settings", the given client-side limit,
 * and only the given targets ticked in the bulk node (besides the source).
 */
export function bulkWorkflow(id: string, path: string, settings: BulkSettingsInput, clientRateLimit: 'documented' | 'none' = 'documented', targets: CrmName[] = TARGETS): Record<string, unknown> {
	const copy = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as Template;
	copy.id = id;
	copy.name = `${copy.name} (${path})`;
	const bulk = copy.nodes.find((n) => n.name === BULK_NODE);
	if (!bulk || bulk.parameters.operation !== 'bulkSync' || bulk.parameters.bulkSource !== SOURCE) throw new Error(`${TEMPLATE}: no "${BULK_NODE}" node syncing from ${SOURCE}`);
	dropTargets(bulk, TARGETS.filter((crm) => !targets.includes(crm)));
	for (const node of copy.nodes) {
		if (node.name === 'Bulk settings') {
			const assignments = (node.parameters.assignments as { assignments: Array<{ name: string; value: unknown }> }).assignments;
			for (const a of assignments) if (a.name in settings) a.value = settings[a.name as keyof BulkSettingsInput];
		}
		if ('bulkClientRateLimit' in node.parameters) node.parameters.bulkClientRateLimit = clientRateLimit;
	}
	copy.nodes.push({ id: `${id}-webhook`, name: 'Test trigger', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 400], webhookId: `bulk-${path}`, parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} } });
	copy.connections['Test trigger'] = { main: [[{ node: 'Bulk settings', type: 'main', index: 0 }]] };
	return copy as unknown as Record<string, unknown>;
}

/** Unticks the CRMs of `drop` in the bulk node (CRMs) and removes their credentials: they are no longer targets. */
function dropTargets(bulk: TemplateNode, drop: CrmName[]): void {
	bulk.parameters.crm = (bulk.parameters.crm as CrmName[]).filter((crm) => !drop.includes(crm));
	for (const crm of drop) delete bulk.credentials?.[CREDENTIAL_REFS[crm].type];
}

export interface BulkRig {
	sandbox: Sandbox;
	n8n: N8nInstance;
	userFolder: string;
	workflows: Array<Record<string, unknown>>;
	/** PID of the n8n main process (the one listening on its port). */
	pid(): number;
	/** Restarts n8n on the same user folder (database, state store, credentials). */
	restart(): Promise<void>;
	stop(): Promise<void>;
}

export async function startBulkRig(options: { contacts: number; companies?: number; deals?: number; rateLimits: boolean; workflows: Array<Record<string, unknown>>; env?: Record<string, string> }): Promise<BulkRig> {
	const none = { contacts: 0, companies: 0, deals: 0, activities: 0 };
	const seed = { ...none, contacts: options.contacts, companies: options.companies ?? 0, deals: options.deals ?? 0 };
	const sandbox = await startSandbox({ rateLimits: options.rateLimits, seed: none, perCrm: { [SOURCE]: { seed } } });
	const userFolder = mkdtempSync(join(os.tmpdir(), 'crm-sync-bulk-'));
	const start = () =>
		startN8n({
			userFolder,
			credentials: sandboxCredentials(sandbox.urls),
			workflowObjects: options.workflows,
			env: { N8N_LOG_LEVEL: 'info', ...options.env },
		});
	let n8n: N8nInstance;
	try {
		n8n = await start();
	} catch (error) {
		await sandbox.stop();
		rmSync(userFolder, { recursive: true, force: true });
		throw error;
	}
	const rig: BulkRig = {
		sandbox,
		get n8n() {
			return n8n;
		},
		userFolder,
		workflows: options.workflows,
		pid: () => listenerPid(Number(new URL(n8n.baseUrl).port)),
		async restart() {
			await n8n.stop();
			n8n = await start();
		},
		async stop() {
			await n8n.stop().catch(() => undefined);
			await sandbox.stop();
			rmSync(userFolder, { recursive: true, force: true });
		},
	};
	return rig;
}

/** PID of the process listening on a loopback TCP port (ss). */
export function listenerPid(port: number): number {
	const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
	const match = /pid=(\d+)/.exec(out);
	if (!match) throw new Error(`no process listens on port ${port}: ${out}`);
	return Number(match[1]);
}

/** Peak (VmHWM) or current (VmRSS) resident set size of a process in bytes. */
export function peakRss(pid: number, which: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = new RegExp(`${which}:\\s+(\\d+) kB`).exec(status);
	if (!kb) throw new Error(`no ${which} for ${pid}`);
	return Number(kb[1]) * 1024;
}

export interface BulkExecution {
	id: string;
	status: string;
	/** The node that failed and its message, when the execution failed. */
	error?: string;
	runData: RunData;
	/** Output items of a node's last run: first output (Success), or second (Errors). */
	output(node: string, index?: 0 | 1): Array<Record<string, unknown>>;
	/** Output items of all runs of a node (a node fed by several branches runs once per branch). */
	allOutputs(node: string, index?: 0 | 1): Array<Record<string, unknown>>;
	/** Wall time from the webhook call to the end of the execution. */
	wallMs: number;
}

/** Starts the workflow through its test webhook; resolves when the execution has started (returns its id). */
export async function startBulk(rig: BulkRig, workflowId: string, path: string): Promise<string> {
	const before = await executionIds(rig, workflowId);
	let response: Response | undefined;
	await waitFor(async () => {
		response = await fetch(`${rig.n8n.baseUrl}/webhook/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		return response.status !== 404;
	}, 30_000);
	if (!response!.ok) throw new Error(`webhook ${path}: ${response!.status} ${await response!.text()}`);
	let id: string | undefined;
	await waitFor(async () => {
		id = (await executionIds(rig, workflowId)).find((x) => !before.includes(x));
		return id !== undefined;
	}, 60_000);
	return id!;
}

/** Ids of the workflow's executions, running ones included (the unfiltered list leaves them out). */
async function executionIds(rig: BulkRig, workflowId: string): Promise<string[]> {
	const ids: string[] = [];
	for (const filter of ['', '&status=running']) {
		const list = await rig.n8n.api<{ data: Array<{ id: string }> }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=100${filter}`);
		ids.push(...list.data.map((e) => e.id));
	}
	return ids;
}

/** Waits for an execution to end and returns its data. */
export async function waitForExecution(rig: BulkRig, executionId: string, timeoutMs: number): Promise<Omit<BulkExecution, 'wallMs'>> {
	let execution: { status: string; stoppedAt?: string | null; data?: { resultData: { runData: RunData; error?: { message?: string }; lastNodeExecuted?: string } } } | undefined;
	await waitFor(async () => {
		execution = await rig.n8n.api('GET', `/api/v1/executions/${executionId}?includeData=false`);
		return !!execution?.stoppedAt && execution.status !== 'running' && execution.status !== 'new';
	}, timeoutMs);
	execution = await rig.n8n.api('GET', `/api/v1/executions/${executionId}?includeData=true`);
	const runData = execution!.data?.resultData.runData ?? {};
	const failure = execution!.data?.resultData.error;
	return {
		id: executionId,
		status: execution!.status,
		error: failure ? `${execution!.data?.resultData.lastNodeExecuted ?? '?'}: ${failure.message ?? JSON.stringify(failure)}` : undefined,
		runData,
		output: (node, index = 0) => (runData[node]?.[runData[node].length - 1]?.data.main[index] ?? []).map((item) => item.json),
		allOutputs: (node, index = 0) => (runData[node] ?? []).flatMap((r) => r.data.main[index] ?? []).map((item) => item.json),
	};
}

/** Runs the workflow through its test webhook and waits for the execution to end. */
export async function runBulk(rig: BulkRig, workflowId: string, path: string, timeoutMs = 30 * 60_000): Promise<BulkExecution> {
	const started = Date.now();
	const id = await startBulk(rig, workflowId, path);
	const done = await waitForExecution(rig, id, timeoutMs);
	return { ...done, wallMs: Date.now() - started };
}

// ---------------------------------------------------------------- the bench

/** The sandbox's documented short-window limits per credential (sandbox/<crm>); Salesforce and Zoho only have daily quotas there. */
const SHORT_WINDOW: Partial<Record<CrmName, { requests: number; intervalMs: number; recordsPerRequest: number; policy: string }>> = {
	pipedrive: { requests: 80, intervalMs: 2000, recordsPerRequest: 1, policy: '80 requests / 2 s; no batch API: one write per record' },
	dynamics: { requests: 6000, intervalMs: 300_000, recordsPerRequest: 1000, policy: '6000 requests / 5 min; $batch of up to 1000' },
};

async function measure(size: number, limits: boolean, targets: CrmName[]): Promise<void> {
	const id = `bulkBench${limits ? 'On' : 'Off'}${size}`;
	const path = `bulk-bench-${size}-${limits ? 'on' : 'off'}`;
	const workflow = bulkWorkflow(id, path, { mode: 'full', batchSize: 1000 }, limits ? 'documented' : 'none', targets);
	const rig = await startBulkRig({ contacts: size, rateLimits: limits, workflows: [workflow], env: { N8N_LOG_LEVEL: 'warn' } });
	try {
		const pid = rig.pid();
		const idle = peakRss(pid, 'VmRSS');
		const run = await runBulk(rig, id, path, 4 * 60 * 60_000);
		const summary = run.output(BULK_NODE)[0] as Record<string, unknown> | undefined;
		const rss = peakRss(pid);
		if (!summary) {
			console.log(`  ${size} limits ${limits ? 'on' : 'off'}: execution ${run.status} after ${(run.wallMs / 1000).toFixed(1)} s, no summary: ${run.error ?? 'no error recorded'}`);
			return;
		}
		const perTarget = summary.targets as Record<string, { processed: number; created: number; updated: number; failed: number; durationMs: number }>;
		console.log(
			`  ${String(size).padStart(6)} limits ${limits ? 'on ' : 'off'}: wall ${(run.wallMs / 1000).toFixed(1)} s, ${Math.round(size / (run.wallMs / 1000))} source records/s, ` +
				`${Math.round((size * targets.length) / (run.wallMs / 1000))} writes/s, n8n peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB (${(idle / 2 ** 20).toFixed(0)} MiB before the run), failed ${String(summary.failed)}`,
		);
		console.log(`         read ${(Number((summary.read as Record<string, number>).durationMs) / 1000).toFixed(1)} s; ` + Object.keys(perTarget).map((crm) => `${crm} ${(perTarget[crm].durationMs / 1000).toFixed(1)} s (${Math.round(perTarget[crm].processed / (perTarget[crm].durationMs / 1000))}/s)`).join(', '));
		if (Number(summary.failed) > 0) console.log(`         failed: ${failureReasons(run.allOutputs(FAILED_NODE))}`);
		if (limits) {
			for (const crm of Object.keys(perTarget) as CrmName[]) {
				const limit = SHORT_WINDOW[crm];
				const rate = perTarget[crm].processed / (perTarget[crm].durationMs / 1000);
				if (!limit) console.log(`         ${crm}: no short-window limit in the sandbox (daily quota only): not rate-bound, no ratio`);
				else {
					const max = (limit.requests / (limit.intervalMs / 1000)) * limit.recordsPerRequest;
					console.log(`         ${crm}: ${rate.toFixed(1)} records/s vs rate-limit-bound max ${max.toFixed(1)} (${limit.policy}): ${((rate / max) * 100).toFixed(0)}%, failed ${perTarget[crm].failed}`);
				}
			}
		}
	} finally {
		await rig.stop();
	}
}

/**
 * The whole graph in one run, sandbox limits off: `accounts` companies, `contacts` contacts and
 * `deals` deals seeded in the source (contacts and deals linked to companies), copied accounts →
 * contacts → opportunities. Prints the wall time per entity (its summary) and n8n's peak RSS.
 */
async function measureGraph(accounts: number, contacts: number, deals: number, targets: CrmName[]): Promise<void> {
	const id = 'bulkBenchGraph';
	const path = 'bulk-bench-graph';
	const workflow = bulkWorkflow(id, path, { mode: 'full', batchSize: 1000 }, 'none', targets);
	const rig = await startBulkRig({ contacts, companies: accounts, deals, rateLimits: false, workflows: [workflow], env: { N8N_LOG_LEVEL: 'warn' } });
	try {
		const pid = rig.pid();
		const run = await runBulk(rig, id, path, 4 * 60 * 60_000);
		const summaries = run.allOutputs(BULK_NODE) as Array<Record<string, unknown>>;
		const rss = peakRss(pid);
		console.log(`  graph ${accounts} accounts + ${contacts} contacts + ${deals} deals, limits off: wall ${(run.wallMs / 1000).toFixed(1)} s in all, n8n peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB${run.error ? `; ${run.error}` : ''}`);
		for (const summary of summaries) {
			console.log(`         ${String(summary.entity).padEnd(11)} ${String(summary.processed).padStart(6)} records: ${(Number(summary.durationMs) / 1000).toFixed(1)} s, created ${String(summary.created)}, updated ${String(summary.updated)}, failed ${String(summary.failed)}`);
		}
		const failed = run.allOutputs(FAILED_NODE);
		if (failed.length) console.log(`         failed: ${failureReasons(failed)}`);
	} finally {
		await rig.stop();
	}
}

/** Failed records by CRM and reason (the first 80 characters of the message), most frequent first. */
function failureReasons(items: Array<Record<string, unknown>>): string {
	const counts = new Map<string, number>();
	for (const item of items) {
		const key = `${String(item.target ?? item.crm ?? '?')}: ${String(item.error ?? item.message ?? JSON.stringify(item)).slice(0, 80)}`;
		counts.set(key, (counts.get(key) ?? 0) + 1);
	}
	return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${n} × ${k}`).join('; ');
}

export async function run(): Promise<void> {
	const sizes = (process.env.BULK_BENCH_SIZES ?? '10000,25000,50000').split(',').map(Number).filter((n) => n > 0);
	const which = process.env.BULK_BENCH_LIMITS ?? 'both';
	// BULK_BENCH_SKIP=pipedrive leaves a target out (Pipedrive has no batch API and sets the pace of a whole run).
	const skip = (process.env.BULK_BENCH_SKIP ?? '').split(',');
	const targets = TARGETS.filter((crm) => !skip.includes(crm));
	console.log(`bulk-n8n: bulk-sync.json in real n8n, ${SOURCE} → ${targets.join(', ')}, ${os.cpus().length} cores (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
	if (which !== 'on') for (const size of sizes) await measure(size, false, targets);
	if (which !== 'off') await measure(Number(process.env.BULK_BENCH_ON_SIZE) || 2000, true, targets);
	// BULK_BENCH_GRAPH=accounts,contacts,deals (default the brief's month: 10K, 50K, 10K; 0 skips).
	const [accounts, contacts, deals] = (process.env.BULK_BENCH_GRAPH ?? '10000,50000,10000').split(',').map(Number);
	if (accounts || contacts || deals) await measureGraph(accounts || 0, contacts || 0, deals || 0, targets);
}

if (require.main === module) {
	run().catch((error) => {
		console.error(error);
		process.exit(1);
	});
}
