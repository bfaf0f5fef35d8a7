// Per-credential client-side rate limiting, so we stay under each CRM's documented limit instead
// of bouncing off it. Bottleneck schedules the calls of one process (concurrency cap, local
// token bucket); when a Redis StateStore is given, the token bucket lives in Redis instead
// (StateStore.takeTokens, an atomic Lua script) so all n8n queue-mode workers using the same
// credential share one budget.

import Bottleneck from 'bottleneck';
import { createHash } from 'node:crypto';
import type { StateStore } from '../state/types';
import { sleep } from './retry';

/** A CRM's limit for one credential, e.g. HubSpot 100 requests / 10 s rolling. */
export interface RateLimitSpec {
	/** Requests allowed per interval. Omit for no request-rate limit (concurrency only). */
	requests?: number;
	/** Length of the CRM's (rolling) window in ms. */
	intervalMs?: number;
	/** Calls in flight at once for this credential. Default 8. */
	maxConcurrent?: number;
	/**
	 * Share of `requests` we allow ourselves (default 0.9): room for other clients of the same
	 * credential and for clock skew against the CRM's window.
	 */
	headroom?: number;
}

/**
 * Token-bucket shape that never exceeds `requests` in any rolling window of `intervalMs`:
 * burst + refill * interval <= requests * headroom.
 */
export function bucketFor(spec: RateLimitSpec): { capacity: number; refillPerSecond: number } | undefined {
	if (!spec.requests || !spec.intervalMs) return undefined;
	const budget = Math.max(1, Math.floor(spec.requests * (spec.headroom ?? 0.9)));
	const capacity = Math.max(1, Math.floor(budget / 10));
	const refill = Math.max(1, budget - capacity);
	return { capacity, refillPerSecond: (refill * 1000) / spec.intervalMs };
}

/** Hash of credential material: limiters and token caches are shared per credential, never across. */
export function credentialKey(crm: string, ...parts: unknown[]): string {
	return `${crm}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16)}`;
}

export class CredentialRateLimiter {
	private readonly bottleneck: Bottleneck;
	private readonly bucket?: { capacity: number; refillPerSecond: number };
	private pausedUntil = 0;

	/**
	 * @param key    credential key (see credentialKey) plus an optional bucket suffix (e.g. ':search').
	 * @param shared a StateStore; used for the token bucket only when it is the Redis backend.
	 */
	constructor(
		readonly key: string,
		readonly spec: RateLimitSpec,
		private shared?: StateStore,
	) {
		this.bucket = bucketFor(spec);
		this.bottleneck = new Bottleneck({ maxConcurrent: spec.maxConcurrent ?? 8, ...(this.bucket && !this.isShared ? localReservoir(this.bucket) : {}) });
	}

	/**
	 * Points the shared budget at `store` (the caller's current one: stores are opened per
	 * execution, the limiter outlives them). The bucket shape is fixed at construction.
	 */
	useStore(store: StateStore | undefined): void {
		if ((store?.backend === 'redis') === this.isShared) this.shared = store;
	}

	/** True when the budget is shared through Redis across processes/hosts. */
	get isShared(): boolean {
		return this.shared?.backend === 'redis';
	}

	/** Runs `fn` when this credential's budget allows. */
	schedule<T>(fn: () => Promise<T>): Promise<T> {
		return this.bottleneck.schedule(async () => {
			await this.waitForBudget();
			return fn();
		});
	}

	/**
	 * The CRM throttled us: hold every call of this credential in this process for `ms`
	 * (callers already queued wait too, instead of each hitting the limit again).
	 */
	pause(ms: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
	}

	/** Calls queued or running (for tests and benchmarks). */
	pending(): number {
		const c = this.bottleneck.counts();
		return c.QUEUED + c.RUNNING + c.EXECUTING + c.RECEIVED;
	}

	async stop(): Promise<void> {
		await this.bottleneck.stop({ dropWaitingJobs: false });
	}

	private async waitForBudget(): Promise<void> {
		for (;;) {
			const paused = this.pausedUntil - Date.now();
			if (paused > 0) {
				await sleep(paused);
				continue;
			}
			if (!this.isShared || !this.bucket) return;
			const taken = await this.shared!.takeTokens(`ratelimit:${this.key}`, this.bucket, 1);
			if (taken.granted) return;
			await sleep(Math.max(5, taken.retryAfterMs));
		}
	}
}

/**
 * Bottleneck's token bucket (reservoir increase). Bottleneck applies increases on its 250 ms
 * heartbeat, so refills are batched per tick instead of one token per 1/rate seconds.
 */
function localReservoir(bucket: { capacity: number; refillPerSecond: number }): Bottleneck.ConstructorOptions {
	const interval = Math.max(250, Math.round(1000 / bucket.refillPerSecond));
	const amount = Math.max(1, Math.floor((bucket.refillPerSecond * interval) / 1000));
	const maximum = Math.max(bucket.capacity, amount);
	return { reservoir: maximum, reservoirIncreaseMaximum: maximum, reservoirIncreaseAmount: amount, reservoirIncreaseInterval: interval };
}

const limiters = new Map<string, CredentialRateLimiter>();

/**
 * The process-wide limiter of one credential (and bucket): every connector instance built from
 * the same credential in this process shares it, so parallel executions queue behind one budget.
 */
export function rateLimiterFor(key: string, spec: RateLimitSpec, shared?: StateStore): CredentialRateLimiter {
	// Redis buckets live in the store's namespace (the StateStore API is namespaced), so two syncs
	// with the same credential but different namespaces get separate shared budgets.
	const id = `${key}|${JSON.stringify(spec)}|${shared?.backend === 'redis' ? `redis:${shared.namespace}` : 'local'}`;
	let limiter = limiters.get(id);
	if (!limiter) {
		limiter = new CredentialRateLimiter(key, spec, shared);
		limiters.set(id, limiter);
	} else {
		limiter.useStore(shared);
	}
	return limiter;
}
