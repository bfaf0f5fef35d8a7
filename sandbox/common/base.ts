// BaseEmulator: everything the five CRM emulators share. A subclass supplies its routes,
// authentication reply, seed conversion and wire shapes (see the guide in ./types.ts).
//
// Request pipeline for API paths (everything outside /__admin/):
//   faults (latency, drop, hang, 5xx) -> body read (size limit, 413) -> body parse
//   -> route match (404/405) -> authenticate (unless route is public) -> rate limit hook
//   -> handler -> decorate (CRM headers such as Sforce-Limit-Info) -> send.
// Handlers may `throw new ReplyError(reply)` to answer early from nested helpers.

import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Clock } from './clock';
import { RecordStore } from './store';
import { TokenAuthority } from './auth';
import { RateLimiter } from './ratelimit';
import { FaultInjector } from './faults';
import { RetryPolicy, WebhookDispatcher } from './webhooks';
import { generateSeed, SeedData } from './seed';
import { json, Reply, RequestContext, RouteOptions, Router } from './router';
import type {
	CrmName,
	Emulator,
	EmulatorOptions,
	ApiRequestRecord,
	FaultOptions,
	RecordDump,
	SeedOptions,
	SeedSummary,
	WebhookDelivery,
	WebhookSubscription,
} from './types';

/** Thrown by handlers/helpers to answer with `reply` immediately. */
export class ReplyError extends Error {
	constructor(readonly reply: Reply) {
		super(`reply ${reply.status}`);
	}
}

/** CRM defaults a subclass passes to the base constructor. */
export interface CrmDefaults {
	/** Documented access-token lifetime in ms. */
	tokenLifetimeMs: number;
	/** Access-token prefix (flavour only). */
	tokenPrefix?: string;
	/** Webhook retry rules of the CRM. */
	webhookRetry: RetryPolicy;
	/** Per-attempt webhook timeout in ms. */
	webhookTimeoutMs: number;
}

const DEFAULT_MAX_BODY = 20 * 1024 * 1024;

export abstract class BaseEmulator implements Emulator {
	abstract readonly crm: CrmName;
	readonly clock = new Clock();
	readonly store = new RecordStore(this.clock);
	readonly tokens: TokenAuthority;
	readonly limiter: RateLimiter;
	readonly faults: FaultInjector;
	readonly webhooks: WebhookDispatcher;
	readonly subscriptions = new Map<string, WebhookSubscription>();
	/** Count of API requests handled (not admin). */
	requestCount = 0;
	private readonly requestLog: ApiRequestRecord[] = [];

	protected readonly router = new Router();
	protected readonly adminRouter = new Router();
	private server: Server | undefined;
	private baseUrl = '';
	private readonly sockets = new Set<Socket>();
	private readonly hanging = new Set<ServerResponse>();
	private initialised = false;
	private subscriptionSeq = 0;

	protected constructor(
		protected readonly opts: EmulatorOptions,
		defaults: CrmDefaults,
	) {
		this.tokens = new TokenAuthority({
			strict: opts.strictAuth,
			lifetimeMs: opts.tokenLifetimeMs ?? defaults.tokenLifetimeMs,
			prefix: defaults.tokenPrefix,
		});
		this.limiter = new RateLimiter(opts.rateLimits ?? false);
		this.faults = new FaultInjector(opts.faults);
		this.webhooks = new WebhookDispatcher({
			retry: defaults.webhookRetry,
			timeoutMs: opts.webhookTimeoutMs ?? defaults.webhookTimeoutMs,
			delayScale: opts.webhookRetryDelayScale ?? 1,
			faults: this.faults,
		});
	}

	// ---- subclass hooks -------------------------------------------------------------------

	/** Registers the CRM's API routes. */
	protected abstract registerRoutes(router: Router): void;

	/**
	 * Authenticates an API request. Return a reply (the CRM's 401) to refuse, or undefined to
	 * accept; set ctx.token to the accepted token (used as rate-limit key).
	 */
	protected abstract authenticate(ctx: RequestContext): Reply | undefined;

	/** Converts neutral seed data into records; returns counts per CRM object type. */
	protected abstract applySeed(data: SeedData): SeedSummary;

	/** Rate limiting for an authenticated API request; return the CRM's throttle reply to refuse. */
	protected rateLimit(_ctx: RequestContext, _options: RouteOptions): Reply | undefined {
		return undefined;
	}

