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

/**
 * The holder lost a lock while working: a renewal was refused (the lock had expired and may be
 * someone else's now) or failed (the store did not answer). Its work was told through the
 * AbortSignal; whatever it wrote after this was not protected by the lock.
 */
export class LockLostError extends Error {
	constructor(
		readonly resource: string,
		cause?: unknown,
	) {
		super(
			cause === undefined
				? `Lost the lock "${resource}": it expired before it was renewed (another execution may hold it now); the work under it was stopped`
				: `Lost the lock "${resource}": renewing it failed (${(cause as Error).message ?? String(cause)}); the work under it was stopped`,
			cause === undefined ? undefined : { cause },
		);
		this.name = 'LockLostError';
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

/**
 * Run `fn` holding the lock on `resource`; the lock is released even when `fn` throws. If the lock
 * is lost meanwhile, `signal` is aborted (with a LockLostError): `fn` must stop at its next
 * checkpoint (`signal.throwIfAborted()` before each write), and the call rejects with LockLostError.
 */
export async function withLock<T>(store: LockingStore, resource: string, fn: (signal: AbortSignal) => Promise<T>, options: LockOptions = {}): Promise<T> {
	return withLocks(store, [resource], fn, options);
}

/** Several locks, taken in sorted order (so two callers never wait on each other in a cycle). See withLock. */
export async function withLocks<T>(store: LockingStore, resources: string[], fn: (signal: AbortSignal) => Promise<T>, options: LockOptions = {}): Promise<T> {
	const ttlMs = options.ttlMs ?? 30_000;
	const waitMs = options.waitMs ?? 20_000;
	const held: LockHandle[] = [];
	const lost = new AbortController();
	let renewal: NodeJS.Timeout | undefined;
	let finished = false;
	// Renew while held: an expired lock would let a second holder in while the first still works.
	// One renewal at a time (a slow store must not pile them up); the first refused one stops the work.
	const renew = async () => {
		for (const handle of held) {
			const renewed = await store.extendLock(handle.resource, handle.token, ttlMs).catch((error: unknown) => error);
			if (renewed !== true) {
				lost.abort(new LockLostError(handle.resource, renewed === false ? undefined : renewed));
				return;
			}
		}
		if (!finished) renewal = setTimeout(renew, ttlMs / 3).unref();
	};
	try {
		for (const resource of [...new Set(resources)].sort()) held.push(await acquire(store, resource, ttlMs, waitMs));
		renewal = setTimeout(renew, ttlMs / 3).unref();
		const result = await fn(lost.signal).catch((error: unknown) => {
			// The work's own error may be the abort itself, or a symptom of it: the lost lock is the cause to report.
			throw lost.signal.aborted ? lost.signal.reason : error;
		});
		if (lost.signal.aborted) throw lost.signal.reason;
		return result;
	} finally {
		finished = true;
		clearTimeout(renewal);
		for (const handle of held.reverse()) await store.releaseLock(handle.resource, handle.token).catch(() => undefined);
	}
}

/** The lock guarding read-modify-write of one snapshot (resolver commits, writers' bookkeeping). */
export function snapshotLock(entity: string, unifiedId: string): string {
	return `snapshot:${entity}:${unifiedId}`;
}
