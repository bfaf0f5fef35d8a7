// Microsoft Dynamics 365 / Dataverse Web API v9.2 over plain HTTP.
//
// Auth: Entra ID client credentials ({authority}/{tenant}/oauth2/v2.0/token, scope {orgUrl}/.default);
// no refresh token, so a new token is fetched on expiry or 401.
// Writes: $batch (up to 1,000 operations), one changeset per record so a bad record fails alone.
// Updates carry If-Match: * (without it PATCH would create); upsert is PATCH on an alternate key
// (created = 201, updated = 200 with Prefer return=representation), or search + write when the
// match field is not an alternate key in this environment.
// Opportunities won or lost: Dataverse refuses statecode 1/2 in a create or update (0x80100005
// CannotUseOpportunitySetStateMessage, web service error codes); the record is written without
// statecode/statuscode and closed with WinOpportunity / LoseOpportunity in the same changeset
// (updates read the current state first; reopening, statecode 0, is a plain PATCH).
//
// Corrections to crm-wire.md, with the recorded payload (../shared/data/crm-fixtures/dataverse/)
// that shows them:
// - A duplicate-detection hit is HTTP 500 with code 0x80040333 (error-500-duplicate-detection-
//   0x80040333.json, by design): a duplicate (validation), never retried as a server error.
// - Error codes are often "" or "0x0" (error-404-upsert-if-match-not-found.json,
//   error-400-could-not-find-property-0x0-docs.json): classify by status and message.
// - A $batch that stops on an error answers an outer 400 whose body is still the multipart reply
//   (batch-response-error-stop.http); created rows answer 204 with Location and OData-EntityId, the
//   docs once with no space after `Location:` (batch-response-changeset-content-id-ref.http).
// - A 404 may mean a wrong URL, not a missing row ("Resource not found for the segment",
//   "No HTTP resource was found"; error-404-*-docs.json): only "<entity> With Id = … Does Not
//   Exist" means the row is gone.
// - @odata.nextLink's $skiptoken holds an XML paging cookie encoded twice
//   (query-contacts-page1-nextlink.json): the link is followed as given, never decoded or rebuilt.
//
// Metadata and lookups for account/opportunity sync:
// - Stages: EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='salesstage')/
//   Microsoft.Dynamics.CRM.PicklistAttributeMetadata with $expand=OptionSet($select=Options); the
//   closed states (statecode 1 Won, 2 Lost) are added as the stages 'won' and 'lost'.
// - Users: systemusers ($select systemuserid, internalemailaddress, fullname, isdisabled, accessmode).
// - Currencies: organizations (_basecurrencyid_value) and transactioncurrencies (isocurrencycode,
//   statecode 0 active).
// - A lead's or opportunity's currency travels as an ISO code (currency.ts, CURRENCY_ISO_FIELD):
//   writes bind transactioncurrencyid to that code's transactioncurrencies row, reads add the code
//   from _transactioncurrencyid_value; the currency rows are read once per connector (again once
//   when a read meets a currency GUID they lack).
// - Accounts by domain / name: accounts $filter contains(websiteurl,'…') / contains(name,'…') joined
//   by `or`, then kept by normaliseDomain / normaliseCompany equality.

import type { ChangeOrigin, EntityType } from '../../model';
import {
	classifyGeneric,
	credentialKey,
	CrmError,
	HttpStatusError,
	httpRequest,
	isUnanswered,
	Transport,
	TokenManager,
	tokenManagerFor,
	type AccessToken,
	type HttpRequest,
	type HttpResponse,
} from '../../http';
import { decodeCursor, encodeCursor } from '../../connectors/cursor';
import { normaliseDomain } from '../../matching/normalise-domain';
import { domainKeys } from '../../matching/accounts';
import { normaliseCompany } from '../../matching/normalise-company';
import { foldText } from '../../matching/normalise-text';
import { buildBatch, parseBatchResponse, type BatchOperation, type BatchOperationResult } from './batch';
import { bindCurrency, currencyIdOf, CurrencyTable, CURRENCY_FAILURE_CODE, CURRENCY_ISO_FIELD, CURRENCY_LOOKUP_VALUE, CURRENCY_NAV, wantsCurrency } from './currency';
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
	type CrmFields,
	type CrmRecord,
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

export interface DynamicsConfig {
	/** Environment URL, e.g. https://contoso.crm.dynamics.com (the client appends /api/data/v9.2). */
	orgUrl: string;
	tenantId?: string;
	clientId?: string;
	clientSecret?: string;
	/** Entra authority (default https://login.microsoftonline.com; sovereign clouds or a sandbox otherwise). */
	authorityUrl?: string;
	/** A token to start with (optional). */
	accessToken?: string;
	expiresAt?: number;
	/** Entity set used for the activity entity (default tasks). */
	activityEntitySet?: 'tasks' | 'phonecalls' | 'appointments';
	/** Field holding the external id, per entity (ideally an alternate key). */
	externalIdFields?: Partial<Record<EntityType, string>>;
	/**
	 * listChanges through change tracking (Prefer: odata.track-changes + deltaLink), which also
	 * reports deletions; change tracking must be enabled on the tables. Default: modifiedon filter.
	 */
	changeTracking?: boolean;
}

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const API_PATH = '/api/data/v9.2';
/** Operations per $batch. */
const BATCH_MAX = 1000;
/** Records per page (odata.maxpagesize; Dataverse caps it at 5,000). */
const PAGE_MAX = 5000;
/** Values per `$filter=f eq 'a' or f eq 'b'` (keeps URLs short). */
const FILTER_VALUES = 25;
/** Lead ids per `_originatingleadid_value eq … or …` query (about 7 KB of URL). */
const ORIGIN_VALUES = 100;
/** Characters per `or`-joined $filter: the encoded URL stays far below Dataverse's 32 KB URL limit. */
const FILTER_CHARS = 2000;

/**
 * Service protection: 6,000 requests and 52 concurrent requests per user per 5-minute window.
 * Override with ConnectorRuntime.limits.
 */
const LIMITS = { default: { requests: 6000, intervalMs: 300_000, maxConcurrent: 16 } };

interface EntityInfo {
	set: string;
	logical: string;
	idAttr: string;
	mergeable: boolean;
}

const ENTITIES: Record<Exclude<EntityType, 'activity'>, EntityInfo> = {
	contact: { set: 'contacts', logical: 'contact', idAttr: 'contactid', mergeable: true },
	lead: { set: 'leads', logical: 'lead', idAttr: 'leadid', mergeable: true },
	account: { set: 'accounts', logical: 'account', idAttr: 'accountid', mergeable: true },
	opportunity: { set: 'opportunities', logical: 'opportunity', idAttr: 'opportunityid', mergeable: false },
};
const SYSTEM_USERS: EntityInfo = { set: 'systemusers', logical: 'systemuser', idAttr: 'systemuserid', mergeable: false };
const CURRENCIES: EntityInfo = { set: 'transactioncurrencies', logical: 'transactioncurrency', idAttr: 'transactioncurrencyid', mergeable: false };
const ORGANIZATIONS: EntityInfo = { set: 'organizations', logical: 'organization', idAttr: 'organizationid', mergeable: false };
const ACTIVITIES: Record<string, EntityInfo> = {
	tasks: { set: 'tasks', logical: 'task', idAttr: 'activityid', mergeable: false },
	phonecalls: { set: 'phonecalls', logical: 'phonecall', idAttr: 'activityid', mergeable: false },
	appointments: { set: 'appointments', logical: 'appointment', idAttr: 'activityid', mergeable: false },
};

/** Error codes of service protection throttling (api-limits.md). */
const THROTTLE_CODES = new Set(['0x80072322', '0x80072321', '0x80072326']);

/** listChanges cursor: a nextLink/deltaLink to follow, or a modifiedon window. */
interface DvCursor {
	/** Filter mode: sweep start (ISO) and ids delivered at that second. */
	since?: string;
	seen?: string[];
	maxTime?: string;
	maxIds?: string[];
	/** The @odata.nextLink to continue with (either mode). */
	next?: string;
	/** Change tracking: the @odata.deltaLink of the last completed sweep. */
	delta?: string;
}

export class DynamicsConnector implements CrmConnector {
	readonly crm = 'dynamics' as const;
	/** OData $filter: the account lookups read the records, not a lagging search index. */
	readonly accountLookupsSeeOwnWrites = true;
	readonly credentialKey: string;
	private readonly transport: Transport;
	private readonly base: string;
	/** Match fields found not to be alternate keys here, per entity set: upserts on them search first. */
	private readonly notAlternateKeys = new Set<string>();
	private readonly alternateKeys = new Set<string>();
	/** transactioncurrencies, read once (currencyTable). */
	private currencyRows?: Promise<CurrencyTable>;
	/** Currency GUIDs still unknown after a re-read: not read again for them. */
	private readonly unknownCurrencyIds = new Set<string>();

