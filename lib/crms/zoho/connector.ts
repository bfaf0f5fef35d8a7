// Zoho CRM REST API v6 over plain HTTP (Zoho has no maintained Node SDK for v6 we could use).
//
// Auth: `Authorization: Zoho-oauthtoken <token>`; refresh through {accounts}/oauth/v2/token, whose
// response names the api_domain every later call goes to (data-centre specific).
// Writes: 100 records per call; insert, update and /upsert with duplicate_check_fields answer one
// result per record (HTTP 200/201, 207 when mixed, 400 when all failed).
// Metadata: GET /settings/fields?module= (describeFields; listStages reads the Deals Stage
// picklist's probability and forecast_type), GET /users?type=AllUsers|CurrentUser (listUsers,
// changeOrigin), GET /org and GET /org/currencies (listCurrencies). Accounts by domain or name: GET /Accounts/search?criteria= with starts_with
// conditions, filtered by normaliseDomain / normaliseCompany.
//
// What recorded replies (../shared/data/crm-fixtures/zoho, test/conformance/zoho.test.ts) add to
// or correct in crm-wire.md:
// - Ids are 18–19-digit JSON strings (v2-insert-lead-201-recorded.json, upsert-*-docs-v7.json):
//   they are passed on as the strings they are, never through Number.
// - Times carry the org's local offset, e.g. `2026-05-14T12:54:51+03:00` (v2-get-lead-recorded.json);
//   modifiedAt/createdAt are the same instants in UTC, the fields keep Zoho's text.
// - Insert answers 201 (v2-insert-lead-201-recorded.json); a search without hits answers 204 with
//   an empty body (v2-search-204-no-content-recorded.txt), no longer [U].
// - A per-record error sits in data[] with code/details/message/status, without json_path in v2
//   (error-invalid-data-phone-recorded.json); INVALID_TOKEN is top-level (error-invalid-token-recorded.json).
// - Reads carry `$` meta keys ($approval, $state, $layout_id, …), every layout field (null when
//   empty) and Owner/Created_By/Modified_By with `email`; write results' user refs have no email.
// - v2 list info has no page tokens (v2-list-leads-page-info-recorded.json); v7+ adds
//   next_page_token/previous_page_token/page_token_expiry, null on the last page (get-contacts-recorded.json).
// - Lead convert answers bare `{Contacts, Deals, Accounts}` ids without code/status
//   (v2-convert-lead-recorded.json). v3+ documents `{code, details: {Contacts: {id, name}, ...},
//   status}` and lookups given as `{id}` objects (v2 took bare id strings): convertLeads sends
//   objects and reads either answer.

