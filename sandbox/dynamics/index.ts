// Dynamics 365 / Dataverse Web API v9.2 emulator: CRUD with OData conventions (204 +
// OData-EntityId, Prefer return=representation, If-Match / If-None-Match, upsert by id or
// alternate key), $filter/$select/$orderby/$top/$count, server paging with @odata.nextLink,
// change tracking with delta links, $batch with changesets, Merge, QualifyLead, WinOpportunity,
// LoseOpportunity, WhoAmI, the Entra
// client-credentials token endpoint, service-protection throttling and webhooks
// (RemoteExecutionContext, registered through the admin API); systemusers, transactioncurrencies
// and organizations (read-only) and the option sets of choices (PicklistAttributeMetadata with
// $expand=OptionSet).
// Base URL = the org URL (client appends /api/data/v9.2).

import { createHash, randomUUID } from 'node:crypto';
import { BaseEmulator, ReplyError } from '../common/base';
import { bearerToken } from '../common/auth';
import { json, header, Handler, Reply, RequestContext, Router } from '../common/router';
import { Collection, Fields, StoredRecord } from '../common/store';
import type { SeedData } from '../common/seed';
import type { Emulator, EmulatorOptions, RecordDump, SeedSummary, WebhookSubscription } from '../common/types';
import type { RatePolicy } from '../common/ratelimit';
import { parseBody } from '../common/base';
import { BY_LOGICAL, BY_SET, CURRENCY_DEF, CUSTOM_ATTR, DIRECTORY_BY_LOGICAL, DIRECTORY_BY_SET, ENTITIES, EntityDef, MAX_LENGTH, ORGANIZATION_DEF, SYSTEM_ATTRS, USER_DEF, dvTime, typeProblem } from './entities';
import { FilterNode, ODataSyntaxError, evaluate, filterFields, indexLookups, lowerTimeBound, parseFilter } from './odata';
import { BatchFormatError, BatchItem, BatchRequest, BatchResponse, BatchResult, boundaryOf, buildBatchResponse, parseBatch } from './batch';
import { BASE_PROPS, CASTS, ChoiceOption, DEFAULT_CHOICES, attributes, entityDefinition, optionSet } from './metadata';
import { registerUiAdminRoutes } from '../pipedrive/admin-ui';
import { ContextSpec, DYNAMICS_RETRY, DYNAMICS_WEBHOOK_TIMEOUT_MS, DvSubscription, EntityImage, Message, buildDelivery, newSubscription } from './webhook';

const API = '/api/data/v9.2';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PAGE = 5000;
const MAX_BATCH_OPS = 1000;
const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
/** Indexed attributes: alternate keys plus what syncs search by. */
const INDEXED = ['emailaddress1', 'telephone1', 'mobilephone', 'accountnumber'];

/** Lead columns QualifyLead copies (the default lead mappings): lead column, target column. */
const LEAD_TO_ACCOUNT: Array<[string, string]> = [
	['companyname', 'name'], ['emailaddress1', 'emailaddress1'], ['telephone1', 'telephone1'], ['websiteurl', 'websiteurl'], ['industrycode', 'industrycode'], ['revenue', 'revenue'],
	['numberofemployees', 'numberofemployees'], ['donotemail', 'donotemail'], ['address1_line1', 'address1_line1'], ['address1_line2', 'address1_line2'], ['address1_city', 'address1_city'],
	['address1_stateorprovince', 'address1_stateorprovince'], ['address1_postalcode', 'address1_postalcode'], ['address1_country', 'address1_country'],
];
const LEAD_TO_CONTACT: Array<[string, string]> = [
	['firstname', 'firstname'], ['lastname', 'lastname'], ['emailaddress1', 'emailaddress1'], ['telephone1', 'telephone1'], ['mobilephone', 'mobilephone'], ['jobtitle', 'jobtitle'],
	['websiteurl', 'websiteurl'], ['description', 'description'], ['donotemail', 'donotemail'], ['address1_line1', 'address1_line1'], ['address1_line2', 'address1_line2'],
	['address1_city', 'address1_city'], ['address1_stateorprovince', 'address1_stateorprovince'], ['address1_postalcode', 'address1_postalcode'], ['address1_country', 'address1_country'],
];

/** Opportunity status reasons per state (a new environment's: 0 Open 1 In Progress, 2 On Hold; 1 Won 3; 2 Lost 4 Canceled, 5 Out-Sold). */
const OPPORTUNITY_STATUS: Record<number, number[]> = { 0: [1, 2], 1: [3], 2: [4, 5] };
const OPPORTUNITY_STATE_NAME: Record<number, string> = { 0: 'Open', 1: 'Won', 2: 'Lost' };

/** Fixed ids of the emulated organisation. */
export const ORGANIZATION_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0001';
export const BUSINESS_UNIT_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0002';
/** The base currency of a new environment (US Dollar) and a second active one (Euro). */
export const USD_CURRENCY_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0005';
export const EUR_CURRENCY_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0006';
/** Application user behind any token the sandbox did not issue (default auth mode). */
export const DEFAULT_APP_USER_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0003';
/** Interactive user for writes marked `x-sandbox-change-source: app` (a person in the UI). */
export const UI_USER_ID = '2a6f6e8e-6c1b-4d1e-9a51-3f1d7c1a0004';

