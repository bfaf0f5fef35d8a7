// Logic both backends share (validation, paging, token-bucket arithmetic, audit redaction), so
// that the two implementations differ only in how they store things.

import { StateStoreError } from './errors';
import { isCrmName, type CrmName, type EntityType } from '../model';
import type {
	AuditEntry,
	CrmRecordRef,
	CrossRefLink,
	ErasedPerson,
	ErasureRequest,
	ErasureResult,
	Snapshot,
	StateBackend,
	StateStore,
	StoredAuditEntry,
	TokenBucketOptions,
	TokenBucketResult,
} from './types';

export function validateTtl(backend: StateBackend, ms: number): void {
	if (!Number.isFinite(ms) || ms <= 0) {
		throw new StateStoreError('invalid-argument', backend, `TTL/window must be a positive number of milliseconds, got ${ms}`);
	}
}

export function validateLink(backend: StateBackend, link: CrossRefLink): void {
	if (!link.unifiedId || !link.recordId || !link.crm || !link.entity) {
		throw new StateStoreError(
			'invalid-argument',
			backend,
			`Cross-reference link needs entity, unifiedId, crm and recordId: ${JSON.stringify(link)}`,
		);
	}
}

export function validateSnapshot(backend: StateBackend, snapshot: Snapshot): void {
	if (!snapshot.unifiedId || !snapshot.entity || typeof snapshot.record !== 'object' || snapshot.record === null) {
		throw new StateStoreError('invalid-argument', backend, 'Snapshot needs entity, unifiedId and a record object');
	}
}

export function jsonValue(backend: StateBackend, value: unknown): string {
	const json = JSON.stringify(value);
	if (json === undefined) throw new StateStoreError('invalid-argument', backend, 'Key/value store: value is not JSON-serialisable');
	return json;
}

function clampLimit(limit: number | undefined, fallback: number, max: number): number {
	if (limit === undefined || !Number.isFinite(limit)) return fallback;
	return Math.min(max, Math.max(1, Math.floor(limit)));
}

export const reviewLimit = (limit?: number): number => clampLimit(limit, 100, 1000);
export const auditLimit = (limit?: number): number => clampLimit(limit, 100, 10_000);
export const kvScanLimit = (limit?: number): number => clampLimit(limit, 500, 5000);
export const inboxLimit = (limit?: number): number => clampLimit(limit, 100, 1000);

export function validateInboxEntry(backend: StateBackend, entry: { id: string; crm: CrmName; box?: string; payload: string }): void {
	if (typeof entry.id !== 'string' || entry.id === '' || !isCrmName(entry.crm) || typeof entry.payload !== 'string' || (entry.box !== undefined && (typeof entry.box !== 'string' || entry.box.length > 200))) {
		throw new StateStoreError('invalid-argument', backend, `Inbox entry needs an id, a CRM name and a JSON text payload: ${JSON.stringify({ id: entry.id, crm: entry.crm })}`);
	}
}

/** Review-queue paging cursor: the sequence number of the last item seen. */
export function encodeCursor(seq: number): string {
	return `s${seq}`;
}

export function decodeCursor(backend: StateBackend, cursor: string | undefined): number {
	if (cursor === undefined || cursor === '') return 0;
	const match = /^s(\d+)$/.exec(cursor);
	if (!match) throw new StateStoreError('invalid-argument', backend, `Invalid page cursor ${JSON.stringify(cursor)}`);
	return Number(match[1]);
}

/**
 * Smallest string above every string starting with `prefix` when compared as UTF-8 bytes
 * (how SQLite and Redis order keys): U+10FFFF encodes as F4 8F BF BF, above any other character.
 */
export function prefixUpperBound(prefix: string): string {
	return `${prefix}\u{10FFFF}`;
}

/** Fixed windows aligned to the epoch, so every process agrees on the window boundaries. */
export function windowStart(nowMs: number, windowMs: number): number {
	return Math.floor(nowMs / windowMs) * windowMs;
}

/** Timestamps default to now; values are dropped unless the store keeps them (PII redaction). */
export function prepareAuditEntries(entries: AuditEntry[], keepValues: boolean): Array<AuditEntry & { at: string }> {
	const now = new Date().toISOString();
	return entries.map((entry) => {
		const { values, ...rest } = entry;
		const prepared: AuditEntry & { at: string } = { ...rest, at: entry.at ?? now };
		if (keepValues && values !== undefined) prepared.values = values;
		return prepared;
	});
}

/**
 * Token bucket step (embedded backend; the Redis backend runs the same arithmetic in Lua):
 * refill by elapsed time, then take `count` tokens or none.
 */
