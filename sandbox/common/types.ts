// The contract every CRM emulator in sandbox/ fulfils, plus shared option types.
//
// HOW TO ADD AN EMULATOR (for sandbox/<crm>/index.ts):
//   1. `export function createEmulator(opts?: EmulatorOptions): Emulator` — that name is what
//      sandbox/index.ts and sandbox/main.ts load.
//   2. Easiest: `class XEmulator extends BaseEmulator` (sandbox/common/base.ts). The base owns the
//      node:http server, body parsing, fault injection, the record store, the clock, tokens,
//      rate limiting, webhooks and the `/__admin/` API. A subclass only:
//        - registers its routes in `registerRoutes(router)` (sandbox/common/router.ts);
//        - implements `authenticate(ctx)` (read its own auth header, call `this.tokens.check`)
//          and returns its own 401 reply;
//        - implements `applySeed(data)` to turn CRM-neutral SeedData into its own records;
//        - optionally overrides `dumpRecords()` (records in the CRM's own wire shape for
//          /__admin/dump), `rateLimit(ctx, routeOptions)` (count with `this.limiter`, return
//          the CRM's throttle reply), `decorate(ctx, reply)` (usage headers), `faultReply`,
//          `notFoundReply`, `badBodyReply`, `payloadTooLargeReply`, `internalErrorReply`,
//          `registerAdminRoutes` (extra /__admin/ calls), `onReset`, `flushWebhookBatches`,
//          and `addSubscription` (validate admin-created webhook subscriptions, then super).
//      Webhooks: `this.webhooks.send({subscriptionId, url, build(attempt), retry?, serialKey?})`;
//      writes: `this.store.define(type, {idGen, indexes})` in the constructor, then
//      insert/update/softDelete/findBy/changedSince on the Collection (see store.ts).
//   3. The emulator's `url` is the base URL the CRM's client takes (see CRM_BASE_URL_NOTES).
//
// sandbox/ must not import lib/ (tests would otherwise prove nothing), so CrmName lives here.

/** The five emulated CRMs, in port order (7101..7105). */
export const SANDBOX_CRMS = ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'] as const;
export type CrmName = (typeof SANDBOX_CRMS)[number];

/** Fixed loopback ports used by `npm run sandbox`. */
export const DEFAULT_PORTS: Record<CrmName, number> = {
	salesforce: 7101,
	hubspot: 7102,
	pipedrive: 7103,
	zoho: 7104,
	dynamics: 7105,
};

/** What the printed base URL means for each CRM's client. */
export const CRM_BASE_URL_NOTES: Record<CrmName, string> = {
	salesforce: 'jsforce instanceUrl and loginUrl (/services/oauth2/token, /services/data/vXX.X, /services/Soap/u/XX.X)',
	hubspot: '@hubspot/api-client basePath (/crm/v3/..., /oauth/v1/token)',
	pipedrive: 'host: SDK basePath host/api/v2 and host/v1 (also host/api/v1), OAuth host/oauth/token',
	zoho: 'api_domain: client appends /crm/v6; the same server serves /oauth/v2/token',
	dynamics: 'org URL: client appends /api/data/v9.2; the same server serves /{tenant}/oauth2/v2.0/token',
};

/** Fault injection settings. All rates are probabilities 0..1 drawn from a seeded PRNG. */
export interface FaultOptions {
	/** Seed of the fault PRNG (default 1). Same seed + same request order = same faults. */
	seed?: number;
	/** Share of API requests answered with the CRM's 5xx reply (see BaseEmulator.faultReply). */
	errorRate?: number;
	/** Added latency per API request in ms: fixed, or [min, max] drawn uniformly. */
	latencyMs?: number | [number, number];
	/** Share of API requests that never get a response (the client must time out). */
	hangRate?: number;
	/** Share of API requests whose TCP connection is destroyed without a response. */
	dropRate?: number;
	/** Share of API requests carried out whose reply never arrives (the change is made; the client must time out). */
	lostReplyRate?: number;
	/**
	 * Share of authenticated API requests refused with the CRM's own throttle reply, as if its
	 * shortest rate-limit window were used up (Retry-After about 1 s), whether or not rate limits
	 * are on. CRMs whose only limit is daily answer their daily-limit reply.
	 */
	throttleRate?: number;
	/** Only requests whose path matches this regex source are faulted (default: all API paths). */
	pathPattern?: string;
	/** Only requests with this method (e.g. POST) are faulted (default: any). */
	method?: string;
	/** Request faults stop after this many (default: no limit); e.g. 1 faults only the first matching request. */
	maxFaults?: number;
	/** Share of webhook deliveries sent twice. */
	webhookDuplicateRate?: number;
	/** Share of webhook deliveries held back by up to `webhookReorderWindowMs` so later ones overtake. */
	webhookReorderRate?: number;
	/** Max hold-back for reordered deliveries (default 50 ms). */
	webhookReorderWindowMs?: number;
}

