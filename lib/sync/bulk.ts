// Bulk sync without n8n: one job copies a source CRM's changes to target CRMs, in three steps that
// each run in their own Unified CRM Upsert node (each node holds one CRM's credential):
//
//   readSourceToSpool   source changes, page by page (lib/polling: cursor, overlap, de-dup),
//                       mapped to unified, deduplicated within the page, spooled in the state store
//   writeSpoolToTarget  per target: spool page by page → UpsertWriter (cross-references, snapshots,
//                       echo fingerprints), in batches
//   finishJob           summary, sync-history entry, spool dropped
//
// Memory stays bounded (one page at a time, nothing accumulates in n8n items), and every page is
// checkpointed in the state store, so a run killed at any point is resumed by the next run:
// - reading: the spool page and the job's position are one atomic write, made before the source
//   position is committed; if the process dies between the two, the next read gets the same page
//   again (same first event id) and only commits it;
// - writing: a target's next page is stored after each page; a page cut short is written again,
//   which upserts the same records (by cross-reference or email): nothing is duplicated. Records
//   without an email are created under a claim in the state store (see "records without an email").
//
// Each step holds the job's lease (a lock in the state store, renewed while the step runs). A
// second run of the same job waits for it for 1.5 × BULK_LEASE_MS: a run that died (n8n killed or
// restarted) leaves its lease to expire within that, and the new run resumes the job; a live run
// keeps renewing it, and the second run fails with "in progress" (see "lease").

import { randomUUID } from 'node:crypto';

import type { CrmConnector } from '../connectors/types';
import { unifiedValues } from '../events/echo';
import { METADATA_ENTITIES } from '../mapping';
import { chooseMaster, normaliseEmail } from '../matching';
import { CRM_NAMES, type CrmName, type EntityType, type UnifiedRecord } from '../model';
import { PollPosition, pollChanges, type PollMode } from '../polling';
import { syncIdentity } from '../state/identity';
import { LockTimeoutError, withLock } from '../state/lock';
import type { CrossRefLink, StateStore } from '../state/types';
import { BULK_COLLECTION, BULK_POLL_COLLECTION, BULK_POLL_FULL_COLLECTION } from './collections';
import { createOnce, planCreates } from './create-once';
import { ACCOUNT_MATCH_KEY } from './account-match';
import { resolveReferences } from './associations';
import { crmMetadata, type MetadataSettings } from './crm-metadata';
import { Spool } from './spool';
import { UpsertWriter, type InputItem, type ItemResult, type WriteJob } from './upsert-writer';

export const BULK_MODES = ['incremental', 'full', 'force-overwrite'] as const;
export type BulkMode = (typeof BULK_MODES)[number];
export const DEFAULT_PAGE_SIZE = 1000;
/** Batches of one page written to a target at the same time (pages themselves go in order). */
export const DEFAULT_WRITE_CONCURRENCY = 4;
/** How long the lease of a run that died keeps other runs out (a live run renews it every third of this). */
export const BULK_LEASE_MS = 60_000;
/** How long a second run waits for the lease: longer than a dead run's lease lives. */
const leaseWaitMs = (leaseMs: number) => Math.round(leaseMs * 1.5);

export interface BulkSettings {
	mode: BulkMode;
	/** ISO date: start from here when there is no stored position (incremental) or always (full). */
	since?: string;
	/** Read and map, report what would be written; no CRM writes, no sync state, no source position. */
	dryRun: boolean;
	/** Records per CRM API call (capped at the CRM's maximum). */
	batchSize?: number;
	/** Stop reading after this many source changes (0 = all); the next run goes on from there. */
	maxRecords?: number;
	/** Source records per spool page. */
	pageSize?: number;
}

export interface TargetStats {
	/** Records handed to this target (spooled records not from this CRM). */
	processed: number;
	created: number;
	updated: number;
	unchanged: number;
	failed: number;
	/** Dry run: records that would be written. */
	wouldWrite: number;
	/** Spooled records that came from this CRM itself. */
	skippedOwn: number;
	/** Records written without a reference (e.g. their account) that has no record in this CRM yet. */
	referencesDropped?: number;
	durationMs: number;
}

export interface TargetProgress {
	/** Next spool page to write. */
	nextPage: number;
	done: boolean;
	stats: TargetStats;
	startedAt: string;
	finishedAt?: string;
}

