// Outgoing webhook dispatcher: POSTs to subscribers, records every attempt, retries by the
// CRM's rules, and applies webhook faults (duplicates, reordering).
//
// An emulator builds each message with `send({subscriptionId, url, build})`; `build(attempt)`
// is called per attempt so the CRM can stamp attemptNumber / a fresh signature timestamp.

import type { WebhookDelivery } from './types';
import type { FaultInjector } from './faults';

export interface OutgoingRequest {
	headers: Record<string, string>;
	body: string;
	/** Defaults to POST. */
	method?: string;
	/** Overrides the subscription URL (e.g. with a query-string key). */
	url?: string;
}

export interface RetryPolicy {
	/** Total attempts including the first. */
	maxAttempts: number;
	/** Delay before attempt n+1 after attempt n failed (ms, before scaling). */
	delayMs: (attempt: number, status?: number, retryAfterSec?: number) => number;
	/** Whether the answer counts as delivered. */
	isSuccess: (status: number, body: string) => boolean;
	/** Whether a failed attempt may be retried. */
	shouldRetry: (status: number | undefined, body: string) => boolean;
}

export interface DispatcherOptions {
	retry: RetryPolicy;
	timeoutMs: number;
	/** Multiplier for retry delays (tests: small). */
	delayScale?: number;
	faults: FaultInjector;
}

export interface SendSpec {
	subscriptionId: string;
	url: string;
	build: (attempt: number) => OutgoingRequest;
	/** Overrides parts of the dispatcher's retry policy for this message (e.g. SOAP Ack checks). */
	retry?: Partial<RetryPolicy>;
	/**
	 * Messages with the same key are delivered one after another (each with all its retries),
	 * like an ordered event stream. Without a key, deliveries run concurrently.
	 */
	serialKey?: string;
}

export class WebhookDispatcher {
	private log: WebhookDelivery[] = [];
	private seq = 0;
	private deliverySeq = 0;
	private pending = 0;
	private idleWaiters: (() => void)[] = [];
	private timers = new Map<NodeJS.Timeout, () => void>();
	private controllers = new Set<AbortController>();
	private chains = new Map<string, Promise<void>>();
	/** Bumped by cancelAll so deliveries started before it stop quietly. */
	private generation = 0;
	private stopped = false;

	constructor(private opts: DispatcherOptions) {}

	/** Updates timeout / delay scale / policy. */
	configure(opts: Partial<Pick<DispatcherOptions, 'timeoutMs' | 'delayScale' | 'retry'>>): void {
		this.opts = { ...this.opts, ...opts };
	}

	/** Queues one logical delivery (plus an injected duplicate if the fault fires). */
	send(spec: SendSpec): void {
		if (this.stopped) return;
		const deliveryId = ++this.deliverySeq;
		const copies = this.opts.faults.duplicateWebhook() ? 2 : 1;
		const generation = this.generation;
		for (let i = 0; i < copies; i++) {
			this.pending++;
			const run = () => this.deliver(spec, deliveryId, i > 0, generation);
			void this.sleep(this.opts.faults.reorderDelayMs()).then(() => {
				if (generation !== this.generation) return;
				if (!spec.serialKey) return void run();
				const prev = this.chains.get(spec.serialKey) ?? Promise.resolve();
				const next = prev.then(run);
				this.chains.set(spec.serialKey, next);
			});
		}
	}

	deliveries(): WebhookDelivery[] {
		return this.log.slice();
	}

	clearDeliveries(): void {
		this.log = [];
	}

	/** Resolves when nothing is queued, in flight or waiting to retry. */
	idle(): Promise<void> {
		if (this.pending === 0) return Promise.resolve();
		return new Promise((resolve) => this.idleWaiters.push(resolve));
	}

	/** Cancels retries and in-flight requests (used by stop/reset). */
	cancelAll(): void {
		this.generation++;
		for (const [t, wake] of this.timers) {
			clearTimeout(t);
			wake();
		}
		this.timers.clear();
		for (const c of this.controllers) c.abort();
		this.controllers.clear();
		this.chains.clear();
		this.pending = 0;
		this.flushIdle();
	}

	stop(): void {
		this.stopped = true;
		this.cancelAll();
	}

