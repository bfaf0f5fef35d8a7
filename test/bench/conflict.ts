// Conflict resolution and state store benchmark.
//
// 1. Auto-resolved share per strategy on a generated workload of sync events between five CRMs:
//    most events change one CRM only; a share of them meet a concurrent edit in the target since
//    the last sync (mostly to other fields, sometimes to the same field, sometimes to the same
//    value), with clock skew, CRMs without per-field timestamps, missing timestamps, consent
//    changes and deletes. The brief's target: >= 95% auto-resolved, <= 5% to manual review.
// 2. StateStore throughput for 50K records on both backends (embedded SQLite file, real Redis).

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { resolveConflict, STRATEGIES, type ConflictInput, type ConflictOptions, type StrategyName } from '../../lib/conflict';
import { CRM_NAMES, type CrmName, type UnifiedRecord } from '../../lib/model';
import { openStateStore, type Snapshot, type StateStore, type StateStoreConfig } from '../../lib/state';
import { startRedisServer } from '../lib/state/redis-server';

// ---- workload parameters (stated in the output) ----
const EVENTS = 10_000;
const RECORDS = 2_000;
/** Share of events whose target record was also edited since the last sync. */
const CONCURRENT_SHARE = 0.2;
/** Of concurrent edits: share that touch (at least) one of the same fields. */
const SAME_FIELD_SHARE = 0.15;
/** Of same-field edits: share that set the same value (both fixed the same typo, same stage). */
const SAME_VALUE_SHARE = 0.25;
const DELETE_SHARE = 0.01;
const CONSENT_SHARE = 0.02;
/** Records opted out at the last sync whose source now shows an opt-in (re-subscribe or stale data). */
const REOPT_IN_SHARE = 0.01;
const MISSING_TIMESTAMP_SHARE = 0.02;
const CLOCK_SKEW_MS = 800;
/** CRMs whose change events carry per-field modification times. */
const PER_FIELD_TIMES = new Set<CrmName>(['hubspot', 'dynamics']);

const EDITABLE = ['firstName', 'lastName', 'phone', 'mobilePhone', 'company', 'title', 'website', 'leadSource', 'status', 'street', 'city', 'state', 'postalCode', 'country', 'ownerId'];

/** Deterministic PRNG so runs are comparable. */
function prng(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function pick<T>(rand: () => number, values: readonly T[]): T {
	return values[Math.floor(rand() * values.length)];
}

function sample<T>(rand: () => number, values: readonly T[], n: number): T[] {
	const copy = [...values];
	const out: T[] = [];
	while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(rand() * copy.length), 1)[0]);
	return out;
}

function baseRecord(i: number): UnifiedRecord {
	return {
		email: `person${i}@example${i % 97}.com`,
		firstName: `First${i}`,
		lastName: `Last${i}`,
		phone: `+1415555${String(i).padStart(4, '0')}`,
		mobilePhone: null,
		company: `Company ${i % 300}`,
		title: pick(prng(i), ['CEO', 'CTO', 'VP Sales', 'Engineer', 'Buyer']),
		website: `https://example${i % 97}.com`,
		leadSource: 'Web',
		status: 'Open',
		street: `${i} Main St`,
		city: 'Oakland',
		state: 'CA',
		postalCode: '94607',
		country: 'US',
		ownerId: `owner-${i % 25}`,
		emailOptOut: false,
		doNotCall: false,
	};
}

interface Generated {
	input: ConflictInput;
	kind: 'plain' | 'concurrent-other' | 'concurrent-same-field' | 'concurrent-same-value' | 'delete' | 'delete-concurrent';
}

