// HubSpot CRM v3 through the official SDK (@hubspot/api-client 14): objects (basic, batch, search,
// merge, GDPR delete), properties, v3 associations, the Pipelines API (deal stages, listStages), the
// Owners API (listUsers), the Account Info API (listCurrencies, plain HTTP: the SDK has no client
// for it) and OAuth token info.
//
// SDK quirks handled here (crm-wire.md §2):
// - The SDK's retry decorator is a process-wide singleton, ignores Retry-After and only knows
//   HubSpot's own bodies: we construct every Client with numberOfApiCallRetries 0 and retry in
//   lib/http instead (one place, honouring every CRM's signals).
// - Each generated method accepts only its documented status codes; anything else throws ApiException.
// - It takes no AbortSignal, only an http(s) Agent (then it uses node:http instead of fetch): our
//   agent aborts a request whose transport attempt timed out, so it cannot land after the retry.
// - HubSpot's API lets nobody set a change source: writes made through an app show up in webhooks
//   as changeSource INTEGRATION with sourceId = the app id of the token. That app id is our echo
//   marker for HubSpot (see `appId()`); `changeSourceMarker` cannot be sent.
//
// Corrections to crm-wire.md §2 from real payloads (../shared/data/crm-fixtures/hubspot):
// - A batch create error names its input by the `objectWriteTraceId` we sent (there is no
//   `inputIndex`); a duplicate carries `context.existingId` (batch-create-contacts-207-partial-amp.json).
//   So every create input carries its index as objectWriteTraceId.
// - 207 error elements are {status, category, message, context}: no `errors: []`, no `links: {}`
//   (batch-update-contacts-207-partial-amp.json); a missing update id is in `context.ids`.
// - Invalid properties in a batch create fail the whole batch: one 400 listing every problem
//   (batch-create-contacts-400-invalid-properties-amp.json); a batch update naming an id twice is
//   a 400 with `context.ids` (batch-update-contacts-400-duplicate-ids-amp.json). isolateFailures
//   splits such a batch down to the bad input.
// - A whole-batch 409 has no "Existing ID" in its message (batch-create-contacts-409-conflict-amp.json).
// - Reads, creates and batch results carry `url` (the record's app page); a PATCH reply has none, and
//   gives a cleared property as "" (v3-update-contact-clear-email-recorded.json).
// - A list's last page has no `paging` key at all (v3-list-contacts-last-page-recorded.json); search
//   paging has `after` only, no `link` (v3-search-deals-paging-recorded.json).
// - v3 associations batch create answers two results per input, one per direction
//   (v3-batch-associations-create-recorded.json).
//
// Entities: contact → contacts, lead → contacts (HubSpot models leads as a lifecycle stage; the
// default map adds lifecyclestage=lead), account → companies, opportunity → deals, activity →
// tasks | calls | notes | meetings | emails (picked from the `hs_engagement_type` pseudo-field or
// from the property prefix: hs_task_*, hs_call_*, ...; ids are unique across engagement types).

import { Client } from '@hubspot/api-client';
import type { EntityType } from '../../model';
import {
	abortableAgent,
	classifyGeneric,
	credentialKey,
	CrmError,
	HttpStatusError,
	retryAfterMs,
	TokenManager,
	tokenManagerFor,
	Transport,
	type AccessToken,
	type RateLimitSpec,
} from '../../http';
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
	type CrmCurrencies,
	type CrmRecord,
	type CrmStage,
	type CrmUser,
	type DeleteOptions,
	type DeleteRequest,
	type DeletedRecord,
	type FieldDescription,
	type FieldType,
	type ListChangesOptions,
	type MatchKind,
	type MergeRequest,
	type ReadOptions,
	type UpdateRequest,
	type UpsertRequest,
	type WriteFailure,
	type WriteOutcome,
	isolateFailures,
	failAll,
} from '../../connectors/types';
import { normaliseDomain } from '../../matching/normalise-domain';
import { domainKeys, nameKeys } from '../../matching/accounts';
import { normaliseCompany } from '../../matching/normalise-company';
import { readOnce } from '../../util/read-once';

export interface HubSpotConfig {
	/** Private app token (pat-...). */
	accessToken?: string;
	/** OAuth app: refreshes its access token itself. */
	oauth?: { clientId: string; clientSecret: string; refreshToken: string; accessToken?: string; expiresAt?: number };
	/** Defaults to https://api.hubapi.com; a sandbox or proxy URL otherwise. */
	baseUrl?: string;
	/** The account's API limit tier (the private-app credential's API Limit); default the Free/Starter limit. */
	apiLimit?: HubSpotApiLimit;
}

/**
 * HubSpot's per-app limit by the account's tier (crm-wire §2 Limits): Free/Starter 100 requests /
 * 10 s rolling, Professional and Enterprise 190, with the API limit increase 250. Real-time sync
 * writes a contact in one request, so this caps its syncs per second to HubSpot.
 */
export const HUBSPOT_API_LIMITS = { starter: 100, professional: 190, increase: 250 } as const;
export type HubSpotApiLimit = keyof typeof HUBSPOT_API_LIMITS;

/** The transport's rate-limit buckets for a tier; search stays 4 requests / s on every tier. */
export function hubspotRateLimits(apiLimit: HubSpotApiLimit = 'starter'): Record<string, RateLimitSpec> {
	if (!Object.hasOwn(HUBSPOT_API_LIMITS, apiLimit)) throw new CrmError(`HubSpot: unknown API limit "${String(apiLimit)}" (one of ${Object.keys(HUBSPOT_API_LIMITS).join(', ')})`, 'hubspot', 'validation');
	return {
		default: { requests: HUBSPOT_API_LIMITS[apiLimit], intervalMs: 10_000, maxConcurrent: 8 },
		search: { requests: 4, intervalMs: 1_000, maxConcurrent: 2, headroom: 1 },
	};
}

/** Builds the connector from the values of credentials/HubSpotCrmSyncApi or HubSpotCrmSyncOAuth2Api. */
export function create(credentials: Record<string, unknown>, runtime: ConnectorRuntime = {}): HubSpotConnector {
	const token = credentials.oauthTokenData as { access_token?: string; refresh_token?: string; expires_in?: number } | undefined;
	const baseUrl = (credentials.baseUrl as string | undefined) || undefined;
	if (token && (token.refresh_token || token.access_token)) {
		return new HubSpotConnector(
			{
				baseUrl,
				oauth: {
					clientId: String(credentials.clientId ?? ''),
					clientSecret: String(credentials.clientSecret ?? ''),
					refreshToken: String(token.refresh_token ?? ''),
					accessToken: token.access_token,
				},
			},
			runtime,
		);
	}
	if (!credentials.accessToken) throw new CrmError('HubSpot: the credential has no access token', 'hubspot', 'auth');
	const apiLimit = (credentials.apiLimit as HubSpotApiLimit | undefined) || undefined;
	return new HubSpotConnector({ accessToken: String(credentials.accessToken), baseUrl, apiLimit }, runtime);
}