	constructor(
		private readonly config: DynamicsConfig,
		runtime: ConnectorRuntime = {},
	) {
		if (!config.orgUrl) throw new Error('Dynamics needs the organization URL');
		const orgUrl = config.orgUrl.replace(/\/+$/, '');
		this.base = `${orgUrl}${API_PATH}`;
		const canFetch = Boolean(config.tenantId && config.clientId && config.clientSecret);
		if (!canFetch && !config.accessToken) throw new Error('Dynamics needs tenant id, client id and client secret (or an access token)');
		const key = credentialKey('dynamics', orgUrl, config.tenantId, config.clientId, config.clientSecret ?? config.accessToken);
		this.credentialKey = key;
		const tokens = tokenManagerFor(key, () =>
			new TokenManager({
				initial: config.accessToken ? { accessToken: config.accessToken, expiresAt: config.expiresAt } : undefined,
				fetch: canFetch ? () => this.fetchToken(orgUrl) : undefined,
			}),
		);
		this.transport = new Transport({
			crm: 'dynamics',
			key,
			classify: classifyDynamicsError,
			limits: { ...LIMITS, ...runtime.limits },
			retry: runtime.retry,
			token: tokens,
			store: runtime.store,
			timeoutMs: runtime.timeoutMs,
			onEvent: runtime.onEvent,
		});
	}

	maxBatchSize(_entity: EntityType, operation?: WriteOperation): number {
		return operation === 'merge' ? 1 : BATCH_MAX;
	}

	matchField(entity: EntityType, kind: MatchKind): string | undefined {
		if (kind === 'externalId') return this.config.externalIdFields?.[entity];
		if (entity === 'contact' || entity === 'lead') return kind === 'email' ? 'emailaddress1' : 'telephone1';
		if (entity === 'account') return kind === 'email' ? 'emailaddress1' : 'telephone1';
		return undefined;
	}

	async get(entity: EntityType, id: string, options: ReadOptions = {}): Promise<CrmRecord | undefined> {
		const info = this.entity(entity);
		if (!isGuid(id)) return undefined;
		try {
			const res = await this.call<CrmFields>(`${info.set}.get`, {
				method: 'GET',
				url: `${this.base}/${info.set}(${id})`,
				query: { $select: selectFor(info, options.fields)?.join(',') },
			});
			return (await this.enrich(info, [toRecord(info, res.body)]))[0];
		} catch (error) {
			// A 404 for the row itself means no such record; "Resource not found for the segment" or
			// "No HTTP resource" (error-404-*-docs.json) mean a wrong URL, which must not read as "gone".
			if (error instanceof CrmError && error.httpStatus === 404 && isMissingRecordError(error.httpStatus, error.body)) return undefined;
			throw error;
		}
	}

	/** `$filter=field eq 'a' or field eq 'b'` (quotes doubled), following @odata.nextLink. Qualified leads carry what they became (withConversions). */
	async search(entity: EntityType, field: string, values: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const info = this.entity(entity);
		return this.enrich(info, await this.searchRows(info, field, values, selectFor(info, options.fields)));
	}

