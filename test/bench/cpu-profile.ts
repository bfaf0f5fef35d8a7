// A V8 CPU profile of n8n's main thread over one bench phase, split by who owns the code: n8n's
// packages, this package, the CRM SDKs, Node's core, GC. n8n runs with --inspect=127.0.0.1:0
// (N8N_BENCH_PROFILE=1); the bench reads the inspector's address from n8n's log and drives the
// Profiler domain over the DevTools WebSocket. Self time only, so nothing is counted twice.
import { readFileSync } from 'node:fs';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

/** NODE_OPTIONS for an n8n whose main thread a bench will profile. */
export const PROFILED_N8N_ENV = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

/** The first inspector address in n8n's log: the main process starts before any task runner. */
export function inspectorUrl(logFile: string): string {
	const found = /Debugger listening on (ws:\/\/\S+)/.exec(readFileSync(logFile, 'utf8'));
	if (!found) throw new Error(`no inspector address in ${logFile}: was n8n started with ${PROFILED_N8N_ENV.NODE_OPTIONS}?`);
	return found[1];
}

export async function startProfile(wsUrl: string): Promise<{ stop(): Promise<Profile> }> {
	const socket = new WebSocket(wsUrl);
	await new Promise<void>((resolve, reject) => {
		socket.onopen = () => resolve();
		socket.onerror = () => reject(new Error(`inspector ${wsUrl} refused the connection`));
	});
	let nextId = 1;
	const pending = new Map<number, (result: unknown) => void>();
	socket.onmessage = (event) => {
		const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
		if (message.id !== undefined) pending.get(message.id)?.(message.result);
	};
	const call = (method: string, params: object = {}) =>
		new Promise<unknown>((resolve) => {
			const id = nextId++;
			pending.set(id, resolve);
			socket.send(JSON.stringify({ id, method, params }));
		});
	await call('Profiler.enable');
	await call('Profiler.setSamplingInterval', { interval: 200 });
	await call('Profiler.start');
	return {
		async stop() {
			const { profile } = (await call('Profiler.stop')) as { profile: Profile };
			socket.close();
			return profile;
		},
	};
}

/** The npm package a script belongs to (its last node_modules segment), or a V8/Node pseudo-owner. */
function owner(frame: ProfileNode['callFrame']): string {
	const { url, functionName } = frame;
	if (!url) {
		if (functionName === '(garbage collector)') return '(gc)';
		if (functionName === '(idle)') return '(idle)';
		if (functionName === '(program)') return '(program)';
		return '(native)';
	}
	if (url.startsWith('node:')) return 'node core';
	const path = url.replace(/^file:\/\//, '');
	const at = path.lastIndexOf('/node_modules/');
	if (at < 0) return '(other)';
	const parts = path.slice(at + '/node_modules/'.length).split('/');
	return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

const CRM_SDKS = new Set(['jsforce', '@hubspot/api-client', 'pipedrive', 'ioredis', 'fastest-levenshtein', 'libphonenumber-js']);
const DATABASE = new Set(['typeorm', 'sqlite3', '@n8n/typeorm', 'pg']);

/** Coarse groups for the report; the per-package table keeps the detail. */
function group(pkg: string): string {
	if (pkg === 'n8n-nodes-crm-sync') return 'this package';
	if (CRM_SDKS.has(pkg)) return 'CRM SDKs and libraries';
	if (pkg === 'n8n-workflow') return 'n8n-workflow (graph, parameters, expressions)';
	if (pkg === 'n8n-core') return 'n8n-core (node execution)';
	if (pkg === 'n8n' || pkg.startsWith('@n8n/')) return DATABASE.has(pkg) ? 'n8n database' : 'n8n server (webhooks, runner, hooks, event bus)';
	if (DATABASE.has(pkg)) return 'n8n database';
	if (pkg === 'node core' || pkg === '(native)' || pkg === '(program)') return 'Node core and native';
	if (pkg === '(gc)') return 'GC';
	return 'other dependencies';
}

export interface ProfileSplit {
	busyMs: number;
	groups: Array<{ name: string; ms: number; pct: number }>;
	packages: Array<{ name: string; ms: number; pct: number }>;
	topFunctions: Array<{ name: string; ms: number }>;
}

/** Self time per owner over the profile, idle excluded; `per` divides every figure (per event). */
export function splitProfile(profile: Profile, per = 1): ProfileSplit {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const selfUs = new Map<number, number>();
	profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
	const byPackage = new Map<string, number>();
	const byGroup = new Map<string, number>();
	const byFunction = new Map<string, number>();
	let busyUs = 0;
	for (const [id, us] of selfUs) {
		const frame = byId.get(id)!.callFrame;
		const pkg = owner(frame);
		if (pkg === '(idle)') continue;
		busyUs += us;
		byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
		byGroup.set(group(pkg), (byGroup.get(group(pkg)) ?? 0) + us);
		const fn = `${frame.functionName || '(anonymous)'} ${pkg}${frame.url ? ` ${frame.url.split('/').slice(-2).join('/')}` : ''}`;
		byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
	}
	const rows = (m: Map<string, number>) =>
		[...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: +(us / 1000 / per).toFixed(2), pct: +((100 * us) / busyUs).toFixed(1) }));
	return {
		busyMs: +(busyUs / 1000 / per).toFixed(1),
		groups: rows(byGroup),
		packages: rows(byPackage).slice(0, 15),
		topFunctions: rows(byFunction).slice(0, 15).map(({ name, ms }) => ({ name, ms })),
	};
}

export function describeSplit(label: string, split: ProfileSplit): string {
	const lines = [`${label}: n8n main thread busy ${split.busyMs} ms per event`];
	for (const g of split.groups) lines.push(`    ${g.ms.toFixed(2).padStart(7)} ms  ${String(g.pct).padStart(5)}%  ${g.name}`);
	lines.push('  by package:');
	for (const p of split.packages) lines.push(`    ${p.ms.toFixed(2).padStart(7)} ms  ${String(p.pct).padStart(5)}%  ${p.name}`);
	lines.push('  top functions (self):');
	for (const f of split.topFunctions) lines.push(`    ${f.ms.toFixed(2).padStart(7)} ms  ${f.name}`);
	return lines.join('\n');
}
