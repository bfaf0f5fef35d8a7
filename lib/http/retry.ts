// Retry policy: exponential backoff with full jitter, overridden by the CRM's own wait hint.

import type { CrmError } from './errors';

export interface RetryPolicy {
	/** Attempts in total, the first included. Default 6. */
	maxAttempts: number;
	/** Backoff base: attempt n (1-based retry) waits up to baseDelayMs * 2^(n-1). Default 250 ms. */
	baseDelayMs: number;
	/** Cap of one backoff wait. Default 20 s. */
	maxDelayMs: number;
	/**
	 * Longest Retry-After we are willing to sleep through. A longer hint fails the call at once
	 * (with the CrmError, whose retryAfterMs tells the caller when to come back). Default 60 s.
	 */
	maxRetryAfterMs: number;
	/** Give up when the next wait would end later than this many ms after the first attempt. Default 120 s. */
	maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
	maxAttempts: 6,
	baseDelayMs: 250,
	maxDelayMs: 20_000,
	maxRetryAfterMs: 60_000,
	maxElapsedMs: 120_000,
};

/** Source of randomness for jitter (tests may pass a fixed one). */
export type RandomFn = () => number;

/**
 * Full-jitter exponential backoff ("AWS architecture blog" variant): uniform in [0, cap] where
 * cap = min(maxDelayMs, baseDelayMs * 2^(retry-1)). Spreads synchronized clients apart.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: RandomFn = Math.random): number {
	const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
	return Math.round(random() * cap);
}

/**
 * How long to wait before retry number `retry` (1-based) after `error`, or undefined to give up.
 * A CRM hint (Retry-After, HubSpot policy window) is honoured as a floor, plus up to 10% jitter so
 * that workers released at the same moment do not collide again.
 */
export function retryDelay(error: CrmError, retry: number, policy: RetryPolicy, random: RandomFn = Math.random): number | undefined {
	if (!error.retryable) return undefined;
	if (retry >= policy.maxAttempts) return undefined;
	if (error.retryAfterMs !== undefined) {
		if (error.retryAfterMs > policy.maxRetryAfterMs) return undefined;
		return error.retryAfterMs + Math.round(random() * Math.max(50, error.retryAfterMs * 0.1));
	}
	return backoffDelay(retry, policy, random);
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
