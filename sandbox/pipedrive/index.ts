// Pipedrive emulator: API v2 (persons, organizations, deals, activities, pipelines, stages) and v1
// (leads, notes, merge, recents, webhooks, users), OAuth token endpoint, burst/daily rate limits,
// webhooks 1.0/2.0.
// Base URL = the "host" the pipedrive SDK takes (v2 basePath host/api/v2, v1 host/v1 or host/api/v1).

import { randomUUID } from 'node:crypto';
import { BaseEmulator, ReplyError } from '../common/base';
import { bearerToken } from '../common/auth';
import { json, header, Reply, RequestContext, RouteOptions, Router } from '../common/router';
import { Collection, Fields, StoredRecord } from '../common/store';
import type { SeedData } from '../common/seed';
import type { Emulator, EmulatorOptions, RecordDump, SeedSummary, WebhookSubscription } from '../common/types';
import type { RatePolicy } from '../common/ratelimit';
import { v1Fields, v2Fields } from './fields';
import { registerUiAdminRoutes } from './admin-ui';
import { COMPANY_CREATED_MS, DEFAULT_PIPELINE, DEFAULT_STAGES, DEFAULT_USERS, STANDARD_CURRENCY_CODES, cleanCustomCurrency, cleanPipeline, cleanStage, cleanUser, currencyWire, pipelineWire, stageWire, standardCurrency, userWire } from './metadata';
import {
	COLLECTION,
	COMPANY_ID,
	PdType,
	USER_ID,
	V2_TYPES,
	ValidationError,
	cleanInput,
	leadId,
	parseTime,
	phoneDigits,
	phoneKey,
	toV1,
	toV2,
	toWire,
	v1Time,
} from './shapes';
import {
	ChangeSource,
	MAX_WEBHOOKS_PER_USER,
	PIPEDRIVE_RETRY,
	PIPEDRIVE_WEBHOOK_TIMEOUT_MS,
	PdEvent,
	PdWebhook,
	V2Action,
	buildRequest,
	newWebhook,
	subscribed,
} from './webhooks';

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';
const NAMES: Record<PdType, string> = { person: 'Person', organization: 'Organization', deal: 'Deal', activity: 'Activity', lead: 'Lead', note: 'Note' };

/**
 * Pipedrive's failure envelope. `errorCode` only where it was seen: on 401 and 429 (crm-wire) and
 * v1 403 (v1-error-403-scope-url-mismatch-amp.json); the v2 404 (v2-error-404-spec-example.json),
 * 400s and the feature-capping 403 carry none.
 */
export function pdError(status: number, error: string, extra: Fields = {}): Reply {
	const errorCode = status === 401 || status === 429 ? { errorCode: status } : {};
	return json(status, { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null, ...errorCode, ...extra });
}

function fail(status: number, error: string, extra: Fields = {}): never {
	throw new ReplyError(pdError(status, error, extra));
}

/**
 * Documented numbers (Professional plan, one seat; see sandbox/README.md): burst per 2 s window
 * 80 requests with an API token, 320 with OAuth, search 10; daily budget 30,000 tokens with
 * costs get 2, list 20, write 10, search 40.
 */
const BURST_API_TOKEN: RatePolicy = { name: 'burst-api-token', limit: 80, windowMs: 2000 };
const BURST_OAUTH: RatePolicy = { name: 'burst-oauth', limit: 320, windowMs: 2000 };
const BURST_SEARCH: RatePolicy = { name: 'burst-search', limit: 10, windowMs: 2000 };
const DAILY: RatePolicy = { name: 'daily-tokens', limit: 30000, windowMs: 24 * 3600 * 1000 };
const COST: Record<string, number> = { get: 2, list: 20, write: 10, search: 40 };

const REF_FIELDS = ['person_id', 'org_id', 'organization_id', 'deal_id'];

/** Company metadata collections (not PdType: no webhooks, recents or search). */
type MetaType = 'pipelines' | 'stages' | 'users' | 'currencies';
const META_TYPES: MetaType[] = ['pipelines', 'stages', 'users', 'currencies'];
const META_NAMES: Record<MetaType, string> = { pipelines: 'Pipeline', stages: 'Stage', users: 'User', currencies: 'Currency' };
/** `ids` of a v2 list takes at most this many ids (SDK 33 docs). */
const MAX_IDS = 100;

/** Searchable fields per type (the SDK's `fields` enums). */
const SEARCH_FIELDS: Partial<Record<PdType, string[]>> = {
	person: ['name', 'email', 'phone', 'notes', 'custom_fields'],
	organization: ['name', 'address', 'notes', 'custom_fields'],
	deal: ['title', 'notes', 'custom_fields'],
	lead: ['title', 'notes', 'custom_fields'],
};

/** References re-pointed to the survivor when records are merged. */
const REFS: Partial<Record<PdType, [PdType, string][]>> = {
	person: [['deal', 'person_id'], ['activity', 'person_id'], ['note', 'person_id'], ['lead', 'person_id']],
	organization: [['person', 'org_id'], ['deal', 'org_id'], ['activity', 'org_id'], ['note', 'org_id'], ['lead', 'organization_id']],
	deal: [['activity', 'deal_id'], ['note', 'deal_id']],
};

interface Cursor {
	/** creation seq (sort by id asc), update time ms (update_time asc) or plain offset */
	s?: number;
	t?: number;
	o?: number;
}

function encodeCursor(c: Cursor): string {
	return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string | null): Cursor {
	if (!raw) return {};
	try {
		const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
		if (typeof c === 'object' && c) return c;
	} catch {
		/* fall through */
	}
	fail(400, 'Invalid cursor');
}

function intParam(q: URLSearchParams, name: string, dflt: number, max: number): number {
	const raw = q.get(name);
	if (raw === null || raw === '') return dflt;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 0) fail(400, `Validation failed: ${name}: Expected a non-negative integer`);
	if (n > max) fail(400, `Validation failed: ${name}: Number must be less than or equal to ${max}`);
	return n === 0 && name === 'limit' ? dflt : n;
}

function ceilSecond(ms: number): number {
	return Math.ceil(ms / 1000) * 1000;
}

export class PipedriveEmulator extends BaseEmulator {
	readonly crm = 'pipedrive' as const;
	private readonly colls = {} as Record<PdType, Collection>;
	private readonly meta = {} as Record<MetaType, Collection>;
	private lastMetaId = {} as Record<MetaType, number>;

	constructor(opts: EmulatorOptions = {}) {
		super(opts, {
			tokenLifetimeMs: 3600 * 1000,
			webhookRetry: PIPEDRIVE_RETRY,
			webhookTimeoutMs: PIPEDRIVE_WEBHOOK_TIMEOUT_MS,
		});
		this.defineCollections();
		this.seedCompany();
	}

	/** Last integer id per type; restarts after reset() like a fresh company. */
	private lastId = {} as Record<PdType, number>;