import type { ChangeOrigin, EntityType } from '../../model';
import {
	classifyGeneric,
	credentialKey,
	CrmError,
	headerValue,
	HttpStatusError,
	httpRequest,
	Transport,
	TokenManager,
	tokenManagerFor,
	type AccessToken,
	type HttpRequest,
	type HttpResponse,
} from '../../http';
import { decodeCursor, encodeCursor } from '../../connectors/cursor';
import {
	byRef,
	chunk,
	failAll,
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
	type FieldType,
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
import { normaliseCompany } from '../../matching/normalise-company';
import { normaliseDomain } from '../../matching/normalise-domain';
import { domainKeys, nameKeys } from '../../matching/accounts';
import { readOnce } from '../../util/read-once';

export interface ZohoConfig {
	/** OAuth access token (optional when a refresh token is given). */
	accessToken?: string;
	refreshToken?: string;
	clientId?: string;
	clientSecret?: string;
	/** Epoch ms when accessToken expires, if known. */
	expiresAt?: number;
	/** Accounts server of the data centre, e.g. https://accounts.zoho.eu (default https://accounts.zoho.com). */
	accountsUrl?: string;
	/** API domain override; otherwise the api_domain of the token response (default https://www.zohoapis.com). */
	apiDomain?: string;
	/** Module used for the activity entity (default Tasks). */
	activityModule?: 'Tasks' | 'Calls' | 'Events';
	/** Unique field holding the external id, per entity (e.g. a custom External_Id field). */
	externalIdFields?: Partial<Record<EntityType, string>>;
	/** Automations Zoho should run on our writes ('workflow', 'approval', 'blueprint'). Default none, so syncs do not fire workflows. */
	triggers?: string[];
}

/**
 * Builds the connector from the n8n Zoho OAuth2 credential: clientId, clientSecret,
 * oauthTokenData {access_token, refresh_token, api_domain, expires_in}, accountsUrl (data
 * centre) or accountsUrlOverride, apiDomainOverride.
 */
export function create(credentials: Record<string, unknown>, runtime: ConnectorRuntime = {}): ZohoConnector {
	const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
	const token = (credentials.oauthTokenData ?? {}) as { access_token?: string; refresh_token?: string; api_domain?: string };
	if (!text(token.access_token) && !text(token.refresh_token)) throw new CrmError('Zoho: the credential is not connected (no OAuth token)', 'zoho', 'auth');
	return new ZohoConnector(
		{
			accessToken: text(token.access_token),
			refreshToken: text(token.refresh_token),
			clientId: text(credentials.clientId),
			clientSecret: text(credentials.clientSecret),
			accountsUrl: text(credentials.accountsUrlOverride) ?? text(credentials.accountsUrl),
			apiDomain: text(credentials.apiDomainOverride) ?? text(token.api_domain),
		},
		runtime,
	);
}

const DEFAULT_ACCOUNTS = 'https://accounts.zoho.com';
const DEFAULT_API_DOMAIN = 'https://www.zohoapis.com';
const API_PATH = '/crm/v6';
/** Records per insert/update/upsert/delete call. */
const WRITE_MAX = 100;
/** Records per list/search page. */
const PAGE_MAX = 200;
/** Records one search reaches through its pages. */
const SEARCH_MAX = 2000;
/** Search criteria conditions per request. */
const CRITERIA_MAX = 10;
/** Records merged into the master per merge call (Zoho merges at most 3 records). */
const MERGE_MAX = 2;

/**
 * Concurrency per org per app is 10 (Standard) .. 25 (Ultimate); credits are per 24 h, which a
 * client-side bucket cannot usefully pace. Override with ConnectorRuntime.limits.
 */
const LIMITS = { default: { maxConcurrent: 10 } };

/** Fields returned by list calls (which require `fields`), per module. */
const DEFAULT_FIELDS: Record<string, string[]> = {
	Contacts: ['First_Name', 'Last_Name', 'Email', 'Secondary_Email', 'Phone', 'Mobile', 'Account_Name', 'Title', 'Lead_Source', 'Mailing_Street', 'Mailing_City', 'Mailing_State', 'Mailing_Zip', 'Mailing_Country', 'Email_Opt_Out', 'Owner'],
	Leads: ['First_Name', 'Last_Name', 'Email', 'Phone', 'Mobile', 'Company', 'Lead_Status', 'Lead_Source', 'Street', 'City', 'State', 'Zip_Code', 'Country', 'Email_Opt_Out', 'Owner'],
	Accounts: ['Account_Name', 'Website', 'Phone', 'Industry', 'Billing_Street', 'Billing_City', 'Billing_State', 'Billing_Code', 'Billing_Country', 'Owner'],
	Deals: ['Deal_Name', 'Amount', 'Stage', 'Closing_Date', 'Account_Name', 'Contact_Name', 'Pipeline', 'Probability', 'Owner'],
	Tasks: ['Subject', 'Due_Date', 'Status', 'Priority', 'Description', 'Who_Id', 'What_Id', '$se_module', 'Owner'],
	Calls: ['Subject', 'Call_Type', 'Call_Start_Time', 'Call_Duration_in_seconds', 'Description', 'Who_Id', 'What_Id', '$se_module', 'Owner'],
	Events: ['Event_Title', 'Start_DateTime', 'End_DateTime', 'Description', 'Who_Id', 'What_Id', '$se_module', 'Owner'],
};
const TIME_FIELDS = ['Modified_Time', 'Created_Time'];

/** Zoho caps a watch channel's life at one day. */
export const WATCH_MAX_MS = 24 * 60 * 60 * 1000;

/** Watched by default: the modules of every entity the sync knows. */
const WATCH_ENTITIES: EntityType[] = ['contact', 'lead', 'account', 'opportunity', 'activity'];

export interface ZohoWatchSpec {
	/** Digits, chosen by the caller; it names the channel in later calls. */
	channelId: string;
	/** Where Zoho POSTs the notifications. */
	url: string;
	/** Echoed in every notification (≤ 50 characters) so the receiver can check it. */
	token?: string;
	/** Entities whose modules are watched; empty or missing: all. */
	entities?: EntityType[];
	/** Epoch ms; capped at one day from now (the default). */
	expiresAt?: number;
}

export interface ZohoWatch {
	channelId: string;
	/** e.g. 'Contacts.all' */
	events: string[];
	url: string;
	/** Epoch ms, as Zoho granted it. */
	expiresAt: number;
}

/** Renew when less than half of a day's life is left: renewals happen at most twice a day. */
export function watchRenewalDue(expiresAt: number, now = Date.now()): boolean {
	return expiresAt - now < WATCH_MAX_MS / 2;
}

/** One per-record result of a Zoho write. */
interface ZohoResult {
	code?: string;
	status?: string;
	message?: string;
	action?: 'insert' | 'update';
	details?: { id?: string; api_name?: string; json_path?: string; [key: string]: unknown };
}

interface ListInfo {
	more_records?: boolean;
	next_page_token?: string | null;
	page?: number;
}

/** listChanges cursor. Zoho's If-Modified-Since is strict ("newer than"), at second precision. */
interface ZohoCursor {
	since: string;
	page?: number;
	pageToken?: string;
	/** `${id}@${Modified_Time}` already delivered at or after `since` (the sweep overlaps by a second). */
	seen?: string[];
	maxTime?: string;
}

export class ZohoConnector implements CrmConnector {
	readonly crm = 'zoho' as const;
	readonly credentialKey: string;
	private readonly transport: Transport;
	private readonly tokens: TokenManager;
	/** The org's currencies (read once per connector, see listCurrencies()). */
	private readonly currencies = readOnce(() => this.readCurrencies());

	constructor(
		private readonly config: ZohoConfig,
		runtime: ConnectorRuntime = {},
	) {
		if (!config.accessToken && !config.refreshToken) throw new Error('Zoho needs an OAuth access token or refresh token');
		const key = credentialKey('zoho', config.clientId, config.refreshToken ?? config.accessToken, config.accountsUrl, config.apiDomain);
		this.credentialKey = key;
		this.tokens = tokenManagerFor(key, () =>
			new TokenManager({
				initial: config.accessToken ? { accessToken: config.accessToken, expiresAt: config.expiresAt, refreshToken: config.refreshToken } : undefined,
				fetch: config.refreshToken && config.clientId && config.clientSecret ? (current) => this.refreshToken(current) : undefined,
			}),
		);
		this.transport = new Transport({
			crm: 'zoho',
			key,
			classify: classifyZohoError,
			limits: { ...LIMITS, ...runtime.limits },
			retry: runtime.retry,
			token: this.tokens,
			store: runtime.store,
			timeoutMs: runtime.timeoutMs,
			onEvent: runtime.onEvent,
		});
	}

	maxBatchSize(_entity: EntityType, operation?: WriteOperation): number {
		return operation === 'merge' ? 1 : WRITE_MAX;
	}

	matchField(entity: EntityType, kind: MatchKind): string | undefined {
		if (kind === 'externalId') return this.config.externalIdFields?.[entity];
		if (entity === 'contact' || entity === 'lead') return kind === 'email' ? 'Email' : 'Phone';
		if (entity === 'account' && kind === 'phone') return 'Phone';
		return undefined;
	}

	async get(entity: EntityType, id: string, options: ReadOptions = {}): Promise<CrmRecord | undefined> {
		const module = this.module(entity);
		try {
			const res = await this.call<{ data?: CrmFields[] }>(`${module}.get`, (base) => ({
				method: 'GET',
				url: `${base}/${module}/${encodeURIComponent(id)}`,
				query: { fields: options.fields?.join(',') },
			}));
			const row = res.body?.data?.[0];
			return res.status === 204 || !row ? undefined : toRecord(row);
		} catch (error) {
			// An unknown id is answered 400 INVALID_DATA ("the id given seems to be invalid").
			if (error instanceof CrmError && (error.httpStatus === 404 || (error.httpStatus === 400 && error.code === 'INVALID_DATA'))) return undefined;
			throw error;
		}
	}

	/**
	 * Exact matches through /search: `criteria=(F:equals:v)or...` (10 conditions per call) for most
	 * fields; `phone=` for phone fields (Zoho matches phones by digits, criteria by exact text).
	 */
	async search(entity: EntityType, field: string, values: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const module = this.module(entity);
		const found = new Map<string, CrmRecord>();
		const wanted = [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
		const queries: Array<Record<string, string>> = isPhoneField(field)
			? wanted.map((v) => ({ phone: v }))
			: chunk(wanted, CRITERIA_MAX).map((group) => ({ criteria: group.map((v) => `(${field}:equals:${escapeCriteria(v)})`).join('or') }));
		for (const query of queries) {
			for (let page = 1; ; page++) {
				const res = await this.call<{ data?: CrmFields[]; info?: ListInfo }>(
					`${module}.search`,
					(base) => ({ method: 'GET', url: `${base}/${module}/search`, query: { ...query, page, per_page: PAGE_MAX, fields: options.fields?.join(',') } }),
					'search',
				);
				for (const row of res.body?.data ?? []) {
					const record = toRecord(row);
					if (wanted.some((v) => fieldEquals(field, row[field], v))) found.set(record.id, record);
				}
				if (res.status === 204 || !res.body?.info?.more_records) break;
			}
		}
		return [...found.values()];
	}

	create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]> {
		const module = this.module(entity);
		return this.writeBatches(records, 'create', (batch) => ({ method: 'POST', path: `/${module}`, data: batch.map((r) => r.fields) }), () => 'created');
	}

	update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]> {
		const module = this.module(entity);
		return this.writeBatches(records, 'update', (batch) => ({ method: 'PUT', path: `/${module}`, data: batch.map((r) => ({ ...r.fields, id: r.id })) }), () => 'updated');
	}

	/**
	 * POST /{module}/upsert with duplicate_check_fields [matchKey]. A key value that appears twice
	 * goes into a later call, so records apply in order and the last one wins.
	 */
	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		const module = this.module(entity);
		const outcomes: WriteOutcome[] = [];
		const rounds: UpsertRequest[][] = [];
		const occurrences = new Map<string, number>();
		for (const request of records) {
			const value = request.fields[matchKey];
			if (value === undefined || value === null || String(value).trim() === '') {
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: `Upsert by ${matchKey} needs a value for ${matchKey}` });
				continue;
			}
			const key = String(value).trim().toLowerCase();
			const round = occurrences.get(key) ?? 0;
			occurrences.set(key, round + 1);
			(rounds[round] ??= []).push(request);
		}
		for (const round of rounds) {
			outcomes.push(
				...(await this.writeBatches(
					round,
					'upsert',
					(batch) => ({ method: 'POST', path: `/${module}/upsert`, data: batch.map((r) => r.fields), extra: { duplicate_check_fields: [matchKey] } }),
					(result) => (result.action === 'insert' ? 'created' : 'updated'),
				)),
			);
		}
		return byRef(outcomes);
	}

	async delete(entity: EntityType, records: DeleteRequest[]): Promise<WriteOutcome[]> {
		const module = this.module(entity);
		const outcomes: WriteOutcome[] = [];
		for (const batch of chunk(records, WRITE_MAX)) {
			let results: ZohoResult[];
			try {
				const res = await this.call<{ data?: ZohoResult[] }>(`${module}.delete`, (base) => ({
					method: 'DELETE',
					url: `${base}/${module}`,
					query: { ids: batch.map((r) => r.id).join(',') },
				}));
				results = res.body?.data ?? [];
			} catch (error) {
				const perRecord = perRecordResults(error, batch.length);
				if (!perRecord) throw error;
				results = perRecord;
			}
			// Results carry the id they refer to; fall back to position.
			batch.forEach((request, i) => {
				const result = results.find((r) => r.details?.id === request.id) ?? results[i];
				if (result?.status === 'success') outcomes.push({ ref: request.ref, status: 'deleted', id: request.id });
				else if (isMissingRecord(result)) outcomes.push(notFound(request.ref, `Zoho: ${result.message} (${result.code})`));
				else outcomes.push(recordFailure(request.ref, result));
			});
		}
		return byRef(outcomes);
	}

	/** POST /{module}/{master}/actions/merge with up to 2 records per call; scheduled merges are polled. */
	async merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]> {
		const module = this.module(entity);
		if (!['Contacts', 'Leads', 'Accounts', 'Deals'].includes(module)) throw new NotImplementedError(`Zoho merge of ${module} (Zoho merges Leads, Contacts, Accounts and Deals)`);
		const outcomes: WriteOutcome[] = [];
		for (const { ref, masterId, mergeIds } of requests) {
			if (mergeIds.length === 0) {
				outcomes.push({ ref, status: 'failed', category: 'validation', code: 'NOTHING_TO_MERGE', message: 'Merge needs at least one record to merge into the master' });
				continue;
			}
			const merged: string[] = [];
			let failed: WriteFailure | undefined;
			for (const group of chunk(mergeIds, MERGE_MAX)) {
				try {
					await this.mergeOnce(module, masterId, group);
					merged.push(...group);
				} catch (error) {
					const f = error instanceof CrmError && error.category !== 'auth' ? errorFailure(ref, error) : undefined;
					if (!f) throw error;
					failed = { ...f, message: merged.length ? `${f.message} (already merged: ${merged.join(', ')})` : f.message };
					break;
				}
			}
			outcomes.push(failed ?? { ref, status: 'merged', id: masterId, mergedIds: merged });
		}
		return outcomes;
	}

	/**
	 * POST /Leads/{id}/actions/convert, one lead per call (in order), into the given contact and
	 * account: `Contacts: {id}`, `Accounts: {id}`, no `Deals` (no deal is made),
	 * overwrite false (the contact keeps its account name), notify_lead_owner and
	 * notify_new_entity_owner false. A converted lead leaves the Leads module (GET answers 204);
	 * converting it again answers 400 ID_ALREADY_CONVERTED, which is `unchanged` (with the request's
	 * contact and account: Zoho does not say which it became). A lead Zoho does not have (never
	 * there, deleted: "the id given seems to be invalid" without a field) answers notFound. A
	 * contact or account Zoho refuses fails the lead (INVALID_DATA, fields: Contacts / Accounts).
	 * Without an accountId the contact's own account is sent (read with GET /Contacts?ids=, 100
	 * contacts a call), so Zoho does not make one from the lead's Company; for a contact without an
	 * account it still may (Zoho's rule, not ours). Sent again when the reply is lost: a lead the
	 * first attempt converted then answers ID_ALREADY_CONVERTED, i.e. `unchanged`.
	 */
	async convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]> {
		const outcomes: ConvertLeadOutcome[] = [];
		const accounts = await this.contactAccounts(requests.filter((r) => !r.accountId).map((r) => r.contactId));
		for (const r of requests) {
			const accountId = r.accountId ?? accounts.get(r.contactId);
			const entry = {
				overwrite: false,
				notify_lead_owner: false,
				notify_new_entity_owner: false,
				Contacts: { id: r.contactId },
				...(accountId ? { Accounts: { id: accountId } } : {}),
			};
			let result: ZohoConvertResult | undefined;
			try {
				const res = await this.call<{ data?: ZohoConvertResult[] }>('Leads.convert', (base) => ({
					method: 'POST',
					url: `${base}/Leads/${encodeURIComponent(r.id)}/actions/convert`,
					body: { data: [entry] },
				}));
				result = res.body?.data?.[0];
			} catch (error) {
				if (!(error instanceof CrmError) || error.category === 'auth') throw error;
				const failed = perRecordResults(error, 1)?.[0] ?? (error.body as ZohoResult | undefined);
				outcomes.push(convertFailure(r, error, failed));
				continue;
			}
			if (result?.status === 'error' || (result?.code !== undefined && result.code !== 'SUCCESS')) {
				outcomes.push(convertFailure(r, undefined, result as ZohoResult));
				continue;
			}
			const ids = (result?.details ?? result ?? {}) as Record<string, unknown>;
			const into = lookupIdOf(ids.Accounts) ?? accountId;
			outcomes.push({ ref: r.ref, status: 'converted', id: r.id, contactId: lookupIdOf(ids.Contacts) ?? r.contactId, ...(into ? { accountId: into } : {}) });
		}
		return byRef(outcomes);
	}

	/**
	 * The account (Account_Name lookup) of each contact that has one: GET /Contacts?ids= (100 a
	 * call). Missing contacts are left out (the conversion then names the contact alone, and Zoho
	 * refuses it).
	 */
	private async contactAccounts(contactIds: string[]): Promise<Map<string, string>> {
		const accounts = new Map<string, string>();
		for (const group of chunk([...new Set(contactIds)], WRITE_MAX)) {
			const res = await this.call<{ data?: CrmFields[] }>('Contacts.byId', (base) => ({ method: 'GET', url: `${base}/Contacts`, query: { ids: group.join(','), fields: 'Account_Name', per_page: WRITE_MAX } }));
			for (const row of res.status === 200 ? (res.body?.data ?? []) : []) {
				const account = lookupIdOf(row.Account_Name);
				if (account) accounts.set(String(row.id), account);
			}
		}
		return accounts;
	}

	/**
	 * Records sorted by Modified_Time with If-Modified-Since, following next_page_token (Zoho
	 * refuses page numbers past 2,000 records), then /deleted since the same time. The next
	 * sweep starts one second before the newest change (If-Modified-Since is strict at second
	 * precision) and skips what was already delivered.
	 */
	async listChanges(entity: EntityType, options: ListChangesOptions = {}): Promise<ChangePage> {
		const module = this.module(entity);
		const cursor: ZohoCursor = options.cursor ? decodeCursor<ZohoCursor>(options.cursor, 'Zoho', (c) => typeof c.since === 'string') : { since: zohoTime(Date.parse(options.since ?? '1970-01-01T00:00:00Z') - 1000) };
		const perPage = Math.min(PAGE_MAX, Math.max(1, options.pageSize ?? PAGE_MAX));
		const fields = [...new Set([...(options.fields ?? DEFAULT_FIELDS[module] ?? []), ...TIME_FIELDS])].slice(0, 50);
		const res = await this.call<{ data?: CrmFields[]; info?: ListInfo }>(`${module}.list`, (base) => ({
			method: 'GET',
			url: `${base}/${module}`,
			headers: { 'If-Modified-Since': cursor.since },
			query: {
				fields: fields.join(','),
				sort_by: 'Modified_Time',
				sort_order: 'asc',
				per_page: perPage,
				...(cursor.pageToken ? { page_token: cursor.pageToken } : { page: cursor.page ?? 1 }),
			},
		}));
		const seen = new Set(cursor.seen ?? []);
		let maxTime = cursor.maxTime;
		const records: ChangedRecord[] = [];
		for (const row of res.status === 200 ? (res.body?.data ?? []) : []) {
			const record = toRecord(row);
			const modifiedAt = record.modifiedAt ?? cursor.since;
			if (seen.has(`${record.id}@${modifiedAt}`)) continue;
			records.push({ ...record, modifiedAt });
			if (maxTime === undefined || Date.parse(modifiedAt) > Date.parse(maxTime)) maxTime = modifiedAt;
		}
		const info = res.status === 200 ? res.body?.info : undefined;
		if (info?.more_records) {
			const next: ZohoCursor = { ...cursor, maxTime, ...(info.next_page_token ? { pageToken: info.next_page_token, page: undefined } : { page: (cursor.page ?? 1) + 1 }) };
			// Keep only what a later overlap could repeat: entries within a second of the newest time.
			next.seen = [...(cursor.seen ?? []), ...records.map((r) => `${r.id}@${r.modifiedAt}`)].filter((k) => seenTime(k) >= Date.parse(maxTime ?? cursor.since) - 1000);
			return { records, deleted: [], hasMore: true, cursor: encodeCursor(next) };
		}
		const deleted = options.includeDeleted === false ? [] : await this.deletedSince(module, cursor.since);
		const newest = Math.max(Date.parse(maxTime ?? cursor.since), ...deleted.map((d) => (d.deletedAt ? Date.parse(d.deletedAt) : 0)));
		const since = zohoTime(Math.max(Date.parse(cursor.since), newest - 1000));
		const delivered = [...(cursor.seen ?? []), ...records.map((r) => `${r.id}@${r.modifiedAt}`)].filter((k) => seenTime(k) >= Date.parse(since));
		return { records, deleted, hasMore: false, cursor: encodeCursor({ since, seen: delivered }) };
	}

	/** GET /settings/fields?module=: live layout metadata, custom fields included. */
	async describeFields(entity: EntityType): Promise<FieldDescription[]> {
		const module = this.module(entity);
		const res = await this.call<{ fields?: Array<Record<string, unknown>> }>(`${module}.fields`, (base) => ({
			method: 'GET',
			url: `${base}/settings/fields`,
			query: { module },
		}));
		return (res.body?.fields ?? []).map(describeField);
	}

	/**
	 * The Stage picklist of GET /settings/fields?module=Deals: each value's actual_value (what a
	 * deal's Stage holds), display_value, probability and forecast_type (Open / Closed Won /
	 * Closed Lost). crm-wire.md documents no pipelines API, so this is one list without pipelineId.
	 */
	async listStages(): Promise<CrmStage[]> {
		const res = await this.call<{ fields?: Array<Record<string, unknown>> }>('Deals.fields', (base) => ({
			method: 'GET',
			url: `${base}/settings/fields`,
			query: { module: 'Deals' },
		}));
		const stage = (res.body?.fields ?? []).find((f) => f.api_name === 'Stage');
		const values = (Array.isArray(stage?.pick_list_values) ? stage.pick_list_values : []) as ZohoPicklistValue[];
		// sequence_number orders the values where Zoho sends it; otherwise the array's order.
		const ordered = values
			.map((v, i) => ({ v, i }))
			.filter(({ v }) => v.actual_value !== undefined && v.actual_value !== null && v.actual_value !== '-None-' && v.type !== 'unused')
			.sort((a, b) => (a.v.sequence_number ?? a.i) - (b.v.sequence_number ?? b.i) || a.i - b.i);
		return ordered.map(({ v }, order) => {
			const probability = typeof v.probability === 'number' ? v.probability : v.probability !== undefined && v.probability !== null && v.probability !== '' ? Number(v.probability) : undefined;
			return {
				id: String(v.actual_value),
				label: String(v.display_value ?? v.actual_value),
				outcome: stageOutcome(v),
				...(probability !== undefined && Number.isFinite(probability) ? { probability } : {}),
				order,
			};
		});
	}

	/** GET /users?type=AllUsers, page by page (per_page 200) while info.more_records; 204 = none. */
	async listUsers(): Promise<CrmUser[]> {
		const users: CrmUser[] = [];
		for (let page = 1; ; page++) {
			const res = await this.call<{ users?: ZohoUser[]; info?: ListInfo }>('users.list', (base) => ({
				method: 'GET',
				url: `${base}/users`,
				query: { type: 'AllUsers', page, per_page: PAGE_MAX },
			}));
			for (const u of res.status === 200 ? (res.body?.users ?? []) : []) {
				if (u.id === undefined || u.id === null) continue;
				const email = typeof u.email === 'string' && u.email.trim() !== '' ? u.email.trim().toLowerCase() : undefined;
				const name = u.full_name ?? ([u.first_name, u.last_name].filter((x) => x).join(' ') || undefined);
				users.push({ id: String(u.id), ...(email ? { email } : {}), ...(name ? { name } : {}), active: u.status === 'active' });
			}
			if (res.status !== 200 || !res.body?.info?.more_records) break;
		}
		return users;
	}

	/**
	 * The org's currencies, read once per connector (a failed read is tried again next time).
	 * GET /org: `iso_code` is the home currency and `mc_status` whether multiple currencies are
	 * on; a single-currency org has no Currency field on its records. With them on, GET
	 * /org/currencies: the base currency (is_base) as default, the active ones (is_active) as
	 * enabled (Zoho answers 403 CURRENCIES_NOT_ENABLED when they are off: then the home currency).
	 * A deal's currency is its `Currency` (an ISO code), next to `Exchange_Rate`.
	 */
	listCurrencies(): Promise<CrmCurrencies> {
		return this.currencies();
	}

	private async readCurrencies(): Promise<CrmCurrencies> {
		const code = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().toUpperCase() : undefined);
		const res = await this.call<{ org?: Array<{ iso_code?: string; mc_status?: boolean | null }> }>('org', (base) => ({ method: 'GET', url: `${base}/org` }));
		const org = res.body?.org?.[0];
		const home = code(org?.iso_code);
		if (!home) throw new CrmError('Zoho: GET /org names no iso_code (home currency)', 'zoho', 'fatal', { body: res.body });
		const single = { default: home, enabled: [home] };
		if (org?.mc_status !== true) return single;
		let rows: Array<{ iso_code?: string; is_active?: boolean; is_base?: boolean }>;
		try {
			rows = (await this.call<{ currencies?: typeof rows }>('org.currencies', (base) => ({ method: 'GET', url: `${base}/org/currencies` }))).body?.currencies ?? [];
		} catch (error) {
			if (error instanceof CrmError && error.code === 'CURRENCIES_NOT_ENABLED') return single;
			throw error;
		}
		const base = code(rows.find((r) => r.is_base === true)?.iso_code) ?? home;
		const active = rows.filter((r) => r.is_active !== false).map((r) => code(r.iso_code)).filter((c): c is string => c !== undefined && c !== base);
		return { default: base, enabled: [base, ...new Set(active)] };
	}

	/**
	 * Accounts/search with criteria `(Website:starts_with:<spelling>)` for each domain's likely
	 * spellings (bare, www., http(s)://, http(s)://www.), ten conditions per call; Zoho's criteria
	 * have no "contains". starts_with also hits acme.com.au, so only records whose normalised
	 * Website is one of the domains are kept.
	 */
	async findAccountsByDomain(domains: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = domainKeys(domains);
		const conditions = [...wanted].flatMap((d) => WEBSITE_PREFIXES.map((p) => `(Website:starts_with:${escapeCriteria(p + d)})`));
		const rows = await this.searchAccounts(conditions, options, 'Website');
		return rows.filter((r) => wanted.has(normaliseDomain(r.Website) ?? '')).map(toRecord);
	}

	/**
	 * Accounts/search with criteria `(Account_Name:starts_with:<first word>)`: the first word as
	 * given (accents kept) and as normalised, each also after "The "; then only names whose
	 * normaliseCompany equals one of the names' is kept.
	 */
	async findAccountsByName(names: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = nameKeys(names);
		const words = new Map<string, string>();
		for (const name of names) {
			const normalised = normaliseCompany(name);
			if (normalised === undefined) continue;
			const given = String(name).trim().split(/\s+/).filter((w) => w !== '');
			if (given.length > 1 && given[0].toLowerCase() === 'the') given.shift();
			for (const word of [normalised.split(' ')[0], given[0]?.replace(/[,;:]+$/, '')]) {
				if (!word) continue;
				for (const prefix of ['', 'The ']) words.set((prefix + word).toLowerCase(), prefix + word);
			}
		}
		const conditions = [...words.values()].map((w) => `(Account_Name:starts_with:${escapeCriteria(w)})`);
		const rows = await this.searchAccounts(conditions, options, 'Account_Name');
		return rows.filter((r) => wanted.has(normaliseCompany(r.Account_Name) ?? '')).map(toRecord);
	}

	async testConnection(): Promise<void> {
		await this.call('Contacts.list', (base) => ({ method: 'GET', url: `${base}/Contacts`, query: { fields: 'Last_Name', per_page: 1 } }));
	}

	/**
	 * Zoho notifications do not say who made a change; records carry Modified_By. Our writes show
	 * the user behind this token (GET /users?type=CurrentUser), which the trigger compares.
	 */
	async changeOrigin(): Promise<ChangeOrigin> {
		const res = await this.call<{ users?: Array<{ id?: string }> }>('users.current', (base) => ({ method: 'GET', url: `${base}/users`, query: { type: 'CurrentUser' } }));
		const id = res.body?.users?.[0]?.id;
		return id ? { actorId: String(id) } : {};
	}

	// ---------------------------------------------------------------- notifications (watch)

	/**
	 * POST /actions/watch: notifications of every change to the entities' modules go to
	 * spec.url, carrying spec.token. Zoho caps the expiry at one day; the answer has the real one.
	 */
	async enableWatch(spec: ZohoWatchSpec): Promise<ZohoWatch> {
		return this.writeWatch('POST', spec, true);
	}

	/** PATCH /actions/watch with a new expiry (the channel keeps its events, URL and token). */
	async renewWatch(channelId: string, expiresAt = Date.now() + WATCH_MAX_MS): Promise<ZohoWatch> {
		return this.writeWatch('PATCH', { channelId, expiresAt }, false);
	}

	/** GET /actions/watch: the live channels (204 = none). */
	async listWatches(): Promise<ZohoWatch[]> {
		const res = await this.call<{ watch?: Array<Record<string, unknown>> }>('watch.list', (base) => ({ method: 'GET', url: `${base}/actions/watch` }));
		return (res.body?.watch ?? []).map((w) => ({
			channelId: String(w.channel_id),
			events: (w.events as string[] | undefined) ?? [],
			url: String(w.notify_url ?? ''),
			expiresAt: Date.parse(String(w.channel_expiry)),
		}));
	}

	/** DELETE /actions/watch?channel_ids=. False when the channel no longer exists. */
	async disableWatch(channelId: string): Promise<boolean> {
		try {
			await this.call('watch.disable', (base) => ({ method: 'DELETE', url: `${base}/actions/watch`, query: { channel_ids: channelId } }));
			return true;
		} catch (error) {
			const result = ((error as CrmError).body as { watch?: ZohoResult[] } | undefined)?.watch?.[0];
			if (error instanceof CrmError && error.httpStatus === 400 && result?.code === 'INVALID_DATA') return false;
			throw error;
		}
	}

	private async writeWatch(method: 'POST' | 'PATCH', spec: Partial<ZohoWatchSpec> & { channelId: string }, create: boolean): Promise<ZohoWatch> {
		if (!/^\d+$/.test(spec.channelId)) throw new CrmError(`Zoho: channel id must be digits, got "${spec.channelId}"`, 'zoho', 'validation');
		if (spec.token !== undefined && spec.token.length > 50) throw new CrmError('Zoho: the watch token is limited to 50 characters', 'zoho', 'validation');
		const modules = [...new Set((spec.entities?.length ? spec.entities : WATCH_ENTITIES).map((e) => this.module(e)))];
		const entry = {
			channel_id: spec.channelId,
			...(create ? { events: modules.map((m) => `${m}.all`), notify_url: spec.url, token: spec.token, return_affected_field_values: true } : {}),
			channel_expiry: zohoTime(Math.min(spec.expiresAt ?? Infinity, Date.now() + WATCH_MAX_MS)),
		};
		const res = await this.call<{ watch?: Array<ZohoResult & { details?: { events?: Array<{ channel_expiry?: string; resource_name?: string }> } }> }>(
			`watch.${create ? 'enable' : 'renew'}`,
			(base) => ({ method, url: `${base}/actions/watch`, body: { watch: [entry] } }),
			'default',
			!create,
		);
		const result = res.body?.watch?.[0];
		if (result?.status !== 'success') throw new CrmError(`Zoho: ${result?.message ?? 'watch failed'}`, 'zoho', 'validation', { code: result?.code, body: res.body });
		const events = result.details?.events ?? [];
		return {
			channelId: spec.channelId,
			events: events.map((e) => `${e.resource_name}.all`),
			url: spec.url ?? '',
			expiresAt: Math.min(...events.map((e) => Date.parse(String(e.channel_expiry)))),
		};
	}

	// ---------------------------------------------------------------- internals

	private module(entity: EntityType): string {
		switch (entity) {
			case 'contact':
				return 'Contacts';
			case 'lead':
				return 'Leads';
			case 'account':
				return 'Accounts';
			case 'opportunity':
				return 'Deals';
			case 'activity':
				return this.config.activityModule ?? 'Tasks';
		}
	}

	/** One API call through the transport; `build` gets the v6 base URL of the current token's api_domain. */
	private async call<T>(label: string, build: (base: string) => HttpRequest, bucket = 'default', idempotent = true): Promise<HttpResponse<T>> {
		return this.transport.call(
			label,
			async (token, signal) => {
				const base = `${await this.apiDomain()}${API_PATH}`;
				const request = build(base);
				return httpRequest<T>({ ...request, headers: { ...request.headers, Authorization: `Zoho-oauthtoken ${token}` }, signal });
			},
			{ bucket, idempotent },
		);
	}

	private async apiDomain(): Promise<string> {
		const fromToken = (await this.tokens.get()).extra?.api_domain;
		return String(this.config.apiDomain || fromToken || DEFAULT_API_DOMAIN).replace(/\/+$/, '');
	}

	/** refresh_token grant; Zoho answers token errors with HTTP 200 and {error}. */
	private async refreshToken(current: AccessToken | undefined): Promise<AccessToken> {
		const accounts = (this.config.accountsUrl || DEFAULT_ACCOUNTS).replace(/\/+$/, '');
		let res: HttpResponse<{ access_token?: string; expires_in?: number; api_domain?: string; error?: string; error_description?: string }>;
		try {
			res = await httpRequest({
				method: 'POST',
				url: `${accounts}/oauth/v2/token`,
				form: {
					grant_type: 'refresh_token',
					client_id: this.config.clientId!,
					client_secret: this.config.clientSecret!,
					refresh_token: current?.refreshToken ?? this.config.refreshToken!,
				},
			});
		} catch (error) {
			const e = classifyZohoError(error);
			throw new CrmError(`Zoho token refresh failed: ${e.message}`, 'zoho', e.category === 'transient' ? 'transient' : 'auth', { httpStatus: e.httpStatus, body: e.body, cause: error });
		}
		const body = res.body;
		if (!body?.access_token) {
			throw new CrmError(`Zoho token refresh failed: ${body?.error_description ?? body?.error ?? 'no access_token in the reply'}`, 'zoho', 'auth', { code: body?.error, body });
		}
		return {
			accessToken: body.access_token,
			expiresAt: body.expires_in ? Date.now() + body.expires_in * 1000 : undefined,
			extra: { api_domain: body.api_domain },
		};
	}

	/**
	 * Sends `requests` in calls of WRITE_MAX and pairs each per-record result with its request (Zoho
	 * answers in request order). A call refused as a whole (auth, outage past retries) throws.
	 */
	private async writeBatches<R extends { ref: number }>(
		requests: R[],
		operation: 'create' | 'update' | 'upsert',
		shape: (batch: R[]) => { method: 'POST' | 'PUT'; path: string; data: CrmFields[]; extra?: Record<string, unknown> },
		success: (result: ZohoResult) => 'created' | 'updated',
	): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		for (const batch of chunk(requests, WRITE_MAX)) {
			const { method, path, data, extra } = shape(batch);
			let results: ZohoResult[];
			try {
				const res = await this.call<{ data?: ZohoResult[] }>(
					`${path.slice(1)}.${operation}`,
					(base) => ({ method, url: `${base}${path}`, body: { data, trigger: this.config.triggers ?? [], ...extra } }),
					'default',
					// A plain insert that timed out may have happened; upsert and update are safe to repeat.
					operation !== 'create',
				);
				results = res.body?.data ?? [];
			} catch (error) {
				const perRecord = perRecordResults(error, batch.length);
				if (perRecord) results = perRecord;
				else if (error instanceof CrmError && error.category === 'validation') {
					outcomes.push(...failAll(batch, error));
					continue;
				} else throw error;
			}
			batch.forEach((request, i) => {
				const result = results[i];
				const id = result?.details?.id;
				outcomes.push(result?.status === 'success' && id ? { ref: request.ref, status: success(result), id: String(id) } : recordFailure(request.ref, result));
			});
		}
		return byRef(outcomes);
	}

	private async mergeOnce(module: string, masterId: string, ids: string[]): Promise<void> {
		const res = await this.call<{ merge?: ZohoResult[] }>(`${module}.merge`, (base) => ({
			method: 'POST',
			url: `${base}/${module}/${encodeURIComponent(masterId)}/actions/merge`,
			body: { merge: [{ data: ids.map((id) => ({ id })) }] },
		}));
		const result = res.body?.merge?.[0];
		if (result?.code === 'SCHEDULED' && result.details?.job_id) return this.waitForMerge(module, masterId, String(result.details.job_id));
		if (result?.status !== 'success') throw new CrmError(`Zoho: ${result?.message ?? 'merge failed'}`, 'zoho', 'validation', { code: result?.code, body: res.body });
	}

	/** Polls a scheduled merge job (GET .../actions/merge?job_id=) until it completes or fails. */
	private async waitForMerge(module: string, masterId: string, jobId: string): Promise<void> {
		for (let attempt = 0; attempt < 60; attempt++) {
			const res = await this.call<{ merge?: Array<{ status?: string }> }>(`${module}.merge.status`, (base) => ({
				method: 'GET',
				url: `${base}/${module}/${encodeURIComponent(masterId)}/actions/merge`,
				query: { job_id: jobId },
			}));
			const status = res.body?.merge?.[0]?.status;
			if (status === 'COMPLETED') return;
			if (status === 'FAILURE') throw new CrmError(`Zoho: merge job ${jobId} failed`, 'zoho', 'validation', { code: 'MERGE_FAILED', body: res.body });
			await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)));
		}
		throw new CrmError(`Zoho: merge job ${jobId} did not finish`, 'zoho', 'transient', { code: 'MERGE_TIMEOUT' });
	}

	/**
	 * Accounts/search over `conditions` joined by `or`, CRITERIA_MAX per call, every page; rows
	 * once each. `needed` is added to a caller's field list so the caller can filter on it.
	 */
	private async searchAccounts(conditions: string[], options: ReadOptions, needed: string): Promise<CrmFields[]> {
		const found = new Map<string, CrmFields>();
		const fields = options.fields ? [...new Set([...options.fields, needed])].join(',') : undefined;
		for (const group of chunk(conditions, CRITERIA_MAX)) {
			const criteria = group.length === 1 ? group[0] : `(${group.join('or')})`;
			// Zoho's search reaches 2,000 records (10 pages of 200) per criteria.
			for (let page = 1; page * PAGE_MAX <= SEARCH_MAX; page++) {
				const res = await this.call<{ data?: CrmFields[]; info?: ListInfo }>(
					'Accounts.search',
					(base) => ({ method: 'GET', url: `${base}/Accounts/search`, query: { criteria, page, per_page: PAGE_MAX, fields } }),
					'search',
				);
				// 204 with an empty body when nothing matches (v2-search-204-no-content-recorded.txt).
				if (res.status === 204) break;
				for (const row of res.body?.data ?? []) if (row.id !== undefined && row.id !== null) found.set(String(row.id), row);
				if (!res.body?.info?.more_records) break;
			}
		}
		return [...found.values()];
	}

	/** GET /{module}/deleted?type=all with If-Modified-Since, all pages. */
	private async deletedSince(module: string, since: string): Promise<DeletedRecord[]> {
		const deleted: DeletedRecord[] = [];
		for (let page = 1; ; page++) {
			const res = await this.call<{ data?: Array<{ id?: string; deleted_time?: string }>; info?: ListInfo }>(`${module}.deleted`, (base) => ({
				method: 'GET',
				url: `${base}/${module}/deleted`,
				headers: { 'If-Modified-Since': since },
				query: { type: 'all', page, per_page: PAGE_MAX },
			}));
			if (res.status !== 200) break;
			for (const row of res.body?.data ?? []) {
				if (row.id) deleted.push({ id: String(row.id), ...(row.deleted_time ? { deletedAt: isoTime(row.deleted_time) } : {}) });
			}
			if (!res.body?.info?.more_records) break;
		}
		return deleted;
	}
}

