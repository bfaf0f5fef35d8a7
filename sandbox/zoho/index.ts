// Zoho CRM v6 emulator: records API (get, list with page/page_token, search, create, update,
// delete, upsert, merge, deleted records, If-Modified-Since), the accounts token endpoint,
// notifications through /actions/watch, API-credit throttling.
// Base URL = api_domain (client appends /crm/v6); the same server serves /oauth/v2/token.

import { BaseEmulator, ReplyError } from '../common/base';
import { bearerToken } from '../common/auth';
import { json, header, Reply, RequestContext, RouteOptions, Router } from '../common/router';
import { Collection, Fields, StoredRecord } from '../common/store';
import type { SeedData } from '../common/seed';
import type { Emulator, EmulatorOptions, RecordDump, SeedSummary, WebhookSubscription } from '../common/types';
import type { RatePolicy } from '../common/ratelimit';
import type { RetryPolicy } from '../common/webhooks';
import { CriteriaError, indexLookups, matchesCriteria, parseCriteria } from './criteria';
import { CURRENCY_MODULES, DEFAULT_DEAL_STAGES, moduleFields, type DealStage } from './fields';
import { OrgCurrencies, type CurrencyState } from './currencies';
import { registerUiAdminRoutes } from '../pipedrive/admin-ui';
import { MODULES, READ_ONLY, RecordError, ZOHO_USER, phoneKey, recordError, typeProblem, zohoTime } from './modules';

const API = '/crm/v6';
const MAX_RECORDS_PER_CALL = 100;
const MAX_PER_PAGE = 200;
/** Records reachable with page/per_page; beyond that a page_token is required. */
const DISCRETE_LIMIT = 2000;
const MAX_CHANNEL_EXPIRY_MS = 24 * 3600 * 1000;
const DEFAULT_CHANNEL_EXPIRY_MS = 3600 * 1000;
const USER_REF = { name: ZOHO_USER.name, id: ZOHO_USER.id };
const USER_READ_REF = { ...USER_REF, email: ZOHO_USER.email };
const ROLE_CEO = { name: 'CEO', id: '4150868000000026005' };
const PROFILE_ADMIN = { name: 'Administrator', id: '4150868000000026011' };
const PROFILE_STANDARD = { name: 'Standard', id: '4150868000000026014' };
const USER_TYPES = ['AllUsers', 'ActiveUsers', 'DeactiveUsers', 'ConfirmedUsers', 'NotConfirmedUsers', 'DeletedUsers', 'ActiveConfirmedUsers', 'AdminUsers', 'ActiveConfirmedAdmins', 'CurrentUser'];

/** A user of the org as GET /users gives it. status: active, disabled (deactivated) or deleted. */
interface ZohoUserRow extends Fields {
	id: string;
	email: string;
	full_name: string;
	first_name: string | null;
	last_name: string;
	status: 'active' | 'disabled' | 'deleted';
	confirm: boolean;
	role: { name: string; id: string };
	profile: { name: string; id: string };
	time_zone: string;
}

/** Zoho's error envelope. */
export function zohoError(status: number, code: string, message: string, details: Fields = {}): Reply {
	return json(status, { code, details, message, status: 'error' });
}

function fail(status: number, code: string, message: string, details: Fields = {}): never {
	throw new ReplyError(zohoError(status, code, message, details));
}

/** [U] Zoho does not document notification retries; the sandbox sends each notification once. */
const ZOHO_RETRY: RetryPolicy = {
	maxAttempts: 1,
	delayMs: () => 0,
	isSuccess: (s) => s >= 200 && s < 300,
	shouldRetry: () => false,
};

interface Channel extends WebhookSubscription {
	channel_id: string;
	events: string[];
	channel_expiry: number;
	token: string | null;
	notify_url: string;
	return_affected_field_values: boolean;
}

type Op = 'insert' | 'update' | 'delete';
const OP_OF_EVENT: Record<string, Op> = { create: 'insert', edit: 'update', delete: 'delete' };

interface Token {
	s?: number;
	t?: number;
	o?: number;
}

function secondFloor(ms: number): number {
	return Math.floor(ms / 1000) * 1000;
}

export class ZohoEmulator extends BaseEmulator {
	readonly crm = 'zoho' as const;
	private readonly colls: Record<string, Collection> = {};
	private readonly moduleOf = new Map<string, string>();
	private lastId = 0;
	/** The org's users by id; a new org has one, the API user (ZOHO_USER). */
	private readonly users = new Map<string, ZohoUserRow>();
	private lastUserId = 0;
	/** The Deals Stage picklist; setDealStages replaces it (a test's own stages). */
	private dealStages: readonly DealStage[] = DEFAULT_DEAL_STAGES;
	/** The org's home currency and, with multiple currencies on, its currencies (GET /org, /org/currencies). */
	readonly currencies = new OrgCurrencies(() => this.clock.peek());
	/**
	 * Documented numbers (Enterprise edition, one user): 50,000 + 1,000 API credits per rolling
	 * 24 h; insert/update/upsert cost 1 credit per 10 records, other calls 1. Public so tests
	 * can lower it. Token endpoint: 10 access tokens per refresh token per 10 minutes.
	 */
	readonly credits: RatePolicy = { name: 'credits', limit: 51000, windowMs: 24 * 3600 * 1000 };
	readonly tokenMint: RatePolicy = { name: 'token-mint', limit: 10, windowMs: 10 * 60 * 1000 };

	constructor(opts: EmulatorOptions = {}) {
		super(opts, { tokenLifetimeMs: 3600 * 1000, webhookRetry: ZOHO_RETRY, webhookTimeoutMs: 10000 });
		for (const [module, def] of Object.entries(MODULES)) {
			const indexes: Record<string, (f: Fields) => unknown> = {
				email: (f) => def.email.map((k) => f[k]),
				phone: (f) => def.phone.map((k) => phoneKey(f[k])).filter((d) => d !== ''),
			};
			for (const k of new Set([...def.email, ...def.dupCheck])) indexes[`f:${k}`] = (f) => f[k];
			// Lookups, so merges find the records to re-parent without scanning.
			for (const lk of Object.keys(def.lookups)) indexes[`ref:${lk}`] = (f) => (f[lk] as Fields | null | undefined)?.id;
			this.colls[module] = this.store.define(module, { idGen: () => this.nextId(module), indexes });
		}
		this.resetOrg();
	}

	/** The users and stages of a new org. */
	private resetOrg(): void {
		this.users.clear();
		this.lastUserId = 0;
		this.users.set(ZOHO_USER.id, {
			...ZOHO_USER,
			full_name: ZOHO_USER.name,
			first_name: 'Sandbox',
			last_name: 'User',
			role: ROLE_CEO,
			profile: PROFILE_ADMIN,
			status: 'active',
			confirm: true,
			time_zone: 'UTC',
		});
		this.dealStages = DEFAULT_DEAL_STAGES;
		this.currencies.reset();
	}

	/**
	 * Admin (PUT /__admin/org-currency): a single-currency org's home currency, or multiple
	 * currencies on (the home currency becomes the base currency; the API's
	 * POST /org/currencies/actions/enable does the same) or off, which Zoho cannot do.
	 */
	setOrgCurrency(opts: { multiCurrency?: boolean; homeCurrency?: string }): ReturnType<OrgCurrencies['getState']> {
		if (this.currencies.setup(opts)) this.currencySwitched();
		return this.currencies.getState();
	}

	/**
	 * Multiple currencies switched on: the records of the modules with amounts take the home
	 * currency (Currency, Exchange_Rate 1), as Zoho does; switched off (sandbox only): both go.
	 */
	private currencySwitched(): void {
		const { multiCurrency, homeCurrency } = this.currencies;
		for (const module of CURRENCY_MODULES) {
			for (const rec of this.colls[module].values({ includeDeleted: true })) {
				if (multiCurrency) Object.assign(rec.fields, { Currency: homeCurrency, Exchange_Rate: 1 });
				else {
					delete rec.fields.Currency;
					delete rec.fields.Exchange_Rate;
				}
			}
		}
	}

	/** Replaces the Deals Stage picklist (admin: PUT /__admin/deal-stages {stages}); reset restores the defaults. */
	setDealStages(stages: readonly DealStage[]): void {
		const seen = new Set<string>();
		for (const s of stages) {
			if (typeof s?.name !== 'string' || s.name === '' || seen.has(s.name.toLowerCase())) throw new Error(`invalid or repeated stage name ${JSON.stringify(s?.name)}`);
			if (typeof s.probability !== 'number' || s.probability < 0 || s.probability > 100) throw new Error(`stage ${s.name}: probability must be 0..100`);
			if (!['Open', 'Closed Won', 'Closed Lost'].includes(s.forecast_type)) throw new Error(`stage ${s.name}: forecast_type must be Open, Closed Won or Closed Lost`);
			seen.add(s.name.toLowerCase());
		}
		this.dealStages = stages.map((s) => ({ ...s }));
	}