	private async searchRows(info: EntityInfo, field: string, values: string[], select: string[] | undefined): Promise<CrmRecord[]> {
		assertAttribute(field);
		const found = new Map<string, CrmRecord>();
		const wanted = [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))];
		for (const group of chunk(wanted, FILTER_VALUES)) {
			const filter = group.map((v) => `${field} eq ${literal(v)}`).join(' or ');
			for (const row of await this.queryAll(info, { $filter: filter, $select: select?.join(',') })) {
				const record = toRecord(info, row);
				found.set(record.id, record);
			}
		}
		return [...found.values()];
	}

	/** What every read adds to the rows: the currency's ISO code (withCurrency), what a qualified lead became (withConversions). */
	private async enrich(info: EntityInfo, records: CrmRecord[]): Promise<CrmRecord[]> {
		return this.withCurrency(info, await this.withConversions(info, records));
	}

	/**
	 * Leads and opportunities read with _transactioncurrencyid_value get CURRENCY_ISO_FIELD: the
	 * currency's isocurrencycode (upper case; inactive currencies too), null when the row has none.
	 * A GUID the cached currency rows lack reads them again once; still unknown, the field is left out.
	 */
	private async withCurrency(info: EntityInfo, records: CrmRecord[]): Promise<CrmRecord[]> {
		if (!hasCurrency(info)) return records;
		const ids = records.map((r) => currencyIdOf(r.fields));
		if (!ids.some((id) => id !== undefined)) return records;
		let table = ids.some((id) => typeof id === 'string') ? await this.currencyTable() : undefined;
		const missing = ids.filter((id): id is string => typeof id === 'string' && !table!.has(id) && !this.unknownCurrencyIds.has(id));
		if (missing.length) {
			table = await this.currencyTable(true);
			for (const id of missing) if (!table.has(id)) this.unknownCurrencyIds.add(id);
		}
		return records.map((r, i) => {
			const id = ids[i];
			if (id === undefined) return r;
			const iso = id === null ? null : table!.isoOf(id);
			if (iso === undefined) return r;
			return { ...r, fields: { ...r.fields, [CURRENCY_ISO_FIELD]: iso } };
		});
	}

	/** The environment's transactioncurrencies (every state), read once per connector; `refresh` reads them again. */
	private currencyTable(refresh = false): Promise<CurrencyTable> {
		if (!this.currencyRows || refresh) {
			const read = this.queryAll(CURRENCIES, { $select: 'transactioncurrencyid,isocurrencycode,statecode' }).then((rows) => CurrencyTable.fromRows(rows));
			this.currencyRows = read;
			// A failed read is not kept: the next use reads again.
			read.catch(() => {
				if (this.currencyRows === read) this.currencyRows = undefined;
			});
		}
		return this.currencyRows;
	}

	/**
	 * Writes of leads and opportunities: CURRENCY_ISO_FIELD becomes `transactioncurrencyid@odata.bind`
	 * to that code's row (never sent as such; null or '' binds nothing). A code that is no active
	 * currency here fails its record alone (validation, CURRENCY). The currency rows are read only
	 * when a record names a currency.
	 */
	private async bindCurrencies<R extends { ref: number; fields: CrmFields }>(info: EntityInfo, records: R[]): Promise<{ ready: R[]; failed: WriteFailure[] }> {
		if (!hasCurrency(info) || !records.some((r) => CURRENCY_ISO_FIELD in r.fields)) return { ready: records, failed: [] };
		const table = records.some((r) => wantsCurrency(r.fields)) ? await this.currencyTable() : undefined;
		const ready: R[] = [];
		const failed: WriteFailure[] = [];
		for (const r of records) {
			const bound = bindCurrency(r.fields, table);
			if ('error' in bound) failed.push({ ref: r.ref, status: 'failed', category: 'validation', code: CURRENCY_FAILURE_CODE, message: bound.error });
			else ready.push(bound.fields === r.fields ? r : { ...r, fields: bound.fields });
		}
		return { ready, failed };
	}

	/**
	 * Leads qualified (statecode 1) get what they became, as three fields: crmSyncConvertedContactId,
	 * crmSyncConvertedAccountId, crmSyncConvertedOpportunityId. Each is the lead's own lookup
	 * (parentcontactid, parentaccountid: a lead qualified into existing records; qualifyingopportunityid),
	 * else the contact / account / opportunity whose originatingleadid is the lead (QualifyLead
	 * creating them; the earliest created when several), else null. The look-ups cost one query per
	 * entity per ORIGIN_VALUES leads that lack the lookup (`_originatingleadid_value eq … or …`),
	 * none for open or disqualified leads and none for other entities.
	 */
	private async withConversions(info: EntityInfo, records: CrmRecord[]): Promise<CrmRecord[]> {
		if (info !== ENTITIES.lead) return records;
		const qualified = records.filter((r) => r.fields.statecode === 1);
		if (!qualified.length) return records;
		const lookup = (r: CrmRecord, attr: string): string | undefined => (typeof r.fields[attr] === 'string' && r.fields[attr] !== '' ? (r.fields[attr] as string).toLowerCase() : undefined);
		const targets: Array<[string, EntityInfo, string]> = [
			[CONVERTED_CONTACT, ENTITIES.contact, '_parentcontactid_value'],
			[CONVERTED_ACCOUNT, ENTITIES.account, '_parentaccountid_value'],
			[CONVERTED_OPPORTUNITY, ENTITIES.opportunity, '_qualifyingopportunityid_value'],
		];
		const found = new Map<string, Map<string, string>>();
		for (const [field, target, attr] of targets) {
			const missing = qualified.filter((r) => !lookup(r, attr)).map((r) => r.id.toLowerCase());
			found.set(field, missing.length ? await this.originatedFrom(target, missing) : new Map());
		}
		return records.map((r) => {
			if (r.fields.statecode !== 1) return r;
			const fields: CrmFields = { ...r.fields };
			for (const [field, , attr] of targets) fields[field] = lookup(r, attr) ?? found.get(field)!.get(r.id.toLowerCase()) ?? null;
			return { ...r, fields };
		});
	}

	/** Records of `info` whose originatingleadid is one of `leadIds`: lead id → the earliest created one's id. */
	private async originatedFrom(info: EntityInfo, leadIds: string[]): Promise<Map<string, string>> {
		const earliest = new Map<string, { id: string; at: number }>();
		for (const group of chunk([...new Set(leadIds)], ORIGIN_VALUES)) {
			const rows = await this.queryAll(info, { $select: `${info.idAttr},_originatingleadid_value,createdon`, $filter: group.map((id) => `_originatingleadid_value eq ${id}`).join(' or ') });
			for (const row of rows) {
				const lead = String(row._originatingleadid_value ?? '').toLowerCase();
				const at = typeof row.createdon === 'string' ? Date.parse(row.createdon) : Number.MAX_SAFE_INTEGER;
				const seen = earliest.get(lead);
				if (lead && (!seen || at < seen.at)) earliest.set(lead, { id: String(row[info.idAttr]).toLowerCase(), at });
			}
		}
		return new Map([...earliest].map(([lead, { id }]) => [lead, id]));
	}

	/**
	 * POST per record in $batch. An opportunity created won or lost (statecode 1 or 2, which
	 * Dataverse refuses in a create: 0x80100005) is created open and closed in the same changeset:
	 * POST opportunities without statecode/statuscode, then WinOpportunity / LoseOpportunity bound
	 * to it by Content-ID, so a refused close leaves no open copy behind.
	 */
	async create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]> {
		const info = this.entity(entity);
		const { ready, failed } = await this.bindCurrencies(info, records);
		const outcomes = await this.batchWrite(
			ready,
			(r) => {
				const target = info === ENTITIES.opportunity ? closedState(r.fields.statecode) : undefined;
				if (target === undefined) return { method: 'POST', url: `${this.base}/${info.set}`, body: r.fields };
				return [{ method: 'POST', url: `${this.base}/${info.set}`, body: withoutState(r.fields) }, this.closeOperation(target, '$1', r.fields)];
			},
			(r, result) => ({ ref: r.ref, status: 'created', id: idFromResult(info, result) }),
		);
		return failed.length ? byRef([...outcomes, ...failed]) : outcomes;
	}

	update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]> {
		return this.updateRecords(entity, records);
	}

	/**
	 * PATCH (If-Match: *) per record in $batch. Opportunities whose fields carry a state (statecode
	 * or statuscode) are written the way Dataverse lets them change state, by their current state
	 * (read first, FILTER_VALUES ids a query, unless the caller knows it): see opportunityPlan.
	 */
	private async updateRecords(entity: EntityType, records: UpdateRequest[], known?: Map<string, OpportunityState>): Promise<WriteOutcome[]> {
		const info = this.entity(entity);
		// A currency code that is no active currency here fails its record alone (bindCurrencies).
		const { ready, failed } = await this.bindCurrencies(info, records);
		const valid = ready.filter((r) => isGuid(r.id));
		const invalid = [...failed, ...ready.filter((r) => !isGuid(r.id)).map((r) => invalidId(r.ref, r.id))];
		const patch = (id: string, fields: CrmFields): BatchOperation => ({ method: 'PATCH', url: `${this.base}/${info.set}(${id})`, headers: { 'If-Match': '*' }, body: fields });
		const stateful = info === ENTITIES.opportunity ? valid.filter((r) => hasState(r.fields)) : [];
		if (!stateful.length) {
			// If-Match: * makes it an update only: a missing record is a 404, never a new record.
			return this.batchWrite(valid, (r) => patch(r.id, r.fields), (r) => ({ ref: r.ref, status: 'updated', id: r.id })).then((outcomes) => byRef([...outcomes, ...invalid]));
		}
		const states = new Map(known ?? []);
		const unknown = stateful.map((r) => r.id.toLowerCase()).filter((id) => !states.has(id));
		if (unknown.length) for (const [id, state] of await this.opportunityStates(unknown)) states.set(id, state);
		const outcomes: WriteOutcome[] = [...invalid];
		const writes: Array<UpdateRequest & { ops: BatchOperation[]; close?: 1 | 2 }> = [];
		for (const r of valid) {
			const plan = hasState(r.fields) && info === ENTITIES.opportunity ? opportunityPlan(r.fields, states.get(r.id.toLowerCase())) : { fields: r.fields };
			const ops: BatchOperation[] = plan.fields ? [patch(r.id, plan.fields)] : [];
			if (plan.close !== undefined) ops.push(this.closeOperation(plan.close, `/${info.set}(${r.id})`, r.fields));
			if (ops.length) writes.push({ ...r, ops, close: plan.close });
			else outcomes.push({ ref: r.ref, status: 'unchanged', id: r.id });
		}
		const written = await this.batchWrite(
			writes,
			(w) => w.ops,
			(w) => ({ ref: w.ref, status: 'updated', id: w.id }),
			undefined,
			// A close sent again after a lost reply fails "already closed" (0x80040515); settled below.
			true,
		);
		// A close refused as "already closed" whose opportunity is in the wanted state now (a batch sent
		// again after a lost reply, or closed meanwhile the same way): done, the other fields written alone.
		const refused = writes.filter((w) => w.close !== undefined && written.some((o) => o.ref === w.ref && o.status === 'failed' && o.code === ALREADY_CLOSED));
		const now = refused.length ? await this.opportunityStates(refused.map((w) => w.id.toLowerCase())) : new Map<string, OpportunityState>();
		const settled = refused.filter((w) => now.get(w.id.toLowerCase())?.statecode === w.close);
		const rest = settled.filter((w) => Object.keys(withoutState(w.fields)).length > 0);
		const again = rest.length ? await this.batchWrite(rest, (w) => patch(w.id, withoutState(w.fields)), (w) => ({ ref: w.ref, status: 'updated', id: w.id }), undefined, true) : [];
		for (const o of written) {
			const w = settled.find((x) => x.ref === o.ref);
			outcomes.push(w ? (again.find((a) => a.ref === o.ref) ?? { ref: o.ref, status: 'updated', id: w.id }) : o);
		}
		return byRef(outcomes);
	}

	/**
	 * POST /WinOpportunity or /LoseOpportunity {Status, OpportunityClose} (unbound actions, 204).
	 * Status: the record's statuscode when it is one of the state's (Won 3; Lost 4 Canceled, 5
	 * Out-Sold), else -1 (Dataverse picks the state's default). The opportunityclose activity gets
	 * a subject, the opportunity bound (`/opportunities(<id>)`, or `$n` within the changeset), the
	 * actual revenue (actualvalue, else for a win the estimated value written with it) and the
	 * actual end (actualclosedate, else the estimated close date written with it, else today).
	 */
	private closeOperation(target: 1 | 2, opportunity: string, fields: CrmFields): BatchOperation {
		const won = target === 1;
		const status = typeof fields.statuscode === 'number' && OPPORTUNITY_STATUS[target].includes(fields.statuscode) ? fields.statuscode : -1;
		const name = typeof fields.name === 'string' && fields.name.trim() !== '' ? fields.name.trim() : undefined;
		const revenue = typeof fields.actualvalue === 'number' ? fields.actualvalue : won && typeof fields.estimatedvalue === 'number' ? fields.estimatedvalue : undefined;
		const end = closeTime(fields.actualclosedate) ?? closeTime(fields.estimatedclosedate);
		const close: CrmFields = {
			subject: `${won ? 'Won' : 'Lost'}${name ? `: ${name}` : ''}`.slice(0, 200),
			'opportunityid@odata.bind': opportunity,
			...(revenue !== undefined ? { actualrevenue: revenue } : {}),
			...(end ? { actualend: end } : {}),
		};
		return { method: 'POST', url: `${this.base}/${won ? 'WinOpportunity' : 'LoseOpportunity'}`, body: { Status: status, OpportunityClose: close } };
	}

	/** statecode and statuscode of opportunities by id (`opportunityid eq … or …`); missing ones are absent. */
	private async opportunityStates(ids: string[]): Promise<Map<string, OpportunityState>> {
		const info = ENTITIES.opportunity;
		const states = new Map<string, OpportunityState>();
		for (const group of chunk([...new Set(ids.map((id) => id.toLowerCase()))], FILTER_VALUES)) {
			const rows = await this.queryAll(info, { $select: 'opportunityid,statecode,statuscode', $filter: group.map((id) => `opportunityid eq ${id}`).join(' or ') });
			for (const row of rows) states.set(String(row.opportunityid).toLowerCase(), { statecode: Number(row.statecode), statuscode: typeof row.statuscode === 'number' ? row.statuscode : undefined });
		}
		return states;
	}

	/**
	 * PATCH {set}({matchKey}='value') without If-Match: Dataverse creates or updates by alternate
	 * key, in batch order (so the last record of a key wins). When the field is not an alternate
	 * key of the table, falls back to search + PATCH (If-Match: *) / POST.
	 */
	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		const info = this.entity(entity);
		assertAttribute(matchKey);
		const { ready, failed } = await this.bindCurrencies(info, records);
		const outcomes: WriteOutcome[] = [...failed];
		const keyed: Array<UpsertRequest & { value: string }> = [];
		for (const request of ready) {
			const value = request.fields[matchKey];
			if (value === undefined || value === null || String(value).trim() === '') {
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: `Upsert by ${matchKey} needs a value for ${matchKey}` });
			} else keyed.push({ ...request, value: String(value).trim() });
		}
		if (info === ENTITIES.opportunity && keyed.some((r) => hasState(r.fields))) {
			// An upsert by key cannot close an opportunity (WinOpportunity / LoseOpportunity need its id
			// and state): those records are looked up, then created or updated and closed.
			const stateful = keyed.filter((r) => hasState(r.fields));
			const plain = keyed.filter((r) => !hasState(r.fields));
			return byRef([...outcomes, ...(await this.searchThenWrite(entity, info, matchKey, stateful)), ...(plain.length ? await this.upsert(entity, matchKey, plain) : [])]);
		}
		const key = `${info.set}.${matchKey}`;
		if (keyed.length && this.alternateKeys.has(key)) return byRef([...outcomes, ...(await this.alternateKeyUpsert(info, matchKey, keyed))]);
		if (keyed.length && !this.notAlternateKeys.has(key)) {
			// First use of this key: one record tells whether it is an alternate key here.
			const [first, ...rest] = keyed;
			const firstOutcome = await this.alternateKeyUpsert(info, matchKey, [first]);
			if (!isMissingAlternateKey(firstOutcome[0])) {
				if (firstOutcome[0]?.status !== 'failed') this.alternateKeys.add(key);
				return byRef([...outcomes, ...firstOutcome, ...(await this.alternateKeyUpsert(info, matchKey, rest))]);
			}
			this.notAlternateKeys.add(key);
		}
		return byRef([...outcomes, ...(await this.searchThenWrite(entity, info, matchKey, keyed))]);
	}

	delete(entity: EntityType, records: DeleteRequest[]): Promise<WriteOutcome[]> {
		const info = this.entity(entity);
		const invalid = records.filter((r) => !isGuid(r.id)).map((r) => invalidId(r.ref, r.id));
		return this.batchWrite(
			records.filter((r) => isGuid(r.id)),
			(r) => ({ method: 'DELETE', url: `${this.base}/${info.set}(${r.id})` }),
			(r) => ({ ref: r.ref, status: 'deleted', id: r.id }),
			(r, result) => (isMissingRecord(result) ? notFound(r.ref, `Dynamics: ${errorOf(result.body).message ?? 'HTTP 404'}`) : operationFailure(r.ref, result)),
		).then((outcomes) => byRef([...outcomes, ...invalid]));
	}

	/** POST /Merge per subordinate: the subordinate is deactivated (not deleted) and its children move to the master. */
	async merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]> {
		const info = this.entity(entity);
		if (!info.mergeable) throw new NotImplementedError(`Dynamics merge of ${info.logical} (Dataverse merges accounts, contacts and leads)`);
		const outcomes: WriteOutcome[] = [];
		for (const { ref, masterId, mergeIds } of requests) {
			const bad = [masterId, ...mergeIds].find((id) => !isGuid(id));
			if (bad !== undefined) {
				outcomes.push(invalidId(ref, bad));
				continue;
			}
			if (mergeIds.length === 0) {
				outcomes.push({ ref, status: 'failed', category: 'validation', code: 'NOTHING_TO_MERGE', message: 'Merge needs at least one record to merge into the master' });
				continue;
			}
			const merged: string[] = [];
			let failed: WriteFailure | undefined;
			for (const subordinate of mergeIds) {
				try {
					await this.call(`${info.set}.merge`, {
						method: 'POST',
						url: `${this.base}/Merge`,
						body: {
							Target: { '@odata.type': `Microsoft.Dynamics.CRM.${info.logical}`, [info.idAttr]: masterId },
							Subordinate: { '@odata.type': `Microsoft.Dynamics.CRM.${info.logical}`, [info.idAttr]: subordinate },
							UpdateContent: { '@odata.type': `Microsoft.Dynamics.CRM.${info.logical}` },
							PerformParentingChecks: false,
						},
					});
					merged.push(subordinate);
				} catch (error) {
					if (!(error instanceof CrmError) || error.category === 'auth') throw error;
					failed = { ref, status: 'failed', category: error.category, message: merged.length ? `${error.message} (already merged: ${merged.join(', ')})` : error.message, ...(error.code ? { code: error.code } : {}) };
					break;
				}
			}
			outcomes.push(failed ?? { ref, status: 'merged', id: masterId, mergedIds: merged });
		}
		return outcomes;
	}

	/**
	 * Qualifies each open lead (statecode 0) into the given contact and account without creating
	 * anything: first PATCH leads(id) (If-Match: *) binding parentcontactid / parentaccountid to
	 * them, then POST leads(id)/Microsoft.Dynamics.CRM.QualifyLead {CreateAccount: false,
	 * CreateContact: false, CreateOpportunity: false, Status: 3 (Qualified)}. Both steps go in
	 * $batch requests (one changeset per lead, as every write here), so a conversion costs one
	 * query per 25 leads and two batches per 1,000. A lead already qualified (statecode 1) answers
	 * `unchanged`; a lead not there answers notFound; a disqualified lead (statecode 2) fails
	 * (LEAD_DISQUALIFIED). A lead whose QualifyLead failed is read again: qualified now (a batch
	 * sent again after a lost reply) it counts as converted.
	 */
	async convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]> {
		const info = ENTITIES.lead;
		const outcomes: ConvertLeadOutcome[] = [];
		const valid: ConvertLeadRequest[] = [];
		for (const r of requests) {
			const bad = [r.id, r.contactId, ...(r.accountId ? [r.accountId] : [])].find((id) => !isGuid(id));
			if (bad !== undefined) outcomes.push(invalidId(r.ref, bad));
			else valid.push(r);
		}
		const states = await this.leadStates(valid.map((r) => r.id));
		const open: ConvertLeadRequest[] = [];
		for (const r of valid) {
			const lead = states.get(r.id.toLowerCase());
			if (!lead) outcomes.push(notFound(r.ref, `Dynamics: lead With Id = ${r.id} Does Not Exist`));
			else if (lead.statecode === 1) outcomes.push(qualifiedAlready(r, lead));
			else if (lead.statecode === 2) outcomes.push({ ref: r.ref, status: 'failed', category: 'validation', code: 'LEAD_DISQUALIFIED', message: `Dynamics: lead ${r.id} is disqualified; reactivate it to convert it` });
			else open.push(r);
		}
		const linked = await this.batchWrite(
			open,
			(r) => ({
				method: 'PATCH',
				url: `${this.base}/${info.set}(${r.id})`,
				headers: { 'If-Match': '*' },
				body: { 'parentcontactid@odata.bind': `/contacts(${r.contactId})`, ...(r.accountId ? { 'parentaccountid@odata.bind': `/accounts(${r.accountId})` } : {}) },
			}),
			(r) => ({ ref: r.ref, status: 'updated', id: r.id }),
		);
		const toQualify = open.filter((r) => linked.find((o) => o.ref === r.ref)?.status === 'updated');
		for (const o of linked) if (o.status === 'failed') outcomes.push(o);
		const qualified = await this.batchWrite(
			toQualify,
			(r) => ({
				method: 'POST',
				url: `${this.base}/${info.set}(${r.id})/Microsoft.Dynamics.CRM.QualifyLead`,
				body: { CreateAccount: false, CreateContact: false, CreateOpportunity: false, Status: 3 },
			}),
			(r) => ({ ref: r.ref, status: 'updated', id: r.id }),
			undefined,
			// Safe to send again: a lead qualified by a first attempt fails the second, and is then read again.
			true,
		);
		const failed = toQualify.filter((r) => qualified.find((o) => o.ref === r.ref)?.status !== 'updated');
		const again = failed.length ? await this.leadStates(failed.map((r) => r.id)) : new Map<string, LeadState>();
		for (const r of toQualify) {
			const outcome = qualified.find((o) => o.ref === r.ref);
			const now = again.get(r.id.toLowerCase());
			if (outcome?.status === 'updated' || (now?.statecode === 1 && now.contactId === r.contactId.toLowerCase())) {
				outcomes.push({ ref: r.ref, status: 'converted', id: r.id, contactId: r.contactId, ...(r.accountId ? { accountId: r.accountId } : {}) });
			} else outcomes.push((outcome as WriteFailure | undefined) ?? { ref: r.ref, status: 'failed', category: 'fatal', message: 'Dynamics $batch returned no response for this lead' });
		}
		return byRef(outcomes);
	}

	/** statecode and lookups of leads by id (`leadid eq … or …`, FILTER_VALUES a query); missing leads are absent. */
	private async leadStates(ids: string[]): Promise<Map<string, LeadState>> {
		const info = ENTITIES.lead;
		const states = new Map<string, LeadState>();
		for (const group of chunk([...new Set(ids.map((id) => id.toLowerCase()))], FILTER_VALUES)) {
			const rows = await this.queryAll(info, { $select: 'leadid,statecode,statuscode,_parentcontactid_value,_parentaccountid_value', $filter: group.map((id) => `leadid eq ${id}`).join(' or ') });
			for (const row of rows) {
				const lower = (v: unknown) => (typeof v === 'string' && v !== '' ? v.toLowerCase() : undefined);
				states.set(String(row.leadid).toLowerCase(), { statecode: Number(row.statecode), contactId: lower(row._parentcontactid_value), accountId: lower(row._parentaccountid_value) });
			}
		}
		return states;
	}

	/**
	 * Default: `$filter=modifiedon ge <since>&$orderby=modifiedon asc` with odata.maxpagesize and
	 * @odata.nextLink; no deletions (Dataverse has no deleted-rows query outside change tracking).
	 * With `changeTracking`: Prefer odata.track-changes, then the deltaLink, which also lists
	 * deleted rows ($deletedEntity).
	 */
	async listChanges(entity: EntityType, options: ListChangesOptions = {}): Promise<ChangePage> {
		const info = this.entity(entity);
		const pageSize = Math.min(PAGE_MAX, Math.max(1, options.pageSize ?? PAGE_MAX));
		const cursor: DvCursor = options.cursor ? decodeCursor<DvCursor>(options.cursor, 'Dynamics') : {};
		return this.config.changeTracking ? this.trackedChanges(info, cursor, pageSize, options) : this.filteredChanges(info, cursor, pageSize, options);
	}

	/**
	 * Live metadata: EntityDefinitions(LogicalName='x')/Attributes, custom attributes included;
	 * lookup targets come from the LookupAttributeMetadata cast (Targets is not on the base type).
	 */
	async describeFields(entity: EntityType): Promise<FieldDescription[]> {
		const info = this.entity(entity);
		const attributes = `${this.base}/EntityDefinitions(LogicalName='${info.logical}')/Attributes`;
		const res = await this.call<{ value?: Array<Record<string, unknown>> }>(`${info.set}.fields`, {
			method: 'GET',
			url: attributes,
			query: { $select: 'LogicalName,DisplayName,AttributeType,IsCustomAttribute,RequiredLevel,IsValidForCreate,IsValidForUpdate,IsPrimaryId' },
		});
		const lookups = await this.call<{ value?: Array<{ LogicalName?: string; Targets?: string[] }> }>(`${info.set}.fields.lookups`, {
			method: 'GET',
			url: `${attributes}/Microsoft.Dynamics.CRM.LookupAttributeMetadata`,
			query: { $select: 'LogicalName,Targets' },
		});
		const targets = new Map((lookups.body?.value ?? []).map((l) => [String(l.LogicalName), l.Targets ?? []]));
		return (res.body?.value ?? []).map((a) => describeAttribute({ ...a, Targets: targets.get(String(a.LogicalName)) }));
	}

	/**
	 * The salesstage choice's options in metadata order (open stages), then the closed states as
	 * 'won' and 'lost', which is what map.ts's stage field reads for statecode 1 and 2. Dataverse has
	 * one stage list (no pipelines); closeprobability is per record, so no probability.
	 */
	async listStages(): Promise<CrmStage[]> {
		const res = await this.call<PicklistMetadata>('opportunity.stages', {
			method: 'GET',
			url: `${this.base}/EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='salesstage')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`,
			query: { $select: 'LogicalName', $expand: 'OptionSet($select=Options)' },
		});
		const stages: CrmStage[] = [];
		for (const option of res.body?.OptionSet?.Options ?? []) {
			if (typeof option.Value !== 'number') continue;
			const label = option.Label?.UserLocalizedLabel?.Label ?? option.Label?.LocalizedLabels?.[0]?.Label ?? String(option.Value);
			stages.push({ id: String(option.Value), label, outcome: 'open', order: stages.length });
		}
		stages.push({ id: 'won', label: 'Won', outcome: 'won', order: stages.length });
		stages.push({ id: 'lost', label: 'Lost', outcome: 'lost', order: stages.length });
		return stages;
	}

	/**
	 * Every systemuser, following @odata.nextLink. Application (non-interactive) users are kept: the
	 * records our writes create are owned by one, and crm-wire.md gives no rule to leave them out.
	 */
	async listUsers(): Promise<CrmUser[]> {
		const rows = await this.queryAll(SYSTEM_USERS, { $select: 'systemuserid,internalemailaddress,fullname,isdisabled,accessmode' });
		return rows.map((row) => {
			const email = typeof row.internalemailaddress === 'string' && row.internalemailaddress.trim() !== '' ? row.internalemailaddress.trim().toLowerCase() : undefined;
			const name = typeof row.fullname === 'string' && row.fullname.trim() !== '' ? row.fullname.trim() : undefined;
			return { id: String(row.systemuserid).toLowerCase(), ...(email ? { email } : {}), ...(name ? { name } : {}), active: row.isdisabled !== true };
		});
	}

	/**
	 * The organization's base currency (organizations: _basecurrencyid_value, one row) and every
	 * active transaction currency (transactioncurrencies statecode 0), by isocurrencycode, upper
	 * case, the base one first. Two reads: the currency rows are few, so all of them are read (the
	 * base currency is among them; Dataverse does not let it be deactivated).
	 */
	async listCurrencies(): Promise<CrmCurrencies> {
		const [organizations, currencies] = await Promise.all([
			this.queryAll(ORGANIZATIONS, { $select: 'organizationid,_basecurrencyid_value' }),
			this.queryAll(CURRENCIES, { $select: 'transactioncurrencyid,isocurrencycode,statecode' }),
		]);
		const iso = (row: CrmFields | undefined): string | undefined => (typeof row?.isocurrencycode === 'string' && row.isocurrencycode.trim() !== '' ? row.isocurrencycode.trim().toUpperCase() : undefined);
		const baseId = String(organizations[0]?._basecurrencyid_value ?? '').toLowerCase();
		const base = iso(currencies.find((row) => String(row.transactioncurrencyid).toLowerCase() === baseId));
		if (!base) throw new CrmError('Dynamics: the organization names no base currency that transactioncurrencies holds', 'dynamics', 'fatal', { body: { organizations, currencies } });
		const active = currencies.filter((row) => row.statecode === 0).map(iso).filter((code): code is string => code !== undefined && code !== base);
		return { default: base, enabled: [base, ...[...new Set(active)].sort()] };
	}

	/**
	 * `contains(websiteurl,'acme.com') or …` (Dataverse compares case-insensitively), then only the
	 * rows whose normalised website is one of the domains: contains also finds notacme.com.
	 */
	async findAccountsByDomain(domains: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = domainKeys(domains);
		const clauses = [...wanted].map((d) => `contains(websiteurl,${literal(d)})`);
		return this.findAccounts(clauses, ['websiteurl'], options, (row) => {
			const domain = normaliseDomain(row.websiteurl);
			return domain !== undefined && wanted.has(domain);
		});
	}

	/**
	 * `contains(name,'…')` on each name's longest normalised word (and that word as typed, for
	 * apostrophes, and accents where the environment's collation is accent-sensitive), then
	 * normaliseCompany equality. Most base languages (English: _CI_AI) ignore accents in filters, so
	 * "societe" finds "Société"; an _AS environment (Finnish, Romanian, …) finds only the same accents.
	 */
	async findAccountsByName(names: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = new Set<string>();
		const terms = new Set<string>();
		for (const name of names) {
			const normalised = normaliseCompany(name);
			if (normalised === undefined) continue;
			wanted.add(normalised);
			for (const term of searchTerms(name, normalised)) terms.add(term);
		}
		const clauses = [...terms].map((t) => `contains(name,${literal(t)})`);
		return this.findAccounts(clauses, ['name'], options, (row) => {
			const normalised = normaliseCompany(row.name);
			return normalised !== undefined && wanted.has(normalised);
		});
	}

	async testConnection(): Promise<void> {
		await this.whoAmI();
	}

	/**
	 * Our writes run as the application user of this app registration: webhooks show it as
	 * InitiatingUserId (and modifiedby), which the trigger compares to drop echoes.
	 */
	async changeOrigin(): Promise<ChangeOrigin> {
		const { UserId } = await this.whoAmI();
		return UserId ? { actorId: UserId } : {};
	}

	// ---------------------------------------------------------------- internals

	private entity(entity: EntityType): EntityInfo {
		return entity === 'activity' ? ACTIVITIES[this.config.activityEntitySet ?? 'tasks'] : ENTITIES[entity];
	}

	private async whoAmI(): Promise<{ UserId?: string; BusinessUnitId?: string; OrganizationId?: string }> {
		const res = await this.call<{ UserId?: string }>('WhoAmI', { method: 'GET', url: `${this.base}/WhoAmI` });
		return res.body ?? {};
	}

	private call<T>(label: string, request: HttpRequest, idempotent = true): Promise<HttpResponse<T>> {
		return this.transport.request<T>(
			label,
			(token) => ({
				...request,
				headers: {
					Authorization: `Bearer ${token}`,
					'OData-MaxVersion': '4.0',
					'OData-Version': '4.0',
					Accept: 'application/json',
					...(request.body !== undefined && typeof request.body !== 'string' ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
					...request.headers,
				},
			}),
			{ idempotent },
		);
	}

	/** Client credentials grant; Entra issues no refresh token, so every renewal is a new grant. */
	private async fetchToken(orgUrl: string): Promise<AccessToken> {
		const authority = (this.config.authorityUrl || DEFAULT_AUTHORITY).replace(/\/+$/, '');
		let res: HttpResponse<{ access_token?: string; expires_in?: number }>;
		try {
			res = await httpRequest({
				method: 'POST',
				url: `${authority}/${encodeURIComponent(this.config.tenantId!)}/oauth2/v2.0/token`,
				form: { grant_type: 'client_credentials', client_id: this.config.clientId!, client_secret: this.config.clientSecret!, scope: `${orgUrl}/.default` },
			});
		} catch (error) {
			const body = error instanceof HttpStatusError ? (error.body as { error?: string; error_description?: string } | undefined) : undefined;
			const transient = !(error instanceof HttpStatusError) || error.status >= 500;
			throw new CrmError(`Dynamics token request failed: ${body?.error_description ?? body?.error ?? (error instanceof Error ? error.message : String(error))}`, 'dynamics', transient ? 'transient' : 'auth', {
				httpStatus: error instanceof HttpStatusError ? error.status : undefined,
				code: body?.error,
				body,
				cause: error,
			});
		}
		if (!res.body?.access_token) throw new CrmError('Dynamics token response has no access_token', 'dynamics', 'auth', { body: res.body });
		return { accessToken: res.body.access_token, expiresAt: res.body.expires_in ? Date.now() + res.body.expires_in * 1000 : undefined };
	}

	/** Accounts matching any of `clauses`, in as few `or`-joined queries as the URL length allows, kept by `keep`. */
	private async findAccounts(clauses: string[], needed: string[], options: ReadOptions, keep: (row: CrmFields) => boolean): Promise<CrmRecord[]> {
		const info = ENTITIES.account;
		const select = options.fields ? [...new Set([info.idAttr, ...needed, ...options.fields])].join(',') : undefined;
		const found = new Map<string, CrmRecord>();
		for (const group of orGroups(clauses)) {
			for (const row of await this.queryAll(info, { $filter: group, $select: select })) {
				if (!keep(row)) continue;
				const record = toRecord(info, row);
				found.set(record.id, record);
			}
		}
		return [...found.values()];
	}

	/** GET with $filter etc., following @odata.nextLink to the end. */
	private async queryAll(info: EntityInfo, query: Record<string, string | undefined>): Promise<CrmFields[]> {
		const rows: CrmFields[] = [];
		let res = await this.call<ODataPage>(`${info.set}.query`, { method: 'GET', url: `${this.base}/${info.set}`, query, headers: { Prefer: `odata.maxpagesize=${PAGE_MAX}` } });
		for (;;) {
			rows.push(...(res.body?.value ?? []));
			const next = res.body?.['@odata.nextLink'];
			if (!next) return rows;
			res = await this.call<ODataPage>(`${info.set}.query`, { method: 'GET', url: next, headers: { Prefer: `odata.maxpagesize=${PAGE_MAX}` } });
		}
	}

	/**
	 * Sends each request's operations (one, or several that must succeed together: a changeset) in
	 * $batch requests of at most BATCH_MAX operations and turns each changeset's responses into an
	 * outcome: `success` gets the first operation's result, `failure` the failing one. Requests the
	 * server did not answer (a batch that stopped early) go again in the next request; a batch
	 * refused as a whole (auth, throttled past retries) throws.
	 */
	private async batchWrite<R extends { ref: number }>(
		requests: R[],
		operation: (request: R) => BatchOperation | BatchOperation[],
		success: (request: R, result: BatchOperationResult) => WriteOutcome,
		failure: (request: R, result: BatchOperationResult) => WriteOutcome = (request, result) => operationFailure(request.ref, result),
		/** Whether a batch whose reply was lost may be sent again; default: when it holds no POST (creates must not run twice). */
		idempotent?: boolean,
	): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		let pending = requests.map((request) => ({ request, ops: ([] as BatchOperation[]).concat(operation(request)) }));
		while (pending.length) {
			const batch: typeof pending = [];
			let size = 0;
			for (const item of pending) {
				if (batch.length && size + item.ops.length > BATCH_MAX) break;
				batch.push(item);
				size += item.ops.length;
			}
			const { contentType, body } = buildBatch(batch.map((b) => b.ops));
			const reply = await this.callBatch(contentType, body, idempotent ?? batch.every((b) => b.ops.every((o) => o.method !== 'POST')));
			const results = parseBatchResponse(reply.contentType, reply.text, batch.map((b) => b.ops.length));
			const unanswered: typeof pending = [];
			batch.forEach((item, i) => {
				const answers = results.get(i) ?? [];
				const failed = answers.find((r) => r.status < 200 || r.status >= 300);
				if (failed) outcomes.push(failure(item.request, failed));
				else if (answers.length === item.ops.length) outcomes.push(succeeded(item.request, answers[0], success));
				else unanswered.push(item);
			});
			if (unanswered.length === batch.length) {
				for (const { request } of unanswered) outcomes.push({ ref: request.ref, status: 'failed', category: 'fatal', message: 'Dynamics $batch returned no response for this operation' });
				pending = pending.slice(batch.length);
			} else pending = [...unanswered, ...pending.slice(batch.length)];
		}
		return byRef(outcomes);
	}

	/**
	 * POST $batch. A batch that stops on an error answers an outer 400 whose body is still the
	 * multipart reply, the error part in place of the failed operation (batch-response-error-stop.http):
	 * that is read like a 200, so the failure goes to its operation and the rest are sent again.
	 */
	private async callBatch(contentType: string, body: string, idempotent: boolean): Promise<{ contentType: string | null; text: string }> {
		try {
			const res = await this.call<string>(
				'$batch',
				{ method: 'POST', url: `${this.base}/$batch`, headers: { 'Content-Type': contentType, Prefer: 'odata.continue-on-error' }, body },
				// A batch whose reply was lost may have been applied: updates and deletes are sent again
				// (a delete already done then answers 404 for that record), creates must not run twice.
				idempotent,
			);
			return { contentType: res.headers.get('content-type'), text: typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '') };
		} catch (error) {
			const http = error instanceof CrmError && error.cause instanceof HttpStatusError ? error.cause : undefined;
			if (http && http.status === 400 && typeof http.body === 'string' && isMultipart(http.headers.get('content-type'), http.body)) {
				return { contentType: http.headers.get('content-type'), text: http.body };
			}
			throw error;
		}
	}

	private alternateKeyUpsert(info: EntityInfo, matchKey: string, records: Array<UpsertRequest & { value: string }>): Promise<WriteOutcome[]> {
		return this.batchWrite(
			records,
			(r) => ({
				method: 'PATCH',
				url: `${this.base}/${info.set}(${matchKey}=${encodeURIComponent(literal(r.value))})?$select=${info.idAttr}`,
				headers: { Prefer: 'return=representation' },
				body: r.fields,
			}),
			(r, result) => ({ ref: r.ref, status: result.status === 201 ? 'created' : 'updated', id: idFromResult(info, result) }),
		);
	}

	/**
	 * Upsert without an alternate key: look the keys up, PATCH (If-Match: *) the single match, POST otherwise.
	 * `settleUnanswered`: a create that got no answer may have landed; OData reads its own writes, so one more lookup tells.
	 */
	private async searchThenWrite(entity: EntityType, info: EntityInfo, matchKey: string, records: Array<UpsertRequest & { value: string }>, settleUnanswered = true): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		// Repeated keys go in later rounds so a record created in one round is updated by the next.
		const rounds: Array<typeof records> = [];
		const seen = new Map<string, number>();
		for (const r of records) {
			const k = r.value.toLowerCase();
			const round = seen.get(k) ?? 0;
			seen.set(k, round + 1);
			(rounds[round] ??= []).push(r);
		}
		for (const round of rounds) {
			const matches = new Map<string, string[]>();
			const opportunity = info === ENTITIES.opportunity;
			const states = new Map<string, OpportunityState>();
			for (const record of await this.searchRows(info, matchKey, round.map((r) => r.value), [info.idAttr, matchKey, ...(opportunity ? ['statecode', 'statuscode'] : [])])) {
				const k = String(record.fields[matchKey] ?? '').trim().toLowerCase();
				matches.set(k, [...(matches.get(k) ?? []), record.id]);
				if (opportunity) states.set(record.id.toLowerCase(), { statecode: Number(record.fields.statecode), statuscode: typeof record.fields.statuscode === 'number' ? record.fields.statuscode : undefined });
			}
			const creates: typeof round = [];
			const updates: Array<UpdateRequest> = [];
			for (const r of round) {
				const ids = matches.get(r.value.toLowerCase()) ?? [];
				if (ids.length > 1) {
					outcomes.push({ ref: r.ref, status: 'failed', category: 'validation', code: 'MULTIPLE_MATCHES', message: `${ids.length} Dynamics ${info.set} have ${matchKey} ${r.value} (ids ${ids.join(', ')}); merge them or match on another key` });
				} else if (ids.length === 1) updates.push({ ref: r.ref, id: ids[0], fields: r.fields });
				else creates.push(r);
			}
			outcomes.push(...(await this.updateRecords(entity, updates, states)), ...(await this.createOrSettle(entity, info, matchKey, creates, settleUnanswered)));
		}
		return outcomes;
	}

	private async createOrSettle(entity: EntityType, info: EntityInfo, matchKey: string, records: Array<UpsertRequest & { value: string }>, settleUnanswered: boolean): Promise<WriteOutcome[]> {
		try {
			return await this.create(entity, records);
		} catch (error) {
			if (!settleUnanswered || !isUnanswered(error)) throw error;
			return this.searchThenWrite(entity, info, matchKey, records, false);
		}
	}

	private async filteredChanges(info: EntityInfo, cursor: DvCursor, pageSize: number, options: ListChangesOptions): Promise<ChangePage> {
		const since = cursor.since ?? secondsIso(options.since ?? '1970-01-01T00:00:00Z');
		const prefer = { Prefer: `odata.maxpagesize=${pageSize}` };
		const res = cursor.next
			? await this.call<ODataPage>(`${info.set}.changes`, { method: 'GET', url: cursor.next, headers: prefer })
			: await this.call<ODataPage>(`${info.set}.changes`, {
					method: 'GET',
					url: `${this.base}/${info.set}`,
					headers: prefer,
					query: { $filter: `modifiedon ge ${since}`, $orderby: 'modifiedon asc', $select: options.fields ? [...new Set([...selectFor(info, options.fields)!, 'modifiedon', 'createdon'])].join(',') : undefined },
				});
		const seen = new Set(cursor.seen ?? []);
		const sinceMs = Date.parse(since);
		let maxTime = cursor.maxTime;
		let maxIds = cursor.maxIds ?? [];
		const records: ChangedRecord[] = [];
		for (const row of res.body?.value ?? []) {
			const record = toRecord(info, row);
			const modifiedAt = record.modifiedAt ?? since;
			const at = Date.parse(modifiedAt);
			if (at <= sinceMs && seen.has(record.id)) continue;
			records.push({ ...record, modifiedAt });
			if (maxTime === undefined || at > Date.parse(maxTime)) {
				maxTime = modifiedAt;
				maxIds = [record.id];
			} else if (at === Date.parse(maxTime)) maxIds.push(record.id);
		}
		const converted = (await this.enrich(info, records)) as ChangedRecord[];
		const next = res.body?.['@odata.nextLink'];
		if (next) return { records: converted, deleted: [], hasMore: true, cursor: encodeCursor({ since, seen: cursor.seen, maxTime, maxIds, next }) };
		const caughtUp: DvCursor =
			maxTime === undefined || Date.parse(maxTime) <= sinceMs
				? { since, seen: [...new Set([...(cursor.seen ?? []), ...(maxTime === undefined ? [] : maxIds)])] }
				: { since: secondsIso(maxTime), seen: maxIds };
		return { records: converted, deleted: [], hasMore: false, cursor: encodeCursor(caughtUp) };
	}

	private async trackedChanges(info: EntityInfo, cursor: DvCursor, pageSize: number, options: ListChangesOptions): Promise<ChangePage> {
		const headers = { Prefer: `odata.track-changes,odata.maxpagesize=${pageSize}` };
		const url = cursor.next ?? cursor.delta;
		const res = url
			? await this.call<ODataPage>(`${info.set}.delta`, { method: 'GET', url, headers })
			: await this.call<ODataPage>(`${info.set}.delta`, { method: 'GET', url: `${this.base}/${info.set}`, headers, query: { $select: selectFor(info, options.fields)?.join(',') } });
		const records: ChangedRecord[] = [];
		const deleted: DeletedRecord[] = [];
		for (const row of res.body?.value ?? []) {
			if (row.reason === 'deleted' || String(row['@odata.context'] ?? '').endsWith('$deletedEntity')) {
				if (options.includeDeleted !== false) deleted.push({ id: String(row.id) });
				continue;
			}
			const record = toRecord(info, row);
			records.push({ ...record, modifiedAt: record.modifiedAt ?? new Date().toISOString() });
		}
		const next = res.body?.['@odata.nextLink'];
		const delta = res.body?.['@odata.deltaLink'];
		if (!next && !delta) throw new CrmError(`Dynamics: change tracking is not enabled for ${info.set} (no @odata.deltaLink in the reply)`, 'dynamics', 'validation', { body: res.body });
		const converted = (await this.enrich(info, records)) as ChangedRecord[];
		if (next) return { records: converted, deleted, hasMore: true, cursor: encodeCursor({ next, delta: cursor.delta }) };
		return { records: converted, deleted, hasMore: false, cursor: encodeCursor({ delta: delta! }) };
	}
}

