// Salesforce emulator (what jsforce 3.x talks to): OAuth token endpoint, REST vXX.X sObjects,
// collections, SOQL query/queryAll with paging, getUpdated/getDeleted, SOAP merge and convertLead,
// limits. Setup objects User, OpportunityStage and LeadStatus hold a new org's users, default
// stages and lead statuses (read by SOQL and describe; written only through /__admin).
// Base URL = jsforce instanceUrl and loginUrl. Facts: crm-wire.md section 1; [U] choices in
// sandbox/README.md.

import { createHmac, randomBytes } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { BaseEmulator, ReplyError } from '../common/base';
import { header, json, Reply, RequestContext, RouteOptions, Router } from '../common/router';
import { bearerToken } from '../common/auth';
import { RateLimiter, RatePolicy } from '../common/ratelimit';
import type { SeedData } from '../common/seed';
import type { Collection, StoredRecord } from '../common/store';
import type { EmulatorOptions, RecordDump, SeedSummary, WebhookSubscription } from '../common/types';
import { DEFAULT_LEAD_STATUSES, DEFAULT_STAGES, field, FieldDef, idGenerator, normaliseId, parseDateTime, sfDateTime, SObjectDef, SOBJECTS, sobject, to18 } from './schema';
import { Condition, Literal, parseSoql, SoqlError, SoqlQuery } from './soql';
import { parseSosl, SoslError, termMatches } from './sosl';
import { ChangeInfo, ChangeType, OUTBOUND_RETRY, SalesforceEvents } from './events';
import type { RetryPolicy } from '../common/webhooks';

export interface SalesforceEmulatorOptions extends EmulatorOptions {
	/** Daily API request allowance reported in Sforce-Limit-Info and enforced with rateLimits (default 15000). */
	dailyApiLimit?: number;
	/** Outbound Message batching window (default 100 ms). */
	webhookBatchWindowMs?: number;
}

/** Per-item error of collections/SOAP: {statusCode, message, fields}. */
export interface ItemError {
	statusCode: string;
	message: string;
	fields: string[];
}

class ItemFailure extends Error {
	constructor(
		readonly status: number,
		readonly errors: ItemError[],
	) {
		super(errors.map((e) => e.message).join('; '));
	}
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The org's currency setup (Setup > Company Information). */
export interface CurrencySetup {
	/** Multiple currencies enabled: CurrencyType and CurrencyIsoCode exist. */
	multiCurrency: boolean;
	/** The single-currency org's currency, or the multi-currency org's corporate currency. */
	currencyIsoCode: string;
}

const NEW_ORG_CURRENCY: CurrencySetup = { multiCurrency: false, currencyIsoCode: 'USD' };

/** Minor-unit digits of an ISO 4217 currency (JPY 0, USD 2), for a CurrencyType's DecimalPlaces. */
function currencyDigits(code: string): number {
	try {
		return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
	} catch {
		return 2;
	}
}
const COLLECTION_LIMIT = 200;
const DEFAULT_BATCH = 2000;
const DEFAULT_VERSION = '62.0';

/** REST error reply: an array of {message, errorCode, fields?}. */
function sfError(status: number, errorCode: string, message: string, fields?: string[]): ReplyError {
	return new ReplyError(json(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]));
}

/**
 * The read-only compound address fields a full-record GET carries next to the flat ones
 * (rest-get-account-recorded.json: BillingAddress {city, country, postalCode, state, street, ...},
 * lower camel case), null when every part is empty.
 */
function compoundAddresses(def: SObjectDef, view: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, Record<string, unknown> | null> = {};
	for (const [name, f] of Object.entries(def.fields)) {
		if (!f.compound?.endsWith('Address')) continue;
		const prefix = f.compound.slice(0, -'Address'.length);
		const part = name.slice(prefix.length);
		const key = part.charAt(0).toLowerCase() + part.slice(1);
		const address = (out[f.compound] ??= {});
		address[key] = view[name] ?? null;
	}
	for (const [name, address] of Object.entries(out)) if (address && Object.values(address).every((v) => v === null)) out[name] = null;
	return out;
}

/** Standard idLookup fields the sandbox can match on (besides Id): Email of Contact and Lead. */
function isIdLookup(def: SObjectDef, name: string): boolean {
	return name === 'Email' && Boolean(def.fields.Email) && (def.name === 'Contact' || def.name === 'Lead');
}

function itemFail(status: number, statusCode: string, message: string, fields: string[] = []): never {
	throw new ItemFailure(status, [{ statusCode, message, fields }]);
}

/** Who writes: the API user (changeOrigin from the call) or an admin/UI edit, which may also write setup objects. */
interface Who {
	origin: string;
	user: string;
	admin?: boolean;
}

interface QueryCursor {
	query: SoqlQuery;
	def: SObjectDef;
	records: StoredRecord[];
	offset: number;
	batch: number;
	all: boolean;
	version: string;
	lastUsed: number;
}

