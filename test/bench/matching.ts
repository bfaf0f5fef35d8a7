// Benchmark of lib/matching: accuracy on the deterministic labelled set (per scoring mode and
// for plain exact-email matching), blocking pair completeness, 50K-contact batch speed, and
// one-record-against-a-50K-index latency, with memory figures.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { UnifiedRecord } from '../../lib/model';
import {
	BlockIndex,
	blockingKeys,
	findDuplicatesInBatch,
	DEFAULT_FS_PARAMETERS,
	MatchIndex,
	prepareRecord,
	type MatchOptions,
} from '../../lib/matching';
import { clusterPairs, evaluatePairs, generateLabelledSet, type Accuracy, type LabelledSet } from '../../lib/matching/labelled-set';
import { openStateStore } from '../../lib/state';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmt = (a: Accuracy) =>
	`precision ${pct(a.precision)}  recall ${pct(a.recall)}  F1 ${pct(a.f1)}  (TP ${a.truePositives}, FP ${a.falsePositives}, FN ${a.falseNegatives})`;

/** Plain exact-email matching: the baseline (trimmed, case-insensitive equality). */
export function exactEmailPairs(records: UnifiedRecord[]): Array<{ a: number; b: number }> {
	const byEmail = new Map<string, number[]>();
	records.forEach((record, i) => {
		if (typeof record.email !== 'string' || record.email.trim() === '') return;
		const key = record.email.trim().toLowerCase();
		const list = byEmail.get(key);
		if (list) list.push(i);
		else byEmail.set(key, [i]);
	});
	return clusterPairs([...byEmail.values()].map((members) => ({ members })));
}

/** Share of true pairs that share at least one usable block. */
export function pairCompleteness(set: LabelledSet, options: MatchOptions = {}): { completeness: number; candidatePairs: number } {
	const blocks = new BlockIndex(options.maxBlockSize);
	set.records.forEach((record, slot) => blocks.add(slot, blockingKeys(prepareRecord(record, slot, options))));
	const { pairs } = blocks.pairs();
	const kept = pairs.filter(([a, b]) => set.entity[a] === set.entity[b]).length;
	return { completeness: kept / set.truePairs, candidatePairs: pairs.length };
}

function accuracy(set: LabelledSet): void {
	const n = set.records.length;
	console.log(`\nAccuracy: labelled set of ${n} records, ${set.truePairs} true duplicate pairs (seed fixed)`);
	const { completeness, candidatePairs } = pairCompleteness(set);
	console.log(`  blocking: ${candidatePairs} candidate pairs of ${((n * (n - 1)) / 2).toLocaleString('en')} possible; pair completeness ${pct(completeness)}`);
	console.log(`  exact email (baseline)  pairs:    ${fmt(evaluatePairs(exactEmailPairs(set.records), set))}`);
	for (const mode of ['simple', 'fellegiSunter'] as const) {
		const result = findDuplicatesInBatch(set.records, { mode });
		console.log(`  ${mode.padEnd(23)} pairs:    ${fmt(evaluatePairs(result.pairs, set))}`);
		console.log(`  ${mode.padEnd(23)} clusters: ${fmt(evaluatePairs(clusterPairs(result.clusters), set))}`);
	}
	const builtIn = findDuplicatesInBatch(set.records, { mode: 'fellegiSunter', fsParameters: structuredClone(DEFAULT_FS_PARAMETERS) });
	console.log(`  FS, built-in parameters  pairs:    ${fmt(evaluatePairs(builtIn.pairs, set))}`);
}

/** Wall and CPU (user + system) seconds of `work`: the machine may be shared, CPU time is not. */
function timed<T>(work: () => T): { value: T; wall: string; cpu: string } {
	const cpuStart = process.cpuUsage();
	const start = performance.now();
	const value = work();
	const wall = (performance.now() - start) / 1000;
	const cpu = process.cpuUsage(cpuStart);
	return { value, wall: `${wall.toFixed(2)} s`, cpu: `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s` };
}

/** About 50K contacts (36,800 people plus their duplicates), labelled. */
function fiftyThousand(): LabelledSet {
	return generateLabelledSet({ entities: 36_800, seed: 5 });
}