export interface ReadStats {
	/** New source changes handled (spooled, deletions and echoes). */
	changes: number;
	/** Records spooled for the targets. */
	spooled: number;
	/** Records folded into another record of the same page with the same email. */
	mergedDuplicates: number;
	/** Deletions and merges in the source: counted, not propagated (the contact sync does that). */
	deletedInSource: number;
	/** Changes recognised as echoes of this package's own writes (incremental runs). */
	echoes: number;
	durationMs: number;
}

export interface BulkJob {
	v: 1;
	id: string;
	source: CrmName;
	entity: EntityType;
	mode: BulkMode;
	since?: string;
	dryRun: boolean;
	batchSize?: number;
	maxRecords?: number;
	pageSize: number;
	targets: CrmName[];
	status: 'reading' | 'read' | 'finished';
	startedAt: string;
	/** Spool pages written. */
	pages: number;
	read: ReadStats;
	/** First event id and size of the newest spool page (recognises a page read again after a crash). */
	lastPage?: { firstEventId: string; size: number };
	progress: Partial<Record<CrmName, TargetProgress>>;
	/** Times this job was picked up again after an interrupted run. */
	resumed: number;
	/**
	 * The run (n8n execution) that owns the job. A later run takes it over (the earlier one may have
	 * died with n8n); the earlier one's nodes stop at their next checkpoint, so two never write on.
	 */
	owner?: string;
}

export interface SpooledRecord {
	unifiedId: string;
	source: CrmName;
	recordId: string;
	record: UnifiedRecord;
	/** Source ids of same-email records folded into this one. */
	mergedRecordIds?: string[];
}

export interface BulkSummary {
	jobId: string;
	source: CrmName;
	entity: EntityType;
	mode: BulkMode;
	dryRun: boolean;
	/** Source changes processed. */
	processed: number;
	/** Sums over the targets. */
	created: number;
	updated: number;
	unchanged: number;
	failed: number;
	wouldWrite: number;
	durationMs: number;
	/** Source records per second over the whole job. */
	recordsPerSecond: number;
	read: ReadStats;
	targets: Partial<Record<CrmName, TargetStats>>;
	startedAt: string;
	finishedAt: string;
	resumed: number;
}

/** What failed for one record in one target (the node sends it to the Errors output). */
export interface BulkFailure {
	jobId: string;
	target: CrmName;
	source: CrmName;
	recordId: string;
	unifiedId: string;
	error: string;
	category?: unknown;
	code?: unknown;
	fields?: unknown;
}

export type ProgressLog = (message: string) => void;

const jobKey = (source: CrmName, entity: EntityType, dryRun: boolean) => `job|${source}|${entity}|${dryRun ? 'dry' : 'live'}`;
const historyKey = (summary: BulkSummary) => `history|${summary.source}|${summary.entity}|${summary.finishedAt}|${summary.jobId}`;

function emptyTargetStats(): TargetStats {
	return { processed: 0, created: 0, updated: 0, unchanged: 0, failed: 0, wouldWrite: 0, skippedOwn: 0, durationMs: 0 };
}

export function parseBulkSettings(raw: Record<string, unknown>): BulkSettings {
	const mode = (raw.mode ?? 'incremental') as BulkMode;
	if (!BULK_MODES.includes(mode)) throw new Error(`Unknown bulk mode "${String(raw.mode)}" (use ${BULK_MODES.join(', ')})`);
	const since = raw.since === undefined || raw.since === null || raw.since === '' ? undefined : String(raw.since);
	if (since !== undefined && !Number.isFinite(Date.parse(since))) throw new Error(`"since" is not a date: ${since}`);
	const count = (name: string): number | undefined => {
		const value = raw[name];
		if (value === undefined || value === null || value === '') return undefined;
		const n = Number(value);
		if (!Number.isInteger(n) || n < 0) throw new Error(`"${name}" must be a whole number >= 0, got ${JSON.stringify(value)}`);
		return n || undefined;
	};
	const dryRun = raw.dryRun === true || raw.dryRun === 'true';
	return { mode, since: since ? new Date(since).toISOString() : undefined, dryRun, batchSize: count('batchSize'), maxRecords: count('maxRecords'), pageSize: count('pageSize') };
}

export async function loadJob(store: StateStore, source: CrmName, entity: EntityType, dryRun: boolean): Promise<BulkJob | undefined> {
	const job = await store.kvGet<BulkJob>(BULK_COLLECTION, jobKey(source, entity, dryRun));
	return job?.v === 1 ? job : undefined;
}

