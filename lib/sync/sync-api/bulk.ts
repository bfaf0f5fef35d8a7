// Sync API bulk jobs: a job's records are spooled in the state store (lib/sync/spool.ts), so
// memory stays bounded and the HTTP answer does not wait for the CRMs; each CRM node writes the
// pages, the last step records the outcome and deletes the pages (they hold personal data).
// `GET …/crm/bulk?job=<id>` reads the job.

import { randomUUID } from 'node:crypto';
import { textOf } from '../../mapping/transformers';
import type { CrmName, EntityType } from '../../model';
import type { StateStore } from '../../state';
import { SYNC_API_BULK_COLLECTION } from '../collections';
import { Spool } from '../spool';
import { refused, validateBulkRecord, type BulkEnvelope, type Reason, type SyncApiOperation, type SyncApiOptions, type Validation } from './validate';
import { resolveMergedIds, unchangedFlags, writeRequestsToCrm, type WriteDeps } from './write';

/** Bulk jobs and their spooled records. */
const BULK = SYNC_API_BULK_COLLECTION;
const PAGE_SIZE = 500;
/** Per-record errors kept per CRM and for invalid records (the counts are always complete). */
const MAX_ERRORS = 200;

export interface BulkRecordError {
	index: number;
	error: string;
	code?: string;
}

export interface BulkCrmSummary {
	crm: CrmName;
	processed: number;
	created: number;
	updated: number;
	unchanged: number;
	deleted: number;
	merged: number;
	/** Left to another execution that was writing the same record to this CRM (see CrmResult.reason). */
	deferred: number;
	failed: number;
	errors: BulkRecordError[];
	durationMs: number;
}

export interface BulkJob {
	jobId: string;
	status: 'accepted' | 'running' | 'done';
	entity_type: EntityType;
	operation: SyncApiOperation;
	options: SyncApiOptions;
	records: number;
	/** Records that failed validation (not written anywhere). */
	invalid: number;
	/** The first MAX_ERRORS invalid records, each with its first reasons and their count. */
	invalidRecords: Array<{ index: number; reasons: Reason[]; reasonCount: number }>;
	pages: number;
	/** The records were checked (validateBulkJob); until then the pages hold them as received. */
	validated: boolean;
	acceptedAt: string;
	finishedAt?: string;
	durationMs?: number;
	results: BulkCrmSummary[];
}

/** A spooled request record: its index in the body, its data and (update) whether it was unchanged before any CRM was written. */
export interface BulkRecord {
	index: number;
	data: Record<string, unknown>;
	unchanged?: boolean;
}

const spoolOf = (store: StateStore, jobId: string) => new Spool<BulkRecord>(store, BULK, jobId);

const jobKey = (jobId: string) => `${jobId}|job`;

/**
 * Queues the records in pages as they came (fast: the 202 answer waits only for this) and returns
 * the job (status accepted). validateBulkJob then checks them, before the first CRM is written.
 */
export async function acceptBulkJob(store: StateStore, envelope: BulkEnvelope): Promise<BulkJob> {
	const jobId = randomUUID();
	const job: BulkJob = {
		jobId,
		status: 'accepted',
		entity_type: envelope.entity_type,
		operation: envelope.operation,
		options: envelope.options,
		records: envelope.records.length,
		invalid: 0,
		invalidRecords: [],
		pages: Math.ceil(envelope.records.length / PAGE_SIZE),
		validated: false,
		acceptedAt: new Date().toISOString(),
		results: [],
	};
	const spool = spoolOf(store, jobId);
	// Spooled as received: validateBulkJob checks each record before the first CRM reads it.
	const asReceived = (n: number) => envelope.records.slice(n * PAGE_SIZE, (n + 1) * PAGE_SIZE).map((data, i) => ({ index: n * PAGE_SIZE + i, data: data as Record<string, unknown> }));
	const pages = Array.from({ length: job.pages }, (_, n) => spool.entry(n, asReceived(n)));
	await store.kvPutMany(BULK, [...pages, { key: jobKey(jobId), value: job }]);
	return job;
}

/**
 * Validates every queued record for the CRMs (invalid ones are dropped from the pages and listed
 * with their reasons), gives creates their unified ids, and reads what update / merge need from the
 * state store before any CRM is written (see beforeWrites).
 */
