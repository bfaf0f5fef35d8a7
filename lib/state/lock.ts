// Waiting for the store's per-record locks (StateStore.acquireLock never waits): short critical
// sections such as read-modify-write of one snapshot, shared by every process using the store.

import type { LockHandle, StateStore } from './types';

/** The lock stayed taken for longer than the caller was willing to wait. */
export class LockTimeoutError extends Error {
	constructor(resource: string, waitMs: number) {
		super(`Could not take the lock "${resource}" within ${waitMs} ms (another execution holds it)`);
		this.name = 'LockTimeoutError';
	}
}

export interface LockOptions {
	/**
	 * Lock lifetime: a crashed holder frees it after this. Default 30 s. A live holder renews it
	 * every third of it, so a critical section may outlast it (a CRM write that retries for minutes).
	 */
	ttlMs?: number;
	/** Give up after this. Default 20 s. */
	waitMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function acquire(store: Pick<StateStore, 'acquireLock'>, resource: string, ttlMs: number, waitMs: number): Promise<LockHandle> {
	const deadline = Date.now() + waitMs;
	for (let attempt = 0; ; attempt++) {
		const handle = await store.acquireLock(resource, ttlMs);
		if (handle) return handle;
		if (Date.now() >= deadline) throw new LockTimeoutError(resource, waitMs);
		// Short, jittered back-off: critical sections are a few store round trips.
		await sleep(Math.min(50, 2 + attempt * 3) * (0.5 + Math.random()));
	}
}

type LockingStore = Pick<StateStore, 'acquireLock' | 'releaseLock' | 'extendLock'>;

/** Run `fn` holding the lock on `resource`; the lock is released even when `fn` throws. */
export async function withLock<T>(store: LockingStore, resource: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
	return withLocks(store, [resource], fn, options);
}

/** Several locks, taken in sorted order (so two callers never wait on each other in a cycle). */
export async function withLocks<T>(store: LockingStore, resources: string[], fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
	const ttlMs = options.ttlMs ?? 30_000;
	const waitMs = options.waitMs ?? 20_000;
	const held: LockHandle[] = [];
	// Renew while held: an expired lock would let a second holder in while the first still works.
	const renewal = setInterval(() => {
		for (const handle of held) store.extendLock(handle.resource, handle.token, ttlMs).catch(() => undefined);
	}, ttlMs / 3);
	renewal.unref();
	try {
		for (const resource of [...new Set(resources)].sort()) held.push(await acquire(store, resource, ttlMs, waitMs));
		return await fn();
	} finally {
		clearInterval(renewal);
		for (const handle of held.reverse()) await store.releaseLock(handle.resource, handle.token).catch(() => undefined);
	}
}

/** The lock guarding read-modify-write of one snapshot (resolver commits, writers' bookkeeping). */
export function snapshotLock(entity: string, unifiedId: string): string {
	return `snapshot:${entity}:${unifiedId}`;
}