async function saveJob(store: StateStore, job: BulkJob): Promise<void> {
	await store.kvPut(BULK_COLLECTION, jobKey(job.source, job.entity, job.dryRun), job);
}

/** The job's source records, spooled page by page. */
function spoolOf(store: StateStore, jobId: string): Spool<SpooledRecord> {
	return new Spool(store, BULK_COLLECTION, jobId);
}

function pollMode(job: BulkJob): PollMode {
	if (job.mode !== 'incremental') return 'full';
	return job.since ? 'since' : 'incremental';
}

// ---------------------------------------------------------------- read

export interface ReadOptions {
	entity: EntityType;
	settings: BulkSettings;
	/** Targets the job is written to; default: every CRM but the source. */
	targets?: CrmName[];
	/** Id of this run (n8n execution id): it takes the job over. */
	owner?: string;
	log?: ProgressLog;
	/** Lease lifetime (default BULK_LEASE_MS). */
	leaseMs?: number;
	/** The source's stage overrides and default owner (deals). */
	metadata?: MetadataSettings;
}

/**
 * Starts a job (or resumes the unfinished one of this source and entity) and reads the source's
 * changes into the spool. Returns the job once everything is read.
 */
export async function readSourceToSpool(connector: CrmConnector, store: StateStore, options: ReadOptions): Promise<BulkJob> {
	const run = { source: connector.crm, entity: options.entity, dryRun: options.settings.dryRun, owner: options.owner, leaseMs: options.leaseMs };
	return underLease(store, run, 'reading', (signal) => readLeased(connector, store, options, signal));
}

async function readLeased(connector: CrmConnector, store: StateStore, options: ReadOptions, signal: AbortSignal): Promise<BulkJob> {
	const source = connector.crm;
	const { entity, settings } = options;
	const log = options.log ?? (() => undefined);
	let job = await loadJob(store, source, entity, settings.dryRun);
	if (job && job.status !== 'finished' && !settings.dryRun) {
		job.resumed++;
		job.owner = options.owner;
		await saveJob(store, job);
		log(`bulk ${job.id}: resuming (${job.status}, ${job.pages} pages spooled${Object.entries(job.progress).map(([crm, p]) => `, ${crm} at page ${p!.nextPage}`).join('')})`);
	} else {
		// A dry run's position lived in memory only: an interrupted dry run starts over.
		if (job && job.status !== 'finished') await spoolOf(store, job.id).drop();
		const targets = options.targets?.length ? [...new Set(options.targets)] : CRM_NAMES.filter((crm) => crm !== source);
		if (targets.includes(source)) throw new Error(`The source ${source} cannot also be a target`);
		job = {
			v: 1,
			id: randomUUID(),
			source,
			entity,
			mode: settings.mode,
			since: settings.since,
			dryRun: settings.dryRun,
			batchSize: settings.batchSize,
			maxRecords: settings.maxRecords,
			pageSize: settings.pageSize ?? DEFAULT_PAGE_SIZE,
			targets,
			status: 'reading',
			startedAt: new Date().toISOString(),
			pages: 0,
			read: { changes: 0, spooled: 0, mergedDuplicates: 0, deletedInSource: 0, echoes: 0, durationMs: 0 },
			progress: {},
			resumed: 0,
			owner: options.owner,
		};
		await saveJob(store, job);
		log(`bulk ${job.id}: ${job.mode}${job.since ? ` since ${job.since}` : ''}${job.dryRun ? ' (dry run)' : ''}, ${source} → ${job.targets.join(', ')}`);
	}
	if (job.status !== 'reading') return job;

	// Bulk's own source position, apart from the poll trigger's (neither moves the other's), and a full
	// sweep's apart from the incremental one's; a dry run never moves it.
	const position = new PollPosition(store, pollMode(job) === 'full' ? BULK_POLL_FULL_COLLECTION : BULK_POLL_COLLECTION, job.dryRun);
	// Deals and companies are read with the source's stages and users (lib/mapping/metadata.ts), as the webhook trigger reads them.
	const metadata = METADATA_ENTITIES.includes(entity) ? await crmMetadata(connector, options.metadata) : undefined;
	for (;;) {
		const remaining = job.maxRecords ? job.maxRecords - job.read.changes : Infinity;
		if (remaining <= 0) break;
		const batch = await pollChanges(connector, store, {
			entity,
			mode: pollMode(job),
			since: job.since,
			maxRecords: Math.min(job.pageSize, remaining),
			pageSize: job.pageSize,
			// A full sweep copies every record, our own earlier writes included; a dry run consumes nothing.
			dropEchoes: job.mode === 'incremental' && !job.dryRun,
			position,
			metadata,
		});
		const firstEventId = batch.events[0]?.eventId;
		const alreadySpooled = firstEventId !== undefined && job.lastPage?.firstEventId === firstEventId && job.lastPage.size === batch.events.length;
		if (!alreadySpooled) {
			const fresh = batch.read - batch.dropped.duplicates;
			const { records, merged, deleted } = await spoolPage(store, job, batch.events);
			job.read.changes += fresh;
			job.read.echoes += batch.dropped.echoes;
			job.read.deletedInSource += deleted;
			job.read.mergedDuplicates += merged;
			const entries: Array<{ key: string; value: unknown }> = [];
			if (records.length) {
				entries.push(spoolOf(store, job.id).entry(job.pages, records));
				job.pages++;
				job.read.spooled += records.length;
			}
			if (firstEventId !== undefined) job.lastPage = { firstEventId, size: batch.events.length };
			entries.push({ key: jobKey(job.source, job.entity, job.dryRun), value: job });
			// Spool page and job position together; the source position only after them.
			signal.throwIfAborted();
			await store.kvPutMany(BULK_COLLECTION, entries);
		}
		signal.throwIfAborted();
		await batch.commit();
		log(`bulk ${job.id}: read ${job.read.changes} changes from ${source}, ${job.read.spooled} spooled in ${job.pages} pages${batch.hasMore ? '' : ' (caught up)'}`);
		if (!batch.hasMore) break;
	}
	job.status = 'read';
	job.read.durationMs = Date.now() - Date.parse(job.startedAt);
	signal.throwIfAborted();
	await saveJob(store, job);
	return job;
}