const BATCH_LIMIT = 100;
const SEARCH_PAGE = 200;
const SEARCH_WINDOW = 10_000;
const IN_VALUES = 100;
/** Search filter groups (OR'ed) per request; 5 on every documented variant of the limits (crm-wire §2). */
const FILTER_GROUPS = 5;
/** Owners API page size (at most 500). */
const OWNERS_PAGE = 500;
const ENGAGEMENTS = ['tasks', 'calls', 'notes', 'meetings', 'emails'] as const;
const ENGAGEMENT_PREFIX: Record<string, string> = { hs_task_: 'tasks', hs_call_: 'calls', hs_note_: 'notes', hs_meeting_: 'meetings', hs_email_: 'emails' };
const MERGEABLE = new Set(['contacts', 'companies', 'deals']);
/**
 * HubSpot's default lifecycle stages in their order. HubSpot moves a contact forward only (going
 * back needs the stage cleared first), so a conversion never sets a stage below the contact's.
 */
const LIFECYCLE_ORDER = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
/** The objects an engagement's associations are read for (the activity map's contactIds, dealIds, accountIds). */
const ENGAGEMENT_LINKS = ['contacts', 'deals', 'companies'] as const;
/** HubSpot-defined association type ids, engagement → contact / company / deal (crm-wire §2). */
const ENGAGEMENT_ASSOCIATION_TYPE: Record<string, Record<string, number>> = {
	notes: { contacts: 202, companies: 190, deals: 214 },
	tasks: { contacts: 204, companies: 192, deals: 216 },
	calls: { contacts: 194, companies: 182, deals: 206 },
	meetings: { contacts: 200, companies: 188, deals: 212 },
	emails: { contacts: 198, companies: 186, deals: 210 },
};

const DEFAULT_PROPERTIES: Record<string, string[]> = {
	contacts: ['email', 'firstname', 'lastname', 'phone', 'mobilephone', 'company', 'jobtitle', 'lifecyclestage', 'hs_lead_status', 'address', 'city', 'state', 'zip', 'country', 'hubspot_owner_id', 'createdate', 'lastmodifieddate'],
	companies: ['name', 'domain', 'website', 'phone', 'industry', 'address', 'city', 'state', 'zip', 'country', 'hubspot_owner_id', 'createdate', 'hs_lastmodifieddate'],
	deals: ['dealname', 'amount', 'deal_currency_code', 'dealstage', 'pipeline', 'closedate', 'hubspot_owner_id', 'createdate', 'hs_lastmodifieddate'],
	tasks: ['hs_task_subject', 'hs_task_body', 'hs_task_status', 'hs_task_priority', 'hs_task_type', 'hs_timestamp', 'hubspot_owner_id', 'hs_lastmodifieddate'],
	calls: ['hs_call_title', 'hs_call_body', 'hs_call_direction', 'hs_call_duration', 'hs_timestamp', 'hubspot_owner_id', 'hs_lastmodifieddate'],
	notes: ['hs_note_body', 'hs_timestamp', 'hubspot_owner_id', 'hs_lastmodifieddate'],
	meetings: ['hs_meeting_title', 'hs_meeting_body', 'hs_meeting_start_time', 'hs_meeting_end_time', 'hs_timestamp', 'hubspot_owner_id', 'hs_lastmodifieddate'],
	emails: ['hs_email_subject', 'hs_email_text', 'hs_email_direction', 'hs_timestamp', 'hubspot_owner_id', 'hs_lastmodifieddate'],
};

interface HsObject {
	id: string;
	properties: Record<string, string | null>;
	createdAt?: Date | string;
	updatedAt?: Date | string;
	archived?: boolean;
	archivedAt?: Date | string;
	_new?: boolean;
	/** Echo of the input's objectWriteTraceId in batch replies. */
	objectWriteTraceId?: string;
	/** GET …?associations=…: per object type, the associated ids (v3 shape). */
	associations?: Record<string, { results?: Array<{ id: string; type?: string }> }>;
}

interface HsBatchError {
	category?: string;
	message: string;
	context?: Record<string, string[]>;
	errors?: Array<{ message?: string; code?: string; context?: Record<string, string[]> }>;
}

interface HsBatchResponse {
	results: HsObject[];
	errors?: HsBatchError[];
}

/** A pipeline as the Pipelines API gives it (stage metadata values are strings). */
interface HsPipeline {
	id: string;
	label: string;
	displayOrder: number;
	archived?: boolean;
	stages?: Array<{ id: string; label: string; displayOrder: number; archived?: boolean; metadata?: Record<string, string> }>;
}

/** Cursor of listChanges: modified-date watermark, ids already seen at it, offset within it, deletion watermark. */
interface HubSpotCursor {
	t: number;
	ids: string[];
	after: number;
	dt: number;
}

export class HubSpotConnector implements CrmConnector {
	readonly crm = 'hubspot' as const;
	readonly credentialKey: string;
	readonly transport: Transport;
	private readonly client: Client;
	private readonly basePath: string;
	/** The credential's token manager (shared per credential in this process). */
	readonly tokens: TokenManager;
	/** The portal's currencies (read once per connector, see listCurrencies()). */
	private readonly currencies = readOnce(() => this.readCurrencies());

	constructor(config: HubSpotConfig, runtime: ConnectorRuntime = {}) {
		this.basePath = (config.baseUrl || 'https://api.hubapi.com').replace(/\/+$/, '');
		// numberOfApiCallRetries 0: retries live in lib/http; the agent aborts timed-out requests (module comment).
		this.client = new Client({ basePath: this.basePath, numberOfApiCallRetries: 0, httpAgent: abortableAgent(this.basePath) });
		const oauth = config.oauth;
		const key = credentialKey('hubspot', this.basePath, oauth ? [oauth.clientId, oauth.refreshToken] : config.accessToken);
		this.credentialKey = key;
		this.tokens = tokenManagerFor(key, () =>
			oauth
				? new TokenManager({
						initial: oauth.accessToken ? { accessToken: oauth.accessToken, expiresAt: oauth.expiresAt, refreshToken: oauth.refreshToken } : undefined,
						fetch: (current) => this.refreshOAuthToken(oauth, current),
					})
				: new TokenManager({ initial: { accessToken: config.accessToken ?? '' } }),
		);
		this.transport = new Transport({
			crm: 'hubspot',
			key,
			classify: classifyHubSpotError,
			// OAuth apps get about the Free/Starter limit per installed account (crm-wire §2 Limits).
			limits: { ...hubspotRateLimits(oauth ? 'starter' : config.apiLimit), ...runtime.limits },
			retry: runtime.retry,
			token: this.tokens,
			store: runtime.store,
			timeoutMs: runtime.timeoutMs,
			onEvent: runtime.onEvent,
		});
	}