/** The application user id Dataverse would map an Entra app (client id) to. */
export function appUserIdFor(clientId: string): string {
	const h = createHash('sha1').update(`appuser:${clientId}`).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Query string the way Dataverse writes links: `$` option names unescaped, values percent-encoded
 * except `=`, `/` and `,` (dataverse/query-contacts-page1-nextlink.json: `$select=fullname`,
 * `pagenumber=%222%22`, `/%3E`).
 */
function odataQuery(params: URLSearchParams): string {
	const value = (v: string): string => encodeURIComponent(v).replace(/%3D/g, '=').replace(/%2F/g, '/').replace(/%2C/g, ',');
	return [...params].map(([k, v]) => `${k.startsWith('$') ? '$' + encodeURIComponent(k.slice(1)) : encodeURIComponent(k)}=${value(v)}`).join('&');
}

/** .NET UrlEncode style (lower-case hex), used inside the paging cookie, which is then encoded again in the link. */
function cookieEncode(v: string): string {
	return encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

/**
 * A value as the user would see it (UTC, en-US). Real choice and yes/no labels are the column's
 * own ("Private", "Do Not Allow"); the emulator has no labels, so it shows generic ones.
 */
function formatted(type: string | undefined, v: unknown): string | undefined {
	if (type === 'i' && typeof v === 'number') return v.toLocaleString('en-US');
	if (type === 'm' && typeof v === 'number') return `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
	if (type === 'b' && typeof v === 'boolean') return v ? 'Yes' : 'No';
	if (type === 'o' && typeof v === 'number') return `Option ${v}`;
	if ((type === 't' || type === 'd') && typeof v === 'string' && !Number.isNaN(Date.parse(v))) {
		const d = new Date(v);
		const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
		if (type === 'd') return date;
		const h = d.getUTCHours();
		return `${date} ${h % 12 === 0 ? 12 : h % 12}:${String(d.getUTCMinutes()).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
	}
	return undefined;
}

export function dvError(status: number, code: string, message: string): Reply {
	return json(status, { error: { code, message } });
}

function fail(status: number, code: string, message: string): never {
	throw new ReplyError(dvError(status, code, message));
}

function badProperty(def: EntityDef, prop: string): never {
	fail(400, '0x80060888', `Could not find a property named '${prop}' on type 'Microsoft.Dynamics.CRM.${def.logical}'.`);
}

/** Sliding window of execution times (ms) for the combined-execution-time limit. */
class ExecutionWindow {
	private entries: { t: number; ms: number }[] = [];
	private sum = 0;

	constructor(private readonly windowMs: number) {}

	add(ms: number): void {
		this.entries.push({ t: Date.now(), ms });
		this.sum += ms;
	}

	total(): number {
		const cutoff = Date.now() - this.windowMs;
		let drop = 0;
		while (drop < this.entries.length && this.entries[drop].t <= cutoff) this.sum -= this.entries[drop++].ms;
		if (drop) this.entries = this.entries.slice(drop);
		return this.sum;
	}

	resetMs(): number {
		return this.entries.length ? Math.max(0, this.entries[0].t + this.windowMs - Date.now()) : 0;
	}
}

interface DvEvent {
	message: Message;
	def: EntityDef;
	id: string;
	/** Attributes written (logical form); for Create all of them. */
	written: string[];
	pre: EntityImage | null;
	userId: string;
}

interface Tx {
	undo: (() => void)[];
	events: DvEvent[];
}

interface PageState {
	/** scan: creation order after seq s | offset o of a sorted result | modifiedon order after t. ct: change tracking. */
	m: 'seq' | 'off' | 'mod' | 'ct' | 'init';
	s?: number;
	o?: number;
	t?: number;
	/** Change tracking: snapshot time that the final deltaLink will carry. */
	end?: number;
	p: number;
}

export class DynamicsEmulator extends BaseEmulator {
	readonly crm = 'dynamics' as const;
	private readonly colls = new Map<string, Collection>();
	private version = 1000;
	/** Options of local choices per `<entity>.<attribute>` (PicklistAttributeMetadata OptionSet). */
	private choices = new Map<string, ChoiceOption[]>();
	/**
	 * Documented service protection per user over a 5-minute sliding window: 6,000 requests
	 * (0x80072322), 20 minutes of combined execution time (0x80072321) and 52 concurrent
	 * requests (0x80072326). Public so tests can lower them.
	 */
	readonly requestLimit: RatePolicy = { name: 'requests', limit: 6000, windowMs: 300000 };
	readonly executionLimit = { limit: 1200000, windowMs: 300000 };
	concurrencyLimit = 52;
	/** Simulated server processing time per API request in ms (default 0); makes concurrency observable. */
	serviceTimeMs = 0;
	private readonly inflight = new Map<string, number>();
	private readonly execution = new Map<string, ExecutionWindow>();
	/** Unwrapped routes, used for the operations inside $batch. */
	private readonly inner = new Router();

	constructor(opts: EmulatorOptions = {}) {
		super(opts, { tokenLifetimeMs: 3599 * 1000, webhookRetry: DYNAMICS_RETRY, webhookTimeoutMs: DYNAMICS_WEBHOOK_TIMEOUT_MS });
		for (const def of ENTITIES) {
			const indexes: Record<string, (f: Fields) => unknown> = {};
			for (const a of INDEXED) if (a in def.attrs) indexes[a] = (f) => f[a];
			// Lookups by their `_x_value` name: `$filter=_x_value eq <id>` and merges use them.
			for (const l of Object.keys(def.lookups)) indexes[`_${l}_value`] = (f) => f[`_${l}_value`];
			this.colls.set(def.set, this.store.define(def.set, { idGen: () => randomUUID(), indexes }));
		}
		this.colls.set(USER_DEF.set, this.store.define(USER_DEF.set, { idGen: () => randomUUID(), indexes: {} }));
		this.colls.set(CURRENCY_DEF.set, this.store.define(CURRENCY_DEF.set, { idGen: () => randomUUID(), indexes: { isocurrencycode: (f) => String(f.isocurrencycode ?? '').toUpperCase() } }));
		this.colls.set(ORGANIZATION_DEF.set, this.store.define(ORGANIZATION_DEF.set, { idGen: () => randomUUID(), indexes: {} }));
		this.defaultDirectory();
	}

	/**
	 * What a new environment has: the application user the sandbox runs API calls as, the
	 * interactive UI user, the default sales stages, the organization with US Dollar as its base
	 * currency, and Euro as a second active currency.
	 */
	private defaultDirectory(): void {
		this.choices = new Map(Object.entries(DEFAULT_CHOICES).map(([k, v]) => [k, v.map((o) => ({ ...o }))]));
		const at = Date.UTC(2025, 0, 1);
		this.coll(ORGANIZATION_DEF).insert({ name: 'sandbox', versionnumber: ++this.version }, { id: ORGANIZATION_ID, createdAt: at, updatedAt: at });
		this.addCurrency({ transactioncurrencyid: USD_CURRENCY_ID, isocurrencycode: 'USD', currencyname: 'US Dollar', currencysymbol: '$', exchangerate: 1, base: true });
		this.addCurrency({ transactioncurrencyid: EUR_CURRENCY_ID, isocurrencycode: 'EUR', currencyname: 'Euro', currencysymbol: '€', exchangerate: 0.92 });
		this.addUser({ systemuserid: DEFAULT_APP_USER_ID, firstname: '#', lastname: 'sandbox-app', internalemailaddress: 'sandbox-app@sandbox.onmicrosoft.com', accessmode: 4, applicationid: DEFAULT_APP_USER_ID });
		this.addUser({ systemuserid: UI_USER_ID, firstname: 'Sandbox', lastname: 'User', internalemailaddress: 'sandbox.user@sandbox.onmicrosoft.com', domainname: 'sandbox.user@sandbox.onmicrosoft.com', accessmode: 0 });
	}

	/**
	 * Adds a systemuser (admin API `POST /__admin/systemusers`). `fullname` is split into first
	 * and last name, as Dataverse composes it from them. Returns the stored row's id.
	 */
	addUser(spec: Fields): string {
		const f: Fields = { ...spec };
		if (typeof f.fullname === 'string' && f.firstname === undefined && f.lastname === undefined) {
			const parts = f.fullname.trim().split(/\s+/);
			f.lastname = parts.pop();
			if (parts.length) f.firstname = parts.join(' ');
		}
		delete f.fullname;
		const id = typeof f.systemuserid === 'string' && GUID_RE.test(f.systemuserid) ? f.systemuserid.toLowerCase() : randomUUID();
		delete f.systemuserid;
		for (const [k, v] of Object.entries(f)) {
			const t = USER_DEF.attrs[k];
			if (!t) throw new ReplyError(dvError(400, '0x80060888', `Could not find a property named '${k}' on type 'Microsoft.Dynamics.CRM.systemuser'.`));
			const problem = typeProblem(t, v);
			if (problem) throw new ReplyError(dvError(400, '0x80048d19', `Cannot convert the literal '${JSON.stringify(v)}' to the expected type '${problem}'.`));
		}
		const coll = this.coll(USER_DEF);
		if (coll.get(id)) coll.remove(id);
		// A fixed creation time: adding users does not move the emulator clock (as seeding does not).
		const at = Date.UTC(2025, 0, 1);
		coll.insert({ isdisabled: false, accessmode: 0, islicensed: f.accessmode !== 4, _businessunitid_value: BUSINESS_UNIT_ID, __lk_businessunitid: 'businessunit', versionnumber: ++this.version, ...f }, { id, createdAt: at, updatedAt: at });
		return id;
	}

	/** Replaces the options of a local choice, e.g. `('opportunity', 'salesstage', [...])`, as a customiser would. */
	setChoiceOptions(entity: string, attribute: string, options: ChoiceOption[]): void {
		this.choices.set(`${entity}.${attribute}`, options.map((o) => ({ ...o })));
	}

	/**
	 * Adds a currency or changes the one with that ISO code (admin API `POST /__admin/transactioncurrencies`),
	 * as an administrator does in Settings > Currencies: `{isocurrencycode, currencyname?,
	 * currencysymbol?, exchangerate?, currencyprecision?, statecode? (0 active, 1 inactive), base?}`.
	 * `base: true` makes it the organization's base currency (Dataverse fixes that when the
	 * environment is made; here tests can pick it), exchange rate 1. The base currency cannot be
	 * deactivated. Returns the row's id and whether it is new.
	 */
	addCurrency(spec: Fields): { id: string; created: boolean } {
		const f: Fields = { ...spec };
		const base = f.base === true;
		delete f.base;
		const iso = typeof f.isocurrencycode === 'string' ? f.isocurrencycode.trim().toUpperCase() : '';
		if (!/^[A-Z]{3}$/.test(iso)) throw new ReplyError(dvError(400, '0x80048d19', 'isocurrencycode must be a three-letter ISO 4217 code.'));
		f.isocurrencycode = iso;
		const wantedId = typeof f.transactioncurrencyid === 'string' && GUID_RE.test(f.transactioncurrencyid) ? f.transactioncurrencyid.toLowerCase() : undefined;
		delete f.transactioncurrencyid;
		for (const [k, v] of Object.entries(f)) {
			const t = CURRENCY_DEF.attrs[k];
			if (!t) throw new ReplyError(dvError(400, '0x80060888', `Could not find a property named '${k}' on type 'Microsoft.Dynamics.CRM.transactioncurrency'.`));
			const problem = typeProblem(t, v);
			if (problem) throw new ReplyError(dvError(400, '0x80048d19', `Cannot convert the literal '${JSON.stringify(v)}' to the expected type '${problem}'.`));
		}
		if (f.statecode !== undefined && f.statecode !== 0 && f.statecode !== 1) throw new ReplyError(dvError(400, '0x80048408', `${String(f.statecode)} is not a valid state code on transactioncurrency.`));
		if (f.statecode !== undefined) f.statuscode = f.statecode === 0 ? 1 : 2;
		const coll = this.coll(CURRENCY_DEF);
		const org = this.coll(ORGANIZATION_DEF).get(ORGANIZATION_ID);
		const existing = coll.findBy('isocurrencycode', iso)[0];
		const baseId = (org?.fields._basecurrencyid_value as string | undefined) ?? undefined;
		if (f.statecode === 1 && (base || (existing && existing.id === baseId))) throw new ReplyError(dvError(400, '0x80048d19', 'The base currency cannot be deactivated.'));
		if (base) f.exchangerate = 1;
		let id: string;
		if (existing) {
			coll.update(existing.id, { ...f, versionnumber: ++this.version });
			id = existing.id;
		} else {
			const at = Date.UTC(2025, 0, 1);
			id = coll.insert({ currencyname: iso, currencysymbol: iso, exchangerate: 1, currencyprecision: 2, statecode: 0, statuscode: 1, _organizationid_value: ORGANIZATION_ID, __lk_organizationid: 'organization', versionnumber: ++this.version, ...f }, { id: wantedId, createdAt: at, updatedAt: at }).id;
		}
		if (base && org) this.coll(ORGANIZATION_DEF).update(org.id, { _basecurrencyid_value: id, __lk_basecurrencyid: 'transactioncurrency', versionnumber: ++this.version });
		return { id, created: !existing };
	}

	private coll(def: EntityDef): Collection {
		return this.colls.get(def.set)!;
	}

	private get base(): string {
		return `${this.url}${API}`;
	}

	protected onReset(): void {
		this.version = 1000;
		this.execution.clear();
		this.defaultDirectory();
	}

	// ---- auth, limits, errors -----------------------------------------------------------------

	protected authenticate(ctx: RequestContext): Reply | undefined {
		const token = bearerToken(ctx.headers.authorization);
		const check = this.tokens.check(token);
		if (!check.ok) {
			return {
				status: 401,
				headers: { 'WWW-Authenticate': `Bearer authorization_uri=${this.url}/common/oauth2/authorize, resource_id=${this.url}/` },
			};
		}
		ctx.token = check.value;
		const clientId = check.token?.clientId;
		const appUser = clientId ? appUserIdFor(clientId) : DEFAULT_APP_USER_ID;
		if (clientId && !this.coll(USER_DEF).get(appUser)) {
			const mailbox = clientId.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
			this.addUser({ systemuserid: appUser, firstname: '#', lastname: clientId, internalemailaddress: `${mailbox}@sandbox.onmicrosoft.com`, accessmode: 4, applicationid: clientId });
		}
		ctx.state.appUser = appUser;
		ctx.state.user = header(ctx, 'x-sandbox-change-source') === 'app' ? UI_USER_ID : appUser;
		return undefined;
	}

	protected rateLimit(ctx: RequestContext): Reply | undefined {
		if (!this.limiter.enabled) return undefined;
		const user = String(ctx.state.appUser);
		const throttle = (code: string, message: string, retryMs: number): Reply => {
			const r = dvError(429, code, message);
			r.headers = { 'Retry-After': String(Math.max(1, Math.ceil(retryMs / 1000))) };
			return r;
		};
		if ((this.inflight.get(user) ?? 0) >= this.concurrencyLimit) {
			return throttle('0x80072326', `Number of concurrent requests exceeded the limit of ${this.concurrencyLimit}.`, 1000);
		}
		const exec = this.usage(user);
		if (exec.total() >= this.executionLimit.limit) {
			return throttle('0x80072321', `Combined execution time of incoming requests exceeded limit of ${this.executionLimit.limit} milliseconds over time window of ${this.executionLimit.windowMs / 1000} seconds.`, exec.resetMs());
		}
		const d = this.limiter.hit(this.requestLimit, user);
		if (!d.ok) return throttle('0x80072322', `Number of requests exceeded the limit of ${this.requestLimit.limit} over time window of ${this.requestLimit.windowMs / 1000} seconds.`, d.resetMs);
		this.inflight.set(user, (this.inflight.get(user) ?? 0) + 1);
		ctx.state.counted = user;
		ctx.state.rate = d;
		return undefined;
	}

	protected decorate(ctx: RequestContext, reply: Reply): void {
		const headers: Record<string, string | number | string[]> = { 'OData-Version': '4.0', ...(reply.headers ?? {}) };
		const d = ctx.state.rate as { remaining: number } | undefined;
		if (d) {
			headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(d.remaining);
			const used = this.usage(String(ctx.state.appUser)).total();
			headers['x-ms-ratelimit-time-remaining-xrm-requests'] = Math.max(0, this.executionLimit.limit - used).toFixed(2);
		}
		reply.headers = headers;
	}

	protected faultReply(): Reply {
		return dvError(500, '0x80040216', 'An unexpected error occurred.');
	}

	protected notFoundReply(ctx: RequestContext, methodMismatch: boolean): Reply {
		if (methodMismatch) return dvError(405, '0x80060888', `The requested resource does not support http method '${ctx.method}'.`);
		const seg = ctx.path.startsWith(API) ? ctx.path.slice(API.length + 1) : ctx.path;
		return dvError(404, '0x80060888', `Resource not found for the segment '${seg.split('/')[0]}'.`);
	}

	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return dvError(400, '0x80048d19', `Error identified in Payload provided by the user. ----> InnerException : ${message}`);
	}

	protected internalErrorReply(): Reply {
		return dvError(500, '0x80040216', 'An unexpected error occurred.');
	}

	// ---- routes ---------------------------------------------------------------------------------

	protected registerRoutes(r: Router): void {
		r.post('/:tenant/oauth2/v2.0/token', (ctx) => this.token(ctx), { public: true });
		const defs = `^${API.replace(/\./g, '\\.')}/EntityDefinitions\\(LogicalName=(?:'|%27)(?<logical>[a-z_]+)(?:'|%27)\\)`;
		const one = new RegExp(`^${API.replace(/\./g, '\\.')}/(?<set>[a-z]+)\\((?<key>.+)\\)/?$`);
		const many = new RegExp(`^${API.replace(/\./g, '\\.')}/(?<set>[a-z]+)/?$`);
		const api: [string, string | RegExp, Handler][] = [
			['GET', `${API}/WhoAmI`, (ctx) => this.whoAmI(ctx)],
			['POST', `${API}/$batch`, (ctx) => this.batch(ctx)],
			['POST', `${API}/Merge`, (ctx) => this.merge(ctx)],
			['POST', new RegExp(`^${API.replace(/\./g, '\\.')}/leads\\((?<key>[^)]+)\\)/Microsoft\\.Dynamics\\.CRM\\.QualifyLead/?$`), (ctx) => this.qualifyLead(ctx)],
			['POST', `${API}/WinOpportunity`, (ctx) => this.closeOpportunity(ctx, 'won')],
			['POST', `${API}/LoseOpportunity`, (ctx) => this.closeOpportunity(ctx, 'lost')],
			['GET', new RegExp(`${defs}/?$`), (ctx) => this.entityDefinition(ctx)],
			['GET', new RegExp(`${defs}/Attributes(/Microsoft\\.Dynamics\\.CRM\\.(?<cast>\\w+))?/?$`), (ctx) => this.attributeList(ctx)],
			['GET', new RegExp(`${defs}/Attributes\\((?:LogicalName=)?(?:'|%27)(?<attr>[a-z0-9_]+)(?:'|%27)\\)(/Microsoft\\.Dynamics\\.CRM\\.(?<cast>\\w+))?/?$`), (ctx) => this.attributeOne(ctx)],
			['GET', one, (ctx) => this.getOne(ctx)],
			['PATCH', one, (ctx) => this.patch(ctx)],
			['DELETE', one, (ctx) => this.remove(ctx)],
			['GET', many, (ctx) => this.query(ctx)],
			['POST', many, (ctx) => this.create(ctx)],
		];
		for (const [method, pattern, handler] of api) {
			r.add(method, pattern, (ctx) => this.served(ctx, handler));
			this.inner.add(method, pattern, handler);
		}
	}

	/**
	 * Runs an API request with the simulated server processing time (serviceTimeMs), keeping
	 * the per-user in-flight count and execution time that service protection limits.
	 */
	private async served(ctx: RequestContext, handler: Handler): Promise<Reply> {
		const started = performance.now();
		try {
			if (this.serviceTimeMs > 0) await new Promise((resolve) => setTimeout(resolve, this.serviceTimeMs));
			return await handler(ctx);
		} finally {
			const user = ctx.state.counted as string | undefined;
			if (user !== undefined) {
				this.inflight.set(user, (this.inflight.get(user) ?? 1) - 1);
				this.usage(user).add(performance.now() - started);
			}
		}
	}

	private usage(user: string): ExecutionWindow {
		let w = this.execution.get(user);
		if (!w) this.execution.set(user, (w = new ExecutionWindow(this.executionLimit.windowMs)));
		return w;
	}

	/** `<METHOD> /__admin/ui/<API path>`: the call runs as the interactive user (InitiatingUserId UI_USER_ID). */
	protected registerAdminRoutes(r: Router): void {
		r.post('/__admin/systemusers', (ctx) => {
			const id = this.addUser((typeof ctx.body === 'object' && ctx.body ? ctx.body : {}) as Fields);
			return json(201, this.wire(USER_DEF, this.coll(USER_DEF).get(id)!));
		});
		r.post('/__admin/transactioncurrencies', (ctx) => {
			const { id, created } = this.addCurrency((typeof ctx.body === 'object' && ctx.body ? ctx.body : {}) as Fields);
			return json(created ? 201 : 200, this.wire(CURRENCY_DEF, this.coll(CURRENCY_DEF).get(id)!));
		});
		r.post('/__admin/choices/:entity/:attribute', (ctx) => {
			const options = (ctx.body as { options?: ChoiceOption[] } | undefined)?.options;
			if (!Array.isArray(options) || options.some((o) => !Number.isInteger(o?.value) || typeof o?.label !== 'string')) return json(400, { error: 'options must be [{value: integer, label: string}]' });
			this.setChoiceOptions(ctx.params.entity, ctx.params.attribute, options);
			return json(200, { options });
		});
		registerUiAdminRoutes(r, this.router, (c) => this.authenticate(c), () => ({ authorization: `Bearer ${this.tokens.issue({ withRefresh: false }).accessToken}` }));
	}

	/** POST /{tenant}/oauth2/v2.0/token — Entra client credentials (no refresh token). */
	private token(ctx: RequestContext): Reply {
		const f = (typeof ctx.body === 'object' && ctx.body ? ctx.body : {}) as Record<string, string>;
		const aad = (status: number, error: string, code: number, description: string): Reply =>
			json(status, { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z', trace_id: randomUUID(), correlation_id: randomUUID() });
		if (f.grant_type !== 'client_credentials') return aad(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
		if (!f.client_id) return aad(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
		if (!f.client_secret) return aad(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
		if (!f.scope || !/\/\.default$/.test(f.scope)) return aad(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
		const t = this.tokens.issue({ clientId: f.client_id, scope: f.scope, withRefresh: false });
		const secs = Math.round((t.expiresAt - t.issuedAt) / 1000);
		return json(200, { token_type: 'Bearer', expires_in: secs, ext_expires_in: secs, access_token: t.accessToken });
	}

	private whoAmI(ctx: RequestContext): Reply {
		return json(200, {
			'@odata.context': `${this.base}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
			BusinessUnitId: BUSINESS_UNIT_ID,
			UserId: ctx.state.user,
			OrganizationId: ORGANIZATION_ID,
		});
	}

	private metadataEntity(ctx: RequestContext, expandable = false): EntityDef {
		const def = DIRECTORY_BY_LOGICAL.get(ctx.params.logical) ?? BY_LOGICAL.get(ctx.params.logical);
		if (!def) fail(404, '0x80040217', `Could not find entity with LogicalName '${ctx.params.logical}'.`);
		for (const p of expandable ? ['$filter'] : ['$filter', '$expand']) if (ctx.query.get(p)) fail(501, '0x80060888', `${p} on metadata is not implemented by the sandbox.`);
		return def;
	}

	/**
	 * GET EntityDefinitions(LogicalName='x')/Attributes(LogicalName='y')[/Microsoft.Dynamics.CRM.<Type>AttributeMetadata]
	 * with $select and, on PicklistAttributeMetadata, $expand=OptionSet[($select=Options)] / GlobalOptionSet.
	 */
	private attributeOne(ctx: RequestContext): Reply {
		const def = this.metadataEntity(ctx, true);
		const castName = ctx.params.cast;
		const cast = castName ? CASTS[castName] : undefined;
		if (castName && !cast) fail(400, '0x80060888', `The type 'Microsoft.Dynamics.CRM.${castName}' is not known to the sandbox.`);
		const attr = attributes(def).find((a) => a.LogicalName === ctx.params.attr);
		if (!attr) fail(404, '0x80040217', `Could not find attribute with LogicalName '${ctx.params.attr}' on entity '${def.logical}'.`);
		if (cast && !cast.types.includes(String(attr.AttributeType))) fail(404, '0x80060888', `Resource not found for the segment 'Microsoft.Dynamics.CRM.${castName}'.`);
		const typeName = `Microsoft.Dynamics.CRM.${castName ?? 'AttributeMetadata'}`;
		const navigation = castName === 'PicklistAttributeMetadata' ? ['OptionSet', 'GlobalOptionSet'] : [];
		const allowed = [...BASE_PROPS, ...(cast?.props ?? [])];
		const select = ctx.query.get('$select')?.split(',').map((x) => x.trim()).filter(Boolean);
		for (const p of select ?? []) if (!allowed.includes(p)) fail(400, '0x80060888', `Could not find a property named '${p}' on type '${typeName}'.`);
		const body: Fields = {};
		const contextParts: string[] = [...(select ?? [])];
		if (select) {
			for (const p of select) body[p] = attr[p] ?? null;
			body.MetadataId = attr.MetadataId;
		} else Object.assign(body, attr);
		for (const item of splitTopLevel(ctx.query.get('$expand') ?? '')) {
			const m = /^(\w+)(?:\(\$select=([\w,]+)\))?$/.exec(item);
			if (!m) fail(400, '0x80060888', `Syntax error in $expand at '${item}'.`);
			if (!navigation.includes(m[1])) fail(400, '0x80060888', `Could not find a property named '${m[1]}' on type '${typeName}'.`);
			const options = this.choices.get(`${def.logical}.${attr.LogicalName}`) ?? [];
			const full = m[1] === 'OptionSet' ? optionSet(def.logical, String(attr.LogicalName), options) : null;
			const props = m[2]?.split(',');
			for (const p of props ?? []) if (full && !(p in full)) fail(400, '0x80060888', `Could not find a property named '${p}' on type 'Microsoft.Dynamics.CRM.OptionSetMetadata'.`);
			body[m[1]] = full && props ? Object.fromEntries([...props, 'MetadataId'].map((p) => [p, full[p]])) : full;
			contextParts.push(props ? `${m[1]}(${props.join(',')})` : m[1]);
		}
		const context = `${this.base}/$metadata#EntityDefinitions('${def.logical}')/Attributes${castName ? `/Microsoft.Dynamics.CRM.${castName}` : ''}${contextParts.length ? `(${contextParts.join(',')})` : ''}/$entity`;
		return json(200, { '@odata.context': context, ...body });
	}

	/** GET EntityDefinitions(LogicalName='x') */
	private entityDefinition(ctx: RequestContext): Reply {
		const def = this.metadataEntity(ctx);
		return json(200, { '@odata.context': `${this.base}/$metadata#EntityDefinitions/$entity`, ...entityDefinition(def) });
	}

	/** GET EntityDefinitions(LogicalName='x')/Attributes[/Microsoft.Dynamics.CRM.<Type>AttributeMetadata]?$select= */
	private attributeList(ctx: RequestContext): Reply {
		const def = this.metadataEntity(ctx);
		const castName = ctx.params.cast;
		const cast = castName ? CASTS[castName] : undefined;
		if (castName && !cast) fail(400, '0x80060888', `The type 'Microsoft.Dynamics.CRM.${castName}' is not known to the sandbox.`);
		const allowed = [...BASE_PROPS, ...(cast?.props ?? [])];
		const select = ctx.query.get('$select')?.split(',').map((x) => x.trim()).filter(Boolean);
		for (const p of select ?? []) {
			if (!allowed.includes(p)) fail(400, '0x80060888', `Could not find a property named '${p}' on type 'Microsoft.Dynamics.CRM.${castName ?? 'AttributeMetadata'}'.`);
		}
		let rows = attributes(def);
		if (cast) rows = rows.filter((a) => cast.types.includes(String(a.AttributeType)));
		const value = rows.map((a) => {
			if (!select) return a;
			const o: Fields = { '@odata.type': a['@odata.type'], MetadataId: a.MetadataId };
			for (const p of select) o[p] = a[p] ?? null;
			return o;
		});
		return json(200, { '@odata.context': `${this.base}/$metadata#EntityDefinitions('${def.logical}')/Attributes${castName ? `/Microsoft.Dynamics.CRM.${castName}` : ''}${select ? `(${select.join(',')})` : ''}`, value });
	}

	// ---- keys, shapes, input ----------------------------------------------------------------------

	private entity(ctx: RequestContext): EntityDef {
		const directory = DIRECTORY_BY_SET.get(ctx.params.set);
		if (directory) {
			// Users are created and disabled in the admin centre / Entra, currencies in Settings: here
			// through the admin API, not the Web API.
			if (ctx.method !== 'GET') fail(405, '0x80060888', `The requested resource does not support http method '${ctx.method}'.`);
			return directory;
		}
		const def = BY_SET.get(ctx.params.set);
		if (!def) fail(404, '0x80060888', `Resource not found for the segment '${ctx.params.set}'.`);
		return def;
	}

	/** Parses `(guid)` or `(attr='v',attr2=1)`; finds the live record (undefined when missing). */
	private resolveKey(def: EntityDef, raw: string): { rec?: StoredRecord; id?: string; keyAttrs?: Fields } {
		if (GUID_RE.test(raw)) return { rec: this.coll(def).get(raw.toLowerCase()), id: raw.toLowerCase() };
		const attrs: Fields = {};
		const re = /\s*([a-z0-9_]+)\s*=\s*('(?:[^']|'')*'|[^,]+)\s*(,|$)/gy;
		let m: RegExpExecArray | null;
		let consumed = 0;
		while (consumed < raw.length && (m = re.exec(raw))) {
			const v = m[2];
			attrs[m[1]] = v.startsWith("'") ? v.slice(1, -1).replace(/''/g, "'") : Number(v);
			consumed = re.lastIndex;
		}
		if (consumed !== raw.length || Object.keys(attrs).length === 0) fail(400, '0x80060888', `Bad Request - Error in query syntax: invalid key '${raw}'.`);
		const names = Object.keys(attrs).sort();
		const key = def.altKeys.find((k) => k.length === names.length && [...k].sort().every((a, i) => a === names[i]));
		if (!key) fail(400, '0x80060888', `The key '${names.join(',')}' is not defined as an alternate key for the entity ${def.logical}.`);
		const first = key[0];
		const rec = this.coll(def)
			.findBy(first, attrs[first])
			.find((r) => key.every((a) => String(r.fields[a] ?? '').toLowerCase() === String(attrs[a]).toLowerCase()));
		return { rec, keyAttrs: attrs };
	}

	private notFound(def: EntityDef, key: string): never {
		fail(404, '0x80040217', `${def.logical} With Id = ${key} Does Not Exist`);
	}

	private etag(rec: StoredRecord): string {
		return `W/"${rec.fields.versionnumber}"`;
	}

	/** Row in Web API shape. */
	private wire(def: EntityDef, rec: StoredRecord, select?: string[], annotate = false): Fields {
		const f = rec.fields;
		const row: Fields = { '@odata.etag': this.etag(rec) };
		for (const [k, v] of Object.entries(f)) if (!k.startsWith('__')) row[k] = v;
		if (def.nameAttr === 'fullname') row.fullname = [f.firstname, f.lastname].filter((x) => x).join(' ');
		row.createdon = dvTime(rec.createdAt);
		row.modifiedon = dvTime(rec.updatedAt);
		row[def.idAttr] = rec.id;
		let out = row;
		if (select) {
			out = { '@odata.etag': row['@odata.etag'] };
			for (const k of select) out[k] = row[k] ?? null;
			out[def.idAttr] = rec.id;
		}
		if (annotate) {
			for (const k of Object.keys(out)) {
				const lk = /^_([a-z0-9]+)_value$/.exec(k);
				if (lk && out[k]) {
					const target = f[`__lk_${lk[1]}`] as string;
					out[`${k}@OData.Community.Display.V1.FormattedValue`] = this.nameOf(target, String(out[k]));
					// The navigation property: the lookup itself, or `<lookup>_<target>` for a polymorphic one.
					const targets = def.lookups[lk[1]] ?? [];
					out[`${k}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = targets.length > 1 ? `${lk[1]}_${target}` : lk[1];
					out[`${k}@Microsoft.Dynamics.CRM.lookuplogicalname`] = target;
				}
				// Formatted values of numbers, booleans, dates and choices (get-account-annotations-etag.json).
				const shown = out[k] === null || out[k] === undefined ? undefined : formatted(k === 'createdon' || k === 'modifiedon' ? 't' : def.attrs[k], out[k]);
				if (shown !== undefined && k !== 'statecode') out[`${k}@OData.Community.Display.V1.FormattedValue`] = shown;
			}
			if ('statecode' in out) out['statecode@OData.Community.Display.V1.FormattedValue'] = out.statecode === 0 ? 'Active' : 'Inactive';
		}
		return out;
	}

	private nameOf(logical: string, id: string): string | null {
		const def = DIRECTORY_BY_LOGICAL.get(logical) ?? BY_LOGICAL.get(logical);
		const rec = def ? this.coll(def).get(id, { includeDeleted: true }) : undefined;
		if (!def || !rec) return null;
		if (def.nameAttr === 'fullname') return [rec.fields.firstname, rec.fields.lastname].filter((x) => x).join(' ');
		return (rec.fields[def.nameAttr] as string) ?? null;
	}

	private knownAttr(def: EntityDef, a: string): boolean {
		return a in def.attrs || a === def.idAttr || SYSTEM_ATTRS.includes(a) || CUSTOM_ATTR.test(a) || a === 'merged' || (/^_([a-z0-9]+)_value$/.exec(a)?.[1] ?? '') in def.lookups;
	}

	private selectParam(def: EntityDef, q: URLSearchParams): string[] | undefined {
		const raw = q.get('$select');
		if (!raw) return undefined;
		// Column names are case-sensitive: `Name` is no column of account (error-400-could-not-find-property-0x0-docs.json).
		const cols = raw.split(',').map((s) => s.trim()).filter(Boolean);
		for (const c of cols) if (!this.knownAttr(def, c)) badProperty(def, c);
		return cols;
	}

	/** Resolves `/set(guid)`, `set(guid)`, a full URL or a `$n` Content-ID reference. */
	private bindTarget(value: unknown, ctx: RequestContext): { logical: string; id: string } | undefined {
		if (typeof value !== 'string') return undefined;
		let v = value;
		const refs = ctx.state.contentIds as Map<string, string> | undefined;
		const ref = /^\$(\w+)$/.exec(v);
		if (ref && refs?.has(ref[1])) v = refs.get(ref[1])!;
		const m = /(?:^|\/)([a-z]+)\(([0-9a-fA-F-]{36})\)$/.exec(v);
		if (!m) return undefined;
		const def = DIRECTORY_BY_SET.get(m[1]) ?? BY_SET.get(m[1]);
		return def ? { logical: def.logical, id: m[2].toLowerCase() } : undefined;
	}

	/** Validates a create/update body into stored fields. */
	private input(def: EntityDef, body: unknown, ctx: RequestContext): { fields: Fields; id?: string } {
		if (typeof body !== 'object' || body === null || Array.isArray(body)) fail(400, '0x80048d19', 'Error identified in Payload provided by the user: the body must be a JSON object.');
		const fields: Fields = {};
		let id: string | undefined;
		for (const [k, v] of Object.entries(body as Fields)) {
			if (k.startsWith('@odata.') || (k.includes('@') && !k.endsWith('@odata.bind'))) continue;
			if (k.endsWith('@odata.bind')) {
				const nav = k.slice(0, -'@odata.bind'.length);
				const attr = nav.split('_')[0];
				// A polymorphic lookup (customer: account or contact) binds through `<lookup>_<target>` only
				// (error-400-0x80048d19-undeclared-property-docs.raw.txt: parentcustomerid@odata.bind).
				const undeclared = !(attr in def.lookups) || (nav === attr && def.lookups[attr].length > 1);
				if (undeclared) fail(400, '0x80048d19', `Error identified in Payload provided by the user for Entity :'${def.set}'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`);
				if (v === null) {
					fields[`_${attr}_value`] = null;
					fields[`__lk_${attr}`] = null;
					continue;
				}
				const t = this.bindTarget(v, ctx);
				if (!t || !def.lookups[attr].includes(t.logical)) fail(400, '0x80048d19', `Error identified in Payload provided by the user: invalid @odata.bind value '${String(v)}' for '${nav}'.`);
				const exists = Boolean(this.coll((DIRECTORY_BY_LOGICAL.get(t.logical) ?? BY_LOGICAL.get(t.logical))!).get(t.id));
				if (!exists) fail(404, '0x80040217', `${t.logical} With Id = ${t.id} Does Not Exist`);
				fields[`_${attr}_value`] = t.id;
				fields[`__lk_${attr}`] = t.logical;
			} else if (k === def.idAttr) {
				if (typeof v !== 'string' || !GUID_RE.test(v)) fail(400, '0x80048d19', `Cannot convert the literal '${String(v)}' to the expected type 'Edm.Guid'.`);
				id = v.toLowerCase();
			} else if (k in def.attrs) {
				if (k === 'fullname') continue;
				const problem = typeProblem(def.attrs[k], v);
				if (problem) fail(400, '0x80048d19', `Error identified in Payload provided by the user for Entity :'${def.set}' ----> InnerException : Microsoft.OData.ODataException: Cannot convert the literal '${JSON.stringify(v)}' to the expected type '${problem}'.`);
				const max = MAX_LENGTH[def.logical]?.[k];
				if (max !== undefined && typeof v === 'string' && v.length > max) {
					fail(400, '0x80044331', `A validation error occurred.  The length of the '${k}' attribute of the '${def.logical}' entity exceeded the maximum allowed length of '${max}'.`);
				}
				fields[k] = v;
			} else if (CUSTOM_ATTR.test(k)) {
				fields[k] = v;
			} else {
				fail(400, '0x80060888', `The property '${k}' does not exist on type 'Microsoft.Dynamics.CRM.${def.logical}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
			}
		}
		return { fields, id };
	}

	// ---- transactions and events ----------------------------------------------------------------

	/** Runs writes in the caller's changeset, or in a transaction of their own. */
	private withTx(ctx: RequestContext, fn: (tx: Tx) => Reply): Reply {
		const outer = ctx.state.tx as Tx | undefined;
		if (outer) return fn(outer);
		const tx: Tx = { undo: [], events: [] };
		try {
			const reply = fn(tx);
			this.commit(tx);
			return reply;
		} catch (err) {
			this.rollback(tx);
			throw err;
		}
	}

	private rollback(tx: Tx): void {
		for (const u of tx.undo.reverse()) u();
		tx.undo = [];
		tx.events = [];
	}

	private commit(tx: Tx): void {
		for (const e of tx.events) this.emit(e);
		tx.undo = [];
		tx.events = [];
	}

	/** Alternate keys are unique. */
	private checkKeys(def: EntityDef, fields: Fields, selfId?: string): void {
		for (const key of def.altKeys) {
			if (!key.some((a) => a in fields)) continue;
			// Only new key values are checked, so rows that already share a key (seed data) stay editable.
			const self = selfId ? this.coll(def).get(selfId) : undefined;
			if (self && key.every((a) => !(a in fields) || String(fields[a] ?? '').toLowerCase() === String(self.fields[a] ?? '').toLowerCase())) continue;
			const probe = (a: string): unknown => (a in fields ? fields[a] : selfId ? this.coll(def).get(selfId)?.fields[a] : undefined);
			if (key.some((a) => probe(a) === undefined || probe(a) === null || probe(a) === '')) continue;
			const clash = this.coll(def)
				.findBy(key[0], probe(key[0]))
				.find((r) => r.id !== selfId && key.every((a) => String(r.fields[a] ?? '').toLowerCase() === String(probe(a)).toLowerCase()));
			if (clash) fail(412, '0x80060892', `A record that has the attribute values ${key.join(', ')} already exists. The entity key requires that this set of attributes contains unique values.`);
		}
	}

	/**
	 * Duplicate detection runs only when the request sends `MSCRM.SuppressDuplicateDetection: false`;
	 * a hit is HTTP 500 0x80040333 (error-500-duplicate-detection-0x80040333.json). Rules: the
	 * default published ones, same e-mail for contacts and leads, same name for accounts.
	 */
	private detectDuplicates(def: EntityDef, fields: Fields, selfId: string | undefined, ctx: RequestContext): void {
		if ((header(ctx, 'mscrm.suppressduplicatedetection') ?? '').toLowerCase() !== 'false') return;
		const rule = def.logical === 'account' ? 'name' : def.logical === 'contact' || def.logical === 'lead' ? 'emailaddress1' : undefined;
		const value = rule ? (rule in fields ? fields[rule] : selfId ? this.coll(def).get(selfId)?.fields[rule] : undefined) : undefined;
		if (!rule || typeof value !== 'string' || value.trim() === '') return;
		const same = (v: unknown): boolean => typeof v === 'string' && v.trim().toLowerCase() === value.trim().toLowerCase();
		for (const r of this.coll(def).values()) {
			if (r.id !== selfId && same(r.fields[rule])) fail(500, '0x80040333', 'A record was not created or updated because a duplicate of the current record already exists.');
		}
	}

	private createRow(def: EntityDef, fields: Fields, id: string | undefined, ctx: RequestContext, tx: Tx): StoredRecord {
		const old = id ? this.coll(def).get(id, { includeDeleted: true }) : undefined;
		if (old && old.deletedAt === undefined) fail(412, '0x80040237', 'A record with matching key values already exists.');
		this.checkKeys(def, fields);
		this.detectDuplicates(def, fields, undefined, ctx);
		// Deletes are final in Dataverse: an id can be used again after its row was deleted.
		if (old) this.coll(def).remove(old.id);
		const user = String(ctx.state.user);
		const row: Fields = { statecode: 0, statuscode: 1, _ownerid_value: user, __lk_ownerid: 'systemuser', ...this.defaultCurrency(def, fields), ...fields };
		Object.assign(row, { versionnumber: ++this.version, _createdby_value: user, __lk_createdby: 'systemuser', _modifiedby_value: user, __lk_modifiedby: 'systemuser' });
		const rec = this.coll(def).insert(row, { id });
		tx.undo.push(() => this.coll(def).remove(rec.id));
		tx.events.push({ message: 'Create', def, id: rec.id, written: Object.keys(row).filter((k) => !k.startsWith('__')), pre: null, userId: user });
		return rec;
	}

	/** A row created with a money value and no currency is in the base currency [U: Dataverse may use the creating user's currency]. */
	private defaultCurrency(def: EntityDef, fields: Fields): Fields {
		if (!('transactioncurrencyid' in def.lookups) || fields._transactioncurrencyid_value !== undefined) return {};
		if (!Object.entries(fields).some(([k, v]) => def.attrs[k] === 'm' && v !== null && v !== undefined)) return {};
		const base = this.coll(ORGANIZATION_DEF).get(ORGANIZATION_ID)?.fields._basecurrencyid_value;
		return typeof base === 'string' ? { _transactioncurrencyid_value: base, __lk_transactioncurrencyid: 'transactioncurrency' } : {};
	}

	private updateRow(def: EntityDef, rec: StoredRecord, fields: Fields, ctx: RequestContext, tx: Tx): void {
		this.checkKeys(def, fields, rec.id);
		this.detectDuplicates(def, fields, rec.id, ctx);
		const user = String(ctx.state.user);
		const before = { ...rec.fields };
		const pre = this.image(def, rec);
		this.coll(def).update(rec.id, { ...fields, versionnumber: ++this.version, _modifiedby_value: user, __lk_modifiedby: 'systemuser' });
		tx.undo.push(() => {
			const restore: Fields = { ...before };
			for (const k of Object.keys(rec.fields)) if (!(k in before)) restore[k] = undefined;
			this.coll(def).update(rec.id, restore, { includeDeleted: true });
		});
		tx.events.push({ message: 'Update', def, id: rec.id, written: Object.keys(fields).filter((k) => !k.startsWith('__')), pre, userId: user });
	}

	private deleteRow(def: EntityDef, rec: StoredRecord, ctx: RequestContext, tx: Tx): void {
		const pre = this.image(def, rec);
		this.coll(def).softDelete(rec.id);
		tx.undo.push(() => this.coll(def).restore(rec.id));
		tx.events.push({ message: 'Delete', def, id: rec.id, written: [], pre, userId: String(ctx.state.user) });
	}

	/** Entity image for webhooks: lookups as references, option sets, money and dates typed. */
	private image(def: EntityDef, rec: StoredRecord, only?: string[]): EntityImage {
		const attrs: Fields = {};
		const row = this.wire(def, rec);
		for (const [k, v] of Object.entries(row)) {
			if (k.startsWith('@')) continue;
			const lk = /^_([a-z0-9]+)_value$/.exec(k);
			const name = lk ? lk[1] : k;
			if (only && !only.includes(k) && !only.includes(name)) continue;
			if (lk) {
				const target = rec.fields[`__lk_${lk[1]}`] as string | undefined;
				attrs[name] = v ? { Id: v, LogicalName: target, Name: this.nameOf(target ?? '', String(v)) } : null;
			} else if (k === 'createdon' || k === 'modifiedon' || def.attrs[k] === 't' || def.attrs[k] === 'd') {
				attrs[name] = typeof v === 'string' ? { DateMs: Date.parse(v) } : v;
			} else if (def.attrs[k] === 'o' || k === 'statecode' || k === 'statuscode') {
				attrs[name] = typeof v === 'number' ? { OptionSetValue: v } : v;
			} else if (def.attrs[k] === 'm') {
				attrs[name] = typeof v === 'number' ? { Money: v } : v;
			} else attrs[name] = v;
		}
		return { def, id: rec.id, attrs };
	}

	private subs(): DvSubscription[] {
		return [...this.subscriptions.values()] as DvSubscription[];
	}

	private emit(e: DvEvent): void {
		const subs = this.subs().filter((s) => (s.entity === '*' || s.entity === e.def.logical) && s.messages.includes(e.message));
		if (!subs.length) return;
		const rec = this.coll(e.def).get(e.id, { includeDeleted: true });
		const always = [e.def.idAttr, 'modifiedon', 'modifiedby', 'versionnumber'];
		const spec: ContextSpec = {
			message: e.message,
			def: e.def,
			id: e.id,
			target: rec && e.message !== 'Delete' ? this.image(e.def, rec, e.message === 'Create' ? undefined : [...e.written, ...always]) : null,
			pre: e.pre,
			post: rec && e.message !== 'Delete' ? this.image(e.def, rec) : null,
			rowVersion: rec ? String(rec.fields.versionnumber) : null,
			userId: e.userId,
			businessUnitId: BUSINESS_UNIT_ID,
			organizationId: ORGANIZATION_ID,
			organizationName: 'sandbox',
			at: rec?.updatedAt ?? Date.now(),
			correlationId: randomUUID(),
		};
		const host = new URL(this.url || 'http://127.0.0.1').host;
		for (const s of subs) {
			// Built once: a retry re-sends the same context (same OperationId).
			const req = buildDelivery(s, spec, host);
			this.webhooks.send({ subscriptionId: s.id, url: s.url, build: () => req });
		}
	}

	/** Admin API: { url, entity?: 'contact'|'*', messages?: ['Create','Update','Delete'], authType, key?, values?, preImage?, postImage? }. */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		let sub;
		try {
			sub = newSubscription(spec);
		} catch (err) {
			throw new ReplyError(json(400, { error: (err as Error).message }));
		}
		return super.addSubscription({ ...sub, id: spec.id });
	}

	// ---- CRUD -------------------------------------------------------------------------------------

	private prefers(ctx: RequestContext, what: string): boolean {
		return (header(ctx, 'prefer') ?? '').split(',').some((p) => p.trim().toLowerCase() === what);
	}

	private entityIdHeader(def: EntityDef, id: string): string {
		return `${this.base}/${def.set}(${id})`;
	}

	private representation(def: EntityDef, rec: StoredRecord, ctx: RequestContext): Fields {
		const select = this.selectParam(def, ctx.query);
		return {
			'@odata.context': `${this.base}/$metadata#${def.set}${select ? `(${select.join(',')})` : ''}/$entity`,
			...this.wire(def, rec, select, this.wantsAnnotations(ctx)),
		};
	}

	private wantsAnnotations(ctx: RequestContext): boolean {
		return /odata\.include-annotations/i.test(header(ctx, 'prefer') ?? '');
	}

	/**
	 * State changes a plain create or update (POST/PATCH) may make. An opportunity is closed only
	 * through WinOpportunity / LoseOpportunity: statecode 1 or 2 in the body is refused with
	 * CannotUseOpportunitySetStateMessage (0x80100005, web service error codes; the wording as a
	 * live environment answers an Update to Won). Reopening (statecode 0) is a plain update; without
	 * a statuscode the state's default (1 In Progress) is set. A statuscode must belong to the
	 * resulting state (0: 1, 2; 1: 3; 2: 4, 5), else 0x80048408.
	 */
	private checkState(def: EntityDef, fields: Fields, rec: StoredRecord | undefined): void {
		if (def.logical !== 'opportunity') return;
		const state = fields.statecode;
		if (state === 1 || state === 2) {
			const name = state === 1 ? 'won' : 'lost';
			fail(400, '0x80100005', `This message can not be used to set the state of opportunity to ${name}. In order to set state of opportunity to ${name}, use the ${name} message instead.`);
		}
		if ('statecode' in fields && !('statuscode' in fields) && state === 0) fields.statuscode = 1;
		if (!('statuscode' in fields) || fields.statuscode === null) return;
		const resulting = 'statecode' in fields ? Number(state) : Number(rec?.fields.statecode ?? 0);
		const allowed = OPPORTUNITY_STATUS[resulting] ?? [];
		if (!allowed.includes(Number(fields.statuscode))) {
			fail(400, '0x80048408', `${String(fields.statuscode)} is not a valid status code for state code OpportunityState.${OPPORTUNITY_STATE_NAME[resulting] ?? resulting} on opportunity with Id ${rec?.id ?? '00000000-0000-0000-0000-000000000000'}.`);
		}
	}

	private create(ctx: RequestContext): Reply {
		const def = this.entity(ctx);
		return this.withTx(ctx, (tx) => {
			const { fields, id } = this.input(def, ctx.body, ctx);
			this.checkState(def, fields, undefined);
			const rec = this.createRow(def, fields, id, ctx, tx);
			if (ctx.state.contentId) (ctx.state.contentIds as Map<string, string>).set(String(ctx.state.contentId), this.entityIdHeader(def, rec.id));
			const headers = { 'OData-EntityId': this.entityIdHeader(def, rec.id) };
			if (this.prefers(ctx, 'return=representation')) {
				return json(201, this.representation(def, rec, ctx), { ...headers, 'Preference-Applied': 'return=representation', ETag: this.etag(rec) });
			}
			return { status: 204, headers };
		});
	}

	private getOne(ctx: RequestContext): Reply {
		const def = this.entity(ctx);
		if (ctx.query.get('$expand')) fail(501, '0x80060888', '$expand is not implemented by the sandbox.');
		const { rec } = this.resolveKey(def, ctx.params.key);
		if (!rec) this.notFound(def, ctx.params.key);
		const inm = header(ctx, 'if-none-match');
		if (inm && inm === this.etag(rec)) return { status: 304 };
		return json(200, this.representation(def, rec, ctx), { ETag: this.etag(rec) });
	}

	/** PATCH: update, or upsert (create) without If-Match; If-None-Match: * forbids update. */
	private patch(ctx: RequestContext): Reply {
		const def = this.entity(ctx);
		return this.withTx(ctx, (tx) => {
			const { rec, id, keyAttrs } = this.resolveKey(def, ctx.params.key);
			const ifMatch = header(ctx, 'if-match');
			const ifNoneMatch = header(ctx, 'if-none-match');
			const { fields, id: bodyId } = this.input(def, ctx.body, ctx);
			if (rec) {
				if (ifNoneMatch === '*') fail(412, '0x80040237', 'A record with matching key values already exists.');
				if (ifMatch && ifMatch !== '*' && ifMatch !== this.etag(rec)) fail(412, '0x80060882', "The version of the existing record doesn't match the RowVersion property provided.");
				if (bodyId && bodyId !== rec.id) fail(400, '0x80048d19', 'The primary key in the body does not match the key in the URL.');
				this.checkState(def, fields, rec);
				this.updateRow(def, rec, fields, ctx, tx);
				const headers = { 'OData-EntityId': this.entityIdHeader(def, rec.id) };
				if (this.prefers(ctx, 'return=representation')) return json(200, this.representation(def, rec, ctx), { ...headers, 'Preference-Applied': 'return=representation', ETag: this.etag(rec) });
				return { status: 204, headers };
			}
			if (ifMatch) this.notFound(def, ctx.params.key);
			this.checkState(def, fields, undefined);
			const created = this.createRow(def, { ...(keyAttrs ?? {}), ...fields }, id ?? bodyId, ctx, tx);
			const headers = { 'OData-EntityId': this.entityIdHeader(def, created.id) };
			if (this.prefers(ctx, 'return=representation')) return json(201, this.representation(def, created, ctx), { ...headers, 'Preference-Applied': 'return=representation', ETag: this.etag(created) });
			return { status: 204, headers };
		});
	}

	private remove(ctx: RequestContext): Reply {
		const def = this.entity(ctx);
		return this.withTx(ctx, (tx) => {
			const { rec } = this.resolveKey(def, ctx.params.key);
			if (!rec) this.notFound(def, ctx.params.key);
			const ifMatch = header(ctx, 'if-match');
			if (ifMatch && ifMatch !== '*' && ifMatch !== this.etag(rec)) fail(412, '0x80060882', "The version of the existing record doesn't match the RowVersion property provided.");
			this.deleteRow(def, rec, ctx, tx);
			return { status: 204 };
		});
	}

	// ---- queries, paging, change tracking ----------------------------------------------------------

	private pageSize(ctx: RequestContext): number {
		const m = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(header(ctx, 'prefer') ?? '');
		return m ? Math.max(1, Math.min(MAX_PAGE, Number(m[1]))) : MAX_PAGE;
	}

	private nextLink(def: EntityDef, q: URLSearchParams, state: PageState): string {
		const params = new URLSearchParams(q);
		params.delete('$skiptoken');
		// Real cookies are `<cookie page="1"><contactid last="{…}" first="{…}" /></cookie>`, URL-encoded
		// inside the skiptoken, which the link encodes again (query-contacts-page1-nextlink.json).
		// The emulator keeps its own state in the inner element.
		const inner = `<cookie page="${state.p - 1}"><${def.idAttr} sandboxstate="${Buffer.from(JSON.stringify(state)).toString('base64url')}" /></cookie>`;
		const cookie = `<cookie pagenumber="${state.p}" pagingcookie="${cookieEncode(inner)}" istracking="${state.m === 'ct' || state.m === 'init' ? 'True' : 'False'}" />`;
		params.set('$skiptoken', cookie);
		return `${this.base}/${def.set}?${odataQuery(params)}`;
	}

	private readSkipToken(q: URLSearchParams): PageState | undefined {
		const raw = q.get('$skiptoken');
		if (!raw) return undefined;
		const m = /pagingcookie="([^"]+)"/.exec(raw);
		try {
			const state = m ? /sandboxstate="([^"]+)"/.exec(decodeURIComponent(m[1])) : null;
			if (state) return JSON.parse(Buffer.from(state[1], 'base64url').toString('utf8')) as PageState;
		} catch {
			/* fall through */
		}
		fail(400, '0x80040203', 'Invalid $skiptoken.');
	}

	private deltaToken(ms: number): string {
		const d = new Date(ms);
		const p = (n: number): string => String(n).padStart(2, '0');
		return `${ms}!${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
	}

	private query(ctx: RequestContext): Reply {
		const def = this.entity(ctx);
		const q = ctx.query;
		for (const unsupported of ['$expand', '$apply']) if (q.get(unsupported)) fail(501, '0x80060888', `${unsupported} is not implemented by the sandbox.`);
		if (q.get('$skip')) fail(400, '0x80060888', 'The query parameter $skip is not supported.');
		const select = this.selectParam(def, q);
		const annotate = this.wantsAnnotations(ctx);
		const pageSize = this.pageSize(ctx);
		const state = this.readSkipToken(q);
		const deltaRaw = q.get('$deltatoken');
		const tracking = this.prefers(ctx, 'odata.track-changes') || deltaRaw !== null || state?.m === 'ct' || state?.m === 'init';
		const context = `${this.base}/$metadata#${def.set}${select ? `(${select.join(',')})` : ''}`;
		if (tracking) {
			for (const p of ['$filter', '$orderby', '$expand', '$top']) {
				if (q.get(p)) fail(400, '0x80040203', `The ${p} query option is not supported with change tracking (Prefer: odata.track-changes / $deltatoken).`);
			}
			return this.changes(def, ctx, select, annotate, pageSize, state, deltaRaw, context);
		}
		let filter: FilterNode | undefined;
		const rawFilter = q.get('$filter');
		if (rawFilter) {
			try {
				filter = parseFilter(rawFilter);
			} catch (err) {
				if (err instanceof ODataSyntaxError) fail(400, '0x80060888', err.message);
				throw err;
			}
			for (const f of filterFields(filter)) if (!this.knownAttr(def, f)) badProperty(def, f);
		}
		const orderby = (q.get('$orderby') ?? '')
			.split(',')
			.map((s) => s.trim())
			.filter(Boolean)
			.map((s) => {
				const [field, dir = 'asc'] = s.split(/\s+/);
				const f = field.toLowerCase();
				if (!this.knownAttr(def, f)) badProperty(def, f);
				if (dir !== 'asc' && dir !== 'desc') fail(400, '0x80060888', `Invalid $orderby direction '${dir}'.`);
				return { f, desc: dir === 'desc' };
			});
		const topRaw = q.get('$top');
		const top = topRaw === null ? undefined : Number(topRaw);
		if (top !== undefined && (!Number.isInteger(top) || top < 0)) fail(400, '0x80060888', `Invalid $top value '${topRaw}'.`);
		const limit = top !== undefined ? Math.min(top, MAX_PAGE) : pageSize;
		const coll = this.coll(def);
		const matches = (r: StoredRecord): boolean => !filter || evaluate(filter, this.wire(def, r));
		let candidates: Iterable<StoredRecord> | undefined;
		if (filter) {
			const lookups = indexLookups(filter, [...INDEXED, ...Object.keys(def.lookups).map((l) => `_${l}_value`)].filter((a) => coll.hasIndex(a)));
			if (lookups) {
				const found = new Map<string, StoredRecord>();
				for (const { field, value } of lookups) for (const r of coll.findBy(field, value)) found.set(r.id, r);
				candidates = [...found.values()].sort((a, b) => a.seq - b.seq);
			}
		}
		const rows: StoredRecord[] = [];
		let next: PageState | undefined;
		const pageNo = (state?.p ?? 1) + 1;
		const byModified = orderby.length === 1 && orderby[0].f === 'modifiedon' && !orderby[0].desc;
		if (!candidates && (orderby.length === 0 || byModified) && (!state || state.m !== 'off')) {
			let it: Iterable<StoredRecord>;
			if (byModified) {
				const bound = filter ? lowerTimeBound(filter, 'modifiedon') : undefined;
				it = state?.t !== undefined ? coll.changedSince(state.t) : coll.changedSince(bound ? bound.ms - 1000 : 0);
			} else it = coll.valuesAfterSeq(state?.s ?? 0);
			let more = false;
			for (const r of it) {
				if (!matches(r)) continue;
				if (rows.length === limit) {
					more = true;
					break;
				}
				rows.push(r);
			}
			const last = rows[rows.length - 1];
			if (more && last && top === undefined) next = byModified ? { m: 'mod', t: last.updatedAt, p: pageNo } : { m: 'seq', s: last.seq, p: pageNo };
		} else {
			const all = [...(candidates ?? coll.values())].filter(matches);
			if (orderby.length) {
				const rowsOf = new Map(all.map((r) => [r.id, this.wire(def, r)]));
				all.sort((a, b) => {
					for (const { f, desc } of orderby) {
						const x = rowsOf.get(a.id)![f] as string | number | null;
						const y = rowsOf.get(b.id)![f] as string | number | null;
						if (x === y) continue;
						const c = x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : x < y ? -1 : 1;
						return desc ? -c : c;
					}
					return a.seq - b.seq;
				});
			}
			const off = state?.o ?? 0;
			rows.push(...all.slice(off, off + limit));
			if (top === undefined && off + limit < all.length) next = { m: 'off', o: off + limit, p: pageNo };
		}
		const body: Fields = { '@odata.context': context };
		if (q.get('$count') === 'true') {
			let n = 0;
			for (const r of candidates ?? coll.values()) if (matches(r)) n++;
			body['@odata.count'] = Math.min(n, MAX_PAGE);
			if (n > MAX_PAGE) body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = true;
		}
		if (annotate) {
			// With include-annotations="*" a query also reports the total (-1 without $count; query-contacts-real-org-amp.json).
			body['@Microsoft.Dynamics.CRM.totalrecordcount'] = body['@odata.count'] ?? -1;
			body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] ??= false;
			body['@Microsoft.Dynamics.CRM.globalmetadataversion'] = String(this.version);
		}
		body.value = rows.map((r) => this.wire(def, r, select, annotate));
		if (next) body['@odata.nextLink'] = this.nextLink(def, q, next);
		return json(200, body, pageSize < MAX_PAGE ? { 'Preference-Applied': `odata.maxpagesize=${pageSize}` } : undefined);
	}

	/** Initial change-tracking read (all rows) or a delta read since $deltatoken, paged, ending with @odata.deltaLink. */
	private changes(def: EntityDef, ctx: RequestContext, select: string[] | undefined, annotate: boolean, pageSize: number, state: PageState | undefined, deltaRaw: string | null, context: string): Reply {
		const coll = this.coll(def);
		let since: number | undefined;
		if (deltaRaw !== null && !state) {
			const t = Number(deltaRaw.split('!')[0]);
			if (!Number.isFinite(t) || !/^\d+(\.\d+)?!/.test(deltaRaw)) fail(400, '0x80040203', `Invalid delta token '${deltaRaw}'.`);
			if (Date.now() - t > DELTA_TOKEN_LIFETIME_MS) fail(400, '0x80044352', 'The delta token has expired. Run a full change-tracking read again.');
			since = t;
		}
		const end = state?.end ?? this.clock.peek();
		const mode: PageState['m'] = state?.m ?? (since !== undefined ? 'ct' : 'init');
		const out: Fields[] = [];
		let lastKey: number | undefined;
		let more = false;
		if (mode === 'init') {
			for (const r of coll.valuesAfterSeq(state?.s ?? 0)) {
				if (r.updatedAt > end) continue;
				if (out.length === pageSize) {
					more = true;
					break;
				}
				out.push(this.wire(def, r, select, annotate));
				lastKey = r.seq;
			}
		} else {
			for (const r of coll.changedSince(state?.t ?? since!, { includeDeleted: true })) {
				if (r.updatedAt > end) break;
				if (out.length === pageSize) {
					more = true;
					break;
				}
				out.push(r.deletedAt !== undefined ? { '@odata.context': `${this.base}/$metadata#${def.set}/$deletedEntity`, id: r.id, reason: 'deleted' } : this.wire(def, r, select, annotate));
				lastKey = r.updatedAt;
			}
		}
		const body: Fields = { '@odata.context': context, value: out };
		const q = new URLSearchParams(ctx.query);
		if (more && lastKey !== undefined) {
			body['@odata.nextLink'] = this.nextLink(def, q, mode === 'init' ? { m: 'init', s: lastKey, end, p: (state?.p ?? 1) + 1 } : { m: 'ct', t: lastKey, end, p: (state?.p ?? 1) + 1 });
		} else {
			q.delete('$skiptoken');
			q.set('$deltatoken', this.deltaToken(end));
			body['@odata.deltaLink'] = `${this.base}/${def.set}?${odataQuery(q)}`;
		}
		return json(200, body, { 'Preference-Applied': 'odata.track-changes' });
	}

	// ---- Merge -------------------------------------------------------------------------------------

	/** POST /Merge: the subordinate is deactivated (statecode 1) and its children move to the target. */
	private merge(ctx: RequestContext): Reply {
		const b = (typeof ctx.body === 'object' && ctx.body ? ctx.body : {}) as Fields;
		const target = b.Target as Fields | undefined;
		const sub = b.Subordinate as Fields | undefined;
		const typeOf = (x: Fields | undefined): EntityDef | undefined => BY_LOGICAL.get(String(x?.['@odata.type'] ?? '').replace('Microsoft.Dynamics.CRM.', ''));
		const def = typeOf(target);
		if (!target || !sub || !def || typeOf(sub) !== def) fail(400, '0x80040203', 'Merge needs Target and Subordinate of the same entity type with @odata.type.');
		if (!def.mergeable) fail(400, '0x80040203', `Merge is not supported for entity '${def.logical}'.`);
		const tid = String(target[def.idAttr] ?? '').toLowerCase();
		const sid = String(sub[def.idAttr] ?? '').toLowerCase();
		if (tid === sid) fail(400, '0x80040203', 'The target and the subordinate record are the same record.');
		const coll = this.coll(def);
		const t = coll.get(tid) ?? this.notFound(def, tid);
		const s = coll.get(sid) ?? this.notFound(def, sid);
		if (s.fields.statecode === 1 && s.fields.merged === true) fail(400, '0x80040203', 'The subordinate record has already been merged.');
		return this.withTx(ctx, (tx) => {
			const content = (b.UpdateContent ?? {}) as Fields;
			const { fields } = this.input(def, Object.fromEntries(Object.entries(content).filter(([k]) => k !== def.idAttr)), ctx);
			for (const other of ENTITIES) {
				const attrs = Object.entries(other.lookups).filter(([a, targets]) => targets.includes(def.logical) && a !== 'masterid').map(([a]) => a);
				if (!attrs.length) continue;
				const hits = new Map<string, StoredRecord>();
				for (const a of attrs) for (const r of this.coll(other).findBy(`_${a}_value`, sid)) hits.set(r.id, r);
				for (const r of hits.values()) {
					const patch: Fields = {};
					for (const a of attrs) if (r.fields[`_${a}_value`] === sid) patch[`_${a}_value`] = tid;
					if (Object.keys(patch).length) this.updateRow(other, r, patch, ctx, tx);
				}
			}
			if (Object.keys(fields).length) this.updateRow(def, t, fields, ctx, tx);
			this.updateRow(def, s, { statecode: 1, statuscode: 2, merged: true, _masterid_value: tid, __lk_masterid: def.logical }, ctx, tx);
			return { status: 204 };
		});
	}

	// ---- QualifyLead, WinOpportunity, LoseOpportunity ------------------------------------------------

	/**
	 * POST leads(id)/Microsoft.Dynamics.CRM.QualifyLead {CreateAccount, CreateContact,
	 * CreateOpportunity, Status, OpportunityCustomerId?, OpportunityCurrencyId?, SourceCampaignId?}:
	 * creates the records asked for from the lead (each with originatingleadid), then sets the lead
	 * Qualified (statecode 1, statuscode Status). 200 with the created records as crmbaseentity
	 * references. One transaction; each write sends its Create/Update webhook like any other.
	 */
	private qualifyLead(ctx: RequestContext): Reply {
		const def = BY_LOGICAL.get('lead')!;
		const b = (typeof ctx.body === 'object' && ctx.body && !Array.isArray(ctx.body) ? ctx.body : {}) as Fields;
		for (const p of ['CreateAccount', 'CreateContact', 'CreateOpportunity']) {
			if (typeof b[p] !== 'boolean') fail(400, '0x80048d19', `Error identified in Payload provided by the user: the non-nullable parameter '${p}' of QualifyLead needs an Edm.Boolean value.`);
		}
		if (typeof b.Status !== 'number' || !Number.isInteger(b.Status)) fail(400, '0x80048d19', "Error identified in Payload provided by the user: the non-nullable parameter 'Status' of QualifyLead needs an Edm.Int32 value.");
		const { rec: lead } = this.resolveKey(def, ctx.params.key);
		if (!lead) this.notFound(def, ctx.params.key);
		// Error codes: LeadAlreadyInClosedState 0x80040519; a status code of another state 0x80048408.
		if (lead.fields.statecode !== 0) fail(400, '0x80040519', 'The lead is already closed.');
		// -1 lets the system pick the state's default status (3 Qualified, the only one of a new org).
		const status = b.Status === -1 ? 3 : (b.Status as number);
		if (status !== 3) fail(400, '0x80048408', `${status} is not a valid status code for state code LeadState.Qualified on lead with Id ${lead.id}.`);
		const customer = this.actionReference(b.OpportunityCustomerId, ['account', 'contact'], 'OpportunityCustomerId');
		const currency = this.actionReference(b.OpportunityCurrencyId, ['transactioncurrency'], 'OpportunityCurrencyId');
		const l = lead.fields;
		const pick = (map: Array<[string, string]>): Fields => {
			const out: Fields = {};
			for (const [from, to] of map) if (l[from] !== undefined && l[from] !== null && l[from] !== '') out[to] = l[from];
			return out;
		};
		const bind = (attr: string, logical: string, id: string): Fields => ({ [`_${attr}_value`]: id, [`__lk_${attr}`]: logical });
		const origin = bind('originatingleadid', 'lead', lead.id);
		return this.withTx(ctx, (tx) => {
			const created: Fields[] = [];
			let account: StoredRecord | undefined;
			let contact: StoredRecord | undefined;
			// No company name, no account (as qualifying in the app does) [U].
			if (b.CreateAccount && typeof l.companyname === 'string' && l.companyname.trim() !== '') {
				account = this.createRow(BY_LOGICAL.get('account')!, { ...pick(LEAD_TO_ACCOUNT), ...origin }, undefined, ctx, tx);
				created.push({ '@odata.type': '#Microsoft.Dynamics.CRM.account', accountid: account.id });
			}
			const parentAccount = account?.id ?? (l._parentaccountid_value as string | undefined);
			if (b.CreateContact) {
				contact = this.createRow(BY_LOGICAL.get('contact')!, { ...pick(LEAD_TO_CONTACT), ...origin, ...(parentAccount ? bind('parentcustomerid', 'account', parentAccount) : {}) }, undefined, ctx, tx);
				created.push({ '@odata.type': '#Microsoft.Dynamics.CRM.contact', contactid: contact.id });
			}
			let opportunityId: string | undefined;
			if (b.CreateOpportunity) {
				const parentContact = contact?.id ?? (l._parentcontactid_value as string | undefined);
				const cust = customer ?? (parentAccount ? { logical: 'account', id: parentAccount } : parentContact ? { logical: 'contact', id: parentContact } : undefined);
				const fields: Fields = {
					name: l.subject ?? [l.firstname, l.lastname].filter(Boolean).join(' '),
					...pick([['estimatedamount', 'estimatedvalue'], ['description', 'description']]),
					...origin,
					...(cust ? bind('customerid', cust.logical, cust.id) : {}),
					...(parentAccount ? bind('parentaccountid', 'account', parentAccount) : {}),
					...(parentContact ? bind('parentcontactid', 'contact', parentContact) : {}),
					...(currency ? bind('transactioncurrencyid', 'transactioncurrency', currency.id) : {}),
				};
				opportunityId = this.createRow(BY_LOGICAL.get('opportunity')!, fields, undefined, ctx, tx).id;
				created.push({ '@odata.type': '#Microsoft.Dynamics.CRM.opportunity', opportunityid: opportunityId });
			}
			this.updateRow(def, lead, { statecode: 1, statuscode: status, ...(opportunityId ? bind('qualifyingopportunityid', 'opportunity', opportunityId) : {}) }, ctx, tx);
			return json(200, { '@odata.context': `${this.base}/$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)`, value: created });
		});
	}

	/**
	 * POST /WinOpportunity or /LoseOpportunity {Status, OpportunityClose: {"opportunityid@odata.bind",
	 * subject?, actualrevenue?, actualend?}} → 204: the opportunity becomes Won (statecode 1, Status
	 * 3) or Lost (statecode 2, Status 4 Canceled or 5 Out-Sold); -1 picks the state's default. The
	 * opportunityclose activity itself is not kept (not an emulated table).
	 */
	private closeOpportunity(ctx: RequestContext, outcome: 'won' | 'lost'): Reply {
		const def = BY_LOGICAL.get('opportunity')!;
		const b = (typeof ctx.body === 'object' && ctx.body && !Array.isArray(ctx.body) ? ctx.body : {}) as Fields;
		const close = b.OpportunityClose as Fields | undefined;
		const action = outcome === 'won' ? 'WinOpportunity' : 'LoseOpportunity';
		if (typeof b.Status !== 'number' || !Number.isInteger(b.Status)) fail(400, '0x80048d19', `Error identified in Payload provided by the user: the non-nullable parameter 'Status' of ${action} needs an Edm.Int32 value.`);
		const target = close && typeof close === 'object' ? this.bindTarget(close['opportunityid@odata.bind'], ctx) : undefined;
		if (!target || target.logical !== 'opportunity') fail(400, '0x80048d19', `Error identified in Payload provided by the user: ${action} needs OpportunityClose with opportunityid@odata.bind set to /opportunities(<id>).`);
		const opp = this.coll(def).get(target.id) ?? this.notFound(def, target.id);
		// OpportunityIsAlreadyClosed 0x80040515.
		if (opp.fields.statecode !== 0) fail(400, '0x80040515', 'The opportunity is already closed.');
		const [state, allowed, label] = outcome === 'won' ? [1, [3], 'Won'] : [2, [4, 5], 'Lost'];
		const status = b.Status === -1 ? allowed[0] : (b.Status as number);
		if (!allowed.includes(status)) fail(400, '0x80048408', `${status} is not a valid status code for state code OpportunityState.${label} on opportunity with Id ${opp.id}.`);
		const end = typeof close!.actualend === 'string' && !Number.isNaN(Date.parse(close!.actualend)) ? close!.actualend.slice(0, 10) : dvTime(this.clock.peek()).slice(0, 10);
		const revenue = typeof close!.actualrevenue === 'number' ? { actualvalue: close!.actualrevenue } : {};
		return this.withTx(ctx, (tx) => {
			this.updateRow(def, opp, { statecode: state, statuscode: status, actualclosedate: end, ...revenue }, ctx, tx);
			return { status: 204 };
		});
	}

	/** An action's entity parameter `{"@odata.type": "Microsoft.Dynamics.CRM.<type>", "<type>id": guid}`. */
	private actionReference(value: unknown, types: string[], param: string): { logical: string; id: string } | undefined {
		if (value === undefined || value === null) return undefined;
		const v = value as Fields;
		const logical = String(v['@odata.type'] ?? '').replace(/^#?Microsoft\.Dynamics\.CRM\./, '');
		const def = BY_LOGICAL.get(logical) ?? DIRECTORY_BY_LOGICAL.get(logical);
		const id = def ? String(v[def.idAttr] ?? '').toLowerCase() : '';
		if (!def || !types.includes(logical) || !GUID_RE.test(id)) fail(400, '0x80048d19', `Error identified in Payload provided by the user: ${param} must be a ${types.join(' or ')} with @odata.type and its id.`);
		if (!this.coll(def).get(id)) this.notFound(def, id);
		return { logical, id };
	}

	// ---- $batch ------------------------------------------------------------------------------------

	private batch(ctx: RequestContext): Reply {
		const boundary = boundaryOf(header(ctx, 'content-type'));
		if (!boundary) fail(400, '0x80048d19', 'The $batch request needs Content-Type multipart/mixed with a boundary.');
		let items: BatchItem[];
		try {
			items = parseBatch(ctx.rawBody.toString('utf8'), boundary);
		} catch (err) {
			if (err instanceof BatchFormatError) fail(400, '0x80048d19', err.message);
			throw err;
		}
		const ops = items.reduce((n, it) => n + (it.kind === 'request' ? 1 : it.reqs.length), 0);
		if (ops > MAX_BATCH_OPS) fail(400, '0x80048d19', `Number of requests in a batch exceeded the limit of ${MAX_BATCH_OPS}.`);
		const continueOnError = this.prefers(ctx, 'odata.continue-on-error');
		const results: BatchResult[] = [];
		// A batch that stops on an error answers 400 as a whole (batch-response-error-stop.http).
		let stopped = false;
		for (const item of items) {
			if (item.kind === 'request') {
				const res = this.runInner(ctx, item.req, undefined, new Map());
				results.push({ kind: 'request', res });
				if (res.status >= 400 && !continueOnError) {
					stopped = true;
					break;
				}
			} else {
				const tx: Tx = { undo: [], events: [] };
				const contentIds = new Map<string, string>();
				const out: BatchResponse[] = [];
				let failed: BatchResponse | undefined;
				for (const req of item.reqs) {
					const res = this.runInner(ctx, req, tx, contentIds);
					if (res.status >= 400) {
						failed = res;
						break;
					}
					out.push(res);
				}
				if (failed) {
					this.rollback(tx);
					results.push({ kind: 'request', res: failed });
					if (!continueOnError) {
						stopped = true;
						break;
					}
				} else {
					this.commit(tx);
					results.push({ kind: 'changeset', res: out });
				}
			}
		}
		const built = buildBatchResponse(results);
		return { status: stopped ? 400 : 200, headers: { 'Content-Type': built.contentType }, body: built.body };
	}

	/** Runs one batch operation through the normal routes. */
	private runInner(outer: RequestContext, req: BatchRequest, tx: Tx | undefined, contentIds: Map<string, string>): BatchResponse {
		let raw = req.url;
		const ref = /^\$(\w+)(.*)$/.exec(raw);
		if (ref && contentIds.has(ref[1])) raw = contentIds.get(ref[1])! + ref[2];
		const url = new URL(raw.startsWith('http') ? raw : raw.startsWith('/') ? `http://sandbox${raw}` : `http://sandbox${API}/${raw}`);
		const headers = { ...outer.headers, ...req.headers };
		delete headers['content-length'];
		let body: unknown;
		try {
			body = parseBody(Buffer.from(req.body), req.headers['content-type'] ?? (req.body ? 'application/json' : undefined));
		} catch (err) {
			return this.toBatchResponse(this.badBodyReply(outer, (err as Error).message), req.contentId);
		}
		const ctx: RequestContext = {
			method: req.method,
			path: url.pathname,
			url,
			query: url.searchParams,
			params: {},
			headers,
			rawBody: Buffer.from(req.body),
			body,
			token: outer.token,
			state: { ...outer.state, tx, contentIds, contentId: req.contentId },
		};
		const m = this.inner.match(ctx.method, ctx.path);
		if (!('handler' in m) || ctx.path.endsWith('/$batch')) return this.toBatchResponse(this.notFoundReply(ctx, 'methodMismatch' in m && m.methodMismatch), req.contentId);
		ctx.params = m.params;
		let reply: Reply;
		try {
			reply = m.handler(ctx) as Reply;
		} catch (err) {
			if (!(err instanceof ReplyError)) throw err;
			reply = err.reply;
		}
		return this.toBatchResponse(reply, req.contentId);
	}

	private toBatchResponse(reply: Reply, contentId?: string): BatchResponse {
		// Inner error parts carry REQ_ID; created rows name themselves in Location and OData-EntityId
		// (batch-response-continue-on-error.http, batch-response-no-changeset.http).
		const headers: Record<string, string> = reply.status >= 400 ? { REQ_ID: randomUUID(), 'OData-Version': '4.0' } : { 'OData-Version': '4.0' };
		const entityId = Object.entries(reply.headers ?? {}).find(([k]) => k.toLowerCase() === 'odata-entityid')?.[1];
		if (entityId !== undefined) headers.Location = String(entityId);
		for (const [k, v] of Object.entries(reply.headers ?? {})) headers[k] = String(v);
		let body: string | undefined;
		if (reply.body !== undefined && reply.status !== 204) {
			body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
			headers['Content-Type'] = 'application/json; odata.metadata=minimal';
		}
		return { status: reply.status, headers, body, contentId };
	}

	// ---- seed and dump -----------------------------------------------------------------------------

	protected applySeed(data: SeedData): SeedSummary {
		const user = DEFAULT_APP_USER_ID;
		const ins = (set: string, fields: Fields, createdAt: number): string => {
			const row: Fields = { statecode: 0, statuscode: 1, _ownerid_value: user, __lk_ownerid: 'systemuser', _createdby_value: user, __lk_createdby: 'systemuser', _modifiedby_value: user, __lk_modifiedby: 'systemuser', versionnumber: ++this.version, ...fields };
			return this.coll(BY_SET.get(set)!).insert(row, { createdAt }).id;
		};
		const accounts = new Map<string, string>();
		const contacts = new Map<string, string>();
		const opps = new Map<string, string>();
		const counts: Record<string, number> = { accounts: 0, contacts: 0, leads: 0, opportunities: 0, tasks: 0, phonecalls: 0, appointments: 0, annotations: 0 };
		for (const c of data.companies) {
			accounts.set(c.key, ins('accounts', { name: c.name, websiteurl: `https://${c.domain}`, telephone1: c.phone, address1_city: c.city, address1_country: c.country }, c.createdAt));
			counts.accounts++;
		}
		for (const p of data.contacts) {
			const f: Fields = { firstname: p.firstName, lastname: p.lastName, emailaddress1: p.email, telephone1: p.phone, jobtitle: p.title, address1_city: p.city, address1_country: p.country, donotemail: false };
			if (p.mobile) f.mobilephone = p.mobile;
			if (p.companyKey && accounts.has(p.companyKey)) Object.assign(f, { _parentcustomerid_value: accounts.get(p.companyKey), __lk_parentcustomerid: 'account' });
			contacts.set(p.key, ins('contacts', f, p.createdAt));
			counts.contacts++;
		}
		for (const l of data.leads) {
			ins('leads', { subject: `${l.company} lead`, firstname: l.firstName, lastname: l.lastName, emailaddress1: l.email, telephone1: l.phone, companyname: l.company, leadsourcecode: 8 }, l.createdAt);
			counts.leads++;
		}
		for (const d of data.deals) {
			const f: Fields = { name: d.name, estimatedvalue: d.amount, estimatedclosedate: d.closeDate, stepname: d.stageLabel, statecode: d.stage === 'won' ? 1 : d.stage === 'lost' ? 2 : 0, statuscode: d.stage === 'won' ? 3 : d.stage === 'lost' ? 4 : 1, ...this.defaultCurrency(BY_SET.get('opportunities')!, { estimatedvalue: d.amount }) };
			if (d.companyKey && accounts.has(d.companyKey)) Object.assign(f, { _customerid_value: accounts.get(d.companyKey), __lk_customerid: 'account' });
			else if (d.contactKey && contacts.has(d.contactKey)) Object.assign(f, { _customerid_value: contacts.get(d.contactKey), __lk_customerid: 'contact' });
			opps.set(d.key, ins('opportunities', f, d.createdAt));
			counts.opportunities++;
		}
		for (const a of data.activities) {
			const reg: [string, string] | undefined = a.dealKey && opps.has(a.dealKey) ? [opps.get(a.dealKey)!, 'opportunity'] : a.contactKey && contacts.has(a.contactKey) ? [contacts.get(a.contactKey)!, 'contact'] : a.companyKey && accounts.has(a.companyKey) ? [accounts.get(a.companyKey)!, 'account'] : undefined;
			const when = dvTime(a.at);
			if (a.type === 'note') {
				if (!reg) continue;
				ins('annotations', { subject: a.subject, notetext: a.body, objecttypecode: reg[1], _objectid_value: reg[0], __lk_objectid: reg[1] }, a.createdAt);
				counts.annotations++;
				continue;
			}
			const links: Fields = reg ? { _regardingobjectid_value: reg[0], __lk_regardingobjectid: reg[1] } : {};
			const state = a.done ? { statecode: 1, statuscode: a.type === 'meeting' ? 3 : 2 } : {};
			if (a.type === 'call') {
				ins('phonecalls', { subject: a.subject, description: a.body, directioncode: a.direction !== 'inbound', actualdurationminutes: Math.round((a.durationSec ?? 0) / 60), scheduledend: when, ...state, ...links }, a.createdAt);
				counts.phonecalls++;
			} else if (a.type === 'meeting') {
				ins('appointments', { subject: a.subject, description: a.body, scheduledstart: when, scheduledend: dvTime(a.endAt ?? a.at + 3600000), ...state, ...links }, a.createdAt);
				counts.appointments++;
			} else {
				ins('tasks', { subject: a.subject, description: a.body, scheduledend: when, ...state, ...links }, a.createdAt);
				counts.tasks++;
			}
		}
		return counts;
	}

	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const def of ENTITIES) {
			out[def.set] = [...this.coll(def).values({ includeDeleted: true })].map((r) => ({ ...this.wire(def, r), ...(r.deletedAt !== undefined ? { '@sandbox.deleted': true } : {}) }));
		}
		return out;
	}
}

/** Splits `a,b($select=c,d)` at commas outside parentheses. */
function splitTopLevel(text: string): string[] {
	const out: string[] = [];
	let depth = 0;
	let start = 0;
	for (let i = 0; i < text.length; i++) {
		if (text[i] === '(') depth++;
		else if (text[i] === ')') depth--;
		else if (text[i] === ',' && depth === 0) {
			out.push(text.slice(start, i).trim());
			start = i + 1;
		}
	}
	if (text.trim()) out.push(text.slice(start).trim());
	return out.filter(Boolean);
}

export function createEmulator(opts?: EmulatorOptions): Emulator {
	return new DynamicsEmulator(opts);
}