// ---------------------------------------------------------------- helpers

/** One value of a picklist in GET /settings/fields; Stage values carry the forecast keys. */
interface ZohoPicklistValue {
	display_value?: string;
	actual_value?: string;
	sequence_number?: number;
	type?: string;
	probability?: number | string | null;
	forecast_type?: string;
	forecast_category?: { name?: string; id?: string } | null;
}

/** One user of GET /users. */
interface ZohoUser {
	id?: string;
	email?: string;
	full_name?: string;
	first_name?: string | null;
	last_name?: string;
	status?: string;
}

/** How a website may begin; starts_with on each finds it with or without a path. */
const WEBSITE_PREFIXES = ['', 'www.', 'http://', 'https://', 'http://www.', 'https://www.'];

/**
 * forecast_type says whether a stage is won or lost ("Closed Won" / "Closed Lost"); without it,
 * the forecast category: Closed with a probability above 0 is won, Omitted or Closed at 0 lost.
 */
function stageOutcome(v: ZohoPicklistValue): CrmStage['outcome'] {
	const type = String(v.forecast_type ?? '').toLowerCase().replace(/[\s_-]+/g, ' ').trim();
	if (type === 'closed won') return 'won';
	if (type === 'closed lost') return 'lost';
	if (type !== '') return 'open';
	const category = String(v.forecast_category?.name ?? '').toLowerCase();
	if (category === 'omitted') return 'lost';
	if (category === 'closed') return Number(v.probability) > 0 ? 'won' : 'lost';
	return 'open';
}