	maxBatchSize(): number {
		return BATCH_LIMIT;
	}

	matchField(entity: EntityType, kind: MatchKind): string | undefined {
		if (kind === 'externalId') return undefined;
		if (entity === 'contact' || entity === 'lead') return kind === 'email' ? 'email' : 'phone';
		if (entity === 'account') return kind === 'phone' ? 'phone' : undefined;
		return undefined;
	}

	async get(entity: EntityType, id: string, options: ReadOptions = {}): Promise<CrmRecord | undefined> {
		for (const objectType of this.objectTypes(entity)) {
			try {
				// Engagements: their links are associations, not properties; read them with the record.
				const associations = isEngagement(objectType) ? [...ENGAGEMENT_LINKS] : undefined;
				const found = (await this.call('get', (c) => c.crm.objects.basicApi.getById(objectType, id, this.props(objectType, options), undefined, associations))) as HsObject;
				return toRecord(found);
			} catch (error) {
				if (error instanceof CrmError && error.httpStatus === 404) continue;
				throw error;
			}
		}
		return undefined;
	}

	async search(entity: EntityType, field: string, values: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const out: CrmRecord[] = [];
		const wanted = [...new Set(values.map((v) => String(v).trim()).filter(Boolean))];
		for (const objectType of this.objectTypes(entity)) {
			for (const group of chunk(wanted, IN_VALUES)) {
				let after: string | undefined;
				do {
					const page = (await this.call(
						'search',
						(c) =>
							c.crm.objects.searchApi.doSearch(objectType, {
								filterGroups: [{ filters: [{ propertyName: field, operator: 'IN' as never, values: group }] }],
								properties: [...new Set([...this.props(objectType, options), field])],
								limit: SEARCH_PAGE,
								after: after as string,
								sorts: [],
							}),
						'search',
					)) as { results: HsObject[]; paging?: { next?: { after?: string } } };
					out.push(...page.results.map(toRecord));
					after = page.paging?.next?.after;
				} while (after);
			}
		}
		return out;
	}

