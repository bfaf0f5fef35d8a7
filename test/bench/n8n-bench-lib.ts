// Shared helpers of the benchmarks that drive a real n8n (trigger.ts, n8n-webhook.ts, n8n-queue.ts):
// latency statistics, sequential and concurrent request loops, n8n's floor workflow (bare Webhook →
// Respond to Webhook), CPU and memory of the n8n processes, and a "contact-sync rig": the sandbox
// CRMs plus n8n running workflows/contact-sync.json, real webhook payloads captured from the
// sandbox, and completion measured from the target emulators' own record timestamps.
// Not a benchmark itself (no run()), so test/bench/index.ts skips it.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';

import { startSandbox, type Sandbox } from '../../sandbox';
import type { RecordStore } from '../../sandbox/common/store';
import { SANDBOX_WEBHOOK_SECRETS, sandboxCredentials } from '../e2e/fixtures';
import { REPO_ROOT, startN8n, waitFor, type N8nInstance } from '../e2e/harness';
import { triggerUrl, withSandboxMarkers, type WorkflowJson } from '../e2e/subscriptions';

// ------------------------------------------------------------------ statistics and loops

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (value: number | undefined) => (value === undefined ? NaN : +value.toFixed(1));

export interface LatencySummary {
	n: number;
	p50Ms: number;
	p95Ms: number;
	p99Ms: number;
	maxMs: number;
}

export function summarize(times: number[]): LatencySummary {
	const sorted = [...times].sort((a, b) => a - b);
	return { n: sorted.length, p50Ms: ms(percentile(sorted, 50)), p95Ms: ms(percentile(sorted, 95)), p99Ms: ms(percentile(sorted, 99)), maxMs: ms(sorted.at(-1)) };
}

export const describeLatency = (s: LatencySummary) => `P50 ${s.p50Ms} ms, P95 ${s.p95Ms} ms, P99 ${s.p99Ms} ms (n=${s.n})`;

async function expectOk(label: string, res: Response, okStatus = 200): Promise<void> {
	const text = await res.text();
	if (res.status !== okStatus) throw new Error(`${label}: HTTP ${res.status} ${text.slice(0, 300)}`);
}

/** `n` requests one after another; the time of each round trip. */
export async function sequential(label: string, send: () => Promise<Response>, n: number) {
	const times: number[] = [];
	for (let i = 0; i < n; i++) {
		const start = performance.now();
		await expectOk(label, await send());
		times.push(performance.now() - start);
	}
	const result = { label, ...summarize(times) };
	console.log(`${label.padEnd(52)} sequential ${describeLatency(result)}`);
	return result;
}

/** `n` requests with `parallel` in flight; requests per second. */
export async function concurrent(label: string, send: () => Promise<Response>, n: number, parallel: number) {
	let next = 0;
	const start = performance.now();
	await Promise.all(
		Array.from({ length: parallel }, async () => {
			while (next++ < n) await expectOk(label, await send());
		}),
	);
	const perSecond = +(n / ((performance.now() - start) / 1000)).toFixed(1);
	console.log(`${label.padEnd(52)} ${parallel} in parallel: ${perSecond} requests/s`);
	return { label, parallel, perSecond };
}

export interface RampStep {
	parallel: number;
	perSecond: number;
	latency: LatencySummary;
}

/**
 * Closed-loop ramp: at each concurrency `parallel` workers run `job` back to back for `perStep`
 * jobs per worker (at least `minJobs`). Stops once two levels in a row raise throughput by less
 * than 5%, or P95 latency exceeds `maxP95Ms`. `job` returns the latency it measured.
 */