function batchSpeed(set: LabelledSet): void {
	const records = set.records;
	console.log(`\nBatch: ${records.length} contacts within one batch (${set.truePairs} true duplicate pairs)`);
	console.log(`  blocking pair completeness ${pct(pairCompleteness(set).completeness)}`);
	for (const mode of ['simple', 'fellegiSunter'] as const) {
		global.gc?.();
		const { value: result, wall, cpu } = timed(() => findDuplicatesInBatch(records, { mode }));
		const memory = process.memoryUsage();
		console.log(
			`  ${mode.padEnd(14)} wall ${wall} (CPU ${cpu})  comparisons ${result.stats.comparisons.toLocaleString('en')} ` +
				`(${(result.stats.comparisons / records.length).toFixed(1)} per record, oversized blocks skipped ${result.stats.oversizedBlocks})  ` +
				`pairs ${result.pairs.length}  clusters ${result.clusters.length}  heap ${mb(memory.heapUsed)}  RSS ${mb(memory.rss)}`,
		);
		console.log(`  ${''.padEnd(14)} ${fmt(evaluatePairs(result.pairs, set))}`);
	}
}

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function indexLatency(records: UnifiedRecord[]): void {
	const queries = generateLabelledSet({ entities: 3000, seed: 99 }).records.slice(0, 2000);
	// Half of the queries are existing records under another id (they have matches).
	for (let i = 0; i < queries.length; i += 2) queries[i] = { ...records[(i * 25) % records.length], id: `q-${i}` };
	console.log(`\nIndex: one record against an index of ${records.length} known records (${queries.length} queries)`);
	for (const mode of ['simple', 'fellegiSunter'] as const) {
		global.gc?.();
		const buildStart = performance.now();
		const index = new MatchIndex({ mode });
		for (const record of records) index.upsert(record);
		if (mode === 'fellegiSunter') index.estimateFromIndex();
		const buildMs = performance.now() - buildStart;
		const times: number[] = [];
		const cpuTimes: number[] = [];
		let matched = 0;
		for (const query of queries) {
			const cpuStart = process.cpuUsage();
			const start = performance.now();
			if (index.query(query).length > 0) matched++;
			times.push(performance.now() - start);
			const cpu = process.cpuUsage(cpuStart);
			cpuTimes.push((cpu.user + cpu.system) / 1000);
		}
		times.sort((a, b) => a - b);
		cpuTimes.sort((a, b) => a - b);
		const memory = process.memoryUsage();
		console.log(
			`  ${mode.padEnd(14)} build ${(buildMs / 1000).toFixed(2)} s; query P50 ${percentile(times, 50).toFixed(3)} ms  ` +
				`P95 ${percentile(times, 95).toFixed(3)} ms  P99 ${percentile(times, 99).toFixed(3)} ms  max ${times[times.length - 1].toFixed(2)} ms  ` +
				`(CPU P99 ${percentile(cpuTimes, 99).toFixed(3)} ms; ${matched} queries matched)  heap ${mb(memory.heapUsed)}  RSS ${mb(memory.rss)}`,
		);
	}
}

async function indexLoad(records: UnifiedRecord[]): Promise<void> {
	const dir = mkdtempSync(join(os.tmpdir(), 'matching-bench-'));
	const store = await openStateStore({ backend: 'embedded', path: join(dir, 'state.sqlite'), namespace: 'bench' });
	try {
		const index = new MatchIndex();
		for (const record of records) index.upsert(record);
		let start = performance.now();
		await index.flush(store);
		const flushMs = performance.now() - start;
		start = performance.now();
		const loaded = await MatchIndex.load(store);
		const loadMs = performance.now() - start;
		// What a node execution pays when the index is already in memory: catching up with the change log.
		const writer = await MatchIndex.load(store);
		for (const record of records.slice(0, 100)) writer.upsert({ ...record, email: `changed.${String(record.email)}` });
		await writer.flush(store);
		start = performance.now();
		await loaded.refresh(store);
		const refreshMs = performance.now() - start;
		console.log(
			`\nIndex persistence (embedded store): flush ${loaded.size} records ${(flushMs / 1000).toFixed(2)} s; ` +
				`load and rebuild ${(loadMs / 1000).toFixed(2)} s (first node execution in a process); ` +
				`refresh after another process changed 100 records ${refreshMs.toFixed(1)} ms (later executions)`,
		);
	} finally {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	}
}

export async function run(): Promise<void> {
	console.log(`# matching bench — Node ${process.version}, os.cpus().length = ${os.cpus().length}`);
	accuracy(generateLabelledSet({ entities: 5000, seed: 1 }));
	const set = fiftyThousand();
	batchSpeed(set);
	indexLatency(set.records);
	await indexLoad(set.records);
	console.log(`\nload average (1/5/15 min): ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} — wall times above include other processes' load`);
}

if (require.main === module) void run();
