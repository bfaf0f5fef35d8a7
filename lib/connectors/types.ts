// The CrmConnector contract: one implementation per CRM (hubspot.ts, salesforce.ts, pipedrive.ts,
// zoho.ts, dynamics.ts), all built on lib/http's Transport (limits, retries, token refresh).
//
// Conventions every implementation follows:
// - Fields are the CRM's own API names (the Field Mapper / lib/mapping produce them).
// - Entities map to the CRM's objects: contact, lead, account (company/organization),
//   opportunity (deal), activity (task/engagement). A CRM without an object for an entity
//   (HubSpot and Pipedrive have no lead object in this release) throws NotImplementedError.
// - Batch methods take `ref`-tagged requests and return exactly one outcome per request,
//   sorted by ref. A problem with one record is a WriteFailure outcome, never a throw; a
//   throw (CrmError) means the whole call failed (auth, throttled past the retry budget, outage).
// - Batches are split internally at the CRM's maximum (maxBatchSize); callers may pass any length.
// - Nothing is ever faked: an operation the CRM or this release cannot do throws NotImplementedError.

import type { CrmName, EntityType } from '../model';
import type { StateStore } from '../state/types';
import type { RateLimitSpec, RetryPolicy, TransportEvent } from '../http';
import { CrmError, UNANSWERED_CODES, type ErrorCategory } from '../http/errors';

export { CrmError, type ErrorCategory };

/** Fields exactly as the CRM's API names them. */
export type CrmFields = Record<string, unknown>;

/** A record read from the CRM. */
export interface CrmRecord {
	id: string;
	fields: CrmFields;
	/** Last modification time in the CRM (ISO-8601), when the CRM reports it. */
	modifiedAt?: string;
	/** Creation time (ISO-8601), when reported. */
	createdAt?: string;
}

// ---------------------------------------------------------------- writes

export interface UpsertRequest {
	/** Caller's index for the record, echoed in its outcome so results pair back to input items. */
	ref: number;
	fields: CrmFields;
}

export interface CreateRequest {
	ref: number;
	fields: CrmFields;
}

export interface UpdateRequest {
	ref: number;
	/** The CRM record id. */
	id: string;
	fields: CrmFields;
}

export interface DeleteRequest {
	ref: number;
	id: string;
}

export interface DeleteOptions {
	/** GDPR erasure: permanently delete personal data where the CRM offers a dedicated endpoint. */
	erase?: boolean;
}

export interface MergeRequest {
	ref: number;
	/** The surviving record. */
	masterId: string;
	/** Records merged into the master (Salesforce: at most 2 per request; HubSpot/Pipedrive: 1 per call, chained). */
	mergeIds: string[];
}

export interface WriteFailure {
	ref: number;
	status: 'failed';
	/** The CRM's own message where there is one. */
	message: string;
	category: ErrorCategory;
	/** The CRM's own error code or category, e.g. INVALID_EMAIL_ADDRESS or VALIDATION_ERROR. */
	code?: string;
	/** Field names the CRM blamed, when it says. */
	fields?: string[];
}

export interface WriteSuccess {
	ref: number;
	/** unchanged: not written because the CRM already holds these values. deleted/merged: see those operations. */
	status: 'created' | 'updated' | 'unchanged' | 'deleted' | 'merged';
	/** The CRM record id (for merges: the master's id). */
	id: string;
	/** Merge only: the ids that were merged into `id`. */
	mergedIds?: string[];
}

export type WriteOutcome = WriteSuccess | WriteFailure;

/**
 * Code of a delete outcome whose record the CRM does not have (any more): never there, or already
 * deleted, e.g. by an earlier attempt whose reply was lost. Every connector reports it alike
 * (a WriteFailure, category validation, the CRM's own message); callers decide whether that counts
 * as done.
 */
export const NOT_FOUND = 'NOT_FOUND';

/** The delete outcome of a record the CRM does not have (see NOT_FOUND). */
export function notFound(ref: number, message: string): WriteFailure {
	return { ref, status: 'failed', category: 'validation', code: NOT_FOUND, message };
}

/** True for a delete outcome that says the record is already gone. */
export function isNotFound(outcome: WriteOutcome): boolean {
	return outcome.status === 'failed' && outcome.code === NOT_FOUND;
}