/** Maps one page of changes to unified records with their unified ids, folding same-email records together. */
async function spoolPage(store: StateStore, job: BulkJob, events: Awaited<ReturnType<typeof pollChanges>>['events']): Promise<{ records: SpooledRecord[]; merged: number; deleted: number }> {
	let deleted = 0;
	const changed: Array<{ recordId: string; record: UnifiedRecord }> = [];
	const seen = new Map<string, number>();
	for (const event of events) {
		if (event.operation === 'delete' || event.operation === 'merge' || !event.record) {
			deleted++;
			continue;
		}
		const unified = unifiedValues(job.source, job.entity, event.record);
		// A record changed twice within the page: its latest version wins.
		const at = seen.get(event.recordId);
		if (at !== undefined) changed[at] = { recordId: event.recordId, record: unified };
		else {
			seen.set(event.recordId, changed.length);
			changed.push({ recordId: event.recordId, record: unified });
		}
	}
	const known = await store.findUnifiedIds(job.entity, job.source, changed.map((c) => c.recordId));
	const links: CrossRefLink[] = [];
	const withIds = changed.map((c) => {
		let unifiedId = known.get(c.recordId);
		if (!unifiedId) {
			unifiedId = syncIdentity(job.source, c.recordId);
			links.push({ entity: job.entity, unifiedId, crm: job.source, recordId: c.recordId });
		}
		return { unifiedId, source: job.source, recordId: c.recordId, record: c.record };
	});
	if (links.length && !job.dryRun) await store.linkMany(links);
	const { records, merged } = foldSameEmail(withIds);
	return { records, merged, deleted };
}

/**
 * Within-batch dedupe: records sharing a normalised email would land on one record in every target
 * (the upsert matches by email), so they are written once: the most complete one, with empty
 * fields filled from the others. Fuzzier duplicates (nicknames, typos) are the Duplicate
 * Detector's business: merging them here would write fewer records than the source holds.
 */
export function foldSameEmail(records: SpooledRecord[]): { records: SpooledRecord[]; merged: number } {
	const groups = new Map<string, number[]>();
	records.forEach((r, i) => {
		const email = normaliseEmail(r.record.email);
		if (!email) return;
		const group = groups.get(email);
		if (group) group.push(i);
		else groups.set(email, [i]);
	});
	const drop = new Set<number>();
	let merged = 0;
	for (const members of groups.values()) {
		if (members.length < 2) continue;
		const master = members[chooseMaster(members.map((i) => records[i].record))];
		const record: UnifiedRecord = { ...records[master].record };
		for (const i of members) {
			if (i === master) continue;
			for (const [field, value] of Object.entries(records[i].record)) if (isEmpty(record[field]) && !isEmpty(value)) record[field] = value;
			drop.add(i);
			merged++;
		}
		records[master] = { ...records[master], record, mergedRecordIds: members.filter((i) => i !== master).map((i) => records[i].recordId) };
	}
	return { records: drop.size ? records.filter((_, i) => !drop.has(i)) : records, merged };
}