export async function ramp(label: string, job: () => Promise<number>, options: { levels: number[]; minJobs: number; perWorker: number; maxP95Ms: number }) {
	const steps: RampStep[] = [];
	for (const parallel of options.levels) {
		const total = Math.max(options.minJobs, parallel * options.perWorker);
		let next = 0;
		const times: number[] = [];
		const start = performance.now();
		await Promise.all(
			Array.from({ length: parallel }, async () => {
				while (next++ < total) times.push(await job());
			}),
		);
		const step = { parallel, perSecond: +(total / ((performance.now() - start) / 1000)).toFixed(1), latency: summarize(times) };
		steps.push(step);
		console.log(`${label.padEnd(52)} ${String(parallel).padStart(3)} in flight: ${String(step.perSecond).padStart(6)}/s, ${describeLatency(step.latency)}`);
		// Stop when latency explodes, or when two levels in a row add less than 5% (one may be noise on a shared machine).
		const bestBefore = (k: number) => Math.max(...steps.slice(0, -k).map((s) => s.perSecond), 0);
		const flat = (k: number) => steps.length > k && steps[steps.length - k].perSecond < bestBefore(k) * 1.05;
		if (step.latency.p95Ms > options.maxP95Ms || (flat(1) && flat(2))) break;
	}
	const best = steps.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
	console.log(`${label.padEnd(52)} max sustained ${best.perSecond}/s at ${best.parallel} in flight`);
	return { label, maxPerSecond: best.perSecond, atParallel: best.parallel, steps };
}

// ------------------------------------------------------------------ n8n's floor

/** n8n's own floor: a bare Webhook → Respond to Webhook workflow at POST /webhook/<path>. */
export function floorWorkflow(id: string, path: string) {
	return {
		id,
		name: `Floor (${path})`,
		active: false,
		settings: { executionOrder: 'v1' },
		pinData: {},
		nodes: [
			{
				id: `${id}-webhook`, name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0],
				webhookId: `bench-${path}`, parameters: { httpMethod: 'POST', path, responseMode: 'responseNode', options: {} },
			},
			{
				id: `${id}-respond`, name: 'Respond to Webhook', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [220, 0],
				parameters: { respondWith: 'noData', options: {} },
			},
		],
		connections: { Webhook: { main: [[{ node: 'Respond to Webhook', type: 'main', index: 0 }]] } },
	};
}

// ------------------------------------------------------------------ the hand-built peer

/**
 * The workflow a user would build without this package: Webhook → Set (the Pipedrive person's
 * fields, by expressions) → one HTTP Request per target CRM that creates the contact. Create
 * only: no dedupe, no update, no conflict handling, no state, no echo handling. Static bearer
 * tokens in headers (the sandbox accepts any token; a real peer would use OAuth2 credentials,
 * which cost it a little more). The Webhook answers at once, as the CRM Sync Trigger does.
 */