/**
 * Zoho error envelope {code, message, details, status:'error'}: INVALID_TOKEN / AUTHENTICATION_FAILURE
 * are auth; 429 TOO_MANY_REQUESTS is the throttle (X-RATELIMIT-RESET tells when credits return).
 */
export function classifyZohoError(error: unknown): CrmError {
	if (error instanceof CrmError) return error;
	if (!(error instanceof HttpStatusError)) return classifyGeneric('zoho', error);
	const body = (error.body ?? {}) as { code?: string; message?: string };
	const generic = classifyGeneric('zoho', error, error.status, error.body, error.headers);
	let category = generic.category;
	if (body.code === 'INVALID_TOKEN' || body.code === 'AUTHENTICATION_FAILURE') category = 'auth';
	else if (error.status === 429 || body.code === 'TOO_MANY_REQUESTS') category = 'rate_limit';
	else if (error.status === 403 || body.code === 'NO_PERMISSION' || body.code === 'OAUTH_SCOPE_MISMATCH') category = 'validation';
	return new CrmError(`Zoho: ${body.message ?? generic.message}${body.code ? ` (${body.code})` : ''}`, 'zoho', category, {
		httpStatus: error.status,
		code: body.code,
		body: error.body,
		retryAfterMs: generic.retryAfterMs ?? (category === 'rate_limit' ? resetDelay(headerValue(error.headers, 'x-ratelimit-reset')) : undefined),
		cause: error,
	});
}

