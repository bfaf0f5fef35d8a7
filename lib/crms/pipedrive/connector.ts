// Pipedrive through the official `pipedrive` SDK (v1 + v2 APIs).
//
// The SDK's own axios rejects with the bare response body, losing status and headers (so 429
// Retry-After is invisible). We therefore call the SDK's request-function layer ("Fp") and hand
// it our own axios instance, which keeps `error.response` intact for classification.
// Pipedrive has no batch writes and no native upsert: writes go one record per call, within the
// per-credential burst limit (transport limiter), and upsert is exact-match search + PATCH/POST.
//
// APIs: v2 persons, organizations, deals, activities (CRUD, list with updated_since, search,
// fields), v1 leads, merge, recents, webhooks, users/me; metadata: v2 pipelines and stages
// (listStages; every stage open, won/lost is the deal's status), v1 users (listUsers), v1
// currencies and users/me (listCurrencies), v2
// organizations list and search (findAccountsByDomain, findAccountsByName; website is not
// searchable, see findAccountsByDomain).
//
// What recorded replies taught us (test/conformance/pipedrive.test.ts; corrections to crm-wire.md):
// - A DELETE once answered 410 Gone with {success:true, data:{id}} (v1-delete-person-410-recorded.json):
//   the record was deleted by that call, so it counts as deleted. Only that body does: a 410 or
//   404 without success:true stays "not found", never a blind success for every 410.
// - Error bodies carry `code` as text (feature_capping_deals_limit, v1-error-403-feature-capping-docs.json)
//   or `errorCode` as a number (403, v1-error-403-scope-url-mismatch-amp.json); both become the
//   CrmError code. 403 stays a per-record validation failure, not retried.
// - The last v1 page has more_items_in_collection:false and no next_start
//   (v1-list-persons-pagination-recorded.json); the last v2 page has next_cursor:null
//   (v2-list-stages-cursor-recorded.json). Neither is taken for "more".
// - POST /v1/leads was recorded answering 200 (docs: 201), POST /v1/persons 201: any 2xx with
//   data.id is a create.
// - v1 times are "YYYY-MM-DD HH:MM:SS" in UTC and read as such (isoTime); v1 visible_to is "3",
//   v2 3. Records are kept as sent; v1 records arriving by webhook are reshaped in v1.ts.