export function peerWorkflow(id: string, path: string, urls: Record<Crm, string>) {
	const field = (name: string, value: string) => ({ id: `${id}-${name}`, name, value, type: 'string' });
	const create = (crm: Crm, label: string, url: string, authorization: string, body: string, y: number) => ({
		id: `${id}-${crm}`, name: `Create in ${label}`, type: 'n8n-nodes-base.httpRequest', typeVersion: 4.2, position: [440, y],
		parameters: {
			method: 'POST', url,
			sendHeaders: true, headerParameters: { parameters: [{ name: 'Authorization', value: authorization }] },
			sendBody: true, specifyBody: 'json', jsonBody: `={{ JSON.stringify(${body}) }}`, options: {},
		},
	});
	const creates = [
		create('hubspot', 'HubSpot', `${urls.hubspot}/crm/v3/objects/contacts`, 'Bearer pat-sandbox',
			'{ properties: { email: $json.email, firstname: $json.firstName, lastname: $json.lastName, phone: $json.phone } }', -300),
		create('salesforce', 'Salesforce', `${urls.salesforce}/services/data/v60.0/sobjects/Contact`, 'Bearer sandbox-access',
			'{ Email: $json.email, FirstName: $json.firstName, LastName: $json.lastName, Phone: $json.phone }', -100),
		create('zoho', 'Zoho CRM', `${urls.zoho}/crm/v6/Contacts`, 'Zoho-oauthtoken sandbox-access',
			'{ data: [{ Email: $json.email, First_Name: $json.firstName, Last_Name: $json.lastName, Phone: $json.phone }] }', 100),
		create('dynamics', 'Dynamics 365', `${urls.dynamics}/api/data/v9.2/contacts`, 'Bearer sandbox-access',
			'{ emailaddress1: $json.email, firstname: $json.firstName, lastname: $json.lastName, telephone1: $json.phone }', 300),
	];
	return {
		id,
		name: `Hand-built peer (${path})`,
		active: false,
		settings: { executionOrder: 'v1' },
		pinData: {},
		nodes: [
			{
				id: `${id}-webhook`, name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0],
				webhookId: `bench-${path}`, parameters: { httpMethod: 'POST', path, options: {} },
			},
			{
				id: `${id}-set`, name: 'Contact fields', type: 'n8n-nodes-base.set', typeVersion: 3.4, position: [220, 0],
				parameters: {
					mode: 'manual',
					assignments: {
						assignments: [
							field('email', '={{ $json.body.data.emails[0].value }}'),
							field('firstName', '={{ $json.body.data.first_name }}'),
							field('lastName', '={{ $json.body.data.last_name }}'),
							field('phone', '={{ $json.body.data.phones[0].value }}'),
						],
					},
					options: {},
				},
			},
			...creates,
		],
		connections: {
			Webhook: { main: [[{ node: 'Contact fields', type: 'main', index: 0 }]] },
			'Contact fields': { main: [creates.map((n) => ({ node: n.name, type: 'main', index: 0 }))] },
		},
	};
}

export const postJson = (url: string, body: string, headers: Record<string, string> = {}) =>
	fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** Waits until a production webhook is live (n8n answers 404 until then). */
export const waitLive = (url: string) => waitFor(async () => (await postJson(url, '{}')).status !== 404, 120_000);

// ------------------------------------------------------------------ CPU and memory

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function procStat(pid: number, thread?: number): { ppid: number; cpuTicks: number } | undefined {
	try {
		const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
	} catch {
		return undefined; // exited
	}
}

function procStatus(pid: number, key: 'VmRSS' | 'VmHWM'): number {
	try {
		const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) * 1024 : 0;
	} catch {
		return 0;
	}
}