	/** Adds CRM headers to every API reply (e.g. usage headers). */
	protected decorate(_ctx: RequestContext, _reply: Reply): void {}

	/** Reply for an injected throttle fault: the CRM's own reply for its shortest window, else its daily one. */
	private injectedThrottle(ctx: RequestContext, options: RouteOptions): Reply | undefined {
		const state = ctx.state;
		ctx.state = { ...state };
		const short = this.limiter.refusing('short', () => this.rateLimit(ctx, options));
		ctx.state = state; // a pass that let the request through must leave no trace (usage headers)
		return short ?? this.limiter.refusing('all', () => this.rateLimit(ctx, options));
	}

	/** Reply for an injected 5xx fault. */
	protected faultReply(_ctx: RequestContext): Reply {
		return json(503, { error: 'Service Unavailable', message: 'injected fault (sandbox)' });
	}

	protected notFoundReply(ctx: RequestContext, methodMismatch: boolean): Reply {
		return methodMismatch
			? json(405, { error: 'method not allowed', message: `${ctx.method} not allowed on ${ctx.path}` })
			: json(404, { error: 'not found', message: `no route for ${ctx.method} ${ctx.path}` });
	}

	/** Reply for an unparseable body (e.g. invalid JSON). */
	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return json(400, { error: 'bad request', message });
	}

	protected payloadTooLargeReply(): Reply {
		return json(413, { error: 'payload too large' });
	}

	/** Reply for an unexpected exception in a handler (a sandbox bug; logged to stderr). */
	protected internalErrorReply(_ctx: RequestContext, err: unknown): Reply {
		return json(500, { error: 'internal error', message: String((err as Error)?.message ?? err) });
	}

	/** Extra admin routes (under /__admin/). */
	protected registerAdminRoutes(_router: Router): void {}

	/** Called by reset() after the shared state is cleared. */
	protected onReset(): void {}

	/** Sends out anything a CRM batches (e.g. HubSpot's ≤100-event batches) before idle checks. */
	protected flushWebhookBatches(): void {}

	/**
	 * Records in the CRM's wire shape. Default: every collection, each record as
	 * {id, ...fields, createdAt, updatedAt, deletedAt?}.
	 */
	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const type of this.store.types()) {
			out[type] = [...this.store.require(type).values({ includeDeleted: true })].map((r) => ({
				id: r.id,
				...r.fields,
				createdAt: r.createdAt,
				updatedAt: r.updatedAt,
				...(r.deletedAt !== undefined ? { deletedAt: r.deletedAt } : {}),
			}));
		}
		return out;
	}

	/**
	 * Validates and stores an admin-created subscription. Subclasses override to check their
	 * own fields (event types, secrets) and call super.
	 */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		const url = spec.url;
		if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new ReplyError(json(400, { error: 'subscription needs an http(s) url' }));
		const id = typeof spec.id === 'string' && spec.id ? spec.id : String(++this.subscriptionSeq);
		const sub: WebhookSubscription = { ...spec, id, url };
		this.subscriptions.set(id, sub);
		return sub;
	}

	// ---- Emulator contract ------------------------------------------------------------------

	get url(): string {
		return this.baseUrl;
	}

	async start(): Promise<string> {
		this.init();
		if (this.server) return this.baseUrl;
		const server = createServer({ keepAlive: true }, (req, res) => void this.handle(req, res));
		server.keepAliveTimeout = 5000;
		server.on('connection', (s) => {
			this.sockets.add(s);
			s.on('close', () => this.sockets.delete(s));
		});
		const host = this.opts.host ?? '127.0.0.1';
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.opts.port ?? 0, host, () => resolve());
		});
		this.server = server;
		const addr = server.address();
		const port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
		this.baseUrl = `http://${host}:${port}`;
		if (this.opts.seed) this.seed(this.opts.seed);
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		this.webhooks.stop();
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		for (const res of this.hanging) res.destroy();
		this.hanging.clear();
		const closed = new Promise<void>((resolve) => server.close(() => resolve()));
		for (const s of this.sockets) s.destroy();
		await closed;
	}

	reset(): void {
		this.init();
		this.store.clear();
		this.clock.reset();
		this.tokens.clear();
		this.limiter.clear();
		this.webhooks.cancelAll();
		this.webhooks.clearDeliveries();
		this.subscriptions.clear();
		this.requestCount = 0;
		this.requestLog.length = 0;
		this.onReset();
	}

	seed(opts: SeedOptions = {}): SeedSummary {
		this.init();
		return this.applySeed(generateSeed(opts));
	}

	dump(): RecordDump {
		this.init();
		return this.dumpRecords();
	}

	deliveries(): WebhookDelivery[] {
		return this.webhooks.deliveries();
	}

	requests(): ApiRequestRecord[] {
		return [...this.requestLog];
	}

	async webhooksIdle(): Promise<void> {
		this.flushWebhookBatches();
		await this.webhooks.idle();
	}

	setFaults(faults: FaultOptions): void {
		this.faults.set(faults);
	}

	setRateLimits(enabled: boolean): void {
		this.limiter.enabled = enabled;
		this.limiter.clear();
	}

	setStrictAuth(strict: boolean): void {
		this.tokens.strict = strict;
	}

	setTokenLifetime(ms: number): void {
		this.tokens.lifetimeMs = ms;
	}

	// ---- request handling -------------------------------------------------------------------

	private init(): void {
		if (this.initialised) return;
		this.initialised = true;
		this.registerRoutes(this.router);
		this.registerBaseAdminRoutes();
		this.registerAdminRoutes(this.adminRouter);
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://sandbox');
		const ctx: RequestContext = {
			method: (req.method ?? 'GET').toUpperCase(),
			path: url.pathname,
			url: new URL(req.url ?? '/', this.baseUrl || 'http://127.0.0.1'),
			query: url.searchParams,
			params: {},
			headers: req.headers,
			rawBody: Buffer.alloc(0),
			body: undefined,
			state: {},
		};
		const isAdmin = ctx.path.startsWith('/__admin/');
		let throttled = false;
		let lostReply = false;
		try {
			if (!isAdmin) {
				this.requestCount++;
				const fault = this.faults.forRequest(ctx.path, ctx.method);
				const entry: ApiRequestRecord = { seq: this.requestCount, method: ctx.method, path: ctx.path, at: Date.now(), fault: fault.kind === 'none' ? undefined : fault.kind };
				res.once('close', () => {
					if (res.headersSent) entry.status = res.statusCode;
					this.requestLog.push(entry);
				});
				if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
				if (fault.kind === 'drop') {
					req.socket.destroy();
					return;
				}
				if (fault.kind === 'hang') {
					this.hang(res);
					req.resume();
					return;
				}
				if (fault.kind === 'error') {
					req.resume();
					return this.send(res, this.faultReply(ctx));
				}
				throttled = fault.kind === 'throttle';
				lostReply = fault.kind === 'lostReply';
			}
			const raw = await readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY);
			if (raw === undefined) return this.send(res, this.payloadTooLargeReply(), true);
			ctx.rawBody = raw;
			try {
				ctx.body = parseBody(raw, req.headers['content-type']);
			} catch (err) {
				return this.send(res, this.badBodyReply(ctx, (err as Error).message));
			}
			const m = (isAdmin ? this.adminRouter : this.router).match(ctx.method, ctx.path);
			if (!('handler' in m)) return this.send(res, this.notFoundReply(ctx, m.methodMismatch));
			ctx.params = m.params;
			let reply: Reply | undefined;
			if (!isAdmin && !m.options.public) {
				reply = this.authenticate(ctx) ?? (throttled ? this.injectedThrottle(ctx, m.options) : undefined) ?? this.rateLimit(ctx, m.options);
			}
			if (!reply) reply = await m.handler(ctx);
			if (!isAdmin) this.decorate(ctx, reply);
			if (lostReply) return this.hang(res);
			this.send(res, reply);
		} catch (err) {
			if (err instanceof ReplyError) {
				if (!isAdmin) this.decorate(ctx, err.reply);
				return this.send(res, err.reply);
			}
			console.error(`[sandbox ${this.crm}] ${ctx.method} ${ctx.path}:`, err);
			this.send(res, this.internalErrorReply(ctx, err));
		}
	}

	/** Never answers; the connection stays open until the client gives up or the emulator closes. */
	private hang(res: ServerResponse): void {
		this.hanging.add(res);
		res.on('close', () => this.hanging.delete(res));
	}

	private send(res: ServerResponse, reply: Reply, close = false): void {
		if (res.destroyed || res.headersSent) return;
		const headers: Record<string, string | number | string[]> = { ...(reply.headers ?? {}) };
		const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
		let payload: string | Buffer | undefined;
		if (reply.status === 204 || reply.status === 304 || reply.body === undefined) payload = undefined;
		else if (Buffer.isBuffer(reply.body)) payload = reply.body;
		else if (typeof reply.body === 'string') {
			payload = reply.body;
			if (!hasType) headers['Content-Type'] = 'text/plain; charset=utf-8';
		} else {
			payload = JSON.stringify(reply.body);
			if (!hasType) headers['Content-Type'] = 'application/json;charset=utf-8';
		}
		if (payload !== undefined) headers['Content-Length'] = Buffer.byteLength(payload);
		if (close) headers['Connection'] = 'close';
		res.writeHead(reply.status, headers);
		res.end(payload);
	}

	private registerBaseAdminRoutes(): void {
		const r = this.adminRouter;
		r.get('/__admin/health', () =>
			json(200, {
				crm: this.crm,
				url: this.baseUrl,
				requests: this.requestCount,
				hanging: this.hanging.size,
				records: Object.fromEntries(this.store.types().map((t) => [t, this.store.require(t).size])),
			}),
		);
		r.post('/__admin/reset', (ctx) => {
			this.reset();
			const seedOpts = (ctx.body as { seed?: SeedOptions } | undefined)?.seed;
			return json(200, { reset: true, seeded: seedOpts ? this.seed(seedOpts) : undefined });
		});
		r.post('/__admin/seed', (ctx) => json(200, this.seed((ctx.body as SeedOptions) ?? {})));
		r.get('/__admin/dump', (ctx) => {
			const all = this.dump();
			const type = ctx.query.get('type');
			return json(200, type ? { [type]: all[type] ?? [] } : all);
		});
		r.get('/__admin/webhooks/deliveries', () => json(200, this.deliveries()));
		r.get('/__admin/requests', () => json(200, this.requests()));
		r.delete('/__admin/webhooks/deliveries', () => {
			this.webhooks.clearDeliveries();
			return { status: 204 };
		});
		r.post('/__admin/webhooks/idle', async () => {
			await this.webhooksIdle();
			return json(200, { deliveries: this.deliveries().length });
		});
		r.get('/__admin/webhooks/subscriptions', () => json(200, [...this.subscriptions.values()]));
		r.post('/__admin/webhooks/subscriptions', (ctx) => json(201, this.addSubscription((ctx.body as Record<string, unknown>) ?? {})));
		r.delete('/__admin/webhooks/subscriptions/:id', (ctx) =>
			this.subscriptions.delete(ctx.params.id) ? { status: 204 } : json(404, { error: 'no such subscription' }),
		);
		r.get('/__admin/faults', () => json(200, this.faults.get()));
		r.post('/__admin/faults', (ctx) => {
			try {
				this.setFaults((ctx.body as FaultOptions) ?? {});
			} catch (err) {
				return json(400, { error: (err as Error).message });
			}
			return json(200, this.faults.get());
		});
		r.post('/__admin/rate-limits', (ctx) => {
			this.setRateLimits(Boolean((ctx.body as { enabled?: boolean } | undefined)?.enabled));
			return json(200, { enabled: this.limiter.enabled });
		});
		r.post('/__admin/auth', (ctx) => {
			const b = (ctx.body ?? {}) as { strict?: boolean; tokenLifetimeMs?: number; expireAll?: boolean };
			if (b.strict !== undefined) this.setStrictAuth(Boolean(b.strict));
			if (typeof b.tokenLifetimeMs === 'number') this.setTokenLifetime(b.tokenLifetimeMs);
			if (b.expireAll) this.tokens.expireAll();
			return json(200, { strict: this.tokens.strict, tokenLifetimeMs: this.tokens.lifetimeMs });
		});
	}
}

/** Reads the whole body; undefined when it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
	return new Promise((resolve, reject) => {
		const declared = Number(req.headers['content-length']);
		if (Number.isFinite(declared) && declared > limit) {
			req.resume();
			return resolve(undefined);
		}
		const chunks: Buffer[] = [];
		let size = 0;
		let tooLarge = false;
		req.on('data', (c: Buffer) => {
			size += c.length;
			if (size > limit) tooLarge = true;
			else chunks.push(c);
		});
		req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

/** JSON -> value, form -> {key: value}, anything else non-empty -> text. */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
	if (raw.length === 0) return undefined;
	const type = (contentType ?? '').toLowerCase();
	const text = raw.toString('utf8');
	if (type.includes('json')) {
		try {
			return JSON.parse(text);
		} catch (err) {
			throw new Error(`invalid JSON body: ${(err as Error).message}`);
		}
	}
	if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
	return text;
}