// ---------------------------------------------------------------- helpers

interface LocalizedLabel {
	Label?: string;
	LanguageCode?: number;
}

/** PicklistAttributeMetadata with OptionSet expanded. */
interface PicklistMetadata {
	LogicalName?: string;
	OptionSet?: { Options?: Array<{ Value?: number; Label?: { LocalizedLabels?: LocalizedLabel[]; UserLocalizedLabel?: LocalizedLabel | null } }> } | null;
}

/** Joins clauses with ` or ` into filters of at most FILTER_VALUES clauses and FILTER_CHARS characters. */
function orGroups(clauses: string[]): string[] {
	const groups: string[] = [];
	let current: string[] = [];
	let length = 0;
	for (const clause of clauses) {
		if (current.length && (current.length === FILTER_VALUES || length + clause.length + 4 > FILTER_CHARS)) {
			groups.push(current.join(' or '));
			current = [];
			length = 0;
		}
		current.push(clause);
		length += clause.length + 4;
	}
	if (current.length) groups.push(current.join(' or '));
	return groups;
}

/**
 * What to search a company name by: its longest normalised word (the most selective one every
 * equal name holds), plus the words of the name as typed that fold to it ("Société" for "societe").
 */
function searchTerms(name: string, normalised: string): string[] {
	// "and" stands for "&" in the normalised form, which the stored name may spell either way.
	const words = normalised.split(' ');
	const longest = (words.filter((w) => w !== 'and').length ? words.filter((w) => w !== 'and') : words).reduce((a, b) => (b.length > a.length ? b : a));
	const terms = [longest];
	for (const word of name.split(/\s+/)) {
		const typed = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
		if (typed && typed.toLowerCase() !== longest && foldText(typed).split(' ').includes(longest)) terms.push(typed);
	}
	return [...new Set(terms)];
}

