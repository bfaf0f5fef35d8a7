// HubSpot CRM v3 emulator (what @hubspot/api-client 14.x talks to). Base URL = SDK basePath.
// Wire facts follow crm-wire.md section 2; choices for [U] facts are listed in sandbox/README.md.

import { createHash, randomUUID } from 'node:crypto';
import { BaseEmulator, ReplyError } from '../common/base';
import { json, Reply, RequestContext, RouteOptions, Router } from '../common/router';
import type { RatePolicy } from '../common/ratelimit';
import type { SeedData } from '../common/seed';
import { Collection, StoredRecord } from '../common/store';
import type { EmulatorOptions, RecordDump, SeedSummary, WebhookSubscription } from '../common/types';
import { bearerToken } from '../common/auth';
import { HubSpotWebhooks, ChangeSource, HubSpotEvent } from './webhooks';
import { associationType, defaultAssociationType, HubSpotObjectType, OBJECT_TYPES, objectType } from './objects';
import { comparable, FilterGroup, KindOf, matchesGroups, matchesQuery, SEARCH_LIMITS, validateFilterGroups } from './search';
import { DEAL_STAGES, normaliseValue, PropertyDef, PropertyType, publicProperty, STANDARD_PROPERTIES } from './properties';
import { defaultDealPipeline, defaultOwners, Owner, Pipeline, pipelineInputProblem } from './pipelines';

export interface HubSpotEmulatorOptions extends EmulatorOptions {
	/** App id reported as `sourceId` for API writes made with tokens not issued by /oauth/v1/token (default 1160452). */
	appId?: number;
	/** Portal (hub) id in webhook events and token info (default 62515). */
	portalId?: number;
	/** How long webhook events are collected into one batch (default 100 ms). */
	webhookBatchWindowMs?: number;
}

/** Documented limits (Free/Starter private app; search per crm-wire's documented 4/s). */
export const HUBSPOT_POLICIES = {
	tenSecondly: { name: 'TEN_SECONDLY_ROLLING', limit: 100, windowMs: 10_000 } as RatePolicy,
	daily: { name: 'DAILY', limit: 250_000, windowMs: 86_400_000 } as RatePolicy,
	searchSecondly: { name: 'SECONDLY', limit: 4, windowMs: 1_000 } as RatePolicy,
};

const BATCH_LIMIT = 100;
/** Neutral seed stages -> default-pipeline deal stages. */
const SEED_STAGES: Record<string, string> = { qualification: 'qualifiedtobuy', 'needs analysis': 'presentationscheduled', proposal: 'decisionmakerboughtin', negotiation: 'contractsent' };
const LIST_LIMIT = 100;
/** Owners API page size: default 100, at most 500. */
const OWNERS_LIMIT = 500;
/** Object types with pipelines among the emulated ones. */
const PIPELINE_TYPES = new Set(['deals']);
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A HubSpot error, turned into a reply by single endpoints and into a 207 entry by batches. */
export class HubSpotError extends Error {
	constructor(
		readonly status: number,
		readonly category: string,
		message: string,
		readonly extra: { subCategory?: string; context?: Record<string, string[]>; errors?: unknown[] } = {},
	) {
		super(message);
	}

	body(): Record<string, unknown> {
		return { status: 'error', message: this.message, correlationId: randomUUID(), category: this.category, ...this.extra };
	}
}

function fail(status: number, category: string, message: string, extra?: HubSpotError['extra']): never {
	throw new HubSpotError(status, category, message, extra);
}

/** "Property values were not valid" in HubSpot's format (the message embeds a JSON array). */
function invalidProperties(details: { message: string; error: string; name: string }[]): never {
	const embedded = JSON.stringify(details.map((d) => ({ isValid: false, ...d })));
	fail(400, 'VALIDATION_ERROR', `Property values were not valid: ${embedded}`, {
		errors: details.map((d) => ({ message: d.message, code: d.error, context: { propertyName: [d.name] } })),
	});
}

interface AssociationInput {
	to?: { id?: unknown };
	types?: { associationCategory?: string; associationTypeId?: number }[];
}

/** A portal's currencies: the company currency, and the additional ones of a multi-currency portal. */
export interface PortalCurrencies {
	companyCurrency: string;
	additionalCurrencies: string[];
}

/** A new portal has one currency, USD. */
function newPortalCurrencies(): PortalCurrencies {
	return { companyCurrency: 'USD', additionalCurrencies: [] };
}

/** A currency's English name (US Dollar), the option label of deal_currency_code. */
function currencyName(code: string): string {
	try {
		return new Intl.DisplayNames(['en'], { type: 'currency' }).of(code) ?? code;
	} catch {
		return code;
	}
}

export class HubSpotEmulator extends BaseEmulator {
	readonly crm = 'hubspot' as const;
	readonly appId: number;
	readonly portalId: number;
	readonly hooks: HubSpotWebhooks;
	private nextId = 100000001;
	/** Merged (losing) id -> surviving id, so GET of a merged id returns the winner. */
	private readonly mergedInto = new Map<string, string>();
	/** `${type}:${id}` -> `${toType}:${toId}` -> association type ids. */
	private readonly assoc = new Map<string, Map<string, Set<number>>>();
	private readonly collections = new Map<string, Collection>();
	/** Pipelines per object type (deals), in creation order. */
	private readonly pipelines = new Map<string, Pipeline[]>();
	private owners: Owner[] = [];
	private nextMetaId = 75_000_001;
	/** Settings > Account defaults > Currencies: the company currency and the others added. */
	private currencies: PortalCurrencies = newPortalCurrencies();

	constructor(opts: HubSpotEmulatorOptions = {}) {
		super(opts, {
			tokenLifetimeMs: 1800_000,
			tokenPrefix: 'CN',
			webhookTimeoutMs: 5000,
			webhookRetry: {
				maxAttempts: 10,
				// Exponential back-off from 1 s, capped at 1 h; honours Retry-After on 429.
				delayMs: (attempt, status, retryAfter) => (status === 429 && retryAfter ? retryAfter * 1000 : Math.min(1000 * 2 ** (attempt - 1), 3_600_000)),
				isSuccess: (status) => status >= 200 && status < 300,
				shouldRetry: (status) => status === undefined || ![400, 401, 403, 404, 405].includes(status),
			},
		});
		this.appId = opts.appId ?? 1160452;
		this.portalId = opts.portalId ?? 62515;
		for (const t of OBJECT_TYPES) {
			this.collections.set(
				t.name,
				this.store.define(t.name, {
					idGen: () => String(this.nextId++),
					indexes: t.name === 'contacts' ? { email: (f) => [f.email, ...String(f.hs_additional_emails ?? '').split(';')] } : undefined,
				}),
			);
		}
		this.hooks = new HubSpotWebhooks(this, opts.webhookBatchWindowMs ?? 100);
		this.resetMetadata();
	}

	// ---- BaseEmulator hooks -------------------------------------------------------------------

	protected authenticate(ctx: RequestContext): Reply | undefined {
		const token = bearerToken(ctx.headers.authorization);
		const check = this.tokens.check(token);
		if (check.ok) {
			ctx.token = check.value;
			return undefined;
		}
		if (check.reason === 'expired') {
			return json(401, { status: 'error', message: 'The OAuth token used to make this call expired.', correlationId: randomUUID(), category: 'EXPIRED_AUTHENTICATION' });
		}
		return json(401, {
			status: 'error',
			message: 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
			correlationId: randomUUID(),
			category: 'INVALID_AUTHENTICATION',
		});
	}