	async create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		for (const [objectType, group] of this.groupByObject(entity, records, outcomes)) {
			for (const batch of chunk(group, BATCH_LIMIT)) {
				outcomes.push(
					...(await isolateFailures(batch, blamingFields(async (part) => {
						// objectWriteTraceId = the input's index: HubSpot echoes it in a failed input's error
						// context (batch-create-contacts-207-partial-amp.json); results come in input order,
						// minus the failed inputs, and may echo it too.
						const response = await this.callBatch('batch.create', (c) =>
							c.crm.objects.batchApi.create(objectType, {
								inputs: part.map((r, index) => ({ objectWriteTraceId: String(index), properties: toProperties(omit(r.fields, 'associations')), associations: createAssociations(objectType, r.fields.associations) as never[] })),
							}),
							false,
						);
						const failed = new Map<number, WriteFailure>();
						for (const error of response.errors ?? []) {
							for (const index of error.context?.objectWriteTraceId ?? []) failed.set(Number(index), batchFailure(part[Number(index)]?.ref ?? -1, error));
						}
						const traced = new Map<number, HsObject>();
						const untraced: HsObject[] = [];
						for (const result of response.results) {
							const index = result.objectWriteTraceId === undefined ? NaN : Number(result.objectWriteTraceId);
							if (Number.isInteger(index) && !traced.has(index)) traced.set(index, result);
							else untraced.push(result);
						}
						return part.map((r, index) => failed.get(index) ?? successOrMissing(r.ref, traced.get(index) ?? (traced.size ? undefined : untraced.shift()), 'created'));
					}))),
				);
			}
		}
		return byRef(outcomes);
	}

	async update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		const typed = this.isActivity(entity) ? await this.locateActivities(records, outcomes) : records.map((r) => ({ ...r, objectType: this.objectTypes(entity)[0] }));
		const byType = groupBy(typed, (r) => r.objectType);
		for (const [objectType, group] of byType) {
			for (const batch of chunk(group, BATCH_LIMIT)) {
				outcomes.push(
					...(await isolateFailures(batch, blamingFields(async (part) => {
						const response = await this.callBatch('batch.update', (c) =>
							// Links are written on create only (`associations` is no property; see MAPPING.md).
							c.crm.objects.batchApi.update(objectType, { inputs: part.map((r) => ({ id: r.id, properties: toProperties(omit(r.fields, 'associations')) })) }),
						);
						const byId = new Map<string, WriteOutcome>();
						for (const result of response.results) byId.set(result.id, { ref: -1, status: 'updated', id: result.id });
						for (const error of response.errors ?? []) for (const id of error.context?.ids ?? []) byId.set(id, batchFailure(-1, error));
						return part.map((r) => withRef(byId.get(r.id), r.ref, `HubSpot returned no result for id ${r.id}`));
					}))),
				);
			}
		}
		return byRef(outcomes);
	}

	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		const valid: Array<UpsertRequest & { key: string }> = [];
		for (const record of records) {
			const value = record.fields[matchKey];
			if (value === undefined || value === null || String(value).trim() === '') {
				outcomes.push({ ref: record.ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: `Upsert by ${matchKey} needs a value for ${matchKey}` });
				continue;
			}
			valid.push({ ...record, key: normaliseKey(matchKey, value) });
		}
		const objectTypes = this.objectTypes(entity);
		if (objectTypes.length === 1 && objectTypes[0] === 'contacts' && matchKey === 'email') {
			for (const batch of chunk(valid, BATCH_LIMIT)) outcomes.push(...(await isolateFailures(batch, blamingFields((part) => this.nativeUpsert('contacts', matchKey, part)))));
		} else {
			outcomes.push(...(await this.searchThenWrite(entity, matchKey, valid)));
		}
		return byRef(outcomes);
	}

	async delete(entity: EntityType, records: DeleteRequest[], options: DeleteOptions = {}): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		if (options.erase && (entity === 'contact' || entity === 'lead')) {
			// GDPR delete: permanent, one contact per call (HubSpot has no batch form).
			for (const r of records) {
				try {
					await this.call('gdpr.delete', (c) => c.crm.contacts.basicApi.purge({ objectId: r.id }));
					outcomes.push({ ref: r.ref, status: 'deleted', id: r.id });
				} catch (error) {
					if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
					outcomes.push(error.httpStatus === 404 ? notFound(r.ref, error.message) : failAll([r], error)[0]);
				}
			}
			return byRef(outcomes);
		}
		// An activity found under no engagement type is gone (archived by an earlier attempt, or never there).
		const typed = this.isActivity(entity) ? await this.locateActivities(records, outcomes, notFound) : records.map((r) => ({ ...r, objectType: this.objectTypes(entity)[0] }));
		for (const [objectType, group] of groupBy(typed, (r) => r.objectType)) {
			for (const batch of chunk(group, BATCH_LIMIT)) {
				// Archive answers 204 for every id, existing or not (HubSpot's behaviour): a missing contact reads as deleted.
				try {
					await this.call('batch.archive', (c) => c.crm.objects.batchApi.archive(objectType, { inputs: batch.map((r) => ({ id: r.id })) }));
					outcomes.push(...batch.map((r): WriteOutcome => ({ ref: r.ref, status: 'deleted', id: r.id })));
				} catch (error) {
					if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
					outcomes.push(...failAll(batch, error));
				}
			}
		}
		return byRef(outcomes);
	}

	async merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]> {
		const objectType = this.objectTypes(entity)[0];
		if (this.isActivity(entity) || !MERGEABLE.has(objectType)) throw new NotImplementedError(`HubSpot merge of ${entity} (HubSpot merges contacts, companies and deals only)`);
		// The API object comes from `c` inside call(): setting the token rebuilds the SDK's clients.
		const api = (c: Client) => ({ contacts: c.crm.contacts, companies: c.crm.companies, deals: c.crm.deals })[objectType as 'contacts'];
		const outcomes: WriteOutcome[] = [];
		for (const request of requests) {
			// HubSpot merges one object per call; chain them into the master.
			let survivor = request.masterId;
			try {
				for (const loser of request.mergeIds) {
					const merged = (await this.call('merge', (c) => api(c).basicApi.merge({ primaryObjectId: survivor, objectIdToMerge: loser }))) as HsObject;
					survivor = merged.id;
				}
				outcomes.push({ ref: request.ref, status: 'merged', id: survivor, mergedIds: request.mergeIds });
			} catch (error) {
				if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: error.code, message: error.message });
			}
		}
		return outcomes;
	}

	/**
	 * A HubSpot lead is a contact at lifecycle stage lead: converting it moves the contact to
	 * `opportunity` (when the source's conversion made one) or `salesqualifiedlead`, unless it is at
	 * that stage or beyond already (then `unchanged`: HubSpot never moves a stage backwards).
	 * `other`, and a custom stage whose place in the order is unknown, count as beyond. One batch
	 * read (100 contacts) for the stages, one batch update for the moves; a contact that is not
	 * there answers notFound. The contact is the lead itself: `request.contactId` cannot name
	 * another contact here, because HubSpot contacts are unique by e-mail, so the contact-sync copy
	 * of the converted person is this same contact. Only `request.id` is written. The contact's
	 * company association is left to contact-sync (accountId is echoed, not written).
	 */
	async convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]> {
		const outcomes: ConvertLeadOutcome[] = [];
		const valid = requests.filter((r) => {
			if (/^\d+$/.test(r.id)) return true;
			outcomes.push({ ref: r.ref, status: 'failed', category: 'validation', code: 'INVALID_ID', message: `HubSpot: ${JSON.stringify(r.id)} is not a HubSpot contact id` });
			return false;
		});
		const done = (r: ConvertLeadRequest, status: 'converted' | 'unchanged'): ConvertLeadOutcome => ({ ref: r.ref, status, id: r.id, contactId: r.id, ...(r.accountId ? { accountId: r.accountId } : {}) });
		for (const batch of chunk(valid, BATCH_LIMIT)) {
			const response = await this.callBatch('batch.read', (c) =>
				c.crm.objects.batchApi.read('contacts', { inputs: [...new Set(batch.map((r) => r.id))].map((id) => ({ id })), properties: ['lifecyclestage'], propertiesWithHistory: [] }),
			);
			const stages = new Map(response.results.map((o) => [o.id, o.properties?.lifecyclestage ?? '']));
			const moves: UpdateRequest[] = [];
			for (const r of batch) {
				const stage = stages.get(r.id);
				const wanted = r.withOpportunity ? 'opportunity' : 'salesqualifiedlead';
				if (stage === undefined) outcomes.push(notFound(r.ref, `HubSpot: contact ${r.id} not found`));
				else if (lifecycleRank(stage) >= lifecycleRank(wanted)) outcomes.push(done(r, 'unchanged'));
				else moves.push({ ref: r.ref, id: r.id, fields: { lifecyclestage: wanted } });
			}
			for (const o of await this.update('lead', moves)) {
				const r = batch.find((b) => b.ref === o.ref)!;
				outcomes.push(o.status === 'failed' ? o : done(r, 'converted'));
			}
		}
		return byRef(outcomes);
	}

	async listChanges(entity: EntityType, options: ListChangesOptions = {}): Promise<ChangePage> {
		const objectTypes = this.objectTypes(entity);
		if (objectTypes.length !== 1) throw new NotImplementedError('HubSpot listChanges for activities (one engagement type per call is needed)');
		const objectType = objectTypes[0];
		const modified = objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
		const start = options.since ? Date.parse(options.since) : 0;
		const cursor: HubSpotCursor = options.cursor ? JSON.parse(options.cursor) : { t: start, ids: [], after: 0, dt: start };
		const limit = Math.min(options.pageSize ?? SEARCH_PAGE, SEARCH_PAGE);
		// GTE the watermark sorted ascending; restart the window from the last timestamp each page,
		// so the 10k search window is never reached (only `after` within one timestamp grows).
		const page = (await this.call(
			'search.changes',
			(c) =>
				c.crm.objects.searchApi.doSearch(objectType, {
					filterGroups: [{ filters: [{ propertyName: modified, operator: 'GTE' as never, value: String(cursor.t) }] }],
					sorts: [{ propertyName: modified, direction: 'ASCENDING' } as never],
					properties: [...new Set([...this.props(objectType, options), modified])],
					limit,
					after: cursor.after ? String(cursor.after) : (undefined as unknown as string),
				}),
			'search',
		)) as { results: HsObject[]; paging?: { next?: { after?: string } } };
		const seen = new Set(cursor.ids);
		const records: ChangedRecord[] = [];
		for (const object of page.results) {
			const record = toRecord(object);
			const ts = Date.parse(record.modifiedAt ?? '');
			if (ts === cursor.t && seen.has(record.id)) continue;
			records.push({ ...record, modifiedAt: record.modifiedAt ?? new Date(ts).toISOString() });
		}
		const last = page.results.length ? Date.parse(toRecord(page.results[page.results.length - 1]).modifiedAt ?? '') : cursor.t;
		const next: HubSpotCursor = { t: last, ids: [], after: 0, dt: cursor.dt };
		if (last === cursor.t) {
			next.ids = [...seen];
			next.after = page.paging?.next?.after ? cursor.after + page.results.length : 0;
			if (next.after >= SEARCH_WINDOW) throw new CrmError(`HubSpot: more than ${SEARCH_WINDOW} ${objectType} share the modified time ${new Date(last).toISOString()}; cannot page past the search window`, 'hubspot', 'fatal');
		}
		for (const r of records) if (Date.parse(r.modifiedAt) === last) next.ids.push(r.id);
		next.ids = [...new Set(next.ids)];
		const hasMore = Boolean(page.paging?.next?.after);
		const deleted: DeletedRecord[] = [];
		if (!hasMore && options.includeDeleted !== false) {
			// Search never returns archived objects: read the archived list once caught up.
			next.dt = await this.archivedSince(objectType, cursor.dt, deleted);
		}
		return { records, deleted, cursor: JSON.stringify(next), hasMore };
	}

	async describeFields(entity: EntityType): Promise<FieldDescription[]> {
		const out: FieldDescription[] = [];
		for (const objectType of this.objectTypes(entity)) {
			const response = (await this.call('properties', (c) => c.crm.properties.coreApi.getAll(objectType))) as {
				results: Array<{
					name: string;
					label: string;
					type: string;
					fieldType: string;
					hubspotDefined?: boolean;
					hasUniqueValue?: boolean;
					calculated?: boolean;
					modificationMetadata?: { readOnlyValue?: boolean };
					options?: Array<{ value: string; label: string }>;
				}>;
			};
			for (const p of response.results) {
				out.push({
					name: p.name,
					label: p.label,
					type: hubSpotFieldType(p.name, p.type, p.fieldType),
					crmType: `${p.type}/${p.fieldType}`,
					custom: !p.hubspotDefined,
					required: false,
					readOnly: Boolean(p.modificationMetadata?.readOnlyValue || p.calculated),
					unique: Boolean(p.hasUniqueValue) || p.name === 'email' || p.name === 'hs_object_id',
					options: p.options?.length ? p.options.map((o) => ({ value: o.value, label: o.label })) : undefined,
				});
			}
		}
		return out;
	}

	/**
	 * Pipelines API `GET /crm/v3/pipelines/deals` (one call, no paging). A stage's metadata holds
	 * STRINGS: isClosed "true"/"false" and probability "0.0"–"1.0"; a closed stage at "1.0" is won,
	 * any other closed stage lost. Archived pipelines and stages are left out.
	 */
	async listStages(): Promise<CrmStage[]> {
		const response = (await this.call('pipelines', (c) => c.crm.pipelines.pipelinesApi.getAll('deals'))) as { results: HsPipeline[] };
		const out: CrmStage[] = [];
		for (const pipeline of [...response.results].filter((p) => !p.archived).sort((a, b) => a.displayOrder - b.displayOrder)) {
			const stages = [...(pipeline.stages ?? [])].filter((s) => !s.archived).sort((a, b) => a.displayOrder - b.displayOrder);
			stages.forEach((stage, order) => {
				const raw = stage.metadata?.probability;
				const fraction = raw === undefined || raw === null || raw === '' ? NaN : Number(raw);
				const closed = String(stage.metadata?.isClosed).toLowerCase() === 'true';
				out.push({
					id: stage.id,
					label: stage.label,
					pipelineId: pipeline.id,
					pipelineLabel: pipeline.label,
					outcome: closed ? (fraction >= 1 ? 'won' : 'lost') : 'open',
					// 0–1 on the wire; rounded so that "0.2" gives 20, not 20.000000000000004.
					probability: Number.isFinite(fraction) ? Math.round(fraction * 10_000) / 100 : undefined,
					order,
				});
			});
		}
		return out;
	}

	/**
	 * Owners API `GET /crm/v3/owners` (what hubspot_owner_id holds), paged by paging.next.after;
	 * read twice: active owners, then archived=true (deactivated users, reported inactive).
	 */
	async listUsers(): Promise<CrmUser[]> {
		const byId = new Map<string, CrmUser>();
		for (const archived of [false, true]) {
			let after: string | undefined;
			do {
				const page = (await this.call('owners', (c) => c.crm.owners.ownersApi.getPage(undefined, after, OWNERS_PAGE, archived))) as {
					results: Array<{ id: string; email?: string; firstName?: string; lastName?: string; archived?: boolean }>;
					paging?: { next?: { after?: string } };
				};
				for (const owner of page.results) {
					if (byId.has(owner.id)) continue;
					const name = [owner.firstName, owner.lastName].filter((part) => part && part.trim()).join(' ').trim();
					byId.set(owner.id, {
						id: owner.id,
						email: owner.email ? owner.email.trim().toLowerCase() : undefined,
						name: name || undefined,
						active: !(owner.archived ?? archived),
					});
				}
				after = page.paging?.next?.after;
			} while (after);
		}
		return [...byId.values()];
	}

	/**
	 * The portal's currencies, read once per connector (a failed read is tried again next time):
	 * `GET /account-info/v3/details` (Account Info API v3) gives `companyCurrency` (the default for
	 * new deals, what amounts are reported in) and `additionalCurrencies` (none in a
	 * single-currency portal). It needs no scope beyond `oauth`, unlike the currencies settings
	 * API (settings.currencies.read). A deal's currency is its `deal_currency_code`.
	 */
	listCurrencies(): Promise<CrmCurrencies> {
		return this.currencies();
	}

	private async readCurrencies(): Promise<CrmCurrencies> {
		const res = await this.transport.request<{ companyCurrency?: unknown; additionalCurrencies?: unknown }>('account.details', (token) => ({
			method: 'GET',
			url: `${this.basePath}/account-info/v3/details`,
			headers: { Authorization: `Bearer ${token ?? ''}` },
		}));
		const code = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim().toUpperCase() : undefined);
		const company = code(res.body?.companyCurrency);
		if (!company) throw new CrmError('HubSpot: the account details name no companyCurrency', 'hubspot', 'fatal', { body: res.body });
		const additional = (Array.isArray(res.body?.additionalCurrencies) ? res.body.additionalCurrencies : []).map(code).filter((c): c is string => c !== undefined && c !== company);
		return { default: company, enabled: [company, ...new Set(additional)] };
	}

	/**
	 * Companies whose `domain` or `website` normalises to one of `domains`. One search request per
	 * FILTER_GROUPS - 1 domains: a `domain IN` group with the bare and www. spellings, plus one
	 * `website CONTAINS_TOKEN *host*` group per domain (groups are OR'ed, and a URL such as
	 * https://www.acme.com/about only matches by token); the hits are then kept by normaliseDomain.
	 */
	async findAccountsByDomain(domains: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = domainKeys(domains);
		const groups = chunk([...wanted], FILTER_GROUPS - 1).map((part) => [
			{ filters: [{ propertyName: 'domain', operator: 'IN', values: part.flatMap((d) => [d, `www.${d}`]) }] },
			...part.map((d) => ({ filters: [{ propertyName: 'website', operator: 'CONTAINS_TOKEN', value: `*${d}*` }] })),
		]);
		const found = await this.searchCompanies(groups, ['domain', 'website'], options);
		return found.filter((r) => [r.fields.domain, r.fields.website].some((v) => wanted.has(normaliseDomain(v) ?? '')));
	}

	/**
	 * Companies whose normaliseCompany(name) equals one of the names'. Searches `name
	 * CONTAINS_TOKEN` the name's first significant word as written (HubSpot tokenises it as it
	 * tokenised the stored name) and, when it differs, folded (accents off); one filter group per
	 * word, FILTER_GROUPS per request; the hits are then kept by the normalised equality.
	 */
	async findAccountsByName(names: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = nameKeys(names);
		const words = new Set<string>();
		for (const name of names) {
			const normalised = normaliseCompany(name);
			if (!normalised) continue;
			const written = String(name).trim().toLowerCase().split(/\s+/).map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')).filter(Boolean);
			const first = written[0] === 'the' && written.length > 1 ? written[1] : written[0];
			if (first) words.add(first);
			words.add(normalised.split(' ')[0]);
		}
		const groups = chunk([...words], FILTER_GROUPS).map((part) => part.map((word) => ({ filters: [{ propertyName: 'name', operator: 'CONTAINS_TOKEN', value: word }] })));
		const found = await this.searchCompanies(groups, ['name'], options);
		return found.filter((r) => wanted.has(normaliseCompany(r.fields.name) ?? ''));
	}

	async testConnection(): Promise<void> {
		await this.call('test', (c) => c.crm.objects.basicApi.getPage('contacts', 1));
	}

	/** The app id HubSpot reports as webhook sourceId for our writes (OAuth tokens only; undefined for private-app tokens it cannot introspect). */
	async appId(): Promise<number | undefined> {
		const token = (await this.tokens.get()).accessToken;
		try {
			const info = (await this.call('token.info', (c) => c.oauth.accessTokensApi.get(token))) as { appId?: number };
			return info.appId;
		} catch (error) {
			if (error instanceof CrmError && error.httpStatus === 404) return undefined;
			throw error;
		}
	}

	// ---- internals -------------------------------------------------------------------------------

	/** One SDK call through the transport (limits, retries, token). */
	private call<T>(label: string, op: (client: Client) => Promise<T>, bucket?: string, idempotent = true): Promise<T> {
		return this.transport.call(
			label,
			(token) => {
				this.client.setAccessToken(token ?? '');
				return op(this.client);
			},
			{ bucket, idempotent },
		);
	}

	private callBatch(label: string, op: (client: Client) => Promise<unknown>, idempotent = true): Promise<HsBatchResponse> {
		return this.call(label, op, undefined, idempotent) as Promise<HsBatchResponse>;
	}

	/** Company search, one request (all its pages) per set of filter groups, through the search limiter; each company once. */
	private async searchCompanies(requests: Array<Array<{ filters: Array<Record<string, unknown>> }>>, needed: string[], options: ReadOptions): Promise<CrmRecord[]> {
		const byId = new Map<string, CrmRecord>();
		const properties = [...new Set([...this.props('companies', options), ...needed])];
		for (const filterGroups of requests) {
			let after: string | undefined;
			do {
				const page = (await this.call(
					'search.accounts',
					(c) => c.crm.objects.searchApi.doSearch('companies', { filterGroups: filterGroups as never[], properties, limit: SEARCH_PAGE, after: after as string, sorts: [] }),
					'search',
				)) as { results: HsObject[]; paging?: { next?: { after?: string } } };
				for (const object of page.results) if (!byId.has(object.id)) byId.set(object.id, toRecord(object));
				after = page.paging?.next?.after;
			} while (after);
		}
		return [...byId.values()];
	}

	private async nativeUpsert(objectType: string, matchKey: string, batch: Array<UpsertRequest & { key: string }>): Promise<WriteOutcome[]> {
		// HubSpot rejects a batch that names one key twice; the last write for a key wins, as it would sequentially.
		const lastByKey = new Map<string, (typeof batch)[number]>();
		for (const entry of batch) lastByKey.set(entry.key, entry);
		const response = await this.callBatch('batch.upsert', (c) =>
			c.crm.objects.batchApi.upsert(objectType, {
				// The key also goes in the properties, so each result carries it back and pairs with its input.
				inputs: [...lastByKey.values()].map((entry) => ({ idProperty: matchKey, id: entry.key, properties: toProperties({ ...entry.fields, [matchKey]: entry.key }) })),
			}),
		);
		const byKey = new Map<string, WriteOutcome>();
		for (const result of response.results) {
			const key = result.properties?.[matchKey];
			if (key === undefined || key === null) throw new CrmError(`HubSpot: batch upsert result ${result.id} does not carry ${matchKey}; cannot pair it with its input`, 'hubspot', 'fatal');
			byKey.set(normaliseKey(matchKey, key), { ref: -1, status: result._new ? 'created' : 'updated', id: result.id });
		}
		for (const error of response.errors ?? []) for (const id of error.context?.ids ?? []) byKey.set(normaliseKey(matchKey, id), batchFailure(-1, error));
		return batch.map(({ ref, key }) => withRef(byKey.get(key), ref, `HubSpot returned no result for ${matchKey} ${key}`));
	}

	/** Upsert on a key HubSpot cannot upsert by natively: look the keys up, then batch create/update. */
	private async searchThenWrite(entity: EntityType, matchKey: string, records: Array<UpsertRequest & { key: string }>): Promise<WriteOutcome[]> {
		const existing = new Map<string, string>();
		for (const found of await this.search(entity, matchKey, records.map((r) => r.key), { fields: [matchKey] })) {
			const key = normaliseKey(matchKey, found.fields[matchKey]);
			if (!existing.has(key)) existing.set(key, found.id);
		}
		const lastByKey = new Map<string, UpsertRequest & { key: string }>();
		for (const r of records) lastByKey.set(r.key, r);
		const toCreate = [...lastByKey.values()].filter((r) => !existing.has(r.key));
		const toUpdate = [...lastByKey.values()].filter((r) => existing.has(r.key)).map((r) => ({ ref: r.ref, id: existing.get(r.key)!, fields: r.fields }));
		const byKey = new Map<string, WriteOutcome>();
		const created = await this.create(entity, toCreate);
		const updated = await this.update(entity, toUpdate);
		const byRefMap = new Map([...created, ...updated].map((o) => [o.ref, o]));
		for (const r of lastByKey.values()) byKey.set(r.key, byRefMap.get(r.ref)!);
		return records.map((r) => ({ ...byKey.get(r.key)!, ref: r.ref }));
	}

	private async archivedSince(objectType: string, since: number, out: DeletedRecord[]): Promise<number> {
		let watermark = since;
		let after: string | undefined;
		do {
			const page = (await this.call('list.archived', (c) => c.crm.objects.basicApi.getPage(objectType, 100, after, ['hs_object_id'], undefined, undefined, true))) as {
				results: HsObject[];
				paging?: { next?: { after?: string } };
			};
			for (const object of page.results) {
				const at = object.archivedAt ? new Date(object.archivedAt).getTime() : NaN;
				if (!Number.isFinite(at) || at <= since) continue;
				out.push({ id: object.id, deletedAt: new Date(at).toISOString() });
				watermark = Math.max(watermark, at);
			}
			after = page.paging?.next?.after;
		} while (after);
		return watermark;
	}

	/** Finds which engagement type each activity id belongs to (ids are unique across types). */
	private async locateActivities<T extends { ref: number; id: string; fields?: Record<string, unknown> }>(
		records: T[],
		outcomes: WriteOutcome[],
		missing: (ref: number, message: string) => WriteOutcome = (ref, message) => ({ ref, status: 'failed', category: 'validation', code: 'OBJECT_NOT_FOUND', message }),
	): Promise<Array<T & { objectType: string }>> {
		const located: Array<T & { objectType: string }> = [];
		let pending = [...records];
		for (const objectType of ENGAGEMENTS) {
			if (!pending.length) break;
			const response = await this.callBatch('batch.read', (c) => c.crm.objects.batchApi.read(objectType, { inputs: [...new Set(pending.map((r) => r.id))].map((id) => ({ id })), properties: [], propertiesWithHistory: [] }));
			const found = new Set(response.results.map((r) => r.id));
			located.push(...pending.filter((r) => found.has(r.id)).map((r) => ({ ...r, objectType })));
			pending = pending.filter((r) => !found.has(r.id));
		}
		for (const r of pending) outcomes.push(missing(r.ref, `No HubSpot activity (task, call, note, meeting or email) with id ${r.id}`));
		return located;
	}

	/** Splits create requests by HubSpot object; activities whose type cannot be told fail. */
	private groupByObject(entity: EntityType, records: CreateRequest[], outcomes: WriteOutcome[]): Map<string, CreateRequest[]> {
		if (!this.isActivity(entity)) return new Map([[this.objectTypes(entity)[0], records]]);
		const groups = new Map<string, CreateRequest[]>();
		for (const record of records) {
			const objectType = engagementType(record.fields);
			if (!objectType) {
				outcomes.push({ ref: record.ref, status: 'failed', category: 'validation', code: 'UNKNOWN_ACTIVITY_TYPE', message: 'Cannot tell the HubSpot activity type: set hs_engagement_type (task, call, note, meeting, email) or hs_task_*/hs_call_*/... properties' });
				continue;
			}
			const list = groups.get(objectType) ?? [];
			list.push({ ref: record.ref, fields: omit(record.fields, 'hs_engagement_type') });
			groups.set(objectType, list);
		}
		return groups;
	}

	private isActivity(entity: EntityType): boolean {
		return entity === 'activity';
	}

	private objectTypes(entity: EntityType): string[] {
		switch (entity) {
			case 'contact':
			case 'lead':
				return ['contacts'];
			case 'account':
				return ['companies'];
			case 'opportunity':
				return ['deals'];
			case 'activity':
				return [...ENGAGEMENTS];
			default:
				throw new NotImplementedError(`HubSpot entity ${String(entity)}`);
		}
	}

	private props(objectType: string, options: ReadOptions): string[] {
		// `associations` is where a record carries its links (see toRecord), not a property.
		const fields = options.fields?.filter((f) => f !== 'associations');
		return fields?.length ? fields : DEFAULT_PROPERTIES[objectType];
	}

	private async refreshOAuthToken(oauth: NonNullable<HubSpotConfig['oauth']>, current: AccessToken | undefined): Promise<AccessToken> {
		// A separate client: the token endpoint needs no bearer token and must not go through the data-call limiter.
		const client = new Client({ basePath: this.basePath, numberOfApiCallRetries: 0 });
		try {
			const response = await client.oauth.tokensApi.create('refresh_token', undefined, undefined, oauth.clientId, oauth.clientSecret, current?.refreshToken ?? oauth.refreshToken);
			return { accessToken: response.accessToken, refreshToken: response.refreshToken, expiresAt: Date.now() + response.expiresIn * 1000 };
		} catch (error) {
			const classified = classifyHubSpotError(error);
			if (classified.category !== 'validation') throw classified;
			// The token endpoint answers 400 for a bad refresh token or client: that is an auth failure.
			throw new CrmError(`${classified.message} (token refresh)`, 'hubspot', 'auth', { httpStatus: classified.httpStatus, code: classified.code, body: classified.body, cause: error });
		}
	}
}