interface ODataPage {
	value?: CrmFields[];
	'@odata.nextLink'?: string;
	'@odata.deltaLink'?: string;
}

/**
 * Dataverse errors: {error:{code:'0x...', message}}; 401 has an empty body and WWW-Authenticate;
 * throttling is 429 + Retry-After with codes 0x80072322/21/26.
 */
export function classifyDynamicsError(error: unknown): CrmError {
	if (error instanceof CrmError) return error;
	if (!(error instanceof HttpStatusError)) return classifyGeneric('dynamics', error);
	const { code, message } = errorOf(error.body);
	const generic = classifyGeneric('dynamics', error, error.status, error.body, error.headers);
	let category = generic.category;
	if (error.status === 429 || (code && THROTTLE_CODES.has(code))) category = 'rate_limit';
	else if (error.status === 403) category = 'validation'; // missing privilege on a record or table, not a bad token
	else if (isDuplicate(code, message)) category = 'validation'; // HTTP 500 by design: retrying cannot help
	return new CrmError(`Dynamics: ${message ?? (error.status === 401 ? 'unauthorized' : generic.message)}`, 'dynamics', category, {
		httpStatus: error.status,
		code: code ?? (isDuplicate(code, message) ? DUPLICATE : undefined),
		body: error.body,
		retryAfterMs: generic.retryAfterMs,
		cause: error,
	});
}