function isEmpty(value: unknown): boolean {
	return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

// ---------------------------------------------------------------- write

export interface WriteOptions {
	source: CrmName;
	entity: EntityType;
	jobId: string;
	dryRun: boolean;
	/** Id of this run; the job must still be owned by it at every checkpoint. */
	owner?: string;
	/** Batches of a page in flight at once (default 4). */
	concurrency?: number;
	log?: ProgressLog;
	/** Called with each page's per-record failures (so they need not be kept). */
	onFailures?: (failures: BulkFailure[]) => void;
	/** Lease lifetime (default BULK_LEASE_MS). */
	leaseMs?: number;
	/** Each target's stage overrides and default owner (deals). */
	metadataByCrm?: Partial<Record<CrmName, MetadataSettings>>;
}

/** A target of a bulk job and how to reach it. */
export interface BulkTarget {
	crm: CrmName;
	connector: () => CrmConnector;
}

/** Writes the job's spool to one target, page by page from its checkpoint. Returns the target's totals. */
export async function writeSpoolToTarget(target: CrmName, connector: () => CrmConnector, store: StateStore, options: WriteOptions): Promise<{ job: BulkJob; stats: TargetStats }> {
	const { job, stats } = await writeSpoolToTargets([{ crm: target, connector }], store, options);
	return { job, stats: stats[target]! };
}

/**
 * Writes the job's spool to several targets at the same time (each CRM has its own limits), each
 * page by page from its own checkpoint, under the job's one lease. A target that fails stops at its
 * checkpoint; the others finish, then the first failure is thrown.
 */
export async function writeSpoolToTargets(targets: BulkTarget[], store: StateStore, options: WriteOptions): Promise<{ job: BulkJob; stats: Partial<Record<CrmName, TargetStats>> }> {
	const run = { source: options.source, entity: options.entity, dryRun: options.dryRun, owner: options.owner, leaseMs: options.leaseMs };
	return underLease(store, run, `writing to ${targets.map((t) => t.crm).join(', ')}`, async (signal) => {
		const job = await currentJob(store, options);
		for (const { crm } of targets) if (!job.targets.includes(crm)) throw new Error(`${crm} is not a target of bulk job ${job.id} (targets: ${job.targets.join(', ')})`);
		// One job object for all targets: each keeps its own progress in it, and every checkpoint stores them all.
		const settled = await Promise.allSettled(targets.map(({ crm, connector }) => writeTarget(job, crm, connector, store, options, signal)));
		const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
		if (failed) throw failed.reason;
		return { job, stats: Object.fromEntries(targets.map(({ crm }) => [crm, job.progress[crm]!.stats])) };
	});
}

/** The job `options` names, once it has been read: the one every write step works on. */
async function currentJob(store: StateStore, options: WriteOptions): Promise<BulkJob> {
	const job = await loadJob(store, options.source, options.entity, options.dryRun);
	if (!job || job.id !== options.jobId) throw new Error(`Bulk job ${options.jobId} is not the current ${options.source} ${options.entity} job (run "Bulk: Read Source Changes" first)`);
	if (job.status === 'reading') throw new Error(`Bulk job ${job.id} has not finished reading ${job.source}`);
	return job;
}

async function writeTarget(job: BulkJob, target: CrmName, connector: () => CrmConnector, store: StateStore, options: WriteOptions, signal: AbortSignal): Promise<void> {
	const log = options.log ?? (() => undefined);
	let progress = job.progress[target];
	if (!progress) {
		progress = { nextPage: 0, done: false, stats: emptyTargetStats(), startedAt: new Date().toISOString() };
		job.progress[target] = progress;
	}
	if (job.status === 'finished' || progress.done) return;
	if (options.owner !== undefined && job.owner !== undefined && job.owner !== options.owner) throw new Error(takenOver(job));

	const writeJob: WriteJob = {
		crm: target,
		entity: job.entity,
		operation: 'upsert',
		inputFormat: 'unified',
		matchKey: BULK_MATCH_KEY[job.entity] ?? '',
		dryRun: job.dryRun,
		batchSize: job.batchSize,
		unchangedAgainst: job.mode === 'force-overwrite' ? 'nothing' : 'snapshot',
		recordEchoes: true,
		// A whole-call failure (auth, outage, throttled past retries) stops the job at its checkpoint instead of failing records.
		continueOnFail: false,
		recordState: !job.dryRun,
		metadata: options.metadataByCrm?.[target],
	};
	const upserts = new UpsertWriter(writeJob, connector, async () => store);
	const creates = new UpsertWriter({ ...writeJob, operation: 'create' }, connector, async () => store);
	// A CRM without batch writes (Pipedrive) gets the whole page in one call: it reads its list once to
	// match the page (one read per call, so more calls would re-read it) and writes in parallel itself.
	const concurrency = Math.max(1, options.concurrency ?? (connector().maxBatchSize(job.entity, 'upsert') === 1 ? 1 : DEFAULT_WRITE_CONCURRENCY));
	const started = Date.now();
	const before = progress.stats.durationMs;
	const spool = spoolOf(store, job.id);
	for (let page = progress.nextPage; page < job.pages; page++) {
		signal.throwIfAborted();
		const spooled = await spool.read(page);
		const mine = spooled.filter((r) => r.source !== target);
		const stats = progress.stats;
		stats.skippedOwn += spooled.length - mine.length;
		stats.processed += mine.length;
		// Reference ids (a contact's account) translated to the target's through the cross-reference; owners dropped.
		const resolved = await resolveReferences(store, mine.map((r) => ({ source: r.source, recordId: r.recordId, record: r.record })), { entity: job.entity, target });
		const items: InputItem[] = mine.map((r, index) => ({ index, record: resolved[index].record, unifiedId: r.unifiedId }));
		stats.referencesDropped = (stats.referencesDropped ?? 0) + resolved.filter((r) => r.missing.length).length;
		// Records without an email and not linked in this target yet cannot be upserted: they are created
		// once, under a claim (createOnce, below). A dry run counts them with the rest and claims nothing.
		const plan = job.dryRun ? { upsert: items, create: [], interrupted: [] } : await planPage(store, job, target, items);
		// Batches of one page at once: the page has no two records with one email (foldSameEmail), so they cannot race.
		const size = Math.ceil(plan.upsert.length / concurrency) || 1;
		const runs: Array<Promise<ItemResult[]>> = [];
		for (let i = 0; i < plan.upsert.length; i += size) runs.push(upserts.run(plan.upsert.slice(i, i + size)));
		// The few creates after the page's upserts: a claim is open only briefly, at the end of the page.
		const results = [...(await Promise.all(runs)).flat(), ...plan.interrupted, ...(await createOnce(store, creates, `bulk job ${job.id}`, target, job.entity, plan.create))];
		const failures: BulkFailure[] = [];
		for (const result of results) {
			const status = result.json.status;
			if (!result.ok) {
				stats.failed++;
				const r = mine[result.index];
				failures.push({ jobId: job.id, target, source: r.source, recordId: r.recordId, unifiedId: r.unifiedId, error: String(result.json.error), category: result.json.category, code: result.json.code, fields: result.json.fields });
			} else if (status === 'created') stats.created++;
			else if (status === 'updated') stats.updated++;
			else if (status === 'unchanged') stats.unchanged++;
			else if (status === 'dryRun') stats.wouldWrite++;
		}
		if (failures.length) options.onFailures?.(failures);
		progress.nextPage = page + 1;
		stats.durationMs = before + Date.now() - started;
		signal.throwIfAborted();
		await assertOwner(store, job);
		await saveJob(store, job);
		log(`bulk ${job.id}: ${target} page ${page + 1}/${job.pages}: ${stats.created} created, ${stats.updated} updated, ${stats.unchanged} unchanged, ${stats.failed} failed${job.dryRun ? `, ${stats.wouldWrite} would be written` : ''}`);
	}
	progress.done = true;
	progress.finishedAt = new Date().toISOString();
	progress.stats.durationMs = before + Date.now() - started;
	signal.throwIfAborted();
	await assertOwner(store, job);
	await saveJob(store, job);
}

// ---------------------------------------------------------------- records without an email
//
// The upsert matches by email, so a record without one has nothing to match on in the target. Linked
// there already (cross-reference), it is updated by id like any other record; otherwise it is
// created once, under a claim (lib/sync/create-once.ts), which a later job sees too.

function hasEmail(record: Record<string, unknown>): boolean {
	return !isEmpty(typeof record.email === 'string' ? record.email.trim() : record.email);
}

/** The entities bulk sync copies, in the order they depend on each other (a contact names its account, a deal both). */
export const BULK_ENTITIES: readonly EntityType[] = ['account', 'contact', 'opportunity'];

/** What a bulk write matches existing target records on: email; accounts by domain, then name; deals by nothing (linked, or created once). */
const BULK_MATCH_KEY: Partial<Record<EntityType, string>> = { contact: 'email', account: ACCOUNT_MATCH_KEY };

/** Can the target's existing record be found by the match key? */
function canMatch(entity: EntityType, record: Record<string, unknown>): boolean {
	if (entity === 'contact') return hasEmail(record);
	return entity === 'account';
}

/** Splits a page: upsert (matchable, or linked in the target), create (neither), interrupted (an open claim). */
async function planPage(store: StateStore, job: BulkJob, target: CrmName, items: InputItem[]): Promise<{ upsert: InputItem[]; create: InputItem[]; interrupted: ItemResult[] }> {
	const plan = await planCreates(store, target, job.entity, items.filter((item) => !canMatch(job.entity, item.record)));
	return { upsert: [...items.filter((item) => canMatch(job.entity, item.record)), ...plan.linked], create: plan.create, interrupted: plan.interrupted };
}

function takenOver(job: BulkJob): string {
	return `Bulk job ${job.id} was taken over by a later run (${job.owner}); this run stops here`;
}

/** Before a checkpoint: the job must still be ours (a later run may have taken it over). */
async function assertOwner(store: StateStore, job: BulkJob): Promise<void> {
	const current = await loadJob(store, job.source, job.entity, job.dryRun);
	if (current && current.id === job.id && current.owner !== job.owner) throw new Error(takenOver(current));
}

// ---------------------------------------------------------------- lease
//
// One run at a time per job (source, entity, live or dry run): every step runs under the job's lease.
// A second run fails fast rather than waiting: a step may take hours, and an n8n execution waiting
// that long would hold a worker and run into the workflow timeout; the message says what runs and
// since when, so the user (or the next scheduled run) retries later. Between two steps of one run
// the lease is free: a run started then takes the job over, and the earlier run stops at its next
// step (the job's owner, see assertOwner).

interface BulkRun {
	source: CrmName;
	entity: EntityType;
	dryRun: boolean;
	/** The n8n execution id of the run, when known. */
	owner?: string;
	leaseMs?: number;
}

/** Who holds a job's lease, for the "in progress" message. */
interface LeaseHolder {
	owner?: string;
	step: string;
	/** When this run took the lease first (kept across its steps). */
	startedAt: string;
}

/** The lock name of a job's lease. */
export const bulkLeaseResource = (source: CrmName, entity: EntityType, dryRun: boolean) => `bulk-run|${source}|${entity}|${dryRun ? 'dry' : 'live'}`;
const leaseResource = (run: BulkRun) => bulkLeaseResource(run.source, run.entity, run.dryRun);
const holderKey = (run: BulkRun) => `lease|${run.source}|${run.entity}|${run.dryRun ? 'dry' : 'live'}`;

/** A second run of a job while another one holds its lease. */
export class BulkRunInProgressError extends Error {
	constructor(run: BulkRun, jobId: string | undefined, holder: LeaseHolder | undefined) {
		const waitedS = Math.round(leaseWaitMs(run.leaseMs ?? BULK_LEASE_MS) / 1000);
		const by = holder ? ` (started ${holder.startedAt}${holder.owner ? ` by execution ${holder.owner}` : ''}, now ${holder.step})` : '';
		super(
			`A bulk run of job ${jobId ?? '(new)'} (${run.source} ${run.entity}${run.dryRun ? ', dry run' : ''}) is in progress${by}: ` +
				`it kept its lease for the ${waitedS} s this run waited. Run this again when it has finished.`,
		);
		this.name = 'BulkRunInProgressError';
	}
}

/** Runs one step holding the job's lease (renewed while it runs, released at its end); `work` must stop when `signal` aborts. */
async function underLease<T>(store: StateStore, run: BulkRun, step: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
	let leased = false;
	try {
		return await withLock(
			store,
			leaseResource(run),
			async (signal) => {
				leased = true;
				const previous = await store.kvGet<LeaseHolder>(BULK_COLLECTION, holderKey(run));
				const startedAt = previous && run.owner !== undefined && previous.owner === run.owner ? previous.startedAt : new Date().toISOString();
				await store.kvPut(BULK_COLLECTION, holderKey(run), { owner: run.owner, step, startedAt } satisfies LeaseHolder);
				return work(signal);
			},
			{ ttlMs: run.leaseMs ?? BULK_LEASE_MS, waitMs: leaseWaitMs(run.leaseMs ?? BULK_LEASE_MS) },
		);
	} catch (error) {
		if (leased || !(error instanceof LockTimeoutError)) throw error;
		const [job, holder] = await Promise.all([loadJob(store, run.source, run.entity, run.dryRun), store.kvGet<LeaseHolder>(BULK_COLLECTION, holderKey(run))]);
		throw new BulkRunInProgressError(run, job?.status === 'finished' ? undefined : job?.id, holder);
	}
}

// ---------------------------------------------------------------- finish

/** Sums up a fully written job, records it in the sync history and drops its spool. */
export async function finishJob(
	store: StateStore,
	source: CrmName,
	entity: EntityType,
	jobId: string,
	dryRun: boolean,
	options: { owner?: string; leaseMs?: number } = {},
): Promise<BulkSummary> {
	const run = { source, entity, dryRun, ...options };
	return underLease(store, run, 'finishing', (signal) => finishLeased(store, source, entity, jobId, dryRun, signal));
}

async function finishLeased(store: StateStore, source: CrmName, entity: EntityType, jobId: string, dryRun: boolean, signal: AbortSignal): Promise<BulkSummary> {
	const job = await loadJob(store, source, entity, dryRun);
	if (!job || job.id !== jobId) throw new Error(`Bulk job ${jobId} is not the current ${source} ${entity} job`);
	if (job.status === 'finished') {
		const done = await store.kvScan<BulkSummary>(BULK_COLLECTION, { prefix: `history|${source}|${entity}|`, limit: 5000 });
		const entry = done.items.find((e) => e.value.jobId === jobId);
		if (entry) return entry.value;
	}
	const unfinished = job.targets.filter((crm) => !job.progress[crm]?.done);
	if (job.status !== 'read' || unfinished.length) {
		throw new Error(`Bulk job ${job.id} is not complete: ${job.status === 'reading' ? `${source} not fully read` : `not yet written to ${unfinished.join(', ')}`}`);
	}
	const finishedAt = new Date().toISOString();
	const durationMs = Math.max(1, Date.parse(finishedAt) - Date.parse(job.startedAt));
	const targets = Object.fromEntries(job.targets.map((crm) => [crm, job.progress[crm]!.stats]));
	const sum = (field: 'created' | 'updated' | 'unchanged' | 'failed' | 'wouldWrite') => job.targets.reduce((total, crm) => total + job.progress[crm]!.stats[field], 0);
	const summary: BulkSummary = {
		jobId: job.id,
		source,
		entity,
		mode: job.mode,
		dryRun: job.dryRun,
		processed: job.read.changes,
		created: sum('created'),
		updated: sum('updated'),
		unchanged: sum('unchanged'),
		failed: sum('failed'),
		wouldWrite: sum('wouldWrite'),
		durationMs,
		recordsPerSecond: Math.round((job.read.changes / durationMs) * 1000 * 10) / 10,
		read: job.read,
		targets,
		startedAt: job.startedAt,
		finishedAt,
		resumed: job.resumed,
	};
	job.status = 'finished';
	signal.throwIfAborted();
	await store.kvPutMany(BULK_COLLECTION, [
		{ key: historyKey(summary), value: summary },
		{ key: jobKey(source, entity, dryRun), value: job },
	]);
	await spoolOf(store, job.id).drop();
	return summary;
}

/** The sync history, newest first. */
export async function listSyncHistory(store: StateStore, source: CrmName, entity: EntityType, limit = 100): Promise<BulkSummary[]> {
	const all: BulkSummary[] = [];
	let after: string | undefined;
	for (;;) {
		const page = await store.kvScan<BulkSummary>(BULK_COLLECTION, { prefix: `history|${source}|${entity}|`, after, limit: 1000 });
		all.push(...page.items.map((e) => e.value));
		if (!page.next) break;
		after = page.next;
	}
	return all.reverse().slice(0, limit);
}