/** X-RATELIMIT-RESET as a wait in ms: epoch ms, epoch seconds or seconds from now. */
function resetDelay(raw: string | undefined): number | undefined {
	const n = Number(raw);
	if (!raw || !Number.isFinite(n)) return undefined;
	if (n > 1e12) return Math.max(0, n - Date.now());
	if (n > 1e9) return Math.max(0, n * 1000 - Date.now());
	return Math.max(0, n * 1000);
}

/** A whole-call 400/207 error body that still holds one result per record. */
function perRecordResults(error: unknown, count: number): ZohoResult[] | undefined {
	if (!(error instanceof CrmError) || error.category !== 'validation') return undefined;
	const data = (error.body as { data?: unknown } | undefined)?.data;
	return Array.isArray(data) && data.length === count ? (data as ZohoResult[]) : undefined;
}

/** A convert answer: bare ids (v2, v2-convert-lead-recorded.json) or {code, details, status} (v3+). */
interface ZohoConvertResult {
	code?: string;
	status?: string;
	message?: string;
	details?: Record<string, unknown>;
	Contacts?: unknown;
	Accounts?: unknown;
	Deals?: unknown;
}

/** The id of a convert answer's lookup: a bare id or {id, name}. */
function lookupIdOf(value: unknown): string | undefined {
	const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : value;
	return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
}