/** HubSpot's throttle and error signals (crm-wire §2, §6) → CrmError; SDK ApiExceptions and plain-HTTP (HttpStatusError) replies alike. */
export function classifyHubSpotError(error: unknown): CrmError {
	if (error instanceof CrmError) return error;
	const status = error instanceof HttpStatusError ? error.status : typeof (error as { code?: unknown })?.code === 'number' ? (error as { code: number }).code : undefined;
	if (status === undefined) return classifyGeneric('hubspot', error);
	const rawBody = (error as { body?: unknown }).body;
	const body = parseBody(rawBody) as { message?: string; category?: string; policyName?: string; errorType?: string } | undefined;
	const headers = (error as { headers?: unknown }).headers;
	const message = `HubSpot: ${body?.message ?? `HTTP ${status}`}`;
	const code = body?.policyName ?? body?.category;
	if (status === 429) {
		// TEN_SECONDLY_ROLLING / SECONDLY recover within their window; DAILY does not within any retry budget.
		const hint = retryAfterMs(headers) ?? (body?.policyName === 'SECONDLY' ? 1000 : undefined);
		return new CrmError(message, 'hubspot', 'rate_limit', { httpStatus: status, code, body, retryAfterMs: hint, retryable: body?.policyName !== 'DAILY', cause: error });
	}
	if (status === 401 || status === 403) return new CrmError(message, 'hubspot', 'auth', { httpStatus: status, code, body, cause: error });
	const generic = classifyGeneric('hubspot', error, status, body, headers);
	return new CrmError(message, 'hubspot', generic.category, { httpStatus: status, code, body, retryAfterMs: generic.retryAfterMs, cause: error });
}

