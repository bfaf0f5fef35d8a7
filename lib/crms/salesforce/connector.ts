// Salesforce REST (sObject Collections, SOQL, describe) and SOAP merge through jsforce 3.
// Metadata reads are SOQL too: OpportunityStage (stages), User (owners), Account by Website/Name
// LIKE (account matching), each paged through nextRecordsUrl by jsforce's autoFetch; currencies
// are SOAP getUserInfo, plus CurrencyType in a multi-currency org (listCurrencies).
//
// jsforce quirks handled here (crm-wire.md §0, §1):
// - The API version is always set explicitly ('62.0' default): jsforce's default is 50.0 and
//   collection upsert needs >= 46.
// - `callOptions: { client: <marker> }` makes jsforce send `Sforce-Call-Options: client=<marker>`,
//   which Salesforce reports back in CDC `changeOrigin`: our echo marker.
// - Collections take <= 200 records per request; we chunk at 200 ourselves (each chunk is one
//   limited, retried API call) and pass allowRecursive as a guard.
// - jsforce retries some statuses itself (GET/PUT/DELETE on 429/5xx) and refreshes on 401 when it
//   has a refresh token. Both are switched off (retry.maxRetries 0 on its transport, no refresh
//   token given to it): lib/http does retries and token refresh for every CRM in one way.
// - jsforce takes no AbortSignal; its fetch timeout is set to the transport attempt's deadline, so a
//   request that timed out is aborted and cannot land after its retry.
// - jsforce errors carry errorCode but no HTTP status; we record the status of each response in an
//   AsyncLocalStorage slot so classification can use it.
// - There is no REST merge: merge goes through SOAP `merge()` (master + up to 2 per request).
// - Lead conversion is SOAP too: `convertLead()` (up to 100 leads per call), see convertLeads.
//
// What the recorded replies (../shared/data/crm-fixtures/salesforce, issue 20) add to crm-wire.md §1:
// - Datetimes are `2026-05-01T07:25:37.000+0000`: no colon in the offset (query-accounts-limit5-recorded.json).
// - sObject Collections answer 200 when items fail; a failed item has no `id` and its errors use
//   `statusCode` (collections-update-invalid-cross-reference-recorded.json); a failed upsert item
//   also says `created: false` (collections-upsert-json-parser-error-recorded.json).
// - Top-level errors are `[{message, errorCode, fields?}]`; `fields` is absent from some
//   (error-400-invalid-field-recorded.json) and names the offending fields in others
//   (error-required-field-missing-recorded.json): a single rejected record keeps them.
// - An empty collection is a 400 REQUIRED_FIELD_MISSING "At least 1 record is required".
// - REQUEST_LIMIT_EXCEEDED comes with HTTP 403, not 429 (error-403-request-limit-exceeded-recorded.json).
// - A full GET of a record carries compound address objects (BillingAddress {city, street, ...})
//   next to the flat fields (rest-get-account-recorded.json).
// - Upsert by a standard idLookup field (Contact Email) works like an external id
//   (rest-upsert-by-external-id-201-created-recorded.json); this connector still upserts by Email
//   through a SOQL lookup, which also reports unchanged records.
// - jsforce follows nextRecordsUrl by its locator under the connection's own API version.
//
// Entities: contact → Contact, lead → Lead, account → Account, opportunity → Opportunity,
// activity → Task (or Event: ids with prefix 00U, records with StartDateTime).

import { AsyncLocalStorage } from 'node:async_hooks';
import { Connection } from 'jsforce';
import type { EntityType } from '../../model';
import { normaliseCompany } from '../../matching/normalise-company';
import { normaliseDomain } from '../../matching/normalise-domain';
import { domainKeys } from '../../matching/accounts';
import { classifyGeneric, credentialKey, CrmError, currentAttempt, httpRequest, HttpStatusError, isUnanswered, TokenManager, tokenManagerFor, Transport, type AccessToken } from '../../http';
import {
	byRef,
	chunk,
	DEFAULT_CHANGE_SOURCE_MARKER,
	isolateFailures,
	notFound,
	NotImplementedError,
	type ChangePage,
	type ChangedRecord,
	type ConnectorRuntime,
	type ConvertLeadOutcome,
	type ConvertLeadRequest,
	type ConvertLeadSuccess,
	type CreateRequest,
	type CrmConnector,
	type CrmCurrencies,
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
	type WriteOutcome,
} from '../../connectors/types';
import { readOnce } from '../../util/read-once';

export interface SalesforceConfig {
	/** Where the OAuth token endpoint lives (login.salesforce.com, test.salesforce.com, My Domain, sandbox). */
	loginUrl: string;
	/** The org's instance URL; taken from the token response when missing. */
	instanceUrl?: string;
	/** REST/SOAP API version. Default '62.0'. */
	apiVersion?: string;
	clientId?: string;
	clientSecret?: string;
	/** refresh_token grant (authorization code flow) or client_credentials grant. */
	grant: 'refresh_token' | 'client_credentials' | 'none';
	refreshToken?: string;
	accessToken?: string;
}

/** Builds the connector from the values of credentials/SalesforceCrmSyncOAuth2Api. */
export function create(credentials: Record<string, unknown>, runtime: ConnectorRuntime = {}): SalesforceConnector {
	const token = (credentials.oauthTokenData ?? {}) as { access_token?: string; refresh_token?: string; instance_url?: string };
	const clientCredentials = credentials.grantType === 'clientCredentials';
	return new SalesforceConnector(
		{
			loginUrl: String(credentials.loginUrl || 'https://login.salesforce.com'),
			instanceUrl: (credentials.instanceUrl as string | undefined) || token.instance_url,
			apiVersion: (credentials.apiVersion as string | undefined) || undefined,
			clientId: credentials.clientId as string | undefined,
			clientSecret: credentials.clientSecret as string | undefined,
			grant: clientCredentials ? 'client_credentials' : token.refresh_token ? 'refresh_token' : 'none',
			refreshToken: token.refresh_token,
			accessToken: token.access_token,
		},
		runtime,
	);
}

const COLLECTION_LIMIT = 200;
const IN_VALUES = 100;
/**
 * Account lookups OR one LIKE per search term; a query goes as a GET URL, so each is kept to
 * this many characters of WHERE clause (SOQL allows 100,000, URLs far less).
 */
const WHERE_CHARS = 6000;
const QUERY_MAX_FETCH = 100_000;
const MERGE_PER_REQUEST = 2;
/** Leads per SOAP convertLead call (Salesforce converts at most 100 per call). */
const CONVERT_PER_CALL = 100;
/**
 * The converted status of a standard org's lead process. Used when LeadStatus cannot be read
 * (or names none); an org with its own converted status answers it to the LeadStatus query.
 */