import axios, { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { v1, v2 } from 'pipedrive';
import type { ChangeOrigin, EntityType } from '../../model';
import { classifyGeneric, credentialKey, CrmError, isUnanswered, Transport, TokenManager, tokenManagerFor, type AccessToken } from '../../http';
import { decodeCursor, encodeCursor } from '../../connectors/cursor';
import { normaliseDomain } from '../../matching/normalise-domain';
import { domainKeys, nameKeys } from '../../matching/accounts';
import { normaliseCompany } from '../../matching/normalise-company';
import { domainSearchTerm, nameSearches, toCurrencies, toStages, toUser, type PdCurrency, type PdPipeline, type PdStage, type PdUser } from './metadata';
import { leadEmail, newPersonBody, personChanges, splitPerson } from './lead-person';
import {
	entityApi,
	fieldType,
	isCustomFieldKey,
	lacksNameHalf,
	matchValue,
	normaliseMatch,
	recordMatches,
	storedMatchValues,
	toRequestBody,
	withStoredNameHalf,
	type EntityApi,
	type SdkConfigs,
	type SdkRequest,
} from './api';
import {
	byRef,
	chunk,
	notFound,
	NotImplementedError,
	type ChangePage,
	type ChangedRecord,
	type ConnectorRuntime,
	type ConvertLeadOutcome,
	type ConvertLeadRequest,
	type CreateRequest,
	type CrmConnector,
	type CrmFields,
	type CrmRecord,
	type CrmCurrencies,
	type CrmStage,
	type CrmUser,
	type DeleteRequest,
	type DeletedRecord,
	type FieldDescription,
	type ListChangesOptions,
	type MatchKind,
	type MergeRequest,
	type ReadOptions,
	type UpdateRequest,
	type UpsertRequest,
	type WriteFailure,
	type WriteOperation,
	type WriteOutcome,
} from '../../connectors/types';
import { readOnce } from '../../util/read-once';

export interface PipedriveConfig {
	/** API token (sent as the x-api-token header). Give this or the OAuth fields. */
	apiToken?: string;
	/** OAuth access token; refreshed with refreshToken + clientId/clientSecret when it expires or is refused. */
	accessToken?: string;
	refreshToken?: string;
	clientId?: string;
	clientSecret?: string;
	/** Epoch ms when accessToken expires, if known. */
	expiresAt?: number;
	/**
	 * API host: company domain (https://acme.pipedrive.com), https://api.pipedrive.com (default)
	 * or a sandbox. With OAuth the api_domain of each token response replaces it, as the SDK does.
	 */
	baseUrl?: string;
	/** OAuth server (default https://oauth.pipedrive.com). */
	oauthUrl?: string;
	/** Custom field key (40-char hash) holding the external id, per entity, for matchField('externalId'). */
	externalIdFields?: Partial<Record<EntityType, string>>;
}

/**
 * Builds the connector from n8n credential values: the API-token credential (apiToken, baseUrl)
 * or an OAuth2 credential (clientId, clientSecret, oauthTokenData {access_token, refresh_token,
 * api_domain}, optional oauthUrl / baseUrl).
 */
export function create(credentials: Record<string, unknown>, runtime: ConnectorRuntime = {}): PipedriveConnector {
	const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
	const token = credentials.oauthTokenData as { access_token?: string; refresh_token?: string; api_domain?: string } | undefined;
	if (text(credentials.apiToken)) return new PipedriveConnector({ apiToken: text(credentials.apiToken), baseUrl: text(credentials.baseUrl) }, runtime);
	if (token?.access_token || token?.refresh_token) {
		return new PipedriveConnector(
			{
				accessToken: text(token.access_token),
				refreshToken: text(token.refresh_token),
				clientId: text(credentials.clientId),
				clientSecret: text(credentials.clientSecret),
				baseUrl: text(credentials.baseUrl) ?? text(token.api_domain),
				oauthUrl: text(credentials.oauthUrl),
			},
			runtime,
		);
	}
	throw new CrmError('Pipedrive: the credential has neither an API token nor an OAuth token', 'pipedrive', 'auth');
}

const DEFAULT_HOST = 'https://api.pipedrive.com';
const DEFAULT_OAUTH_HOST = 'https://oauth.pipedrive.com';
/** Largest page Pipedrive list, search and field endpoints return. */
const PAGE_MAX = 500;
/**
 * Upserts of at least this many distinct keys consider reading the list endpoint instead of
 * searching each key. A list page (500 rows) costs 20 daily-budget tokens and one burst slot of
 * 80 per 2 s; a search costs 40 tokens and one slot of 10 per 2 s. Capped at 2 pages per key,
 * the list pass never costs more of the daily budget than the searches, and is far faster.
 */
const PREFETCH_MIN_KEYS = 20;
const PREFETCH_PAGES_PER_KEY = 2;
/**
 * findAccountsByDomain lists organizations (sorted by id) for at most this many pages per domain
 * before it searches: two list pages cost the daily-budget tokens of one search (20 + 20 vs 40),
 * so the listing never costs more than searching would, and it is complete where the search is
 * not (website is not a searchable field).
 */
const DOMAIN_LIST_PAGES_PER_DOMAIN = 2;
/** Ids GET /api/v2/organizations and /persons take at once (`ids`). */
const IDS_MAX = 100;
/** The lead match field for email: the e-mail of the lead's person (matchField). */
const LEAD_EMAIL = 'email';
// A create that got no answer is looked for among records changed from this long before it (allows for clock skew).
const UNANSWERED_LOOKBACK_MS = 5 * 60_000;
const UNANSWERED_MAX_PAGES = 20;
/** Records written at once; the credential limiter keeps the burst window. */
const WRITE_CONCURRENCY = 8;

/**
 * Documented burst windows per 2 s (Professional plan): API token 80, OAuth 320, search 10.
 * Plans differ; override with ConnectorRuntime.limits.
 */
const LIMITS = {
	apiToken: { default: { requests: 80, intervalMs: 2000, maxConcurrent: 8 }, search: { requests: 10, intervalMs: 2000, maxConcurrent: 2 } },
	oauth: { default: { requests: 320, intervalMs: 2000, maxConcurrent: 16 }, search: { requests: 10, intervalMs: 2000, maxConcurrent: 2 } },
};

interface Envelope<T = unknown> {
	success?: boolean;
	data: T;
	additional_data?: { next_cursor?: string | null; pagination?: { more_items_in_collection?: boolean; next_start?: number } } | null;
}

export interface PipedriveWebhookSpec {
	/** Where Pipedrive POSTs the events. */
	url: string;
	/** Sent by Pipedrive as HTTP Basic auth on every delivery. */
	httpAuthUser?: string;
	httpAuthPassword?: string;
	version?: '1.0' | '2.0';
	name?: string;
}

export interface PipedriveWebhook {
	id: string;
	url: string;
	version: string;
	eventAction: string;
	eventObject: string;
}

/** listChanges cursor: sweep start, position inside the sweep, and ids already seen at the boundary second. */
interface PdCursor {
	since: string;
	next?: string;
	start?: number;
	/** Ids delivered with update time == since (the API's updated_since is inclusive). */
	seen?: string[];
	/** Latest update time met in this sweep and the ids carrying it. */
	maxTime?: string;
	maxIds?: string[];
}

export class PipedriveConnector implements CrmConnector {
	readonly crm = 'pipedrive' as const;
	readonly credentialKey: string;
	private readonly transport: Transport;
	private readonly tokens: TokenManager;
	private readonly http: AxiosInstance;
	private readonly oauth: boolean;
	/** The company's currencies (read once per connector, see listCurrencies()). */
	private readonly currencies = readOnce(() => this.readCurrencies());

	constructor(
		private readonly config: PipedriveConfig,
		runtime: ConnectorRuntime = {},
	) {
		this.oauth = !config.apiToken;
		if (this.oauth && !config.accessToken && !config.refreshToken) {
			throw new Error('Pipedrive needs an API token, or an OAuth access token / refresh token');
		}
		const key = credentialKey('pipedrive', config.apiToken ?? config.refreshToken ?? config.accessToken, config.baseUrl);
		this.credentialKey = key;
		this.tokens = tokenManagerFor(key, () =>
			this.oauth
				? new TokenManager({
						initial: config.accessToken ? { accessToken: config.accessToken, expiresAt: config.expiresAt, refreshToken: config.refreshToken } : undefined,
						fetch: config.refreshToken && config.clientId && config.clientSecret ? (current) => this.refreshOAuth(current) : undefined,
					})
				: new TokenManager({ initial: { accessToken: config.apiToken! } }),
		);
		// Our axios: no interceptors, so failures keep status, headers and body.
		this.http = axios.create({ timeout: runtime.timeoutMs ?? 60_000 });
		this.transport = new Transport({
			crm: 'pipedrive',
			key,
			classify: classifyPipedriveError,
			limits: { ...(this.oauth ? LIMITS.oauth : LIMITS.apiToken), ...runtime.limits },
			retry: runtime.retry,
			token: this.tokens,
			store: runtime.store,
			timeoutMs: runtime.timeoutMs,
			onEvent: runtime.onEvent,
		});
	}

	maxBatchSize(_entity: EntityType, _operation?: WriteOperation): number {
		return 1;
	}

	/** Leads match by `email`: the e-mail of the lead's person (upsert and search find the person, then its leads). */
	matchField(entity: EntityType, kind: MatchKind): string | undefined {
		if (kind === 'externalId') return this.config.externalIdFields?.[entity];
		if (entity === 'contact') return kind;
		if (entity === 'lead' && kind === 'email') return LEAD_EMAIL;
		return undefined;
	}

	/** One record; a lead comes with its person's fields in `person` (one more GET). */
	async get(entity: EntityType, id: string, _options?: ReadOptions): Promise<CrmRecord | undefined> {
		const record = await this.getOne(entity, id);
		return record && entity === 'lead' ? (await this.withPersons([record]))[0] : record;
	}

	private async getOne(entity: EntityType, id: string): Promise<CrmRecord | undefined> {
		const api = entityApi(entity);
		if (!validId(api, id)) return undefined;
		try {
			const res = await this.send<CrmFields>(`${api.name}.get`, 'default', (c) => api.get(c, id));
			if (!res.data || res.data.is_deleted === true || res.data.active_flag === false) return undefined;
			return toRecord(res.data);
		} catch (error) {
			if (error instanceof CrmError && error.httpStatus === 404) return undefined;
			throw error;
		}
	}

	/** Leads by `email` are the open leads of the persons with that e-mail; leads come with their persons. */
	async search(entity: EntityType, field: string, values: string[], _options?: ReadOptions): Promise<CrmRecord[]> {
		const found = new Map<string, CrmRecord>();
		for (const value of values) {
			if (entity === 'lead' && field === LEAD_EMAIL) {
				for (const { lead } of await this.leadsOfPersons(await this.findIds('contact', 'email', value))) found.set(String(lead.id), toRecord(lead));
				continue;
			}
			for (const id of await this.findIds(entity, field, value)) {
				if (found.has(id)) continue;
				const record = await this.getOne(entity, id);
				if (record && recordMatches(entity, field, value, record.fields)) found.set(id, record);
			}
		}
		return entity === 'lead' ? this.withPersons([...found.values()]) : [...found.values()];
	}

	/** Leads with `person` fields get their person first (leadPersons). */
	async create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]> {
		const api = entityApi(entity);
		const { ready, failed } = entity === 'lead' ? await this.leadPersons(records) : { ready: records, failed: [] };
		return byRef([...failed, ...(await this.oneByOne(ready, async ({ ref, fields }) => ({ ref, status: 'created', id: await this.createOne(api, fields) })))]);
	}

	/** Leads with `person` fields get their person first (leadPersons); a lead left with no field of its own is not sent. */
	async update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]> {
		const api = entityApi(entity);
		const invalid = records.filter((r) => !validId(api, r.id)).map((r) => invalidId(r.ref, api, r.id));
		const valid = records.filter((r) => validId(api, r.id));
		const { ready, failed } = entity === 'lead' ? await this.leadPersons(valid) : { ready: valid, failed: [] };
		return byRef([
			...invalid,
			...failed,
			...(await this.oneByOne(ready, async ({ ref, id, fields }) => {
				if (entity !== 'lead' || Object.keys(fields).length) await this.updateOne(api, id, fields);
				return { ref, status: 'updated', id };
			})),
		]);
	}

	/**
	 * No native upsert: find the record by `matchKey`, then PATCH the single match or POST a new
	 * record. Lookups use the exact-match search (10 calls / 2 s per token), or for larger
	 * batches one pass over the list endpoint (500 rows per call, 80 calls / 2 s) into an index,
	 * when that is cheaper. Records sharing a key value run in order (the first may create, later
	 * ones update it), so the last one wins. Two existing matches are reported, not guessed.
	 */
	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		if (entity === 'lead' && matchKey === LEAD_EMAIL) return this.upsertLeadsByEmail(records);
		const api = entityApi(entity);
		this.searchFieldFor(entity, matchKey); // rejects keys Pipedrive cannot search before writing anything
		const outcomes: WriteOutcome[] = [];
		const groups = new Map<string, { value: string; requests: UpsertRequest[] }>();
		for (const request of records) {
			const value = matchValue(entity, matchKey, request.fields);
			const key = value === undefined ? '' : normaliseMatch(entity, matchKey, value);
			if (value === undefined || key === '') {
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: `Upsert by ${matchKey} needs a value for ${matchKey}` });
				continue;
			}
			const group = groups.get(key) ?? { value, requests: [] };
			group.requests.push(request);
			groups.set(key, group);
		}
		const index = groups.size >= PREFETCH_MIN_KEYS ? await this.prefetchIndex(entity, matchKey, groups.size * PREFETCH_PAGES_PER_KEY) : undefined;
		const groupOutcomes = await this.pool([...groups.entries()], async ([key, { value, requests }]) => {
			const results: WriteOutcome[] = [];
			let ids: string[];
			try {
				ids = index ? (index.get(key) ?? []) : await this.findIds(entity, matchKey, value, true);
			} catch (error) {
				return requests.map(({ ref }) => failure(ref, error));
			}
			if (ids.length > 1) {
				return requests.map(({ ref }) => ({
					ref,
					status: 'failed' as const,
					category: 'validation' as const,
					code: 'MULTIPLE_MATCHES',
					message: `${ids.length} Pipedrive ${api.name} have ${matchKey} ${value} (ids ${ids.join(', ')}); merge them or match on another key`,
				}));
			}
			let id: string | undefined = ids[0];
			for (const { ref, fields } of requests) {
				try {
					if (id === undefined) {
						id = await this.createOrSettle(api, entity, matchKey, key, fields);
						results.push({ ref, status: 'created', id });
					} else {
						await this.updateOne(api, id, fields);
						results.push({ ref, status: 'updated', id });
					}
				} catch (error) {
					results.push(failure(ref, error));
				}
			}
			return results;
		});
		return byRef([...outcomes, ...groupOutcomes.flat()]);
	}

	/**
	 * A create that got no answer may have landed. The search index may lag behind writes, so the
	 * record is looked for in the list of records changed since just before the create; a second
	 * create is sent only when none has the key.
	 */
	private async createOrSettle(api: EntityApi, entity: EntityType, matchKey: string, key: string, fields: CrmFields): Promise<string> {
		const started = Date.now();
		try {
			return await this.createOne(api, fields);
		} catch (error) {
			if (!isUnanswered(error)) throw error;
			const since = new Date(started - UNANSWERED_LOOKBACK_MS).toISOString();
			const ids = (await this.prefetchIndex(entity, matchKey, UNANSWERED_MAX_PAGES, since))?.get(key);
			if (ids === undefined || ids.length === 0) return this.createOne(api, fields);
			if (ids.length === 1) return ids[0];
			throw error;
		}
	}

	/**
	 * Reads every record of the entity (changed from `since`) through the list endpoint into {normalised key → ids}.
	 * Gives up (undefined: search instead) after `maxPages`, where searching would have been cheaper.
	 */
	private async prefetchIndex(entity: EntityType, field: string, maxPages: number, since?: string): Promise<Map<string, string[]> | undefined> {
		const index = new Map<string, string[]>();
		let cursor: string | undefined;
		for (let page = 0; page < maxPages; page++) {
			const changes = await this.listChanges(entity, { cursor, since, pageSize: PAGE_MAX, includeDeleted: false });
			for (const record of changes.records) {
				for (const key of storedMatchValues(entity, field, record.fields)) index.set(key, [...new Set([...(index.get(key) ?? []), record.id])]);
			}
			if (!changes.hasMore) return index;
			cursor = changes.cursor;
		}
		return undefined;
	}

	delete(entity: EntityType, records: DeleteRequest[]): Promise<WriteOutcome[]> {
		const api = entityApi(entity);
		return this.oneByOne(records, async ({ ref, id }) => {
			if (!validId(api, id)) return invalidId(ref, api, id);
			try {
				await this.send(`${api.name}.delete`, 'default', (c) => api.remove(c, id));
			} catch (error) {
				if (!(error instanceof CrmError) || (error.httpStatus !== 404 && error.httpStatus !== 410)) throw error;
				// A v1 delete was once seen answering 410 Gone with success: true, i.e. done by this call.
				if ((error.body as { success?: unknown } | undefined)?.success === true) return { ref, status: 'deleted', id };
				return notFound(ref, error.message);
			}
			return { ref, status: 'deleted', id };
		});
	}

	/** PUT /v1/<type>/{loser}/merge {merge_with_id: master}: the master survives; losers are merged one at a time. */
	async merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]> {
		const api = entityApi(entity);
		const merge = api.merge;
		if (!merge) throw new NotImplementedError(`Pipedrive merge of ${entity} (Pipedrive merges persons, organizations and deals only)`);
		return this.oneByOne(requests, async ({ ref, masterId, mergeIds }) => {
			for (const id of [masterId, ...mergeIds]) if (!validId(api, id)) return invalidId(ref, api, id);
			if (mergeIds.length === 0) return { ref, status: 'failed', category: 'validation', code: 'NOTHING_TO_MERGE', message: 'Merge needs at least one record to merge into the master' };
			const merged: string[] = [];
			for (const loser of mergeIds) {
				try {
					await this.send(`${api.name}.merge`, 'default', (c) => merge(c, loser, masterId));
				} catch (error) {
					const f = failure(ref, error);
					return { ...f, message: merged.length ? `${f.message} (already merged: ${merged.join(', ')})` : f.message };
				}
				merged.push(loser);
			}
			return { ref, status: 'merged', id: masterId, mergedIds: merged };
		});
	}

	/**
	 * Pipedrive has no lead conversion: a lead that became a person (and organization) is archived
	 * and linked to them, PATCH /v1/leads/{id} {is_archived: true, person_id, organization_id (when
	 * given)}. Each lead is read first (GET /v1/leads/{id}): an archived lead answers `unchanged`
	 * with the person and organization it links; a lead that is not there answers notFound. A
	 * person or organization Pipedrive does not have fails the lead (400). Nothing is created.
	 */
	async convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]> {
		const api = entityApi('lead');
		return byRef(
			await this.pool(requests, async (r): Promise<ConvertLeadOutcome> => {
				if (!validId(api, r.id)) return invalidId(r.ref, api, r.id) as WriteFailure;
				const bad = [r.contactId, ...(r.accountId ? [r.accountId] : [])].find((id) => !/^\d+$/.test(id));
				if (bad !== undefined) return { ref: r.ref, status: 'failed', category: 'validation', code: 'INVALID_ID', message: `${JSON.stringify(bad)} is not a Pipedrive person or organization id` };
				try {
					let lead: CrmFields | undefined;
					try {
						lead = (await this.send<CrmFields>('leads.get', 'default', (c) => api.get(c, r.id))).data ?? undefined;
					} catch (error) {
						if (!(error instanceof CrmError) || (error.httpStatus !== 404 && error.httpStatus !== 410)) throw error;
					}
					if (!lead || lead.is_deleted === true) return notFound(r.ref, `Pipedrive: lead ${r.id} not found`);
					if (lead.is_archived === true) {
						const contactId = idText(lead.person_id) ?? r.contactId;
						const accountId = idText(lead.organization_id) ?? r.accountId;
						return { ref: r.ref, status: 'unchanged', id: r.id, contactId, ...(accountId ? { accountId } : {}) };
					}
					const body = { is_archived: true, person_id: Number(r.contactId), ...(r.accountId ? { organization_id: Number(r.accountId) } : {}) };
					await this.send('leads.convert', 'default', (c) => api.update(c, r.id, body));
					return { ref: r.ref, status: 'converted', id: r.id, contactId: r.contactId, ...(r.accountId ? { accountId: r.accountId } : {}) };
				} catch (error) {
					return failure(r.ref, error);
				}
			}),
		);
	}

	// ---------------------------------------------------------------- leads and their persons

	/**
	 * Upsert of leads by the e-mail of their person (the `person` fields' primary e-mail, or
	 * `email`): the persons with that e-mail (exact search), then their open leads (GET
	 * /v1/leads?person_id=; archived, i.e. converted, leads are not matched). No lead: one is created,
	 * linked to the oldest of those persons, or to a new person; one lead: it is updated (and its
	 * person written); several: MULTIPLE_MATCHES. Records sharing an e-mail run in order, so the
	 * last one wins.
	 */
	private async upsertLeadsByEmail(records: UpsertRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		const groups = new Map<string, { email: string; requests: UpsertRequest[] }>();
		for (const request of records) {
			const email = leadEmail(request.fields);
			if (email === undefined) {
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: 'Upsert of a lead by email needs the e-mail of its person' });
				continue;
			}
			const key = normaliseMatch('contact', 'email', email);
			const group = groups.get(key) ?? { email, requests: [] };
			group.requests.push(request);
			groups.set(key, group);
		}
		const groupOutcomes = await this.pool([...groups.values()], async ({ email, requests }) => {
			let persons: string[];
			let leads: Array<{ lead: CrmFields; personId: string }>;
			try {
				persons = await this.findIds('contact', 'email', email);
				leads = await this.leadsOfPersons(persons);
			} catch (error) {
				return requests.map(({ ref }) => failure(ref, error));
			}
			if (leads.length > 1) {
				return requests.map(({ ref }) => ({
					ref,
					status: 'failed' as const,
					category: 'validation' as const,
					code: 'MULTIPLE_MATCHES',
					message: `${leads.length} open Pipedrive leads belong to persons with email ${email} (ids ${leads.map((l) => String(l.lead.id)).join(', ')}); archive or merge them`,
				}));
			}
			const results: WriteOutcome[] = [];
			let id = leads.length ? String(leads[0].lead.id) : undefined;
			const personId = leads.length ? leads[0].personId : oldest(persons);
			for (const { ref, fields } of requests) {
				const linked = personId !== undefined && fields.person_id === undefined ? { ...fields, person_id: Number(personId) } : fields;
				const [outcome] = id === undefined ? await this.create('lead', [{ ref, fields: linked }]) : await this.update('lead', [{ ref, id, fields: linked }]);
				results.push(outcome);
				if (outcome.status !== 'failed' && id === undefined) id = outcome.id;
			}
			return results;
		});
		return byRef([...outcomes, ...groupOutcomes.flat()]);
	}

	/**
	 * The lead writes that carry `person` (the lead map's person fields) get their person: the one
	 * `person_id` names; else (an update) the lead's own person; else the oldest person with the
	 * person's e-mail (exact search, one per distinct e-mail); else a new person (one per e-mail in
	 * the batch; named by the fields, else by the e-mail or the lead's title; in the lead's
	 * organization). The person fields that differ from the person's are written to it (PATCH; new
	 * e-mails and phones are added, the person's others kept), the persons being read 100 a call.
	 * The lead is then written with person_id and never with `person`. A person that cannot be
	 * found, made or written fails its lead, which is then not written.
	 */
	private async leadPersons<R extends { ref: number; fields: CrmFields; id?: string }>(requests: R[]): Promise<{ ready: R[]; failed: WriteOutcome[] }> {
		interface Job {
			request: R;
			lead: CrmFields;
			person: CrmFields;
			explicit?: string;
			current?: string;
			personId?: string;
			/** The person was made from this lead's fields (nothing to write to it). */
			created?: boolean;
			failed?: WriteOutcome;
		}
		const ready: R[] = [];
		const jobs: Job[] = [];
		for (const request of requests) {
			const { lead, person } = splitPerson(request.fields);
			if (person) jobs.push({ request, lead, person, explicit: idText(lead.person_id) });
			else ready.push({ ...request, fields: lead });
		}
		if (jobs.length === 0) return { ready, failed: [] };
		const leadsApi = entityApi('lead');
		// Updates: the person the lead links now.
		await this.pool(
			jobs.filter((j) => j.explicit === undefined && j.request.id !== undefined),
			async (job) => {
				try {
					const lead = (await this.send<CrmFields>('leads.get', 'default', (c) => leadsApi.get(c, job.request.id!))).data;
					job.current = idText(lead?.person_id);
					job.personId = job.current;
				} catch (error) {
					job.failed = failure(job.request.ref, error);
				}
				return job.failed;
			},
		);
		const stored = await this.personsById(jobs.flatMap((j) => [j.explicit, j.current].filter((id): id is string => id !== undefined)));
		for (const job of jobs) {
			if (job.explicit !== undefined) {
				if (stored.has(job.explicit)) job.personId = job.explicit;
				else job.failed ??= { ref: job.request.ref, status: 'failed', category: 'validation', code: 'PERSON_NOT_FOUND', message: `Pipedrive: person ${job.explicit} not found` };
			} else if (job.personId !== undefined && !stored.has(job.personId)) job.personId = undefined;
		}
		// By e-mail, then new persons: one per distinct e-mail (or per lead without one).
		const byEmail = new Map<string, Job[]>();
		jobs.forEach((job, i) => {
			if (job.failed || job.personId !== undefined) return;
			const email = leadEmail({ person: job.person });
			const key = email === undefined ? `#${i}` : normaliseMatch('contact', 'email', email);
			byEmail.set(key, [...(byEmail.get(key) ?? []), job]);
		});
		const found = await this.pool([...byEmail.entries()], async ([key, group]) => {
			const email = key.startsWith('#') ? undefined : leadEmail({ person: group[0].person });
			try {
				return { group, id: email === undefined ? undefined : oldest(await this.findIds('contact', 'email', email)) };
			} catch (error) {
				for (const job of group) job.failed = failure(job.request.ref, error);
				return { group, id: undefined };
			}
		});
		for (const [id, person] of await this.personsById(found.flatMap((f) => (f.id ? [f.id] : [])))) stored.set(id, person);
		for (const f of found) if (f.id !== undefined && stored.has(f.id)) for (const job of f.group) job.personId = f.id;
		const fresh = found.map((f) => f.group).filter((group) => !group[0].failed && group[0].personId === undefined);
		await this.pool(fresh, async (group) => {
			const first = group[0];
			const body = newPersonBody(first.person, first.lead.organization_id, first.lead.title);
			if (body.name === undefined) {
				for (const job of group) job.failed = { ref: job.request.ref, status: 'failed', category: 'validation', code: 'MISSING_PERSON_NAME', message: "Pipedrive: the lead's person has no name, e-mail or title to be named by" };
				return first.failed;
			}
			try {
				const id = await this.createOne(entityApi('contact'), body);
				stored.set(id, body);
				for (const job of group) job.personId = id;
				// The first lead's fields made the person: only the others' may differ from it.
				first.created = true;
			} catch (error) {
				for (const job of group) job.failed = failure(job.request.ref, error);
			}
			return first.failed;
		});
		// The person fields that differ from the person: PATCH, one person at a time per person.
		const byPerson = new Map<string, Job[]>();
		for (const job of jobs) {
			if (job.failed || job.personId === undefined || job.created) continue;
			byPerson.set(job.personId, [...(byPerson.get(job.personId) ?? []), job]);
		}
		const personsApi = entityApi('contact');
		await this.pool([...byPerson.entries()], async ([id, group]) => {
			let person = stored.get(id) ?? {};
			for (const job of group) {
				const changes = personChanges(job.person, person);
				if (!changes) continue;
				try {
					await this.send('persons.update', 'default', (c) => personsApi.update(c, id, changes));
					person = { ...person, ...changes };
				} catch (error) {
					job.failed = failure(job.request.ref, error);
				}
			}
			return group.find((j) => j.failed)?.failed;
		});
		// A refused credential fails every later call too: it stops the write, as pool() does.
		const refused = jobs.find((j) => j.failed && isAuthFailure(j.failed));
		if (refused) throw (refused.failed as unknown as { error: unknown }).error;
		const failed: WriteOutcome[] = [];
		for (const job of jobs) {
			if (job.failed) failed.push(job.failed);
			else {
				const link = job.personId !== undefined && job.personId !== job.current ? { person_id: Number(job.personId) } : {};
				ready.push({ ...job.request, fields: { ...job.lead, ...link } });
			}
		}
		return { ready, failed };
	}

	/** The open leads of each person (GET /v1/leads?person_id=, every page), with the person they belong to. */
	private async leadsOfPersons(personIds: string[]): Promise<Array<{ lead: CrmFields; personId: string }>> {
		const leads: Array<{ lead: CrmFields; personId: string }> = [];
		for (const personId of personIds) {
			let start = 0;
			for (;;) {
				const res = await this.send<CrmFields[]>('leads.list', 'default', (c) => v1.LeadsApiFp(c.v1).getLeads(PAGE_MAX, start, undefined, Number(personId)));
				for (const lead of res.data ?? []) if (lead.is_archived !== true) leads.push({ lead, personId });
				const pagination = res.additional_data?.pagination;
				if (!pagination?.more_items_in_collection) break;
				start = pagination.next_start ?? start + PAGE_MAX;
			}
		}
		return leads;
	}

	/** Lead records with `person` set to their linked person (GET /api/v2/persons/{id} for one, ?ids= 100 a call for more). */
	private async withPersons<T extends CrmRecord>(records: T[]): Promise<T[]> {
		const persons = await this.personsById(records.map((r) => idText(r.fields.person_id)).filter((id): id is string => id !== undefined));
		return records.map((r) => {
			const person = persons.get(idText(r.fields.person_id) ?? '');
			return person ? { ...r, fields: { ...r.fields, person } } : r;
		});
	}

	/** Persons by id (deleted or missing ones are left out): one GET for a single id, else GET /api/v2/persons?ids= (100 a call). */
	private async personsById(ids: string[]): Promise<Map<string, CrmFields>> {
		const unique = [...new Set(ids.filter((id) => /^\d+$/.test(id)))];
		const persons = new Map<string, CrmFields>();
		const keep = (p: CrmFields | null | undefined) => {
			if (p && p.id !== undefined && p.is_deleted !== true && p.active_flag !== false) persons.set(String(p.id), p);
		};
		if (unique.length === 1) {
			keep((await this.getOne('contact', unique[0]))?.fields);
			return persons;
		}
		for (const part of chunk(unique, IDS_MAX)) {
			let cursor: string | undefined;
			do {
				const res = await this.send<CrmFields[]>('persons.list', 'default', (c) =>
					v2.PersonsApiFp(c.v2).getPersons(undefined, part.join(','), undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, IDS_MAX, cursor),
				);
				for (const p of res.data ?? []) keep(p);
				cursor = nextCursor(res, cursor);
			} while (cursor);
		}
		return persons;
	}

	/**
	 * Changes through `updated_since` + `sort_by=update_time` and the API's cursor (v2) or
	 * start offset (v1 leads); `updated_since` is inclusive, so ids already delivered at the
	 * boundary second are skipped. Deletions come from /v1/recents (inactive items) at the end of
	 * each sweep; leads have none there.
	 */
	async listChanges(entity: EntityType, options: ListChangesOptions = {}): Promise<ChangePage> {
		const api = entityApi(entity);
		const cursor: PdCursor = options.cursor ? decodeCursor<PdCursor>(options.cursor, 'Pipedrive', (c) => typeof c.since === 'string') : { since: rfc3339(options.since ?? '1970-01-01T00:00:00Z') };
		const limit = Math.min(PAGE_MAX, Math.max(1, options.pageSize ?? PAGE_MAX));
		const res = await this.send<CrmFields[]>(`${api.name}.list`, 'default', (c) =>
			api.list(c, { sinceRfc3339: cursor.since, cursor: cursor.next, start: cursor.start, limit }),
		);
		const seen = new Set(cursor.seen ?? []);
		const sinceMs = Date.parse(cursor.since);
		let maxTime = cursor.maxTime;
		let maxIds = cursor.maxIds ?? [];
		const records: ChangedRecord[] = [];
		for (const row of res.data ?? []) {
			const record = toRecord(row);
			const modifiedAt = record.modifiedAt ?? cursor.since;
			if (Date.parse(modifiedAt) <= sinceMs && seen.has(record.id)) continue;
			records.push({ ...record, modifiedAt });
			if (maxTime === undefined || Date.parse(modifiedAt) > Date.parse(maxTime)) {
				maxTime = modifiedAt;
				maxIds = [record.id];
			} else if (Date.parse(modifiedAt) === Date.parse(maxTime)) maxIds.push(record.id);
		}
		if (entity === 'lead') records.splice(0, records.length, ...(await this.withPersons(records)));
		const next = nextPosition(api, res, cursor, limit);
		if (next) {
			return { records, deleted: [], hasMore: true, cursor: encodeCursor({ ...cursor, ...next, maxTime, maxIds }) };
		}
		const deleted = options.includeDeleted === false || !api.recentsItem ? [] : await this.deletedSince(api, cursor.since);
		const caughtUp: PdCursor =
			maxTime === undefined || Date.parse(maxTime) <= sinceMs
				? { since: cursor.since, seen: [...new Set([...(cursor.seen ?? []), ...(maxTime === undefined ? [] : maxIds)])] }
				: { since: rfc3339(maxTime), seen: maxIds };
		return { records, deleted, hasMore: false, cursor: encodeCursor(caughtUp) };
	}

	async describeFields(entity: EntityType): Promise<FieldDescription[]> {
		const api = entityApi(entity);
		const out: FieldDescription[] = [];
		let cursor: string | undefined;
		let start = 0;
		for (;;) {
			const res = await this.send<Array<Record<string, unknown>>>(`${api.name}.fields`, 'default', (c) => api.fields(c, { cursor, start, limit: PAGE_MAX }));
			for (const f of res.data ?? []) out.push(describeField(f));
			if (api.paging === 'start') {
				const pagination = res.additional_data?.pagination;
				if (!pagination?.more_items_in_collection) break;
				start = pagination.next_start ?? start + PAGE_MAX;
			} else {
				cursor = res.additional_data?.next_cursor ?? undefined;
				if (!cursor) break;
			}
		}
		return out;
	}

	// ---------------------------------------------------------------- metadata: stages, users, account lookups

	/**
	 * GET /api/v2/pipelines and GET /api/v2/stages (cursor paging, 500 a page). All stages are
	 * open: Pipedrive has no won or lost stage, a deal is won or lost by its `status` (the map's
	 * `stage` field reads status first), so none is added here.
	 */
	async listStages(): Promise<CrmStage[]> {
		const pipelines = await this.allPages<PdPipeline>('pipelines.list', (c, cursor) => v2.PipelinesApiFp(c.v2).getPipelines('id', 'asc', PAGE_MAX, cursor));
		const stages = await this.allPages<PdStage>('stages.list', (c, cursor) => v2.StagesApiFp(c.v2).getStages(undefined, 'id', 'asc', PAGE_MAX, cursor));
		return toStages(pipelines, stages);
	}

	/** GET /v1/users (every user of the company in one answer, no paging; v2 has no user list). */
	async listUsers(): Promise<CrmUser[]> {
		const res = await this.send<PdUser[]>('users.list', 'default', (c) => v1.UsersApiFp(c.v1).getUsers());
		return (res.data ?? []).filter((u) => u.id !== undefined && u.id !== null).map(toUser);
	}

	/**
	 * Read once per connector (a failed read is tried again next time). Pipedrive has no
	 * single-currency mode: a deal may carry any currency GET /v1/currencies lists ("all supported
	 * currencies in given account which should be used when saving monetary values"); deactivated
	 * custom currencies (active_flag false) are left out. The default is the API user's
	 * default_currency (GET /v1/users/me), what a deal created without a currency gets ("the
	 * default currency of the authorized user").
	 */
	listCurrencies(): Promise<CrmCurrencies> {
		return this.currencies();
	}

	private async readCurrencies(): Promise<CrmCurrencies> {
		const [me, list] = await Promise.all([
			this.send<{ default_currency?: string }>('users.me', 'default', (c) => v1.UsersApiFp(c.v1).getCurrentUser()),
			this.send<PdCurrency[]>('currencies.list', 'default', (c) => v1.CurrenciesApiFp(c.v1).getCurrencies()),
		]);
		const currencies = toCurrencies(me.data?.default_currency, list.data ?? []);
		if (!currencies) throw new CrmError('Pipedrive: GET /v1/users/me names no default_currency', 'pipedrive', 'fatal', { body: me.data });
		return currencies;
	}

	/**
	 * Pipedrive cannot search organizations by website (the search fields are name, address,
	 * notes, custom_fields) and the list has no website filter (only a saved filter_id, which
	 * would mean writing a filter into the customer's account). So: list organizations sorted by
	 * id, 500 a page, for at most DOMAIN_LIST_PAGES_PER_DOMAIN pages per domain (no more tokens
	 * than the searches), matching every domain in the same pages. A company that has more
	 * organizations than that is searched by each domain's name label (acme.com → "acme", one
	 * search per distinct label, 40 tokens and the 10 / 2 s search window each) among names, and
	 * the hits above the last listed id are read in batches of 100 ids for their website. Only
	 * there can a match be missed: an organization beyond the listed pages whose name lacks the
	 * label. Websites are compared as normaliseDomain hosts.
	 */
	async findAccountsByDomain(domains: string[], _options?: ReadOptions): Promise<CrmRecord[]> {
		const wanted = domainKeys(domains);
		if (wanted.size === 0) return [];
		const found = new Map<string, CrmRecord>();
		const keep = (row: CrmFields): void => {
			const host = normaliseDomain(row.website);
			if (host !== undefined && wanted.has(host) && row.is_deleted !== true) found.set(String(row.id), toRecord(row));
		};
		let cursor: string | undefined;
		let lastId = 0;
		for (let page = 0; page < wanted.size * DOMAIN_LIST_PAGES_PER_DOMAIN; page++) {
			const res = await this.send<CrmFields[]>('organizations.list', 'default', (c) => listOrganizations(c, { cursor, limit: PAGE_MAX }));
			for (const row of res.data ?? []) {
				keep(row);
				lastId = Math.max(lastId, Number(row.id) || 0);
			}
			cursor = res.additional_data?.next_cursor ?? undefined;
			if (!cursor) return sortedById(found);
		}
		const terms = new Set([...wanted].map(domainSearchTerm).filter((t): t is string => t !== undefined));
		const ids = new Set<string>();
		for (const term of terms) {
			for (const item of await this.searchOrganizations(term, false)) if (Number(item.id) > lastId) ids.add(String(item.id));
		}
		for (const row of await this.organizationsById([...ids])) keep(row);
		return sortedById(found);
	}

	/**
	 * GET /api/v2/organizations/search?fields=name&exact_match=false by each name's first
	 * significant word (nameSearches; one search per distinct term), the hits whose normalised
	 * name matches read in batches of 100 ids, then kept when normaliseCompany(name) is one of
	 * the wanted names.
	 */
	async findAccountsByName(names: string[], _options?: ReadOptions): Promise<CrmRecord[]> {
		const wanted = nameKeys(names);
		if (wanted.size === 0) return [];
		const searches = new Map<string, { term: string; exact: boolean }>();
		for (const name of names) for (const search of nameSearches(name)) searches.set(`${search.exact}|${search.term}`, search);
		const ids = new Set<string>();
		for (const { term, exact } of searches.values()) {
			for (const item of await this.searchOrganizations(term, exact)) {
				const key = normaliseCompany(item.name);
				if (key !== undefined && wanted.has(key)) ids.add(String(item.id));
			}
		}
		const found = new Map<string, CrmRecord>();
		for (const row of await this.organizationsById([...ids])) {
			const key = normaliseCompany(row.name);
			if (key !== undefined && wanted.has(key) && row.is_deleted !== true) found.set(String(row.id), toRecord(row));
		}
		return sortedById(found);
	}

	/** Every search item (all cursor pages) for `term` among organization names. */
	private async searchOrganizations(term: string, exact: boolean): Promise<CrmFields[]> {
		const items: CrmFields[] = [];
		let cursor: string | undefined;
		do {
			const res = await this.send<{ items?: Array<{ item?: CrmFields }> }>('organizations.search', 'search', (c) =>
				v2.OrganizationsApiFp(c.v2).searchOrganization(term, 'name', exact, PAGE_MAX, cursor),
			);
			for (const { item } of res.data?.items ?? []) if (item && item.id !== undefined && item.id !== null) items.push(item);
			cursor = nextCursor(res, cursor);
		} while (cursor);
		return items;
	}

	/** Full organizations by id: GET /api/v2/organizations?ids=… (100 a call); missing ones are left out. */
	private async organizationsById(ids: string[]): Promise<CrmFields[]> {
		const rows: CrmFields[] = [];
		for (const part of chunk(ids, IDS_MAX)) {
			let cursor: string | undefined;
			do {
				const res = await this.send<CrmFields[]>('organizations.list', 'default', (c) => listOrganizations(c, { ids: part.join(','), cursor, limit: IDS_MAX }));
				rows.push(...(res.data ?? []));
				cursor = nextCursor(res, cursor);
			} while (cursor);
		}
		return rows;
	}

	/** Every row of a v2 list, following next_cursor. */
	private async allPages<T>(label: string, make: (c: SdkConfigs, cursor: string | undefined) => SdkRequest): Promise<T[]> {
		const rows: T[] = [];
		let cursor: string | undefined;
		do {
			const res = await this.send<T[]>(label, 'default', (c) => make(c, cursor));
			rows.push(...(res.data ?? []));
			cursor = nextCursor(res, cursor);
		} while (cursor);
		return rows;
	}

	async testConnection(): Promise<void> {
		await this.send('persons.list', 'default', (c) => entityApi('contact').list(c, { sinceRfc3339: rfc3339('1970-01-01T00:00:00Z'), limit: 1 }));
	}

	/**
	 * How our writes show up in Pipedrive's change feed: webhooks carry meta.change_source 'api'
	 * and meta.user_id = the user behind this credential (GET /v1/users/me).
	 */
	async changeOrigin(): Promise<ChangeOrigin> {
		const res = await this.send<{ id?: number }>('users.me', 'default', (c) => v1.UsersApiFp(c.v1).getCurrentUser());
		return { source: 'api', ...(res.data?.id !== undefined ? { actorId: String(res.data.id) } : {}) };
	}

	// ---------------------------------------------------------------- webhook subscriptions

	/** POST /v1/webhooks: one webhook for every object and action, HTTP Basic auth on delivery. */
	async createWebhook(spec: PipedriveWebhookSpec): Promise<PipedriveWebhook> {
		const res = await this.send<Record<string, unknown>>(
			'webhooks.create',
			'default',
			(c) =>
				v1.WebhooksApiFp(c.v1).addWebhook({
					subscription_url: spec.url,
					event_action: '*',
					event_object: '*',
					name: spec.name ?? 'n8n CRM Sync Trigger',
					http_auth_user: spec.httpAuthUser,
					http_auth_password: spec.httpAuthPassword,
					version: spec.version ?? '2.0',
				}),
			false, // a create that timed out may have happened: not retried
		);
		return toWebhook(res.data);
	}

	/** GET /v1/webhooks: the webhooks of this credential's company. */
	async listWebhooks(): Promise<PipedriveWebhook[]> {
		const res = await this.send<Array<Record<string, unknown>>>('webhooks.list', 'default', (c) => v1.WebhooksApiFp(c.v1).getWebhooks());
		return (res.data ?? []).map(toWebhook);
	}

	/** DELETE /v1/webhooks/{id}. False when it no longer exists (deleted by hand, or never created). */
	async deleteWebhook(id: string): Promise<boolean> {
		if (!/^\d+$/.test(id)) throw new CrmError(`Pipedrive: invalid webhook id "${id}"`, 'pipedrive', 'validation');
		try {
			await this.send('webhooks.delete', 'default', (c) => v1.WebhooksApiFp(c.v1).deleteWebhook(Number(id)));
			return true;
		} catch (error) {
			if (error instanceof CrmError && error.httpStatus === 404) return false;
			throw error;
		}
	}

	// ---------------------------------------------------------------- internals

	/** Runs one SDK request through the transport with our axios; resolves to the response envelope. */
	private async send<T>(label: string, bucket: 'default' | 'search', make: (c: SdkConfigs) => SdkRequest, idempotent = true): Promise<Envelope<T>> {
		const response = await this.transport.call(
			label,
			async (token) => {
				const host = await this.host();
				const auth = this.oauth ? { accessToken: token } : { apiKey: token };
				const configs: SdkConfigs = {
					v1: new v1.Configuration({ ...auth, basePath: `${host}/api/v1` }),
					v2: new v2.Configuration({ ...auth, basePath: `${host}/api/v2` }),
				};
				const request = await make(configs);
				return (await request(this.http)) as AxiosResponse<Envelope<T>>;
			},
			{ bucket, idempotent },
		);
		return response.data;
	}

	/** The API host: the api_domain of the current OAuth token (the SDK's rule), else the configured one. */
	private async host(): Promise<string> {
		const domain = this.oauth ? (await this.tokens.get()).extra?.api_domain : undefined;
		return String(domain || this.config.baseUrl || DEFAULT_HOST).replace(/\/+$/, '');
	}

	/** OAuth refresh through the SDK's OAuth2Configuration (POST {oauth}/oauth/token, Basic client auth). */
	private async refreshOAuth(current: AccessToken | undefined): Promise<AccessToken> {
		const oauth = new v2.OAuth2Configuration({
			clientId: this.config.clientId!,
			clientSecret: this.config.clientSecret!,
			redirectUri: 'urn:ietf:wg:oauth:2.0:oob', // not used by the refresh grant, but required by the SDK
			host: (this.config.oauthUrl || DEFAULT_OAUTH_HOST).replace(/\/+$/, ''),
		});
		oauth.updateToken({ refresh_token: current?.refreshToken ?? this.config.refreshToken } as never);
		let token;
		try {
			token = await oauth.tokenRefresh();
		} catch (error) {
			// The SDK's OAuth axios rejects with the bare body (e.g. {error:'invalid_grant'}).
			throw new CrmError(`Pipedrive token refresh failed: ${describeBody(error)}`, 'pipedrive', 'auth', { body: error });
		}
		return {
			accessToken: token.access_token,
			refreshToken: token.refresh_token,
			expiresAt: token.expires_in ? Date.now() + token.expires_in * 1000 : undefined,
			extra: { api_domain: token.api_domain },
		};
	}

	private async createOne(api: EntityApi, fields: CrmFields): Promise<string> {
		// A create that timed out may have happened: not retried on timeouts (idempotent: false).
		const res = await this.send<CrmFields>(`${api.name}.create`, 'default', (c) => api.create(c, toRequestBody(entityOf(api), fields)), false);
		const id = res.data?.id;
		if (id === undefined || id === null) throw new CrmError(`Pipedrive created a ${api.name} record but returned no id`, 'pipedrive', 'fatal', { body: res });
		return String(id);
	}

	/** PATCH; an update of one name half first reads the person for the other (v2 writes `name` only). */
	private async updateOne(api: EntityApi, id: string, fields: CrmFields): Promise<void> {
		const entity = entityOf(api);
		if (lacksNameHalf(entity, fields)) {
			const stored = await this.get(entity, id);
			if (!stored) throw new CrmError(`Pipedrive: ${api.name} ${id} not found`, 'pipedrive', 'validation', { httpStatus: 404, code: 'NOT_FOUND' });
			fields = withStoredNameHalf(fields, stored.fields);
		}
		await this.send(`${api.name}.update`, 'default', (c) => api.update(c, id, toRequestBody(entity, fields)));
	}

	/** The search endpoint's `fields` value for match key `field`; throws for keys Pipedrive cannot search. */
	private searchFieldFor(entity: EntityType, field: string): string {
		const api = entityApi(entity);
		if (!api.search) throw new NotImplementedError(`Pipedrive search of ${api.name} (Pipedrive has no search endpoint for them)`);
		if (isCustomFieldKey(field)) return 'custom_fields';
		const searchField = api.searchFields[field];
		if (!searchField) {
			const allowed = [...Object.keys(api.searchFields), 'a custom field key'].join(', ');
			throw new Error(`Pipedrive cannot search ${api.name} by ${field}; searchable: ${allowed}`);
		}
		return searchField;
	}

	/** Ids whose `field` equals `value`, through the exact-match search (all pages). */
	private async findIds(entity: EntityType, field: string, value: string, verify = false): Promise<string[]> {
		const api = entityApi(entity);
		const searchField = this.searchFieldFor(entity, field);
		const search = api.search!;
		const ids: string[] = [];
		let cursor: string | undefined;
		for (;;) {
			const res = await this.send<{ items?: Array<{ item?: CrmFields }> }>(`${api.name}.search`, 'search', (c) =>
				search(c, { term: value, field: searchField, cursor, limit: PAGE_MAX }),
			);
			for (const { item } of res.data?.items ?? []) {
				if (!item || item.id === undefined) continue;
				// Search items carry emails/phones/name; custom fields only as bare values, checked on the full record.
				if (searchField !== 'custom_fields' && !recordMatches(entity, field, value, item)) continue;
				ids.push(String(item.id));
			}
			cursor = res.additional_data?.next_cursor ?? undefined;
			if (!cursor) break;
		}
		if (!verify || searchField !== 'custom_fields') return ids;
		const verified: string[] = [];
		for (const id of ids) {
			const record = await this.get(entity, id);
			if (record && recordMatches(entity, field, value, record.fields)) verified.push(id);
		}
		return verified;
	}

	/** Inactive (deleted or merged-away) items of the entity's type in /v1/recents since `since`. */
	private async deletedSince(api: EntityApi, since: string): Promise<DeletedRecord[]> {
		const deleted = new Map<string, DeletedRecord>();
		const sinceV1 = since.slice(0, 19).replace('T', ' ');
		let start = 0;
		for (;;) {
			const res = await this.send<Array<{ item?: string; id?: unknown; data?: CrmFields }>>('recents.list', 'default', (c) =>
				v1.RecentsApiFp(c.v1).getRecents(sinceV1, api.recentsItem, start, PAGE_MAX),
			);
			for (const row of res.data ?? []) {
				if (row.item !== api.recentsItem || !row.data || row.data.active_flag !== false) continue;
				const when = typeof row.data.update_time === 'string' ? isoTime(row.data.update_time) : undefined;
				deleted.set(String(row.id ?? row.data.id), { id: String(row.id ?? row.data.id), ...(when ? { deletedAt: when } : {}) });
			}
			const pagination = res.additional_data?.pagination;
			if (!pagination?.more_items_in_collection) break;
			start = pagination.next_start ?? start + PAGE_MAX;
		}
		return [...deleted.values()];
	}

	/** One call per request, WRITE_CONCURRENCY at a time; per-record failures become outcomes. */
	private async oneByOne<R extends { ref: number }>(requests: R[], write: (request: R) => Promise<WriteOutcome>): Promise<WriteOutcome[]> {
		return byRef(
			await this.pool(requests, async (request) => {
				try {
					return await write(request);
				} catch (error) {
					return failure(request.ref, error);
				}
			}),
		);
	}

	/**
	 * Runs `work` over `items` with bounded concurrency. An auth failure (after the transport's
	 * refresh) stops everything: every further call would fail the same way.
	 */
	private async pool<I, O>(items: I[], work: (item: I) => Promise<O>): Promise<O[]> {
		const results: O[] = new Array(items.length);
		let next = 0;
		let fatal: unknown;
		const worker = async (): Promise<void> => {
			while (next < items.length && fatal === undefined) {
				const index = next++;
				const result = await work(items[index]);
				if (isAuthFailure(result)) fatal = (result as unknown as { error: unknown }).error;
				results[index] = result;
			}
		};
		await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, items.length) }, worker));
		if (fatal !== undefined) throw fatal;
		return results;
	}
}

