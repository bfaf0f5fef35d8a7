// The one path every CRM call takes: rate limiter → timeout → classify failure → refresh token
// on auth failure / retry with backoff on throttle and transient failure → give up with a CrmError.
//
// SDK-based connectors wrap each SDK call: `transport.call('contacts.batch.upsert', (token) => ...)`.
// Plain-HTTP connectors use `transport.request(label, (token) => ({ method, url, ... }))`.
// Each attempt has an AbortSignal (attempt.ts), aborted when the attempt times out, so the request
// underneath is cancelled and cannot land after its retry.

import type { CrmName } from '../model';
import type { StateStore } from '../state/types';
import { runAttempt } from './attempt';
import { CrmError, isUnanswered } from './errors';
import { httpRequest, type HttpRequest, type HttpResponse } from './fetch';
import { rateLimiterFor, type CredentialRateLimiter, type RateLimitSpec } from './limiter';
import { DEFAULT_RETRY_POLICY, retryDelay, sleep, type RandomFn, type RetryPolicy } from './retry';
import type { TokenManager } from './token';

export interface TransportOptions {
	crm: CrmName;
	/** Credential key (credentialKey()): limiters and tokens are shared per credential. */
	key: string;
	/**
	 * Turns anything a call throws into a classified CrmError. This is where each CRM's throttle
	 * signal is recognised (HubSpot 429 policyName, Salesforce 403 REQUEST_LIMIT_EXCEEDED, ...).
	 */
	classify: (error: unknown) => CrmError;
	/** Limits per bucket. 'default' applies to calls without a bucket; e.g. HubSpot adds 'search'. */
	limits?: Record<string, RateLimitSpec>;
	retry?: Partial<RetryPolicy>;
	/** Token source; without it calls get `undefined` as token and a 401 is final. */
	token?: TokenManager;
	/** When a Redis store: rate-limit budgets are shared across processes through it. */
	store?: StateStore;
	/** Per-attempt timeout. Default 60 s. */
	timeoutMs?: number;
	random?: RandomFn;
	/** Observer for retries, throttles and refreshes (logging, tests, benchmarks). */
	onEvent?: (event: TransportEvent) => void;
}

export interface CallOptions {
	/** Rate-limit bucket (key of TransportOptions.limits). Default 'default'. */
	bucket?: string;
	/**
	 * False for calls that must not run twice (plain creates): then a timeout or dropped
	 * connection is not retried, since the CRM may have applied the first attempt. 5xx replies
	 * and throttles are still retried. Default true.
	 */
	idempotent?: boolean;
}

export interface TransportEvent {
	type: 'retry' | 'throttle' | 'refresh';
	label: string;
	attempt: number;
	delayMs?: number;
	error?: CrmError;
}

/** Counters of one transport (one connector instance). */
export interface TransportStats {
	calls: number;
	attempts: number;
	retries: number;
	throttled: number;
	refreshes: number;
}

export class Transport {
	readonly stats: TransportStats = { calls: 0, attempts: 0, retries: 0, throttled: 0, refreshes: 0 };
	private readonly policy: RetryPolicy;
	private readonly limiters = new Map<string, CredentialRateLimiter>();

	constructor(private readonly options: TransportOptions) {
		this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
	}

	get crm(): CrmName {
		return this.options.crm;
	}

	/**
	 * Runs one CRM call with limiting, retries and token refresh. `op` gets the current access token
	 * and the attempt's AbortSignal (also currentAttempt() in what it calls): pass it to the request.
	 */
	async call<T>(label: string, op: (token: string | undefined, signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
		const started = Date.now();
		const limiter = this.limiter(options.bucket ?? 'default');
		let refreshed = false;
		this.stats.calls++;
		for (let attempt = 1; ; attempt++) {
			let token: string | undefined;
			try {
				token = this.options.token ? (await this.options.token.get()).accessToken : undefined;
			} catch (error) {
				throw this.asCrmError(error, 'auth');
			}
			try {
				this.stats.attempts++;
				return await limiter.schedule(() => this.attempt(label, (signal) => op(token, signal)));
			} catch (raw) {
				const error = this.asCrmError(raw);
				if (error.category === 'auth' && !refreshed && this.options.token?.canRefresh) {
					refreshed = true;
					await this.refresh(label, attempt, token, error);
					continue;
				}
				if (options.idempotent === false && isUnanswered(error)) throw error;
				const delay = retryDelay(error, attempt, this.policy, this.options.random);
				if (delay === undefined || Date.now() + delay - started > this.policy.maxElapsedMs) throw error;
				if (error.category === 'rate_limit') {
					this.stats.throttled++;
					limiter.pause(delay);
					this.options.onEvent?.({ type: 'throttle', label, attempt, delayMs: delay, error });
				}
				this.stats.retries++;
				this.options.onEvent?.({ type: 'retry', label, attempt, delayMs: delay, error });
				await sleep(delay);
			}
		}
	}

	/** Plain-HTTP call (fetch) through `call`: non-2xx replies reject with HttpStatusError, which `classify` maps. */
	request<T = unknown>(label: string, build: (token: string | undefined) => HttpRequest, options: CallOptions = {}): Promise<HttpResponse<T>> {
		return this.call(label, (token, signal) => httpRequest<T>({ ...build(token), signal }), options);
	}

	private async refresh(label: string, attempt: number, rejected: string | undefined, error: CrmError): Promise<void> {
		try {
			await this.options.token!.refresh(rejected);
		} catch (refreshError) {
			throw new CrmError(`${error.message} (token refresh failed: ${refreshError instanceof Error ? refreshError.message : String(refreshError)})`, this.options.crm, 'auth', {
				httpStatus: error.httpStatus,
				code: error.code,
				body: error.body,
				cause: refreshError,
			});
		}
		this.stats.refreshes++;
		this.options.onEvent?.({ type: 'refresh', label, attempt, error });
	}

	private limiter(bucket: string): CredentialRateLimiter {
		let limiter = this.limiters.get(bucket);
		if (!limiter) {
			const spec = this.options.limits?.[bucket] ?? this.options.limits?.default ?? {};
			limiter = rateLimiterFor(`${this.options.key}:${bucket}`, spec, this.options.store);
			this.limiters.set(bucket, limiter);
		}
		return limiter;
	}

	/** One attempt of `op`: after the timeout its signal is aborted (cancelling the request) and it fails with TIMEOUT. */
	private attempt<T>(label: string, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
		const ms = this.options.timeoutMs ?? 60_000;
		const controller = new AbortController();
		const timedOut = () => new CrmError(`${label}: no response within ${ms} ms`, this.options.crm, 'transient', { code: 'TIMEOUT' });
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => {
				const error = timedOut();
				controller.abort(error);
				reject(error);
			}, ms);
		});
		// An SDK whose own timer is set to this deadline (jsforce) may fail first: the attempt timed
		// out all the same, and says so in the same words.
		const promise = runAttempt({ signal: controller.signal, deadline: Date.now() + ms }, () => op(controller.signal)).catch((error: unknown) => {
			throw this.asCrmError(error).code === 'TIMEOUT' ? timedOut() : error;
		});
		promise.catch(() => undefined); // a late rejection after the timeout must not be unhandled
		return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
	}

	private asCrmError(error: unknown, fallback?: CrmError['category']): CrmError {
		if (error instanceof CrmError) return error;
		const classified = this.options.classify(error);
		if (fallback && classified.category === 'fatal') {
			return new CrmError(classified.message, this.options.crm, fallback, { cause: error });
		}
		return classified;
	}
}