/** The n8n main process started for `userFolder` and its descendants (the task runner). */
export function n8nPids(userFolder: string): number[] {
	const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
	const main = pids.filter((pid) => {
		try {
			return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`N8N_USER_FOLDER=${userFolder}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('n8n');
		} catch {
			return false;
		}
	});
	const found = new Set(main);
	for (let grew = true; grew; ) {
		grew = false;
		for (const pid of pids) {
			const parent = procStat(pid)?.ppid;
			if (!found.has(pid) && parent !== undefined && found.has(parent)) {
				found.add(pid);
				grew = true;
			}
		}
	}
	return [...found];
}

function machineTicks(): { busy: number; total: number } {
	const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
	const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
	const busy = user + nice + system + irq + softirq + steal;
	return { busy, total: busy + idle + iowait };
}

export interface CpuReport {
	wallS: number;
	/** CPU seconds of n8n (main + task runner) during the window. */
	n8nCpuS: number;
	/** CPU seconds of this process (the load generator and the in-process sandbox). */
	benchCpuS: number;
	/** Busy share of all cores over the window, every process on the machine included. */
	machineBusyPct: number;
	/** Busy share of all cores not explained by n8n and this process: the other jobs on the machine. */
	othersPct: number;
	/**
	 * The busiest n8n process's main thread, in % of one core: n8n runs every execution's
	 * JavaScript there, so near 100% it is the limit, however many cores are idle.
	 */
	n8nMainThreadPct: number;
	n8nRssMb: number;
	n8nPeakRssMb: number;
}

/** Measures CPU time of n8n, of this process and of the whole machine between start and stop(). */
export function cpuMeter(userFolder: string, cores: number) {
	const pids = n8nPids(userFolder);
	const n8nTicks = () => pids.reduce((sum, pid) => sum + (procStat(pid)?.cpuTicks ?? 0), 0);
	const mainThreadTicks = () => pids.map((pid) => procStat(pid, pid)?.cpuTicks ?? 0);
	const start = { wall: performance.now(), n8n: n8nTicks(), mainThreads: mainThreadTicks(), self: process.cpuUsage(), machine: machineTicks() };
	return {
		stop(): CpuReport {
			const wallS = (performance.now() - start.wall) / 1000;
			const machine = machineTicks();
			const self = process.cpuUsage(start.self);
			const n8nCpuS = (n8nTicks() - start.n8n) / TICKS_PER_SECOND;
			const benchCpuS = (self.user + self.system) / 1e6;
			const machineBusyPct = (100 * (machine.busy - start.machine.busy)) / Math.max(1, machine.total - start.machine.total);
			const capacity = wallS * cores;
			return {
				wallS: +wallS.toFixed(1),
				n8nCpuS: +n8nCpuS.toFixed(1),
				benchCpuS: +benchCpuS.toFixed(1),
				machineBusyPct: +machineBusyPct.toFixed(0),
				othersPct: +Math.max(0, machineBusyPct - (100 * (n8nCpuS + benchCpuS)) / capacity).toFixed(0),
				n8nMainThreadPct: +Math.max(0, ...mainThreadTicks().map((ticks, i) => (100 * (ticks - start.mainThreads[i])) / TICKS_PER_SECOND / wallS)).toFixed(0),
				n8nRssMb: Math.round(pids.reduce((sum, pid) => sum + procStatus(pid, 'VmRSS'), 0) / 2 ** 20),
				n8nPeakRssMb: Math.round(pids.reduce((sum, pid) => sum + procStatus(pid, 'VmHWM'), 0) / 2 ** 20),
			};
		},
	};
}

export const describeCpu = (c: CpuReport) =>
	`${c.wallS} s wall; CPU n8n ${c.n8nCpuS} s (its main thread ${c.n8nMainThreadPct}% of a core), bench+sandbox ${c.benchCpuS} s; machine ${c.machineBusyPct}% busy (other jobs ≈ ${c.othersPct}%); n8n RSS ${c.n8nRssMb} MB (peak ${c.n8nPeakRssMb} MB)`;

// ------------------------------------------------------------------ the contact-sync rig

/** n8n settings under test (the harness always sets N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true). */
export const N8N_CONFIGS: Record<string, Record<string, string>> = {
	default: {},
	'save-none': { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
	legacy: { N8N_EXPRESSION_ENGINE: 'legacy' },
	'legacy+save-none': { N8N_EXPRESSION_ENGINE: 'legacy', EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
};

export function n8nConfig(name: string): Record<string, string> {
	const env = N8N_CONFIGS[name];
	if (!env) throw new Error(`unknown n8n config ${name}; known: ${Object.keys(N8N_CONFIGS).join(', ')}`);
	return env;
}

export const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
export type Crm = (typeof CRMS)[number];

type Template = WorkflowJson & { id: string };

/**
 * workflows/contact-sync.json as a user sets it up for the sandbox (as in the contact-sync e2e
 * test): each CRM's own-change markers are the identity our writes carry in it. The rig sends
 * the webhooks itself, so the trigger registers none (Pipedrive and Zoho would call n8n directly).
 */
export function configuredContactSync(): Template {
	const template = withSandboxMarkers(JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/contact-sync.json'), 'utf8')) as Template);
	for (const node of template.nodes) if (node.type === 'n8n-nodes-crm-sync.crmSyncTrigger') node.parameters.registerSubscription = false;
	return template;
}

/** Where each emulator keeps contacts and the index that finds them by email. */
const CONTACT_INDEX: Record<Crm, [collection: string, index: string]> = {
	hubspot: ['contacts', 'email'],
	pipedrive: ['persons', 'email'],
	salesforce: ['Contact', 'email'],
	zoho: ['Contacts', 'email'],
	dynamics: ['contacts', 'emailaddress1'],
};

interface Pending {
	email: string;
	sentAt: number;
	missing: Set<Crm>;
	writtenAt: Partial<Record<Crm, number>>;
	resolve: (done: Completion) => void;
}

export interface Completion {
	/** Send → the record's creation time in the last target to hold it (ms). */
	latencyMs: number;
	/** Send → creation time per target (ms). */
	perTargetMs: Partial<Record<Crm, number>>;
}

/**
 * Completion of sync events without polling the CRMs over HTTP: the in-process emulators' email
 * indexes are checked every few ms, and the latency is taken from the record's creation time in
 * the emulator's store (wall-clock ms), so how often we look does not change the figure.
 */
export class CompletionWatcher {
	private readonly pending = new Set<Pending>();
	private timer: NodeJS.Timeout | undefined;

	constructor(private readonly sandbox: Sandbox) {}

	/** Resolves when a contact with `email` exists in every target; `sentAt` is Date.now() at send. */
	track(email: string, sentAt: number, targets: readonly Crm[]): Promise<Completion> {
		return new Promise((resolve) => {
			this.pending.add({ email, sentAt, missing: new Set(targets), writtenAt: {}, resolve });
			this.timer ??= setInterval(() => this.check(), 3);
		});
	}

	get inFlight(): number {
		return this.pending.size;
	}

	private check(): void {
		for (const item of this.pending) {
			for (const crm of item.missing) {
				const store = (this.sandbox.emulators[crm] as unknown as { store: RecordStore }).store;
				const [collection, index] = CONTACT_INDEX[crm];
				const [found] = store.collection(collection)!.findBy(index, item.email);
				if (!found) continue;
				item.writtenAt[crm] = found.createdAt;
				item.missing.delete(crm);
			}
			if (item.missing.size > 0) continue;
			this.pending.delete(item);
			const perTargetMs = Object.fromEntries(Object.entries(item.writtenAt).map(([crm, at]) => [crm, at - item.sentAt]));
			item.resolve({ latencyMs: Math.max(...Object.values(perTargetMs)), perTargetMs });
		}
		if (this.pending.size === 0) {
			clearInterval(this.timer);
			this.timer = undefined;
		}
	}

	stop(): void {
		clearInterval(this.timer);
	}
}

/** A webhook request as the CRM sends it, and the email of the contact it carries. */
export interface CapturedWebhook {
	email: string;
	headers: Record<string, string>;
	body: string;
}

/**
 * Receives the sandbox's webhooks in this process (at /<source>), so real payloads can be replayed
 * to n8n at a chosen time.
 */
async function captureServer() {
	const captured = new Map<string, Array<{ headers: Record<string, string>; body: string }>>();
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const headers: Record<string, string> = {};
			for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(key)) headers[key] = value;
			const list = captured.get(req.url ?? '') ?? [];
			list.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
			captured.set(req.url ?? '', list);
			res.end('ok');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	return {
		url: (source: Crm) => `http://127.0.0.1:${port}/${source}`,
		server,
		/**
		 * The captured webhooks of `source` carrying the given emails, in that order. Others are
		 * dropped: the same subscription also reports the sync's own writes when `source` is a target.
		 */
		takeAll(source: Crm): Array<{ headers: Record<string, string>; body: string }> {
			const all = captured.get(`/${source}`) ?? [];
			captured.delete(`/${source}`);
			return all;
		},
		take(source: Crm, emails: string[], emailOf: (body: string) => string): Array<{ email: string; headers: Record<string, string>; body: string }> {
			const byEmail = new Map<string, { headers: Record<string, string>; body: string }>();
			for (const c of captured.get(`/${source}`) ?? []) byEmail.set(emailOf(c.body).toLowerCase(), c);
			captured.delete(`/${source}`);
			return emails.map((email) => {
				const c = byEmail.get(email);
				if (!c) throw new Error(`${source} sent no webhook for ${email}`);
				return { email, ...c };
			});
		},
	};
}

/** One CRM-native batch webhook: many events in one request. */
export interface NativeBatch {
	source: 'salesforce' | 'hubspot';
	emails: string[];
	headers: Record<string, string>;
	body: string;
}

export interface RigOptions {
	/** Extra n8n environment (the settings under test). */
	env?: Record<string, string>;
	/** Subscribe the target CRMs' webhooks to n8n too, so every write echoes back as in production. */
	echoes?: boolean;
	/** n8n queue mode (harness: main, workers, webhook processor, Redis, PostgreSQL, Redis state store). */
	queue?: boolean | { workers?: number };
	/** The HubSpot credential's API Limit tier (starter, professional, increase). */
	hubspotApiLimit?: string;
}

/** The sandbox credentials with the HubSpot private app's API Limit tier set (default: the credential's, Free/Starter). */
function withHubSpotApiLimit<C extends { type: string; data: Record<string, unknown> }>(credentials: C[], apiLimit: string | undefined): C[] {
	return apiLimit ? credentials.map((c) => (c.type === 'hubSpotCrmSyncApi' ? { ...c, data: { ...c.data, apiLimit } } : c)) : credentials;
}

/** The sandbox, n8n with the contact-sync template and the floor, and payload factories. */
export async function startContactSyncRig(options: RigOptions = {}) {
	const template = configuredContactSync();
	const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;
	const secret = (crm: Crm) => SANDBOX_WEBHOOK_SECRETS[crm].secret;

	const sandbox = await startSandbox({ webhookRetryDelayScale: 0.001 });
	let n8n: N8nInstance | undefined;
	const capture = await captureServer();
	try {
		n8n = await startN8n({
			workflowObjects: [
				template as unknown as Record<string, unknown>,
				floorWorkflow('benchFloorWorkflow', 'bench-floor'),
				peerWorkflow('benchPeerWorkflow', 'bench-peer', sandbox.urls as Record<Crm, string>),
			],
			credentials: withHubSpotApiLimit(sandboxCredentials(sandbox.urls), options.hubspotApiLimit),
			env: options.env,
			queue: options.queue,
		});
	} catch (error) {
		capture.server.close();
		await sandbox.stop();
		throw error;
	}
	const base = n8n.baseUrl;
	const hookUrl = (crm: Crm) => triggerUrl(base, trigger, crm);
	const floorUrl = `${base}/webhook/bench-floor`;
	const peerUrl = `${base}/webhook/bench-peer`;
	for (const url of [floorUrl, peerUrl, hookUrl('pipedrive'), hookUrl('salesforce')]) await waitLive(url);

	// Payload sources: the sandbox's own webhooks, delivered to the capture server.
	const pdHook = await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, {
		method: 'POST',
		headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' },
		body: JSON.stringify({
			subscription_url: capture.url('pipedrive'), event_action: 'create', event_object: 'person', version: '2.0',
			http_auth_user: SANDBOX_WEBHOOK_SECRETS.pipedrive.basicAuthUser, http_auth_password: secret('pipedrive'),
		}),
	});
	if (!pdHook.ok) throw new Error(`Pipedrive webhook: ${pdHook.status} ${await pdHook.text()}`);
	sandbox.emulators.salesforce!.addSubscription({ type: 'changeEvent', url: capture.url('salesforce'), secret: secret('salesforce'), entities: ['Contact'] });
	sandbox.emulators.hubspot!.addSubscription({ url: capture.url('hubspot'), clientSecret: secret('hubspot'), types: ['contact.creation'] });
	if (options.echoes) {
		const e = sandbox.emulators;
		e.hubspot!.addSubscription({ url: hookUrl('hubspot'), clientSecret: secret('hubspot'), types: ['contact.creation', 'contact.propertyChange'] });
		e.salesforce!.addSubscription({ type: 'changeEvent', url: hookUrl('salesforce'), secret: secret('salesforce'), entities: ['Contact'] });
		e.zoho!.addSubscription({ url: hookUrl('zoho'), events: ['Contacts.all'], token: secret('zoho') });
		e.dynamics!.addSubscription({ url: hookUrl('dynamics'), entity: 'contact', messages: ['Create', 'Update'], authType: 'WebhookKey', key: secret('dynamics') });
	}

	let serial = 0;
	const run = `${Date.now().toString(36)}`;
	const admin = async (crm: Crm, path: string, body: unknown) => {
		const res = await postJson(`${sandbox.urls[crm]}${path}`, JSON.stringify(body));
		if (!res.ok) throw new Error(`${crm} ${path}: ${res.status} ${await res.text()}`);
	};

	/** `n` persons created in Pipedrive's UI; their real "create person" webhooks (one person each). */
	async function pipedriveEvents(n: number): Promise<CapturedWebhook[]> {
		const emails: string[] = [];
		for (let i = 0; i < n; i++) {
			const k = ++serial;
			emails.push(`bench${k}.${run}@pipedrive.example`);
			await admin('pipedrive', '/__admin/ui/api/v2/persons', {
				name: `Bench${k} Person${run}`,
				emails: [{ value: emails[i], primary: true, label: 'work' }],
				phones: [{ value: `+1415${String(5_000_000 + k).padStart(7, '0')}`, primary: true, label: 'work' }],
			});
		}
		await sandbox.emulators.pipedrive!.webhooksIdle();
		return capture.take('pipedrive', emails, (body) => (JSON.parse(body) as { data: { emails: Array<{ value: string }> } }).data.emails[0]?.value ?? '');
	}

	/**
	 * `batches` Salesforce JSON webhooks, each an array of `size` real change events (contacts
	 * created in Salesforce's UI), signed as one body: the CRM-native batch of the working sources.
	 */
	async function salesforceBatches(batches: number, size: number): Promise<NativeBatch[]> {
		const emails: string[] = [];
		for (let i = 0; i < batches * size; i++) {
			const k = ++serial;
			emails.push(`bench${k}.${run}@salesforce.example`);
			await admin('salesforce', '/__admin/sobjects/Contact', { FirstName: `Bench${k}`, LastName: `Contact${run}`, Email: emails[i], Phone: `+1415${String(6_000_000 + k).padStart(7, '0')}` });
		}
		await sandbox.emulators.salesforce!.webhooksIdle();
		const events = capture.take('salesforce', emails, (body) => String((JSON.parse(body) as { data: { payload: { Email?: string } } }).data.payload.Email ?? ''));
		return Array.from({ length: batches }, (_, b) => {
			const slice = events.slice(b * size, (b + 1) * size);
			const body = JSON.stringify(slice.map((e) => JSON.parse(e.body) as unknown));
			return {
				source: 'salesforce' as const,
				emails: slice.map((e) => e.email),
				headers: { 'content-type': 'application/json', 'x-sfdc-signature': createHmac('sha256', secret('salesforce')).update(body).digest('base64') },
				body,
			};
		});
	}

	/**
	 * `batches` HubSpot webhooks, each an array of `size` real contact.creation events (contacts
	 * created in HubSpot's UI; the trigger fetches each record). Signed when sent (see postBatch).
	 */
	async function hubspotBatches(batches: number, size: number): Promise<NativeBatch[]> {
		const emails: string[] = [];
		for (let i = 0; i < batches * size; i++) {
			const k = ++serial;
			emails.push(`bench${k}.${run}@hubspot.example`);
			await admin('hubspot', '/__admin/objects/contacts', { properties: { firstname: `Bench${k}`, lastname: `Contact${run}`, email: emails[i], phone: `+1415${String(7_000_000 + k).padStart(7, '0')}` } });
		}
		await sandbox.emulators.hubspot!.webhooksIdle();
		const contacts = (sandbox.emulators.hubspot as unknown as { store: RecordStore }).store.collection('contacts')!;
		// HubSpot batches events itself; flatten its arrays and regroup them into arrays of `size`.
		const flat = capture.takeAll('hubspot').flatMap((c) => JSON.parse(c.body) as Array<{ objectId: number }>);
		const byEmail = new Map(flat.map((event) => [String(contacts.get(String(event.objectId))?.fields.email ?? '').toLowerCase(), event]));
		const events = emails.map((email) => {
			const event = byEmail.get(email);
			if (!event) throw new Error(`hubspot sent no contact.creation for ${email}`);
			return event;
		});
		return Array.from({ length: batches }, (_, b) => ({
			source: 'hubspot' as const,
			emails: emails.slice(b * size, (b + 1) * size),
			body: JSON.stringify(events.slice(b * size, (b + 1) * size)),
			headers: { 'content-type': 'application/json' },
		}));
	}

	/** Posts a native batch; HubSpot's v3 signature covers the URL called and a fresh timestamp. */
	async function postBatch(batch: NativeBatch): Promise<Response> {
		const url = hookUrl(batch.source);
		const headers = { ...batch.headers };
		if (batch.source === 'hubspot') {
			const timestamp = String(Date.now());
			headers['x-hubspot-request-timestamp'] = timestamp;
			headers['x-hubspot-signature-v3'] = createHmac('sha256', secret('hubspot')).update(`POST${url}${batch.body}${timestamp}`).digest('base64');
		}
		return fetch(url, { method: 'POST', headers, body: batch.body });
	}

	const watcher = new CompletionWatcher(sandbox);
	return {
		sandbox,
		n8n,
		floorUrl,
		peerUrl,
		hookUrl,
		pipedriveEvents,
		salesforceBatches,
		hubspotBatches,
		postBatch,
		watcher,
		/** Posts a captured webhook to n8n (to the template's trigger, or to `url`); resolves when every target holds the contact. */
		async deliver(crm: Crm, hook: CapturedWebhook, targets: readonly Crm[], url = hookUrl(crm)): Promise<Completion & { ackMs: number }> {
			const sentAt = Date.now();
			const start = performance.now();
			const done = watcher.track(hook.email, sentAt, targets);
			await expectOk(`${crm} webhook`, await fetch(url, { method: 'POST', headers: hook.headers, body: hook.body }));
			const ackMs = performance.now() - start;
			return { ...(await done), ackMs };
		},
		async stop() {
			watcher.stop();
			capture.server.close();
			await n8n!.stop();
			await sandbox.stop();
		},
	};
}

export type ContactSyncRig = Awaited<ReturnType<typeof startContactSyncRig>>;

/** Targets of a contact created in `source`: the other four CRMs. */
export const targetsOf = (source: Crm) => CRMS.filter((crm) => crm !== source);

/** Standalone runs (`npx tsx test/bench/<area>.ts --json`) write their summary as index.ts does. */
export function mainOf(area: string, run: () => Promise<unknown>): void {
	run()
		.then((result) => {
			if (!process.argv.includes('--json')) return;
			mkdirSync('bench-results', { recursive: true });
			const file = join('bench-results', `${area}-${Date.now()}.json`);
			writeFileSync(file, JSON.stringify({ cores: cpus().length, node: process.version, at: new Date().toISOString(), [area]: result }, null, 2));
			console.log(`\nJSON summary: ${file}`);
		})
		.catch((error) => {
			console.error(error);
			process.exitCode = 1;
		});
}