// ---------------------------------------------------------------- helpers

const API_ENTITY = new Map<EntityApi, EntityType>(
	(['contact', 'lead', 'account', 'opportunity', 'activity'] as EntityType[]).map((e) => [entityApi(e), e]),
);

function entityOf(api: EntityApi): EntityType {
	return API_ENTITY.get(api)!;
}

/**
 * Pipedrive errors: status, Retry-After and the {success:false,error,error_info} body from our
 * axios. 403 is a per-record permission problem in Pipedrive (401 is the auth signal).
 */
export function classifyPipedriveError(error: unknown): CrmError {
	if (error instanceof CrmError) return error;
	if (isAxiosError(error) && error.response) {
		const { status, data, headers } = error.response;
		const generic = classifyGeneric('pipedrive', error, status, data, headers);
		const body = (data ?? {}) as { error?: string; error_info?: string; code?: string; errorCode?: unknown };
		const category = status === 403 ? 'validation' : generic.category;
		// `code` is a text (feature_capping_deals_limit); v1 `errorCode` a number (v1-error-403-scope-url-mismatch-amp.json).
		const errorCode = typeof body.errorCode === 'number' || typeof body.errorCode === 'string' ? String(body.errorCode) : undefined;
		const code = body.code ?? (status === 429 ? 'RATE_LIMIT' : status === 401 ? 'UNAUTHORIZED' : errorCode);
		return new CrmError(`Pipedrive: ${body.error ?? generic.message}`, 'pipedrive', category, {
			httpStatus: status,
			code,
			body: data,
			retryAfterMs: generic.retryAfterMs,
			cause: error,
		});
	}
	if (isAxiosError(error) && error.code === 'ECONNABORTED') {
		return new CrmError('Pipedrive: request timed out', 'pipedrive', 'transient', { code: 'TIMEOUT', cause: error });
	}
	return classifyGeneric('pipedrive', error);
}