	/** 19-digit ids unique across modules, like "4150868000000100001". */
	private nextId(module: string): string {
		const id = '4150868000000' + String(100000 + ++this.lastId).padStart(6, '0');
		this.moduleOf.set(id, module);
		return id;
	}

	protected onReset(): void {
		this.lastId = 0;
		this.moduleOf.clear();
		this.resetOrg();
	}

	// ---- auth, limits, errors -------------------------------------------------------------

	protected authenticate(ctx: RequestContext): Reply | undefined {
		const raw = header(ctx, 'authorization');
		const token = bearerToken(raw, 'Zoho-oauthtoken');
		if (!raw) return zohoError(401, 'AUTHENTICATION_FAILURE', 'Authentication failed');
		const check = this.tokens.check(token);
		if (!check.ok) return zohoError(401, 'INVALID_TOKEN', 'invalid oauth token');
		ctx.token = check.value;
		return undefined;
	}

	protected rateLimit(ctx: RequestContext, options: RouteOptions): Reply | undefined {
		if (!this.limiter.enabled) return undefined;
		let cost = 1;
		if (options.bucket === 'write') {
			const data = (ctx.body as { data?: unknown } | undefined)?.data;
			cost = Math.max(1, Math.ceil((Array.isArray(data) ? data.length : 1) / 10));
		}
		const d = this.limiter.hit(this.credits, ctx.token ?? '', cost);
		if (!d.ok) {
			const r = zohoError(429, 'TOO_MANY_REQUESTS', 'You have exceeded the API credits allowed for your organization', {});
			r.headers = { 'X-RATELIMIT-LIMIT': String(this.credits.limit), 'X-RATELIMIT-REMAINING': '0', 'X-RATELIMIT-RESET': String(Date.now() + d.resetMs) };
			return r;
		}
		ctx.state.rate = d;
		return undefined;
	}

	protected decorate(ctx: RequestContext, reply: Reply): void {
		const d = ctx.state.rate as { remaining: number; resetMs: number } | undefined;
		if (!d) return;
		reply.headers = {
			...(reply.headers ?? {}),
			'X-RATELIMIT-LIMIT': String(this.credits.limit),
			'X-RATELIMIT-REMAINING': String(d.remaining),
			'X-RATELIMIT-RESET': String(Date.now() + d.resetMs),
		};
	}

	protected faultReply(): Reply {
		return zohoError(500, 'INTERNAL_ERROR', 'Internal Server Error');
	}