const STANDARD_CONVERTED_STATUS = 'Closed - Converted';
const DEFAULT_VERSION = '62.0';

const OBJECTS: Record<EntityType, string> = { contact: 'Contact', lead: 'Lead', account: 'Account', opportunity: 'Opportunity', activity: 'Task' };
const MERGEABLE = new Set(['Contact', 'Lead', 'Account']);

const DEFAULT_FIELDS: Record<string, string[]> = {
	Contact: ['FirstName', 'LastName', 'Email', 'Phone', 'MobilePhone', 'Title', 'AccountId', 'LeadSource', 'MailingStreet', 'MailingCity', 'MailingState', 'MailingPostalCode', 'MailingCountry', 'HasOptedOutOfEmail', 'DoNotCall', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
	Lead: ['FirstName', 'LastName', 'Email', 'Phone', 'Company', 'Title', 'Status', 'LeadSource', 'Street', 'City', 'State', 'PostalCode', 'Country', 'HasOptedOutOfEmail', 'DoNotCall', 'IsConverted', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
	Account: ['Name', 'Website', 'Phone', 'Industry', 'BillingStreet', 'BillingCity', 'BillingState', 'BillingPostalCode', 'BillingCountry', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
	Opportunity: ['Name', 'Amount', 'StageName', 'CloseDate', 'AccountId', 'Probability', 'IsWon', 'IsClosed', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
	Task: ['Subject', 'Description', 'ActivityDate', 'Status', 'Priority', 'TaskSubtype', 'WhoId', 'WhatId', 'CallDurationInSeconds', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
	Event: ['Subject', 'Description', 'StartDateTime', 'EndDateTime', 'WhoId', 'WhatId', 'OwnerId', 'LastModifiedDate', 'SystemModstamp'],
};

/** Status/headers of the last HTTP response inside one transport call (jsforce errors lack them). */
const responseSlot = new AsyncLocalStorage<{ status?: number }>();

interface SaveResult {
	id?: string;
	success: boolean;
	created?: boolean;
	errors?: Array<{ statusCode?: string; errorCode?: string; message: string; fields?: string[] }>;
}

type SfRecord = Record<string, unknown> & { Id: string; attributes?: unknown };

/** What listCurrencies and reads need of SOAP getUserInfo (GetUserInfoResult). */
interface UserInfo {
	organizationMultiCurrency?: boolean | string;
	/** A single-currency org's currency ("applicable only when organizationMultiCurrency is false"). */
	orgDefaultCurrencyIsoCode?: string | null;
}

/** listChanges cursor: SystemModstamp watermark (whole seconds) and the `id@SystemModstamp` keys already returned at it. */
interface SalesforceCursor {
	t: string;
	ids: string[];
}

export class SalesforceConnector implements CrmConnector {
	readonly crm = 'salesforce' as const;
	/** SOQL: the account lookups read the records, not a lagging search index. */
	readonly accountLookupsSeeOwnWrites = true;
	readonly credentialKey: string;
	readonly transport: Transport;
	readonly tokens: TokenManager;
	readonly conn: Connection;
	private readonly version: string;
	/** The lead status a conversion sets (read once per connector, see convertedStatus()). */
	private convertedStatusValue?: Promise<string>;
	/** The org's currencies (read once per connector, see listCurrencies()). */
	private readonly currencies = readOnce(() => this.readCurrencies());
	/** SOAP getUserInfo (read once per connector, see userInfo()). */
	private userInfoValue?: Promise<UserInfo>;

	constructor(
		private readonly config: SalesforceConfig,
		runtime: ConnectorRuntime = {},
	) {
		this.version = config.apiVersion || DEFAULT_VERSION;
		const loginUrl = config.loginUrl.replace(/\/+$/, '');
		this.conn = new Connection({
			loginUrl,
			instanceUrl: (config.instanceUrl || loginUrl).replace(/\/+$/, ''),
			accessToken: config.accessToken,
			version: this.version,
			callOptions: { client: runtime.changeSourceMarker ?? DEFAULT_CHANGE_SOURCE_MARKER },
		});
		hookJsforceTransport(this.conn);
		const key = credentialKey('salesforce', loginUrl, config.clientId, config.grant === 'refresh_token' ? config.refreshToken : config.grant === 'none' ? config.accessToken : config.clientSecret);
		this.credentialKey = key;
		this.tokens = tokenManagerFor(key, () =>
			new TokenManager({
				initial: config.accessToken ? { accessToken: config.accessToken, extra: { instance_url: config.instanceUrl } } : undefined,
				fetch: config.grant === 'none' ? undefined : (current) => this.fetchToken(current),
			}),
		);
		this.transport = new Transport({
			crm: 'salesforce',
			key,
			classify: classifySalesforceError,
			// Salesforce limits a daily org quota, not a rate; cap concurrency (long-running request limit is 25).
			limits: { default: { maxConcurrent: 10 }, ...runtime.limits },
			retry: runtime.retry,
			token: this.tokens,
			store: runtime.store,
			timeoutMs: runtime.timeoutMs,
			onEvent: runtime.onEvent,
		});
	}

	maxBatchSize(_entity: EntityType, operation?: string): number {
		return operation === 'merge' ? COLLECTION_LIMIT : COLLECTION_LIMIT;
	}

	matchField(entity: EntityType, kind: MatchKind): string | undefined {
		if (kind === 'externalId') return undefined;
		if (entity === 'contact' || entity === 'lead') return kind === 'email' ? 'Email' : 'Phone';
		if (entity === 'account') return kind === 'phone' ? 'Phone' : undefined;
		return undefined;
	}

	async get(entity: EntityType, id: string, options: ReadOptions = {}): Promise<CrmRecord | undefined> {
		const object = objectForId(entity, id);
		const fields = await this.fields(object, options);
		try {
			const record = (await this.call('retrieve', (c) => c.sobject(object).retrieve(id, { fields }))) as SfRecord;
			return toRecord(record);
		} catch (error) {
			if (error instanceof CrmError && (error.httpStatus === 404 || error.code === 'NOT_FOUND')) return undefined;
			throw error;
		}
	}

	async search(entity: EntityType, field: string, values: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const object = OBJECTS[entity];
		assertFieldName(field);
		const fields = [...new Set(['Id', ...(await this.fields(object, options)), field])];
		const out: CrmRecord[] = [];
		for (const group of chunk([...new Set(values.map((v) => String(v).trim()).filter(Boolean))], IN_VALUES)) {
			const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE ${field} IN (${group.map(soqlString).join(', ')})`;
			const result = (await this.call('query', async (c) => (await c.query(soql, { autoFetch: true, maxFetch: 100_000 })) as unknown)) as { records: SfRecord[] };
			out.push(...result.records.map(toRecord));
		}
		return out;
	}

	async create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		for (const [object, group] of groupByObject(entity, records)) {
			for (const batch of chunk(group, COLLECTION_LIMIT)) {
				outcomes.push(
					...(await isolate(batch, async (part) => {
						const results = (await this.call(
							'collections.create',
							(c) => c.sobject(object).create(part.map((r) => sfFields(r.fields)), { allOrNone: false, allowRecursive: true }),
							false,
						)) as SaveResult[];
						return part.map((r, i) => saveOutcome(r.ref, results[i], 'created'));
					})),
				);
			}
		}
		return byRef(outcomes);
	}

	async update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		for (const [object, group] of groupBy(records, (r) => objectForId(entity, r.id))) {
			for (const batch of chunk(group, COLLECTION_LIMIT)) {
				outcomes.push(
					...(await isolate(batch, async (part) => {
						const results = (await this.call('collections.update', (c) =>
							c.sobject(object).update(part.map((r) => ({ ...sfFields(r.fields), Id: r.id })), { allOrNone: false, allowRecursive: true }),
						)) as SaveResult[];
						return part.map((r, i) => saveOutcome(r.ref, results[i], 'updated', r.id));
					})),
				);
			}
		}
		return byRef(outcomes);
	}

	/**
	 * External-id fields (custom `__c`) use the Collections upsert (one call per 200). Other keys
	 * (Email, Phone: not external ids) are looked up with SOQL, then created or updated; records
	 * whose stored values already equal the input are reported `unchanged` and not written.
	 */
	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		assertFieldName(matchKey);
		const object = OBJECTS[entity];
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
		if (/__c$/i.test(matchKey)) {
			for (const batch of chunk(valid, COLLECTION_LIMIT)) {
				outcomes.push(
					...(await isolate(batch, async (part) => {
						const results = (await this.call('collections.upsert', (c) =>
							c.sobject(object).upsert(part.map((r) => sfFields(r.fields)), matchKey, { allOrNone: false, allowRecursive: true }),
						)) as SaveResult[];
						return part.map((r, i) => saveOutcome(r.ref, results[i], results[i]?.created ? 'created' : 'updated'));
					})),
				);
			}
		} else {
			outcomes.push(...(await this.searchThenWrite(entity, matchKey, valid)));
		}
		return byRef(outcomes);
	}

	async delete(entity: EntityType, records: DeleteRequest[]): Promise<WriteOutcome[]> {
		const outcomes: WriteOutcome[] = [];
		for (const [object, group] of groupBy(records, (r) => objectForId(entity, r.id))) {
			for (const batch of chunk(group, COLLECTION_LIMIT)) {
				const results = (await this.call('collections.delete', (c) => c.sobject(object).destroy(batch.map((r) => r.id), { allOrNone: false, allowRecursive: true }))) as SaveResult[];
				outcomes.push(...batch.map((r, i) => missingRecord(r.ref, results[i]) ?? saveOutcome(r.ref, results[i], 'deleted', r.id)));
			}
		}
		return byRef(outcomes);
	}

	/** SOAP merge: up to 2 records per merge request; more are merged in rounds into the master. */
	async merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]> {
		const object = OBJECTS[entity];
		if (!MERGEABLE.has(object)) throw new NotImplementedError(`Salesforce merge of ${entity} (Salesforce merges leads, contacts and accounts only)`);
		const outcomes: WriteOutcome[] = [];
		for (const request of requests) {
			try {
				for (const round of chunk(request.mergeIds, MERGE_PER_REQUEST)) {
					const result = (await this.call('soap.merge', (c) => c.soap.merge({ masterRecord: { type: object, Id: request.masterId }, recordToMergeIds: round }))) as {
						success: boolean | string;
						errors?: unknown;
					};
					if (String(result.success) !== 'true') {
						const errors = ([] as unknown[]).concat(result.errors ?? []) as Array<{ statusCode?: string; message?: string }>;
						throw new CrmError(`Salesforce: ${errors.map((e) => e.message).join('; ') || 'merge failed'}`, 'salesforce', 'validation', { code: errors[0]?.statusCode, body: result });
					}
				}
				outcomes.push({ ref: request.ref, status: 'merged', id: request.masterId, mergedIds: request.mergeIds });
			} catch (error) {
				if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
				outcomes.push({ ref: request.ref, status: 'failed', category: 'validation', code: error.code, message: error.message });
			}
		}
		return outcomes;
	}

	/**
	 * SOAP convertLead (up to 100 leads per call) into the given contact and account, never
	 * creating one: doNotCreateOpportunity, overwriteLeadSource false, no notification e-mail.
	 * Before it, one SOQL query per 100 leads reads IsConverted (a converted lead answers
	 * `unchanged` with the contact and account it became; a lead that is not there answers
	 * notFound), and, for requests without an accountId, one per 100 contacts reads their AccountId:
	 * Salesforce takes an existing contact only together with its account, so a contact without
	 * one fails (ACCOUNT_REQUIRED). A lead whose conversion failed is read again: converted now
	 * into the wanted contact (a retried call whose first reply was lost) counts as converted.
	 */
	async convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]> {
		const outcomes: ConvertLeadOutcome[] = [];
		const valid: ConvertLeadRequest[] = [];
		for (const r of requests) {
			const bad = [r.id, r.contactId, ...(r.accountId ? [r.accountId] : [])].find((id) => !isSalesforceId(id));
			if (bad !== undefined) outcomes.push({ ref: r.ref, status: 'failed', category: 'validation', code: 'INVALID_ID', message: `Salesforce: ${JSON.stringify(bad)} is not a Salesforce record id` });
			else valid.push(r);
		}
		const leads = await this.rowsById('Lead', ['IsConverted', 'ConvertedContactId', 'ConvertedAccountId'], valid.map((r) => r.id));
		const open: ConvertLeadRequest[] = [];
		for (const r of valid) {
			const lead = leads.get(r.id.slice(0, 15));
			if (!lead) outcomes.push(notFound(r.ref, `Salesforce: lead ${r.id} not found (deleted, or no such lead)`));
			else if (isTrue(lead.IsConverted)) outcomes.push(convertedAlready(r, lead));
			else open.push(r);
		}
		const contacts = await this.rowsById('Contact', ['AccountId'], open.filter((r) => !r.accountId).map((r) => r.contactId));
		const ready: Array<ConvertLeadRequest & { accountId: string }> = [];
		for (const r of open) {
			if (r.accountId) {
				ready.push({ ...r, accountId: r.accountId });
				continue;
			}
			const contact = contacts.get(r.contactId.slice(0, 15));
			const accountId = typeof contact?.AccountId === 'string' && contact.AccountId !== '' ? contact.AccountId : undefined;
			if (!contact) outcomes.push({ ref: r.ref, status: 'failed', category: 'validation', code: 'INVALID_CROSS_REFERENCE_KEY', fields: ['contactId'], message: `Salesforce: contact ${r.contactId} not found, so lead ${r.id} cannot be converted into it` });
			else if (!accountId) {
				outcomes.push({
					ref: r.ref,
					status: 'failed',
					category: 'validation',
					code: 'ACCOUNT_REQUIRED',
					fields: ['accountId'],
					message: `Salesforce converts a lead into an existing contact only together with the contact's account, and contact ${r.contactId} has none: link it to an account (or give the conversion one) to convert lead ${r.id}`,
				});
			} else ready.push({ ...r, accountId });
		}
		if (ready.length) {
			const status = await this.convertedStatus();
			const failed: Array<{ request: ConvertLeadRequest; failure: WriteFailure }> = [];
			for (const batch of chunk(ready, CONVERT_PER_CALL)) {
				for (const [request, outcome] of await this.convertBatch(batch, status)) {
					if (outcome.status === 'failed') failed.push({ request, failure: outcome });
					else outcomes.push(outcome);
				}
			}
			// A lead converted meanwhile (by a first attempt whose reply was lost) into the wanted contact is done.
			const again = failed.length ? await this.rowsById('Lead', ['IsConverted', 'ConvertedContactId', 'ConvertedAccountId'], failed.map((f) => f.request.id)) : new Map<string, SfRecord>();
			for (const { request, failure } of failed) {
				const lead = again.get(request.id.slice(0, 15));
				const into = typeof lead?.ConvertedContactId === 'string' ? lead.ConvertedContactId.slice(0, 15) : undefined;
				outcomes.push(lead && isTrue(lead.IsConverted) && into === request.contactId.slice(0, 15) ? { ...convertedAlready(request, lead), status: 'converted' } : failure);
			}
		}
		return byRef(outcomes);
	}

	/** One convertLead call; a call Salesforce refuses as a whole (a SOAP fault) is split down to the lead it is about. */
	private async convertBatch(batch: Array<ConvertLeadRequest & { accountId: string }>, convertedStatus: string): Promise<Array<[ConvertLeadRequest, ConvertLeadOutcome]>> {
		let results: LeadConvertResult[];
		try {
			// Elements in the partner WSDL's LeadConvert order (alphabetical).
			const converts = batch.map((r) => ({
				accountId: r.accountId,
				contactId: r.contactId,
				convertedStatus,
				doNotCreateOpportunity: true,
				leadId: r.id,
				overwriteLeadSource: false,
				sendNotificationEmail: false,
			}));
			// Safe to send again: a lead converted by a first attempt fails the second, and is then read again.
			results = ([] as LeadConvertResult[]).concat((await this.call('soap.convertLead', (c) => c.soap.convertLead(converts))) as LeadConvertResult | LeadConvertResult[]);
		} catch (error) {
			if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
			if (batch.length === 1) return [[batch[0], { ref: batch[0].ref, status: 'failed', category: 'validation', code: error.code, message: error.message }]];
			const middle = Math.ceil(batch.length / 2);
			return [...(await this.convertBatch(batch.slice(0, middle), convertedStatus)), ...(await this.convertBatch(batch.slice(middle), convertedStatus))];
		}
		return batch.map((r, i) => {
			const result = results[i];
			if (result && String(result.success) === 'true') {
				return [r, { ref: r.ref, status: 'converted', id: r.id, contactId: result.contactId || r.contactId, accountId: result.accountId || r.accountId }];
			}
			const errors = ([] as Array<{ statusCode?: string; message?: string; fields?: string | string[] }>).concat(result?.errors ?? []);
			const fields = errors.flatMap((e) => ([] as string[]).concat(e.fields ?? []));
			return [
				r,
				{
					ref: r.ref,
					status: 'failed',
					category: 'validation',
					code: errors[0]?.statusCode,
					message: result ? `Salesforce: ${errors.map((e) => e.message).join('; ') || 'convertLead failed'}` : 'Salesforce returned fewer convertLead results than leads',
					...(fields.length ? { fields } : {}),
				},
			];
		});
	}

	/**
	 * The value convertLead's convertedStatus takes: `SELECT MasterLabel FROM LeadStatus WHERE
	 * IsConverted = true` (Salesforce's own recipe; the first if an org has several). Where
	 * LeadStatus cannot be read (an org or sandbox that refuses the query) or names none, the
	 * standard "Closed - Converted".
	 */
	private convertedStatus(): Promise<string> {
		this.convertedStatusValue ??= this.queryRecords('leadStatus', 'SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true').then(
			(rows) => {
				const label = rows.map((r) => r.MasterLabel).find((l): l is string => typeof l === 'string' && l !== '');
				return label ?? STANDARD_CONVERTED_STATUS;
			},
			(error: unknown) => {
				this.convertedStatusValue = undefined;
				if (error instanceof CrmError && error.category === 'validation') return STANDARD_CONVERTED_STATUS;
				throw error;
			},
		);
		return this.convertedStatusValue;
	}

	/** Rows of `object` by id (100 ids per SOQL query), keyed by the id's first 15 characters (15- and 18-character ids alike). */
	private async rowsById(object: string, fields: string[], ids: string[]): Promise<Map<string, SfRecord>> {
		const rows = new Map<string, SfRecord>();
		for (const group of chunk([...new Set(ids)], IN_VALUES)) {
			const soql = `SELECT Id, ${fields.join(', ')} FROM ${object} WHERE Id IN (${group.map(soqlString).join(', ')})`;
			for (const row of await this.queryRecords(`${object}.byId`, soql)) rows.set(row.Id.slice(0, 15), row);
		}
		return rows;
	}

	/**
	 * SOQL `SystemModstamp >= watermark ORDER BY SystemModstamp, Id` over queryAll (deleted rows
	 * included, IsDeleted = true). The watermark is kept in whole seconds and the ids already
	 * returned at it are skipped, so no change is lost to timestamp precision or ties.
	 */
	async listChanges(entity: EntityType, options: ListChangesOptions = {}): Promise<ChangePage> {
		const object = OBJECTS[entity];
		const cursor: SalesforceCursor = options.cursor ? JSON.parse(options.cursor) : { t: floorSecond(options.since ?? '1970-01-01T00:00:00Z'), ids: [] };
		const pageSize = Math.min(options.pageSize ?? 2000, 2000);
		const extra = MERGEABLE.has(object) ? ['IsDeleted', 'MasterRecordId'] : ['IsDeleted'];
		const fields = [...new Set(['Id', ...(await this.fields(object, options)), 'SystemModstamp', ...extra])];
		const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE SystemModstamp >= ${cursor.t} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${pageSize + cursor.ids.length}`;
		const result = (await this.call('queryAll', async (c) => (await c.query(soql, { scanAll: options.includeDeleted !== false, autoFetch: true, maxFetch: pageSize + cursor.ids.length })) as unknown)) as {
			records: SfRecord[];
		};
		// A row is identified by id + SystemModstamp: a record changed again within the watermark second is new.
		const seen = new Set(cursor.ids);
		const records: ChangedRecord[] = [];
		const deleted: DeletedRecord[] = [];
		let watermark = cursor.t;
		let keysAtWatermark = new Set(cursor.ids);
		for (const row of result.records) {
			const second = floorSecond(String(row.SystemModstamp));
			if (second !== watermark) {
				watermark = second;
				keysAtWatermark = new Set();
			}
			const key = `${row.Id}@${toIso(row.SystemModstamp)}`;
			keysAtWatermark.add(key);
			if (seen.has(key)) continue;
			if (row.IsDeleted === true || row.IsDeleted === 'true') {
				deleted.push({ id: row.Id, deletedAt: toIso(row.SystemModstamp), mergedInto: (row.MasterRecordId as string | null) || undefined });
				continue;
			}
			const record = toRecord(row);
			records.push({ ...record, modifiedAt: toIso(row.SystemModstamp) ?? record.modifiedAt ?? watermark });
		}
		return {
			records,
			deleted,
			cursor: JSON.stringify({ t: watermark, ids: [...keysAtWatermark] } satisfies SalesforceCursor),
			hasMore: result.records.length >= pageSize + cursor.ids.length,
		};
	}

	async describeFields(entity: EntityType): Promise<FieldDescription[]> {
		const object = OBJECTS[entity];
		const describe = (await this.call('describe', (c) => c.sobject(object).describe())) as unknown as {
			fields: Array<{
				name: string;
				label: string;
				type: string;
				custom: boolean;
				nillable: boolean;
				createable: boolean;
				updateable: boolean;
				defaultedOnCreate: boolean;
				externalId?: boolean;
				idLookup?: boolean;
				unique?: boolean;
				picklistValues?: Array<{ value: string; label: string; active?: boolean }>;
				referenceTo?: string[];
			}>;
		};
		return describe.fields.map((f) => ({
			name: f.name,
			label: f.label,
			type: salesforceFieldType(f.type),
			crmType: f.type,
			custom: Boolean(f.custom),
			required: !f.nillable && f.createable && !f.defaultedOnCreate && f.type !== 'boolean',
			readOnly: !f.createable && !f.updateable,
			unique: Boolean(f.externalId || f.unique || f.name === 'Id'),
			options: f.picklistValues?.length ? f.picklistValues.filter((p) => p.active !== false).map((p) => ({ value: p.value, label: p.label })) : undefined,
			referenceTo: f.referenceTo?.length ? f.referenceTo : undefined,
		}));
	}

	/**
	 * SOQL on OpportunityStage: one list for the org (record types' sales processes only narrow
	 * it per record, so there is no pipeline). `id` is ApiName, the value Opportunity.StageName
	 * holds (MasterLabel before API 36 and when ApiName is empty). Inactive stages are left out:
	 * CrmStage has no flag for them and Salesforce rejects them on write.
	 */
	async listStages(): Promise<CrmStage[]> {
		const rows = await this.queryRecords('stages', 'SELECT Id, ApiName, MasterLabel, IsActive, IsClosed, IsWon, DefaultProbability, SortOrder FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder ASC');
		return rows
			.sort((a, b) => Number(a.SortOrder ?? 0) - Number(b.SortOrder ?? 0))
			.map((row, order) => {
				const probability = row.DefaultProbability === null || row.DefaultProbability === undefined ? undefined : Number(row.DefaultProbability);
				return {
					id: String(row.ApiName || row.MasterLabel),
					label: String(row.MasterLabel ?? row.ApiName),
					outcome: isTrue(row.IsWon) ? 'won' : isTrue(row.IsClosed) ? 'lost' : 'open',
					probability: probability === undefined || Number.isNaN(probability) ? undefined : probability,
					order,
				};
			});
	}

	/**
	 * SOQL on User, standard users only: the Automated Process user and guest or portal users
	 * (other UserTypes) are not the owners sync maps by e-mail. E-mail falls back to Username.
	 */
	async listUsers(): Promise<CrmUser[]> {
		const rows = await this.queryRecords('users', "SELECT Id, Email, Name, IsActive, Username FROM User WHERE UserType = 'Standard' ORDER BY Id ASC");
		return rows.map((row) => ({
			id: row.Id,
			email: typeof row.Email === 'string' && row.Email ? row.Email.toLowerCase() : typeof row.Username === 'string' ? row.Username.toLowerCase() : undefined,
			name: typeof row.Name === 'string' ? row.Name : undefined,
			active: isTrue(row.IsActive),
		}));
	}

	/**
	 * The org's currencies, read once per connector (a failed read is tried again next time).
	 * SOAP getUserInfo says whether the org has multiple currencies (organizationMultiCurrency)
	 * and, when it has one, which (orgDefaultCurrencyIsoCode: "applicable only when
	 * organizationMultiCurrency is false"; a single-currency org has no CurrencyType object and no
	 * CurrencyIsoCode field). A multi-currency org: SOQL on CurrencyType, the corporate currency
	 * (IsCorporate) as default, the active ones (IsActive) as enabled; inactive currencies are
	 * left out, as Salesforce refuses them in a record's CurrencyIsoCode.
	 */
	listCurrencies(): Promise<CrmCurrencies> {
		return this.currencies();
	}

	private async readCurrencies(): Promise<CrmCurrencies> {
		const info = await this.userInfo();
		if (!isTrue(info.organizationMultiCurrency)) {
			const code = isoCode(info.orgDefaultCurrencyIsoCode);
			if (!code) throw new CrmError('Salesforce: getUserInfo named no orgDefaultCurrencyIsoCode for a single-currency org', 'salesforce', 'fatal', { body: info });
			return { default: code, enabled: [code] };
		}
		const rows = await this.queryRecords('currencies', 'SELECT IsoCode, IsActive, IsCorporate FROM CurrencyType ORDER BY IsoCode ASC');
		const corporate = isoCode(rows.find((r) => isTrue(r.IsCorporate))?.IsoCode);
		if (!corporate) throw new CrmError('Salesforce: the org has multiple currencies but CurrencyType names no corporate currency', 'salesforce', 'fatal', { body: rows });
		const active = rows.filter((r) => isTrue(r.IsActive)).map((r) => isoCode(r.IsoCode)).filter((c): c is string => c !== undefined && c !== corporate);
		return { default: corporate, enabled: [corporate, ...new Set(active)] };
	}

	/**
	 * `Website LIKE '%acme.com%'` OR-ed per domain (Website is free text: a URL, www., a path, any
	 * case), then only records whose normalised website is one of the domains.
	 */
	async findAccountsByDomain(domains: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = domainKeys(domains);
		const clauses = [...wanted].map((d) => `Website LIKE ${soqlLike('%', d, '%')}`);
		const found = await this.findAccounts(clauses, options, ['Website']);
		return found.filter((r) => wanted.has(normaliseDomain(r.fields.Website) ?? ''));
	}

	/**
	 * `Name LIKE 'acme%'` (and 'the acme%') for the first word of each name, as typed and as
	 * normaliseCompany folds it (LIKE ignores case; accents and punctuation are matched as
	 * stored), then only the records whose normalised name equals one of the normalised names.
	 * A name typed without accents does not find one stored with them.
	 */
	async findAccountsByName(names: string[], options: ReadOptions = {}): Promise<CrmRecord[]> {
		const wanted = new Set<string>();
		const prefixes = new Set<string>();
		for (const name of names) {
			const normalised = normaliseCompany(name);
			if (!normalised) continue;
			wanted.add(normalised);
			for (const word of firstWords(String(name), normalised)) prefixes.add(word.toLowerCase());
		}
		const clauses = [...prefixes].flatMap((p) => [`Name LIKE ${soqlLike('', p, '%')}`, `Name LIKE ${soqlLike('the ', p, '%')}`]);
		const found = await this.findAccounts(clauses, options, ['Name']);
		return found.filter((r) => wanted.has(normaliseCompany(r.fields.Name) ?? ''));
	}

	async testConnection(): Promise<void> {
		await this.call('limits', (c) => c.request(`/services/data/v${this.version}/limits`));
	}

	// ---- internals -------------------------------------------------------------------------------

	/** Every row of a SOQL query: jsforce follows nextRecordsUrl (autoFetch) within one transport call. */
	private async queryRecords(label: string, soql: string): Promise<SfRecord[]> {
		const result = (await this.call(label, async (c) => (await c.query(soql, { autoFetch: true, maxFetch: QUERY_MAX_FETCH })) as unknown)) as { records: SfRecord[] };
		return result.records;
	}

	/** Accounts matching any of `clauses` (OR-ed, as few queries as WHERE_CHARS allows), each record once. */
	private async findAccounts(clauses: string[], options: ReadOptions, needed: string[]): Promise<CrmRecord[]> {
		const fields = [...new Set(['Id', ...(await this.fields('Account', options)), ...needed])];
		const byId = new Map<string, CrmRecord>();
		for (const group of chunkByLength(clauses, WHERE_CHARS)) {
			const soql = `SELECT ${fields.join(', ')} FROM Account WHERE ${group.join(' OR ')} ORDER BY Id ASC`;
			for (const row of await this.queryRecords('accounts', soql)) if (!byId.has(row.Id)) byId.set(row.Id, toRecord(row));
		}
		return [...byId.values()];
	}

	private call<T>(label: string, op: (conn: Connection) => Promise<T>, idempotent = true): Promise<T> {
		return this.transport.call(
			label,
			(token) => {
				const slot: { status?: number } = {};
				return responseSlot.run(slot, async () => {
					this.conn.accessToken = token ?? '';
					try {
						return await op(this.conn);
					} catch (error) {
						if (error && typeof error === 'object' && slot.status !== undefined) (error as { httpStatus?: number }).httpStatus = slot.status;
						throw error;
					}
				});
			},
			{ idempotent },
		);
	}

	/** `settleUnanswered`: a create that got no answer may have landed; SOQL reads its own writes, so one more lookup tells. */
	private async searchThenWrite(entity: EntityType, matchKey: string, records: Array<UpsertRequest & { key: string }>, settleUnanswered = true): Promise<WriteOutcome[]> {
		const lastByKey = new Map<string, UpsertRequest & { key: string }>();
		for (const r of records) lastByKey.set(r.key, r);
		const written = [...new Set([...lastByKey.values()].flatMap((r) => Object.keys(r.fields)))];
		const existing = new Map<string, CrmRecord>();
		for (const found of await this.search(entity, matchKey, [...lastByKey.keys()], { fields: written })) {
			const key = normaliseKey(matchKey, found.fields[matchKey]);
			if (!existing.has(key)) existing.set(key, found);
		}
		const results = new Map<number, WriteOutcome>();
		const toCreate: Array<UpsertRequest & { key: string }> = [];
		const toUpdate: UpdateRequest[] = [];
		for (const r of lastByKey.values()) {
			const found = existing.get(r.key);
			if (!found) toCreate.push(r);
			else if (sameValues(r.fields, found.fields)) results.set(r.ref, { ref: r.ref, status: 'unchanged', id: found.id });
			else toUpdate.push({ ref: r.ref, id: found.id, fields: omitKey(r.fields, matchKey) });
		}
		for (const o of [...(await this.createOrSettle(entity, matchKey, toCreate, settleUnanswered)), ...(await this.update(entity, toUpdate))]) results.set(o.ref, o);
		return records.map((r) => ({ ...results.get(lastByKey.get(r.key)!.ref)!, ref: r.ref }));
	}

	private async createOrSettle(entity: EntityType, matchKey: string, records: Array<UpsertRequest & { key: string }>, settleUnanswered: boolean): Promise<WriteOutcome[]> {
		try {
			return await this.create(entity, records.map(({ ref, fields }) => ({ ref, fields })));
		} catch (error) {
			if (!settleUnanswered || !isUnanswered(error)) throw error;
			// Found as sent: the unanswered create landed.
			return (await this.searchThenWrite(entity, matchKey, records, false)).map((o) => (o.status === 'unchanged' ? { ...o, status: 'created' } : o));
		}
	}

	/**
	 * The fields a read asks for: the caller's, else the standard set. A single-currency org has
	 * no CurrencyIsoCode (selecting it is INVALID_FIELD), so a read leaves it out there rather
	 * than fail; the record is in the org's currency (listCurrencies). Writes keep it: Salesforce
	 * refuses it, and dropping it would put the amount in another currency.
	 */
	private async fields(object: string, options: ReadOptions): Promise<string[]> {
		const fields = options.fields?.length ? options.fields : DEFAULT_FIELDS[object];
		fields.forEach(assertFieldName);
		if (!fields.some(isCurrencyField) || isTrue((await this.userInfo()).organizationMultiCurrency)) return fields;
		return fields.filter((f) => !isCurrencyField(f));
	}

	/** SOAP getUserInfo, once per connector (a failed call is made again next time). */
	private userInfo(): Promise<UserInfo> {
		this.userInfoValue ??= this.call('userInfo', async (c) => (await c.soap.getUserInfo()) as unknown as UserInfo).catch((error: unknown) => {
			this.userInfoValue = undefined;
			throw error;
		});
		return this.userInfoValue;
	}

	/** refresh_token or client_credentials grant against {loginUrl}/services/oauth2/token. */
	private async fetchToken(current: AccessToken | undefined): Promise<AccessToken> {
		const form: Record<string, string> =
			this.config.grant === 'refresh_token'
				? { grant_type: 'refresh_token', refresh_token: current?.refreshToken ?? this.config.refreshToken ?? '', client_id: this.config.clientId ?? '', client_secret: this.config.clientSecret ?? '' }
				: { grant_type: 'client_credentials', client_id: this.config.clientId ?? '', client_secret: this.config.clientSecret ?? '' };
		try {
			const response = await httpRequest<{ access_token: string; instance_url?: string; refresh_token?: string }>({
				method: 'POST',
				url: `${this.config.loginUrl.replace(/\/+$/, '')}/services/oauth2/token`,
				form,
				timeoutMs: 30_000,
			});
			// jsforce re-points to the instance the token belongs to, as its own _establish does.
			if (response.body.instance_url) this.conn.instanceUrl = response.body.instance_url.replace(/\/+$/, '');
			return { accessToken: response.body.access_token, refreshToken: response.body.refresh_token, extra: { instance_url: response.body.instance_url } };
		} catch (error) {
			if (error instanceof HttpStatusError && error.status < 500) {
				const body = error.body as { error?: string; error_description?: string } | undefined;
				throw new CrmError(`Salesforce: token request failed: ${body?.error_description ?? body?.error ?? `HTTP ${error.status}`}`, 'salesforce', 'auth', { httpStatus: error.status, code: body?.error, body });
			}
			throw classifyGeneric('salesforce', error, error instanceof HttpStatusError ? error.status : undefined);
		}
	}
}

/** Salesforce's signals (crm-wire §1, §6) → CrmError. 403 REQUEST_LIMIT_EXCEEDED is the throttle, not an auth error. */
export function classifySalesforceError(error: unknown): CrmError {
	if (error instanceof CrmError) return error;
	const e = error as { errorCode?: string; name?: string; message?: string; httpStatus?: number; data?: unknown };
	const code = typeof e?.errorCode === 'string' ? e.errorCode : undefined;
	const status = e?.httpStatus;
	if (!code && status === undefined) return classifyGeneric('salesforce', error);
	const message = `Salesforce: ${e.message ?? code}`;
	const details = { httpStatus: status, code, body: e.data, cause: error };
	if (code === 'REQUEST_LIMIT_EXCEEDED') return new CrmError(message, 'salesforce', 'rate_limit', details);
	if (code?.includes('INVALID_SESSION_ID') || status === 401) return new CrmError(message, 'salesforce', 'auth', details);
	if ((status !== undefined && status >= 500) || code === 'SERVER_UNAVAILABLE' || /^ERROR_HTTP_5\d\d$/.test(code ?? '')) return new CrmError(message, 'salesforce', 'transient', details);
	if (status === 403) return new CrmError(message, 'salesforce', 'auth', details);
	if (status === 429) return new CrmError(message, 'salesforce', 'rate_limit', details);
	if (status !== undefined && status >= 400) return new CrmError(message, 'salesforce', 'validation', details);
	if (code === 'NOT_FOUND' || code === 'MULTIPLE_CHOICES' || code === 'MALFORMED_QUERY' || code === 'INVALID_FIELD' || code === 'INVALID_TYPE') {
		return new CrmError(message, 'salesforce', 'validation', details);
	}
	if (status === undefined) {
		const generic = classifyGeneric('salesforce', error);
		if (generic.category === 'transient') return generic;
	}
	return new CrmError(message, 'salesforce', 'fatal', details);
}

/**
 * Makes jsforce's fetch layer never retry, abort a request when its transport attempt times out,
 * and record each response status for classification. jsforce takes no AbortSignal; it aborts its
 * own fetch after `timeout` ms, so it gets the time the attempt has left.
 */
function hookJsforceTransport(conn: Connection): void {
	const transport = (conn as unknown as { _transport: { httpRequest: (req: unknown, options?: Record<string, unknown>) => Promise<{ statusCode?: number }> } })._transport;
	const original = transport.httpRequest.bind(transport);
	transport.httpRequest = (req, options = {}) => {
		const attempt = currentAttempt();
		const timeout = attempt ? { timeout: Math.max(1, attempt.deadline - Date.now()) } : {};
		const promise = original(req, { ...options, ...timeout, retry: { ...(options.retry as object), maxRetries: 0 } });
		const slot = responseSlot.getStore();
		if (slot) promise.then((res) => (slot.status = res?.statusCode), () => undefined);
		return promise;
	};
}

/**
 * isolateFailures, keeping what a rejected single record's error says: a top-level REST error
 * `[{message, errorCode, fields}]` names the offending fields (error-required-field-missing-recorded.json),
 * which the generic failure outcome would drop.
 */
async function isolate<T extends { ref: number }>(batch: T[], write: (part: T[]) => Promise<WriteOutcome[]>): Promise<WriteOutcome[]> {
	return isolateFailures(batch, async (part) => {
		try {
			return await write(part);
		} catch (error) {
			if (part.length !== 1 || !(error instanceof CrmError) || error.category !== 'validation') throw error;
			const bodies = ([] as unknown[]).concat(error.body ?? []) as Array<{ fields?: unknown }>;
			const fields = bodies.flatMap((b) => (b && Array.isArray(b.fields) ? b.fields.filter((f): f is string => typeof f === 'string') : []));
			return [{ ref: part[0].ref, status: 'failed', category: 'validation', code: error.code, message: error.message, fields: fields.length ? fields : undefined }];
		}
	});
}

function saveOutcome(ref: number, result: SaveResult | undefined, status: 'created' | 'updated' | 'deleted', knownId?: string): WriteOutcome {
	if (!result) return { ref, status: 'failed', category: 'fatal', message: 'Salesforce returned fewer results than records' };
	if (result.success) return { ref, status, id: result.id ?? knownId ?? '' };
	const errors = result.errors ?? [];
	const code = errors[0]?.statusCode ?? errors[0]?.errorCode;
	const fields = errors.flatMap((e) => e.fields ?? []);
	return {
		ref,
		status: 'failed',
		category: code === 'REQUEST_LIMIT_EXCEEDED' ? 'rate_limit' : 'validation',
		code,
		message: errors.map((e) => e.message).join('; ') || 'Salesforce rejected the record',
		fields: fields.length ? fields : undefined,
	};
}

/**
 * Codes of a delete whose record is gone: in the recycle bin (ENTITY_IS_DELETED), or an id that
 * names no record (INVALID_CROSS_REFERENCE_KEY: a delete's only reference is the record id).
 */
const GONE_CODES = new Set(['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'NOT_FOUND']);

/** The NOT_FOUND outcome when Salesforce refused a delete because the record is not there. */
function missingRecord(ref: number, result: SaveResult | undefined): WriteOutcome | undefined {
	const error = result && !result.success ? result.errors?.[0] : undefined;
	const code = error?.statusCode ?? error?.errorCode;
	return code && GONE_CODES.has(code) ? notFound(ref, `Salesforce: ${error?.message ?? code} (${code})`) : undefined;
}

interface LeadConvertResult {
	accountId?: string | null;
	contactId?: string | null;
	leadId?: string | null;
	success: boolean | string;
	errors?: unknown;
}

/** A lead Salesforce reports converted already: what it became (the request's ids where Salesforce leaves them empty). */
function convertedAlready(r: ConvertLeadRequest, lead: SfRecord): ConvertLeadSuccess {
	const contactId = typeof lead.ConvertedContactId === 'string' && lead.ConvertedContactId !== '' ? lead.ConvertedContactId : r.contactId;
	const accountId = typeof lead.ConvertedAccountId === 'string' && lead.ConvertedAccountId !== '' ? lead.ConvertedAccountId : r.accountId;
	return { ref: r.ref, status: 'unchanged', id: r.id, contactId, ...(accountId ? { accountId } : {}) };
}

/** A 15- or 18-character Salesforce record id. */
function isSalesforceId(id: string): boolean {
	return /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id);
}

function toRecord(row: SfRecord): CrmRecord {
	const fields: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(row)) if (k !== 'attributes' && k !== 'Id') fields[k] = v;
	return { id: row.Id, fields, modifiedAt: toIso(row.LastModifiedDate ?? row.SystemModstamp), createdAt: toIso(row.CreatedDate) };
}

/** Salesforce datetimes come as 2024-01-01T10:00:00.000+0000. */
function toIso(value: unknown): string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const ms = Date.parse(String(value).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
	return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** SOQL datetime literal floored to the second (the precision SOQL filters reliably on). */
function floorSecond(value: string): string {
	const iso = toIso(value);
	if (!iso) throw new CrmError(`Salesforce: invalid timestamp ${JSON.stringify(value)}`, 'salesforce', 'validation');
	return `${iso.slice(0, 19)}Z`;
}

/** Fields as Salesforce takes them: no Id/attributes, Dates as ISO. */
function sfFields(fields: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(fields)) {
		if (k === 'Id' || k === 'attributes' || v === undefined) continue;
		out[k] = v instanceof Date ? v.toISOString() : v;
	}
	return out;
}

function omitKey(fields: Record<string, unknown>, key: string): Record<string, unknown> {
	const copy = { ...fields };
	delete copy[key];
	return copy;
}

/** Input values equal to what Salesforce holds (strings compared as text, emails case-insensitively). */
function sameValues(input: Record<string, unknown>, stored: Record<string, unknown>): boolean {
	for (const [k, v] of Object.entries(input)) {
		if (v === undefined) continue;
		const a = v === null || v === '' ? null : v;
		const b = stored[k] === undefined || stored[k] === '' ? null : stored[k];
		if (a === null || b === null) {
			if (a !== b) return false;
			continue;
		}
		if (/email/i.test(k) ? String(a).toLowerCase() !== String(b).toLowerCase() : String(a) !== String(b)) return false;
	}
	return true;
}

function normaliseKey(matchKey: string, value: unknown): string {
	const text = String(value ?? '').trim();
	return /email/i.test(matchKey) ? text.toLowerCase() : text;
}

function isTrue(value: unknown): boolean {
	return value === true || value === 'true';
}

/** The record currency field of a multi-currency org (API names are case-insensitive). */
function isCurrencyField(name: string): boolean {
	return name.toLowerCase() === 'currencyisocode';
}

/** A currency code upper-cased, undefined when empty. */
function isoCode(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() !== '' ? value.trim().toUpperCase() : undefined;
}

/** A quoted LIKE pattern: `term` matches itself (quotes, backslashes and the wildcards % _ escaped) between `before` and `after`. */
function soqlLike(before: string, term: string, after: string): string {
	return `'${before}${term.replace(/[\\'%_]/g, (c) => `\\${c}`)}${after}'`;
}