function toWebhook(w: Record<string, unknown>): PipedriveWebhook {
	return {
		id: String(w.id),
		url: String(w.subscription_url ?? ''),
		version: String(w.version ?? ''),
		eventAction: String(w.event_action ?? ''),
		eventObject: String(w.event_object ?? ''),
	};
}

function failure(ref: number, error: unknown): WriteFailure {
	const e = error instanceof CrmError ? error : classifyPipedriveError(error);
	if (!(error instanceof CrmError) && !isAxiosError(error)) {
		// Not a CRM answer (bad input caught before sending, programming error): report it as validation.
		return { ref, status: 'failed', category: 'validation', message: error instanceof Error ? error.message : String(error) };
	}
	const outcome: WriteFailure = { ref, status: 'failed', category: e.category, message: e.message, ...(e.code ? { code: e.code } : {}) };
	// Kept off the enumerable outcome; pool() rethrows auth failures.
	if (e.category === 'auth') Object.defineProperty(outcome, 'error', { value: e, enumerable: false });
	return outcome;
}

function isAuthFailure(result: unknown): boolean {
	const outcomes = Array.isArray(result) ? result : [result];
	return outcomes.some((o) => (o as { error?: unknown })?.error instanceof CrmError && (o as { category?: string }).category === 'auth');
}