function generate(seed = 42): Generated[] {
	const rand = prng(seed);
	const syncedAt = Date.parse('2026-03-01T09:00:00Z');
	const events: Generated[] = [];
	for (let e = 0; e < EVENTS; e++) {
		const r = Math.floor(rand() * RECORDS);
		const record = baseRecord(r);
		const reOptIn = rand() < REOPT_IN_SHARE;
		if (reOptIn) record.emailOptOut = true;
		const source = pick(rand, CRM_NAMES);
		const target = pick(rand, CRM_NAMES.filter((c) => c !== source));
		const base: Snapshot = { entity: 'contact', unifiedId: `u${r}`, record, fieldModifiedAt: {}, syncedAt: new Date(syncedAt).toISOString() };
		const sourceTime = syncedAt + 60_000 + Math.floor(rand() * 3_600_000);
		const targetEditTime = syncedAt + 60_000 + Math.floor(rand() * 3_600_000);
		const skew = () => Math.round((rand() * 2 - 1) * CLOCK_SKEW_MS);
		const stamp = (crm: CrmName, t: number) => (rand() < MISSING_TIMESTAMP_SHARE ? undefined : new Date(t + skew()).toISOString());

		const incoming: UnifiedRecord = { ...record };
		const changed = sample(rand, EDITABLE, 1 + Math.floor(rand() * 3));
		for (const f of changed) incoming[f] = `${String(record[f] ?? '')} ${source}-edit-${e}`.trim();
		if (rand() < CONSENT_SHARE) incoming.emailOptOut = true;
		if (reOptIn) incoming.emailOptOut = false;

		const targetRecord: UnifiedRecord = { ...record };
		let kind: Generated['kind'] = 'plain';
		let targetChanged: string[] = [];
		if (rand() < CONCURRENT_SHARE) {
			if (rand() < SAME_FIELD_SHARE) {
				const shared = pick(rand, changed);
				targetChanged = [shared];
				if (rand() < SAME_VALUE_SHARE) {
					targetRecord[shared] = incoming[shared];
					kind = 'concurrent-same-value';
				} else {
					targetRecord[shared] = `${String(record[shared] ?? '')} ${target}-edit-${e}`.trim();
					kind = 'concurrent-same-field';
				}
			} else {
				targetChanged = sample(rand, EDITABLE.filter((f) => !changed.includes(f)), 1 + Math.floor(rand() * 2));
				for (const f of targetChanged) targetRecord[f] = `${String(record[f] ?? '')} ${target}-edit-${e}`.trim();
				kind = 'concurrent-other';
			}
		}
		const perField = (crm: CrmName, fields: string[], t: number) =>
			PER_FIELD_TIMES.has(crm) && fields.length > 0 ? Object.fromEntries(fields.map((f) => [f, new Date(t + skew()).toISOString()])) : undefined;

		const isDelete = rand() < DELETE_SHARE;
		const input: ConflictInput = {
			entity: 'contact',
			unifiedId: `u${r}`,
			incoming: isDelete
				? { crm: source, deleted: true, modifiedAt: stamp(source, sourceTime) }
				: { crm: source, record: incoming, modifiedAt: stamp(source, sourceTime), fieldModifiedAt: perField(source, changed, sourceTime) },
			target: {
				crm: target,
				record: targetRecord,
				modifiedAt: targetChanged.length > 0 ? stamp(target, targetEditTime) : new Date(syncedAt).toISOString(),
				fieldModifiedAt: perField(target, targetChanged, targetEditTime),
			},
			base,
		};
		events.push({ input, kind: isDelete ? (targetChanged.length > 0 ? 'delete-concurrent' : 'delete') : kind });
	}
	return events;
}

function optionsFor(strategy: StrategyName): ConflictOptions {
	return {
		strategy,
		crmPriority: ['salesforce', 'hubspot', 'dynamics', 'zoho', 'pipedrive'],
		winningCrm: 'salesforce',
		fieldRules: { ownerId: 'priority', status: 'target', title: 'newest' },
	};
}

