// Upsert throughput per CRM through the real connectors (real SDKs, real HTTP) against the sandbox
// emulators, with the emulators' rate limits off and on. With limits on it also prints the ratio to
// the limit-bound maximum: (the CRM's documented short-window request rate) x (records per API call
// actually used). Every CRM createConnector supports is measured; the others are listed as such.
//
//   npx tsx test/bench/upsert.ts            (UPSERT_BENCH_RECORDS=2000 to change the volume)

import os from 'node:os';
import { createConnector, type CrmConnector } from '../../lib/connectors';
import { compileMapping } from '../../lib/mapping';
import { CRM_NAMES, type CrmName } from '../../lib/model';
import { startSandbox, type Sandbox } from '../../sandbox';
import { sandboxCredentials } from '../e2e/fixtures';

/**
 * The sandbox's documented short-window request limits (sandbox/<crm>/index.ts), per credential.
 * Salesforce and Zoho only enforce daily quotas there: a run is not rate-bound, so no ratio.
 */
const SHORT_WINDOW_LIMIT: Partial<Record<CrmName, { requests: number; intervalMs: number; policy: string }>> = {
	hubspot: { requests: 100, intervalMs: 10_000, policy: 'TEN_SECONDLY_ROLLING 100/10 s' },
	pipedrive: { requests: 80, intervalMs: 2_000, policy: 'burst 80/2 s (API token)' },
	dynamics: { requests: 6000, intervalMs: 300_000, policy: '6000/5 min' },
};

const RECORDS = Number(process.env.UPSERT_BENCH_RECORDS) || 2000;

interface Measure {
	records: number;
	ok: number;
	ms: number;
	calls: number;
}

function contacts(crm: CrmName, count: number, tag: string): Array<{ ref: number; fields: Record<string, unknown> }> {
	const toCrm = compileMapping({ direction: 'fromUnified', entity: 'contact', target: crm, mode: 'lenient' });
	return Array.from({ length: count }, (_, i) => ({
		ref: i,
		fields: toCrm.map({ email: `bench.${tag}.${i}@example.com`, firstName: `Bench${i}`, lastName: `Contact ${tag}`, company: 'Bench Inc' }).record,
	}));
}

async function measure(sandbox: Sandbox, crm: CrmName, connector: CrmConnector, count: number, tag: string): Promise<Measure> {
	const emulator = sandbox.emulators[crm] as unknown as { requestCount: number };
	const matchKey = connector.matchField('contact', 'email');
	if (!matchKey) throw new Error(`${crm}: no email match field`);
	const records = contacts(crm, count, tag);
	const batch = connector.maxBatchSize('contact', 'upsert');
	const callsBefore = emulator.requestCount;
	const started = process.hrtime.bigint();
	let ok = 0;
	// Batches run with some concurrency (as the node does across items), bounded by the limiter.
	const chunks: Array<typeof records> = [];
	for (let i = 0; i < records.length; i += batch) chunks.push(records.slice(i, i + batch));
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(4, chunks.length) }, async () => {
			while (next < chunks.length) {
				const outcomes = await connector.upsert('contact', matchKey, chunks[next++]);
				ok += outcomes.filter((o) => o.status !== 'failed').length;
			}
		}),
	);
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	return { records: count, ok, ms, calls: emulator.requestCount - callsBefore };
}

function line(label: string, m: Measure): string {
	const rate = (m.ok / m.ms) * 1000;
	return `  ${label.padEnd(11)} ${String(m.ok).padStart(5)}/${m.records} ok in ${(m.ms / 1000).toFixed(2).padStart(6)} s = ${rate.toFixed(0).padStart(6)} records/s, ${m.calls} API calls (${(m.ok / Math.max(1, m.calls)).toFixed(1)} records/call)`;
}

export async function run(): Promise<void> {
	console.log(`# Upsert throughput per CRM (contacts by email, sandbox on loopback, os.cpus().length = ${os.cpus().length})`);
	for (const crm of CRM_NAMES) {
		let sandbox: Sandbox;
		try {
			sandbox = await startSandbox({ crms: [crm] });
		} catch (error) {
			console.log(`${crm}: sandbox emulator unavailable: ${(error as Error).message}`);
			continue;
		}
		try {
			const [credential] = sandboxCredentials(sandbox.urls);
			const connector = createConnector(crm, credential.data);
			const batchSize = connector.maxBatchSize('contact', 'upsert');
			// CRMs without batch writes get fewer records so a run stays short.
			const volume = batchSize > 1 ? RECORDS : Math.min(RECORDS, 300);
			console.log(`${crm}: batch size ${batchSize}`);
			const off = await measure(sandbox, crm, connector, volume, `off${Date.now()}`);
			console.log(line('limits off', off));

			sandbox.emulators[crm]!.setRateLimits(true);
			const limit = SHORT_WINDOW_LIMIT[crm];
			// Keep the limited run to ~15 s at the limit-bound rate.
			const perCall = off.ok / Math.max(1, off.calls);
			const bound = limit ? (limit.requests / limit.intervalMs) * 1000 * perCall : undefined;
			const count = bound ? Math.max(100, Math.min(volume, Math.round(bound * 15))) : volume;
			const on = await measure(sandbox, crm, connector, count, `on${Date.now()}`);
			console.log(line('limits on', on));
			if (limit && bound) {
				const onBound = (limit.requests / limit.intervalMs) * 1000 * (on.ok / Math.max(1, on.calls));
				const rate = (on.ok / on.ms) * 1000;
				console.log(`  limit-bound maximum (${limit.policy} x ${(on.ok / Math.max(1, on.calls)).toFixed(1)} records/call) = ${onBound.toFixed(0)} records/s; ratio ${(rate / onBound).toFixed(2)}`);
			} else {
				console.log('  limit-bound maximum: n/a (the sandbox enforces only a daily quota for this CRM; a run is not rate-bound)');
			}
		} catch (error) {
			console.log(`${crm}: failed: ${(error as Error).message}`);
		} finally {
			await sandbox.stop();
		}
	}
}

if (require.main === module) {
	run().then(
		() => process.exit(0),
		(error) => {
			console.error(error);
			process.exit(1);
		},
	);
}
