// Logic both backends share (validation, paging, token-bucket arithmetic, audit redaction), so
// that the two implementations differ only in how they store things.

import { StateStoreError } from './errors';
import type { AuditEntry, CrossRefLink, Snapshot, StateBackend, TokenBucketOptions, TokenBucketResult } from './types';

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