/** True for a write that got no answer (timed out, connection broke): it may have landed. */
export function isUnansweredOutcome(outcome: WriteOutcome): boolean {
	return outcome.status === 'failed' && UNANSWERED_CODES.has(outcome.code);
}

// ---------------------------------------------------------------- lead conversion

export interface ConvertLeadRequest {
	ref: number;
	/** The lead's id in this CRM (HubSpot: the contact that holds the lead). */
	id: string;
	/** This CRM's contact (person) the lead becomes. */
	contactId: string;
	/** This CRM's account of that contact, when the source's conversion had one. */
	accountId?: string;
	/** The source's conversion made an opportunity (HubSpot: lifecycle stage opportunity, else sales-qualified lead). */
	withOpportunity?: boolean;
}

export interface ConvertLeadSuccess {
	ref: number;
	/** unchanged: the lead was converted already. */
	status: 'converted' | 'unchanged';
	/** The lead's id. */
	id: string;
	contactId: string;
	accountId?: string;
}

export type ConvertLeadOutcome = ConvertLeadSuccess | WriteFailure;

// ---------------------------------------------------------------- reads

/** How records are looked up: the CRM's field for a unified key, or any CRM field. */
export type MatchKind = 'email' | 'phone' | 'externalId';

export interface ReadOptions {
	/** CRM field names to return; default: the connector's standard set for the entity. */
	fields?: string[];
}

export interface ListChangesOptions extends ReadOptions {
	/** Opaque cursor returned by the previous page (or stored by the trigger). */
	cursor?: string;
	/** Start time (ISO) when there is no cursor yet. Default: the epoch (everything). */
	since?: string;
	/** Records per page; connector caps it at the CRM's maximum. */
	pageSize?: number;
	/** Also report deletions (Salesforce queryAll IsDeleted, HubSpot archived...). Default true. */
	includeDeleted?: boolean;
}

export interface ChangedRecord extends CrmRecord {
	/** Always set for changes: the time the cursor advances on. */
	modifiedAt: string;
}

export interface DeletedRecord {
	id: string;
	/** ISO time of the deletion, when known. */
	deletedAt?: string;
	/** Set when the record disappeared because it was merged into this id. */
	mergedInto?: string;
}

export interface ChangePage {
	/** Changed (created or updated) records, oldest first, each id at most once per page. */
	records: ChangedRecord[];
	deleted: DeletedRecord[];
	/** Pass back as `cursor` for the next page. Store it only after the page was processed. */
	cursor: string;
	/** True when the CRM has more changes right now; false when caught up. */
	hasMore: boolean;
}

export type FieldType =
	| 'string'
	| 'text'
	| 'email'
	| 'phone'
	| 'url'
	| 'number'
	| 'currency'
	| 'percent'
	| 'boolean'
	| 'date'
	| 'datetime'
	| 'picklist'
	| 'multipicklist'
	| 'reference'
	| 'id'
	| 'other';

export interface FieldDescription {
	/** API name as used in CrmFields. */
	name: string;
	label: string;
	type: FieldType;
	/** The CRM's own type name (e.g. Salesforce 'email', HubSpot 'string/text'). */
	crmType: string;
	/** Custom (user-defined) field: Salesforce __c, HubSpot non-HubSpot-defined, Zoho custom_field... */
	custom: boolean;
	/** Required on create. */
	required: boolean;
	/** Cannot be written through the API. */
	readOnly: boolean;
	/** Unique / usable as an upsert match key (Salesforce externalId or idLookup, HubSpot hasUniqueValue). */
	unique: boolean;
	/** Allowed values for picklists. */
	options?: Array<{ value: string; label: string }>;
	/** Reference targets (Salesforce referenceTo...). */
	referenceTo?: string[];
}

// ---------------------------------------------------------------- metadata: stages, users, currencies

/** The currencies of a CRM account. */
export interface CrmCurrencies {
	/** The account's own currency (corporate / company / home / base currency), ISO 4217 upper case. */
	default: string;
	/** Every currency a deal can carry, the default included; only the default in a single-currency account. */
	enabled: string[];
}