	private defineCollections(): void {
		for (const type of Object.keys(COLLECTION) as PdType[]) {
			this.lastId[type] = 0;
			const indexes: Record<string, (f: Fields) => unknown> = {};
			// References, so merges find the records to re-point without scanning.
			for (const field of REF_FIELDS) indexes[`ref:${field}`] = (f) => f[field];
			if (type === 'person') {
				indexes.email = (f) => ((f.emails as Fields[]) ?? []).map((e) => e.value);
				indexes.phone = (f) => ((f.phones as Fields[]) ?? []).map((p) => phoneKey(p.value));
			}
			const idGen = type === 'lead' ? leadId : () => String(++this.lastId[type]);
			this.colls[type] = this.store.define(COLLECTION[type], { idGen, indexes });
		}
	}

	protected onReset(): void {
		for (const type of Object.keys(COLLECTION) as PdType[]) this.lastId[type] = 0;
		this.seedCompany();
	}

	/**
	 * What a new Pipedrive company has: the default pipeline with its five stages (ids 1–5) and the
	 * users (the API user and a colleague), dated at the company's creation so they never show
	 * as changes. Called at construction and after every reset.
	 */
	private seedCompany(): void {
		for (const type of META_TYPES) {
			this.lastMetaId[type] = 0;
			this.meta[type] ??= this.store.define(type, { idGen: () => String(++this.lastMetaId[type]) });
		}
		const at = { createdAt: COMPANY_CREATED_MS, updatedAt: COMPANY_CREATED_MS };
		const pipeline = this.meta.pipelines.insert({ ...DEFAULT_PIPELINE, order_nr: 1, is_deal_probability_enabled: true }, at);
		DEFAULT_STAGES.forEach((name, i) =>
			this.meta.stages.insert({ name, pipeline_id: Number(pipeline.id), order_nr: i + 1, deal_probability: 100, is_deal_rot_enabled: false, days_to_rotten: null }, at),
		);
		for (const { id, ...user } of DEFAULT_USERS) {
			this.meta.users.insert({ ...user, default_currency: 'USD', active_flag: true }, { ...at, id: String(id) });
			this.lastMetaId.users = Math.max(this.lastMetaId.users, Number(id));
		}
		for (const code of STANDARD_CURRENCY_CODES) this.meta.currencies.insert(standardCurrency(code), at);
	}

	/** The currency of a deal created without one: "the default currency of the authorized user" (the API user's). */
	defaultCurrency(): string {
		return String(this.meta.users.get(String(USER_ID))!.fields.default_currency ?? 'USD');
	}

	/** A currency by its code (any case), active or not. */
	private currencyByCode(code: unknown): StoredRecord | undefined {
		const wanted = String(code ?? '').toUpperCase();
		return [...this.meta.currencies.values()].find((c) => c.fields.code === wanted);
	}

	/** GET /v1/currencies?term: every currency, active or not; `term` is searched in the code and the name. */
	private listCurrencies(ctx: RequestContext): Reply {
		const term = ctx.query.get('term')?.trim().toLowerCase();
		const rows = [...this.meta.currencies.values()].filter((c) => !term || String(c.fields.code).toLowerCase().includes(term) || String(c.fields.name).toLowerCase().includes(term));
		return json(200, { success: true, data: rows.map(currencyWire) });
	}

	// ---- auth, limits, errors -------------------------------------------------------------

	protected authenticate(ctx: RequestContext): Reply | undefined {
		const apiToken = header(ctx, 'x-api-token') ?? ctx.query.get('api_token') ?? undefined;
		const bearer = bearerToken(ctx.headers.authorization);
		const check = this.tokens.check(apiToken ?? bearer);
		if (!check.ok) {
			return json(401, { success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO });
		}
		ctx.token = check.value;
		ctx.state.oauth = apiToken === undefined;
		return undefined;
	}

	protected rateLimit(ctx: RequestContext, options: RouteOptions): Reply | undefined {
		const bucket = options.bucket ?? 'get';
		const burst = bucket === 'search' ? BURST_SEARCH : ctx.state.oauth ? BURST_OAUTH : BURST_API_TOKEN;
		const key = ctx.token ?? '';
		const daily = this.limiter.peek(DAILY, key);
		if (this.limiter.enabled && daily.remaining < COST[bucket]) return this.throttled(daily.resetMs, DAILY.limit, 'Daily API token budget exceeded');
		const d = this.limiter.hit(burst, key);
		if (!d.ok) return this.throttled(d.resetMs, burst.limit, 'Request over limit');
		this.limiter.hit(DAILY, key, COST[bucket]);
		ctx.state.rate = d;
		return undefined;
	}

	private throttled(resetMs: number, limit: number, message: string): Reply {
		const secs = Math.max(1, Math.ceil(resetMs / 1000));
		const r = pdError(429, message);
		r.headers = { 'Retry-After': String(secs), 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(secs) };
		return r;
	}

	protected decorate(ctx: RequestContext, reply: Reply): void {
		const d = ctx.state.rate as { remaining: number; resetMs: number; policy: RatePolicy } | undefined;
		if (!d || !this.limiter.enabled) return;
		reply.headers = {
			...(reply.headers ?? {}),
			'x-ratelimit-limit': String(d.policy.limit),
			'x-ratelimit-remaining': String(d.remaining),
			'x-ratelimit-reset': String(Math.max(1, Math.ceil(d.resetMs / 1000))),
			'x-daily-requests-left': String(this.limiter.peek(DAILY, ctx.token ?? '').remaining),
		};
	}

	protected faultReply(): Reply {
		return pdError(503, 'Service temporarily unavailable');
	}