function parseBody(body: unknown): unknown {
	if (typeof body !== 'string') return body;
	try {
		return JSON.parse(body);
	} catch {
		return { message: body };
	}
}

/**
 * A batch write whose single-input rejection (a whole-batch 400 that isolateFailures split down to
 * one input) keeps the properties HubSpot blamed: errors[].context.propertyName
 * (batch-create-contacts-400-invalid-properties-amp.json) or the legacy validationResults[].name
 * (error-400-legacy-v1-validation-recorded.json).
 */
function blamingFields<T extends { ref: number }>(write: (part: T[]) => Promise<WriteOutcome[]>): (part: T[]) => Promise<WriteOutcome[]> {
	return async (part) => {
		try {
			return await write(part);
		} catch (error) {
			if (part.length !== 1 || !(error instanceof CrmError) || error.category !== 'validation') throw error;
			const body = error.body as { errors?: Array<{ context?: { propertyName?: unknown } }>; validationResults?: Array<{ name?: unknown }> } | undefined;
			const named = [
				...(Array.isArray(body?.errors) ? body.errors.flatMap((e) => (Array.isArray(e?.context?.propertyName) ? e.context.propertyName : [])) : []),
				...(Array.isArray(body?.validationResults) ? body.validationResults.map((r) => r?.name) : []),
			].filter((name): name is string => typeof name === 'string' && name !== '');
			const fields = [...new Set(named)];
			return failAll(part, error).map((failure) => (fields.length ? { ...failure, fields } : failure));
		}
	};
}