/**
 * Search prefixes for a company name: its first word as typed (without a leading "The" and
 * trailing punctuation), the same without accents, and the first word normaliseCompany keeps.
 */
function firstWords(name: string, normalised: string): string[] {
	const words = name.trim().split(/\s+/);
	if (words.length > 1 && words[0].toLowerCase() === 'the') words.shift();
	const typed = (words[0] ?? '').replace(/[.,;:!?)]+$/, '');
	const unaccented = typed.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
	return [...new Set([typed, unaccented, normalised.split(' ')[0]])].filter((w) => w.length > 0);
}

/** Groups of items whose joined length (with ' OR ') stays under `max` (an item longer than that goes alone). */
function chunkByLength(items: string[], max: number): string[][] {
	const groups: string[][] = [];
	let current: string[] = [];
	let length = 0;
	for (const item of items) {
		if (current.length && length + item.length + 4 > max) {
			groups.push(current);
			current = [];
			length = 0;
		}
		current.push(item);
		length += item.length + 4;
	}
	if (current.length) groups.push(current);
	return groups;
}

function soqlString(value: string): string {
	return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function assertFieldName(name: string): void {
	if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/.test(name)) throw new CrmError(`Salesforce: invalid field name ${JSON.stringify(name)}`, 'salesforce', 'validation', { code: 'INVALID_FIELD' });
}

/** Activities: Event ids start with 00U; everything else of the activity entity is a Task. */
function objectForId(entity: EntityType, id: string): string {
	if (entity === 'activity' && id.startsWith('00U')) return 'Event';
	return OBJECTS[entity];
}

function groupByObject(entity: EntityType, records: CreateRequest[]): Map<string, CreateRequest[]> {
	return groupBy(records, (r) => (entity === 'activity' && r.fields.StartDateTime !== undefined ? 'Event' : OBJECTS[entity]));
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

function salesforceFieldType(type: string): FieldType {
	switch (type) {
		case 'email':
		case 'phone':
		case 'url':
		case 'currency':
		case 'percent':
		case 'boolean':
		case 'date':
		case 'datetime':
		case 'picklist':
		case 'multipicklist':
		case 'reference':
		case 'id':
			return type;
		case 'double':
		case 'int':
		case 'long':
			return 'number';
		case 'string':
			return 'string';
		case 'textarea':
			return 'text';
		default:
			return 'other';
	}
}