export function takeFromBucket(
	backend: StateBackend,
	state: { tokens: number; updatedAt: number } | undefined,
	options: TokenBucketOptions,
	count: number,
	nowMs: number,
): { tokens: number; result: TokenBucketResult } {
	validateBucket(backend, options, count);
	const elapsed = state ? Math.max(0, nowMs - state.updatedAt) : 0;
	const available = state ? Math.min(options.capacity, state.tokens + (elapsed / 1000) * options.refillPerSecond) : options.capacity;
	if (available >= count) {
		const tokens = available - count;
		return { tokens, result: { granted: true, remaining: Math.floor(tokens), retryAfterMs: 0 } };
	}
	const retryAfterMs = Math.ceil(((count - available) / options.refillPerSecond) * 1000);
	return { tokens: available, result: { granted: false, remaining: Math.floor(available), retryAfterMs } };
}

export function validateBucket(backend: StateBackend, options: TokenBucketOptions, count: number): void {
	if (!(options.capacity > 0) || !(options.refillPerSecond > 0)) {
		throw new StateStoreError('invalid-argument', backend, 'Token bucket needs capacity > 0 and refillPerSecond > 0');
	}
	if (!(count > 0) || count > options.capacity) {
		throw new StateStoreError('invalid-argument', backend, `Cannot take ${count} tokens from a bucket of capacity ${options.capacity}`);
	}
}

// ---- GDPR erasure (StateStore.erasePerson) ----

/** What each backend does its own way during an erasure; the rest goes through the StateStore API. */
export interface ErasureSteps {
	/** Delete every echo fingerprint of these records; returns how many existed. */
	deleteEchoes(entity: EntityType, records: CrmRecordRef[]): Promise<number>;
	/** Store these audit entries in place of the ones with the same seq. */
	replaceAudit(entries: StoredAuditEntry[]): Promise<void>;
	/** Every inbox entry, claimed or not. */
	inboxEntries(): Promise<Array<{ id: string; crm: CrmName; payload: string }>>;
	/** Rewrite inbox entries (same id, new payload) and delete others. */
	updateInbox(rewritten: Array<{ id: string; payload: string }>, deleted: string[]): Promise<void>;
	/** Leave no copy of deleted data readable in the storage files. */
	scrub(): Promise<void>;
}

const AUDIT_PAGE = 10_000;

/** The one erasure rule of both backends (see StateStore.erasePerson). */
export async function erasePerson(store: StateStore, steps: ErasureSteps, request: ErasureRequest): Promise<ErasureResult> {
	validateErasure(store.backend, request);
	const person = await findPerson(store, request);
	const { entity } = person;
	let removed = await steps.deleteEchoes(entity, person.records);
	removed += await eraseReviews(store, person);
	removed += await eraseAuditValues(store, steps, person);
	removed += await eraseInbox(store, steps, person);
	for (const eraser of request.erasers ?? []) removed += await eraser(store, person);
	// Last, what finds the person (snapshots hold the emails, links the record ids): an erasure
	// that failed half-way, run again, finds everything again.
	for (const unifiedId of person.unifiedIds) if (await store.deleteSnapshot(entity, unifiedId)) removed++;
	for (const { crm, recordId } of person.records) if (await store.unlink(entity, crm, recordId)) removed++;
	await steps.scrub();
	return { person, removed };
}

function validateErasure(backend: StateBackend, request: ErasureRequest): void {
	const ids = request?.unifiedIds;
	const records = request?.records ?? [];
	const badRecord = records.find((r) => !isCrmName(r?.crm) || typeof r.recordId !== 'string' || r.recordId === '');
	if (!request?.entity || !Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '') || badRecord || (!ids.length && !records.length)) {
		throw new StateStoreError(
			'invalid-argument',
			backend,
			`Erasure needs an entity and the person's unified ids and/or CRM records ({crm, recordId}): ${JSON.stringify({ entity: request?.entity, unifiedIds: ids, records })}`,
		);
	}
}

/** The given ids, the unified ids of the given records, their linked records, and the emails of their snapshots. */
async function findPerson(store: StateStore, request: ErasureRequest): Promise<ErasedPerson> {
	const { entity } = request;
	const unifiedIds = new Set(request.unifiedIds);
	const records = new Map<string, CrmRecordRef>();
	const add = (crm: CrmName, recordId: string) => records.set(`${crm}|${recordId}`, { crm, recordId });
	for (const { crm, recordId } of request.records ?? []) {
		add(crm, recordId);
		const linked = await store.findUnifiedId(entity, crm, recordId);
		if (linked !== undefined) unifiedIds.add(linked);
	}
	if (request.includeLinked !== false) {
		for (const ref of (await store.getCrossRefs(entity, [...unifiedIds])).values()) {
			for (const [crm, recordId] of Object.entries(ref.ids) as Array<[CrmName, string]>) add(crm, recordId);
		}
	}
	const emails = new Set<string>();
	for (const snapshot of (await store.getSnapshots(entity, [...unifiedIds])).values()) {
		const email = normalisedEmail(snapshot.record.email);
		if (email) emails.add(email);
	}
	return { entity, unifiedIds: [...unifiedIds], records: [...records.values()], emails: [...emails] };
}