	protected rateLimit(ctx: RequestContext, options: RouteOptions): Reply | undefined {
		if (!this.limiter.enabled) return undefined;
		const key = ctx.token ?? '';
		if (options.bucket === 'search') {
			const d = this.limiter.hit(HUBSPOT_POLICIES.searchSecondly, key);
			if (d.ok) return undefined;
			return json(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: 'SECONDLY', requestId: randomUUID() });
		}
		const d = this.limiter.hitAll([HUBSPOT_POLICIES.daily, HUBSPOT_POLICIES.tenSecondly], key)!;
		if (d.ok) return undefined;
		const policy = d.policy === HUBSPOT_POLICIES.daily ? 'DAILY' : 'TEN_SECONDLY_ROLLING';
		return json(429, {
			status: 'error',
			message: `You have reached your ${policy.toLowerCase()} limit.`,
			errorType: 'RATE_LIMIT',
			correlationId: randomUUID(),
			policyName: policy,
			requestId: randomUUID(),
		});
	}

	/** X-HubSpot-RateLimit-* headers on every non-search API reply (search replies omit them). */
	protected decorate(ctx: RequestContext, reply: Reply): void {
		if (ctx.path.endsWith('/search') || ctx.path.startsWith('/oauth/')) return;
		const key = ctx.token ?? '';
		const ten = this.limiter.peek(HUBSPOT_POLICIES.tenSecondly, key);
		const day = this.limiter.peek(HUBSPOT_POLICIES.daily, key);
		reply.headers = {
			...reply.headers,
			'X-HubSpot-RateLimit-Daily': HUBSPOT_POLICIES.daily.limit,
			'X-HubSpot-RateLimit-Daily-Remaining': day.remaining,
			'X-HubSpot-RateLimit-Interval-Milliseconds': HUBSPOT_POLICIES.tenSecondly.windowMs,
			'X-HubSpot-RateLimit-Max': HUBSPOT_POLICIES.tenSecondly.limit,
			'X-HubSpot-RateLimit-Remaining': ten.remaining,
			'X-HubSpot-RateLimit-Secondly': Math.ceil(HUBSPOT_POLICIES.tenSecondly.limit / 10),
			'X-HubSpot-RateLimit-Secondly-Remaining': Math.ceil(ten.remaining / 10),
		};
	}

	protected faultReply(): Reply {
		return json(503, { status: 'error', message: 'Service temporarily unavailable (injected fault).', correlationId: randomUUID(), category: 'INTERNAL_ERROR' });
	}

	protected notFoundReply(ctx: RequestContext, methodMismatch: boolean): Reply {
		return json(methodMismatch ? 405 : 404, {
			status: 'error',
			message: methodMismatch ? `Method ${ctx.method} not allowed` : `Unable to route ${ctx.method} request with path ${ctx.path}`,
			correlationId: randomUUID(),
			category: methodMismatch ? 'METHOD_NOT_ALLOWED' : 'OBJECT_NOT_FOUND',
		});
	}

	protected badBodyReply(_ctx: RequestContext, message: string): Reply {
		return json(400, { status: 'error', message: `Invalid input JSON: ${message}`, correlationId: randomUUID(), category: 'VALIDATION_ERROR' });
	}

	protected internalErrorReply(_ctx: RequestContext, err: unknown): Reply {
		return json(500, { status: 'error', message: `internal error: ${String((err as Error)?.message ?? err)}`, correlationId: randomUUID(), category: 'INTERNAL_ERROR' });
	}

	protected onReset(): void {
		this.customDefs.clear();
		this.mergedInto.clear();
		this.assoc.clear();
		this.hooks.clear();
		this.resetMetadata();
	}

	/** A new portal's pipelines and owners. */
	private resetMetadata(): void {
		this.pipelines.clear();
		this.pipelines.set('deals', [defaultDealPipeline()]);
		this.owners = defaultOwners();
		this.currencies = newPortalCurrencies();
		this.refreshStageOptions();
		this.refreshCurrencyOptions();
	}

	protected flushWebhookBatches(): void {
		this.hooks.flush();
	}

	/**
	 * Admin subscription: {url, clientSecret, types: ['contact.creation', 'contact.propertyChange', ...]
	 * or [{type, propertyName}], signatureVersion?: 'v1'|'v2' (X-HubSpot-Signature; v3 is always sent)}.
	 */
	addSubscription(spec: Record<string, unknown>): WebhookSubscription {
		const err = this.hooks.validateSubscription(spec);
		if (err) throw new ReplyError(json(400, { status: 'error', message: err, category: 'VALIDATION_ERROR' }));
		return super.addSubscription(spec);
	}

	protected dumpRecords(): RecordDump {
		const out: RecordDump = {};
		for (const t of OBJECT_TYPES) {
			out[t.name] = [...this.coll(t).values({ includeDeleted: true })].map((r) => ({
				...this.toPublic(t, r, Object.keys(this.allProperties(t, r))),
				associations: this.associationsOf(t, r.id),
			}));
		}
		return out;
	}

	protected applySeed(data: SeedData): SeedSummary {
		const ids = new Map<string, string>();
		const contacts = this.typeOf('contacts');
		const companies = this.typeOf('companies');
		const deals = this.typeOf('deals');
		for (const c of data.companies) {
			const rec = this.coll(companies).insert(
				{ name: c.name, domain: c.domain, phone: c.phone, industry: c.industry.toUpperCase(), city: c.city, country: c.country },
				{ createdAt: c.createdAt, updatedAt: c.createdAt },
			);
			ids.set(c.key, rec.id);
		}
		const companyNames = new Map(data.companies.map((c) => [c.key, c.name]));
		let skippedEmails = 0;
		for (const c of data.contacts) {
			const emailTaken = this.coll(contacts).findBy('email', c.email).length > 0;
			if (emailTaken) skippedEmails++;
			const rec = this.coll(contacts).insert(
				dropEmpty({
					email: emailTaken ? undefined : c.email,
					firstname: c.firstName,
					lastname: c.lastName,
					phone: c.phone,
					mobilephone: c.mobile,
					jobtitle: c.title,
					city: c.city,
					country: c.country,
					lifecyclestage: c.lifecycle,
					company: c.companyKey ? companyNames.get(c.companyKey) : undefined,
				}),
				{ createdAt: c.createdAt, updatedAt: c.createdAt },
			);
			ids.set(c.key, rec.id);
			if (c.companyKey) this.associate(contacts, rec.id, companies, ids.get(c.companyKey)!, [1, 279]);
		}
		for (const d of data.deals) {
			const rec = this.coll(deals).insert(
				{ dealname: d.name, amount: String(d.amount), dealstage: d.stage === 'won' ? 'closedwon' : d.stage === 'lost' ? 'closedlost' : SEED_STAGES[d.stageLabel] ?? DEAL_STAGES[0], pipeline: 'default', closedate: `${d.closeDate}T00:00:00.000Z` },
				{ createdAt: d.createdAt, updatedAt: d.createdAt },
			);
			ids.set(d.key, rec.id);
			if (d.contactKey) this.associate(deals, rec.id, contacts, ids.get(d.contactKey)!, [3]);
			if (d.companyKey) this.associate(deals, rec.id, companies, ids.get(d.companyKey)!, [5, 341]);
		}
		const counts: SeedSummary = { companies: data.companies.length, contacts: data.contacts.length, deals: data.deals.length, duplicateEmailsDropped: skippedEmails };
		for (const a of data.activities) {
			const t = this.typeOf(`${a.type}s`);
			const ts = new Date(a.at).toISOString();
			const props: Record<string, string | undefined> = { hs_timestamp: ts };
			if (a.type === 'note') props.hs_note_body = a.body;
			if (a.type === 'task') Object.assign(props, { hs_task_subject: a.subject, hs_task_body: a.body, hs_task_status: a.done ? 'COMPLETED' : 'NOT_STARTED', hs_task_priority: 'MEDIUM', hs_task_type: 'TODO' });
			if (a.type === 'call') Object.assign(props, { hs_call_title: a.subject, hs_call_body: a.body, hs_call_direction: a.direction === 'inbound' ? 'INBOUND' : 'OUTBOUND', hs_call_duration: String((a.durationSec ?? 0) * 1000) });
			if (a.type === 'meeting') Object.assign(props, { hs_meeting_title: a.subject, hs_meeting_body: a.body, hs_meeting_start_time: ts, hs_meeting_end_time: new Date(a.endAt ?? a.at).toISOString() });
			if (a.type === 'email') Object.assign(props, { hs_email_subject: a.subject, hs_email_text: a.body, hs_email_direction: a.direction === 'inbound' ? 'INCOMING_EMAIL' : 'EMAIL' });
			const rec = this.coll(t).insert(dropEmpty(props), { createdAt: a.createdAt, updatedAt: a.createdAt });
			if (a.contactKey) this.associate(t, rec.id, contacts, ids.get(a.contactKey)!, [defaultAssociationType(t.singular, 'contact')!.typeId]);
			if (a.dealKey) this.associate(t, rec.id, deals, ids.get(a.dealKey)!, [defaultAssociationType(t.singular, 'deal')!.typeId]);
			counts[t.name] = (counts[t.name] ?? 0) + 1;
		}
		return counts;
	}

	// ---- routes ---------------------------------------------------------------------------------

	protected registerRoutes(r: Router): void {
		r.post('/oauth/v1/token', (ctx) => this.oauthToken(ctx), { public: true });
		r.get('/oauth/v1/access-tokens/:token', (ctx) => this.accessTokenInfo(ctx), { public: true });
		r.get('/crm/v3/properties/:type', (ctx) => this.guard(() => this.listProperties(ctx)));
		r.post('/crm/v3/properties/:type', (ctx) => this.guard(() => this.createProperty(ctx)));
		r.get('/crm/v3/properties/:type/:name', (ctx) => this.guard(() => this.getProperty(ctx)));
		r.patch('/crm/v3/properties/:type/:name', (ctx) => this.guard(() => this.updateProperty(ctx)));
		r.delete('/crm/v3/properties/:type/:name', (ctx) => this.guard(() => this.archiveProperty(ctx)));
		r.get('/crm/v3/pipelines/:type', (ctx) => this.guard(() => json(200, { results: this.pipelinesOf(ctx.params.type).filter((p) => !p.archived) })));
		r.post('/crm/v3/pipelines/:type', (ctx) => this.guard(() => json(201, this.createPipeline(ctx.params.type, ctx.body, false))));
		r.get('/crm/v3/pipelines/:type/:pipelineId', (ctx) => this.guard(() => json(200, this.pipeline(ctx.params.type, ctx.params.pipelineId))));
		r.get('/crm/v3/pipelines/:type/:pipelineId/stages', (ctx) => this.guard(() => json(200, { results: this.pipeline(ctx.params.type, ctx.params.pipelineId).stages.filter((s) => !s.archived) })));
		r.get('/crm/v3/owners', (ctx) => this.guard(() => this.listOwners(ctx)));
		r.get('/account-info/v3/details', (ctx) => this.guard(() => this.accountDetails()));
		r.get('/crm/v3/owners/:ownerId', (ctx) => this.guard(() => this.getOwner(ctx)));
		const obj = '/crm/v3/objects/:type';
		r.post(`${obj}/batch/read`, (ctx) => this.guard(() => this.batchRead(ctx)));
		r.post(`${obj}/batch/create`, (ctx) => this.guard(() => this.batchCreate(ctx)));
		r.post(`${obj}/batch/update`, (ctx) => this.guard(() => this.batchUpdate(ctx)));
		r.post(`${obj}/batch/upsert`, (ctx) => this.guard(() => this.batchUpsert(ctx)));
		r.post(`${obj}/batch/archive`, (ctx) => this.guard(() => this.batchArchive(ctx)));
		r.post(`${obj}/search`, (ctx) => this.guard(() => this.search(ctx)), { bucket: 'search' });
		r.post(`${obj}/merge`, (ctx) => this.guard(() => this.merge(ctx, this.apiSource(ctx))));
		r.post(`${obj}/gdpr-delete`, (ctx) => this.guard(() => this.gdprDelete(ctx)));
		r.get(obj, (ctx) => this.guard(() => this.list(ctx)));
		r.post(obj, (ctx) => this.guard(() => this.createOne(ctx)));
		r.get(`${obj}/:id`, (ctx) => this.guard(() => this.getOne(ctx)));
		r.patch(`${obj}/:id`, (ctx) => this.guard(() => this.updateOne(ctx)));
		r.delete(`${obj}/:id`, (ctx) => this.guard(() => this.archiveOne(ctx, this.apiSource(ctx))));
		r.post('/crm/v3/associations/:fromType/:toType/batch/create', (ctx) => this.guard(() => this.v3AssociationsCreate(ctx)));
		const v4 = '/crm/v4/objects/:type/:id/associations';
		r.put(`${v4}/default/:toType/:toId`, (ctx) => this.guard(() => this.v4CreateDefault(ctx)));
		r.put(`${v4}/:toType/:toId`, (ctx) => this.guard(() => this.v4Create(ctx)));
		r.delete(`${v4}/:toType/:toId`, (ctx) => this.guard(() => this.v4Archive(ctx)));
		r.get(`${v4}/:toType`, (ctx) => this.guard(() => this.v4List(ctx)));
	}

	/**
	 * Admin extras: act as a HubSpot UI user (changeSource CRM_UI) and restore archived objects.
	 *   POST   /__admin/objects/:type            {properties}
	 *   PATCH  /__admin/objects/:type/:id        {properties}
	 *   DELETE /__admin/objects/:type/:id
	 *   POST   /__admin/objects/:type/:id/restore
	 *   POST   /__admin/objects/:type/merge      {primaryObjectId, objectIdToMerge}
	 */
	protected registerAdminRoutes(r: Router): void {
		const ui: ChangeSource = { changeSource: 'CRM_UI', sourceId: 'userId:45678' };
		r.post('/__admin/objects/:type/merge', (ctx) => this.guard(() => this.merge(ctx, ui)));
		r.post('/__admin/objects/:type/:id/restore', (ctx) =>
			this.guard(() => {
				const t = this.typeParam(ctx);
				const rec = this.coll(t).restore(ctx.params.id) ?? fail(404, 'OBJECT_NOT_FOUND', 'No archived object with that id');
				this.hooks.emit(t, rec.id, 'restore', ui, {});
				return json(200, this.toPublic(t, rec, undefined));
			}),
		);
		r.post('/__admin/objects/:type', (ctx) =>
			this.guard(() => {
				const t = this.typeParam(ctx);
				return json(201, this.toPublic(t, this.create(t, (ctx.body as { properties?: unknown })?.properties ?? {}, [], ui), undefined));
			}),
		);
		r.patch('/__admin/objects/:type/:id', (ctx) =>
			this.guard(() => {
				const t = this.typeParam(ctx);
				return json(200, this.toPublic(t, this.update(t, ctx.params.id, (ctx.body as { properties?: unknown })?.properties, ui), undefined));
			}),
		);
		r.delete('/__admin/objects/:type/:id', (ctx) => this.guard(() => this.archiveOne(ctx, ui)));
		r.post('/__admin/pipelines/:type', (ctx) => this.guard(() => json(201, this.createPipeline(ctx.params.type, ctx.body, true))));
		r.post('/__admin/owners', (ctx) => this.guard(() => json(201, this.addOwner(ctx.body))));
		r.get('/__admin/currencies', () => json(200, this.getCurrencies()));
		r.put('/__admin/currencies', (ctx) => this.guard(() => json(200, this.setCurrencies(ctx.body))));
		r.delete('/__admin/owners/:id', (ctx) =>
			this.guard(() => {
				const owner = this.owners.find((o) => o.id === ctx.params.id) ?? fail(404, 'OBJECT_NOT_FOUND', `Owner ${ctx.params.id} not found`);
				owner.archived = true;
				owner.updatedAt = new Date().toISOString();
				return json(200, owner);
			}),
		);
	}

	// ---- pipelines and owners ------------------------------------------------------------------

	/** [U] (no recording): the status and text for an object without pipelines. */
	private pipelinesOf(typeName: string): Pipeline[] {
		const t = this.typeOf(typeName);
		if (!PIPELINE_TYPES.has(t.name)) fail(400, 'VALIDATION_ERROR', `Object type ${t.name} does not support pipelines`);
		return this.pipelines.get(t.name)!;
	}

	private pipeline(typeName: string, id: string): Pipeline {
		return this.pipelinesOf(typeName).find((p) => p.id === id && !p.archived) ?? fail(404, 'OBJECT_NOT_FOUND', `Unable to find pipeline ${id}`);
	}

	/**
	 * POST /crm/v3/pipelines/{type} {label, displayOrder, stages: [{label, displayOrder, metadata}]}:
	 * 201 with generated numeric ids. The admin form also takes `id` on the pipeline and its stages.
	 */
	createPipeline(typeName: string, body: unknown, admin: boolean): Pipeline {
		const list = this.pipelinesOf(typeName);
		const t = this.typeOf(typeName);
		const problem = pipelineInputProblem(t.name, body);
		if (problem) fail(400, 'VALIDATION_ERROR', problem);
		const b = body as { id?: unknown; label: string; displayOrder: number; stages: { id?: unknown; label: string; displayOrder: number; metadata?: Record<string, unknown> }[] };
		const newId = (given: unknown) => (admin && given !== undefined && given !== null && String(given) !== '' ? String(given) : String(this.nextMetaId++));
		const id = newId(b.id);
		if (list.some((p) => p.id === id)) fail(409, 'CONFLICT', `A pipeline with id ${id} already exists`);
		const now = new Date().toISOString();
		const stageIds = new Set(list.flatMap((p) => p.stages.map((s) => s.id)));
		const stages = b.stages.map((s) => {
			const stageId = newId(s.id);
			if (stageIds.has(stageId)) fail(409, 'CONFLICT', `A stage with id ${stageId} already exists`);
			stageIds.add(stageId);
			// Metadata values are strings on the wire, whatever type the input gave.
			const metadata: Record<string, string> = { isClosed: 'false' };
			for (const [k, v] of Object.entries(s.metadata ?? {})) if (v !== undefined && v !== null) metadata[k] = String(v);
			return { id: stageId, label: s.label, displayOrder: s.displayOrder, metadata, createdAt: now, updatedAt: now, archived: false, writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT' };
		});
		const created: Pipeline = { id, label: b.label, displayOrder: b.displayOrder, stages, createdAt: now, updatedAt: now, archived: false };
		list.push(created);
		this.refreshStageOptions();
		return created;
	}

	/** dealstage accepts the stages of every deal pipeline (a per-emulator copy of the standard definition). */
	private refreshStageOptions(): void {
		const deals = this.standardDefs.get('deals')!;
		const base = STANDARD_PROPERTIES.deals.find((d) => d.name === 'dealstage')!;
		const options = (this.pipelines.get('deals') ?? []).flatMap((p) => p.stages.map((s) => ({ value: s.id, label: s.label })));
		deals.set('dealstage', { ...base, options: options.length ? options : base.options });
	}

	/**
	 * deal_currency_code takes the portal's currencies: the company currency and the additional
	 * ones (a per-emulator copy of the standard definition). That a deal refuses any other code
	 * (INVALID_OPTION) is the sandbox's choice [U].
	 */
	private refreshCurrencyOptions(): void {
		const deals = this.standardDefs.get('deals')!;
		const base = STANDARD_PROPERTIES.deals.find((d) => d.name === 'deal_currency_code')!;
		const codes = [this.currencies.companyCurrency, ...this.currencies.additionalCurrencies];
		deals.set('deal_currency_code', { ...base, options: codes.map((code) => ({ value: code, label: currencyName(code) })) });
	}

	/** The portal's currencies as GET /account-info/v3/details gives them. */
	getCurrencies(): PortalCurrencies {
		return { companyCurrency: this.currencies.companyCurrency, additionalCurrencies: [...this.currencies.additionalCurrencies] };
	}

	/**
	 * Admin, as in Settings > Account defaults > Currencies: the company currency and the additional
	 * currencies (a portal with none is a single-currency portal). Removing a currency from
	 * `additionalCurrencies` is deleting it in HubSpot: deals keep it, new writes cannot use it.
	 */
	setCurrencies(body: unknown): PortalCurrencies {
		const b = (body ?? {}) as Partial<PortalCurrencies>;
		const code = (v: unknown): string => (typeof v === 'string' && /^[A-Z]{3}$/.test(v) ? v : fail(400, 'VALIDATION_ERROR', `${JSON.stringify(v)} is not a three-letter ISO 4217 currency code`));
		const companyCurrency = b.companyCurrency === undefined ? this.currencies.companyCurrency : code(b.companyCurrency);
		if (b.additionalCurrencies !== undefined && !Array.isArray(b.additionalCurrencies)) fail(400, 'VALIDATION_ERROR', 'additionalCurrencies must be a list of currency codes');
		const additional = (b.additionalCurrencies ?? this.currencies.additionalCurrencies).map(code).filter((c) => c !== companyCurrency);
		this.currencies = { companyCurrency, additionalCurrencies: [...new Set(additional)] };
		this.refreshCurrencyOptions();
		return this.getCurrencies();
	}

	/**
	 * GET /account-info/v3/details (Account Info API v3, PortalInformationResponse; keys in the
	 * order of the spec's example): the portal's company currency and its additional currencies.
	 * Time zone, offset, UI domain and hosting location are a US portal's [U].
	 */
	private accountDetails(): Reply {
		const offset = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'longOffset' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT-05:00';
		const [, sign, hh, mm] = /([+-])(\d{2}):(\d{2})/.exec(offset) ?? ['', '-', '05', '00'];
		const ms = (sign === '-' ? -1 : 1) * (Number(hh) * 3_600_000 + Number(mm) * 60_000);
		return json(200, {
			additionalCurrencies: [...this.currencies.additionalCurrencies],
			companyCurrency: this.currencies.companyCurrency,
			dataHostingLocation: 'na1',
			portalId: this.portalId,
			timeZone: 'US/Eastern',
			uiDomain: 'app.hubspot.com',
			utcOffset: `${sign}${hh}:${mm}`,
			utcOffsetMilliseconds: ms,
			accountType: 'STANDARD',
		});
	}

	/** Admin: a user joins the portal, which makes them an owner. {email, firstName?, lastName?, archived?, type?, userId?, id?} */
	addOwner(body: unknown): Owner {
		const b = (body ?? {}) as Partial<Owner>;
		if (b.type !== 'QUEUE' && (typeof b.email !== 'string' || !EMAIL_RE.test(b.email))) fail(400, 'VALIDATION_ERROR', 'email is required');
		const id = b.id !== undefined ? String(b.id) : String(this.nextMetaId++);
		if (this.owners.some((o) => o.id === id)) fail(409, 'CONFLICT', `Owner ${id} already exists`);
		const now = new Date().toISOString();
		const userId = b.type === 'QUEUE' ? undefined : Number(b.userId ?? this.nextMetaId++);
		const owner = {
			id,
			email: b.email,
			type: b.type === 'QUEUE' ? 'QUEUE' : 'PERSON',
			firstName: b.firstName,
			lastName: b.lastName,
			// An archived (deactivated) user keeps userIdIncludingInactive only.
			userId: b.archived ? undefined : userId,
			userIdIncludingInactive: userId,
			createdAt: now,
			updatedAt: now,
			archived: Boolean(b.archived),
			teams: [],
		};
		// Absent fields are left out of the JSON, not sent as null.
		for (const k of Object.keys(owner) as (keyof Owner)[]) if (owner[k] === undefined) delete owner[k];
		this.owners.push(owner as Owner);
		return owner as Owner;
	}

	/**
	 * GET /crm/v3/owners?email&after&limit&archived: archived=true lists the archived owners only,
	 * otherwise the active ones; `after` is an opaque cursor; the last page has no `paging`. [U]
	 * (no recording): whether archived=true also lists active owners, and the answer to limit > 500.
	 */
	private listOwners(ctx: RequestContext): Reply {
		const limit = Number(ctx.query.get('limit') ?? 100);
		if (!Number.isInteger(limit) || limit < 1 || limit > OWNERS_LIMIT) fail(400, 'VALIDATION_ERROR', `limit must be between 1 and ${OWNERS_LIMIT}`);
		const archived = ctx.query.get('archived') === 'true';
		const email = ctx.query.get('email')?.toLowerCase();
		const all = this.owners.filter((o) => o.archived === archived && (!email || o.email?.toLowerCase() === email));
		const afterParam = ctx.query.get('after');
		const start = afterParam ? Number(Buffer.from(afterParam, 'base64url').toString()) : 0;
		if (!Number.isInteger(start) || start < 0) fail(400, 'VALIDATION_ERROR', `Invalid after: ${afterParam}`);
		const body: Record<string, unknown> = { results: all.slice(start, start + limit) };
		if (start + limit < all.length) {
			const next = Buffer.from(String(start + limit)).toString('base64url');
			body.paging = { next: { after: next, link: `${this.url}/crm/v3/owners/?after=${next}` } };
		}
		return json(200, body);
	}

	/** GET /crm/v3/owners/{ownerId}?idProperty=id|userId&archived. */
	private getOwner(ctx: RequestContext): Reply {
		const byUser = ctx.query.get('idProperty') === 'userId';
		const archived = ctx.query.get('archived') === 'true';
		const key = ctx.params.ownerId;
		const owner = this.owners.find((o) => o.archived === archived && (byUser ? String(o.userIdIncludingInactive) === key : o.id === key));
		return json(200, owner ?? fail(404, 'OBJECT_NOT_FOUND', `Owner ${key} not found`));
	}

	/** Runs a handler, turning HubSpotError into its JSON reply. */
	private async guard(fn: () => Reply | Promise<Reply>): Promise<Reply> {
		try {
			return await fn();
		} catch (err) {
			if (err instanceof HubSpotError) return json(err.status, err.body());
			throw err;
		}
	}

	// ---- auth endpoints ---------------------------------------------------------------------------

	private oauthToken(ctx: RequestContext): Reply {
		const b = (typeof ctx.body === 'object' && ctx.body ? ctx.body : Object.fromEntries(ctx.query)) as Record<string, string>;
		const bad = (status: string, message: string) => json(400, { status, message, correlationId: randomUUID(), requestId: randomUUID() });
		if (!b.client_id || !b.client_secret) return bad('BAD_CLIENT_ID', 'missing or unknown client id/secret');
		let token;
		if (b.grant_type === 'refresh_token') {
			token = this.tokens.refreshAccess(b.refresh_token, b.client_id);
			if (!token) return bad('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
		} else if (b.grant_type === 'authorization_code') {
			if (!b.code) return bad('BAD_AUTH_CODE', 'missing or invalid auth code');
			token = this.tokens.issue({ clientId: b.client_id });
		} else {
			return bad('BAD_GRANT_TYPE', `unsupported grant_type ${b.grant_type}`);
		}
		return json(200, { token_type: 'bearer', refresh_token: token.refreshToken, access_token: token.accessToken, expires_in: Math.round(this.tokens.lifetimeMs / 1000) });
	}

	private accessTokenInfo(ctx: RequestContext): Reply {
		const check = this.tokens.check(ctx.params.token);
		if (!check.ok) return json(404, { status: 'error', message: 'Token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' });
		return json(200, {
			token: ctx.params.token,
			user: 'sandbox-user@example.com',
			hub_domain: 'sandbox.example.com',
			scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write', 'crm.objects.companies.read', 'crm.objects.companies.write', 'crm.objects.deals.read', 'crm.objects.deals.write'],
			hub_id: this.portalId,
			app_id: this.appIdForToken(ctx.params.token),
			expires_in: check.token ? Math.max(0, Math.round((check.token.expiresAt - Date.now()) / 1000)) : 1800,
			user_id: 45678,
			token_type: 'access',
		});
	}

	/** App id behind a token: issued tokens belong to their client's app, others to the default private app. */
	appIdForToken(token: string | undefined): number {
		const issued = token ? this.tokens.check(token) : undefined;
		const clientId = issued?.ok ? issued.token?.clientId : undefined;
		if (!clientId) return this.appId;
		return 1_000_000 + (createHash('sha256').update(clientId).digest().readUInt32BE(0) % 8_999_999);
	}

	/** API writes: changeSource INTEGRATION, sourceId = app id of the token (the loop-prevention marker). */
	private apiSource(ctx: RequestContext): ChangeSource {
		return { changeSource: 'INTEGRATION', sourceId: String(this.appIdForToken(ctx.token)) };
	}

	// ---- helpers ----------------------------------------------------------------------------------

	typeOf(name: string): HubSpotObjectType {
		return objectType(name) ?? fail(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${name}`);
	}

	private typeParam(ctx: RequestContext): HubSpotObjectType {
		return this.typeOf(ctx.params.type);
	}

	coll(t: HubSpotObjectType): Collection {
		return this.collections.get(t.name)!;
	}

	/** All stored properties plus the computed system ones. */
	allProperties(t: HubSpotObjectType, rec: StoredRecord): Record<string, string> {
		const props: Record<string, string> = { ...(rec.fields as Record<string, string>) };
		props.hs_object_id = rec.id;
		// createdate may be set explicitly (imports); otherwise it is the creation time.
		props[t.createdProperty] = props[t.createdProperty] ?? new Date(rec.createdAt).toISOString();
		props[t.modifiedProperty] = new Date(rec.updatedAt).toISOString();
		if (t.createdProperty === 'hs_createdate') props.createdate = props.hs_createdate;
		return props;
	}

	/**
	 * One property for filtering/sorting, without building the whole map. Computed datetimes
	 * come back as epoch-ms strings (compared like the ISO values allProperties shows).
	 */
	private property(t: HubSpotObjectType, rec: StoredRecord, name: string): unknown {
		if (name === 'hs_object_id') return rec.id;
		if (name === t.modifiedProperty) return String(rec.updatedAt);
		if (name === t.createdProperty || name === 'createdate') return rec.fields[t.createdProperty] ?? String(rec.createdAt);
		return rec.fields[name];
	}

	/**
	 * SimplePublicObject. `properties` undefined = the type's defaults; requested properties
	 * without a value are returned as null.
	 */
	toPublic(t: HubSpotObjectType, rec: StoredRecord, properties: string[] | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
		const all = this.allProperties(t, rec);
		const names = properties && properties.length ? [...new Set([...properties, 'hs_object_id', t.createdProperty, t.modifiedProperty])] : t.defaultProperties;
		const props: Record<string, string | null> = {};
		for (const n of names) props[n] = all[n] ?? null;
		const out: Record<string, unknown> = {
			id: rec.id,
			properties: props,
			createdAt: new Date(rec.createdAt).toISOString(),
			updatedAt: new Date(rec.updatedAt).toISOString(),
			archived: rec.deletedAt !== undefined,
			// The record's page in HubSpot's app (v3-get-contact-recorded.json); not on PATCH replies.
			url: `https://app.hubspot.com/contacts/${this.portalId}/record/${t.typeId}/${rec.id}`,
			...extra,
		};
		if (rec.deletedAt !== undefined) out.archivedAt = new Date(rec.deletedAt).toISOString();
		return out;
	}

	/** Validates and normalises input properties to HubSpot's string values (all problems at once). */
	private normaliseProperties(t: HubSpotObjectType, input: unknown): Record<string, string> {
		if (input === undefined || input === null) return {};
		if (typeof input !== 'object' || Array.isArray(input)) fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: properties must be an object');
		const out: Record<string, string> = {};
		const problems: { message: string; error: string; name: string }[] = [];
		for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
			const def = this.propertyDef(t, name);
			if (!def) {
				problems.push({ message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name });
				continue;
			}
			if (def.readOnly) {
				problems.push({ message: `${name} is a read only property; its value cannot be set.`, error: 'READ_ONLY_VALUE', name });
				continue;
			}
			const s = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
			if (t.name === 'contacts' && name === 'email' && s !== '') {
				if (!EMAIL_RE.test(s.trim())) {
					problems.push({ message: `Email address ${s} is invalid`, error: 'INVALID_EMAIL', name });
					continue;
				}
				// HubSpot stores contact emails lower-cased.
				out[name] = s.trim().toLowerCase();
				continue;
			}
			const normalised = normaliseValue(def, s);
			if (typeof normalised === 'string') out[name] = normalised;
			else problems.push(normalised);
		}
		if (problems.length) invalidProperties(problems);
		return out;
	}

	// ---- properties API --------------------------------------------------------------------------

	private readonly standardDefs = new Map(Object.entries(STANDARD_PROPERTIES).map(([type, defs]) => [type, new Map(defs.map((d) => [d.name, d]))]));
	private readonly customDefs = new Map<string, Map<string, PropertyDef>>();

	propertyDef(t: HubSpotObjectType, name: string): PropertyDef | undefined {
		return this.standardDefs.get(t.name)?.get(name) ?? this.customDefs.get(t.name)?.get(name);
	}

	private kindOf(t: HubSpotObjectType): KindOf {
		return (name) => {
			const type = this.propertyDef(t, name)?.type;
			return type === 'number' ? 'number' : type === 'datetime' || type === 'date' ? 'datetime' : 'string';
		};
	}

	private allDefs(t: HubSpotObjectType): PropertyDef[] {
		return [...(this.standardDefs.get(t.name)?.values() ?? []), ...(this.customDefs.get(t.name)?.values() ?? [])];
	}

	private listProperties(ctx: RequestContext): Reply {
		return json(200, { results: this.allDefs(this.typeParam(ctx)).map(publicProperty) });
	}

	private getProperty(ctx: RequestContext): Reply {
		const def = this.propertyDef(this.typeParam(ctx), ctx.params.name) ?? fail(404, 'OBJECT_NOT_FOUND', `Unable to find property ${ctx.params.name}`);
		return json(200, publicProperty(def));
	}

	/** POST /crm/v3/properties/{type}: {name, label, type, fieldType, groupName, options?, hasUniqueValue?}. */
	private createProperty(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const b = (ctx.body ?? {}) as { name?: string; label?: string; type?: string; fieldType?: string; groupName?: string; options?: { value: string; label: string }[]; hasUniqueValue?: boolean };
		const types: PropertyType[] = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool'];
		if (!b.name || !/^[a-z][a-z0-9_]*$/.test(b.name)) fail(400, 'VALIDATION_ERROR', 'name must be a lower-case internal name');
		if (!b.label || !b.groupName || !b.fieldType || !types.includes(b.type as PropertyType)) fail(400, 'VALIDATION_ERROR', `label, groupName, fieldType and type (${types.join('|')}) are required`);
		if (this.propertyDef(t, b.name)) fail(409, 'CONFLICT', `A property named '${b.name}' already exists.`);
		const now = new Date().toISOString();
		const def: PropertyDef = { name: b.name, label: b.label, type: b.type as PropertyType, fieldType: b.fieldType, groupName: b.groupName, options: b.options, unique: b.hasUniqueValue, hubspotDefined: false, createdAt: now, updatedAt: now };
		let m = this.customDefs.get(t.name);
		if (!m) this.customDefs.set(t.name, (m = new Map()));
		m.set(def.name, def);
		return json(201, publicProperty(def));
	}

	private updateProperty(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const def = this.customDefs.get(t.name)?.get(ctx.params.name);
		if (!def) {
			if (this.propertyDef(t, ctx.params.name)) fail(400, 'VALIDATION_ERROR', `${ctx.params.name} is a HubSpot-defined property and cannot be changed`);
			fail(404, 'OBJECT_NOT_FOUND', `Unable to find property ${ctx.params.name}`);
		}
		const b = (ctx.body ?? {}) as Partial<PropertyDef>;
		if (b.label) def.label = b.label;
		if (b.options) def.options = b.options;
		if (b.groupName) def.groupName = b.groupName;
		def.updatedAt = new Date().toISOString();
		return json(200, publicProperty(def));
	}

	private archiveProperty(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		if (!this.customDefs.get(t.name)?.delete(ctx.params.name)) {
			if (this.propertyDef(t, ctx.params.name)) fail(400, 'VALIDATION_ERROR', `${ctx.params.name} is a HubSpot-defined property and cannot be archived`);
			fail(404, 'OBJECT_NOT_FOUND', `Unable to find property ${ctx.params.name}`);
		}
		return { status: 204 };
	}

	/** 409 when another live contact already has this email. */
	private checkEmailFree(t: HubSpotObjectType, email: string | undefined, selfId?: string): void {
		if (t.name !== 'contacts' || !email) return;
		const other = this.coll(t)
			.findBy('email', email)
			.find((r) => r.id !== selfId);
		if (other) fail(409, 'CONFLICT', `Contact already exists. Existing ID: ${other.id}`);
	}

	/** Looks up by id (following merges) or by a unique idProperty. */
	private find(t: HubSpotObjectType, id: string, idProperty?: string | null, archived = false): StoredRecord | undefined {
		const c = this.coll(t);
		if (idProperty && idProperty !== 'hs_object_id') {
			if (idProperty !== 'email' || t.name !== 'contacts') fail(400, 'VALIDATION_ERROR', `${idProperty} is not a unique property of ${t.name}`);
			const found = c.findBy('email', id, { includeDeleted: archived });
			return found.find((r) => (r.deletedAt !== undefined) === archived);
		}
		const rec = c.get(id, { includeDeleted: true });
		if (rec && (rec.deletedAt !== undefined) === archived) return rec;
		if (!archived) {
			const winner = this.mergedInto.get(id);
			if (winner) return this.find(t, winner, undefined, false);
		}
		return undefined;
	}

	create(t: HubSpotObjectType, rawProps: unknown, associations: unknown, source: ChangeSource): StoredRecord {
		const props = this.normaliseProperties(t, rawProps);
		if (t.createdProperty === 'hs_createdate' && !props.hs_timestamp) invalidProperties([{ message: 'hs_timestamp is required', error: 'REQUIRED_PROPERTY', name: 'hs_timestamp' }]);
		if (t.name === 'deals' && !props.pipeline) props.pipeline = 'default';
		this.checkEmailFree(t, props.email);
		const links = this.resolveAssociations(t, associations);
		for (const k of Object.keys(props)) if (props[k] === '') delete props[k];
		const rec = this.coll(t).insert(props);
		for (const l of links) this.associate(t, rec.id, l.toType, l.toId, l.typeIds, source);
		this.hooks.emit(t, rec.id, 'creation', source, props);
		return rec;
	}

	update(t: HubSpotObjectType, id: string, rawProps: unknown, source: ChangeSource, idProperty?: string | null): StoredRecord {
		const rec = this.find(t, id, idProperty) ?? fail(404, 'OBJECT_NOT_FOUND', 'resource not found', { context: { id: [id] } });
		const props = this.normaliseProperties(t, rawProps);
		if (props.email !== undefined) this.checkEmailFree(t, props.email, rec.id);
		const changed: Record<string, string> = {};
		const patch: Record<string, string | undefined> = {};
		for (const [k, v] of Object.entries(props)) {
			const old = (rec.fields[k] as string | undefined) ?? '';
			if (old === v) continue;
			changed[k] = v;
			patch[k] = v === '' ? undefined : v;
		}
		// HubSpot bumps the modified date on every accepted write, even when nothing changed.
		this.coll(t).update(rec.id, patch);
		this.hooks.emit(t, rec.id, 'propertyChange', source, changed);
		return rec;
	}

	archive(t: HubSpotObjectType, id: string, source: ChangeSource): boolean {
		const rec = this.find(t, id);
		if (!rec) return false;
		this.coll(t).softDelete(rec.id);
		this.hooks.emit(t, rec.id, 'deletion', source, {});
		return true;
	}

	// ---- associations --------------------------------------------------------------------------

	private resolveAssociations(t: HubSpotObjectType, input: unknown): { toType: HubSpotObjectType; toId: string; typeIds: number[] }[] {
		if (input === undefined || input === null) return [];
		if (!Array.isArray(input)) fail(400, 'VALIDATION_ERROR', 'associations must be an array');
		return (input as AssociationInput[]).map((a) => {
			const toId = String(a?.to?.id ?? '');
			const typeIds = (a?.types ?? []).map((x) => Number(x.associationTypeId));
			if (!toId || !typeIds.length) fail(400, 'VALIDATION_ERROR', 'Each association needs to.id and types');
			const infos = typeIds.map((id) => associationType(id));
			const first = infos[0];
			if (!first || first.from !== t.singular || infos.some((i) => !i || i.to !== first.to)) {
				fail(400, 'VALIDATION_ERROR', `association type id(s) ${typeIds.join(',')} are not valid from ${t.singular}`, { subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE' });
			}
			const toType = this.typeOf(first.to);
			if (!this.coll(toType).get(toId)) fail(400, 'VALIDATION_ERROR', `${toType.singular} ${toId} to associate does not exist`, { context: { id: [toId] } });
			return { toType, toId, typeIds };
		});
	}

	/** Adds association type ids in both directions (inverse ids on the other side). */
	associate(t: HubSpotObjectType, id: string, toType: HubSpotObjectType, toId: string, typeIds: number[], source?: ChangeSource): void {
		const fwd = this.assocSet(t, id, toType, toId);
		const back = this.assocSet(toType, toId, t, id);
		const isNew = fwd.size === 0;
		for (const typeId of typeIds) {
			fwd.add(typeId);
			const inv = associationType(typeId)?.inverse;
			if (inv !== undefined) back.add(inv);
		}
		if (t.name === 'contacts' && toType.name === 'companies' && typeIds.includes(1)) {
			this.coll(t).get(id)!.fields.associatedcompanyid = toId;
		}
		if (source && isNew) this.hooks.emitAssociation(t, id, toType, toId, typeIds[0], false, source);
	}

	private assocSet(t: HubSpotObjectType, id: string, toType: HubSpotObjectType, toId: string): Set<number> {
		const key = `${t.name}:${id}`;
		let m = this.assoc.get(key);
		if (!m) this.assoc.set(key, (m = new Map()));
		const k2 = `${toType.name}:${toId}`;
		let s = m.get(k2);
		if (!s) m.set(k2, (s = new Set()));
		return s;
	}

	private associationsOf(t: HubSpotObjectType, id: string): Record<string, { id: string; typeIds: number[] }[]> {
		const out: Record<string, { id: string; typeIds: number[] }[]> = {};
		for (const [k, s] of this.assoc.get(`${t.name}:${id}`) ?? []) {
			if (!s.size) continue;
			const [type, toId] = k.split(':');
			(out[type] ??= []).push({ id: toId, typeIds: [...s] });
		}
		return out;
	}

	/** v3 `associations` block of GET responses. */
	private v3Associations(t: HubSpotObjectType, id: string, wanted: string[]): Record<string, unknown> | undefined {
		if (!wanted.length) return undefined;
		const all = this.associationsOf(t, id);
		const out: Record<string, unknown> = {};
		for (const w of wanted) {
			const toType = objectType(w);
			if (!toType) continue;
			const list = (all[toType.name] ?? []).filter((x) => this.coll(toType).get(x.id));
			if (!list.length) continue;
			out[toType.name] = {
				results: list.flatMap((x) =>
					x.typeIds.map((typeId) => {
						const info = associationType(typeId);
						return { id: x.id, type: `${t.singular}_to_${toType.singular}${info?.label ? '' : '_unlabeled'}` };
					}),
				),
			};
		}
		return Object.keys(out).length ? out : undefined;
	}

	/**
	 * POST /crm/v3/associations/{from}/{to}/batch/create {inputs: [{from: {id}, to: {id}, type}]}:
	 * the default association; each input answers two results, one per direction
	 * (v3-batch-associations-create-recorded.json).
	 */
	private v3AssociationsCreate(ctx: RequestContext): Reply {
		const fromType = this.typeOf(ctx.params.fromType);
		const toType = this.typeOf(ctx.params.toType);
		const started = new Date().toISOString();
		const info = defaultAssociationType(fromType.singular, toType.singular) ?? fail(400, 'VALIDATION_ERROR', `no default association from ${fromType.singular} to ${toType.singular}`);
		const results: unknown[] = [];
		const errors: HubSpotError[] = [];
		for (const input of this.batchInputs(ctx)) {
			const fromId = String((input.from as { id?: unknown } | undefined)?.id ?? '');
			const toId = String((input.to as { id?: unknown } | undefined)?.id ?? '');
			const from = this.find(fromType, fromId);
			const to = this.find(toType, toId);
			if (!from || !to) {
				errors.push(new HubSpotError(404, 'OBJECT_NOT_FOUND', `${from ? toType.singular : fromType.singular} ${from ? toId : fromId} not found`, { context: { ids: [from ? toId : fromId] } }));
				continue;
			}
			this.associate(fromType, from.id, toType, to.id, [info.typeId], this.apiSource(ctx));
			// The recording lists the inverse direction first.
			results.push({ from: { id: to.id }, to: { id: from.id }, type: `${toType.singular}_to_${fromType.singular}` });
			results.push({ from: { id: from.id }, to: { id: to.id }, type: `${fromType.singular}_to_${toType.singular}` });
		}
		return this.batchReply(201, results, errors, started);
	}

	private v4Create(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const toType = this.typeOf(ctx.params.toType);
		const from = this.find(t, ctx.params.id) ?? fail(404, 'OBJECT_NOT_FOUND', `${t.singular} ${ctx.params.id} not found`);
		const to = this.find(toType, ctx.params.toId) ?? fail(404, 'OBJECT_NOT_FOUND', `${toType.singular} ${ctx.params.toId} not found`);
		const specs = Array.isArray(ctx.body) ? (ctx.body as { associationCategory?: string; associationTypeId?: number }[]) : fail(400, 'VALIDATION_ERROR', 'body must be an array of association specs');
		const links = this.resolveAssociations(t, [{ to: { id: to.id }, types: specs }]);
		if (links[0].toType.name !== toType.name) fail(400, 'VALIDATION_ERROR', 'association type does not match toObjectType');
		this.associate(t, from.id, toType, to.id, links[0].typeIds, this.apiSource(ctx));
		const labels = links[0].typeIds.map((id) => associationType(id)?.label).filter((x): x is string => !!x);
		return json(201, { fromObjectTypeId: t.typeId, fromObjectId: Number(from.id), toObjectTypeId: toType.typeId, toObjectId: Number(to.id), labels });
	}

	private v4CreateDefault(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const toType = this.typeOf(ctx.params.toType);
		const from = this.find(t, ctx.params.id) ?? fail(404, 'OBJECT_NOT_FOUND', `${t.singular} ${ctx.params.id} not found`);
		const to = this.find(toType, ctx.params.toId) ?? fail(404, 'OBJECT_NOT_FOUND', `${toType.singular} ${ctx.params.toId} not found`);
		const info = defaultAssociationType(t.singular, toType.singular) ?? fail(400, 'VALIDATION_ERROR', `no default association from ${t.singular} to ${toType.singular}`);
		this.associate(t, from.id, toType, to.id, [info.typeId], this.apiSource(ctx));
		const now = new Date().toISOString();
		return json(200, {
			status: 'COMPLETE',
			results: [
				{ from: { id: from.id }, to: { id: to.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: info.typeId } },
				{ from: { id: to.id }, to: { id: from.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: info.inverse } },
			],
			startedAt: now,
			completedAt: now,
		});
	}

	private v4Archive(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const toType = this.typeOf(ctx.params.toType);
		const fwd = this.assoc.get(`${t.name}:${ctx.params.id}`)?.get(`${toType.name}:${ctx.params.toId}`);
		const back = this.assoc.get(`${toType.name}:${ctx.params.toId}`)?.get(`${t.name}:${ctx.params.id}`);
		if (fwd?.size) {
			const first = [...fwd][0];
			fwd.clear();
			back?.clear();
			this.hooks.emitAssociation(t, ctx.params.id, toType, ctx.params.toId, first, true, this.apiSource(ctx));
		}
		return { status: 204 };
	}

	private v4List(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const toType = this.typeOf(ctx.params.toType);
		const from = this.find(t, ctx.params.id) ?? fail(404, 'OBJECT_NOT_FOUND', `${t.singular} ${ctx.params.id} not found`);
		const list = (this.associationsOf(t, from.id)[toType.name] ?? []).filter((x) => this.coll(toType).get(x.id));
		const limit = Math.min(Number(ctx.query.get('limit') ?? 500), 500);
		const after = Number(ctx.query.get('after') ?? 0);
		const page = list.slice(after, after + limit);
		return json(200, {
			results: page.map((x) => ({
				toObjectId: Number(x.id),
				associationTypes: x.typeIds.map((typeId) => ({ category: 'HUBSPOT_DEFINED', typeId, label: associationType(typeId)?.label ?? null })),
			})),
			...(after + limit < list.length ? { paging: { next: { after: String(after + limit) } } } : {}),
		});
	}

	// ---- single-object endpoints ---------------------------------------------------------------

	private getOne(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const archived = ctx.query.get('archived') === 'true';
		const rec = this.find(t, ctx.params.id, ctx.query.get('idProperty'), archived);
		if (!rec) fail(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', { context: { id: [ctx.params.id] } });
		const assoc = this.v3Associations(t, rec.id, queryList(ctx, 'associations'));
		return json(200, this.toPublic(t, rec, queryList(ctx, 'properties'), assoc ? { associations: assoc } : {}));
	}

	private list(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const limit = Number(ctx.query.get('limit') ?? 10);
		if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) fail(400, 'VALIDATION_ERROR', `limit must be between 1 and ${LIST_LIMIT}`);
		const archived = ctx.query.get('archived') === 'true';
		const after = Number(ctx.query.get('after') ?? 0);
		const props = queryList(ctx, 'properties');
		const wantedAssoc = queryList(ctx, 'associations');
		const results: unknown[] = [];
		let last: StoredRecord | undefined;
		let more = false;
		for (const rec of this.coll(t).valuesAfterSeq(Number.isFinite(after) ? after : 0, { includeDeleted: archived })) {
			if (archived && rec.deletedAt === undefined) continue;
			if (results.length === limit) {
				more = true;
				break;
			}
			const assoc = this.v3Associations(t, rec.id, wantedAssoc);
			results.push(this.toPublic(t, rec, props, assoc ? { associations: assoc } : {}));
			last = rec;
		}
		const body: Record<string, unknown> = { results };
		if (more && last) {
			const next = String(last.seq);
			body.paging = { next: { after: next, link: `${this.url}/crm/v3/objects/${t.name}?after=${next}` } };
		}
		return json(200, body);
	}

	private createOne(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const b = (ctx.body ?? {}) as { properties?: unknown; associations?: unknown };
		const rec = this.create(t, b.properties, b.associations, this.apiSource(ctx));
		return json(201, this.toPublic(t, rec, Object.keys((b.properties as object) ?? {})));
	}

	private updateOne(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const b = (ctx.body ?? {}) as { properties?: unknown };
		const rec = this.update(t, ctx.params.id, b.properties, this.apiSource(ctx), ctx.query.get('idProperty'));
		// A PATCH reply has no `url` (v3-update-contact-clear-email-recorded.json).
		const { url: _url, ...reply } = this.toPublic(t, rec, Object.keys((b.properties as object) ?? {}));
		return json(200, withCleared(reply, b.properties));
	}

	private archiveOne(ctx: RequestContext, source: ChangeSource): Reply {
		const t = this.typeParam(ctx);
		// HubSpot answers 204 even when the object is already gone.
		this.archive(t, ctx.params.id, source);
		return { status: 204 };
	}

	// ---- batch endpoints -----------------------------------------------------------------------

	private batchInputs(ctx: RequestContext): Record<string, unknown>[] {
		const inputs = (ctx.body as { inputs?: unknown } | undefined)?.inputs;
		if (!Array.isArray(inputs)) fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs must be an array');
		if (inputs.length > BATCH_LIMIT) {
			fail(400, 'VALIDATION_ERROR', `Batch input size ${inputs.length} exceeds the limit of ${BATCH_LIMIT}`, { context: { size: [String(inputs.length)], limit: [String(BATCH_LIMIT)] } });
		}
		return inputs as Record<string, unknown>[];
	}

	/** 200/201 when everything worked, 207 with numErrors/errors otherwise. */
	private batchReply(okStatus: number, results: unknown[], errors: HubSpotError[], started: string): Reply {
		const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: started, completedAt: new Date().toISOString() };
		if (!errors.length) return json(okStatus, body);
		body.numErrors = errors.length;
		// Per-input errors hold status, category, message, context (and subCategory, errors when
		// there are some): no `links` (batch-update-contacts-207-partial-amp.json).
		body.errors = errors.map((e) => ({
			status: 'error',
			category: e.category,
			message: e.message,
			context: e.extra.context ?? {},
			...(e.extra.errors?.length ? { errors: e.extra.errors } : {}),
			...(e.extra.subCategory ? { subCategory: e.extra.subCategory } : {}),
		}));
		return json(207, body);
	}

	private batchRead(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const started = new Date().toISOString();
		const inputs = this.batchInputs(ctx);
		const b = ctx.body as { properties?: string[]; idProperty?: string };
		const archived = ctx.query.get('archived') === 'true';
		const results: unknown[] = [];
		const missing: string[] = [];
		for (const input of inputs) {
			const id = String(input.id ?? '');
			const rec = id ? this.find(t, id, b.idProperty, archived) : undefined;
			if (rec) results.push(this.toPublic(t, rec, b.properties));
			else missing.push(id);
		}
		const errors = missing.length
			? [new HubSpotError(404, 'OBJECT_NOT_FOUND', `Could not get some ${t.singular.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { context: { ids: missing } })]
			: [];
		return this.batchReply(200, results, errors, started);
	}

	private batchCreate(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const started = new Date().toISOString();
		const source = this.apiSource(ctx);
		const results: unknown[] = [];
		const errors: HubSpotError[] = [];
		const inputs = this.batchInputs(ctx);
		this.validateAllProperties(t, inputs);
		inputs.forEach((input) => {
			try {
				const rec = this.create(t, input.properties, input.associations, source);
				results.push(this.toPublic(t, rec, Object.keys((input.properties as object) ?? {})));
			} catch (err) {
				if (!(err instanceof HubSpotError)) throw err;
				// Real HubSpot names the failed input by the objectWriteTraceId the client sent (if any)
				// and a duplicate by context.existingId (fixture batch-create-contacts-207-partial-amp.json).
				const trace = typeof input.objectWriteTraceId === 'string' ? input.objectWriteTraceId : undefined;
				const existing = err.category === 'CONFLICT' ? /Existing ID: (\d+)/.exec(err.message)?.[1] : undefined;
				errors.push(withContext(err, { ...(trace !== undefined ? { objectWriteTraceId: [trace] } : {}), ...(existing ? { existingId: [existing] } : {}) }));
			}
		});
		return this.batchReply(201, results, errors, started);
	}

	/**
	 * Batch create checks every input's properties first: any problem fails the whole batch with one
	 * 400 listing all of them (batch-create-contacts-400-invalid-properties-amp.json).
	 */
	private validateAllProperties(t: HubSpotObjectType, inputs: Record<string, unknown>[]): void {
		const prefix = 'Property values were not valid: ';
		const details: { message: string; error: string; name: string }[] = [];
		for (const input of inputs) {
			try {
				this.normaliseProperties(t, input.properties);
			} catch (err) {
				if (!(err instanceof HubSpotError) || !err.message.startsWith(prefix)) throw err;
				for (const d of JSON.parse(err.message.slice(prefix.length)) as { message: string; error: string; name: string }[]) details.push({ message: d.message, error: d.error, name: d.name });
			}
		}
		if (details.length) invalidProperties(details);
	}

	private batchUpdate(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const started = new Date().toISOString();
		const source = this.apiSource(ctx);
		const results: unknown[] = [];
		const errors: HubSpotError[] = [];
		const idProperty = (ctx.body as { idProperty?: string }).idProperty;
		const inputs = this.batchInputs(ctx);
		const ids = inputs.map((input) => String(input.id ?? ''));
		const twice = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
		// batch-update-contacts-400-duplicate-ids-amp.json
		if (twice.length) fail(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${twice.join(', ')}]. IDs must be unique`, { context: { ids: twice } });
		for (const input of inputs) {
			const id = String(input.id ?? '');
			try {
				const rec = this.update(t, id, input.properties, source, (input.idProperty as string | undefined) ?? idProperty);
				results.push(withCleared(this.toPublic(t, rec, Object.keys((input.properties as object) ?? {})), input.properties));
			} catch (err) {
				if (!(err instanceof HubSpotError)) throw err;
				// A batch error names the input by `ids` only (batch-update-contacts-207-partial-amp.json).
				const { id: _id, ...context } = err.extra.context ?? {};
				errors.push(new HubSpotError(err.status, err.category, err.message, { ...err.extra, context: { ...context, ids: [id] } }));
			}
		}
		return this.batchReply(200, results, errors, started);
	}

	private batchUpsert(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const started = new Date().toISOString();
		const source = this.apiSource(ctx);
		const results: unknown[] = [];
		const errors: HubSpotError[] = [];
		for (const input of this.batchInputs(ctx)) {
			const id = String(input.id ?? '');
			const idProperty = String(input.idProperty ?? 'hs_object_id');
			try {
				if (!id) fail(400, 'VALIDATION_ERROR', 'upsert input needs an id');
				if (idProperty !== 'hs_object_id' && !(idProperty === 'email' && t.name === 'contacts')) {
					fail(400, 'VALIDATION_ERROR', `${idProperty} is not a unique identifier property of ${t.name}`);
				}
				const existing = this.find(t, id, idProperty);
				let rec: StoredRecord;
				let created = false;
				if (existing) rec = this.update(t, existing.id, input.properties, source);
				else if (idProperty === 'hs_object_id') fail(404, 'OBJECT_NOT_FOUND', `No ${t.singular} with id ${id}`);
				else {
					rec = this.create(t, { ...(input.properties as object), [idProperty]: id }, undefined, source);
					created = true;
				}
				results.push(this.toPublic(t, rec, Object.keys((input.properties as object) ?? {}), { new: created }));
			} catch (err) {
				if (!(err instanceof HubSpotError)) throw err;
				errors.push(withContext(err, { ids: [id] }));
			}
		}
		return this.batchReply(200, results, errors, started);
	}

	private batchArchive(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const source = this.apiSource(ctx);
		for (const input of this.batchInputs(ctx)) this.archive(t, String(input.id ?? ''), source);
		return { status: 204 };
	}

	// ---- search ----------------------------------------------------------------------------------

	private search(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		const b = (ctx.body ?? {}) as { filterGroups?: FilterGroup[]; sorts?: unknown[]; properties?: string[]; limit?: number; after?: string | number; query?: string };
		const problem = validateFilterGroups(b.filterGroups);
		if (problem) fail(400, 'VALIDATION_ERROR', problem);
		const limit = b.limit === undefined ? 10 : Number(b.limit);
		if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) fail(400, 'VALIDATION_ERROR', `limit must be between 0 and ${SEARCH_LIMITS.maxLimit}`);
		const after = b.after === undefined || b.after === '' ? 0 : Number(b.after);
		if (!Number.isInteger(after) || after < 0) fail(400, 'VALIDATION_ERROR', 'after must be a non-negative integer string');
		if (after >= SEARCH_LIMITS.maxWindow) {
			fail(400, 'VALIDATION_ERROR', `The search result window is limited to ${SEARCH_LIMITS.maxWindow} results; 'after' must be below ${SEARCH_LIMITS.maxWindow}.`, { context: { after: [String(after)] } });
		}
		const sort = parseSort(b.sorts);
		const groups = b.filterGroups ?? [];
		const candidates = this.searchCandidates(t, groups, sort);
		const matches: StoredRecord[] = [];
		const kindOf = this.kindOf(t);
		for (const rec of candidates.records) {
			const get = (name: string) => this.property(t, rec, name);
			if (matchesGroups(get, groups, kindOf) && matchesQuery(get, b.query, t.textProperties)) matches.push(rec);
		}
		if (!candidates.sorted) {
			const prop = sort?.propertyName ?? 'hs_object_id';
			const dir = sort?.direction === 'DESCENDING' ? -1 : 1;
			const keyed = matches.map((r) => ({ r, k: comparable(kindOf(prop), this.property(t, r, prop)) }));
			keyed.sort((x, y) => {
				if (x.k === y.k) return Number(x.r.id) - Number(y.r.id);
				if (x.k === undefined) return 1;
				if (y.k === undefined) return -1;
				return (x.k < y.k ? -1 : 1) * dir;
			});
			matches.splice(0, matches.length, ...keyed.map((x) => x.r));
		}
		const end = Math.min(after + limit, matches.length, SEARCH_LIMITS.maxWindow);
		const results = matches.slice(after, end).map((r) => this.toPublic(t, r, b.properties));
		const body: Record<string, unknown> = { total: matches.length, results };
		if (end < matches.length && limit > 0) body.paging = { next: { after: String(end) } };
		return json(200, body);
	}

	/**
	 * Narrows search candidates using indexes: EQ on contact email, EQ on hs_object_id, or a
	 * lower bound on the modified date (delta reads; already in ascending order).
	 */
	private searchCandidates(t: HubSpotObjectType, groups: FilterGroup[], sort: { propertyName: string; direction: string } | undefined): { records: Iterable<StoredRecord>; sorted: boolean } {
		const c = this.coll(t);
		if (groups.length === 1) {
			const filters = groups[0].filters;
			const email = filters.find((f) => f.propertyName === 'email' && f.operator === 'EQ');
			if (email && t.name === 'contacts') return { records: c.findBy('email', email.value).filter((r) => String(r.fields.email ?? '').toLowerCase() === String(email.value).toLowerCase()), sorted: false };
			const idEq = filters.find((f) => f.propertyName === 'hs_object_id' && f.operator === 'EQ');
			if (idEq) {
				const rec = c.get(String(idEq.value));
				return { records: rec ? [rec] : [], sorted: false };
			}
			const lower = filters.find((f) => f.propertyName === t.modifiedProperty && (f.operator === 'GT' || f.operator === 'GTE' || f.operator === 'BETWEEN'));
			const since = lower ? comparable('datetime', lower.value) : undefined;
			if (typeof since === 'number') {
				const ascByModified = sort?.propertyName === t.modifiedProperty && sort.direction !== 'DESCENDING';
				return { records: c.changedSince(since, { inclusive: lower!.operator !== 'GT' }), sorted: ascByModified };
			}
		}
		return { records: c.values(), sorted: false };
	}

	// ---- GDPR delete --------------------------------------------------------------------------------

	/** POST /crm/v3/objects/contacts/gdpr-delete {objectId, idProperty?}: permanent delete, 204. */
	private gdprDelete(ctx: RequestContext): Reply {
		const t = this.typeParam(ctx);
		if (t.name !== 'contacts') fail(400, 'VALIDATION_ERROR', 'GDPR delete is only available for contacts');
		const b = (ctx.body ?? {}) as { objectId?: unknown; idProperty?: string };
		const id = String(b.objectId ?? '');
		if (!id) fail(400, 'VALIDATION_ERROR', 'objectId is required');
		const rec = this.find(t, id, b.idProperty) ?? this.find(t, id, b.idProperty, true) ?? fail(404, 'OBJECT_NOT_FOUND', 'resource not found', { context: { id: [id] } });
		this.coll(t).remove(rec.id);
		this.assoc.delete(`${t.name}:${rec.id}`);
		this.hooks.emit(t, rec.id, 'privacyDeletion', this.apiSource(ctx), {});
		return { status: 204 };
	}

	// ---- merge ------------------------------------------------------------------------------------

	private merge(ctx: RequestContext, source: ChangeSource): Reply {
		const t = this.typeParam(ctx);
		if (!['contacts', 'companies', 'deals'].includes(t.name)) fail(400, 'VALIDATION_ERROR', `merge is not supported for ${t.name}`);
		const b = (ctx.body ?? {}) as { primaryObjectId?: unknown; objectIdToMerge?: unknown };
		const primaryId = String(b.primaryObjectId ?? '');
		const loserId = String(b.objectIdToMerge ?? '');
		if (!primaryId || !loserId) fail(400, 'VALIDATION_ERROR', 'primaryObjectId and objectIdToMerge are required');
		if (primaryId === loserId) fail(400, 'VALIDATION_ERROR', 'Cannot merge an object with itself');
		const c = this.coll(t);
		const primary = c.get(primaryId) ?? fail(404, 'OBJECT_NOT_FOUND', `Object ${primaryId} not found`, { context: { id: [primaryId] } });
		const loser = c.get(loserId) ?? fail(404, 'OBJECT_NOT_FOUND', `Object ${loserId} not found`, { context: { id: [loserId] } });
		// Primary values win; empty primary properties are filled from the merged object.
		const patch: Record<string, string> = {};
		for (const [k, v] of Object.entries(loser.fields)) {
			if (k === 'email' || k === 'hs_additional_emails' || k === 'hs_merged_object_ids') continue;
			if (primary.fields[k] === undefined || primary.fields[k] === '') patch[k] = v as string;
		}
		const moved = Object.keys(patch).length;
		if (t.name === 'contacts' && loser.fields.email) {
			if (!primary.fields.email) patch.email = loser.fields.email as string;
			else {
				const extra = [primary.fields.hs_additional_emails, loser.fields.email, loser.fields.hs_additional_emails].filter(Boolean).join(';');
				patch.hs_additional_emails = extra;
			}
		}
		patch.hs_merged_object_ids = [primary.fields.hs_merged_object_ids, loserId, loser.fields.hs_merged_object_ids].filter(Boolean).join(';');
		c.softDelete(loserId);
		c.update(primaryId, patch);
		this.mergedInto.set(loserId, primaryId);
		for (const [prevLoser, winner] of this.mergedInto) if (winner === loserId) this.mergedInto.set(prevLoser, primaryId);
		for (const [k, s] of this.assoc.get(`${t.name}:${loserId}`) ?? []) {
			const [toName, toId] = k.split(':');
			if (s.size) this.associate(t, primaryId, this.typeOf(toName), toId, [...s]);
		}
		this.hooks.emitMerge(t, primaryId, [loserId], moved, source);
		return json(200, this.toPublic(t, primary, undefined));
	}
}

/** A write's reply gives a property it cleared as "" (v3-update-contact-clear-email-recorded.json). */
function withCleared(reply: Record<string, unknown>, sent: unknown): Record<string, unknown> {
	if (!sent || typeof sent !== 'object') return reply;
	const properties = reply.properties as Record<string, string | null>;
	for (const [name, value] of Object.entries(sent as Record<string, unknown>)) if ((value === '' || value === null) && name in properties) properties[name] = '';
	return reply;
}

function withContext(err: HubSpotError, context: Record<string, string[]>): HubSpotError {
	return new HubSpotError(err.status, err.category, err.message, { ...err.extra, context: { ...context, ...err.extra.context } });
}

/** Repeated (`?properties=a&properties=b`) or comma-separated query values. */
function queryList(ctx: RequestContext, name: string): string[] {
	return ctx.query
		.getAll(name)
		.flatMap((v) => v.split(','))
		.map((s) => s.trim())
		.filter(Boolean);
}

/** Search sorts: objects {propertyName, direction} or strings ('-prop' = descending); only the first is used. */
function parseSort(sorts: unknown[] | undefined): { propertyName: string; direction: string } | undefined {
	const s = sorts?.[0];
	if (!s) return undefined;
	if (typeof s === 'string') return s.startsWith('-') ? { propertyName: s.slice(1), direction: 'DESCENDING' } : { propertyName: s, direction: 'ASCENDING' };
	const o = s as { propertyName?: string; direction?: string };
	if (!o.propertyName) fail(400, 'VALIDATION_ERROR', 'sort needs a propertyName');
	return { propertyName: o.propertyName, direction: o.direction ?? 'ASCENDING' };
}

function dropEmpty<T extends Record<string, string | undefined>>(o: T): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = v;
	return out;
}

export type { HubSpotEvent };

export function createEmulator(opts?: HubSpotEmulatorOptions): HubSpotEmulator {
	return new HubSpotEmulator(opts);
}