function benchConflicts(): void {
	const events = generate();
	const kinds = new Map<string, number>();
	for (const e of events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
	console.log(`\nConflict resolution: ${EVENTS} events over ${RECORDS} contacts between ${CRM_NAMES.length} CRMs`);
	console.log(
		`  workload: ${CONCURRENT_SHARE * 100}% concurrent target edits (${SAME_FIELD_SHARE * 100}% of them to a same field, ${SAME_VALUE_SHARE * 100}% of those to the same value), ` +
			`${DELETE_SHARE * 100}% deletes, ${CONSENT_SHARE * 100}% opt-outs, ${REOPT_IN_SHARE * 100}% opt-ins over a synced opt-out, ${MISSING_TIMESTAMP_SHARE * 100}% missing timestamps, ±${CLOCK_SKEW_MS} ms clock skew, per-field times from ${[...PER_FIELD_TIMES].join(' and ')}`,
	);
	console.log(`  event kinds: ${[...kinds.entries()].map(([k, n]) => `${k} ${n}`).join(', ')}`);
	console.log('  strategy               auto-resolved  to review  true conflicts  consent guarded  actions                                  resolves/s');
	for (const strategy of STRATEGIES) {
		const options = optionsFor(strategy);
		let review = 0;
		let withConflict = 0;
		let consent = 0;
		const actions = new Map<string, number>();
		const started = process.hrtime.bigint();
		for (const e of events) {
			const r = resolveConflict(e.input, options);
			if (r.needsReview) review++;
			if (r.conflicts.length > 0) withConflict++;
			if (r.decisions.some((d) => d.consentGuard)) consent++;
			actions.set(r.action, (actions.get(r.action) ?? 0) + 1);
		}
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		const pct = (n: number) => `${((n / events.length) * 100).toFixed(2)}%`;
		console.log(
			`  ${strategy.padEnd(22)} ${pct(events.length - review).padStart(13)}  ${pct(review).padStart(9)}  ${pct(withConflict).padStart(14)}  ${String(consent).padStart(15)}  ${[...actions.entries()]
				.map(([a, n]) => `${a} ${n}`)
				.join(', ')
				.padEnd(40)} ${Math.round(events.length / seconds)
				.toString()
				.padStart(10)}`,
		);
	}
}

// ---- store throughput ----

const STORE_RECORDS = 50_000;
const BATCH = 500;

async function timed(label: string, ops: number, fn: () => Promise<void>): Promise<void> {
	const started = process.hrtime.bigint();
	await fn();
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	console.log(`  ${label.padEnd(52)} ${String(Math.round(ops / seconds)).padStart(9)} ops/s  (${seconds.toFixed(2)} s)`);
}

async function benchStore(name: string, store: StateStore): Promise<void> {
	console.log(`\nStateStore ${name}: ${STORE_RECORDS} records, batches of ${BATCH}`);
	const ids = Array.from({ length: STORE_RECORDS }, (_, i) => `u${i}`);
	const batches = <T>(values: T[]) => Array.from({ length: Math.ceil(values.length / BATCH) }, (_, i) => values.slice(i * BATCH, (i + 1) * BATCH));
	await timed('cross-refs linkMany (2 CRMs per record)', STORE_RECORDS * 2, async () => {
		for (const chunk of batches(ids)) {
			await store.linkMany(chunk.flatMap((u, i) => [
				{ entity: 'contact' as const, unifiedId: u, crm: 'hubspot' as const, recordId: `hs-${u}` },
				{ entity: 'contact' as const, unifiedId: u, crm: 'salesforce' as const, recordId: `003${i}${u}` },
			]));
		}
	});
	await timed('cross-refs findUnifiedIds (reverse, batched)', STORE_RECORDS, async () => {
		for (const chunk of batches(ids)) await store.findUnifiedIds('contact', 'hubspot', chunk.map((u) => `hs-${u}`));
	});
	await timed('cross-refs getCrossRefs (batched)', STORE_RECORDS, async () => {
		for (const chunk of batches(ids)) await store.getCrossRefs('contact', chunk);
	});
	const snapshots: Snapshot[] = ids.map((u, i) => ({
		entity: 'contact',
		unifiedId: u,
		record: baseRecord(i),
		fieldModifiedAt: { email: '2026-03-01T09:00:00.000Z' },
		syncedAt: '2026-03-01T09:00:00.000Z',
	}));
	await timed('snapshots putSnapshots (18 fields, batched)', STORE_RECORDS, async () => {
		for (const chunk of batches(snapshots)) await store.putSnapshots(chunk);
	});
	await timed('snapshots getSnapshots (batched)', STORE_RECORDS, async () => {
		for (const chunk of batches(ids)) await store.getSnapshots('contact', chunk);
	});
	await timed('idempotency claimIdempotencyKeys (batched)', STORE_RECORDS, async () => {
		for (const chunk of batches(ids)) await store.claimIdempotencyKeys(chunk.map((u) => `evt-${u}`), 3_600_000);
	});
	const singles = 5_000;
	await timed(`idempotency claimIdempotencyKey (single, ${singles} sequential)`, singles, async () => {
		for (let i = 0; i < singles; i++) await store.claimIdempotencyKey(`single-${i}`, 3_600_000);
	});
	await timed(`snapshot getSnapshot (single, ${singles} sequential)`, singles, async () => {
		for (let i = 0; i < singles; i++) await store.getSnapshot('contact', ids[(i * 7919) % STORE_RECORDS]);
	});
}

export async function run(): Promise<void> {
	console.log(`# Conflict resolution and state store benchmark (os.cpus().length = ${os.cpus().length}, Node ${process.version})`);
	benchConflicts();

	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bench-state-'));
	const configs: Array<[string, () => StateStoreConfig]> = [['embedded (node:sqlite, WAL, file on local disk)', () => ({ backend: 'embedded', path: path.join(dir, 'state.sqlite'), namespace: randomUUID() })]];
	const redis = await startRedisServer();
	configs.push(['redis (ioredis, local redis-server)', () => ({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: randomUUID() })]);
	try {
		for (const [name, config] of configs) {
			const store = await openStateStore(config());
			try {
				await benchStore(name, store);
			} finally {
				await store.clearNamespace();
				await store.close();
			}
		}
	} finally {
		await redis.stop();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

if (require.main === module) {
	run().catch((error) => {
		console.error(error);
		process.exitCode = 1;
	});
}