	/** Cancellable sleep (cancelAll wakes it early; callers check the generation). */
	private sleep(ms: number): Promise<void> {
		if (ms <= 0) return Promise.resolve();
		return new Promise((resolve) => {
			const t = setTimeout(() => {
				this.timers.delete(t);
				resolve();
			}, ms);
			this.timers.set(t, resolve);
		});
	}

	/** All attempts of one message; resolves when delivered, given up, or cancelled. */
	private async deliver(spec: SendSpec, deliveryId: number, duplicate: boolean, generation: number): Promise<void> {
		const policy: RetryPolicy = { ...this.opts.retry, ...spec.retry };
		for (let attempt = 1; ; attempt++) {
			if (generation !== this.generation) return;
			const rec = await this.attempt(spec, deliveryId, attempt, duplicate);
			if (generation !== this.generation) return;
			if (rec.ok || attempt >= policy.maxAttempts || !policy.shouldRetry(rec.status, rec.responseBody ?? '')) break;
			await this.sleep(policy.delayMs(attempt, rec.status, rec.retryAfter) * (this.opts.delayScale ?? 1));
		}
		this.pending = Math.max(0, this.pending - 1);
		if (this.pending === 0) this.flushIdle();
	}

	private async attempt(spec: SendSpec, deliveryId: number, attempt: number, duplicate: boolean): Promise<WebhookDelivery & { retryAfter?: number }> {
		const policy: RetryPolicy = { ...this.opts.retry, ...spec.retry };
		const req = spec.build(attempt);
		const url = req.url ?? spec.url;
		const rec: WebhookDelivery = {
			seq: ++this.seq,
			deliveryId,
			subscriptionId: spec.subscriptionId,
			url,
			attempt,
			duplicate,
			headers: req.headers,
			body: req.body,
			sentAt: Date.now(),
			ok: false,
		};
		this.log.push(rec);
		const ctrl = new AbortController();
		this.controllers.add(ctrl);
		const timer = setTimeout(() => ctrl.abort(), this.opts.timeoutMs);
		let retryAfter: number | undefined;
		try {
			const res = await fetch(url, { method: req.method ?? 'POST', headers: req.headers, body: req.body, signal: ctrl.signal });
			rec.status = res.status;
			rec.responseBody = await res.text();
			const ra = Number(res.headers.get('retry-after'));
			if (Number.isFinite(ra) && ra > 0) retryAfter = ra;
			rec.ok = policy.isSuccess(res.status, rec.responseBody);
		} catch (err) {
			const cause = (err as Error & { cause?: unknown }).cause;
			rec.error = ctrl.signal.aborted ? 'timeout' : cause ? String(cause) : String(err);
		} finally {
			clearTimeout(timer);
			this.controllers.delete(ctrl);
			rec.durationMs = Date.now() - rec.sentAt;
		}
		return { ...rec, retryAfter };
	}

	private flushIdle(): void {
		const waiters = this.idleWaiters;
		this.idleWaiters = [];
		for (const w of waiters) w();
	}
}

/**
 * Collects items per key and flushes them in batches of at most `max` after `windowMs`
 * (HubSpot batches up to 100 events per webhook request).
 */
export class Batcher<T> {
	private buckets = new Map<string, T[]>();
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly max: number,
		private windowMs: number,
		private readonly flushFn: (key: string, items: T[]) => void,
	) {}

	add(key: string, item: T): void {
		let b = this.buckets.get(key);
		if (!b) this.buckets.set(key, (b = []));
		b.push(item);
		if (b.length >= this.max) {
			this.buckets.delete(key);
			this.flushFn(key, b);
		}
		if (!this.timer && this.buckets.size) this.timer = setTimeout(() => this.flush(), this.windowMs);
	}

	/** Sends everything collected so far. */
	flush(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		const buckets = this.buckets;
		this.buckets = new Map();
		for (const [key, items] of buckets) {
			for (let i = 0; i < items.length; i += this.max) this.flushFn(key, items.slice(i, i + this.max));
		}
	}

	/** Whether items are waiting for the window to close. */
	get hasPending(): boolean {
		return this.buckets.size > 0;
	}

	clear(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = undefined;
		this.buckets.clear();
	}
}