	protected notFoundReply(ctx: RequestContext, methodMismatch: boolean): Reply {
		return methodMismatch ? pdError(405, `Method ${ctx.method} not allowed`) : pdError(404, 'Unknown method .');
	}

	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return pdError(400, `Malformed JSON: ${message}`);
	}

	protected internalErrorReply(): Reply {
		return pdError(500, 'Internal server error');
	}

	// ---- routes -------------------------------------------------------------------------------

	protected registerRoutes(r: Router): void {
		r.post('/oauth/token', (ctx) => this.oauthToken(ctx), { public: true });

		for (const type of ['person', 'organization', 'deal', 'lead'] as PdType[]) {
			r.get(`/api/v2/${COLLECTION[type]}/search`, (ctx) => this.search(type, ctx), { bucket: 'search' });
		}
		for (const type of ['person', 'organization', 'deal', 'activity'] as const) {
			r.get(`/api/v2/${type}Fields`, (ctx) => this.fieldList(ctx, v2Fields(type), 'cursor'), { bucket: 'list' });
		}
		r.get('/api/v2/pipelines', (ctx) => this.listMeta('pipelines', ctx, pipelineWire), { bucket: 'list' });
		r.get('/api/v2/pipelines/:id', (ctx) => this.getMeta('pipelines', ctx, pipelineWire), { bucket: 'get' });
		r.post('/api/v2/pipelines', (ctx) => this.createPipeline(ctx), { bucket: 'write' });
		r.get('/api/v2/stages', (ctx) => this.listMeta('stages', ctx, stageWire), { bucket: 'list' });
		r.get('/api/v2/stages/:id', (ctx) => this.getMeta('stages', ctx, stageWire), { bucket: 'get' });
		r.post('/api/v2/stages', (ctx) => this.createStage(ctx), { bucket: 'write' });
		for (const type of V2_TYPES) {
			const base = `/api/v2/${COLLECTION[type]}`;
			r.get(base, (ctx) => this.listV2(type, ctx), { bucket: 'list' });
			r.post(base, (ctx) => this.create(type, ctx), { bucket: 'write' });
			r.get(`${base}/:id`, (ctx) => this.getOne(type, ctx), { bucket: 'get' });
			r.patch(`${base}/:id`, (ctx) => this.update(type, ctx), { bucket: 'write' });
			r.delete(`${base}/:id`, (ctx) => this.remove(type, ctx), { bucket: 'write' });
		}

		for (const v1 of ['/v1', '/api/v1']) {
			r.get(`${v1}/leads`, (ctx) => this.listV1('lead', ctx), { bucket: 'list' });
			r.post(`${v1}/leads`, (ctx) => this.create('lead', ctx), { bucket: 'write' });
			r.get(`${v1}/leads/:id`, (ctx) => this.getOne('lead', ctx), { bucket: 'get' });
			r.patch(`${v1}/leads/:id`, (ctx) => this.update('lead', ctx), { bucket: 'write' });
			r.delete(`${v1}/leads/:id`, (ctx) => this.remove('lead', ctx), { bucket: 'write' });
			r.get(`${v1}/notes`, (ctx) => this.listV1('note', ctx), { bucket: 'list' });
			r.post(`${v1}/notes`, (ctx) => this.create('note', ctx), { bucket: 'write' });
			r.get(`${v1}/notes/:id`, (ctx) => this.getOne('note', ctx), { bucket: 'get' });
			r.put(`${v1}/notes/:id`, (ctx) => this.update('note', ctx), { bucket: 'write' });
			r.delete(`${v1}/notes/:id`, (ctx) => this.remove('note', ctx), { bucket: 'write' });
			r.put(`${v1}/persons/:id/merge`, (ctx) => this.merge('person', ctx), { bucket: 'write' });
			r.put(`${v1}/organizations/:id/merge`, (ctx) => this.merge('organization', ctx), { bucket: 'write' });
			r.put(`${v1}/deals/:id/merge`, (ctx) => this.merge('deal', ctx), { bucket: 'write' });
			r.get(`${v1}/recents`, (ctx) => this.recents(ctx), { bucket: 'list' });
			r.get(`${v1}/leadFields`, (ctx) => this.fieldList(ctx, v1Fields('lead'), 'start'), { bucket: 'list' });
			r.get(`${v1}/users/me`, () => json(200, { success: true, data: this.me() }), { bucket: 'get' });
			r.get(`${v1}/currencies`, (ctx) => this.listCurrencies(ctx), { bucket: 'list' });
			r.get(`${v1}/users`, () => json(200, { success: true, data: [...this.meta.users.values()].map(userWire) }), { bucket: 'list' });
			r.get(`${v1}/users/:id`, (ctx) => this.getMeta('users', ctx, userWire), { bucket: 'get' });
			r.post(`${v1}/users`, (ctx) => this.createUser(ctx), { bucket: 'write' });
			r.get(`${v1}/webhooks`, () => this.listWebhooks(), { bucket: 'list' });
			r.post(`${v1}/webhooks`, (ctx) => this.createWebhook(ctx), { bucket: 'write' });
			r.delete(`${v1}/webhooks/:id`, (ctx) => this.deleteWebhook(ctx), { bucket: 'write' });
		}
	}

	/** `<METHOD> /__admin/ui/<API path>`: the call runs as a colleague in the Pipedrive app (change_source "app"). */
	protected registerAdminRoutes(r: Router): void {
		registerUiAdminRoutes(r, this.router, (c) => this.authenticate(c), () => ({ 'x-api-token': this.tokens.issue({ withRefresh: false }).accessToken }));
		// Settings the API cannot change: custom currencies (Company settings > Currencies) and a
		// user's default currency (Personal preferences).
		r.post('/__admin/currencies', (ctx) => {
			const fields = this.metaInput((body) => cleanCustomCurrency(body, new Set([...this.meta.currencies.values()].map((c) => String(c.fields.code)))), ctx);
			return json(201, { success: true, data: currencyWire(this.meta.currencies.insert(fields)) });
		});
		r.patch('/__admin/currencies/:id', (ctx) => {
			const rec = this.meta.currencies.get(ctx.params.id) ?? fail(404, 'Currency not found');
			const body = (ctx.body ?? {}) as Fields;
			if (Object.keys(body).some((k) => k !== 'active_flag') || typeof body.active_flag !== 'boolean') fail(400, 'Validation failed: only active_flag (boolean) can be changed');
			if (rec.fields.is_custom_flag !== true) fail(400, 'Only custom currencies can be deactivated');
			this.meta.currencies.update(rec.id, { active_flag: body.active_flag });
			return json(200, { success: true, data: currencyWire(rec) });
		});
		r.patch('/__admin/users/:id', (ctx) => {
			const rec = this.meta.users.get(ctx.params.id) ?? fail(404, 'User not found');
			const body = (ctx.body ?? {}) as Fields;
			if (Object.keys(body).some((k) => k !== 'default_currency')) fail(400, 'Validation failed: only default_currency can be changed');
			const currency = this.currencyByCode(body.default_currency);
			if (!currency || currency.fields.active_flag === false) fail(400, `Validation failed: default_currency: ${String(body.default_currency)} is not an active currency`);
			this.meta.users.update(rec.id, { default_currency: currency.fields.code });
			return json(200, { success: true, data: userWire(rec) });
		});
	}

	/** POST /oauth/token (Basic client auth; refresh_token or authorization_code grant). */
	private oauthToken(ctx: RequestContext): Reply {
		const form = (ctx.body ?? {}) as Record<string, string>;
		for (const [k, v] of ctx.query) if (form[k] === undefined) form[k] = v;
		const basic = header(ctx, 'authorization');
		let clientId: string | undefined;
		if (basic?.toLowerCase().startsWith('basic ')) clientId = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':')[0];
		clientId ??= form.client_id;
		if (!clientId) return json(401, { success: false, message: 'Invalid client credentials', error: 'invalid_client' });
		let issued;
		if (form.grant_type === 'refresh_token') {
			issued = this.tokens.refreshAccess(form.refresh_token, clientId);
			if (!issued) return json(400, { success: false, message: 'Invalid grant: refresh token is invalid', error: 'invalid_grant' });
		} else if (form.grant_type === 'authorization_code') {
			if (!form.code) return json(400, { success: false, message: 'Invalid grant: authorization code is invalid', error: 'invalid_grant' });
			issued = this.tokens.issue({ clientId, scope: 'base,deals:full,contacts:full,activities:full,leads:full,admin' });
		} else {
			return json(400, { success: false, message: 'Unsupported grant type', error: 'unsupported_grant_type' });
		}
		return json(200, {
			access_token: issued.accessToken,
			token_type: 'Bearer',
			refresh_token: issued.refreshToken,
			scope: issued.scope ?? 'base',
			expires_in: Math.round((issued.expiresAt - issued.issuedAt) / 1000),
			api_domain: this.url,
		});
	}

	// ---- CRUD -------------------------------------------------------------------------------

	private changeSource(ctx: RequestContext): ChangeSource {
		return header(ctx, 'x-sandbox-change-source') === 'app' ? 'app' : 'api';
	}

	private find(type: PdType, id: string): StoredRecord {
		const rec = this.colls[type].get(id);
		if (!rec) fail(404, `${NAMES[type]} not found`);
		return rec;
	}

	private checkRefs(type: PdType, fields: Fields, creating: boolean): void {
		const refs: [string, PdType][] = [
			['org_id', 'organization'],
			['organization_id', 'organization'],
			['person_id', 'person'],
			['deal_id', 'deal'],
			['lead_id', 'lead'],
		];
		for (const [field, target] of refs) {
			const v = fields[field];
			if (v === undefined || v === null) continue;
			if (target === type) continue;
			if (!this.colls[target].get(String(v))) fail(400, `${NAMES[target]} with id ${v} not found`);
		}
		if (creating && type === 'lead' && fields.person_id == null && fields.organization_id == null) {
			fail(400, 'A lead must be linked to a person or an organization or both');
		}
		if (creating && type === 'note' && ['deal_id', 'person_id', 'org_id', 'lead_id', 'project_id'].every((k) => fields[k] == null)) {
			fail(400, 'Note must be attached to a deal, person, organization, lead or project');
		}
	}

	private input(type: PdType, ctx: RequestContext, creating: boolean): Fields {
		try {
			const f = cleanInput(type, ctx.body, creating);
			// "If omitted, currency will be set to the default currency of the authorized user" (API reference, add a deal).
			if (type === 'deal' && creating && (ctx.body as Fields | undefined)?.currency === undefined) f.currency = this.defaultCurrency();
			this.checkRefs(type, f, creating);
			return f;
		} catch (err) {
			if (err instanceof ValidationError) fail(400, err.message, { code: 'ERR_SCHEMA_VALIDATION_FAILED' });
			throw err;
		}
	}

	private envelope(type: PdType, rec: StoredRecord): Fields {
		// A v2 GET/POST/PATCH of one object and a v1 lead create answer without additional_data
		// (v2-get-deal-recorded.json, v1-create-lead-recorded.json).
		return type === 'note' ? { success: true, data: toWire(type, rec), additional_data: null } : { success: true, data: toWire(type, rec) };
	}

	private getOne(type: PdType, ctx: RequestContext): Reply {
		return json(200, this.envelope(type, this.find(type, ctx.params.id)));
	}

	private create(type: PdType, ctx: RequestContext): Reply {
		const fields = this.input(type, ctx, true);
		const rec = this.colls[type].insert(fields);
		this.emit(type, 'create', rec, null, this.changeSource(ctx));
		// v2 and v1 leads answer 201 for POST; v1 notes answer 200.
		return json(type === 'note' ? 200 : 201, this.envelope(type, rec));
	}

	private update(type: PdType, ctx: RequestContext): Reply {
		const rec = this.find(type, ctx.params.id);
		const patch = this.input(type, ctx, false);
		const before = toWire(type, rec);
		const beforeV1 = toV1(type, rec);
		const previous: Fields = {};
		for (const [k, v] of Object.entries(patch)) {
			if (JSON.stringify(rec.fields[k] ?? null) !== JSON.stringify(v ?? null)) previous[k] = rec.fields[k] ?? null;
		}
		if (Object.keys(previous).length === 0) return json(200, this.envelope(type, rec));
		this.colls[type].update(rec.id, patch);
		if (type === 'person' && 'name' in previous) {
			previous.first_name = before.first_name;
			previous.last_name = before.last_name;
		}
		this.emit(type, 'change', rec, previous, this.changeSource(ctx), { v1Previous: beforeV1 });
		return json(200, this.envelope(type, rec));
	}

	private remove(type: PdType, ctx: RequestContext): Reply {
		const rec = this.find(type, ctx.params.id);
		this.deleteRecord(type, rec, this.changeSource(ctx));
		if (type === 'note') return json(200, { success: true, data: true });
		return json(200, { success: true, data: { id: toWire(type, rec).id } });
	}

	private deleteRecord(type: PdType, rec: StoredRecord, source: ChangeSource, mergedToId?: string): void {
		const before = toWire(type, rec);
		const beforeV1 = toV1(type, rec);
		this.colls[type].softDelete(rec.id);
		this.emit(type, 'delete', rec, before, source, { v1Previous: beforeV1, mergedToId, data: null });
	}

	// ---- lists, search, recents ---------------------------------------------------------------

	private filterFn(type: PdType, q: URLSearchParams): (r: StoredRecord) => boolean {
		const checks: [string, string][] = [];
		for (const k of ['owner_id', 'org_id', 'person_id', 'deal_id', 'lead_id', 'organization_id', 'pipeline_id', 'stage_id', 'status', 'done']) {
			const v = q.get(k);
			if (v !== null && v !== '') checks.push([k, v]);
		}
		const ids = q.get('ids');
		const idSet = ids ? new Set(ids.split(',').map((s) => s.trim())) : undefined;
		if (idSet && idSet.size > MAX_IDS) fail(400, `Validation failed: ids: Array must contain at most ${MAX_IDS} element(s)`);
		if (type === 'lead') {
			const archived = q.get('archived_status') ?? 'not_archived';
			if (archived !== 'all') checks.push(['is_archived', archived === 'archived' ? 'true' : 'false']);
		}
		return (r) => (!idSet || idSet.has(r.id)) && checks.every(([k, v]) => String(r.fields[k] ?? '') === v);
	}

	/** GET /api/v2/<type>: cursor paging; updated_since (inclusive), updated_until (exclusive). */
	private listV2(type: PdType, ctx: RequestContext): Reply {
		const q = ctx.query;
		const limit = intParam(q, 'limit', 100, 500);
		const sortBy = q.get('sort_by') ?? 'id';
		const dir = q.get('sort_direction') ?? 'asc';
		if (!['id', 'update_time', 'add_time'].includes(sortBy)) fail(400, 'Validation failed: sort_by: Invalid enum value. Expected id | update_time | add_time');
		if (dir !== 'asc' && dir !== 'desc') fail(400, 'Validation failed: sort_direction: Invalid enum value. Expected asc | desc');
		const since = this.timeParam(q, 'updated_since');
		const until = this.timeParam(q, 'updated_until');
		const sinceMs = since === undefined ? undefined : ceilSecond(since);
		const untilMs = until === undefined ? undefined : ceilSecond(until);
		const keep = this.filterFn(type, q);
		const inWindow = (r: StoredRecord): boolean =>
			(sinceMs === undefined || r.updatedAt >= sinceMs) && (untilMs === undefined || r.updatedAt < untilMs) && keep(r);
		const cursor = decodeCursor(q.get('cursor'));
		const coll = this.colls[type];
		const rows: StoredRecord[] = [];
		let more = false;
		let next: Cursor | undefined;
		if (dir === 'asc' && (sortBy === 'id' || sortBy === 'update_time')) {
			const it =
				sortBy === 'id'
					? coll.valuesAfterSeq(cursor.s ?? 0)
					: cursor.t !== undefined
						? coll.changedSince(cursor.t)
						: coll.changedSince(sinceMs ?? 0, { inclusive: true });
			for (const r of it) {
				if (sortBy === 'update_time' && untilMs !== undefined && r.updatedAt >= untilMs) break;
				if (!inWindow(r)) continue;
				if (rows.length === limit) {
					more = true;
					break;
				}
				rows.push(r);
			}
			const last = rows[rows.length - 1];
			if (more && last) next = sortBy === 'id' ? { s: last.seq } : { t: last.updatedAt };
		} else {
			const all = [...coll.values()].filter(inWindow);
			const key = sortBy === 'id' ? (r: StoredRecord) => r.seq : sortBy === 'add_time' ? (r: StoredRecord) => r.createdAt * 1e6 + r.seq : (r: StoredRecord) => r.updatedAt;
			all.sort((a, b) => (dir === 'asc' ? key(a) - key(b) : key(b) - key(a)));
			const off = cursor.o ?? 0;
			rows.push(...all.slice(off, off + limit));
			if (off + limit < all.length) next = { o: off + limit };
		}
		return json(200, { success: true, data: rows.map((r) => toV2(type, r)), additional_data: { next_cursor: next ? encodeCursor(next) : null } });
	}

	private timeParam(q: URLSearchParams, name: string): number | undefined {
		const raw = q.get(name);
		if (raw === null || raw === '') return undefined;
		const ms = parseTime(raw);
		if (ms === undefined) fail(400, `Validation failed: ${name}: Invalid datetime, expected RFC3339`);
		return ms;
	}

	/** v1 lists (leads, notes): start/limit paging, updated_since (inclusive). */
	private listV1(type: PdType, ctx: RequestContext): Reply {
		const q = ctx.query;
		const limit = intParam(q, 'limit', 100, 500);
		const start = intParam(q, 'start', 0, Number.MAX_SAFE_INTEGER);
		const since = this.timeParam(q, 'updated_since');
		const keep = this.filterFn(type, q);
		const source = since === undefined ? this.colls[type].values() : this.colls[type].changedSince(ceilSecond(since), { inclusive: true });
		let all = [...source].filter(keep);
		const sort = q.get('sort');
		if (sort) {
			const [field, order] = sort.trim().split(/\s+/);
			const desc = (order ?? 'ASC').toUpperCase() === 'DESC';
			const val = (r: StoredRecord): number | string =>
				field === 'add_time' ? r.createdAt : field === 'update_time' ? r.updatedAt : field === 'id' ? r.seq : String(r.fields[field] ?? '');
			all = all.sort((a, b) => {
				const x = val(a);
				const y = val(b);
				return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
			});
		}
		const page = all.slice(start, start + limit);
		const more = start + limit < all.length;
		return json(200, {
			success: true,
			data: page.map((r) => toV1(type, r)),
			additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) } },
		});
	}

	/** GET /api/v2/{persons,organizations,deals,leads}/search: exact_match, fields, cursor. */
	private search(type: PdType, ctx: RequestContext): Reply {
		const q = ctx.query;
		const term = (q.get('term') ?? '').trim();
		const exact = q.get('exact_match') === 'true';
		if (term.length < (exact ? 1 : 2)) fail(400, 'Validation failed: term: String must contain at least 2 character(s)');
		const all = SEARCH_FIELDS[type] ?? [];
		const fields = (q.get('fields') ?? all.join(',')).split(',').map((s) => s.trim());
		for (const f of fields) if (!all.includes(f)) fail(400, `Validation failed: fields: Invalid enum value '${f}'. Expected ${all.join(' | ')}`);
		const limit = intParam(q, 'limit', 100, 500);
		const orgFilter = q.get('organization_id');
		const personFilter = q.get('person_id');
		const t = term.toLowerCase();
		const digits = phoneDigits(term);
		const coll = this.colls[type];
		let candidates: Iterable<StoredRecord>;
		if (type === 'person' && exact && fields.every((f) => f === 'email' || f === 'phone')) {
			const found = new Map<string, StoredRecord>();
			if (fields.includes('email')) for (const r of coll.findBy('email', term)) found.set(r.id, r);
			if (fields.includes('phone') && digits) for (const r of coll.findBy('phone', phoneKey(digits))) found.set(r.id, r);
			candidates = [...found.values()].sort((a, b) => a.seq - b.seq);
		} else candidates = coll.values();
		const items: { result_score: number; item: Fields }[] = [];
		for (const r of candidates) {
			if (orgFilter && String(r.fields.org_id ?? r.fields.organization_id ?? '') !== orgFilter) continue;
			if (personFilter && String(r.fields.person_id ?? '') !== personFilter) continue;
			const score = this.score(r, fields, t, digits, exact);
			if (score > 0) items.push({ result_score: score, item: this.searchItem(type, r) });
		}
		if (!exact) items.sort((a, b) => b.result_score - a.result_score);
		const off = decodeCursor(q.get('cursor')).o ?? 0;
		const page = items.slice(off, off + limit);
		return json(200, {
			success: true,
			data: { items: page },
			additional_data: { next_cursor: off + limit < items.length ? encodeCursor({ o: off + limit }) : null },
		});
	}

	/** [U] scores: 1 for an exact field match, 0.5 for a partial one, 0 for none. */
	private score(r: StoredRecord, fields: string[], t: string, digits: string, exact: boolean): number {
		const f = r.fields;
		let best = 0;
		const consider = (full: boolean, partial: boolean): void => {
			if (full) best = Math.max(best, 1);
			else if (!exact && partial) best = Math.max(best, 0.5);
		};
		const text = (v: unknown): void => {
			const s = String(v ?? '').toLowerCase();
			consider(s !== '' && s === t, s !== '' && s.includes(t));
		};
		for (const field of fields) {
			if (field === 'email') for (const e of (f.emails as Fields[]) ?? []) text(e.value);
			else if (field === 'phone') {
				for (const p of (f.phones as Fields[]) ?? []) {
					const pd = phoneDigits(p.value);
					consider((digits !== '' && phoneKey(pd) === phoneKey(digits)) || String(p.value).toLowerCase() === t, digits.length >= 2 && pd.includes(digits));
				}
			} else if (field === 'custom_fields') for (const v of Object.values((f.custom_fields as Fields) ?? {})) text(v);
			else if (field === 'address') text((f.address as Fields | null)?.value);
			else text(f[field]);
		}
		return best;
	}

	private ref(type: PdType, id: unknown): Fields | null {
		if (id === null || id === undefined) return null;
		const r = this.colls[type].get(String(id));
		if (!r) return null;
		return type === 'organization' ? { id: Number(r.id), name: r.fields.name, address: (r.fields.address as Fields | null)?.value ?? null } : { id: Number(r.id), name: r.fields.name };
	}

	private searchItem(type: PdType, r: StoredRecord): Fields {
		const f = r.fields;
		const common = { visible_to: f.visible_to, owner: { id: f.owner_id }, custom_fields: Object.values((f.custom_fields as Fields) ?? {}).map(String), notes: f.notes ? [String(f.notes)] : [] };
		if (type === 'person') {
			return {
				id: Number(r.id),
				type: 'person',
				name: f.name,
				phones: ((f.phones as Fields[]) ?? []).map((p) => p.value),
				emails: ((f.emails as Fields[]) ?? []).map((e) => e.value),
				...common,
				organization: this.ref('organization', f.org_id),
			};
		}
		if (type === 'organization') return { id: Number(r.id), type: 'organization', name: f.name, address: (f.address as Fields | null)?.value ?? null, ...common };
		if (type === 'deal') {
			return { id: Number(r.id), type: 'deal', title: f.title, value: f.value, currency: f.currency, status: f.status, ...common, stage: { id: f.stage_id, name: `Stage ${f.stage_id}` }, person: this.ref('person', f.person_id), organization: this.ref('organization', f.org_id) };
		}
		const value = f.value as Fields | null;
		return { id: r.id, type: 'lead', title: f.title, ...common, person: this.ref('person', f.person_id), organization: this.ref('organization', f.organization_id), phones: [], emails: [], value: value?.amount ?? null, currency: value?.currency ?? null, is_archived: f.is_archived };
	}

	/** Field metadata with v2 cursor or v1 start/limit paging. */
	private fieldList(ctx: RequestContext, all: Fields[], paging: 'cursor' | 'start'): Reply {
		const limit = intParam(ctx.query, 'limit', 100, 500);
		if (paging === 'cursor') {
			const off = decodeCursor(ctx.query.get('cursor')).o ?? 0;
			return json(200, { success: true, data: all.slice(off, off + limit), additional_data: { next_cursor: off + limit < all.length ? encodeCursor({ o: off + limit }) : null } });
		}
		const start = intParam(ctx.query, 'start', 0, Number.MAX_SAFE_INTEGER);
		const more = start + limit < all.length;
		return json(200, { success: true, data: all.slice(start, start + limit), additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) } } });
	}

	private me(): Fields {
		const user = this.meta.users.get(String(USER_ID))!.fields;
		return { id: USER_ID, name: user.name, email: user.email, company_id: COMPANY_ID, company_name: 'Sandbox Company', company_domain: 'sandbox', default_currency: user.default_currency ?? 'USD', locale: 'en_US', lang: 1, timezone_name: 'UTC', timezone_offset: '+00:00', active_flag: true, is_admin: 1, role_id: 1, has_created_company: true, is_you: true };
	}

	/** GET /v1/recents?since_timestamp=YYYY-MM-DD HH:MM:SS&items=person,deal&start&limit */
	private recents(ctx: RequestContext): Reply {
		const q = ctx.query;
		const raw = q.get('since_timestamp');
		const since = raw ? parseTime(raw) : undefined;
		if (since === undefined) fail(400, 'since_timestamp is required in format YYYY-MM-DD HH:MM:SS');
		const start = intParam(q, 'start', 0, Number.MAX_SAFE_INTEGER);
		const limit = intParam(q, 'limit', 100, 500);
		const items = (q.get('items') ?? 'activity,deal,note,organization,person').split(',').map((s) => s.trim());
		const types = (Object.keys(COLLECTION) as PdType[]).filter((t) => items.includes(t) && t !== 'lead');
		const rows: [PdType, StoredRecord][] = [];
		for (const t of types) for (const r of this.colls[t].changedSince(ceilSecond(since), { inclusive: true, includeDeleted: true })) rows.push([t, r]);
		rows.sort((a, b) => a[1].updatedAt - b[1].updatedAt);
		const page = rows.slice(start, start + limit);
		const more = start + limit < rows.length;
		const last = page[page.length - 1];
		return json(200, {
			success: true,
			data: page.map(([t, r]) => ({ item: t, id: toV1(t, r).id, data: toV1(t, r) })),
			additional_data: {
				since_timestamp: v1Time(since),
				last_timestamp_on_page: last ? v1Time(last[1].updatedAt) : v1Time(since),
				pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) },
			},
		});
	}

	// ---- pipelines, stages, users ------------------------------------------------------------

	/**
	 * GET /api/v2/pipelines, /api/v2/stages: cursor paging (limit ≤ 500), sort_by (default id),
	 * sort_direction; stages also pipeline_id. (v2-list-stages-cursor-recorded.json was asked with
	 * sort_by=update_time and is in that order.)
	 */
	private listMeta(type: 'pipelines' | 'stages', ctx: RequestContext, wire: (r: StoredRecord) => Fields): Reply {
		const q = ctx.query;
		const limit = intParam(q, 'limit', 100, 500);
		const sorts = type === 'stages' ? ['id', 'update_time', 'add_time', 'order_nr'] : ['id', 'update_time', 'add_time'];
		const sortBy = q.get('sort_by') ?? 'id';
		const dir = q.get('sort_direction') ?? 'asc';
		if (!sorts.includes(sortBy)) fail(400, `Validation failed: sort_by: Invalid enum value. Expected ${sorts.join(' | ')}`);
		if (dir !== 'asc' && dir !== 'desc') fail(400, 'Validation failed: sort_direction: Invalid enum value. Expected asc | desc');
		let rows = [...this.meta[type].values()];
		if (type === 'stages') {
			const pipelineId = q.get('pipeline_id');
			if (pipelineId !== null && pipelineId !== '') {
				if (!/^\d+$/.test(pipelineId)) fail(400, 'Validation failed: pipeline_id: Expected number');
				rows = rows.filter((r) => String(r.fields.pipeline_id) === pipelineId);
			}
		}
		const key: (a: StoredRecord, b: StoredRecord) => number =
			sortBy === 'update_time'
				? (a, b) => a.updatedAt - b.updatedAt
				: sortBy === 'add_time'
					? (a, b) => a.createdAt - b.createdAt
					: sortBy === 'order_nr'
						? (a, b) => Number(a.fields.order_nr) - Number(b.fields.order_nr)
						: (a, b) => Number(a.id) - Number(b.id);
		rows.sort((a, b) => (key(a, b) || a.seq - b.seq) * (dir === 'desc' ? -1 : 1));
		const off = decodeCursor(q.get('cursor')).o ?? 0;
		const page = rows.slice(off, off + limit);
		return json(200, { success: true, data: page.map(wire), additional_data: { next_cursor: off + limit < rows.length ? encodeCursor({ o: off + limit }) : null } });
	}

	private getMeta(type: MetaType, ctx: RequestContext, wire: (r: StoredRecord) => Fields): Reply {
		const rec = /^\d+$/.test(ctx.params.id) ? this.meta[type].get(ctx.params.id) : undefined;
		if (!rec) fail(404, `${META_NAMES[type]} not found`);
		return json(200, { success: true, data: wire(rec) });
	}

	private metaInput(clean: (body: unknown) => Fields, ctx: RequestContext): Fields {
		try {
			return clean(ctx.body);
		} catch (err) {
			if (err instanceof ValidationError) fail(400, err.message, { code: 'ERR_SCHEMA_VALIDATION_FAILED' });
			throw err;
		}
	}

	/** POST /api/v2/pipelines → 200 (as POST /api/v2/stages was recorded; not recorded itself). */
	private createPipeline(ctx: RequestContext): Reply {
		const fields = this.metaInput(cleanPipeline, ctx);
		const last = Math.max(0, ...[...this.meta.pipelines.values()].map((p) => Number(p.fields.order_nr) || 0));
		const rec = this.meta.pipelines.insert({ ...fields, order_nr: last + 1 });
		return json(200, { success: true, data: pipelineWire(rec) });
	}

	/** POST /api/v2/stages → 200 (v2-create-stage-recorded.json); the stage goes last in its pipeline. */
	private createStage(ctx: RequestContext): Reply {
		const fields = this.metaInput(cleanStage, ctx);
		if (!this.meta.pipelines.get(String(fields.pipeline_id))) fail(400, `Pipeline with id ${fields.pipeline_id} not found`);
		const inPipeline = [...this.meta.stages.values()].filter((s) => s.fields.pipeline_id === fields.pipeline_id);
		const last = Math.max(0, ...inPipeline.map((s) => Number(s.fields.order_nr) || 0));
		const rec = this.meta.stages.insert({ ...fields, order_nr: last + 1 });
		return json(200, { success: true, data: stageWire(rec) });
	}

	/** POST /v1/users {email, access?, active_flag?}: 400 for an address already in the company. */
	private createUser(ctx: RequestContext): Reply {
		const fields = this.metaInput(cleanUser, ctx);
		const email = String(fields.email).toLowerCase();
		if ([...this.meta.users.values()].some((u) => String(u.fields.email).toLowerCase() === email)) fail(400, 'User with this email already exists');
		const rec = this.meta.users.insert(fields);
		return json(200, { success: true, data: userWire(rec) });
	}

	// ---- merge ---------------------------------------------------------------------------------

	/** PUT /v1/<type>/{id}/merge {merge_with_id}: merge_with_id survives and wins conflicts. */
	private merge(type: PdType, ctx: RequestContext): Reply {
		const body = (ctx.body ?? {}) as Fields;
		const withId = body.merge_with_id;
		if (typeof withId !== 'number' && !(typeof withId === 'string' && /^\d+$/.test(withId))) fail(400, 'merge_with_id is required');
		const loser = this.find(type, ctx.params.id);
		const survivor = this.find(type, String(withId));
		if (loser.id === survivor.id) fail(400, `Cannot merge a ${type} with itself`);
		const source = this.changeSource(ctx);
		const patch: Fields = {};
		for (const [k, v] of Object.entries(loser.fields)) {
			const mine = survivor.fields[k];
			if (k === 'emails' || k === 'phones') {
				const seen = new Set(((mine as Fields[]) ?? []).map((e) => String(e.value).toLowerCase()));
				const extra = ((v as Fields[]) ?? []).filter((e) => !seen.has(String(e.value).toLowerCase())).map((e) => ({ ...e, primary: false }));
				if (extra.length) patch[k] = [...((mine as Fields[]) ?? []), ...extra];
			} else if ((mine === null || mine === undefined || mine === '') && v !== null && v !== undefined && v !== '') {
				patch[k] = v;
			}
		}
		for (const [refType, field] of REFS[type] ?? []) {
			for (const r of this.colls[refType].findBy(`ref:${field}`, loser.id)) {
				const prev = { [field]: r.fields[field] };
				this.colls[refType].update(r.id, { [field]: Number(survivor.id) });
				this.emit(refType, 'change', r, prev, source);
			}
		}
		this.deleteRecord(type, loser, source, survivor.id);
		const previous: Fields = {};
		for (const k of Object.keys(patch)) previous[k] = survivor.fields[k] ?? null;
		const beforeV1 = toV1(type, survivor);
		this.colls[type].update(survivor.id, patch);
		this.emit(type, 'change', survivor, previous, source, { v1Previous: beforeV1, v1Action: 'merged', mergedFrom: loser.id });
		return json(200, { success: true, data: { ...toV1(type, survivor), merge_what_id: Number(loser.id) } });
	}

	// ---- webhooks ------------------------------------------------------------------------------

	private webhookList(): PdWebhook[] {
		return [...this.subscriptions.values()] as PdWebhook[];
	}

	private listWebhooks(): Reply {
		return json(200, { success: true, status: 'ok', data: this.webhookList().map((w) => this.webhookWire(w)) });
	}

	private webhookWire(w: PdWebhook): Fields {
		const { url: _url, ...rest } = w;
		void _url;
		return { ...rest, id: Number(w.id), additional_data: {} };
	}

	private createWebhook(ctx: RequestContext): Reply {
		let spec;
		try {
			spec = newWebhook(ctx.body, Date.now());
		} catch (err) {
			if (err instanceof ValidationError) {
				return json(400, { success: false, status: 'error', errors: (err as ValidationError & { errors?: unknown }).errors ?? { message: err.message } });
			}
			throw err;
		}
		if (this.webhookList().filter((w) => w.user_id === spec.user_id).length >= MAX_WEBHOOKS_PER_USER) {
			return json(400, { success: false, status: 'error', errors: { message: `Maximum of ${MAX_WEBHOOKS_PER_USER} webhooks per user reached` } });
		}
		const sub = super.addSubscription(spec) as PdWebhook;
		return json(201, { success: true, status: 'ok', data: this.webhookWire(sub) });
	}

	private deleteWebhook(ctx: RequestContext): Reply {
		if (!this.subscriptions.delete(ctx.params.id)) return json(404, { success: false, status: 'error', errors: { message: 'Webhook not found' } });
		return json(200, { success: true, status: 'ok' });
	}

	/** Admin-created subscriptions use the same fields as POST /v1/webhooks. */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		try {
			return super.addSubscription(newWebhook({ subscription_url: spec.url, ...spec }, Date.now()));
		} catch (err) {
			if (err instanceof ValidationError) throw new ReplyError(json(400, { error: err.message }));
			throw err;
		}
	}

	private emit(
		type: PdType,
		action: V2Action,
		rec: StoredRecord,
		previous: Fields | null,
		changeSource: ChangeSource,
		extra: { v1Previous?: Fields; mergedToId?: string; data?: null; v1Action?: 'merged'; mergedFrom?: string } = {},
	): void {
		if (this.subscriptions.size === 0) return;
		const v1Current = action === 'delete' ? null : toV1(type, rec);
		if (v1Current && extra.mergedFrom !== undefined) v1Current.merge_what_id = Number(extra.mergedFrom);
		const event: PdEvent = {
			id: randomUUID(),
			action,
			v1Action: extra.v1Action,
			entity: type,
			entityId: rec.id,
			data: extra.data === null ? null : toWire(type, rec),
			previous,
			v1Current,
			v1Previous: extra.v1Previous ?? null,
			changeSource,
			mergedToId: extra.mergedToId,
			timestamp: rec.updatedAt,
		};
		const host = new URL(this.url || 'http://127.0.0.1').host;
		for (const w of this.webhookList()) {
			if (!subscribed(w, event)) continue;
			this.webhooks.send({
				subscriptionId: w.id,
				url: w.subscription_url,
				build: (attempt) => buildRequest(w, event, host, attempt),
			});
		}
	}

	// ---- seed and dump ---------------------------------------------------------------------------

	protected applySeed(data: SeedData): SeedSummary {
		const orgIds = new Map<string, number>();
		const personIds = new Map<string, number>();
		const dealIds = new Map<string, number>();
		for (const c of data.companies) {
			const r = this.colls.organization.insert(
				cleanInput('organization', { name: c.name, website: `https://${c.domain}`, address: { value: `${c.city}, ${c.country}`, locality: c.city, country: c.country } }, true),
				{ createdAt: c.createdAt },
			);
			orgIds.set(c.key, Number(r.id));
		}
		for (const p of data.contacts) {
			const phones = [{ value: p.phone, primary: true, label: 'work' }];
			if (p.mobile) phones.push({ value: p.mobile, primary: false, label: 'mobile' });
			const r = this.colls.person.insert(
				cleanInput('person', {
					name: `${p.firstName} ${p.lastName}`,
					emails: [{ value: p.email, primary: true, label: 'work' }],
					phones,
					org_id: p.companyKey ? (orgIds.get(p.companyKey) ?? null) : null,
					job_title: p.title,
					postal_address: { value: `${p.city}, ${p.country}`, locality: p.city, country: p.country },
				}, true),
				{ createdAt: p.createdAt },
			);
			personIds.set(p.key, Number(r.id));
		}
		for (const l of data.leads) {
			const person = this.colls.person.insert(
				cleanInput('person', { name: `${l.firstName} ${l.lastName}`, emails: [{ value: l.email, primary: true, label: 'work' }], phones: [{ value: l.phone, primary: true, label: 'work' }] }, true),
				{ createdAt: l.createdAt },
			);
			this.colls.lead.insert(cleanInput('lead', { title: `${l.company} lead`, person_id: Number(person.id) }, true), { createdAt: l.createdAt });
		}
		for (const d of data.deals) {
			const r = this.colls.deal.insert(
				cleanInput('deal', {
					title: d.name,
					value: d.amount,
					currency: d.currency,
					status: d.stage,
					expected_close_date: d.closeDate,
					org_id: d.companyKey ? (orgIds.get(d.companyKey) ?? null) : null,
					person_id: d.contactKey ? (personIds.get(d.contactKey) ?? null) : null,
				}, true),
				{ createdAt: d.createdAt },
			);
			dealIds.set(d.key, Number(r.id));
		}
		let notes = 0;
		let activities = 0;
		for (const a of data.activities) {
			const links = {
				person_id: a.contactKey ? (personIds.get(a.contactKey) ?? null) : null,
				org_id: a.companyKey ? (orgIds.get(a.companyKey) ?? null) : null,
				deal_id: a.dealKey ? (dealIds.get(a.dealKey) ?? null) : null,
			};
			if (a.type === 'note') {
				if (links.person_id == null && links.org_id == null && links.deal_id == null) continue;
				this.colls.note.insert(cleanInput('note', { content: `${a.subject}\n${a.body}`, ...links }, true), { createdAt: a.createdAt });
				notes++;
			} else {
				const at = new Date(a.at).toISOString();
				const type = a.type === 'meeting' ? 'meeting' : a.type === 'email' ? 'email' : a.type === 'call' ? 'call' : 'task';
				const dur = a.durationSec ? `${String(Math.floor(a.durationSec / 3600)).padStart(2, '0')}:${String(Math.floor((a.durationSec % 3600) / 60)).padStart(2, '0')}` : null;
				this.colls.activity.insert(
					cleanInput('activity', { subject: a.subject, type, note: a.body, done: a.done, due_date: at.slice(0, 10), due_time: at.slice(11, 16), duration: dur, ...links }, true),
					{ createdAt: a.createdAt },
				);
				activities++;
			}
		}
		return {
			organizations: data.companies.length,
			persons: data.contacts.length + data.leads.length,
			leads: data.leads.length,
			deals: data.deals.length,
			activities,
			notes,
		};
	}

	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const type of Object.keys(COLLECTION) as PdType[]) {
			out[COLLECTION[type]] = [...this.colls[type].values({ includeDeleted: true })].map((r) => toWire(type, r));
		}
		out.pipelines = [...this.meta.pipelines.values({ includeDeleted: true })].map(pipelineWire);
		out.stages = [...this.meta.stages.values({ includeDeleted: true })].map(stageWire);
		out.users = [...this.meta.users.values({ includeDeleted: true })].map(userWire);
		out.currencies = [...this.meta.currencies.values({ includeDeleted: true })].map(currencyWire);
		return out;
	}
}

export function createEmulator(opts?: EmulatorOptions): Emulator {
	return new PipedriveEmulator(opts);
}

export { USER_ID };