/** A lifecycle stage's place in LIFECYCLE_ORDER: none (empty) first; `other` and unknown (custom) stages after all. */
function lifecycleRank(stage: string): number {
	if (stage === '') return -1;
	const i = LIFECYCLE_ORDER.indexOf(stage.toLowerCase());
	return i < 0 ? LIFECYCLE_ORDER.length : i;
}

function batchFailure(ref: number, error: HsBatchError): WriteFailure {
	const fields = error.errors?.flatMap((e) => e.context?.propertyName ?? []);
	return { ref, status: 'failed', category: 'validation', code: error.category, message: error.message, fields: fields?.length ? fields : undefined };
}

function successOrMissing(ref: number, result: HsObject | undefined, status: 'created' | 'updated'): WriteOutcome {
	if (!result) return { ref, status: 'failed', category: 'fatal', message: 'HubSpot returned fewer results than inputs' };
	return { ref, status, id: result.id };
}

function withRef(outcome: WriteOutcome | undefined, ref: number, missing: string): WriteOutcome {
	if (!outcome) return { ref, status: 'failed', category: 'fatal', message: missing };
	return { ...outcome, ref };
}

function toRecord(object: HsObject): CrmRecord {
	const fields: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(object.properties ?? {})) fields[k] = v;
	if (object.associations) fields.associations = v3Associations(object.associations);
	return {
		id: object.id,
		fields,
		modifiedAt: object.updatedAt ? new Date(object.updatedAt).toISOString() : undefined,
		createdAt: object.createdAt ? new Date(object.createdAt).toISOString() : undefined,
	};
}