	protected notFoundReply(_ctx: RequestContext, methodMismatch: boolean): Reply {
		return methodMismatch
			? zohoError(405, 'INVALID_REQUEST_METHOD', 'The http request method type is not a valid one')
			: zohoError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
	}

	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return zohoError(400, 'INVALID_DATA', 'body is not a valid JSON', { reason: message });
	}

	protected internalErrorReply(): Reply {
		return zohoError(500, 'INTERNAL_ERROR', 'Internal Server Error');
	}

	// ---- routes -----------------------------------------------------------------------------

	protected registerRoutes(r: Router): void {
		r.post('/oauth/v2/token', (ctx) => this.token(ctx), { public: true });
		r.post(`${API}/actions/watch`, (ctx) => this.watchEnable(ctx, false));
		r.put(`${API}/actions/watch`, (ctx) => this.watchEnable(ctx, true));
		r.patch(`${API}/actions/watch`, (ctx) => this.watchPatch(ctx));
		r.get(`${API}/actions/watch`, () => this.watchList());
		r.delete(`${API}/actions/watch`, (ctx) => this.watchDisable(ctx));
		r.post(`${API}/coql`, () => zohoError(501, 'NOT_SUPPORTED', 'COQL is not implemented by the sandbox; use /{module}/search with criteria or If-Modified-Since'));
		r.get(`${API}/settings/fields`, (ctx) => this.fields(ctx));
		r.get(`${API}/org`, () => this.currencies.org());
		r.get(`${API}/org/currencies`, () => this.currencies.list());
		r.post(`${API}/org/currencies/actions/enable`, (ctx) => {
			const reply = this.currencies.enable(ctx.body);
			if (reply.status === 200) this.currencySwitched();
			return reply;
		});
		r.post(`${API}/org/currencies`, (ctx) => this.currencies.create(ctx.body));
		r.put(`${API}/org/currencies`, (ctx) => this.currencies.update(ctx.body));
		r.put(`${API}/org/currencies/:id`, (ctx) => this.currencies.update(ctx.body, ctx.params.id));
		r.get(`${API}/users`, (ctx) => this.listUsers(ctx));
		r.post(`${API}/users`, (ctx) => this.addUsers(ctx));
		r.put(`${API}/users/:id`, (ctx) => this.updateUser(ctx));
		r.delete(`${API}/users/:id`, (ctx) => this.deleteUser(ctx));
		r.get(`${API}/:module/search`, (ctx) => this.search(ctx), { bucket: 'search' });
		r.get(`${API}/:module/deleted`, (ctx) => this.deleted(ctx));
		r.post(`${API}/:module/upsert`, (ctx) => this.write(ctx, 'upsert'), { bucket: 'write' });
		r.post(`${API}/:module/:id/actions/merge`, (ctx) => this.merge(ctx), { bucket: 'write' });
		r.post(`${API}/:module/:id/actions/convert`, (ctx) => this.convert(ctx), { bucket: 'write' });
		r.get(`${API}/:module/:id/actions/merge`, (ctx) => this.mergeStatus(ctx));
		r.get(`${API}/:module`, (ctx) => this.list(ctx));
		r.post(`${API}/:module`, (ctx) => this.write(ctx, 'insert'), { bucket: 'write' });
		r.put(`${API}/:module`, (ctx) => this.write(ctx, 'update'), { bucket: 'write' });
		r.delete(`${API}/:module`, (ctx) => this.deleteMany(ctx, (ctx.query.get('ids') ?? '').split(',').filter(Boolean)));
		r.get(`${API}/:module/:id`, (ctx) => this.getOne(ctx));
		r.put(`${API}/:module/:id`, (ctx) => this.write(ctx, 'update', ctx.params.id), { bucket: 'write' });
		r.delete(`${API}/:module/:id`, (ctx) => this.deleteMany(ctx, [ctx.params.id]));
	}

	/** `<METHOD> /__admin/ui/<API path>`: the call runs as the org's user in the Zoho UI. */
	protected registerAdminRoutes(r: Router): void {
		registerUiAdminRoutes(r, this.router, (c) => this.authenticate(c), () => ({ authorization: `Zoho-oauthtoken ${this.tokens.issue({ withRefresh: false }).accessToken}` }));
		r.put('/__admin/deal-stages', (ctx) => {
			try {
				this.setDealStages(((ctx.body ?? {}) as { stages?: DealStage[] }).stages ?? []);
			} catch (err) {
				return json(400, { error: (err as Error).message });
			}
			return json(200, { stages: this.dealStages });
		});
		r.get('/__admin/org-currency', () => json(200, this.currencies.getState()));
		r.put('/__admin/org-currency', (ctx) => {
			try {
				return json(200, this.setOrgCurrency((ctx.body ?? {}) as Partial<CurrencyState>));
			} catch (err) {
				return json(400, { error: (err as Error).message });
			}
		});
	}

	/** POST /oauth/v2/token — params in query or form. Errors come back with HTTP 200, like Zoho accounts. */
	private token(ctx: RequestContext): Reply {
		const p: Record<string, string> = { ...((ctx.body ?? {}) as Record<string, string>) };
		for (const [k, v] of ctx.query) p[k] ??= v;
		if (!p.client_id || !p.client_secret) return json(200, { error: 'invalid_client' });
		let issued;
		if (p.grant_type === 'refresh_token') {
			if (!this.limiter.hit(this.tokenMint, p.refresh_token ?? '').ok) {
				return json(400, { error_description: 'You have made too many requests continuously. Please try again after some time.', error: 'Access Denied', status: 'failure' });
			}
			issued = this.tokens.refreshAccess(p.refresh_token, p.client_id);
			if (!issued) return json(200, { error: 'invalid_code' });
		} else if (p.grant_type === 'authorization_code') {
			if (!p.code) return json(200, { error: 'invalid_code' });
			issued = this.tokens.issue({ clientId: p.client_id, scope: 'ZohoCRM.modules.ALL ZohoCRM.notifications.ALL' });
		} else if (p.grant_type === 'client_credentials') {
			issued = this.tokens.issue({ clientId: p.client_id, scope: p.scope ?? 'ZohoCRM.modules.ALL', withRefresh: false });
		} else return json(200, { error: 'unsupported_grant_type' });
		const body: Fields = {
			access_token: issued.accessToken,
			scope: issued.scope ?? 'ZohoCRM.modules.ALL',
			api_domain: this.url,
			token_type: 'Bearer',
			expires_in: Math.round((issued.expiresAt - issued.issuedAt) / 1000),
		};
		if (p.grant_type === 'authorization_code') body.refresh_token = issued.refreshToken;
		return json(200, body);
	}

	/** GET /settings/fields?module= */
	private fields(ctx: RequestContext): Reply {
		const module = ctx.query.get('module');
		if (!module) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'module' });
		if (!MODULES[module]) fail(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { param: 'module' });
		return json(200, { fields: moduleFields(module, this.dealStages, this.currencies.multiCurrency ? this.currencies.active() : undefined) });
	}

	/**
	 * GET /users?type=…&page&per_page (≤ 200): the org's users, `info.more_records` paging; 204
	 * when none is of the type. [U] AllUsers lists deactivated and deleted users too.
	 */
	private listUsers(ctx: RequestContext): Reply {
		const type = ctx.query.get('type') ?? 'AllUsers';
		if (!USER_TYPES.includes(type)) fail(400, 'INVALID_DATA', 'invalid data', { param: 'type' });
		const { page, perPage } = this.pageParams(ctx);
		const admin = (u: ZohoUserRow): boolean => u.profile.id === PROFILE_ADMIN.id;
		const keep: Record<string, (u: ZohoUserRow) => boolean> = {
			AllUsers: () => true,
			ActiveUsers: (u) => u.status === 'active',
			DeactiveUsers: (u) => u.status === 'disabled',
			ConfirmedUsers: (u) => u.confirm && u.status !== 'deleted',
			NotConfirmedUsers: (u) => !u.confirm && u.status !== 'deleted',
			DeletedUsers: (u) => u.status === 'deleted',
			ActiveConfirmedUsers: (u) => u.status === 'active' && u.confirm,
			AdminUsers: (u) => admin(u) && u.status !== 'deleted',
			ActiveConfirmedAdmins: (u) => admin(u) && u.status === 'active' && u.confirm,
			CurrentUser: (u) => u.id === ZOHO_USER.id,
		};
		const all = [...this.users.values()].filter(keep[type]);
		const start = (page - 1) * perPage;
		const rows = all.slice(start, start + perPage);
		if (rows.length === 0) return { status: 204 };
		return json(200, { users: rows, info: { per_page: perPage, count: rows.length, page, more_records: start + perPage < all.length } });
	}

	/**
	 * POST /users {users:[{first_name, last_name, email, role, profile}]}: last_name, email, role
	 * and profile (ids) are mandatory; an e-mail already in the org is DUPLICATE_DATA. [U] A new
	 * user is active and unconfirmed (the invitation is pending).
	 */
	private addUsers(ctx: RequestContext): Reply {
		const input = (ctx.body as { users?: unknown } | undefined)?.users;
		if (!Array.isArray(input) || input.length === 0) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'users' });
		const results = input.map((raw, i) => {
			const u = (typeof raw === 'object' && raw !== null ? raw : {}) as Fields;
			for (const key of ['last_name', 'email', 'role', 'profile']) {
				if (u[key] === undefined || u[key] === null || u[key] === '') return recordError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: key, json_path: `$.users[${i}].${key}` }) as unknown as Fields;
			}
			const email = String(u.email);
			if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return recordError('INVALID_DATA', 'invalid data', { api_name: 'email', json_path: `$.users[${i}].email` }) as unknown as Fields;
			if ([...this.users.values()].some((x) => x.status !== 'deleted' && x.email.toLowerCase() === email.toLowerCase())) {
				return recordError('DUPLICATE_DATA', 'duplicate data', { api_name: 'email', json_path: `$.users[${i}].email` }) as unknown as Fields;
			}
			const roleId = String(typeof u.role === 'object' ? (u.role as Fields).id : u.role);
			const profileId = String(typeof u.profile === 'object' ? (u.profile as Fields).id : u.profile);
			const role = roleId === ROLE_CEO.id ? ROLE_CEO : undefined;
			const profile = [PROFILE_ADMIN, PROFILE_STANDARD].find((p) => p.id === profileId);
			if (!role) return recordError('INVALID_DATA', 'invalid data', { api_name: 'role', json_path: `$.users[${i}].role` }) as unknown as Fields;
			if (!profile) return recordError('INVALID_DATA', 'invalid data', { api_name: 'profile', json_path: `$.users[${i}].profile` }) as unknown as Fields;
			const id = '4150868000000' + String(225013 + 1000 * ++this.lastUserId).padStart(6, '0');
			const first = u.first_name === undefined || u.first_name === null || u.first_name === '' ? null : String(u.first_name);
			this.users.set(id, {
				id,
				email,
				full_name: [first, String(u.last_name)].filter((x) => x).join(' '),
				first_name: first,
				last_name: String(u.last_name),
				status: 'active',
				confirm: false,
				role,
				profile,
				time_zone: 'UTC',
			});
			return { code: 'SUCCESS', details: { id }, message: 'User added', status: 'success' };
		});
		const ok = results.filter((r) => r.status === 'success').length;
		return json(ok === results.length ? 201 : ok === 0 ? 400 : 207, { users: results });
	}

	/** PUT /users/{id} {users:[{status?, first_name?, last_name?}]}: [U] status 'disabled' deactivates, 'active' reactivates. */
	private updateUser(ctx: RequestContext): Reply {
		const user = this.users.get(ctx.params.id);
		if (!user || user.status === 'deleted') fail(400, 'INVALID_DATA', 'the id given seems to be invalid', { resource_path_index: 1 });
		const u = (((ctx.body as { users?: unknown[] } | undefined)?.users ?? [])[0] ?? {}) as Fields;
		if (u.status !== undefined) {
			if (u.status !== 'active' && u.status !== 'disabled') return json(400, { users: [recordError('INVALID_DATA', 'invalid data', { api_name: 'status', json_path: '$.users[0].status' })] });
			user.status = u.status;
		}
		if (typeof u.first_name === 'string') user.first_name = u.first_name;
		if (typeof u.last_name === 'string' && u.last_name !== '') user.last_name = u.last_name;
		user.full_name = [user.first_name, user.last_name].filter((x) => x).join(' ');
		return json(200, { users: [{ code: 'SUCCESS', details: { id: user.id }, message: 'User updated', status: 'success' }] });
	}

	/** DELETE /users/{id}: the user is kept with status deleted (the API user cannot be deleted). */
	private deleteUser(ctx: RequestContext): Reply {
		const user = this.users.get(ctx.params.id);
		if (!user || user.status === 'deleted' || user.id === ZOHO_USER.id) fail(400, 'INVALID_DATA', 'the id given seems to be invalid', { resource_path_index: 1 });
		user.status = 'deleted';
		return json(200, { users: [{ code: 'SUCCESS', details: { id: user.id }, message: 'User deleted', status: 'success' }] });
	}

	// ---- helpers ----------------------------------------------------------------------------

	private module(ctx: RequestContext): string {
		const m = ctx.params.module;
		if (!MODULES[m]) fail(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 });
		return m;
	}

	private lookupRef(id: string): Fields | undefined {
		const module = this.moduleOf.get(id);
		const rec = module ? this.colls[module].get(id) : undefined;
		if (!module || !rec) return undefined;
		return { name: this.displayName(module, rec), id };
	}

	private displayName(module: string, rec: StoredRecord): string {
		const f = rec.fields;
		if (MODULES[module].display === 'Full_Name') return [f.First_Name, f.Last_Name].filter((x) => x).join(' ');
		return String(f[MODULES[module].display] ?? '');
	}

	/** Full record in Zoho's wire shape (lookup names resolved now), optionally projected. */
	private wire(module: string, rec: StoredRecord, fields?: string[]): Fields {
		const f = rec.fields;
		const owner = this.users.get(String((f.Owner as Fields | undefined)?.id ?? ZOHO_USER.id)) ?? this.users.get(ZOHO_USER.id)!;
		const full: Fields = { ...f, Owner: { name: owner.full_name, id: owner.id, email: owner.email } };
		for (const lk of Object.keys(MODULES[module].lookups)) {
			const v = f[lk] as Fields | null | undefined;
			if (v && typeof v === 'object') full[lk] = this.lookupRef(String(v.id)) ?? v;
		}
		if (MODULES[module].display === 'Full_Name') full.Full_Name = this.displayName(module, rec);
		Object.assign(full, {
			Created_Time: zohoTime(rec.createdAt),
			Modified_Time: zohoTime(rec.updatedAt),
			// Reads carry the user's email; write results do not (v2-get-lead-recorded.json vs v2-insert-lead-201-recorded.json).
			Created_By: USER_READ_REF,
			Modified_By: USER_READ_REF,
			id: rec.id,
		});
		if (!fields) return full;
		const out: Fields = { id: rec.id };
		for (const k of fields) if (k in full) out[k] = full[k];
		return out;
	}

	private successDetails(rec: StoredRecord): Fields {
		return { Modified_Time: zohoTime(rec.updatedAt), Modified_By: USER_REF, Created_Time: zohoTime(rec.createdAt), id: rec.id, Created_By: USER_REF };
	}

	/** Validates one input record; returns the fields to store or a per-record error. */
	private prepare(module: string, input: unknown, i: number, creating: boolean, existing?: StoredRecord): Fields | RecordError {
		if (typeof input !== 'object' || input === null || Array.isArray(input)) return recordError('INVALID_DATA', 'invalid data', { json_path: `$.data[${i}]` });
		const def = MODULES[module];
		const out: Fields = {};
		for (const [k, v] of Object.entries(input as Fields)) {
			if (k === 'id' || READ_ONLY.has(k) || k === 'Owner') continue;
			const problem = typeProblem(module, k, v);
			if (problem) return recordError('INVALID_DATA', 'invalid data', { expected_data_type: problem, api_name: k, json_path: `$.data[${i}].${k}` });
			out[k] = v;
		}
		// [U] An owner must be an active user of the org.
		const owner = (input as Fields).Owner as Fields | undefined;
		if (owner !== undefined) {
			const user = typeof owner === 'object' && owner !== null ? this.users.get(String(owner.id)) : undefined;
			if (!user || user.status !== 'active') return recordError('INVALID_DATA', 'invalid data', { expected_data_type: 'lookup', api_name: 'Owner', json_path: `$.data[${i}].Owner` });
			out.Owner = { id: user.id };
		}
		for (const [lk, target] of Object.entries(def.lookups)) {
			if (!(lk in out) || out[lk] === null) continue;
			const v = out[lk];
			const id = typeof v === 'string' ? v : String((v as Fields).id);
			const actual = this.moduleOf.get(id);
			let wanted = target;
			if (target === '*') {
				const named = (out.$se_module as string | undefined) ?? (((v as Fields).module as Fields | undefined)?.api_name as string | undefined);
				wanted = named ?? actual ?? '';
			}
			if (lk === 'Who_Id' && actual === 'Leads') wanted = 'Leads';
			if (!actual || actual !== wanted || !this.colls[actual].get(id)) {
				return recordError('INVALID_DATA', 'the related id given seems to be invalid', { api_name: lk, json_path: `$.data[${i}].${lk}` });
			}
			out[lk] = { id };
			if (target === '*') out.$se_module = actual;
		}
		// A multi-currency org: one of the active currencies (INVALID_DATA otherwise [U]), the home
		// currency when a new record names none; Exchange_Rate follows the currency.
		if (this.currencies.multiCurrency && CURRENCY_MODULES.includes(module)) {
			if ('Currency' in out) {
				if (!this.currencies.active().includes(String(out.Currency))) return recordError('INVALID_DATA', 'invalid data', { expected_data_type: 'picklist', api_name: 'Currency', json_path: `$.data[${i}].Currency` });
				if (!('Exchange_Rate' in out)) out.Exchange_Rate = this.currencies.rateOf(String(out.Currency));
			} else if (creating) {
				out.Currency = this.currencies.homeCurrency;
				out.Exchange_Rate = this.currencies.rateOf(this.currencies.homeCurrency);
			}
		}
		for (const req of def.required) {
			const v = req in out ? out[req] : creating ? undefined : existing?.fields[req];
			if (v === undefined || v === null || v === '') {
				return recordError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: req, json_path: `$.data[${i}].${req}` });
			}
		}
		return out;
	}

	private dataArray(ctx: RequestContext): unknown[] {
		const body = ctx.body as { data?: unknown } | undefined;
		if (!body || !Array.isArray(body.data)) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'data' });
		if (body.data.length === 0) fail(400, 'INVALID_DATA', 'the data given is empty', { param: 'data' });
		if (body.data.length > MAX_RECORDS_PER_CALL) fail(400, 'LIMIT_EXCEEDED', `you can only process ${MAX_RECORDS_PER_CALL} records at a time`, { limit: MAX_RECORDS_PER_CALL });
		return body.data;
	}

	private batchReply(results: Fields[], allOkStatus: number): Reply {
		const ok = results.filter((r) => r.status === 'success').length;
		const status = ok === results.length ? allOkStatus : ok === 0 ? 400 : 207;
		return json(status, { data: results });
	}

	// ---- writes -----------------------------------------------------------------------------

	/** POST (insert), PUT (update, ids in records or URL) and POST /upsert. */
	private write(ctx: RequestContext, mode: 'insert' | 'update' | 'upsert', urlId?: string): Reply {
		const module = this.module(ctx);
		const coll = this.colls[module];
		const items = this.dataArray(ctx);
		if (urlId !== undefined && items.length !== 1) fail(400, 'INVALID_DATA', 'only one record can be updated with the record id in the URL');
		const body = ctx.body as { duplicate_check_fields?: unknown };
		const dupFields = Array.isArray(body.duplicate_check_fields) ? (body.duplicate_check_fields as string[]) : MODULES[module].dupCheck;
		const notes = { insert: [] as string[], update: [] as string[], affected: new Map<string, string[]>() };
		const results: Fields[] = items.map((item, i) => {
			let existing: StoredRecord | undefined;
			let duplicateField: string | undefined;
			if (mode === 'update') {
				const id = urlId ?? (item as Fields | null)?.id;
				if (id === undefined || id === null) return recordError('MANDATORY_NOT_FOUND', 'record id not found', { api_name: 'id', json_path: `$.data[${i}].id` }) as unknown as Fields;
				existing = coll.get(String(id));
				if (!existing) return recordError('INVALID_DATA', 'the id given seems to be invalid', { api_name: 'id', id: String(id), json_path: `$.data[${i}].id` }) as unknown as Fields;
			} else if (mode === 'upsert' && item && typeof item === 'object') {
				for (const f of dupFields) {
					const v = (item as Fields)[f];
					if (v === undefined || v === null || v === '') continue;
					existing = this.findByField(module, f, v);
					if (existing) {
						duplicateField = f;
						break;
					}
				}
			}
			const prepared = this.prepare(module, item, i, !existing, existing);
			if ('status' in prepared && prepared.status === 'error') return prepared as unknown as Fields;
			const fields = prepared as Fields;
			if (!existing) {
				const dup = this.uniqueClash(module, fields, i);
				if (dup) return dup as unknown as Fields;
				const rec = coll.insert(fields);
				notes.insert.push(rec.id);
				const res: Fields = { code: 'SUCCESS', details: this.successDetails(rec), message: 'record added', status: 'success' };
				if (mode === 'upsert') return { code: 'SUCCESS', duplicate_field: null, action: 'insert', details: res.details, message: 'record added', status: 'success' };
				return res;
			}
			const clash = this.uniqueClash(module, fields, i, existing.id);
			if (clash) return clash as unknown as Fields;
			const changed = Object.keys(fields).filter((k) => JSON.stringify(existing!.fields[k] ?? null) !== JSON.stringify(fields[k] ?? null));
			coll.update(existing.id, fields);
			notes.update.push(existing.id);
			notes.affected.set(existing.id, changed);
			const details = this.successDetails(existing);
			if (mode === 'upsert') return { code: 'SUCCESS', duplicate_field: duplicateField, action: 'update', details, message: 'record updated', status: 'success' };
			return { code: 'SUCCESS', details, message: 'record updated', status: 'success' };
		});
		if (notes.insert.length) this.notify(module, 'insert', notes.insert);
		if (notes.update.length) this.notify(module, 'update', notes.update, notes.affected);
		return this.batchReply(results, mode === 'insert' ? 201 : 200);
	}

	/** Email is a unique field on Leads/Contacts in the emulated layout (DUPLICATE_DATA on insert). */
	private uniqueClash(module: string, fields: Fields, i: number, selfId?: string): RecordError | undefined {
		if (module !== 'Leads' && module !== 'Contacts') return undefined;
		const email = fields.Email;
		if (typeof email !== 'string' || email === '') return undefined;
		// Only a new value is checked, so records that already share an address (seed data) stay editable.
		const current = selfId ? this.colls[module].get(selfId)?.fields.Email : undefined;
		if (typeof current === 'string' && current.toLowerCase() === email.toLowerCase()) return undefined;
		const other = this.colls[module].findBy('f:Email', email).find((r) => r.id !== selfId);
		if (!other) return undefined;
		return recordError('DUPLICATE_DATA', 'duplicate data', { api_name: 'Email', json_path: `$.data[${i}].Email`, duplicate_record: { id: other.id, module: { api_name: module }, Owner: USER_REF } });
	}

	private findByField(module: string, field: string, value: unknown): StoredRecord | undefined {
		const coll = this.colls[module];
		if (coll.hasIndex(`f:${field}`)) return coll.findBy(`f:${field}`, value)[0];
		const want = String(value).toLowerCase();
		for (const r of coll.values()) if (String(r.fields[field] ?? '').toLowerCase() === want) return r;
		return undefined;
	}

	private deleteMany(ctx: RequestContext, ids: string[]): Reply {
		const module = this.module(ctx);
		if (ids.length === 0) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'ids' });
		if (ids.length > MAX_RECORDS_PER_CALL) fail(400, 'LIMIT_EXCEEDED', `you can only delete ${MAX_RECORDS_PER_CALL} records at a time`, { limit: MAX_RECORDS_PER_CALL });
		const done: string[] = [];
		const results = ids.map((id) => {
			const rec = this.colls[module].softDelete(id);
			if (!rec) return recordError('INVALID_DATA', 'the id given seems to be invalid', { id }) as unknown as Fields;
			done.push(id);
			return { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' };
		});
		if (done.length) this.notify(module, 'delete', done);
		return this.batchReply(results, 200);
	}

	// ---- reads ------------------------------------------------------------------------------

	private ifModifiedSince(ctx: RequestContext): number | undefined {
		const raw = header(ctx, 'if-modified-since');
		if (!raw) return undefined;
		const ms = Date.parse(raw);
		if (Number.isNaN(ms)) fail(400, 'INVALID_DATA', 'invalid If-Modified-Since header', { header: 'If-Modified-Since' });
		return ms;
	}

	private fieldsParam(ctx: RequestContext, required: boolean): string[] | undefined {
		const raw = ctx.query.get('fields');
		if (!raw) {
			if (required) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'fields' });
			return undefined;
		}
		const fields = raw.split(',').map((s) => s.trim()).filter(Boolean);
		if (fields.length > 50) fail(400, 'LIMIT_EXCEEDED', 'you can only fetch 50 fields at a time', { param: 'fields', limit: 50 });
		return fields;
	}

	private pageParams(ctx: RequestContext): { page: number; perPage: number } {
		const page = Number(ctx.query.get('page') ?? 1);
		const perPage = Number(ctx.query.get('per_page') ?? MAX_PER_PAGE);
		if (!Number.isInteger(page) || page < 1) fail(400, 'INVALID_DATA', 'invalid data', { param: 'page' });
		if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) fail(400, 'INVALID_DATA', 'invalid data', { param: 'per_page', maximum_length: MAX_PER_PAGE });
		return { page, perPage };
	}

	private getOne(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		const rec = this.colls[module].get(ctx.params.id);
		// A converted lead answers 204 (seen live on v8), a missing or deleted record 400.
		if (!rec && this.colls[module].get(ctx.params.id, { includeDeleted: true })?.fields.$converted === true) return { status: 204 };
		if (!rec) fail(400, 'INVALID_DATA', 'the id given seems to be invalid', { resource_path_index: 1 });
		const since = this.ifModifiedSince(ctx);
		if (since !== undefined && secondFloor(rec.updatedAt) <= since) return { status: 304 };
		return json(200, { data: [this.wire(module, rec, this.fieldsParam(ctx, false))] });
	}

	/** GET /{module}: fields required; page/per_page up to 2,000 records, page_token beyond. */
	private list(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		const coll = this.colls[module];
		const fields = this.fieldsParam(ctx, true);
		const { page, perPage } = this.pageParams(ctx);
		const sortBy = ctx.query.get('sort_by') ?? 'id';
		const order = ctx.query.get('sort_order') ?? 'desc';
		if (!['id', 'Created_Time', 'Modified_Time'].includes(sortBy)) fail(400, 'INVALID_DATA', 'invalid data', { param: 'sort_by' });
		if (order !== 'asc' && order !== 'desc') fail(400, 'INVALID_DATA', 'invalid data', { param: 'sort_order' });
		const since = this.ifModifiedSince(ctx);
		const idsParam = ctx.query.get('ids');
		const idSet = idsParam ? new Set(idsParam.split(',')) : undefined;
		const keep = (r: StoredRecord): boolean => (since === undefined || secondFloor(r.updatedAt) > since) && (!idSet || idSet.has(r.id));
		const rawToken = ctx.query.get('page_token');
		let token: Token = {};
		if (rawToken) {
			try {
				token = JSON.parse(Buffer.from(rawToken, 'base64url').toString('utf8')) as Token;
			} catch {
				fail(400, 'INVALID_DATA', 'invalid data', { param: 'page_token' });
			}
		} else if ((page - 1) * perPage + perPage > DISCRETE_LIMIT) {
			fail(400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED', `you cannot fetch more than ${DISCRETE_LIMIT} records without page_token. Use page_token from the previous response.`, { limit: DISCRETE_LIMIT });
		}
		const skip = rawToken ? (token.o ?? 0) : (page - 1) * perPage;
		const rows: StoredRecord[] = [];
		let more = false;
		let next: Token | undefined;
		if (order === 'asc' && (sortBy === 'id' || sortBy === 'Modified_Time') && token.o === undefined) {
			const it =
				sortBy === 'id'
					? coll.valuesAfterSeq(token.s ?? 0)
					: token.t !== undefined
						? coll.changedSince(token.t)
						: coll.changedSince(since === undefined ? 0 : since + 999);
			let skipped = 0;
			for (const r of it) {
				if (!keep(r)) continue;
				if (skipped < (rawToken ? 0 : skip)) {
					skipped++;
					continue;
				}
				if (rows.length === perPage) {
					more = true;
					break;
				}
				rows.push(r);
			}
			const last = rows[rows.length - 1];
			if (more && last) next = sortBy === 'id' ? { s: last.seq } : { t: last.updatedAt };
		} else {
			const all = [...coll.values()].filter(keep);
			const key = sortBy === 'id' ? (r: StoredRecord) => r.seq : sortBy === 'Created_Time' ? (r: StoredRecord) => r.createdAt * 1e6 + r.seq : (r: StoredRecord) => r.updatedAt;
			all.sort((a, b) => (order === 'asc' ? key(a) - key(b) : key(b) - key(a)));
			rows.push(...all.slice(skip, skip + perPage));
			more = skip + perPage < all.length;
			if (more) next = { o: skip + perPage };
		}
		if (rows.length === 0) return since !== undefined ? { status: 304 } : { status: 204 };
		return json(200, {
			data: rows.map((r) => this.wire(module, r, fields)),
			info: {
				per_page: perPage,
				count: rows.length,
				page: rawToken ? undefined : page,
				sort_by: sortBy,
				sort_order: order,
				more_records: more,
				next_page_token: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null,
				previous_page_token: null,
				page_token_expiry: next ? zohoTime(Date.now() + 24 * 3600 * 1000) : null,
			},
		});
	}

	/** GET /{module}/search?email=|phone=|word=|criteria= — 204 when nothing matches. */
	private search(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		const coll = this.colls[module];
		const q = ctx.query;
		const { page, perPage } = this.pageParams(ctx);
		if (page * perPage > DISCRETE_LIMIT) fail(400, 'LIMIT_REACHED', `search returns at most ${DISCRETE_LIMIT} records`, { limit: DISCRETE_LIMIT });
		const fields = this.fieldsParam(ctx, false);
		const def = MODULES[module];
		let candidates: Iterable<StoredRecord>;
		let test: (r: StoredRecord) => boolean = () => true;
		const email = q.get('email');
		const phone = q.get('phone');
		const word = q.get('word');
		const criteria = q.get('criteria');
		if ([email, phone, word, criteria].filter((x) => x !== null).length !== 1) {
			fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'criteria|email|phone|word' });
		}
		if (email !== null) {
			candidates = coll.findBy('email', email);
		} else if (phone !== null) {
			const d = phoneKey(phone);
			if (!d) fail(400, 'INVALID_QUERY', 'invalid query formed', { param: 'phone' });
			candidates = coll.findBy('phone', d);
		} else if (word !== null) {
			if (word.length < 2) fail(400, 'INVALID_QUERY', 'the word should have at least 2 characters', { param: 'word' });
			const w = word.toLowerCase();
			candidates = coll.values();
			test = (r) => Object.values(r.fields).some((v) => typeof v === 'string' && v.toLowerCase().includes(w));
		} else {
			let tree;
			try {
				tree = parseCriteria(criteria!);
			} catch (err) {
				if (err instanceof CriteriaError) fail(400, 'INVALID_QUERY', err.message, { param: 'criteria' });
				throw err;
			}
			const lookups = indexLookups(tree, [...def.email, ...def.dupCheck, ...def.phone]);
			if (lookups) {
				const found = new Map<string, StoredRecord>();
				for (const { field, value } of lookups) {
					const hits = def.phone.includes(field) ? coll.findBy('phone', phoneKey(value)) : coll.findBy(`f:${field}`, value);
					for (const r of hits) found.set(r.id, r);
				}
				candidates = [...found.values()].sort((a, b) => a.seq - b.seq);
			} else if (tree.kind === 'cond' && tree.field === 'Modified_Time' && (tree.op === 'greater_than' || tree.op === 'greater_equal')) {
				const ms = Date.parse(tree.values[0]);
				candidates = Number.isNaN(ms) ? coll.values() : coll.changedSince(ms - 1000);
			} else candidates = coll.values();
			test = (r) => matchesCriteria(tree, this.wire(module, r));
		}
		const matches: StoredRecord[] = [];
		const start = (page - 1) * perPage;
		let total = 0;
		for (const r of candidates) {
			if (!test(r)) continue;
			if (total >= start && matches.length < perPage) matches.push(r);
			total++;
			if (total > start + perPage) break;
		}
		if (matches.length === 0) return { status: 204 };
		return json(200, {
			data: matches.map((r) => this.wire(module, r, fields)),
			info: { per_page: perPage, count: matches.length, page, more_records: total > start + perPage },
		});
	}

	/** GET /{module}/deleted?type=all|recycle|permanent (+ If-Modified-Since). */
	private deleted(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		const type = ctx.query.get('type') ?? 'all';
		if (!['all', 'recycle', 'permanent'].includes(type)) fail(400, 'INVALID_DATA', 'invalid data', { param: 'type' });
		const { page, perPage } = this.pageParams(ctx);
		const since = this.ifModifiedSince(ctx);
		const rows: Fields[] = [];
		if (type !== 'permanent') {
			for (const r of this.colls[module].changedSince(since === undefined ? 0 : since + 999, { includeDeleted: true })) {
				// A converted lead left Leads without going to the recycle bin.
				if (r.deletedAt === undefined || r.fields.$converted === true || (since !== undefined && secondFloor(r.deletedAt) <= since)) continue;
				rows.push({ deleted_by: USER_REF, id: r.id, display_name: this.displayName(module, r), type: 'recycle', created_by: USER_REF, deleted_time: zohoTime(r.deletedAt) });
			}
		}
		const start = (page - 1) * perPage;
		const pageRows = rows.slice(start, start + perPage);
		if (pageRows.length === 0) return since !== undefined ? { status: 304 } : { status: 204 };
		return json(200, { data: pageRows, info: { per_page: perPage, count: pageRows.length, page, more_records: start + perPage < rows.length } });
	}

	// ---- merge ------------------------------------------------------------------------------

	/**
	 * POST /Leads/{id}/actions/convert {data: [{Contacts?: {id}, Accounts?: {id}, Deals?: {...},
	 * overwrite?, assign_to?: {id}, notify_lead_owner?, notify_new_entity_owner?}]}. The contact is
	 * the one given, else the contact with the lead's e-mail, else a new one from the lead; the
	 * account is the one given, else (without overwrite) the existing contact's account, else the
	 * account named like the lead's Company, else a new one (none without a Company); a deal only
	 * when Deals is given (docs v7: "Use this key to create a deal"). The answer is bare ids
	 * (v2-convert-lead-recorded.json). The lead leaves Leads: GET answers 204 (seen live on v8) and
	 * a second convert 400 ID_ALREADY_CONVERTED (documented; seen live on v8).
	 */
	private convert(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		if (module !== 'Leads') fail(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 });
		const lead = this.colls.Leads.get(ctx.params.id, { includeDeleted: true });
		if (lead?.fields.$converted === true) fail(400, 'ID_ALREADY_CONVERTED', 'id already converted', { id: lead.id });
		if (!lead || lead.deletedAt !== undefined) fail(400, 'INVALID_DATA', 'the id given seems to be invalid', { resource_path_index: 1 });
		// Seen live (v8): no body is 400 INVALID_DATA "body"; {"data": [{}]} is the minimal request.
		const body = ctx.body as { data?: unknown } | undefined;
		if (!body || typeof body !== 'object' || Array.isArray(body)) fail(400, 'INVALID_DATA', 'body', { expected_data_type: 'jsonobject' });
		const input = (Array.isArray(body.data) ? body.data[0] : undefined) as Fields | undefined;
		if (!input || typeof input !== 'object') fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'data' });
		const f = lead.fields;
		// Contacts / Accounts / assign_to are {id} objects from v3 on (v2 took bare id strings); an empty one is MANDATORY_NOT_FOUND on its id (seen live on v8).
		const given = (key: string, target: string): StoredRecord | undefined => {
			const v = input[key];
			if (v === undefined || v === null) return undefined;
			if (typeof v !== 'object' || Array.isArray(v)) fail(400, 'INVALID_DATA', 'invalid data', { expected_data_type: 'jsonobject', api_name: key, json_path: `$.data[0].${key}` });
			const id = (v as Fields).id;
			if (id === undefined || id === null || id === '') fail(400, 'MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'id', json_path: `$.data[0].${key}.id` });
			const rec = target === 'users' ? undefined : this.colls[target].get(String(id));
			if (target !== 'users' && !rec) fail(400, 'INVALID_DATA', 'the related id given seems to be invalid', { api_name: key, json_path: `$.data[0].${key}` });
			return rec;
		};
		let owner: Fields | undefined;
		if (input.assign_to !== undefined && input.assign_to !== null) {
			given('assign_to', 'users');
			const user = this.users.get(String((input.assign_to as Fields).id));
			if (!user || user.status !== 'active') fail(400, 'INVALID_DATA', 'invalid data', { expected_data_type: 'lookup', api_name: 'assign_to', json_path: '$.data[0].assign_to' });
			owner = { id: user.id };
		}
		const overwrite = input.overwrite === true;
		const givenAccount = given('Accounts', 'Accounts');
		// Documented order of preference without ids: the lead's e-mail among Contacts, then Company among account names.
		const email = typeof f.Email === 'string' && f.Email !== '' ? f.Email : undefined;
		const contact = given('Contacts', 'Contacts') ?? (email ? this.colls.Contacts.findBy('f:Email', email)[0] : undefined);
		let deal: Fields | undefined;
		if (input.Deals !== undefined && input.Deals !== null) {
			const prepared = this.prepare('Deals', input.Deals, 0, true);
			if ('status' in prepared && prepared.status === 'error') {
				const e = prepared as RecordError;
				if (typeof e.details.json_path === 'string') e.details.json_path = e.details.json_path.replace('$.data[0]', '$.data[0].Deals');
				return json(400, { data: [e] });
			}
			deal = prepared as Fields;
		}

		const contactAccount = (contact?.fields.Account_Name as Fields | undefined)?.id as string | undefined;
		const company = typeof f.Company === 'string' && f.Company !== '' ? f.Company : undefined;
		let account = givenAccount ?? (contactAccount && !overwrite ? this.colls.Accounts.get(contactAccount) : undefined) ?? (company ? this.findByField('Accounts', 'Account_Name', company) : undefined);
		const inserted: Record<string, string[]> = { Accounts: [], Contacts: [], Deals: [] };
		const updated: Record<string, Map<string, string[]>> = { Accounts: new Map(), Contacts: new Map() };
		const patch = (m: 'Accounts' | 'Contacts', rec: StoredRecord, values: Fields) => {
			const changed = Object.keys(values).filter((k) => JSON.stringify(rec.fields[k] ?? null) !== JSON.stringify(values[k]));
			if (!changed.length) return;
			this.colls[m].update(rec.id, values);
			updated[m].set(rec.id, changed);
		};
		if (!account && company) {
			account = this.colls.Accounts.insert({ Account_Name: company, Phone: f.Phone ?? null, Website: f.Website ?? null, ...(owner ? { Owner: owner } : {}) });
			inserted.Accounts.push(account.id);
		} else if (account && givenAccount && overwrite && company) {
			// Docs: with an account id and overwrite, the account's name becomes the lead's company; its other data stays.
			patch('Accounts', account, { Account_Name: company });
		}
		let contactId: string;
		if (contact) {
			contactId = contact.id;
			// Linked to the conversion's account unless it has another one and overwrite is false.
			if (account && contactAccount !== account.id && (!contactAccount || overwrite)) patch('Contacts', contact, { Account_Name: { id: account.id } });
		} else {
			const contactFields: Fields = {};
			const copy: Array<[string, string]> = [['First_Name', 'First_Name'], ['Last_Name', 'Last_Name'], ['Email', 'Email'], ['Phone', 'Phone'], ['Mobile', 'Mobile'], ['Designation', 'Title'], ['Lead_Source', 'Lead_Source'], ['Street', 'Mailing_Street'], ['City', 'Mailing_City'], ['State', 'Mailing_State'], ['Zip_Code', 'Mailing_Zip'], ['Country', 'Mailing_Country'], ['Email_Opt_Out', 'Email_Opt_Out']];
			for (const [from, to] of copy) if (f[from] !== undefined && f[from] !== null) contactFields[to] = f[from];
			if (account) contactFields.Account_Name = { id: account.id };
			if (owner) contactFields.Owner = owner;
			contactId = this.colls.Contacts.insert(contactFields).id;
			inserted.Contacts.push(contactId);
		}
		let dealId: string | null = null;
		if (deal) {
			dealId = this.colls.Deals.insert({ ...deal, ...(account ? { Account_Name: { id: account.id } } : {}), Contact_Name: { id: contactId }, ...(owner && !deal.Owner ? { Owner: owner } : {}) }).id;
			inserted.Deals.push(dealId);
		}
		// The lead leaves Leads (not to the recycle bin: GET /Leads/deleted does not list it).
		this.colls.Leads.update(lead.id, { $converted: true });
		this.colls.Leads.softDelete(lead.id);
		// Notifications: every record created or changed; none for the lead [U].
		for (const m of ['Accounts', 'Contacts', 'Deals']) if (inserted[m].length) this.notify(m, 'insert', inserted[m]);
		for (const m of ['Accounts', 'Contacts'] as const) if (updated[m].size) this.notify(m, 'update', [...updated[m].keys()], updated[m]);
		return json(200, { data: [{ Contacts: contactId, Deals: dealId, Accounts: account?.id ?? null }] });
	}

	/** POST /{module}/{master}/actions/merge — up to 3 records; children are deleted. */
	private merge(ctx: RequestContext): Reply {
		const module = this.module(ctx);
		const mergeErr = (message: string, details: Fields = {}): never => {
			throw new ReplyError(json(400, { merge: [recordError('INVALID_DATA', message, details)] }));
		};
		if (!MODULES[module].mergeable) mergeErr('merge is not supported for this module', { api_name: module });
		const coll = this.colls[module];
		const master = coll.get(ctx.params.id);
		if (!master) mergeErr('the id given seems to be invalid', { id: ctx.params.id });
		const spec = ((ctx.body as { merge?: Fields[] } | undefined)?.merge ?? [])[0];
		const childIds = Array.isArray(spec?.data) ? (spec.data as Fields[]).map((d) => String(d?.id)) : [];
		if (childIds.length === 0) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'data' });
		if (childIds.length > 2) mergeErr('you can merge at most 3 records at a time', { limit: 3 });
		const children = childIds.map((id) => coll.get(id) ?? mergeErr('the id given seems to be invalid', { id }));
		if (children.some((c) => c.id === master!.id)) mergeErr('the master record cannot be merged with itself', { id: master!.id });
		const patch: Fields = {};
		for (const mf of (spec.master_record_fields as Fields[] | undefined) ?? []) {
			const api = String(mf.api_name);
			const d = mf._data as Fields | Fields[] | undefined;
			const fromId = String(mf.id ?? (Array.isArray(d) ? d[0]?.id : d?.id) ?? '');
			const from = children.find((c) => c.id === fromId);
			if (from) patch[api] = from.fields[api] ?? null;
		}
		const childSet = new Set(children.map((c) => c.id));
		for (const [m, def] of Object.entries(MODULES)) {
			const lkFields = Object.entries(def.lookups).filter(([, t]) => t === module || t === '*').map(([f]) => f);
			if (!lkFields.length) continue;
			const moved: string[] = [];
			const affected = new Map<string, string[]>();
			const hits = new Map<string, StoredRecord>();
			for (const f of lkFields) for (const child of childSet) for (const r of this.colls[m].findBy(`ref:${f}`, child)) hits.set(r.id, r);
			for (const r of hits.values()) {
				const p: Fields = {};
				for (const f of lkFields) if (childSet.has(String((r.fields[f] as Fields | null)?.id ?? ''))) p[f] = { id: master!.id };
				this.colls[m].update(r.id, p);
				moved.push(r.id);
				affected.set(r.id, Object.keys(p));
			}
			if (moved.length) this.notify(m, 'update', moved, affected);
		}
		for (const c of children) coll.softDelete(c.id);
		this.notify(module, 'delete', [...childSet]);
		coll.update(master!.id, patch);
		this.notify(module, 'update', [master!.id], new Map([[master!.id, Object.keys(patch)]]));
		return json(200, { merge: [{ code: 'SUCCESS', details: { id: master!.id }, message: 'The records have been merged successfully', status: 'success' }] });
	}

	/** Merges complete synchronously here, so every job reports COMPLETED. */
	private mergeStatus(ctx: RequestContext): Reply {
		this.module(ctx);
		const jobId = ctx.query.get('job_id');
		if (!jobId) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'job_id' });
		return json(200, { merge: [{ job_id: jobId, status: 'COMPLETED' }] });
	}

	// ---- notifications ----------------------------------------------------------------------

	private channels(): Channel[] {
		return [...this.subscriptions.values()] as Channel[];
	}

	private parseChannel(raw: unknown, i: number, existing?: Channel): Channel | RecordError {
		const w = (typeof raw === 'object' && raw !== null ? raw : {}) as Fields;
		const bad = (api: string, message = 'invalid data'): RecordError => recordError('INVALID_DATA', message, { api_name: api, json_path: `$.watch[${i}].${api}` });
		if (w.channel_id === undefined || !/^\d+$/.test(String(w.channel_id))) return recordError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'channel_id', json_path: `$.watch[${i}].channel_id` });
		const events = w.events ?? existing?.events;
		if (!Array.isArray(events) || events.length === 0) return recordError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'events', json_path: `$.watch[${i}].events` });
		for (const e of events) {
			const [m, op] = String(e).split('.');
			if (!MODULES[m] || !['all', 'create', 'edit', 'delete'].includes(op)) return bad('events');
		}
		const url = w.notify_url ?? existing?.notify_url;
		if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) return bad('notify_url');
		const token = w.token ?? existing?.token ?? null;
		if (token !== null && (typeof token !== 'string' || token.length > 50)) return bad('token', 'token must be a string of at most 50 characters');
		let expiry = existing?.channel_expiry ?? Date.now() + DEFAULT_CHANNEL_EXPIRY_MS;
		if (w.channel_expiry !== undefined) {
			const ms = Date.parse(String(w.channel_expiry));
			if (Number.isNaN(ms)) return bad('channel_expiry');
			expiry = Math.min(ms, Date.now() + MAX_CHANNEL_EXPIRY_MS);
		} else if (!existing) expiry = Date.now() + DEFAULT_CHANNEL_EXPIRY_MS;
		const id = String(w.channel_id);
		return {
			id,
			url,
			channel_id: id,
			events: events.map(String),
			channel_expiry: expiry,
			token,
			notify_url: url,
			return_affected_field_values: Boolean(w.return_affected_field_values ?? existing?.return_affected_field_values ?? false),
			notification_condition: w.notification_condition,
		};
	}

	private channelDetails(c: Channel): Fields {
		return {
			events: c.events.map((e) => {
				const m = e.split('.')[0];
				return { channel_expiry: zohoTime(c.channel_expiry), resource_uri: `${this.url}${API}/${m}`, resource_id: this.moduleId(m), resource_name: m, channel_id: c.channel_id };
			}),
		};
	}

	private moduleId(module: string): string {
		return '4150868000000002' + String(Object.keys(MODULES).indexOf(module) + 175).padStart(3, '0');
	}

	private watchBody(ctx: RequestContext): unknown[] {
		const watch = (ctx.body as { watch?: unknown } | undefined)?.watch;
		if (!Array.isArray(watch) || watch.length === 0) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'watch' });
		return watch;
	}

	/** POST (enable) / PUT (update) /actions/watch. */
	private watchEnable(ctx: RequestContext, update: boolean): Reply {
		const results = this.watchBody(ctx).map((raw, i) => {
			const existing = update ? (this.subscriptions.get(String((raw as Fields)?.channel_id)) as Channel | undefined) : undefined;
			if (update && !existing) return recordError('INVALID_DATA', 'the channel_id given seems to be invalid', { api_name: 'channel_id', json_path: `$.watch[${i}].channel_id` }) as unknown as Fields;
			const c = this.parseChannel(raw, i, existing);
			if ('status' in c) return c as unknown as Fields;
			this.subscriptions.set(c.id, c);
			return { code: 'SUCCESS', details: this.channelDetails(c), message: 'Successfully subscribed for actions-watch of the given module', status: 'success' };
		});
		const ok = results.filter((r) => r.status === 'success').length;
		return json(ok === results.length ? 200 : ok === 0 ? 400 : 207, { watch: results });
	}

	/** PATCH /actions/watch: `_delete_events: true` removes the listed events; otherwise adds events / renews expiry. */
	private watchPatch(ctx: RequestContext): Reply {
		const results = this.watchBody(ctx).map((raw, i) => {
			const w = (raw ?? {}) as Fields;
			const existing = this.subscriptions.get(String(w.channel_id)) as Channel | undefined;
			if (!existing) return recordError('INVALID_DATA', 'the channel_id given seems to be invalid', { api_name: 'channel_id', json_path: `$.watch[${i}].channel_id` }) as unknown as Fields;
			if (w._delete_events === true) {
				const drop = new Set((w.events as string[] | undefined) ?? []);
				existing.events = existing.events.filter((e) => !drop.has(e));
				if (existing.events.length === 0) this.subscriptions.delete(existing.id);
				return { code: 'SUCCESS', details: this.channelDetails(existing), message: 'Successfully unsubscribed from actions-watch', status: 'success' };
			}
			const merged = Array.isArray(w.events) ? [...new Set([...existing.events, ...(w.events as string[])])] : existing.events;
			const c = this.parseChannel({ ...w, events: merged }, i, existing);
			if ('status' in c) return c as unknown as Fields;
			this.subscriptions.set(c.id, c);
			return { code: 'SUCCESS', details: this.channelDetails(c), message: 'Successfully subscribed for actions-watch of the given module', status: 'success' };
		});
		const ok = results.filter((r) => r.status === 'success').length;
		return json(ok === results.length ? 200 : ok === 0 ? 400 : 207, { watch: results });
	}

	private watchList(): Reply {
		const live = this.channels();
		if (live.length === 0) return { status: 204 };
		return json(200, {
			watch: live.map((c) => ({
				channel_id: c.channel_id,
				events: c.events,
				channel_expiry: zohoTime(c.channel_expiry),
				notify_url: c.notify_url,
				token: c.token,
				return_affected_field_values: c.return_affected_field_values,
				expired: c.channel_expiry <= Date.now(),
			})),
		});
	}

	/** DELETE /actions/watch?channel_ids=1,2 */
	private watchDisable(ctx: RequestContext): Reply {
		const ids = (ctx.query.get('channel_ids') ?? '').split(',').filter(Boolean);
		if (ids.length === 0) fail(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'channel_ids' });
		const results = ids.map((id) =>
			this.subscriptions.delete(id)
				? { code: 'SUCCESS', details: { channel_id: id }, message: 'Successfully unsubscribed from actions-watch', status: 'success' }
				: recordError('INVALID_DATA', 'the channel_id given seems to be invalid', { channel_id: id }),
		);
		const ok = results.filter((r) => r.status === 'success').length;
		return json(ok === results.length ? 200 : ok === 0 ? 400 : 207, { watch: results });
	}

	/** Admin-created channels take the same fields as one /actions/watch entry. */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		const c = this.parseChannel({ notify_url: spec.url, ...spec, channel_id: spec.channel_id ?? String(Date.now()) }, 0);
		if ('status' in c) throw new ReplyError(json(400, c));
		this.subscriptions.set(c.id, c);
		return c;
	}

	/** One notification per channel per API call, listing all affected ids of that operation. */
	private notify(module: string, op: Op, ids: string[], affected?: Map<string, string[]>): void {
		if (this.subscriptions.size === 0 || ids.length === 0) return;
		const now = Date.now();
		for (const c of this.channels()) {
			if (c.channel_expiry <= now) continue;
			const hit = c.events.some((e) => {
				const [m, ev] = e.split('.');
				return m === module && (ev === 'all' || OP_OF_EVENT[ev] === op);
			});
			if (!hit) continue;
			const queryParams = Object.fromEntries(new URL(c.notify_url).searchParams);
			const body: Fields = {
				server_time: now,
				query_params: queryParams,
				module,
				resource_uri: `${this.url}${API}/${module}`,
				ids,
				operation: op,
				// A string: channel ids have up to 19 digits (notification-update-affected-values-recorded.json).
				channel_id: String(c.channel_id),
				token: c.token,
			};
			if (op === 'update' && c.return_affected_field_values && affected) {
				body.affected_fields = ids.map((id) => ({ [id]: affected.get(id) ?? [] }));
				body.affected_values = ids.map((id) => ({ record_id: id, values: this.affectedValues(module, id, affected.get(id) ?? []) }));
			}
			const payload = JSON.stringify(body);
			this.webhooks.send({ subscriptionId: c.id, url: c.notify_url, build: () => ({ headers: { 'Content-Type': 'application/json' }, body: payload }) });
		}
	}

	/** `affected_values[].values`: the changed fields' new values, as a read shows them. */
	private affectedValues(module: string, id: string, fields: string[]): Fields {
		const rec = this.colls[module].get(id);
		const full = rec ? this.wire(module, rec) : {};
		return Object.fromEntries(fields.map((f) => [f, full[f] ?? null]));
	}

	// ---- seed and dump ------------------------------------------------------------------------

	protected applySeed(data: SeedData): SeedSummary {
		const accounts = new Map<string, string>();
		const contacts = new Map<string, string>();
		const deals = new Map<string, string>();
		const { multiCurrency, homeCurrency } = this.currencies;
		const currency = (module: string): Fields => (multiCurrency && CURRENCY_MODULES.includes(module) ? { Currency: homeCurrency, Exchange_Rate: 1 } : {});
		const ins = (module: string, fields: Fields, createdAt: number): string => this.colls[module].insert({ ...currency(module), ...fields }, { createdAt }).id;
		for (const c of data.companies) {
			accounts.set(c.key, ins('Accounts', { Account_Name: c.name, Website: `https://${c.domain}`, Phone: c.phone, Industry: c.industry, Billing_City: c.city, Billing_Country: c.country }, c.createdAt));
		}
		for (const p of data.contacts) {
			const f: Fields = { First_Name: p.firstName, Last_Name: p.lastName, Email: p.email, Phone: p.phone, Title: p.title, Mailing_City: p.city, Mailing_Country: p.country, Email_Opt_Out: false };
			if (p.mobile) f.Mobile = p.mobile;
			if (p.companyKey && accounts.has(p.companyKey)) f.Account_Name = { id: accounts.get(p.companyKey) };
			contacts.set(p.key, ins('Contacts', f, p.createdAt));
		}
		const status: Record<string, string> = { new: 'Not Contacted', working: 'Contact in Future', qualified: 'Pre-Qualified', unqualified: 'Junk Lead' };
		for (const l of data.leads) ins('Leads', { First_Name: l.firstName, Last_Name: l.lastName, Email: l.email, Phone: l.phone, Company: l.company, Lead_Status: status[l.status] }, l.createdAt);
		const stage = (d: SeedData['deals'][number]): string => (d.stage === 'won' ? 'Closed Won' : d.stage === 'lost' ? 'Closed Lost' : d.stageLabel.replace(/\b\w/g, (c) => c.toUpperCase()));
		for (const d of data.deals) {
			const f: Fields = { Deal_Name: d.name, Amount: d.amount, Stage: stage(d), Closing_Date: d.closeDate, Pipeline: 'Standard' };
			if (d.companyKey && accounts.has(d.companyKey)) f.Account_Name = { id: accounts.get(d.companyKey) };
			if (d.contactKey && contacts.has(d.contactKey)) f.Contact_Name = { id: contacts.get(d.contactKey) };
			deals.set(d.key, ins('Deals', f, d.createdAt));
		}
		const counts: Record<string, number> = { Tasks: 0, Calls: 0, Events: 0, Notes: 0 };
		for (const a of data.activities) {
			const who = a.contactKey ? contacts.get(a.contactKey) : undefined;
			const whatDeal = a.dealKey ? deals.get(a.dealKey) : undefined;
			const whatAcc = a.companyKey ? accounts.get(a.companyKey) : undefined;
			const links: Fields = {};
			if (who) links.Who_Id = { id: who };
			if (whatDeal) Object.assign(links, { What_Id: { id: whatDeal }, $se_module: 'Deals' });
			else if (whatAcc) Object.assign(links, { What_Id: { id: whatAcc }, $se_module: 'Accounts' });
			const at = zohoTime(a.at);
			if (a.type === 'note') {
				const parent = who ?? whatDeal ?? whatAcc;
				if (!parent) continue;
				ins('Notes', { Note_Title: a.subject, Note_Content: a.body, Parent_Id: { id: parent }, $se_module: this.moduleOf.get(parent) }, a.createdAt);
				counts.Notes++;
			} else if (a.type === 'call') {
				ins('Calls', { Subject: a.subject, Call_Type: a.direction === 'inbound' ? 'Inbound' : 'Outbound', Call_Start_Time: at, Call_Duration_in_seconds: a.durationSec ?? 0, Description: a.body, ...links }, a.createdAt);
				counts.Calls++;
			} else if (a.type === 'meeting') {
				ins('Events', { Event_Title: a.subject, Start_DateTime: at, End_DateTime: zohoTime(a.endAt ?? a.at + 3600000), Description: a.body, ...links }, a.createdAt);
				counts.Events++;
			} else {
				ins('Tasks', { Subject: a.subject, Due_Date: at.slice(0, 10), Status: a.done ? 'Completed' : 'Not Started', Priority: 'Normal', Description: a.body, ...links }, a.createdAt);
				counts.Tasks++;
			}
		}
		return { Accounts: data.companies.length, Contacts: data.contacts.length, Leads: data.leads.length, Deals: data.deals.length, ...counts };
	}

	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const module of Object.keys(MODULES)) {
			out[module] = [...this.colls[module].values({ includeDeleted: true })].map((r) => ({ ...this.wire(module, r), ...(r.deletedAt !== undefined ? { $deleted: true } : {}) }));
		}
		return out;
	}
}

export function createEmulator(opts?: EmulatorOptions): Emulator {
	return new ZohoEmulator(opts);
}