/** A deal stage as the CRM defines it, in its pipeline. */
export interface CrmStage {
	/** What the opportunity's stage field holds for this stage (HubSpot/Pipedrive stage id, Salesforce StageName, Zoho Stage value, Dynamics salesstage option value). */
	id: string;
	label: string;
	/** The pipeline (HubSpot pipeline id, Pipedrive pipeline id); undefined where the CRM has one list (Salesforce, Zoho, Dynamics). */
	pipelineId?: string;
	pipelineLabel?: string;
	/**
	 * What reaching the stage means: still open, won or lost, as the CRM flags it (HubSpot
	 * metadata isClosed + probability, Salesforce IsClosed/IsWon, Zoho forecast type). Pipedrive
	 * stages are all open (won/lost is the deal's status); Dynamics adds the won and lost states.
	 */
	outcome: 'open' | 'won' | 'lost';
	/** Win probability in percent (0–100) where the CRM keeps one. */
	probability?: number;
	/** Position in its pipeline, 0 first. */
	order: number;
}

/** A CRM user who can own records. */
export interface CrmUser {
	/** The id the record's owner field holds. */
	id: string;
	/** Lower-cased login or e-mail address, the key owners are mapped by across CRMs. */
	email?: string;
	name?: string;
	active: boolean;
}

// ---------------------------------------------------------------- the connector

export type WriteOperation = 'create' | 'update' | 'upsert' | 'delete' | 'merge';

/** One CRM behind one set of credentials. */
export interface CrmConnector {
	readonly crm: CrmName;
	/** Which account the connector works on (credentialKey()): what is cached per account, e.g. its metadata, is keyed by it. */
	readonly credentialKey: string;

	/** Largest batch the CRM accepts for `operation` on `entity` (1 for CRMs without batch writes). */
	maxBatchSize(entity: EntityType, operation?: WriteOperation): number;

	/** The CRM field used for a unified match kind (e.g. HubSpot contact email → 'email', Salesforce → 'Email'); undefined when the entity has none. */
	matchField(entity: EntityType, kind: MatchKind): string | undefined;

	/** Reads one record by CRM id; undefined when it does not exist (or is deleted). */
	get(entity: EntityType, id: string, options?: ReadOptions): Promise<CrmRecord | undefined>;

	/**
	 * Records whose `field` equals one of `values` (exact match; emails case-insensitively as the
	 * CRMs compare them). Used for match-key lookups: email, phone, an external-id field.
	 */
	search(entity: EntityType, field: string, values: string[], options?: ReadOptions): Promise<CrmRecord[]>;

	/** Creates each record. */
	create(entity: EntityType, records: CreateRequest[]): Promise<WriteOutcome[]>;

	/** Updates each record by CRM id (only the given fields). */
	update(entity: EntityType, records: UpdateRequest[]): Promise<WriteOutcome[]>;

	/**
	 * Inserts or updates each record, matched on `matchKey` (a CRM field name; its value must be in
	 * the record's fields). Uses the CRM's native upsert where it has one for that key, otherwise
	 * search + create/update. Records in one call sharing a key value: the last one wins.
	 */
	upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]>;

	/**
	 * Deletes each record by CRM id (moves to the CRM's recycle bin where it has one). A record the
	 * CRM does not have (any more) gets the notFound() outcome (code NOT_FOUND). With
	 * `erase`, uses the CRM's GDPR/permanent delete where it has one (HubSpot contacts: gdpr-delete);
	 * elsewhere the normal delete. Connectors that ignore the option behave as a plain delete.
	 */
	delete(entity: EntityType, records: DeleteRequest[], options?: DeleteOptions): Promise<WriteOutcome[]>;

	/** Merges `mergeIds` into `masterId` for each request, with the CRM's own merge. */
	merge(entity: EntityType, requests: MergeRequest[]): Promise<WriteOutcome[]>;

	/**
	 * Carries a lead conversion made in another CRM: each lead becomes the contact (and account)
	 * that already stand for that person and company here. Never creates a contact, account or
	 * opportunity (the sync carries the source's own). Salesforce convertLead, Zoho convert,
	 * Dynamics QualifyLead, Pipedrive: the lead archived; HubSpot: the lead's contact moved on in
	 * its lifecycle. A lead converted already answers `unchanged`.
	 */
	convertLeads(requests: ConvertLeadRequest[]): Promise<ConvertLeadOutcome[]>;

	/** One page of records changed since the cursor (see ListChangesOptions), paging past the CRM's caps. */
	listChanges(entity: EntityType, options?: ListChangesOptions): Promise<ChangePage>;

	/** Live field metadata for the entity, custom fields included. */
	describeFields(entity: EntityType): Promise<FieldDescription[]>;

	/** The opportunity stages of every pipeline, each flagged open, won or lost. */
	listStages(): Promise<CrmStage[]>;

	/** The users who can own records (active and inactive), with their e-mail addresses. */
	listUsers(): Promise<CrmUser[]>;

	/** The currencies deals can be written in: a single-currency account has its own currency only. */
	listCurrencies(): Promise<CrmCurrencies>;

	/**
	 * Accounts whose website is on one of `domains` (bare hosts as normaliseDomain gives them,
	 * e.g. "acme.com"). The CRM's value may be a URL with a scheme, "www." and a path: the
	 * connector searches broadly and keeps the records whose normalised website is one of them.
	 */
	findAccountsByDomain(domains: string[], options?: ReadOptions): Promise<CrmRecord[]>;

	/** Accounts whose name, normalised (normaliseCompany: case, accents, legal forms), equals one of `names`'. */
	findAccountsByName(names: string[], options?: ReadOptions): Promise<CrmRecord[]>;

	/**
	 * True where the two account lookups above query the records themselves (SOQL, OData) and see
	 * a write as soon as it is made, so an account an unanswered create should have made and they
	 * do not find was not made. Not where they go through a search index that lags behind writes.
	 */
	readonly accountLookupsSeeOwnWrites?: boolean;

	/** Resolves when the credentials work; rejects with a CrmError otherwise. */
	testConnection(): Promise<void>;
}