export async function validateBulkJob(store: StateStore, jobId: string, crms: readonly CrmName[]): Promise<BulkJob> {
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	if (job.validated) return job;
	const spool = spoolOf(store, jobId);
	for (let n = 0; n < job.pages; n++) {
		const valid: BulkRecord[] = [];
		for (const { index, data: raw } of await spool.read(n)) {
			const checked = checkBulkRecord(job, raw, index, crms);
			if (!checked.ok) {
				job.invalid++;
				if (job.invalidRecords.length < MAX_ERRORS) job.invalidRecords.push({ index, reasons: checked.reasons, reasonCount: checked.reasonCount });
				continue;
			}
			const data = job.operation === 'create' && typeof checked.value.id !== 'string' ? { ...checked.value, id: randomUUID() } : checked.value;
			valid.push({ index, data });
		}
		if (job.operation === 'update') {
			const flags = await unchangedFlags(store, job.entity_type, job.operation, valid.map((r) => r.data));
			valid.forEach((r, i) => (r.unchanged = flags[i]));
		} else if (job.operation === 'merge') {
			const resolved = await resolveMergedIds(store, job.entity_type, valid.map((r) => r.data));
			valid.forEach((r, i) => (r.data = resolved[i]));
		}
		await spool.write(n, valid);
	}
	const validated: BulkJob = { ...job, validated: true, status: 'running' };
	await store.kvPut(BULK, jobKey(jobId), validated);
	return validated;
}

/**
 * validateBulkRecord, and a record it fails on is invalid with that reason: one record must not
 * stop the job (its pages would stay in the store, with personal data, and nothing be written).
 */
function checkBulkRecord(job: BulkJob, record: unknown, index: number, crms: readonly CrmName[]): Validation<Record<string, unknown>> {
	try {
		return validateBulkRecord(job, record, index, crms);
	} catch (error) {
		return refused([{ path: `records[${index}]`, message: `could not be checked: ${error instanceof Error ? error.message : textOf(error)}` }]);
	}
}

export async function getBulkJob(store: StateStore, jobId: string): Promise<BulkJob | undefined> {
	return store.kvGet<BulkJob>(BULK, jobKey(jobId));
}

/** Writes every page of a job to one CRM; returns the job with this CRM's summary added (and stored). */
export async function writeBulkJobToCrm(deps: WriteDeps, jobId: string): Promise<BulkJob> {
	return writeBulkJobToCrms([deps], jobId);
}

/**
 * Writes a validated bulk job to several CRMs at once (one `deps` per CRM), then records their
 * summaries in one write of the job: CRMs written in parallel never overwrite each other's.
 */
export async function writeBulkJobToCrms(crms: WriteDeps[], jobId: string): Promise<BulkJob> {
	if (crms.length === 0) throw new Error('No CRM to write the bulk job to');
	const store = await crms[0].store();
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	if (!job.validated) throw new Error(`Bulk job ${jobId} is not validated yet: put a Validate Request step between the 202 answer and the first CRM`);
	const summaries = await Promise.all(crms.map((deps) => writeBulkPages(deps, job)));
	const written = new Set(summaries.map((s) => s.crm));
	// Re-read: another node may have recorded its CRM's summary since.
	const latest = (await getBulkJob(store, jobId)) ?? job;
	const updated: BulkJob = { ...latest, status: 'running', results: [...latest.results.filter((r) => !written.has(r.crm)), ...summaries] };
	await store.kvPut(BULK, jobKey(jobId), updated);
	return updated;
}

/** One CRM's pass over the job's pages: its summary. */
async function writeBulkPages(deps: WriteDeps, job: BulkJob): Promise<BulkCrmSummary> {
	const started = Date.now();
	const summary: BulkCrmSummary = { crm: deps.crm, processed: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, merged: 0, deferred: 0, failed: 0, errors: [], durationMs: 0 };
	const spool = spoolOf(await deps.store(), job.jobId);
	for (let n = 0; n < job.pages; n++) {
		const page = await spool.read(n);
		const results = await writeRequestsToCrm(deps, job.entity_type, job.operation, job.options, page.map((r) => r.data), page.map((r) => r.unchanged === true));
		results.forEach((result, i) => {
			summary.processed++;
			if (result.status === 'error') {
				summary.failed++;
				if (summary.errors.length < MAX_ERRORS) summary.errors.push({ index: page[i].index, error: result.error ?? 'failed', ...(result.code ? { code: result.code } : {}) });
			} else summary[result.status]++;
		});
	}
	summary.durationMs = Date.now() - started;
	return summary;
}

/** Marks the job done and deletes its pages. */
export async function finishBulkJob(store: StateStore, jobId: string): Promise<BulkJob> {
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	const finishedAt = new Date();
	const done: BulkJob = { ...job, status: 'done', finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - Date.parse(job.acceptedAt) };
	await store.kvPut(BULK, jobKey(jobId), done);
	await spoolOf(store, jobId).drop();
	return done;
}