export class SalesforceEmulator extends BaseEmulator {
	readonly crm = 'salesforce' as const;
	readonly orgId = to18('00DDn00000SandB');
	/** The integration user behind API tokens and the "UI" user behind admin edits. */
	readonly apiUserId = to18('005Dn00000ApiUs');
	readonly uiUserId = to18('005Dn00000UiUsr');
	/** The Automated Process user every org has (UserType AutomatedProcess: owns no sales records). */
	readonly automatedProcessUserId = to18('005Dn00000AutoP');
	readonly dailyApiLimit: number;
	readonly events: SalesforceEvents;
	/** Counts API calls for Sforce-Limit-Info even when enforcement is off. */
	private readonly usage = new RateLimiter(true);
	private readonly cursors = new Map<string, QueryCursor>();
	private readonly collections = new Map<string, Collection>();
	private readonly startedAt = Date.now();
	private readonly xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false, attributeNamePrefix: '@_' });
	/**
	 * Setup > Company Information: the org's currency (a single-currency org's "currency locale",
	 * a multi-currency org's corporate currency) and whether multiple currencies are enabled. A new
	 * org has one currency, USD. See setCurrencySetup().
	 */
	private currencySetup: CurrencySetup = { ...NEW_ORG_CURRENCY };
	/** fieldsOf() of a single-currency org, per object. */
	private readonly singleCurrencyFields = new Map<string, Record<string, FieldDef>>();

	constructor(opts: SalesforceEmulatorOptions = {}) {
		super(opts, {
			tokenLifetimeMs: 2 * 3600_000,
			tokenPrefix: '00DDn00000SandB!',
			webhookTimeoutMs: 10_000,
			webhookRetry: OUTBOUND_RETRY,
		});
		this.dailyApiLimit = opts.dailyApiLimit ?? 15_000;
		for (const def of Object.values(SOBJECTS)) {
			const indexes: Record<string, (f: Record<string, unknown>) => unknown> = {
				// External-id index: every custom field, keyed "field=value" (case-insensitive).
				ext: (f) =>
					Object.entries(f)
						.filter(([k, v]) => k.endsWith('__c') && v !== null && v !== undefined && v !== '')
						.map(([k, v]) => `${k.toLowerCase()}=${String(v)}`),
			};
			if (def.fields.Email) indexes.email = (f) => f.Email;
			this.collections.set(def.name, this.store.define(def.name, { idGen: idGenerator(def.keyPrefix, def.idStart), indexes }));
		}
		const em = this;
		const host = {
			subscriptions: this.subscriptions,
			orgId: this.orgId,
			apiVersion: DEFAULT_VERSION,
			get url() {
				return em.url;
			},
			send: (sub: WebhookSubscription, build: () => { headers: Record<string, string>; body: string }, options: { retry?: Partial<RetryPolicy>; serialKey?: string }) =>
				this.webhooks.send({ subscriptionId: sub.id, url: sub.url, build: () => build(), ...options }),
		};
		this.events = new SalesforceEvents(host, opts.webhookBatchWindowMs ?? 100);
		this.seedSetup();
	}

	/**
	 * What a new org has before anyone adds data: its users (the API user behind tokens, the
	 * admin behind UI edits, the Automated Process user) and the default opportunity stages.
	 * Put back after reset(). Tests add more through POST /__admin/sobjects/User|OpportunityStage|LeadStatus.
	 */
	private seedSetup(): void {
		const users = this.coll(SOBJECTS.User);
		const user = (id: string, first: string | undefined, last: string, email: string, username: string, type: string) =>
			users.insert({ Username: username, Email: email, FirstName: first, LastName: last, Alias: ((first ?? '').charAt(0) + last).slice(0, 8).toLowerCase(), IsActive: true, UserType: type, TimeZoneSidKey: 'America/Los_Angeles', LocaleSidKey: 'en_US', LanguageLocaleKey: 'en_US', EmailEncodingKey: 'UTF-8', CreatedById: this.uiUserId, LastModifiedById: this.uiUserId }, { id });
		user(this.uiUserId, 'Sandbox', 'Admin', 'admin@sandbox.example.com', 'admin@sandbox.example.com', 'Standard');
		user(this.apiUserId, 'Integration', 'User', 'integration@sandbox.example.com', 'integration@sandbox.example.com', 'Standard');
		user(this.automatedProcessUserId, undefined, 'Automated Process', `autoproc@${this.orgId.toLowerCase()}`, `autoproc@${this.orgId.toLowerCase()}`, 'AutomatedProcess');
		const stages = this.coll(SOBJECTS.OpportunityStage);
		DEFAULT_STAGES.forEach(([label, probability, closed, won, forecast], i) =>
			stages.insert({ MasterLabel: label, ApiName: label, IsActive: true, IsClosed: closed, IsWon: won, DefaultProbability: probability, ForecastCategoryName: forecast, ForecastCategory: forecast, SortOrder: i + 1, CreatedById: this.uiUserId, LastModifiedById: this.uiUserId }),
		);
		const statuses = this.coll(SOBJECTS.LeadStatus);
		DEFAULT_LEAD_STATUSES.forEach(([label, converted, isDefault], i) =>
			statuses.insert({ MasterLabel: label, ApiName: label, IsConverted: converted, IsDefault: isDefault, SortOrder: i + 1, CreatedById: this.uiUserId, LastModifiedById: this.uiUserId }),
		);
	}

	// ---- BaseEmulator hooks -------------------------------------------------------------------

	protected authenticate(ctx: RequestContext): Reply | undefined {
		const check = this.tokens.check(bearerToken(ctx.headers.authorization) ?? bearerToken(ctx.headers.authorization, 'OAuth'));
		if (check.ok) {
			ctx.token = check.value;
			return undefined;
		}
		return json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
	}

	protected rateLimit(ctx: RequestContext, _options: RouteOptions): Reply | undefined {
		const policy: RatePolicy = { name: 'DailyApiRequests', limit: this.dailyApiLimit, windowMs: 86_400_000 };
		if (this.limiter.enabled && !this.limiter.hit(policy).ok) {
			return json(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
		}
		this.usage.hit({ ...policy, limit: Number.MAX_SAFE_INTEGER });
		void ctx;
		return undefined;
	}

	protected decorate(ctx: RequestContext, reply: Reply): void {
		if (!ctx.path.startsWith('/services/data/v') && !ctx.path.startsWith('/services/Soap/')) return;
		const used = this.usage.used({ name: 'DailyApiRequests', limit: Number.MAX_SAFE_INTEGER, windowMs: 86_400_000 });
		reply.headers = { ...reply.headers, 'Sforce-Limit-Info': `api-usage=${used}/${this.dailyApiLimit}` };
	}

	protected faultReply(): Reply {
		return json(503, [{ message: 'Service Unavailable (injected fault)', errorCode: 'SERVER_UNAVAILABLE' }]);
	}

	protected notFoundReply(ctx: RequestContext, methodMismatch: boolean): Reply {
		if (methodMismatch) return json(405, [{ message: `HTTP Method '${ctx.method}' not allowed. Allowed are GET,PATCH,DELETE,POST`, errorCode: 'METHOD_NOT_ALLOWED' }]);
		return json(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
	}

	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return json(400, [{ message, errorCode: 'JSON_PARSER_ERROR' }]);
	}

	protected internalErrorReply(_ctx: RequestContext, err: unknown): Reply {
		return json(500, [{ message: String((err as Error)?.message ?? err), errorCode: 'UNKNOWN_EXCEPTION' }]);
	}

	protected onReset(): void {
		this.currencySetup = { ...NEW_ORG_CURRENCY };
		this.seedSetup();
		this.cursors.clear();
		this.usage.clear();
		this.events.clear();
	}

	protected flushWebhookBatches(): void {
		this.events.flush();
	}

	/**
	 * Admin subscriptions:
	 *   {type:'outboundMessage', url, object:'Contact', fields?:[...], sessionId?, actionId?}
	 *   {type:'changeEvent', url, secret, entities?:['Contact', ...]}
	 */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		const err = SalesforceEvents.validate(spec, (n) => !!this.typeOf(n));
		if (err) throw new ReplyError(json(400, [{ message: err, errorCode: 'INVALID_INPUT' }]));
		const normalised = { ...spec };
		if (typeof spec.object === 'string') normalised.object = this.typeOf(spec.object)!.name;
		if (Array.isArray(spec.entities)) normalised.entities = (spec.entities as string[]).map((e) => this.typeOf(e)!.name);
		return super.addSubscription(normalised);
	}

	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const def of Object.values(SOBJECTS)) {
			out[def.name] = [...this.coll(def).values({ includeDeleted: true })].map((r) => ({ attributes: { type: def.name }, ...this.view(def, r) }));
		}
		return out;
	}

	protected applySeed(data: SeedData): SeedSummary {
		const ids = new Map<string, string>();
		const origin = '';
		const insert = (def: SObjectDef, values: Record<string, unknown>, createdAt: number) => {
			const clean: Record<string, unknown> = { OwnerId: this.uiUserId, CreatedById: this.uiUserId, LastModifiedById: this.uiUserId };
			for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== '') clean[k] = v;
			if (this.fieldsOf(def).CurrencyIsoCode) clean.CurrencyIsoCode = this.currencySetup.currencyIsoCode;
			this.derive(def, clean);
			return this.coll(def).insert(clean, { createdAt, updatedAt: createdAt });
		};
		for (const c of data.companies) {
			ids.set(c.key, insert(SOBJECTS.Account, { Name: c.name, Website: c.domain, Phone: c.phone, Industry: c.industry, BillingCity: c.city, BillingCountry: c.country }, c.createdAt).id);
		}
		for (const c of data.contacts) {
			const rec = insert(
				SOBJECTS.Contact,
				{ FirstName: c.firstName, LastName: c.lastName, Email: c.email, Phone: c.phone, MobilePhone: c.mobile, Title: c.title, AccountId: c.companyKey ? ids.get(c.companyKey) : undefined, MailingCity: c.city, MailingCountry: c.country, LeadSource: 'Web' },
				c.createdAt,
			);
			ids.set(c.key, rec.id);
		}
		for (const l of data.leads) {
			const status = { new: 'Open - Not Contacted', working: 'Working - Contacted', qualified: 'Closed - Converted', unqualified: 'Closed - Not Converted' }[l.status];
			ids.set(l.key, insert(SOBJECTS.Lead, { FirstName: l.firstName, LastName: l.lastName, Email: l.email, Phone: l.phone, Company: l.company, Status: status }, l.createdAt).id);
		}
		for (const d of data.deals) {
			const stage = d.stage === 'won' ? 'Closed Won' : d.stage === 'lost' ? 'Closed Lost' : { qualification: 'Qualification', 'needs analysis': 'Needs Analysis', proposal: 'Proposal/Price Quote', negotiation: 'Negotiation/Review' }[d.stageLabel] ?? 'Prospecting';
			ids.set(d.key, insert(SOBJECTS.Opportunity, { Name: d.name, Amount: d.amount, StageName: stage, CloseDate: d.closeDate, AccountId: d.companyKey ? ids.get(d.companyKey) : undefined, ContactId: d.contactKey ? ids.get(d.contactKey) : undefined }, d.createdAt).id);
		}
		let tasks = 0;
		let events = 0;
		for (const a of data.activities) {
			const who = a.contactKey ? ids.get(a.contactKey) : undefined;
			const what = a.dealKey ? ids.get(a.dealKey) : undefined;
			if (a.type === 'meeting') {
				insert(SOBJECTS.Event, { Subject: a.subject, Description: a.body, StartDateTime: sfDateTime(a.at), EndDateTime: sfDateTime(a.endAt ?? a.at), WhoId: who, WhatId: what }, a.createdAt);
				events++;
			} else {
				const subtype = a.type === 'call' ? 'Call' : a.type === 'email' ? 'Email' : 'Task';
				insert(
					SOBJECTS.Task,
					{ Subject: a.subject, Description: a.body, ActivityDate: new Date(a.at).toISOString().slice(0, 10), Status: a.done ? 'Completed' : 'Not Started', Priority: 'Normal', TaskSubtype: subtype, CallDurationInSeconds: a.type === 'call' ? a.durationSec : undefined, WhoId: who, WhatId: what },
					a.createdAt,
				);
				tasks++;
			}
		}
		void origin;
		return { Account: data.companies.length, Contact: data.contacts.length, Lead: data.leads.length, Opportunity: data.deals.length, Task: tasks, Event: events };
	}

	// ---- routes -------------------------------------------------------------------------------------

	protected registerRoutes(r: Router): void {
		r.post('/services/oauth2/token', (ctx) => this.oauthToken(ctx), { public: true });
		r.post('/services/oauth2/revoke', (ctx) => this.oauthRevoke(ctx), { public: true });
		r.get('/services/data', () => json(200, ['58.0', '59.0', '60.0', '61.0', '62.0', '63.0'].map((v) => ({ label: 'Sandbox', url: `/services/data/v${v}`, version: v }))), { public: true });
		r.post(/^\/services\/Soap\/u\/(?<ver>\d+\.\d)(?:\/[A-Za-z0-9]+)?\/?$/, (ctx) => this.soap(ctx), { public: true });
		const d = '/services/data/:ver';
		r.get('/id/:org/:user', (ctx) => this.identity(ctx), { public: true });
		r.get('/services/oauth2/userinfo', (ctx) => this.identity(ctx), { public: true });
		r.get(d, (ctx) => this.v(ctx, () => json(200, { identity: `${this.url}/id/${this.orgId}/${this.apiUserId}`, sobjects: `/services/data/${ctx.params.ver}/sobjects`, query: `/services/data/${ctx.params.ver}/query`, queryAll: `/services/data/${ctx.params.ver}/queryAll`, limits: `/services/data/${ctx.params.ver}/limits`, composite: `/services/data/${ctx.params.ver}/composite` })));
		r.get(`${d}/limits`, (ctx) => this.v(ctx, () => this.limits()));
		r.get(`${d}/search`, (ctx) => this.v(ctx, () => this.search(ctx)));
		r.get(`${d}/query`, (ctx) => this.v(ctx, () => this.query(ctx, false)));
		r.get(`${d}/queryAll`, (ctx) => this.v(ctx, () => this.query(ctx, true)));
		r.get(`${d}/query/:locator`, (ctx) => this.v(ctx, () => this.queryMore(ctx)));
		r.get(`${d}/queryAll/:locator`, (ctx) => this.v(ctx, () => this.queryMore(ctx)));
		r.get(`${d}/sobjects`, (ctx) => this.v(ctx, () => json(200, { encoding: 'UTF-8', maxBatchSize: 200, sobjects: Object.values(SOBJECTS).filter((s) => this.typeOf(s.name)).map((s) => ({ name: s.name, keyPrefix: s.keyPrefix, urls: { sobject: `/services/data/${ctx.params.ver}/sobjects/${s.name}` } })) })));
		r.get(`${d}/sobjects/:type/describe`, (ctx) => this.v(ctx, () => this.describe(ctx)));
		r.get(`${d}/sobjects/:type/updated`, (ctx) => this.v(ctx, () => this.getUpdated(ctx)));
		r.get(`${d}/sobjects/:type/deleted`, (ctx) => this.v(ctx, () => this.getDeleted(ctx)));
		r.post(`${d}/sobjects/:type`, (ctx) => this.v(ctx, () => this.create(ctx)));
		r.get(`${d}/sobjects/:type/:id`, (ctx) => this.v(ctx, () => this.retrieve(ctx)));
		r.patch(`${d}/sobjects/:type/:id`, (ctx) => this.v(ctx, () => this.update(ctx)));
		r.delete(`${d}/sobjects/:type/:id`, (ctx) => this.v(ctx, () => this.destroy(ctx)));
		r.get(`${d}/sobjects/:type/:field/:value`, (ctx) => this.v(ctx, () => this.retrieveByExternalId(ctx)));
		r.patch(`${d}/sobjects/:type/:field/:value`, (ctx) => this.v(ctx, () => this.upsert(ctx)));
		r.post(`${d}/composite/sobjects`, (ctx) => this.v(ctx, () => this.collectionCreate(ctx)));
		r.patch(`${d}/composite/sobjects`, (ctx) => this.v(ctx, () => this.collectionUpdate(ctx)));
		r.delete(`${d}/composite/sobjects`, (ctx) => this.v(ctx, () => this.collectionDelete(ctx)));
		r.post(`${d}/composite/sobjects/:type`, (ctx) => this.v(ctx, () => this.collectionRetrieve(ctx)));
		r.patch(`${d}/composite/sobjects/:type/:field`, (ctx) => this.v(ctx, () => this.collectionUpsert(ctx)));
	}

	/**
	 * Admin extras acting as a Salesforce UI user (empty changeOrigin, LastModifiedById = UI user):
	 *   POST   /__admin/sobjects/:type        {fields}
	 *   PATCH  /__admin/sobjects/:type/:id    {fields}
	 *   DELETE /__admin/sobjects/:type/:id
	 *   POST   /__admin/sobjects/:type/:id/undelete
	 * and the org's currency setup (Setup > Company Information):
	 *   GET    /__admin/currency-setup
	 *   POST   /__admin/currency-setup        {multiCurrency?, currencyIsoCode?}
	 */
	protected registerAdminRoutes(r: Router): void {
		const ui: Who = { origin: '', user: this.uiUserId, admin: true };
		r.get('/__admin/currency-setup', () => json(200, this.getCurrencySetup()));
		r.post('/__admin/currency-setup', (ctx) => {
			const body = (ctx.body ?? {}) as Partial<CurrencySetup>;
			try {
				return json(200, this.setCurrencySetup(body));
			} catch (err) {
				if (err instanceof Error && !(err instanceof ReplyError)) throw sfError(400, 'INVALID_INPUT', err.message);
				throw err;
			}
		});
		r.post('/__admin/sobjects/:type', (ctx) => {
			const def = this.typeParam(ctx);
			const id = this.itemOrReply(() => this.doCreate(def, (ctx.body as Record<string, unknown>) ?? {}, ui));
			return json(201, { id, success: true, errors: [] });
		});
		r.patch('/__admin/sobjects/:type/:id', (ctx) => {
			const def = this.typeParam(ctx);
			this.itemOrReply(() => this.doUpdate(def, ctx.params.id, (ctx.body as Record<string, unknown>) ?? {}, ui));
			return { status: 204 };
		});
		r.delete('/__admin/sobjects/:type/:id', (ctx) => {
			const def = this.typeParam(ctx);
			this.itemOrReply(() => this.doDelete(def, ctx.params.id, ui));
			return { status: 204 };
		});
		r.post('/__admin/sobjects/:type/:id/undelete', (ctx) => {
			const def = this.typeParam(ctx);
			const id = normaliseId(ctx.params.id) ?? '';
			const rec = this.coll(def).get(id, { includeDeleted: true });
			if (!rec || rec.deletedAt === undefined) throw sfError(404, 'NOT_FOUND', 'no deleted record with that id');
			delete rec.fields.MasterRecordId;
			this.coll(def).restore(id);
			this.emitChange(def, rec, 'UNDELETE', [], ui);
			return json(200, { id, success: true, errors: [] });
		});
	}

	/** Checks the version segment (vNN.N) and runs the handler. */
	private v(ctx: RequestContext, fn: () => Reply): Reply {
		if (!/^v\d+\.\d$/.test(ctx.params.ver)) throw sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
		return fn();
	}

	private apiVersion(ctx: RequestContext): string {
		return (ctx.params.ver ?? `v${DEFAULT_VERSION}`).replace(/^v/, '');
	}

	/** changeOrigin as CDC reports it: com/salesforce/api/rest/62.0[;client=x] from Sforce-Call-Options. */
	private origin(ctx: RequestContext, api: 'rest' | 'soap', clientFromSoap?: string): { origin: string; user: string } {
		const client = clientFromSoap ?? /(?:^|[,;\s])client=([^,;\s]+)/.exec(header(ctx, 'sforce-call-options') ?? '')?.[1];
		const ver = ctx.params.ver ? this.apiVersion(ctx) : DEFAULT_VERSION;
		return { origin: `com/salesforce/api/${api}/${ver}${client ? `;client=${client}` : ''}`, user: this.apiUserId };
	}

	// ---- auth ---------------------------------------------------------------------------------------

	private oauthToken(ctx: RequestContext): Reply {
		const b = { ...Object.fromEntries(ctx.query), ...((typeof ctx.body === 'object' && ctx.body) || {}) } as Record<string, string>;
		const bad = (error: string, description: string) => json(400, { error, error_description: description });
		let token;
		switch (b.grant_type) {
			case 'refresh_token':
				token = this.tokens.refreshAccess(b.refresh_token, b.client_id);
				if (!token) return bad('invalid_grant', 'expired access/refresh token');
				break;
			case 'client_credentials':
				if (!b.client_id || !b.client_secret) return bad('invalid_client', 'invalid client credentials');
				token = this.tokens.issue({ clientId: b.client_id, withRefresh: false });
				break;
			case 'authorization_code':
				if (!b.code) return bad('invalid_grant', 'invalid authorization code');
				token = this.tokens.issue({ clientId: b.client_id });
				break;
			case 'password':
				if (!b.username || !b.password) return bad('invalid_grant', 'authentication failure');
				token = this.tokens.issue({ clientId: b.client_id });
				break;
			default:
				return bad('unsupported_grant_type', 'grant type not supported');
		}
		const issuedAt = String(token.issuedAt);
		const body: Record<string, unknown> = {
			access_token: token.accessToken,
			instance_url: this.url,
			id: `${this.url}/id/${this.orgId}/${this.apiUserId}`,
			token_type: 'Bearer',
			issued_at: issuedAt,
			signature: createHmac('sha256', 'sandbox').update(`${this.url}/id/${this.orgId}/${this.apiUserId}${issuedAt}`).digest('base64'),
			scope: 'api refresh_token',
		};
		// Refresh responses carry no new refresh token.
		if (b.grant_type !== 'refresh_token' && token.refreshToken) body.refresh_token = token.refreshToken;
		return json(200, body);
	}

	/** Identity URL (`id` of the token reply) and /services/oauth2/userinfo; token as Bearer or ?oauth_token=. */
	private identity(ctx: RequestContext): Reply {
		const check = this.tokens.check(bearerToken(ctx.headers.authorization) ?? ctx.query.get('oauth_token') ?? undefined);
		if (!check.ok) return { status: 403, headers: { 'Content-Type': 'text/plain' }, body: 'Bad_OAuth_Token' };
		if (ctx.params.org && (ctx.params.org !== this.orgId || ctx.params.user !== this.apiUserId)) return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'Bad_Id' };
		const id = `${this.url}/id/${this.orgId}/${this.apiUserId}`;
		return json(200, {
			id,
			sub: id,
			user_id: this.apiUserId,
			organization_id: this.orgId,
			username: 'integration@sandbox.example.com',
			nick_name: 'integration',
			display_name: 'Integration User',
			email: 'integration@sandbox.example.com',
			active: true,
			user_type: 'STANDARD',
			urls: { rest: `${this.url}/services/data/v{version}/`, sobjects: `${this.url}/services/data/v{version}/sobjects/`, query: `${this.url}/services/data/v{version}/query/` },
		});
	}

	private oauthRevoke(ctx: RequestContext): Reply {
		const b = { ...Object.fromEntries(ctx.query), ...((typeof ctx.body === 'object' && ctx.body) || {}) } as Record<string, string>;
		if (b.token) this.tokens.revokeRefresh(b.token);
		return { status: 200 };
	}

	// ---- helpers ------------------------------------------------------------------------------------

	private typeParam(ctx: RequestContext): SObjectDef {
		const def = this.typeOf(ctx.params.type);
		if (!def) throw sfError(404, 'NOT_FOUND', `The requested resource does not exist`);
		return def;
	}

	coll(def: SObjectDef): Collection {
		return this.collections.get(def.name)!;
	}

	/** An sObject type as this org knows it: CurrencyType only in a multi-currency org (else INVALID_TYPE / NOT_FOUND). */
	private typeOf(name: string): SObjectDef | undefined {
		const def = sobject(name);
		return def && (!def.multiCurrency || this.currencySetup.multiCurrency) ? def : undefined;
	}

	/** The standard fields of `def` in this org: CurrencyIsoCode only in a multi-currency org. */
	fieldsOf(def: SObjectDef): Record<string, FieldDef> {
		if (this.currencySetup.multiCurrency) return def.fields;
		let fields = this.singleCurrencyFields.get(def.name);
		if (!fields) this.singleCurrencyFields.set(def.name, (fields = Object.fromEntries(Object.entries(def.fields).filter(([, f]) => !f.multiCurrency))));
		return fields;
	}

	/** A field of `def` by name (any case) as this org has it; custom `__c` fields always. */
	private fieldOf(def: SObjectDef, name: string): { name: string; def: FieldDef } | undefined {
		const found = field(def, name);
		return found && (!found.def.multiCurrency || this.currencySetup.multiCurrency) ? found : undefined;
	}

	// ---- currencies ---------------------------------------------------------------------------

	getCurrencySetup(): CurrencySetup & { currencies: Array<{ IsoCode: string; IsActive: boolean; IsCorporate: boolean }> } {
		const currencies = this.currencySetup.multiCurrency ? [...this.coll(SOBJECTS.CurrencyType).values()].map((r) => ({ IsoCode: String(r.fields.IsoCode), IsActive: r.fields.IsActive === true, IsCorporate: r.fields.IsCorporate === true })) : [];
		return { ...this.currencySetup, currencies };
	}

	/**
	 * What an administrator does in Setup > Company Information. `currencyIsoCode`: a
	 * single-currency org's currency, or the corporate currency of a multi-currency one (added as an
	 * active CurrencyType when missing). `multiCurrency: true` enables multiple currencies as
	 * Salesforce does: the org's currency becomes the corporate CurrencyType (rate 1) and every
	 * existing record gets it as CurrencyIsoCode. Salesforce cannot switch back; the sandbox can
	 * (`multiCurrency: false` drops CurrencyType and every CurrencyIsoCode) so tests may use both.
	 * More currencies: CurrencyType rows through the API or /__admin/sobjects/CurrencyType
	 * (IsActive false deactivates one).
	 */
	setCurrencySetup(opts: Partial<CurrencySetup>): ReturnType<SalesforceEmulator['getCurrencySetup']> {
		const code = opts.currencyIsoCode === undefined ? this.currencySetup.currencyIsoCode : String(opts.currencyIsoCode).toUpperCase();
		if (!/^[A-Z]{3}$/.test(code)) throw new Error(`currencyIsoCode must be a three-letter ISO 4217 code, not ${JSON.stringify(opts.currencyIsoCode)}`);
		const multi = opts.multiCurrency === undefined ? this.currencySetup.multiCurrency : opts.multiCurrency === true;
		const types = this.coll(SOBJECTS.CurrencyType);
		const currencyObjects = Object.values(SOBJECTS).filter((d) => d.fields.CurrencyIsoCode);
		if (!multi) {
			if (this.currencySetup.multiCurrency) {
				types.clear();
				for (const def of currencyObjects) for (const rec of this.coll(def).values({ includeDeleted: true })) delete rec.fields.CurrencyIsoCode;
			}
			this.currencySetup = { multiCurrency: false, currencyIsoCode: code };
			return this.getCurrencySetup();
		}
		const enabling = !this.currencySetup.multiCurrency;
		this.currencySetup = { multiCurrency: true, currencyIsoCode: code };
		const admin: Who = { origin: '', user: this.uiUserId, admin: true };
		const existing = [...types.values()].find((r) => r.fields.IsoCode === code);
		if (!existing) this.applyCreate(SOBJECTS.CurrencyType, { IsoCode: code, ConversionRate: 1, DecimalPlaces: currencyDigits(code), IsActive: true, IsCorporate: true }, admin);
		else if (existing.fields.IsCorporate !== true || existing.fields.IsActive !== true) this.applyUpdate(SOBJECTS.CurrencyType, existing, { IsActive: true, IsCorporate: true }, admin);
		if (enabling) for (const def of currencyObjects) for (const rec of this.coll(def).values({ includeDeleted: true })) rec.fields.CurrencyIsoCode ??= code;
		return this.getCurrencySetup();
	}

	/** The ISO codes a record's CurrencyIsoCode may take: the active CurrencyType rows. */
	private activeCurrencies(): string[] {
		return [...this.coll(SOBJECTS.CurrencyType).values()].filter((r) => r.fields.IsActive === true).map((r) => String(r.fields.IsoCode));
	}

	/**
	 * CurrencyIsoCode is a restricted picklist of the active currencies: an inactive or unknown code
	 * (or null on update) is refused. Code and message are the sandbox's [U] (the code of the
	 * recorded restricted-picklist failure, error-item-restricted-picklist-recorded.json).
	 */
	private currencyCodeProblem(raw: unknown): ItemError | undefined {
		const code = raw === null || raw === undefined ? '' : String(raw);
		if (this.activeCurrencies().includes(code)) return undefined;
		return { statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: `Currency ISO Code: invalid currency code: ${code}`, fields: ['CurrencyIsoCode'] };
	}

	/** CurrencyType rules: a unique ISO code; the corporate currency stays active and can only move to another currency. */
	private currencyTypeProblems(merged: Record<string, unknown>, existing?: StoredRecord): ItemError[] {
		const problems: ItemError[] = [];
		const code = String(merged.IsoCode ?? '');
		if (merged.IsoCode != null && !/^[A-Z]{3}$/.test(code)) problems.push({ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: `Currency ISO Code: bad value for restricted picklist field: ${code}`, fields: ['IsoCode'] });
		const twin = [...this.coll(SOBJECTS.CurrencyType).values()].find((r) => r.id !== existing?.id && r.fields.IsoCode === code);
		if (twin) problems.push({ statusCode: 'DUPLICATE_VALUE', message: `duplicate value found: IsoCode duplicates value on record with id: ${twin.id}`, fields: ['IsoCode'] });
		if (existing?.fields.IsCorporate === true && merged.IsCorporate !== true) problems.push({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'The corporate currency cannot be unset: make another currency the corporate currency', fields: ['IsCorporate'] });
		if (merged.IsCorporate === true && merged.IsActive !== true) problems.push({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'The corporate currency must be active', fields: ['IsActive'] });
		return problems;
	}

	/** After a CurrencyType write: a new corporate currency takes the flag from the old one. */
	private afterCurrencyTypeWrite(rec: StoredRecord): void {
		if (rec.fields.IsCorporate !== true) return;
		for (const other of this.coll(SOBJECTS.CurrencyType).values()) if (other.id !== rec.id && other.fields.IsCorporate === true) this.coll(SOBJECTS.CurrencyType).update(other.id, { IsCorporate: false });
		this.currencySetup = { ...this.currencySetup, currencyIsoCode: String(rec.fields.IsoCode) };
	}

	/** Full record with system and computed fields, in API field names. */
	view(def: SObjectDef, rec: StoredRecord): Record<string, unknown> {
		const f = rec.fields;
		const out: Record<string, unknown> = {
			Id: rec.id,
			IsDeleted: rec.deletedAt !== undefined,
			...f,
			CreatedDate: sfDateTime(rec.createdAt),
			LastModifiedDate: sfDateTime(rec.updatedAt),
			SystemModstamp: sfDateTime(rec.updatedAt),
		};
		if (def.fields.Name?.readOnly) out.Name = [f.FirstName, f.LastName].filter(Boolean).join(' ');
		return out;
	}

	/**
	 * Value of a field or a one-level relationship path (Account.Name) for filtering and
	 * sorting, read without building the whole record: system datetimes come back as epoch ms.
	 */
	private valueOf(def: SObjectDef, rec: StoredRecord, path: string): unknown {
		const dot = path.indexOf('.');
		if (dot >= 0) {
			const target = this.relationshipTarget(def, rec.fields, path.slice(0, dot));
			return target ? this.valueOf(target.def, target.rec, path.slice(dot + 1)) : null;
		}
		const f = this.fieldOf(def, path);
		if (!f) return null;
		switch (f.name) {
			case 'Id':
				return rec.id;
			case 'IsDeleted':
				return rec.deletedAt !== undefined;
			case 'CreatedDate':
				return rec.createdAt;
			case 'LastModifiedDate':
			case 'SystemModstamp':
				return rec.updatedAt;
			case 'Name':
				if (f.def.readOnly) return [rec.fields.FirstName, rec.fields.LastName].filter(Boolean).join(' ');
		}
		return rec.fields[f.name] ?? null;
	}

	private relationshipTarget(def: SObjectDef, view: Record<string, unknown>, rel: string): { def: SObjectDef; rec: StoredRecord } | undefined {
		// `view` may be the stored fields: reference ids live there.
		const entry = Object.entries(def.fields).find(([, d]) => d.relationship?.toLowerCase() === rel.toLowerCase());
		if (!entry) return undefined;
		const id = view[entry[0]];
		if (typeof id !== 'string') return undefined;
		for (const t of entry[1].refersTo ?? []) {
			const tdef = SOBJECTS[t];
			const rec = tdef && this.coll(tdef).get(id, { includeDeleted: true });
			if (rec) return { def: tdef, rec };
		}
		return undefined;
	}

	private validatePath(def: SObjectDef, path: string): void {
		const [head, ...rest] = path.split('.');
		if (rest.length === 0) {
			if (!this.fieldOf(def, head)) throw new SoqlError('INVALID_FIELD', `No such column '${head}' on entity '${def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
			return;
		}
		const entry = Object.values(def.fields).find((d) => d.relationship?.toLowerCase() === head.toLowerCase());
		if (!entry || rest.length > 1) throw new SoqlError('INVALID_FIELD', `Didn't understand relationship '${head}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`);
		const targets = (entry.refersTo ?? []).map((t) => SOBJECTS[t]).filter(Boolean);
		if (!targets.some((t) => this.fieldOf(t, rest[0]))) throw new SoqlError('INVALID_FIELD', `No such column '${rest[0]}' on entity '${targets[0]?.name ?? head}'.`);
	}

	/** Coerces/validates one written value by field type; throws ItemFailure. */
	private coerce(name: string, def: FieldDef, value: unknown): unknown {
		if (value === null || value === '') return null;
		const bad = (type: string) => itemFail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of ${type} from VALUE_STRING value ${JSON.stringify(value)} or request may be missing a required field`, [name]);
		switch (def.type) {
			case 'boolean':
				if (typeof value === 'boolean') return value;
				if (value === 'true' || value === 'false') return value === 'true';
				return bad('boolean');
			case 'double':
			case 'currency':
			case 'percent':
			case 'int': {
				const n = typeof value === 'number' ? value : Number(value);
				if (Number.isNaN(n) || typeof value === 'boolean') return bad(def.type);
				return def.type === 'int' ? Math.trunc(n) : n;
			}
			case 'date': {
				const s = String(value);
				if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(s))) return bad('date');
				return s;
			}
			case 'datetime': {
				const ms = parseDateTime(String(value));
				if (Number.isNaN(ms)) return bad('datetime');
				return sfDateTime(ms);
			}
			case 'email': {
				const s = String(value).trim();
				if (!EMAIL_RE.test(s)) itemFail(400, 'INVALID_EMAIL_ADDRESS', `${name}: invalid email address: ${s}`, [name]);
				return s;
			}
			case 'reference': {
				const id = normaliseId(String(value));
				if (!id) itemFail(400, 'MALFORMED_ID', `${name}: id value of incorrect type: ${String(value)}`, [name]);
				if (def.refersTo?.[0] === 'User') return id;
				const target = (def.refersTo ?? []).map((t) => SOBJECTS[t] && this.coll(SOBJECTS[t]).get(id!)).find(Boolean);
				if (!target) itemFail(400, 'INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [name]);
				// A converted lead is read-only and cannot be pointed at (a Task's WhoId, say).
				if (target.fields.IsConverted === true && id!.startsWith(SOBJECTS.Lead.keyPrefix)) itemFail(400, 'CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead');
				return id;
			}
			default:
				return typeof value === 'object' ? JSON.stringify(value) : String(value);
		}
	}

	/**
	 * Validates a write body (no side effects). `existing` set = update. Returns the values to
	 * store (API field names), or throws ItemFailure with every problem found.
	 */
	private prepare(def: SObjectDef, body: Record<string, unknown>, existing?: StoredRecord): Record<string, unknown> {
		// A converted lead is read-only for every API write (REST, collections, upsert, merge); the
		// "View and Edit Converted Leads" permission that lifts this is not emulated.
		// Recorded answer: 400 [{"message":"cannot reference converted lead","errorCode":"CANNOT_UPDATE_CONVERTED_LEAD","fields":[]}].
		if (existing && def.name === 'Lead' && existing.fields.IsConverted === true) itemFail(400, 'CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead');
		const values: Record<string, unknown> = {};
		const errors: ItemError[] = [];
		for (const [rawName, raw] of Object.entries(body)) {
			if (rawName === 'attributes') continue;
			const f = this.fieldOf(def, rawName);
			if (!f) {
				errors.push({ statusCode: 'INVALID_FIELD', message: `No such column '${rawName}' on sobject of type ${def.name}`, fields: [rawName] });
				continue;
			}
			if (f.name === 'Id' && existing) continue;
			if (f.def.readOnly) {
				errors.push({ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', message: `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, fields: [f.name] });
				continue;
			}
			if (f.name === 'CurrencyIsoCode') {
				// Missing on create: the user's currency (below). Otherwise one of the active currencies.
				if (!existing && (raw === null || raw === '')) continue;
				const problem = this.currencyCodeProblem(raw);
				if (problem) errors.push(problem);
				else values[f.name] = String(raw);
				continue;
			}
			try {
				values[f.name] = this.coerce(f.name, f.def, raw);
			} catch (err) {
				if (!(err instanceof ItemFailure)) throw err;
				errors.push(...err.errors);
			}
		}
		// Type errors come from deserialising the body, before any validation.
		const parseErrors = errors.filter((e) => e.statusCode === 'JSON_PARSER_ERROR');
		if (parseErrors.length) throw new ItemFailure(400, parseErrors.slice(0, 1));
		const merged = { ...(existing?.fields ?? {}), ...values };
		if (!existing) {
			if (def.name === 'Lead' && merged.Status == null) values.Status = merged.Status = 'Open - Not Contacted';
			if (def.name === 'User') {
				if (merged.IsActive == null) values.IsActive = merged.IsActive = true;
				if (merged.UserType == null) values.UserType = merged.UserType = 'Standard';
				const username = String(merged.Username ?? '').toLowerCase();
				if ([...this.coll(def).values()].some((u) => String(u.fields.Username).toLowerCase() === username)) {
					errors.push({ statusCode: 'DUPLICATE_USERNAME', message: `Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.`, fields: ['Username'] });
				}
				if (merged.Alias == null) values.Alias = merged.Alias = String(merged.LastName ?? 'user').slice(0, 8).toLowerCase();
			}
			if (def.name === 'OpportunityStage') {
				if (merged.IsActive == null) values.IsActive = merged.IsActive = true;
				for (const flag of ['IsClosed', 'IsWon']) if (merged[flag] == null) values[flag] = merged[flag] = false;
			}
			if (def.name === 'LeadStatus') for (const flag of ['IsConverted', 'IsDefault']) if (merged[flag] == null) values[flag] = merged[flag] = false;
			// CurrencyType.IsActive "defaults to false if no value is provided" (object reference).
			if (def.name === 'CurrencyType') for (const flag of ['IsActive', 'IsCorporate']) if (merged[flag] == null) values[flag] = merged[flag] = false;
			// The creating user's currency; every user's currency is the corporate one in the sandbox.
			if (this.fieldsOf(def).CurrencyIsoCode && merged.CurrencyIsoCode == null) values.CurrencyIsoCode = merged.CurrencyIsoCode = this.currencySetup.currencyIsoCode;
			if (def.name === 'Task') {
				if (merged.Status == null) values.Status = merged.Status = 'Not Started';
				if (merged.Priority == null) values.Priority = merged.Priority = 'Normal';
			}
		}
		const missing = Object.entries(def.fields)
			.filter(([n, d]) => d.required && (merged[n] === undefined || merged[n] === null))
			.map(([n]) => n);
		if (def.name === 'Event' && !existing) {
			if (merged.StartDateTime == null && merged.ActivityDateTime == null) missing.push('StartDateTime');
			if (merged.EndDateTime == null && merged.DurationInMinutes == null) missing.push('DurationInMinutes');
		}
		if (missing.length) errors.push({ statusCode: 'REQUIRED_FIELD_MISSING', message: `Required fields are missing: [${missing.join(', ')}]`, fields: missing });
		if (def.name === 'CurrencyType') errors.push(...this.currencyTypeProblems(merged, existing));
		if (errors.length) throw new ItemFailure(400, errors);
		return values;
	}

	/** Derived fields (IsClosed/IsWon from StageName, Event end time, Task IsClosed). */
	private derive(def: SObjectDef, f: Record<string, unknown>): void {
		if (def.name === 'Opportunity' && typeof f.StageName === 'string') {
			// The stage's own flags (OpportunityStage IsClosed/IsWon); a value no stage has keeps the old reading.
			const stage = this.stageNamed(f.StageName);
			f.IsWon = stage ? stage.fields.IsWon === true : f.StageName === 'Closed Won';
			f.IsClosed = stage ? stage.fields.IsClosed === true : f.StageName.startsWith('Closed');
		}
		if (def.name === 'OpportunityStage' || def.name === 'LeadStatus') {
			if (f.ApiName == null && typeof f.MasterLabel === 'string') f.ApiName = f.MasterLabel;
			if (f.IsWon === true) f.IsClosed = true;
		}
		if (def.name === 'Task') f.IsClosed = f.Status === 'Completed';
		if (def.name === 'Event') {
			const start = parseDateTime(String(f.StartDateTime ?? f.ActivityDateTime ?? ''));
			if (!Number.isNaN(start)) {
				f.StartDateTime = f.ActivityDateTime = sfDateTime(start);
				if (f.EndDateTime == null && typeof f.DurationInMinutes === 'number') f.EndDateTime = sfDateTime(start + f.DurationInMinutes * 60_000);
				const end = parseDateTime(String(f.EndDateTime ?? ''));
				if (!Number.isNaN(end)) f.DurationInMinutes = Math.round((end - start) / 60_000);
				f.ActivityDate = sfDateTime(start).slice(0, 10);
			}
		}
	}

	/** The OpportunityStage whose ApiName (what StageName holds) is `name`. */
	private stageNamed(name: string): StoredRecord | undefined {
		for (const rec of this.coll(SOBJECTS.OpportunityStage).values()) if (rec.fields.ApiName === name) return rec;
		return undefined;
	}

	private findById(def: SObjectDef, rawId: string, includeDeleted = false): StoredRecord | undefined {
		const id = normaliseId(rawId);
		return id ? this.coll(def).get(id, { includeDeleted }) : undefined;
	}

	doCreate(def: SObjectDef, body: Record<string, unknown>, who: Who): string {
		this.assertWritable(def, who, 'inserted');
		const values = this.prepare(def, body);
		return this.applyCreate(def, values, who);
	}

	private applyCreate(def: SObjectDef, values: Record<string, unknown>, who: { origin: string; user: string }): string {
		const f: Record<string, unknown> = { ...(def.fields.OwnerId ? { OwnerId: who.user } : {}), ...values, CreatedById: who.user, LastModifiedById: who.user };
		for (const k of Object.keys(f)) if (f[k] === null) delete f[k];
		this.derive(def, f);
		const rec = this.coll(def).insert(f);
		if (def.name === 'CurrencyType') this.afterCurrencyTypeWrite(rec);
		this.emitChange(def, rec, 'CREATE', [], who);
		return rec.id;
	}

	doUpdate(def: SObjectDef, rawId: string, body: Record<string, unknown>, who: Who): void {
		this.assertWritable(def, who, 'updated');
		const rec = this.findById(def, rawId, true);
		if (!rec) itemFail(404, 'NOT_FOUND', 'The requested resource does not exist');
		if (rec.deletedAt !== undefined) itemFail(404, 'ENTITY_IS_DELETED', 'entity is deleted');
		const values = this.prepare(def, body, rec);
		this.applyUpdate(def, rec, values, who);
	}

	private applyUpdate(def: SObjectDef, rec: StoredRecord, values: Record<string, unknown>, who: { origin: string; user: string }): void {
		const before = this.view(def, rec);
		const patch: Record<string, unknown> = { ...values, LastModifiedById: who.user };
		for (const k of Object.keys(patch)) if (patch[k] === null) patch[k] = undefined;
		const next = { ...rec.fields, ...patch };
		this.derive(def, next);
		for (const k of ['IsWon', 'IsClosed', 'StartDateTime', 'ActivityDateTime', 'EndDateTime', 'DurationInMinutes', 'ActivityDate']) if (k in next && next[k] !== rec.fields[k]) patch[k] = next[k];
		this.coll(def).update(rec.id, patch);
		if (def.name === 'CurrencyType') this.afterCurrencyTypeWrite(rec);
		const after = this.view(def, rec);
		const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
		const changed = [...keys].filter((k) => k !== 'SystemModstamp' && JSON.stringify(after[k] ?? null) !== JSON.stringify(before[k] ?? null));
		this.emitChange(def, rec, 'UPDATE', changed, who);
	}

	doDelete(def: SObjectDef, rawId: string, who: Who): void {
		this.assertWritable(def, who, 'deleted');
		const rec = this.findById(def, rawId, true);
		if (!rec) itemFail(404, 'NOT_FOUND', 'The requested resource does not exist');
		if (rec.deletedAt !== undefined) itemFail(404, 'ENTITY_IS_DELETED', 'entity is deleted');
		rec.fields.LastModifiedById = who.user;
		this.coll(def).softDelete(rec.id);
		this.emitChange(def, rec, 'DELETE', [], who);
	}

	/**
	 * Setup objects are written by admins only in the sandbox. The real API answers this for
	 * OpportunityStage (no create/update/delete call); User it would insert and update given its
	 * required setup fields (ProfileId, TimeZoneSidKey...), which the sandbox does not emulate.
	 */
	private assertWritable(def: SObjectDef, who: Who, verb: string): void {
		// CurrencyType: create() and update() through the API too, delete() by nobody (object reference).
		if (def.apiWritable ? verb === 'deleted' : def.setup && !who.admin) itemFail(400, 'INVALID_TYPE_FOR_OPERATION', `entity type cannot be ${verb}: ${def.name}`);
	}

	private emitChange(def: SObjectDef, rec: StoredRecord, changeType: ChangeType, changed: string[], who: { origin: string; user: string }): void {
		if (this.subscriptions.size === 0 || def.setup) return;
		const info: ChangeInfo = { def, id: rec.id, changeType, record: this.view(def, rec), changed, changeOrigin: who.origin, commitUser: who.user, commitTimestamp: rec.updatedAt };
		this.events.emit(info);
	}

	/** Runs an item operation, turning ItemFailure into a REST error reply (errorCode form). */
	private itemOrReply<T>(fn: () => T): T {
		try {
			return fn();
		} catch (err) {
			if (err instanceof ItemFailure) {
				throw new ReplyError(json(err.status, err.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields }))));
			}
			throw err;
		}
	}

	private sobjectUrl(ver: string, def: SObjectDef, id: string): string {
		return `/services/data/v${ver}/sobjects/${def.name}/${id}`;
	}

	// ---- single-record endpoints ----------------------------------------------------------------

	private limits(): Reply {
		const used = this.usage.used({ name: 'DailyApiRequests', limit: Number.MAX_SAFE_INTEGER, windowMs: 86_400_000 });
		return json(200, { DailyApiRequests: { Max: this.dailyApiLimit, Remaining: Math.max(0, this.dailyApiLimit - used) } });
	}

	/** Custom (`__c`) fields written so far, per object: describe lists them as external ids. */
	private customFields(def: SObjectDef): string[] {
		const names = new Set<string>();
		for (const rec of this.coll(def).values({ includeDeleted: true })) for (const k of Object.keys(rec.fields)) if (k.endsWith('__c')) names.add(k);
		return [...names].sort();
	}

	private describe(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const label = (name: string) => name.replace(/__c$/, '').replace(/Id$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ');
		const standard = Object.entries(this.fieldsOf(def)).map(([name, f]) => ({
			name,
			label: label(name),
			type: f.type,
			custom: false,
			nillable: !f.required && f.type !== 'boolean',
			createable: !f.readOnly,
			updateable: !f.readOnly,
			defaultedOnCreate: Boolean(f.defaulted || f.type === 'boolean' || f.readOnly),
			externalId: false,
			idLookup: name === 'Id' || name === 'Email' || name === 'Name',
			unique: name === 'Id',
			picklistValues: (name === 'CurrencyIsoCode' && def.name !== 'CurrencyType' ? this.activeCurrencies() : (f.picklist ?? [])).map((v, i) => ({ value: v, label: v, active: true, defaultValue: name === 'CurrencyIsoCode' ? v === this.currencySetup.currencyIsoCode : Boolean(f.defaulted && i === 0) })),
			referenceTo: f.refersTo ?? [],
			relationshipName: f.relationship ?? null,
		}));
		const custom = this.customFields(def).map((name) => ({ name, label: label(name), type: 'string', custom: true, nillable: true, createable: true, updateable: true, defaultedOnCreate: false, externalId: true, idLookup: true, unique: false, picklistValues: [], referenceTo: [], relationshipName: null }));
		return json(200, {
			name: def.name,
			label: def.name,
			keyPrefix: def.keyPrefix,
			custom: false,
			createable: true,
			updateable: true,
			deletable: true,
			queryable: true,
			searchable: true,
			mergeable: def.mergeable,
			fields: [...standard, ...custom],
		});
	}

	private retrieve(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const rec = this.findById(def, ctx.params.id);
		if (!rec) {
			const deleted = this.findById(def, ctx.params.id, true);
			if (deleted) throw sfError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
			throw sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
		}
		return json(200, this.project(def, rec, ctx.query.get('fields'), this.apiVersion(ctx)));
	}

	private retrieveByExternalId(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const matches = this.byExternalId(def, ctx.params.field, ctx.params.value);
		if (matches.length === 0) throw sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
		if (matches.length > 1) return json(300, matches.map((r) => this.sobjectUrl(this.apiVersion(ctx), def, r.id)));
		return json(200, this.project(def, matches[0], ctx.query.get('fields'), this.apiVersion(ctx)));
	}

	/** Record in REST shape; `fields` = comma list (default all). */
	private project(def: SObjectDef, rec: StoredRecord, fieldsParam: string | null, ver: string): Record<string, unknown> {
		const view = this.view(def, rec);
		const out: Record<string, unknown> = { attributes: { type: def.name, url: this.sobjectUrl(ver, def, rec.id) } };
		const names = fieldsParam
			? fieldsParam
					.split(',')
					.map((s) => s.trim())
					.filter(Boolean)
			: Object.keys(this.fieldsOf(def));
		for (const n of names) {
			const f = this.fieldOf(def, n);
			if (!f) throw sfError(400, 'INVALID_FIELD', `No such column '${n}' on sobject of type ${def.name}`);
			out[f.name] = view[f.name] ?? null;
		}
		if (!fieldsParam) {
			for (const [k, v] of Object.entries(view)) if (!(k in out)) out[k] = v;
			Object.assign(out, compoundAddresses(def, view));
		}
		return out;
	}

	private create(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const body = this.objectBody(ctx);
		const id = this.itemOrReply(() => this.doCreate(def, body, this.origin(ctx, 'rest')));
		return json(201, { id, success: true, errors: [] });
	}

	private update(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const body = this.objectBody(ctx);
		if (!normaliseId(ctx.params.id)) throw sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
		this.itemOrReply(() => this.doUpdate(def, ctx.params.id, body, this.origin(ctx, 'rest')));
		return { status: 204 };
	}

	private destroy(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		this.itemOrReply(() => this.doDelete(def, ctx.params.id, this.origin(ctx, 'rest')));
		return { status: 204 };
	}

	private objectBody(ctx: RequestContext): Record<string, unknown> {
		if (!ctx.body || typeof ctx.body !== 'object' || Array.isArray(ctx.body)) throw sfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
		return ctx.body as Record<string, unknown>;
	}

	/** Records whose external-id field equals value (custom __c fields, or Id). */
	private byExternalId(def: SObjectDef, fieldName: string, value: string): StoredRecord[] {
		if (fieldName.toLowerCase() === 'id') {
			const rec = this.findById(def, value);
			return rec ? [rec] : [];
		}
		const f = this.fieldOf(def, fieldName);
		// Email is an idLookup field: upsert by it works (rest-upsert-by-external-id-201-created-recorded.json).
		if (f && isIdLookup(def, f.name)) return this.coll(def).findBy('email', value);
		if (!f || !f.name.endsWith('__c')) {
			throw sfError(400, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${fieldName}`);
		}
		return this.coll(def).findBy('ext', `${f.name.toLowerCase()}=${value}`);
	}

	private upsert(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const body = this.objectBody(ctx);
		const matches = this.byExternalId(def, ctx.params.field, ctx.params.value);
		const ver = this.apiVersion(ctx);
		if (matches.length > 1) return json(300, matches.map((r) => this.sobjectUrl(ver, def, r.id)));
		const extName = this.fieldOf(def, ctx.params.field)!.name;
		if (extName in body && String(body[extName]) !== ctx.params.value) {
			throw sfError(400, 'INVALID_FIELD', `Field ${extName} is specified in both the URL and the body with different values`);
		}
		const who = this.origin(ctx, 'rest');
		if (matches.length === 1) {
			this.itemOrReply(() => this.doUpdate(def, matches[0].id, body, who));
			return json(200, { id: matches[0].id, success: true, errors: [], created: false });
		}
		if (ctx.query.get('updateOnly') === 'true') throw sfError(404, 'NOT_FOUND', 'Provided external ID field does not exist or is not accessible');
		const values = extName === 'Id' ? body : { ...body, [extName]: ctx.params.value };
		const id = this.itemOrReply(() => this.doCreate(def, values, who));
		return json(201, { id, success: true, errors: [], created: true });
	}

	// ---- collections ------------------------------------------------------------------------------

	private collectionBody(ctx: RequestContext): { allOrNone: boolean; records: Record<string, unknown>[] } {
		const b = this.objectBody(ctx) as { allOrNone?: boolean; records?: unknown };
		if (!Array.isArray(b.records)) throw sfError(400, 'JSON_PARSER_ERROR', 'records must be an array');
		// Recorded (amp-labs err-bad-request.json): an empty collection is a 400 without `fields`.
		if (b.records.length === 0) throw sfError(400, 'REQUIRED_FIELD_MISSING', 'At least 1 record is required');
		if (b.records.length > COLLECTION_LIMIT) throw sfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`);
		return { allOrNone: b.allOrNone === true, records: b.records as Record<string, unknown>[] };
	}

	/**
	 * Runs a collection: validate every item first (no side effects), then apply. With allOrNone
	 * any failure rolls everything back: failed items keep their errors, the rest report
	 * ALL_OR_NONE_OPERATION_ROLLED_BACK.
	 */
	private runCollection<P>(
		items: unknown[],
		allOrNone: boolean,
		prepare: (item: unknown, index: number) => P,
		apply: (prepared: P, index: number) => Record<string, unknown>,
		/** Keys a failed item carries besides success and errors (upsert: created false). */
		failed: Record<string, unknown> = {},
	): Reply {
		const prepared: ({ ok: true; p: P } | { ok: false; errors: ItemError[]; id?: string })[] = items.map((item, i) => {
			try {
				return { ok: true, p: prepare(item, i) };
			} catch (err) {
				if (!(err instanceof ItemFailure)) throw err;
				return { ok: false, errors: err.errors };
			}
		});
		const anyFailed = prepared.some((p) => !p.ok);
		if (allOrNone && anyFailed) {
			return json(
				200,
				prepared.map((p) =>
					p.ok
						? { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }], ...failed }
						: { success: false, errors: p.errors, ...failed },
				),
			);
		}
		return json(
			200,
			prepared.map((p, i) => {
				if (!p.ok) return { success: false, errors: p.errors, ...failed };
				try {
					return apply(p.p, i);
				} catch (err) {
					if (!(err instanceof ItemFailure)) throw err;
					return { success: false, errors: err.errors, ...failed };
				}
			}),
		);
	}

	private recordType(item: Record<string, unknown>, fixed?: SObjectDef): SObjectDef {
		if (fixed) return fixed;
		const type = (item.attributes as { type?: string } | undefined)?.type;
		const def = type ? this.typeOf(type) : undefined;
		if (!def) itemFail(400, 'INVALID_TYPE', type ? `sObject type '${type}' is not supported.` : 'Each record needs attributes.type');
		return def;
	}

	private collectionCreate(ctx: RequestContext): Reply {
		const { allOrNone, records } = this.collectionBody(ctx);
		const who = this.origin(ctx, 'rest');
		return this.runCollection(
			records,
			allOrNone,
			(item) => {
				const r = item as Record<string, unknown>;
				const def = this.recordType(r);
				this.assertWritable(def, who, 'inserted');
				if (r.id || r.Id) itemFail(400, 'INVALID_FIELD', 'cannot specify Id in an insert call', ['Id']);
				return { def, values: this.prepare(def, r) };
			},
			({ def, values }) => ({ id: this.applyCreate(def, values, who), success: true, errors: [] }),
		);
	}

	private collectionUpdate(ctx: RequestContext): Reply {
		const { allOrNone, records } = this.collectionBody(ctx);
		const who = this.origin(ctx, 'rest');
		return this.runCollection(
			records,
			allOrNone,
			(item) => {
				const r = item as Record<string, unknown>;
				const def = this.recordType(r);
				this.assertWritable(def, who, 'updated');
				const rawId = String(r.id ?? r.Id ?? '');
				const rec = this.findById(def, rawId, true);
				if (!rec) itemFail(404, rawId ? 'INVALID_CROSS_REFERENCE_KEY' : 'MISSING_ARGUMENT', rawId ? 'invalid cross reference id' : 'Id not specified in an update call', []);
				if (rec.deletedAt !== undefined) itemFail(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
				const body = { ...r };
				delete body.id;
				return { def, rec, values: this.prepare(def, body, rec) };
			},
			({ def, rec, values }) => {
				this.applyUpdate(def, rec, values, who);
				return { id: rec.id, success: true, errors: [] };
			},
		);
	}

	private collectionUpsert(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const { allOrNone, records } = this.collectionBody(ctx);
		const ext = this.fieldOf(def, ctx.params.field);
		if (!ext || (!ext.name.endsWith('__c') && ext.name !== 'Id' && !isIdLookup(def, ext.name))) throw sfError(400, 'INVALID_FIELD', `Provided external ID field does not exist or is not accessible: ${ctx.params.field}`);
		const who = this.origin(ctx, 'rest');
		return this.runCollection(
			records,
			allOrNone,
			(item) => {
				const r = item as Record<string, unknown>;
				// Recorded (collections-upsert-json-parser-error-recorded.json): records need attributes.
				if (!r.attributes) itemFail(400, 'JSON_PARSER_ERROR', 'Nested object for polymorphic foreign key must have an attributes field before any other fields.');
				this.recordType(r, def);
				this.assertWritable(def, who, 'upserted');
				const key = r[ext.name];
				if (key === undefined || key === null || key === '') itemFail(400, 'MISSING_ARGUMENT', `${ext.name} not specified`, [ext.name]);
				const matches = this.byExternalId(def, ext.name, String(key));
				if (matches.length > 1) itemFail(300, 'DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${String(key)}`, [ext.name]);
				const body = { ...r };
				if (ext.name === 'Id') delete body.Id;
				return matches.length ? { rec: matches[0], values: this.prepare(def, body, matches[0]) } : { rec: undefined, values: this.prepare(def, body) };
			},
			({ rec, values }) => {
				if (rec) {
					this.applyUpdate(def, rec, values, who);
					return { id: rec.id, success: true, errors: [], created: false };
				}
				return { id: this.applyCreate(def, values, who), success: true, errors: [], created: true };
			},
			{ created: false },
		);
	}

	/** POST /composite/sobjects/{type} {ids, fields}: records in id order, null where not found. */
	private collectionRetrieve(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const b = this.objectBody(ctx) as { ids?: unknown; fields?: unknown };
		if (!Array.isArray(b.ids) || !Array.isArray(b.fields)) throw sfError(400, 'JSON_PARSER_ERROR', 'ids and fields must be arrays');
		if (b.ids.length > 2000) throw sfError(400, 'EXCEEDED_ID_LIMIT', 'cannot retrieve more than 2000 records in one call');
		const fields = (b.fields as string[]).join(',');
		return json(
			200,
			(b.ids as string[]).map((id) => {
				const rec = this.findById(def, String(id));
				return rec ? this.project(def, rec, fields, this.apiVersion(ctx)) : null;
			}),
		);
	}

	private collectionDelete(ctx: RequestContext): Reply {
		const ids = (ctx.query.get('ids') ?? '').split(',').filter(Boolean);
		if (ids.length > COLLECTION_LIMIT) throw sfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`);
		const allOrNone = ctx.query.get('allOrNone') === 'true';
		const who = this.origin(ctx, 'rest');
		return this.runCollection(
			ids,
			allOrNone,
			(rawId) => {
				const id = normaliseId(String(rawId));
				const def = id ? Object.values(SOBJECTS).find((d) => id.startsWith(d.keyPrefix)) : undefined;
				const rec = def && id ? this.coll(def).get(id, { includeDeleted: true }) : undefined;
				if (!def || !rec) itemFail(404, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
				if (rec.deletedAt !== undefined) itemFail(404, 'ENTITY_IS_DELETED', 'entity is deleted');
				return { def, rec };
			},
			({ def, rec }) => {
				this.doDelete(def, rec.id, who);
				return { id: rec.id, success: true, errors: [] };
			},
		);
	}

	// ---- query ---------------------------------------------------------------------------------------

	private query(ctx: RequestContext, all: boolean): Reply {
		const q = ctx.query.get('q');
		if (!q) throw sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
		let parsed: SoqlQuery;
		let def: SObjectDef;
		let records: StoredRecord[];
		try {
			parsed = parseSoql(q);
			const found = this.typeOf(parsed.from);
			if (!found) throw new SoqlError('INVALID_TYPE', `sObject type '${parsed.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`);
			def = found;
			for (const f of parsed.fields) this.validatePath(def, f);
			for (const o of parsed.orderBy) this.validatePath(def, o.field);
			if (parsed.where) this.validateCondition(def, parsed.where);
			records = this.runQuery(def, parsed, all);
		} catch (err) {
			if (err instanceof SoqlError) throw sfError(400, err.errorCode, err.message);
			throw err;
		}
		if (parsed.count) return json(200, { totalSize: records.length, done: true, records: [] });
		const batchHeader = /batchSize=(\d+)/.exec(header(ctx, 'sforce-query-options') ?? '')?.[1];
		const batch = batchHeader ? Math.min(Math.max(Number(batchHeader), 200), DEFAULT_BATCH) : DEFAULT_BATCH;
		const cursor: QueryCursor = { query: parsed, def, records, offset: 0, batch, all, version: this.apiVersion(ctx), lastUsed: Date.now() };
		return json(200, this.page(cursor));
	}

	private queryMore(ctx: RequestContext): Reply {
		const m = /^(01g[A-Za-z0-9]+)-(\d+)$/.exec(ctx.params.locator);
		const cursor = m ? this.cursors.get(m[1]) : undefined;
		if (!m || !cursor || Number(m[2]) !== cursor.offset) throw sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
		cursor.lastUsed = Date.now();
		return json(200, this.page(cursor, m[1]));
	}

	private page(cursor: QueryCursor, locator?: string): Record<string, unknown> {
		const slice = cursor.records.slice(cursor.offset, cursor.offset + cursor.batch);
		cursor.offset += slice.length;
		const done = cursor.offset >= cursor.records.length;
		const body: Record<string, unknown> = { totalSize: cursor.records.length, done };
		if (!done) {
			const id = locator ?? this.newLocator(cursor);
			body.nextRecordsUrl = `/services/data/v${cursor.version}/${cursor.all ? 'queryAll' : 'query'}/${id}-${cursor.offset}`;
		} else if (locator) this.cursors.delete(locator);
		body.records = slice.map((r) => this.projectQuery(cursor.def, r, cursor.query.fields, cursor.version));
		return body;
	}

	private newLocator(cursor: QueryCursor): string {
		// Keep at most 50 open cursors, dropping the least recently used (Salesforce limits open cursors too).
		if (this.cursors.size >= 50) {
			const oldest = [...this.cursors.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
			this.cursors.delete(oldest[0]);
		}
		const id = '01g' + randomBytes(9).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 12);
		this.cursors.set(id, cursor);
		return id;
	}

	private projectQuery(def: SObjectDef, rec: StoredRecord, fields: string[], ver: string): Record<string, unknown> {
		const view = this.view(def, rec);
		const out: Record<string, unknown> = { attributes: { type: def.name, url: this.sobjectUrl(ver, def, rec.id) } };
		for (const path of fields) {
			const dot = path.indexOf('.');
			if (dot < 0) {
				const f = this.fieldOf(def, path)!;
				out[f.name] = view[f.name] ?? null;
				continue;
			}
			const relName = path.slice(0, dot);
			const target = this.relationshipTarget(def, view, relName);
			const entry = Object.values(def.fields).find((d) => d.relationship?.toLowerCase() === relName.toLowerCase())!;
			const key = entry.relationship!;
			if (!target) {
				out[key] = null;
				continue;
			}
			const nested = (out[key] as Record<string, unknown> | undefined) ?? { attributes: { type: target.def.name, url: this.sobjectUrl(ver, target.def, target.rec.id) } };
			const f = this.fieldOf(target.def, path.slice(dot + 1));
			nested[f?.name ?? path.slice(dot + 1)] = f ? (this.view(target.def, target.rec)[f.name] ?? null) : null;
			out[key] = nested;
		}
		return out;
	}

	private validateCondition(def: SObjectDef, c: Condition): void {
		if (c.kind === 'not') return this.validateCondition(def, c.item);
		if (!('field' in c)) return c.items.forEach((i) => this.validateCondition(def, i));
		this.validatePath(def, c.field);
		const f = c.field.includes('.') ? undefined : this.fieldOf(def, c.field);
		if (!f) return;
		const values = c.kind === 'in' ? c.values : c.kind === 'cmp' ? [c.value] : [];
		for (const v of values) {
			if ((f.def.type === 'datetime' || f.def.type === 'date') && v.kind === 'string') {
				const type = f.def.type === 'datetime' ? 'dateTime' : 'date';
				throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `value of filter criterion for field '${f.name}' must be of type ${type} and should not be enclosed in quotes`);
			}
			if (f.def.type === 'datetime' && v.kind === 'date') throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `value of filter criterion for field '${f.name}' must be of type dateTime`);
			if (f.def.type === 'boolean' && v.kind !== 'boolean' && v.kind !== 'null') throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `value of filter criterion for field '${f.name}' must be of type boolean and should not be enclosed in quotes`);
		}
	}

	private runQuery(def: SObjectDef, q: SoqlQuery, all: boolean): StoredRecord[] {
		const c = this.coll(def);
		let candidates: Iterable<StoredRecord> = c.values({ includeDeleted: all });
		let presorted = false;
		// Indexed fast paths on top-level AND conditions: Email = 'x', Email IN (...), SystemModstamp/LastModifiedDate > t.
		const conjuncts = !q.where ? [] : q.where.kind === 'and' ? q.where.items : [q.where];
		const emailEq = conjuncts.find((x): x is Extract<Condition, { kind: 'cmp' }> => x.kind === 'cmp' && x.op === '=' && x.field.toLowerCase() === 'email' && x.value.kind === 'string');
		const emailIn = conjuncts.find((x): x is Extract<Condition, { kind: 'in' }> => x.kind === 'in' && !x.negate && x.field.toLowerCase() === 'email' && x.values.every((v) => v.kind === 'string'));
		const since = conjuncts.find((x): x is Extract<Condition, { kind: 'cmp' }> => x.kind === 'cmp' && (x.op === '>' || x.op === '>=') && /^(systemmodstamp|lastmodifieddate)$/i.test(x.field) && x.value.kind === 'datetime');
		// Id = 'x' / Id IN (...): look the records up instead of scanning.
		let idValues: Literal[] | undefined;
		for (const x of conjuncts) {
			if (x.kind === 'cmp' && x.op === '=' && x.field.toLowerCase() === 'id') idValues = [x.value];
			else if (x.kind === 'in' && !x.negate && x.field.toLowerCase() === 'id') idValues = x.values;
			if (idValues) break;
		}
		if (idValues) {
			candidates = idValues
				.map((v) => (v.kind === 'string' ? normaliseId(v.value) : undefined))
				.map((id) => (id ? c.get(id, { includeDeleted: all }) : undefined))
				.filter((r): r is StoredRecord => !!r)
				.sort((a, b) => a.seq - b.seq);
		} else if (emailEq && def.fields.Email) {
			candidates = c.findBy('email', (emailEq.value as { value: string }).value, { includeDeleted: all });
		} else if (emailIn && def.fields.Email) {
			const found = new Map<string, StoredRecord>();
			for (const v of emailIn.values) for (const r of c.findBy('email', (v as { value: string }).value, { includeDeleted: all })) found.set(r.id, r);
			candidates = [...found.values()].sort((a, b) => a.seq - b.seq);
		} else if (since) {
			candidates = c.changedSince((since.value as { value: number }).value, { inclusive: since.op === '>=', includeDeleted: all });
			presorted = q.orderBy.length === 1 && /^(systemmodstamp|lastmodifieddate)$/i.test(q.orderBy[0].field) && !q.orderBy[0].desc;
		}
		const out: StoredRecord[] = [];
		const limit = q.limit ?? Infinity;
		const offset = q.offset ?? 0;
		for (const rec of candidates) {
			if (q.where && !this.evaluate(def, rec, q.where)) continue;
			out.push(rec);
			if ((presorted || q.orderBy.length === 0) && out.length >= offset + limit) break;
		}
		if (q.orderBy.length && !presorted) {
			const keys = new Map(out.map((r) => [r, q.orderBy.map((o) => sortKey(this.valueOf(def, r, o.field)))]));
			out.sort((a, b) => {
				const ka = keys.get(a)!;
				const kb = keys.get(b)!;
				for (let i = 0; i < q.orderBy.length; i++) {
					const o = q.orderBy[i];
					const x = ka[i];
					const y = kb[i];
					if (x === y) continue;
					if (x === null) return o.nullsLast ? 1 : -1;
					if (y === null) return o.nullsLast ? -1 : 1;
					return (x < y ? -1 : 1) * (o.desc ? -1 : 1);
				}
				return 0;
			});
		}
		return out.slice(offset, offset + limit);
	}

	private evaluate(def: SObjectDef, rec: StoredRecord, c: Condition): boolean {
		switch (c.kind) {
			case 'and':
				return c.items.every((i) => this.evaluate(def, rec, i));
			case 'or':
				return c.items.some((i) => this.evaluate(def, rec, i));
			case 'not':
				return !this.evaluate(def, rec, c.item);
			case 'like': {
				const v = this.valueOf(def, rec, c.field);
				return v !== null && c.regex.test(String(v));
			}
			case 'in': {
				const v = this.valueOf(def, rec, c.field);
				const hit = c.values.some((lit) => compare(v, '=', lit));
				return c.negate ? !hit : hit;
			}
			case 'cmp':
				return compare(this.valueOf(def, rec, c.field), c.op, c.value);
		}
	}

	// ---- SOSL search ---------------------------------------------------------------------------

	private search(ctx: RequestContext): Reply {
		let sosl;
		try {
			sosl = parseSosl(ctx.query.get('q') ?? '');
		} catch (err) {
			if (err instanceof SoslError) throw sfError(400, 'MALFORMED_SEARCH', err.message);
			throw err;
		}
		const targets = sosl.returning.length ? sosl.returning : Object.values(SOBJECTS).filter((d) => !d.setup).map((d) => ({ object: d.name, fields: [] as string[] }));
		const ver = this.apiVersion(ctx);
		const searchRecords: Record<string, unknown>[] = [];
		for (const target of targets) {
			const def = this.typeOf(target.object);
			if (!def) throw sfError(400, 'INVALID_TYPE', `sObject type '${target.object}' is not supported.`);
			for (const f of target.fields) {
				try {
					this.validatePath(def, f);
				} catch (err) {
					if (err instanceof SoqlError) throw sfError(400, err.errorCode, err.message);
					throw err;
				}
			}
			const searchable = Object.entries(this.fieldsOf(def)).filter(([name, f]) => {
				if (sosl.group === 'EMAIL') return f.type === 'email';
				if (sosl.group === 'PHONE') return f.type === 'phone';
				if (sosl.group === 'NAME') return ['Name', 'FirstName', 'LastName', 'Company', 'Subject'].includes(name);
				return ['string', 'textarea', 'email', 'phone', 'url', 'picklist'].includes(f.type) || name === 'Name';
			});
			const plainEmail = sosl.group === 'EMAIL' && sosl.terms.length === 1 && !/[*?]/.test(sosl.terms[0]) && def.fields.Email;
			const candidates = plainEmail ? this.coll(def).findBy('email', sosl.terms[0]) : this.coll(def).values();
			for (const rec of candidates) {
				if (searchRecords.length >= sosl.limit) break;
				const view = this.view(def, rec);
				const hit = sosl.terms.every((term) => searchable.some(([name, f]) => termMatches(term, view[name], f.type === 'email' ? 'email' : f.type === 'phone' ? 'phone' : 'text')));
				if (hit) searchRecords.push(this.projectQuery(def, rec, target.fields.length ? target.fields : ['Id'], ver));
			}
		}
		return json(200, { searchRecords });
	}

	// ---- delta endpoints -------------------------------------------------------------------------

	private replicationRange(ctx: RequestContext): { start: number; end: number } {
		const start = parseDateTime(ctx.query.get('start') ?? '');
		const end = parseDateTime(ctx.query.get('end') ?? '');
		if (Number.isNaN(start) || Number.isNaN(end)) throw sfError(400, 'MALFORMED_QUERY', 'start and end must be valid dateTime values');
		if (end <= start) throw sfError(400, 'INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate');
		if (end - start > 30 * 86_400_000) throw sfError(400, 'EXCEEDED_MAX_SEMIJOIN_SUBSELECTS', 'the interval between start and end may not exceed 30 days');
		return { start, end };
	}

	private getUpdated(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const { start, end } = this.replicationRange(ctx);
		const ids: string[] = [];
		for (const rec of this.coll(def).changedSince(start, { inclusive: true })) {
			if (rec.updatedAt >= end) break;
			ids.push(rec.id);
		}
		return json(200, { ids, latestDateCovered: sfDateTime(Math.min(end, this.clock.peek())) });
	}

	private getDeleted(ctx: RequestContext): Reply {
		const def = this.typeParam(ctx);
		const { start, end } = this.replicationRange(ctx);
		const deletedRecords: { id: string; deletedDate: string }[] = [];
		for (const rec of this.coll(def).changedSince(start, { inclusive: true, includeDeleted: true })) {
			if (rec.updatedAt >= end) break;
			if (rec.deletedAt !== undefined && rec.deletedAt >= start && rec.deletedAt < end) deletedRecords.push({ id: rec.id, deletedDate: sfDateTime(rec.deletedAt) });
		}
		return json(200, { deletedRecords, earliestDateAvailable: sfDateTime(this.startedAt), latestDateCovered: sfDateTime(Math.min(end, this.clock.peek())) });
	}

	// ---- SOAP (partner API): merge, convertLead ------------------------------------------------

	private soap(ctx: RequestContext): Reply {
		const text = typeof ctx.body === 'string' ? ctx.body : ctx.rawBody.toString('utf8');
		let doc: Record<string, any>;
		try {
			doc = this.xml.parse(text);
		} catch {
			return soapFault('soapenv:Client', 'Unable to parse the SOAP request');
		}
		const env = doc.Envelope;
		if (!env?.Body) return soapFault('soapenv:Client', 'Missing SOAP Envelope/Body');
		const session = env.Header?.SessionHeader?.sessionId;
		const check = this.tokens.check(typeof session === 'string' ? session : undefined);
		if (!check.ok) return soapFault('sf:INVALID_SESSION_ID', 'INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session');
		if (this.limiter.enabled && !this.limiter.hit({ name: 'DailyApiRequests', limit: this.dailyApiLimit, windowMs: 86_400_000 }).ok) {
			return soapFault('sf:REQUEST_LIMIT_EXCEEDED', 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.');
		}
		this.usage.hit({ name: 'DailyApiRequests', limit: Number.MAX_SAFE_INTEGER, windowMs: 86_400_000 });
		const method = Object.keys(env.Body).find((k) => !k.startsWith('@_'));
		if (method !== 'merge' && method !== 'convertLead' && method !== 'getUserInfo') return soapFault('sf:INVALID_OPERATION', `The sandbox implements only the merge, convertLead and getUserInfo SOAP calls, not ${method ?? 'nothing'}`);
		const client = env.Header?.CallOptions?.client;
		const who = this.origin({ ...ctx, params: { ver: `v${ctx.params.ver}` } }, 'soap', typeof client === 'string' ? client : undefined);
		let xmlResults: string;
		if (method === 'getUserInfo') {
			xmlResults = this.userInfoXml(check.ok ? check.token : undefined);
		} else if (method === 'merge') {
			const requests = asArray(env.Body.merge?.mergeRequests);
			if (requests.length === 0) return soapFault('soapenv:Client', 'merge needs mergeRequests');
			xmlResults = requests
				.map((req) => this.mergeOne(req, who))
				.map((r) => `<result>${errorsXml(r.errors)}<id>${r.id ?? ''}</id>${r.mergedRecordIds.map((i) => `<mergedRecordIds>${i}</mergedRecordIds>`).join('')}<success>${r.success}</success>${r.updatedRelatedIds.map((i) => `<updatedRelatedIds>${i}</updatedRelatedIds>`).join('')}</result>`)
				.join('');
		} else {
			const converts = asArray(env.Body.convertLead?.leadConverts);
			if (converts.length === 0) return soapFault('soapenv:Client', 'convertLead needs leadConverts');
			// convertLead takes up to 100 LeadConverts (SOAP API reference); the fault is the sandbox's [U].
			if (converts.length > 100) return soapFault('sf:EXCEEDED_ID_LIMIT', 'EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 100 records into this call');
			// LeadConvertResult in WSDL order; ids that are not there are nil, which jsforce reads as null.
			const id = (name: string, v: string | undefined) => (v ? `<${name}>${v}</${name}>` : `<${name} xsi:nil="true"/>`);
			xmlResults = converts
				.map((req) => this.convertOne(req, who))
				.map((r) => `<result>${id('accountId', r.accountId)}${id('contactId', r.contactId)}${errorsXml(r.errors)}${id('leadId', r.leadId)}${id('opportunityId', r.opportunityId)}<success>${r.success}</success></result>`)
				.join('');
		}
		return {
			status: 200,
			headers: { 'Content-Type': 'text/xml; charset=utf-8' },
			body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header><LimitInfoHeader><limitInfo><current>0</current><limit>${this.dailyApiLimit}</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header><soapenv:Body><${method}Response>${xmlResults}</${method}Response></soapenv:Body></soapenv:Envelope>`,
		};
	}

	/**
	 * SOAP getUserInfo: the integration user every token acts as, GetUserInfoResult in WSDL order.
	 * The currency fields follow the org's setup (API reference): currencySymbol,
	 * orgDefaultCurrencyIsoCode and orgDefaultCurrencyLocale apply only when
	 * organizationMultiCurrency is false, userDefaultCurrencyIsoCode only when it is true; the
	 * others are nil. Every sandbox user's currency is the corporate currency; the currency locale
	 * is en_US whatever the currency [U].
	 */
	private userInfoXml(token: { expiresAt?: number } | undefined): string {
		const user = this.coll(SOBJECTS.User).get(this.apiUserId)!.fields;
		const { multiCurrency, currencyIsoCode } = this.currencySetup;
		const el = (name: string, value: string | number | boolean | undefined) => (value === undefined ? `<${name} xsi:nil="true"/>` : `<${name}>${esc(String(value))}</${name}>`);
		const remaining = token?.expiresAt ? Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000)) : 7200;
		return `<result>${[
			el('accessibilityMode', false),
			el('chatterExternal', false),
			el('currencySymbol', multiCurrency ? undefined : currencySymbol(currencyIsoCode)),
			el('orgAttachmentFileSizeLimit', 5242880),
			el('orgDefaultCurrencyIsoCode', multiCurrency ? undefined : currencyIsoCode),
			el('orgDefaultCurrencyLocale', multiCurrency ? undefined : 'en_US'),
			el('orgDisallowHtmlAttachments', false),
			el('orgHasPersonAccounts', false),
			el('organizationId', this.orgId),
			el('organizationMultiCurrency', multiCurrency),
			el('organizationName', 'Sandbox Org'),
			el('profileId', to18('00eDn00000SysAd')),
			el('roleId', undefined),
			el('sessionSecondsValid', remaining),
			el('userDefaultCurrencyIsoCode', multiCurrency ? currencyIsoCode : undefined),
			el('userEmail', String(user.Email)),
			el('userFullName', [user.FirstName, user.LastName].filter(Boolean).join(' ')),
			el('userId', this.apiUserId),
			el('userLanguage', String(user.LanguageLocaleKey ?? 'en_US')),
			el('userLocale', String(user.LocaleSidKey ?? 'en_US')),
			el('userName', String(user.Username)),
			el('userTimeZone', String(user.TimeZoneSidKey ?? 'America/Los_Angeles')),
			el('userType', String(user.UserType ?? 'Standard')),
			el('userUiSkin', 'Theme3'),
		].join('')}</result>`;
	}

	/** One MergeRequest: master keeps its id; up to two others are deleted with MasterRecordId set. */
	private mergeOne(req: any, who: { origin: string; user: string }): { id?: string; success: boolean; mergedRecordIds: string[]; updatedRelatedIds: string[]; errors: ItemError[] } {
		const fail = (statusCode: string, message: string, id?: string) => ({ id, success: false, mergedRecordIds: [], updatedRelatedIds: [], errors: [{ statusCode, message, fields: [] }] });
		const master = req?.masterRecord ?? {};
		const def = this.typeOf(String(master.type ?? ''));
		if (!def) return fail('INVALID_TYPE', `sObject type '${String(master.type)}' is not supported.`);
		if (!def.mergeable) return fail('INVALID_TYPE', `Merge is not supported for ${def.name}`);
		const masterRec = this.findById(def, String(master.Id ?? ''));
		if (!masterRec) return fail('INVALID_ID_FIELD', 'invalid record id', String(master.Id ?? ''));
		const loserIds = asArray(req.recordToMergeIds).map((x) => normaliseId(String(x)) ?? String(x));
		if (loserIds.length < 1 || loserIds.length > 2) return fail('INVALID_OPERATION', 'A merge request must name one or two records to merge into the master (three records at most)', masterRec.id);
		const losers: StoredRecord[] = [];
		for (const id of loserIds) {
			const rec = this.coll(def).get(id);
			if (!rec) return fail('ENTITY_IS_DELETED', `entity is deleted or does not exist: ${id}`, masterRec.id);
			if (rec.id === masterRec.id) return fail('INVALID_OPERATION', 'cannot merge a record with itself', masterRec.id);
			if (rec.fields.IsConverted === true) return fail('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead', masterRec.id);
			losers.push(rec);
		}
		const updates: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(master)) if (k !== 'type' && k !== 'Id' && !k.startsWith('@_') && k !== 'fieldsToNull') updates[k] = v;
		let values: Record<string, unknown>;
		try {
			values = this.prepare(def, updates, masterRec);
		} catch (err) {
			if (err instanceof ItemFailure) return { id: masterRec.id, success: false, mergedRecordIds: [], updatedRelatedIds: [], errors: err.errors };
			throw err;
		}
		const related = this.reparent(def, losers.map((l) => l.id), masterRec.id, who);
		for (const l of losers) {
			l.fields.MasterRecordId = masterRec.id;
			l.fields.LastModifiedById = who.user;
			this.coll(def).softDelete(l.id);
			this.emitChange(def, l, 'DELETE', [], who);
		}
		this.applyUpdate(def, masterRec, values, who);
		return { id: masterRec.id, success: true, mergedRecordIds: losers.map((l) => l.id), updatedRelatedIds: related, errors: [] };
	}

	/**
	 * One LeadConvert. Validates everything first, then writes: an Account from the lead (unless
	 * accountId), a Contact (unless contactId), an Opportunity (unless doNotCreateOpportunity or
	 * opportunityId), then marks the lead converted and moves its activities to the contact. Existing
	 * records only get their empty fields filled (plus LeadSource with overwriteLeadSource). Every
	 * write goes through applyCreate/applyUpdate, so it sends the same change events as REST writes.
	 */
	private convertOne(req: any, who: Who): { leadId?: string; accountId?: string; contactId?: string; opportunityId?: string; success: boolean; errors: ItemError[] } {
		const arg = (name: string) => soapText(req?.[name]);
		const flag = (name: string) => arg(name) === 'true';
		const leadId = normaliseId(arg('leadId') ?? '');
		const fail = (statusCode: string, message: string, fields: string[] = []) => ({ leadId, success: false, errors: [{ statusCode, message, fields }] });
		// Existing record of a type by a LeadConvert argument; a failure reply when it is not usable.
		const existing = (def: SObjectDef, argName: string): StoredRecord | ReturnType<typeof fail> | undefined => {
			const raw = arg(argName);
			if (raw === undefined) return undefined;
			const id = normaliseId(raw);
			if (!id) return fail('MALFORMED_ID', `${argName}: id value of incorrect type: ${raw}`, [argName]);
			const rec = this.coll(def).get(id, { includeDeleted: true });
			if (!rec) return fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [argName]);
			if (rec.deletedAt !== undefined) return fail('ENTITY_IS_DELETED', 'entity is deleted', [argName]);
			return rec;
		};
		const isFailure = (x: unknown): x is ReturnType<typeof fail> => typeof x === 'object' && x !== null && 'success' in x;

		if (!leadId) return fail('MALFORMED_ID', `leadId: id value of incorrect type: ${arg('leadId') ?? ''}`, ['leadId']);
		const lead = existing(SOBJECTS.Lead, 'leadId');
		if (!lead || isFailure(lead)) return lead ?? fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['leadId']);
		const l = lead.fields;
		// Converting twice: the lead is read-only once converted (errorcodes: CANNOT_UPDATE_CONVERTED_LEAD).
		if (l.IsConverted === true) return fail('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead');
		const status = arg('convertedStatus');
		const statusRec = [...this.coll(SOBJECTS.LeadStatus).values()].find((r) => r.fields.IsConverted === true && (r.fields.ApiName === status || r.fields.MasterLabel === status));
		// Seen live: "INVALID_STATUS, invalid convertedStatus: Converted: [Status]".
		if (!statusRec) return fail('INVALID_STATUS', `invalid convertedStatus: ${status ?? 'null'}`, ['Status']);

		// The rules below are documented (SOAP API convertLead arguments); their status codes are the sandbox's choice [U].
		const account = existing(SOBJECTS.Account, 'accountId');
		if (isFailure(account)) return account;
		const contact = existing(SOBJECTS.Contact, 'contactId');
		if (isFailure(contact)) return contact;
		if (contact && !account) return fail('REQUIRED_FIELD_MISSING', 'Required fields are missing: [accountId]: an accountId must be given with a contactId', ['accountId']);
		if (contact && account && contact.fields.AccountId !== account.id) return fail('FIELD_INTEGRITY_EXCEPTION', 'The contact is not associated with the specified account', ['contactId']);
		const opportunity = existing(SOBJECTS.Opportunity, 'opportunityId');
		if (isFailure(opportunity)) return opportunity;
		const oppName = arg('opportunityName');
		const noOpportunity = flag('doNotCreateOpportunity');
		if (noOpportunity && (oppName || opportunity)) return fail('FIELD_INTEGRITY_EXCEPTION', 'opportunityName and opportunityId must be blank when doNotCreateOpportunity is true', [oppName ? 'opportunityName' : 'opportunityId']);
		if (oppName && opportunity) return fail('FIELD_INTEGRITY_EXCEPTION', 'opportunityId and opportunityName are mutually exclusive', ['opportunityName']);
		if (oppName && oppName.length > 80) return fail('STRING_TOO_LONG', 'opportunityName: data value too large (max length=80)', ['opportunityName']);
		if (flag('overwriteLeadSource') && !contact) return fail('FIELD_INTEGRITY_EXCEPTION', 'overwriteLeadSource needs a contactId', ['overwriteLeadSource']);
		const ownerRaw = arg('ownerId');
		const owner = ownerRaw === undefined ? (l.OwnerId as string | undefined) ?? who.user : normaliseId(ownerRaw);
		const ownerRec = owner ? this.coll(SOBJECTS.User).get(owner) : undefined;
		if (!ownerRec || ownerRec.fields.IsActive !== true) return fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['ownerId']);

		// Values for the records to create or fill, validated before anything is written.
		const copy = (map: Array<[string, string]>, target?: StoredRecord, skip: string[] = []) => {
			const out: Record<string, unknown> = {};
			for (const [from, to] of map) {
				const v = l[from];
				if (v === undefined || v === null || v === '' || skip.includes(to)) continue;
				const current = target?.fields[to];
				if (!target || current === undefined || current === null || current === '') out[to] = v;
			}
			return out;
		};
		let plan: { account?: Record<string, unknown>; contact?: Record<string, unknown>; opportunity?: Record<string, unknown>; accountFill: Record<string, unknown>; contactFill: Record<string, unknown> };
		try {
			const contactFill = contact ? copy(LEAD_TO_CONTACT, contact, ['HasOptedOutOfEmail']) : {};
			if (contact && flag('overwriteLeadSource') && l.LeadSource != null) contactFill.LeadSource = l.LeadSource;
			const stage = [...this.coll(SOBJECTS.OpportunityStage).values()].filter((r) => r.fields.IsActive === true && r.fields.IsClosed !== true).sort((a, b) => Number(a.fields.SortOrder) - Number(b.fields.SortOrder))[0];
			plan = {
				account: account ? undefined : this.prepare(SOBJECTS.Account, { ...copy(LEAD_TO_ACCOUNT), OwnerId: owner }),
				// The account id is filled in once the account exists.
				contact: contact ? undefined : this.prepare(SOBJECTS.Contact, { ...copy(LEAD_TO_CONTACT), OwnerId: owner }),
				opportunity:
					noOpportunity || opportunity
						? undefined
						: this.prepare(SOBJECTS.Opportunity, { Name: oppName ?? l.Company, StageName: stage?.fields.ApiName ?? 'Prospecting', CloseDate: endOfQuarter(this.clock.peek()), LeadSource: l.LeadSource ?? null, OwnerId: owner }),
				accountFill: account ? this.prepare(SOBJECTS.Account, copy(LEAD_TO_ACCOUNT, account), account) : {},
				contactFill: contact ? this.prepare(SOBJECTS.Contact, contactFill, contact) : {},
			};
		} catch (err) {
			if (err instanceof ItemFailure) return { leadId, success: false, errors: err.errors };
			throw err;
		}

		// Writes, in the order Salesforce commits them: account, contact, opportunity, lead, activities.
		let accountId = account?.id;
		if (account && Object.keys(plan.accountFill).length) this.applyUpdate(SOBJECTS.Account, account, plan.accountFill, who);
		if (plan.account) accountId = this.applyCreate(SOBJECTS.Account, plan.account, who);
		let contactId = contact?.id;
		if (contact && Object.keys(plan.contactFill).length) this.applyUpdate(SOBJECTS.Contact, contact, plan.contactFill, who);
		if (plan.contact) contactId = this.applyCreate(SOBJECTS.Contact, { ...plan.contact, AccountId: accountId }, who);
		let opportunityId = opportunity?.id;
		// ContactId: conversion makes the contact the opportunity's primary contact role.
		if (plan.opportunity) opportunityId = this.applyCreate(SOBJECTS.Opportunity, { ...plan.opportunity, AccountId: accountId, ContactId: contactId }, who);
		const today = new Date(this.clock.peek()).toISOString().slice(0, 10);
		this.applyUpdate(SOBJECTS.Lead, lead, { IsConverted: true, ConvertedDate: today, ConvertedAccountId: accountId, ConvertedContactId: contactId, ConvertedOpportunityId: opportunityId ?? null, Status: statusRec.fields.ApiName }, who);
		// The lead's activities move to the contact (and, when they name nothing else, to the opportunity or account) [U].
		for (const def of [SOBJECTS.Task, SOBJECTS.Event]) {
			for (const rec of this.coll(def).values()) {
				if (rec.fields.WhoId !== lead.id) continue;
				this.applyUpdate(def, rec, { WhoId: contactId, ...(rec.fields.WhatId ? {} : { WhatId: opportunityId ?? accountId }) }, who);
			}
		}
		return { leadId, accountId, contactId, opportunityId, success: true, errors: [] };
	}

	/** Points child records of merged-away parents at the master (Task/Event WhoId/WhatId, AccountId, ContactId, ParentId). */
	private reparent(def: SObjectDef, from: string[], to: string, who: { origin: string; user: string }): string[] {
		const updated: string[] = [];
		const fromSet = new Set(from);
		for (const child of Object.values(SOBJECTS)) {
			const refFields = Object.entries(child.fields).filter(([, d]) => d.type === 'reference' && !d.readOnly && d.refersTo?.includes(def.name));
			if (!refFields.length) continue;
			for (const rec of this.coll(child).values()) {
				const patch: Record<string, unknown> = {};
				for (const [name] of refFields) if (fromSet.has(rec.fields[name] as string)) patch[name] = to;
				if (Object.keys(patch).length) {
					this.applyUpdate(child, rec, patch, who);
					updated.push(rec.id);
				}
			}
		}
		return updated;
	}
}

/** SOAP Error elements in WSDL order (fields, message, statusCode), as jsforce parses them. */
function errorsXml(errors: ItemError[]): string {
	return errors.map((e) => `<errors>${e.fields.map((f) => `<fields>${esc(f)}</fields>`).join('')}<message>${esc(e.message)}</message><statusCode>${e.statusCode}</statusCode></errors>`).join('');
}

/** A SOAP scalar: nil (`xsi:nil="true"`, parsed as an attribute object) and empty elements are absent. */
function soapText(v: unknown): string | undefined {
	if (v === undefined || v === null || typeof v === 'object') return undefined;
	const s = String(v).trim();
	return s === '' ? undefined : s;
}

/** Lead fields copied on conversion (the standard lead field mapping): lead field, target field. */
const LEAD_TO_ACCOUNT: Array<[string, string]> = [
	['Company', 'Name'], ['Phone', 'Phone'], ['Website', 'Website'], ['Industry', 'Industry'], ['AnnualRevenue', 'AnnualRevenue'], ['NumberOfEmployees', 'NumberOfEmployees'],
	['Street', 'BillingStreet'], ['City', 'BillingCity'], ['State', 'BillingState'], ['PostalCode', 'BillingPostalCode'], ['Country', 'BillingCountry'],
];
const LEAD_TO_CONTACT: Array<[string, string]> = [
	['Salutation', 'Salutation'], ['FirstName', 'FirstName'], ['LastName', 'LastName'], ['Title', 'Title'], ['Email', 'Email'], ['Phone', 'Phone'], ['MobilePhone', 'MobilePhone'],
	['LeadSource', 'LeadSource'], ['Description', 'Description'], ['HasOptedOutOfEmail', 'HasOptedOutOfEmail'], ['DoNotCall', 'DoNotCall'],
	['Street', 'MailingStreet'], ['City', 'MailingCity'], ['State', 'MailingState'], ['PostalCode', 'MailingPostalCode'], ['Country', 'MailingCountry'],
];

/** Last day of the calendar quarter of `ms` (a converted lead's opportunity closes then). */
function endOfQuarter(ms: number): string {
	const d = new Date(ms);
	const firstOfNext = Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3 + 3, 1);
	return new Date(firstOfNext - 86_400_000).toISOString().slice(0, 10);
}

/** The symbol an en_US user sees for a currency ($, €, £; the code where there is none). */
function currencySymbol(code: string): string {
	try {
		return new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).formatToParts(0).find((p) => p.type === 'currency')?.value ?? code;
	} catch {
		return code;
	}
}

function asArray(x: unknown): any[] {
	return x === undefined || x === null ? [] : Array.isArray(x) ? x : [x];
}

function esc(s: string): string {
	return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** SOAP faults are HTTP 500 (jsforce refreshes the session on sf:INVALID_SESSION_ID). */
function soapFault(code: string, message: string): Reply {
	return {
		status: 500,
		headers: { 'Content-Type': 'text/xml; charset=utf-8' },
		body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>${code}</faultcode><faultstring>${esc(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
	};
}

/** Comparable form of a stored value: datetimes -> ms, strings lower-cased, others as is. */
function sortKey(v: unknown): number | string | boolean | null {
	if (v === null || v === undefined) return null;
	if (typeof v === 'string') {
		if (/^\d{4}-\d{2}-\d{2}T/.test(v)) return parseDateTime(v);
		return v.toLowerCase();
	}
	return v as number | boolean;
}

function compare(actual: unknown, op: '=' | '!=' | '<' | '<=' | '>' | '>=', lit: Literal): boolean {
	if (lit.kind === 'null') {
		const isNull = actual === null || actual === undefined;
		return op === '=' ? isNull : op === '!=' ? !isNull : false;
	}
	if (actual === null || actual === undefined) return op === '!=';
	if (lit.kind === 'range') {
		const t = typeof actual === 'number' ? actual : typeof actual === 'string' ? Date.parse(actual.length === 10 ? `${actual}T00:00:00Z` : actual.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
		if (Number.isNaN(t)) return false;
		switch (op) {
			case '=':
				return t >= lit.from && t < lit.to;
			case '!=':
				return t < lit.from || t >= lit.to;
			case '<':
				return t < lit.from;
			case '<=':
				return t < lit.to;
			case '>':
				return t >= lit.to;
			case '>=':
				return t >= lit.from;
		}
	}
	let a: number | string | boolean;
	let b: number | string | boolean;
	if (lit.kind === 'datetime') {
		a = typeof actual === 'number' ? actual : parseDateTime(String(actual));
		b = lit.value;
	} else if (lit.kind === 'number') {
		a = Number(actual);
		b = lit.value;
	} else if (lit.kind === 'boolean') {
		a = actual === true;
		b = lit.value;
	} else if (lit.kind === 'date') {
		a = String(actual).slice(0, 10);
		b = lit.value;
	} else {
		// Ids compare case-sensitively (15/18 forms equal); text compares case-insensitively.
		const s = String(actual);
		const asId = /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(lit.value) && /^[a-zA-Z0-9]{18}$/.test(s) ? normaliseId(lit.value) : undefined;
		if (asId && asId === s) return op === '=' || op === '<=' || op === '>=';
		a = s.toLowerCase();
		b = lit.value.toLowerCase();
	}
	switch (op) {
		case '=':
			return a === b;
		case '!=':
			return a !== b;
		case '<':
			return a < b;
		case '<=':
			return a <= b;
		case '>':
			return a > b;
		case '>=':
			return a >= b;
	}
}

export function createEmulator(opts?: SalesforceEmulatorOptions): SalesforceEmulator {
	return new SalesforceEmulator(opts);
}