/**
 * A refused conversion. ID_ALREADY_CONVERTED is `unchanged`; the lead's own id refused ("the id
 * given seems to be invalid" without a field: deleted, or never there) is notFound; a refused
 * contact or account names its field.
 */
function convertFailure(r: ConvertLeadRequest, error: CrmError | undefined, result: ZohoResult | undefined): ConvertLeadOutcome {
	const code = result?.code ?? error?.code;
	if (code === 'ID_ALREADY_CONVERTED') return { ref: r.ref, status: 'unchanged', id: r.id, contactId: r.contactId, ...(r.accountId ? { accountId: r.accountId } : {}) };
	const field = result?.details?.api_name;
	if (code === 'INVALID_DATA' && field === undefined && /id given seems to be invalid/i.test(result?.message ?? error?.message ?? '')) {
		return notFound(r.ref, `Zoho: lead ${r.id} not found (converted already, deleted, or no such lead): ${result?.message ?? error?.message} (${code})`);
	}
	if (result) return recordFailure(r.ref, result);
	return errorFailure(r.ref, error!);
}

function recordFailure(ref: number, result: ZohoResult | undefined): WriteFailure {
	if (!result) return { ref, status: 'failed', category: 'fatal', message: 'Zoho returned no result for this record' };
	const field = result.details?.api_name;
	const code = result.code ?? 'ERROR';
	return {
		ref,
		status: 'failed',
		category: code === 'LIMIT_EXCEEDED' ? 'rate_limit' : 'validation',
		code,
		message: `Zoho: ${result.message ?? code}${field ? ` (${field})` : ''}`,
		...(field ? { fields: [String(field)] } : {}),
	};
}