/**
 * `{error:{code,message}}`. The code is often "" or "0x0" (error-404-upsert-if-match-not-found.json,
 * error-400-could-not-find-property-0x0-docs.json), which says nothing: left out, so callers go by
 * status and message. Bodies that are not JSON (the docs print some with a missing comma or
 * `<truncated for brevity>`) still give their code and message when they can be read off the text.
 */
function errorOf(body: unknown): { code?: string; message?: string } {
	if (typeof body === 'string') {
		const code = /"code"\s*:\s*"([^"]*)"/.exec(body)?.[1];
		const message = /"message"\s*:\s*"([^"]*)"/.exec(body)?.[1]?.replace(/\s+/g, ' ').trim();
		return { code: meaningfulCode(code), message: message || (body.trim() ? body.trim().slice(0, 500) : undefined) };
	}
	const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
	return { code: meaningfulCode(e?.code), message: typeof e?.message === 'string' ? e.message : undefined };
}

function meaningfulCode(code: unknown): string | undefined {
	return typeof code === 'string' && code !== '' && !/^0x0+$/i.test(code) ? code : undefined;
}

/** Our code for a duplicate the CRM reports without one (412 "A record with matching key values already exists."). */
const DUPLICATE = 'DUPLICATE_RECORD';
/** Duplicate detection rule hit (answered as HTTP 500, error-500-duplicate-detection-0x80040333.json) and duplicate keys. */
const DUPLICATE_CODES = new Set(['0x80040333', '0x80040237']);