/**
 * What every connector's constructor takes besides its CRM credential values. All optional.
 */
export interface ConnectorRuntime {
	/** State store: when Redis, rate-limit budgets are shared across n8n workers through it. */
	store?: StateStore;
	/** Override the connector's default limits (per bucket, 'default' for most calls). */
	limits?: Record<string, RateLimitSpec>;
	retry?: Partial<RetryPolicy>;
	/** Per-attempt timeout in ms (default 60 s). */
	timeoutMs?: number;
	/**
	 * Marks our writes so the CRM's change feed shows they came from us (echo detection):
	 * Salesforce Sforce-Call-Options client=<marker>, HubSpot/Pipedrive/Dynamics where the API allows.
	 * Default 'n8n-crm-sync'.
	 */
	changeSourceMarker?: string;
	/** Transport observer (retries, throttles, refreshes). */
	onEvent?: (event: TransportEvent) => void;
}

export const DEFAULT_CHANGE_SOURCE_MARKER = 'n8n-crm-sync';

/** Thrown for a CRM, entity or operation this release does not support. */
export class NotImplementedError extends Error {
	constructor(what: string) {
		super(`${what} is not implemented yet`);
		this.name = 'NotImplementedError';
	}
}

/** Sorts outcomes by ref (the contract promises caller order). */
export function byRef<T extends { ref: number }>(outcomes: T[]): T[] {
	return outcomes.sort((a, b) => a.ref - b.ref);
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: T[], size: number): T[][] {
	const chunks: T[][] = [];
	for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
	return chunks;
}

/** Every request in `requests` fails with the same error (a whole-call failure reported per record). */
export function failAll(requests: Array<{ ref: number }>, error: CrmError): WriteFailure[] {
	return requests.map(({ ref }) => ({ ref, status: 'failed', message: error.message, category: error.category, code: error.code }));
}

/**
 * Runs a batch write; when the CRM rejects the whole batch as invalid (some CRMs answer 400 for
 * one bad record instead of a per-record error), splits it in halves and retries each, down to
 * single records, so one bad record fails alone and the rest is written. Other errors propagate.
 */
export async function isolateFailures<T extends { ref: number }>(batch: T[], write: (part: T[]) => Promise<WriteOutcome[]>): Promise<WriteOutcome[]> {
	try {
		return await write(batch);
	} catch (error) {
		if (!(error instanceof CrmError) || error.category !== 'validation') throw error;
		if (batch.length === 1) return failAll(batch, error);
		const middle = Math.ceil(batch.length / 2);
		return [...(await isolateFailures(batch.slice(0, middle), write)), ...(await isolateFailures(batch.slice(middle), write))];
	}
}

/** What each CRM's connector module exports as `create`: a connector from plain credential values. */
export type ConnectorFactory = (credentials: Record<string, unknown>, runtime?: ConnectorRuntime) => CrmConnector;