function normalisedEmail(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() !== '' ? value.trim().toLowerCase() : undefined;
}

/** Tests for erasers: does this unified id, CRM record or email belong to the person? */
export function personMatcher(person: ErasedPerson): {
	unifiedId(id: unknown): boolean;
	record(crm: unknown, recordId: unknown): boolean;
	email(value: unknown): boolean;
	/** The JSON of `value` holds one of the person's unified ids or emails. */
	mentioned(value: unknown): boolean;
} {
	const unifiedIds = new Set(person.unifiedIds);
	const records = new Set(person.records.map((r) => `${r.crm}|${r.recordId}`));
	const emails = new Set(person.emails);
	// Quoted, so that an id is not found inside a longer one.
	const needles = [...person.unifiedIds.map((id) => JSON.stringify(id)), ...person.emails];
	return {
		unifiedId: (id) => (typeof id === 'string' || typeof id === 'number') && unifiedIds.has(String(id)),
		record: (crm, recordId) => (typeof recordId === 'string' || typeof recordId === 'number') && records.has(`${String(crm)}|${String(recordId)}`),
		email: (value) => emails.has(normalisedEmail(value) ?? ''),
		mentioned: (value) => {
			const text = (JSON.stringify(value) ?? '').toLowerCase();
			return needles.some((needle) => text.includes(needle.toLowerCase()));
		},
	};
}

/**
 * For erasers: every doc of `collection` under `prefix` passed through `erase`, which returns it
 * unchanged (same value), changed (stored), or undefined (deleted). Returns how many changed.
 */
export async function eraseInDocs<T>(store: StateStore, collection: string, prefix: string, erase: (value: T, key: string) => T | undefined): Promise<number> {
	let changed = 0;
	let after: string | undefined;
	for (;;) {
		const page = await store.kvScan<T>(collection, { prefix, after, limit: 1000 });
		const puts: Array<{ key: string; value: unknown }> = [];
		const deletes: string[] = [];
		for (const { key, value } of page.items) {
			const erased = erase(value, key);
			if (erased === undefined) deletes.push(key);
			else if (erased !== value) puts.push({ key, value: erased });
		}
		if (puts.length) await store.kvPutMany(collection, puts);
		if (deletes.length) await store.kvDeleteMany(collection, deletes);
		changed += puts.length + deletes.length;
		if (page.next === undefined) return changed;
		after = page.next;
	}
}

/** Review items of the person (by unified id, or naming them in the payload) are removed. */
async function eraseReviews(store: StateStore, person: ErasedPerson): Promise<number> {
	const is = personMatcher(person);
	const theirs: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await store.listReviews({ status: 'all', limit: 1000, cursor });
		for (const review of page.items) if (is.unifiedId(review.unifiedId) || is.mentioned(review.payload) || is.mentioned(review.resolution)) theirs.push(review.id);
		cursor = page.next;
	} while (cursor);
	for (const id of theirs) await store.removeReview(id);
	return theirs.length;
}

/** Audit entries of the person keep the decision (kind, fields, winner) and lose the values. */
async function eraseAuditValues(store: StateStore, steps: ErasureSteps, person: ErasedPerson): Promise<number> {
	const is = personMatcher(person);
	const redacted: StoredAuditEntry[] = [];
	let beforeSeq: number | undefined;
	for (;;) {
		const page = await store.listAudit({ limit: AUDIT_PAGE, beforeSeq });
		for (const { values, ...entry } of page) {
			if (values !== undefined && (is.unifiedId(entry.unifiedId) || is.mentioned(values))) redacted.push(entry);
		}
		if (page.length < AUDIT_PAGE) break;
		beforeSeq = page[page.length - 1].seq;
	}
	if (redacted.length) await steps.replaceAudit(redacted);
	return redacted.length;
}

/**
 * Inbox notifications (a JSON array of events) lose the person's events: those of their records
 * in the notification's CRM, or naming their unified id or email; a notification left empty goes.
 */
async function eraseInbox(store: StateStore, steps: ErasureSteps, person: ErasedPerson): Promise<number> {
	const is = personMatcher(person);
	const rewritten: Array<{ id: string; payload: string }> = [];
	const deleted: string[] = [];
	for (const entry of await steps.inboxEntries()) {
		let events: unknown;
		try {
			events = JSON.parse(entry.payload);
		} catch {
			events = undefined;
		}
		if (!Array.isArray(events)) {
			if (is.mentioned(entry.payload)) deleted.push(entry.id);
			continue;
		}
		const kept = events.filter((e: { recordId?: unknown }) => !is.record(entry.crm, e?.recordId) && !is.mentioned(e));
		if (kept.length === 0) deleted.push(entry.id);
		else if (kept.length < events.length) rewritten.push({ id: entry.id, payload: JSON.stringify(kept) });
	}
	if (rewritten.length || deleted.length) await steps.updateInbox(rewritten, deleted);
	return rewritten.length + deleted.length;
}