function isDuplicate(code: string | undefined, message: string | undefined): boolean {
	return (code !== undefined && DUPLICATE_CODES.has(code)) || /duplicate of the current record|matching key values already exists|cannot insert duplicate key/i.test(message ?? '');
}

function operationFailure(ref: number, result: BatchOperationResult): WriteFailure {
	const { code, message } = errorOf(result.body);
	const duplicate = isDuplicate(code, message);
	const category = result.status === 429 || (code && THROTTLE_CODES.has(code)) ? 'rate_limit' : duplicate ? 'validation' : result.status >= 500 ? 'transient' : result.status === 401 ? 'auth' : 'validation';
	const reported = code ?? (duplicate ? DUPLICATE : undefined);
	return { ref, status: 'failed', category, message: `Dynamics: ${message ?? `HTTP ${result.status}`}`, ...(reported ? { code: reported } : {}) };
}

/** A success part the outcome cannot be built from (a create answered without the new id) fails alone. */
function succeeded<R extends { ref: number }>(request: R, result: BatchOperationResult, success: (request: R, result: BatchOperationResult) => WriteOutcome): WriteOutcome {
	try {
		return success(request, result);
	} catch (error) {
		return { ref: request.ref, status: 'failed', category: 'fatal', message: error instanceof Error ? error.message : String(error) };
	}
}

/** 404 "<entity> With Id = <id> Does Not Exist" (0x80040217; the docs show an empty code): the row is gone. */
function isMissingRecord(result: BatchOperationResult): boolean {
	return isMissingRecordError(result.status, result.body);
}

function isMissingRecordError(status: number, body: unknown): boolean {
	const { code, message } = errorOf(body);
	return status === 404 && (code === '0x80040217' || /does not exist/i.test(message ?? ''));
}

function isMultipart(contentType: string | null, body: string): boolean {
	return /^multipart\/mixed/i.test(contentType ?? '') || /^\s*--batchresponse_/.test(body);
}

function isMissingAlternateKey(outcome: WriteOutcome | undefined): boolean {
	return outcome?.status === 'failed' && /not defined as an alternate key|alternate key.*(not|does not) exist/i.test(outcome.message);
}

/** The created/updated row's id: the representation body, else the OData-EntityId header. */
function idFromResult(info: EntityInfo, result: BatchOperationResult): string {
	const fromBody = (result.body as CrmFields | undefined)?.[info.idAttr];
	if (typeof fromBody === 'string') return fromBody;
	const header = result.headers['odata-entityid'] ?? result.headers.location ?? '';
	const id = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header)?.[1];
	if (!id) throw new CrmError('Dynamics: the reply names no record id', 'dynamics', 'fatal', { body: result });
	return id.toLowerCase();
}

