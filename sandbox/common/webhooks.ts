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
}

export class WebhookDispatcher {
	private log: WebhookDelivery[] = [];
	private seq = 0;
	private deliverySeq = 0;
	private pending = 0;
	private idleWaiters: (() => void)[] = [];
	private timers = new Set<NodeJS.Timeout>();
	private controllers = new Set<AbortController>();
	private stopped = false;

	constructor(private opts: DispatcherOptions) {}

	/** Updates timeout / delay scale. */
	configure(opts: Partial<Pick<DispatcherOptions, 'timeoutMs' | 'delayScale' | 'retry'>>): void {
		this.opts = { ...this.opts, ...opts };
	}

	/** Queues one logical delivery (plus an injected duplicate if the fault fires). */
	send(spec: SendSpec): void {
		if (this.stopped) return;
		const deliveryId = ++this.deliverySeq;
		const copies = this.opts.faults.duplicateWebhook() ? 2 : 1;
		for (let i = 0; i < copies; i++) {
			this.pending++;
			this.later(this.opts.faults.reorderDelayMs(), () => this.attempt(spec, deliveryId, 1, i > 0));
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
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
		for (const c of this.controllers) c.abort();
		this.controllers.clear();
		this.pending = 0;
		this.flushIdle();
	}

	stop(): void {
		this.stopped = true;
		this.cancelAll();
	}

	private later(ms: number, fn: () => void): void {
		const t = setTimeout(() => {
			this.timers.delete(t);
			fn();
		}, ms);
		this.timers.add(t);
	}

	private async attempt(spec: SendSpec, deliveryId: number, attempt: number, duplicate: boolean): Promise<void> {
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
			rec.ok = this.opts.retry.isSuccess(res.status, rec.responseBody);
		} catch (err) {
			rec.error = ctrl.signal.aborted ? 'timeout' : (err as Error).cause ? String((err as Error & { cause: unknown }).cause) : String(err);
		} finally {
			clearTimeout(timer);
			this.controllers.delete(ctrl);
			rec.durationMs = Date.now() - rec.sentAt;
		}
		if (this.stopped) return;
		const policy = this.opts.retry;
		if (!rec.ok && attempt < policy.maxAttempts && policy.shouldRetry(rec.status, rec.responseBody ?? '')) {
			const delay = policy.delayMs(attempt, rec.status, retryAfter) * (this.opts.delayScale ?? 1);
			this.later(delay, () => void this.attempt(spec, deliveryId, attempt + 1, duplicate));
			return;
		}
		this.pending = Math.max(0, this.pending - 1);
		if (this.pending === 0) this.flushIdle();
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