/** Zoho's answer for an id it has no record for (deleted, or never there): INVALID_DATA "the id given seems to be invalid". */
function isMissingRecord(result: ZohoResult | undefined): result is ZohoResult {
	return result?.code === 'INVALID_DATA' && /id given seems to be invalid/i.test(result.message ?? '');
}

function errorFailure(ref: number, error: CrmError): WriteFailure {
	return { ref, status: 'failed', category: error.category, message: error.message, ...(error.code ? { code: error.code } : {}) };
}

function toRecord(row: CrmFields): CrmRecord {
	return {
		id: String(row.id),
		fields: row,
		...(typeof row.Modified_Time === 'string' ? { modifiedAt: isoTime(row.Modified_Time) } : {}),
		...(typeof row.Created_Time === 'string' ? { createdAt: isoTime(row.Created_Time) } : {}),
	};
}

function isoTime(value: string): string {
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** Zoho's datetime form, second precision, UTC offset. */
function zohoTime(ms: number): string {
	return new Date(Math.max(0, Math.floor(ms / 1000) * 1000)).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** In criteria values, ( ) and , are escaped with a backslash (and the backslash itself). */
function escapeCriteria(value: string): string {
	return value.replace(/[\\(),]/g, (c) => `\\${c}`);
}

function isPhoneField(field: string): boolean {
	return /(^|_)(Phone|Mobile)$/.test(field);
}

function fieldEquals(field: string, stored: unknown, value: string): boolean {
	const text = stored && typeof stored === 'object' ? String((stored as { id?: unknown; name?: unknown }).name ?? (stored as { id?: unknown }).id ?? '') : String(stored ?? '');
	if (isPhoneField(field)) {
		const a = text.replace(/\D/g, '');
		const b = value.replace(/\D/g, '');
		return a !== '' && (a === b || a.slice(-10) === b.slice(-10));
	}
	return text.trim().toLowerCase() === value.toLowerCase();
}

function seenTime(key: string): number {
	return Date.parse(key.slice(key.indexOf('@') + 1));
}

const FIELD_TYPES: Record<string, FieldType> = {
	text: 'string',
	textarea: 'text',
	email: 'email',
	phone: 'phone',
	website: 'url',
	integer: 'number',
	bigint: 'number',
	double: 'number',
	decimal: 'number',
	currency: 'currency',
	percent: 'percent',
	boolean: 'boolean',
	date: 'date',
	datetime: 'datetime',
	picklist: 'picklist',
	multiselectpicklist: 'multipicklist',
	lookup: 'reference',
	ownerlookup: 'reference',
	userlookup: 'reference',
	bigint_id: 'id',
};

function describeField(f: Record<string, unknown>): FieldDescription {
	const name = String(f.api_name);
	const crmType = String(f.data_type ?? 'unknown');
	const picklist = Array.isArray(f.pick_list_values) ? (f.pick_list_values as Array<{ actual_value?: unknown; display_value?: unknown }>) : [];
	const lookupModule = (f.lookup as { module?: { api_name?: string } } | undefined)?.module?.api_name;
	return {
		name,
		label: String(f.field_label ?? f.display_label ?? name),
		type: name === 'id' ? 'id' : (FIELD_TYPES[crmType] ?? 'other'),
		crmType,
		custom: f.custom_field === true,
		required: f.system_mandatory === true || f.required === true,
		readOnly: f.read_only === true || (f.field_read_only as boolean | undefined) === true,
		unique: name === 'id' || (f.unique as { casesensitive?: unknown } | undefined) !== undefined && f.unique !== null && f.unique !== false,
		...(picklist.length ? { options: picklist.map((p) => ({ value: String(p.actual_value), label: String(p.display_value ?? p.actual_value) })) } : {}),
		...(lookupModule ? { referenceTo: [lookupModule] } : {}),
	};
}