function toRecord(info: EntityInfo, row: CrmFields): CrmRecord {
	return {
		id: String(row[info.idAttr]),
		fields: row,
		...(typeof row.modifiedon === 'string' ? { modifiedAt: new Date(row.modifiedon).toISOString() } : {}),
		...(typeof row.createdon === 'string' ? { createdAt: new Date(row.createdon).toISOString() } : {}),
	};
}

/** What a qualified lead became (withConversions); the map reads these names. */
export const CONVERTED_CONTACT = 'crmSyncConvertedContactId';
export const CONVERTED_ACCOUNT = 'crmSyncConvertedAccountId';
export const CONVERTED_OPPORTUNITY = 'crmSyncConvertedOpportunityId';
const CONVERSION_FIELDS = new Set([CONVERTED_CONTACT, CONVERTED_ACCOUNT, CONVERTED_OPPORTUNITY]);
/** Lead columns withConversions needs. */
const CONVERSION_SOURCES = ['statecode', '_parentcontactid_value', '_parentaccountid_value', '_qualifyingopportunityid_value'];

/**
 * The $select of a read: the requested columns; for leads without the conversion fields (no
 * columns of Dataverse's) and with the columns those are derived from; for leads and opportunities
 * _transactioncurrencyid_value in place of CURRENCY_ISO_FIELD. undefined = every column.
 */
function selectFor(info: EntityInfo, fields: string[] | undefined): string[] | undefined {
	if (!fields) return undefined;
	let select = fields;
	// The currency: its lookup column, never the made-up name (nor the navigation property, which $select refuses).
	if (hasCurrency(info)) select = [...select.filter((f) => f !== CURRENCY_ISO_FIELD && f !== CURRENCY_NAV), CURRENCY_LOOKUP_VALUE];
	if (info === ENTITIES.lead) select = [...select.filter((f) => !CONVERSION_FIELDS.has(f)), ...CONVERSION_SOURCES];
	return [...new Set(select)];
}

/** Entities whose records carry a currency as CURRENCY_ISO_FIELD (transactioncurrencyid). */
function hasCurrency(info: EntityInfo): boolean {
	return info === ENTITIES.opportunity || info === ENTITIES.lead;
}

/** Opportunity status reasons per state in a new environment (0 Open: 1 In Progress, 2 On Hold; 1 Won: 3; 2 Lost: 4 Canceled, 5 Out-Sold). */
const OPPORTUNITY_STATUS: Record<number, number[]> = { 0: [1, 2], 1: [3], 2: [4, 5] };
/** OpportunityIsAlreadyClosed (web service error codes): Win/LoseOpportunity of a closed opportunity. */
const ALREADY_CLOSED = '0x80040515';

interface OpportunityState {
	statecode: number;
	statuscode?: number;
}

/** The closed state (1 won, 2 lost) a statecode value asks for; undefined for open or none. */
function closedState(value: unknown): 1 | 2 | undefined {
	return value === 1 || value === 2 ? value : undefined;
}

function hasState(fields: CrmFields): boolean {
	return fields.statecode !== undefined || fields.statuscode !== undefined;
}

function withoutState(fields: CrmFields): CrmFields {
	const { statecode: _state, statuscode: _status, ...rest } = fields;
	return rest;
}

/** opportunityclose.actualend (Edm.DateTimeOffset) from a date or datetime. */
function closeTime(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}T00:00:00Z`;
	return Number.isNaN(Date.parse(value)) ? undefined : value;
}

/**
 * How an opportunity update carrying statecode/statuscode is written, by its current state:
 * - won/lost (1/2) asked, already in it: the other fields only (nothing if none: unchanged);
 * - won/lost asked, open: the other fields, then Win/LoseOpportunity (a PATCH with statecode 1 or
 *   2 is refused, 0x80100005 CannotUseOpportunitySetStateMessage);
 * - won asked of a lost one or the reverse: reopened in the PATCH (statecode 0), then closed;
 * - open (0) asked of a closed one: reopened by the PATCH (SetState to Open is a plain update), with
 *   the statuscode when it is an open one (1, 2), else the state's default;
 * - open asked of an open one, or no statecode: statecode left out (re-setting Open is not a change),
 *   the statuscode kept only when it is another open one (1, 2) of an open record.
 * A record not found is patched as is, without the state (the PATCH answers 404).
 */
function opportunityPlan(fields: CrmFields, current: OpportunityState | undefined): { fields?: CrmFields; close?: 1 | 2 } {
	const rest = withoutState(fields);
	const some = (f: CrmFields): CrmFields | undefined => (Object.keys(f).length ? f : undefined);
	if (!current) return { fields: rest };
	const status = typeof fields.statuscode === 'number' ? fields.statuscode : undefined;
	const target = closedState(fields.statecode);
	if (target !== undefined) {
		if (current.statecode === target) return { fields: some(rest) };
		return current.statecode === 0 ? { fields: some(rest), close: target } : { fields: { ...rest, statecode: 0 }, close: target };
	}
	if (fields.statecode !== undefined && fields.statecode !== null && fields.statecode !== 0) return { fields }; // not a state: the CRM says why
	const openStatus = status !== undefined && OPPORTUNITY_STATUS[0].includes(status) ? status : undefined;
	if (current.statecode !== 0 && fields.statecode === 0) return { fields: { ...rest, statecode: 0, ...(openStatus !== undefined ? { statuscode: openStatus } : {}) } };
	const changedStatus = current.statecode === 0 && openStatus !== undefined && openStatus !== current.statuscode;
	return { fields: some({ ...rest, ...(changedStatus ? { statuscode: openStatus } : {}) }) };
}

/** What convertLeads reads of a lead: its state (0 open, 1 qualified, 2 disqualified) and lookups, ids lower-case. */
interface LeadState {
	statecode: number;
	contactId?: string;
	accountId?: string;
}

/** A lead qualified already: the contact and account it names (the request's where it names none). */
function qualifiedAlready(r: ConvertLeadRequest, lead: LeadState): ConvertLeadOutcome {
	const accountId = lead.accountId ?? r.accountId;
	return { ref: r.ref, status: 'unchanged', id: r.id, contactId: lead.contactId ?? r.contactId, ...(accountId ? { accountId } : {}) };
}

function isGuid(id: string): boolean {
	return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

function invalidId(ref: number, id: string): WriteFailure {
	return { ref, status: 'failed', category: 'validation', code: 'INVALID_ID', message: `${JSON.stringify(id)} is not a Dataverse record id (GUID)` };
}

/** OData string literal: single quotes, inner quotes doubled. */
function literal(value: string): string {
	return `'${value.replace(/'/g, "''")}'`;
}

/** Attribute names go into URLs and filters unquoted: only plain logical names are allowed. */
function assertAttribute(name: string): void {
	if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`${JSON.stringify(name)} is not a Dataverse attribute name`);
}

/** ISO-8601 at whole seconds (modifiedon precision), rounded down. */
function secondsIso(iso: string): string {
	const ms = Date.parse(iso);
	if (Number.isNaN(ms)) throw new Error(`Invalid time ${JSON.stringify(iso)}`);
	return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const ATTRIBUTE_TYPES: Record<string, FieldType> = {
	String: 'string',
	Memo: 'text',
	Integer: 'number',
	BigInt: 'number',
	Decimal: 'number',
	Double: 'number',
	Money: 'currency',
	Boolean: 'boolean',
	DateTime: 'datetime',
	Picklist: 'picklist',
	State: 'picklist',
	Status: 'picklist',
	Virtual: 'other',
	Lookup: 'reference',
	Customer: 'reference',
	Owner: 'reference',
	Uniqueidentifier: 'id',
};

function describeAttribute(a: Record<string, unknown>): FieldDescription {
	const name = String(a.LogicalName);
	const crmType = String(a.AttributeType ?? 'unknown');
	const label = (a.DisplayName as { UserLocalizedLabel?: { Label?: string } } | undefined)?.UserLocalizedLabel?.Label;
	const required = (a.RequiredLevel as { Value?: string } | undefined)?.Value;
	let type = ATTRIBUTE_TYPES[crmType] ?? 'other';
	if (type === 'string' && /^emailaddress\d$/.test(name)) type = 'email';
	if (type === 'string' && /^(telephone\d|mobilephone|fax)$/.test(name)) type = 'phone';
	if (type === 'string' && name === 'websiteurl') type = 'url';
	return {
		name,
		label: label ?? name,
		type,
		crmType,
		custom: a.IsCustomAttribute === true,
		required: required === 'ApplicationRequired' || required === 'SystemRequired',
		readOnly: a.IsValidForCreate === false && a.IsValidForUpdate === false,
		unique: a.IsPrimaryId === true,
		...(Array.isArray(a.Targets) && a.Targets.length ? { referenceTo: (a.Targets as unknown[]).map(String) } : {}),
	};
}

/** Builds the connector from the n8n Dynamics credential: orgUrl, tenantId, clientId, clientSecret, authorityUrl. */
export function create(credentials: Record<string, unknown>, runtime: ConnectorRuntime = {}): DynamicsConnector {
	const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
	const orgUrl = text(credentials.orgUrl);
	if (!orgUrl) throw new CrmError('Dynamics: the credential has no organization URL', 'dynamics', 'auth');
	return new DynamicsConnector(
		{
			orgUrl,
			tenantId: text(credentials.tenantId),
			clientId: text(credentials.clientId),
			clientSecret: text(credentials.clientSecret),
			authorityUrl: text(credentials.authorityUrl),
			accessToken: text(credentials.accessToken),
		},
		runtime,
	);
}