/** The associations block as plain v3 JSON (`{contacts: {results: [{id, type}]}}`, paging left out). */
function v3Associations(block: NonNullable<HsObject['associations']>): Record<string, { results: Array<{ id: string; type?: string }> }> {
	const out: Record<string, { results: Array<{ id: string; type?: string }> }> = {};
	for (const [objectType, list] of Object.entries(block)) out[objectType] = { results: (list?.results ?? []).map((r) => ({ id: String(r.id), ...(r.type ? { type: r.type } : {}) })) };
	return out;
}

/**
 * A record's `associations` block (v3 read shape, `{contacts: {results: [{id}]}}`) as the inputs of
 * a create: one per linked id, with the engagement's default association type.
 */
function createAssociations(objectType: string, block: unknown): Array<{ to: { id: string }; types: Array<{ associationCategory: string; associationTypeId: number }> }> {
	const types = ENGAGEMENT_ASSOCIATION_TYPE[objectType];
	if (!types || typeof block !== 'object' || block === null) return [];
	const out = [];
	for (const [toType, list] of Object.entries(block as Record<string, { results?: Array<{ id?: unknown }> }>)) {
		const typeId = types[toType];
		if (typeId === undefined) continue;
		for (const r of list?.results ?? []) if (r?.id !== undefined && r.id !== null && r.id !== '') out.push({ to: { id: String(r.id) }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }] });
	}
	return out;
}

function isEngagement(objectType: string): boolean {
	return (ENGAGEMENTS as readonly string[]).includes(objectType);
}

// HubSpot compares emails case-insensitively; other properties are compared as given.
function normaliseKey(matchKey: string, value: unknown): string {
	const text = String(value ?? '').trim();
	return matchKey === 'email' ? text.toLowerCase() : text;
}

/** HubSpot property values are strings; null clears a property (sent as ''). */
function toProperties(fields: Record<string, unknown>): Record<string, string> {
	const properties: Record<string, string> = {};
	for (const [name, value] of Object.entries(fields)) {
		if (value === undefined) continue;
		properties[name] = value === null ? '' : value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
	}
	return properties;
}

function omit(fields: Record<string, unknown>, key: string): Record<string, unknown> {
	if (!(key in fields)) return fields;
	const copy = { ...fields };
	delete copy[key];
	return copy;
}

function engagementType(fields: Record<string, unknown>): string | undefined {
	const declared = fields.hs_engagement_type;
	if (typeof declared === 'string' && declared) {
		const plural = `${declared.toLowerCase()}s`;
		return (ENGAGEMENTS as readonly string[]).includes(plural) ? plural : undefined;
	}
	for (const key of Object.keys(fields)) for (const [prefix, type] of Object.entries(ENGAGEMENT_PREFIX)) if (key.startsWith(prefix)) return type;
	return undefined;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
	const groups = new Map<string, T[]>();
	for (const item of items) {
		const k = key(item);
		const list = groups.get(k) ?? [];
		list.push(item);
		groups.set(k, list);
	}
	return groups;
}

function hubSpotFieldType(name: string, type: string, fieldType: string): FieldType {
	if (name === 'email') return 'email';
	if (name === 'phone' || name === 'mobilephone' || fieldType === 'phonenumber') return 'phone';
	if (name === 'website' || name === 'domain') return 'url';
	switch (type) {
		case 'number':
			return 'number';
		case 'bool':
			return 'boolean';
		case 'date':
			return 'date';
		case 'datetime':
			return 'datetime';
		case 'enumeration':
			return fieldType === 'checkbox' ? 'multipicklist' : 'picklist';
		case 'string':
			return fieldType === 'textarea' ? 'text' : 'string';
		default:
			return 'other';
	}
}
