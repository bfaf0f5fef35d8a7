// Fault injection for API requests and webhook deliveries, driven by a seeded PRNG so a
// given seed and request order reproduce the same faults.

import type { FaultOptions } from './types';
import { Prng } from './prng';

export type RequestFault = { kind: 'none' | 'error' | 'hang' | 'drop' | 'throttle' | 'lostReply'; latencyMs: number };

export class FaultInjector {
	private opts: FaultOptions = {};
	private prng = new Prng(1);
	private pathRegex: RegExp | undefined;
	private injected = 0;

	constructor(opts: FaultOptions = {}) {
		this.set(opts);
	}

	/** Replaces all fault settings (and re-seeds the PRNG). */
	set(opts: FaultOptions): void {
		for (const k of ['errorRate', 'hangRate', 'dropRate', 'lostReplyRate', 'throttleRate', 'webhookDuplicateRate', 'webhookReorderRate'] as const) {
			const v = opts[k];
			if (v !== undefined && (typeof v !== 'number' || v < 0 || v > 1)) throw new Error(`fault ${k} must be a number in 0..1`);
		}
		if (opts.maxFaults !== undefined && (!Number.isInteger(opts.maxFaults) || opts.maxFaults < 0)) throw new Error('fault maxFaults must be a whole number ≥ 0');
		this.opts = { ...opts };
		this.injected = 0;
		this.prng = new Prng(opts.seed ?? 1);
		this.pathRegex = opts.pathPattern ? new RegExp(opts.pathPattern) : undefined;
	}

	get(): FaultOptions {
		return { ...this.opts };
	}

	/** Decides the fault for one API request (one PRNG draw per configured kind). */
	forRequest(path: string, method = 'GET'): RequestFault {
		const fault = this.opts.method && this.opts.method.toUpperCase() !== method.toUpperCase() ? { kind: 'none' as const, latencyMs: 0 } : this.draw(path);
		if (fault.kind === 'none') return fault;
		if (this.opts.maxFaults !== undefined && this.injected >= this.opts.maxFaults) return { kind: 'none', latencyMs: fault.latencyMs };
		this.injected++;
		return fault;
	}

	private draw(path: string): RequestFault {
		const o = this.opts;
		if (this.pathRegex && !this.pathRegex.test(path)) return { kind: 'none', latencyMs: 0 };
		let latencyMs = 0;
		if (typeof o.latencyMs === 'number') latencyMs = o.latencyMs;
		else if (Array.isArray(o.latencyMs)) latencyMs = this.prng.int(o.latencyMs[0], o.latencyMs[1]);
		if (this.prng.chance(o.dropRate)) return { kind: 'drop', latencyMs };
		if (this.prng.chance(o.hangRate)) return { kind: 'hang', latencyMs };
		if (this.prng.chance(o.errorRate)) return { kind: 'error', latencyMs };
		if (this.prng.chance(o.throttleRate)) return { kind: 'throttle', latencyMs };
		if (this.prng.chance(o.lostReplyRate)) return { kind: 'lostReply', latencyMs };
		return { kind: 'none', latencyMs };
	}

	/** Whether to send a webhook delivery twice. */
	duplicateWebhook(): boolean {
		return this.prng.chance(this.opts.webhookDuplicateRate);
	}

	/** Extra hold-back (ms) for a webhook delivery so later ones overtake it; 0 = none. */
	reorderDelayMs(): number {
		if (!this.prng.chance(this.opts.webhookReorderRate)) return 0;
		return this.prng.int(1, this.opts.webhookReorderWindowMs ?? 50);
	}
}
