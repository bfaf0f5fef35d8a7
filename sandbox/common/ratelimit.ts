// Sliding-window rate limiter. Off unless enabled; each emulator declares its documented
// policies and turns a refusal into its own throttle reply (status, headers, body).

export interface RatePolicy {
	/** Name used in replies/headers, e.g. 'TEN_SECONDLY_ROLLING'. */
	name: string;
	limit: number;
	windowMs: number;
}

export interface RateDecision {
	ok: boolean;
	policy: RatePolicy;
	/** Requests left in the window after this one (0 when refused). */
	remaining: number;
	/** Ms until the oldest counted request leaves the window. */
	resetMs: number;
}

const DAY_MS = 86_400_000;

export class RateLimiter {
	enabled: boolean;
	/** While set (see refusing()), matching policies refuse every request. */
	private forced: 'short' | 'all' | undefined;
	/** Per policy+key: timestamps of accepted requests (ring kept as array + head). */
	private readonly windows = new Map<string, { times: number[]; head: number }>();

	constructor(enabled = false) {
		this.enabled = enabled;
	}

	/**
	 * Counts one request against `policy` for `key` (e.g. the token). Refused requests are not
	 * counted. When disabled, always ok (remaining = limit).
	 */
	hit(policy: RatePolicy, key = '', cost = 1): RateDecision {
		if (this.isForced(policy)) return this.forcedRefusal(policy);
		if (!this.enabled || this.forced) return { ok: true, policy, remaining: policy.limit, resetMs: 0 };
		const id = `${policy.name}\u0000${key}`;
		let w = this.windows.get(id);
		if (!w) this.windows.set(id, (w = { times: [], head: 0 }));
		const now = Date.now();
		while (w.head < w.times.length && w.times[w.head] <= now - policy.windowMs) w.head++;
		if (w.head > 1024 && w.head > w.times.length / 2) {
			w.times = w.times.slice(w.head);
			w.head = 0;
		}
		const used = w.times.length - w.head;
		const resetMs = used ? Math.max(0, w.times[w.head] + policy.windowMs - now) : policy.windowMs;
		if (used + cost > policy.limit) return { ok: false, policy, remaining: 0, resetMs };
		for (let i = 0; i < cost; i++) w.times.push(now);
		return { ok: true, policy, remaining: policy.limit - used - cost, resetMs };
	}

	/** Checks several policies; the first refusal wins (nothing is counted then). */
	hitAll(policies: RatePolicy[], key = ''): RateDecision | undefined {
		let last: RateDecision | undefined;
		for (const p of policies) {
			const d = this.peek(p, key);
			if (!d.ok) return d;
		}
		for (const p of policies) last = this.hit(p, key);
		return last;
	}

	/** Like hit() without counting. */
	peek(policy: RatePolicy, key = ''): RateDecision {
		if (this.isForced(policy)) return this.forcedRefusal(policy);
		if (!this.enabled || this.forced) return { ok: true, policy, remaining: policy.limit, resetMs: 0 };
		const w = this.windows.get(`${policy.name}\u0000${key}`);
		const now = Date.now();
		if (!w) return { ok: true, policy, remaining: policy.limit, resetMs: policy.windowMs };
		while (w.head < w.times.length && w.times[w.head] <= now - policy.windowMs) w.head++;
		const used = w.times.length - w.head;
		const resetMs = used ? Math.max(0, w.times[w.head] + policy.windowMs - now) : policy.windowMs;
		return { ok: used < policy.limit, policy, remaining: Math.max(0, policy.limit - used), resetMs };
	}

	/** Requests counted in the current window. */
	used(policy: RatePolicy, key = ''): number {
		return policy.limit - this.peek(policy, key).remaining;
	}

	/**
	 * Runs `decide` (an emulator's rateLimit) with rate limiting on and the policies shorter than a
	 * day ('short') or all policies ('all') refusing and the others passing: the injected throttle
	 * fault. Nothing is counted.
	 */
	refusing<T>(which: 'short' | 'all', decide: () => T): T {
		const enabled = this.enabled;
		this.enabled = true;
		this.forced = which;
		try {
			return decide();
		} finally {
			this.enabled = enabled;
			this.forced = undefined;
		}
	}

	private isForced(policy: RatePolicy): boolean {
		return this.forced === 'all' || (this.forced === 'short' && policy.windowMs < DAY_MS);
	}

	private forcedRefusal(policy: RatePolicy): RateDecision {
		return { ok: false, policy, remaining: 0, resetMs: Math.min(1000, policy.windowMs) };
	}

	clear(): void {
		this.windows.clear();
	}
}