/** A reference id as text: v1 gives ids as numbers, or as objects with the id in `value`. */
function idText(value: unknown): string | undefined {
	const v = value !== null && typeof value === 'object' ? (value as { value?: unknown; id?: unknown }).value ?? (value as { id?: unknown }).id : value;
	return typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : undefined;
}

/** The lowest (oldest) of numeric ids. */
function oldest(ids: string[]): string | undefined {
	return ids.length ? [...ids].sort((a, b) => Number(a) - Number(b))[0] : undefined;
}

function validId(api: EntityApi, id: string): boolean {
	return api.numericIds ? /^\d+$/.test(id) : /^[0-9a-f-]{36}$/i.test(id);
}

function invalidId(ref: number, api: EntityApi, id: string): WriteOutcome {
	return { ref, status: 'failed', category: 'validation', code: 'INVALID_ID', message: `${JSON.stringify(id)} is not a Pipedrive ${api.name} id` };
}

function toRecord(data: CrmFields): CrmRecord {
	return {
		id: String(data.id),
		fields: data,
		...(typeof data.update_time === 'string' ? { modifiedAt: isoTime(data.update_time) } : {}),
		...(typeof data.add_time === 'string' ? { createdAt: isoTime(data.add_time) } : {}),
	};
}

/** v2 RFC3339, v1 "YYYY-MM-DD HH:MM:SS" (UTC) or ISO → ISO-8601. */
function isoTime(value: string): string {
	const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
	const ms = Date.parse(text);
	return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** RFC3339 at whole seconds (what updated_since takes), rounded down so nothing is skipped. */
function rfc3339(iso: string): string {
	const ms = Date.parse(iso);
	if (Number.isNaN(ms)) throw new Error(`Invalid time ${JSON.stringify(iso)}`);
	return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** GET /api/v2/organizations sorted by id (the order the domain listing relies on), optionally by ids. */
function listOrganizations(c: SdkConfigs, page: { ids?: string; cursor?: string; limit: number }): SdkRequest {
	return v2.OrganizationsApiFp(c.v2).getOrganizations(undefined, page.ids, undefined, undefined, undefined, 'id', 'asc', undefined, undefined, undefined, undefined, page.limit, page.cursor);
}

/** The next v2 cursor; a cursor handed back unchanged would loop forever, so it is an error. */
function nextCursor(res: Envelope, previous: string | undefined): string | undefined {
	const next = res.additional_data?.next_cursor ?? undefined;
	if (next !== undefined && next === previous) throw new CrmError('Pipedrive returned the same next_cursor twice', 'pipedrive', 'fatal', { body: res });
	return next || undefined;
}

function sortedById(found: Map<string, CrmRecord>): CrmRecord[] {
	return [...found.values()].sort((a, b) => Number(a.id) - Number(b.id));
}

function nextPosition(api: EntityApi, res: Envelope, cursor: PdCursor, limit: number): Partial<PdCursor> | undefined {
	if (api.paging === 'cursor') {
		const next = res.additional_data?.next_cursor;
		return next ? { next } : undefined;
	}
	const pagination = res.additional_data?.pagination;
	return pagination?.more_items_in_collection ? { start: pagination.next_start ?? (cursor.start ?? 0) + limit } : undefined;
}

function describeField(f: Record<string, unknown>): FieldDescription {
	// v2 fields: field_code/field_name/field_type/is_custom_field; v1 (leads): key/name/field_type.
	const name = String(f.field_code ?? f.key);
	const crmType = String(f.field_type ?? 'unknown');
	const options = Array.isArray(f.options)
		? (f.options as Array<{ id?: unknown; label?: unknown }>).map((o) => ({ value: String(o.id), label: String(o.label ?? o.id) }))
		: undefined;
	return {
		name,
		label: String(f.field_name ?? f.name ?? name),
		type: fieldType(crmType, name),
		crmType,
		custom: f.is_custom_field === true || isCustomFieldKey(name),
		required: (f.required_fields as { enabled?: boolean } | undefined)?.enabled === true || f.mandatory_flag === true || ['name', 'title'].includes(name),
		readOnly: ['id', 'add_time', 'update_time', 'creator_user_id', 'is_deleted'].includes(name) || f.edit_flag === false && f.bulk_edit_allowed === false,
		unique: name === 'id',
		...(options?.length ? { options } : {}),
	};
}

function describeBody(body: unknown): string {
	if (body instanceof Error) return body.message;
	const b = body as { message?: string; error?: string; error_description?: string } | undefined;
	return b?.error_description ?? b?.message ?? b?.error ?? JSON.stringify(body);
}