/** Options of the deterministic seed data generator (sandbox/common/seed.ts). */
export interface SeedOptions {
	/** PRNG seed (default 42). */
	seed?: number;
	contacts?: number;
	companies?: number;
	deals?: number;
	activities?: number;
	/** Only for CRMs with leads: how many leads (default 0). */
	leads?: number;
	/** Share (0..1) of contacts that are near-duplicates of an earlier contact (default 0.05). */
	duplicateShare?: number;
}

export interface EmulatorOptions {
	/** Listen port; 0 (default) = random free port. */
	port?: number;
	/** Listen host (default 127.0.0.1). */
	host?: string;
	/** Turn on the CRM's documented rate limits (default off). */
	rateLimits?: boolean;
	/** Accept only issued, unexpired tokens (default: any non-empty token that is not a known expired one). */
	strictAuth?: boolean;
	/** Lifetime of issued access tokens in ms (default: the CRM's documented lifetime). */
	tokenLifetimeMs?: number;
	faults?: FaultOptions;
	/** Seed data loaded at start (default: none). */
	seed?: SeedOptions;
	/** Request body size limit in bytes (default 20 MiB); larger bodies get 413. */
	maxBodyBytes?: number;
	/** Multiplier for webhook retry delays (default 1; tests use e.g. 0.001 to retry fast). */
	webhookRetryDelayScale?: number;
	/** Per-attempt webhook delivery timeout in ms (default: the CRM's documented timeout). */
	webhookTimeoutMs?: number;
}

/** One webhook HTTP attempt, as recorded by the dispatcher (GET /__admin/webhooks/deliveries). */
export interface WebhookDelivery {
	/** Sequence number of the attempt within this emulator. */
	seq: number;
	/** Logical delivery id: all attempts (and injected duplicates) of one message share it. */
	deliveryId: number;
	subscriptionId: string;
	url: string;
	/** 1-based attempt number. */
	attempt: number;
	duplicate: boolean;
	headers: Record<string, string>;
	/** Raw request body exactly as sent (signatures are computed over this). */
	body: string;
	sentAt: number;
	/** Response status, when a response arrived. */
	status?: number;
	responseBody?: string;
	error?: string;
	/** True when the receiver's answer counts as success under the CRM's rules. */
	ok: boolean;
	durationMs?: number;
}

/** One API request (not admin), as logged when its connection closed (GET /__admin/requests). */
export interface ApiRequestRecord {
	/** Sequence number among this emulator's API requests. */
	seq: number;
	method: string;
	/** Path without the query string. */
	path: string;
	/** When it arrived (ms since epoch). */
	at: number;
	/** Status sent; missing when no response was sent (hang, drop). */
	status?: number;
	/** The injected fault, if any. */
	fault?: 'error' | 'hang' | 'drop' | 'throttle' | 'lostReply';
}

/** A webhook subscription (created by a CRM's own API or by the admin API). */
export interface WebhookSubscription {
	id: string;
	url: string;
	/** CRM-specific settings (event types, secrets, auth, ...). */
	[key: string]: unknown;
}

/** Records of one object type, as returned by /__admin/dump. */
export type RecordDump = Record<string, unknown[]>;

/** What every emulator exposes to in-process users (tests, benchmarks, sandbox/main.ts). */
export interface Emulator {
	readonly crm: CrmName;
	/** Base URL the CRM's client takes (see CRM_BASE_URL_NOTES); valid after start(). */
	readonly url: string;
	/** Listen and resolve with the base URL. */
	start(): Promise<string>;
	/** Close the server, drop open connections, stop webhook retries. */
	stop(): Promise<void>;
	/** Drop all records, tokens, subscriptions, deliveries and counters; keep options. */
	reset(): void;
	/** Load deterministic seed data (in addition to existing records). */
	seed(opts?: SeedOptions): SeedSummary;
	/** All records (including soft-deleted) in the CRM's own wire shape. */
	dump(): RecordDump;
	/** Recorded webhook attempts. */
	deliveries(): WebhookDelivery[];
	/** Logged API requests (admin calls excluded), in the order their connections closed. */
	requests(): ApiRequestRecord[];
	/** Resolves when no webhook delivery is queued, in flight or waiting for a retry. */
	webhooksIdle(): Promise<void>;
	setFaults(faults: FaultOptions): void;
	setRateLimits(enabled: boolean): void;
	setStrictAuth(strict: boolean): void;
	setTokenLifetime(ms: number): void;
	/** Add a webhook subscription (for CRMs without their own subscription API). */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription;
}

/** Counts of seeded records per neutral kind. */
export type SeedSummary = Record<string, number>;

/** The factory each sandbox/<crm>/index.ts exports as `createEmulator`. */
export type EmulatorFactory = (opts?: EmulatorOptions) => Emulator;
