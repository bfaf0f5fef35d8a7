// The inbound sync API (the user's own app as a sixth system), without n8n: validate a request
// `{entity_type, operation, data, options}` with every reason and its field path, then write it to
// one CRM through the UpsertWriter and report that CRM's result. The Unified CRM Upsert node's
// "Sync API Request" operation is a thin shell over this; bulk jobs use the same functions per page.
//
// Ids: the unified id is the id the app uses for the record (`data.id` as a string). A create
// without one gets a new UUID, returned to the caller. update/delete take `data.id` (unified id,
// resolved per CRM through the cross-reference) or a per-CRM id map `{"hubspot": "123", ...}`.
// merge takes `data.masterId` and `data.mergedIds` in the same two forms.

import { randomUUID } from 'node:crypto';
import type { CrmConnector } from '../connectors';
import { defaultMap, defaultMapping } from '../mapping';
import { textOf } from '../mapping/transformers';
import { CRM_NAMES, ENTITY_TYPES, isCrmName, isPrototypeKey, type CrmName, type EntityType } from '../model';
import type { StateStore } from '../state';
import { SYNC_API_BULK_COLLECTION } from './collections';
import { createOnce, planCreates } from './create-once';
import { UpsertWriter, type InputItem, type ItemResult, type WriteJob } from './upsert-writer';

export const SYNC_API_OPERATIONS = ['create', 'update', 'delete', 'merge'] as const;
export type SyncApiOperation = (typeof SYNC_API_OPERATIONS)[number];

export const SYNC_API_OPTIONS = ['skip_validation', 'force_update', 'trigger_workflows'] as const;
export type SyncApiOptions = Record<(typeof SYNC_API_OPTIONS)[number], boolean>;

/** A record id as the API takes it: the unified id, or the record's id in each CRM. */
export type IdRef = string | Partial<Record<CrmName, string>>;

/** A request that passed validation, normalised (booleans filled in, ids as strings). */
export interface SyncApiRequest {
	entity_type: EntityType;
	operation: SyncApiOperation;
	data: Record<string, unknown>;
	options: SyncApiOptions;
	/** update: every field equals the synced snapshot as it was before any CRM was written (see unchangedFlags). */
	unchanged?: boolean;
}

export interface Reason {
	/** Field path in the request, e.g. `data.email` or `records[3].data.id`. Empty: the whole body. */
	path: string;
	message: string;
}

/** A refusal lists its first reasons and counts them all (`reasonCount`). */
export type Validation<T> = { ok: true; value: T } | { ok: false; reasons: Reason[]; reasonCount: number };

/**
 * Reasons listed per refused request, and per invalid bulk record. A reply must not grow with the
 * body: one reason per unknown field of a 99 KB body made a 2.8 MB reply.
 */
export const MAX_REASONS = 100;
export const MAX_RECORD_REASONS = 20;
/** Paths and messages longer than this are cut (a field name or a value can be megabytes long). */
const MAX_REASON_CHARS = 500;

/** Bulk bodies above this are refused (the API accepts up to 10 MB). */
export const BULK_MAX_BYTES = 10 * 1024 * 1024;

const REQUEST_KEYS = ['entity_type', 'operation', 'data', 'options'];
const ID_KEYS = ['id', 'masterId', 'mergedIds'];

/** Unified field names per entity: every field any CRM's default map knows (lib/mapping). */
const unifiedFields = new Map<EntityType, Set<string>>();
function fieldsOf(entity: EntityType): Set<string> {
	let names = unifiedFields.get(entity);
	if (!names) {
		names = new Set(CRM_NAMES.flatMap((crm) => defaultMap(crm, entity).fields.map((f) => f.unified)));
		unifiedFields.set(entity, names);
	}
	return names;
}

const strictMapping = (crm: CrmName, entity: EntityType, create: boolean) => defaultMapping('fromUnified', crm, entity, { mode: 'strict', checkCrmRequired: create });

// ---- validation ---------------------------------------------------------------------------------

/**
 * Validates one sync request for the given CRMs. Every problem is reported, each with its path.
 * Field values are checked with the CRMs' default maps in strict mode (and, on create, the CRMs'
 * required fields), unless `options.skip_validation` is true; the envelope and ids always are.
 */
export function validateSyncRequest(raw: unknown, crms: readonly CrmName[]): Validation<SyncApiRequest> {
	const reasons: Reason[] = [];
	const body = parseText(raw);
	if (body instanceof SyntaxError) return refused([{ path: '', message: `the request body is not valid JSON: ${body.message}` }]);
	if (!isObject(body)) return refused([{ path: '', message: `the request body must be a JSON object; got ${kind(body)}` }]);
	for (const key of Object.keys(body)) if (!REQUEST_KEYS.includes(key)) reasons.push({ path: key, message: `is not allowed (a request has ${REQUEST_KEYS.join(', ')})` });
	const envelope = validateEnvelope(body, reasons);
	if (!('data' in body) || body.data === undefined || body.data === null) reasons.push({ path: 'data', message: 'is required (an object with the record fields)' });
	else if (!isObject(body.data)) reasons.push({ path: 'data', message: `must be an object; got ${kind(body.data)}` });
	if (envelope && isObject(body.data)) reasons.push(...validateData(envelope.entity, envelope.operation, body.data, envelope.options, crms, 'data'));
	if (reasons.length || !envelope) return refused(reasons);
	return { ok: true, value: { entity_type: envelope.entity, operation: envelope.operation, data: normaliseIds(body.data as Record<string, unknown>), options: envelope.options } };
}

/** A bulk body: `{entity_type, operation, options, records: [data, ...]}`. */
export interface BulkEnvelope {
	entity_type: EntityType;
	operation: SyncApiOperation;
	options: SyncApiOptions;
	records: unknown[];
}

/** Checks a bulk body's envelope (not its records; see validateBulkRecord). `bytes`: the body size. */
export function validateBulkEnvelope(raw: unknown, bytes: number): Validation<BulkEnvelope> {
	if (bytes > BULK_MAX_BYTES) return refused([{ path: '', message: `the body is ${bytes} bytes; the bulk API accepts up to ${BULK_MAX_BYTES} (10 MB)` }]);
	const body = parseText(raw);
	if (body instanceof SyntaxError) return refused([{ path: '', message: `the request body is not valid JSON: ${body.message}` }]);
	if (!isObject(body)) return refused([{ path: '', message: `the request body must be a JSON object; got ${kind(body)}` }]);
	const reasons: Reason[] = [];
	const allowed = ['entity_type', 'operation', 'options', 'records'];
	for (const key of Object.keys(body)) if (!allowed.includes(key)) reasons.push({ path: key, message: `is not allowed (a bulk request has ${allowed.join(', ')})` });
	const envelope = validateEnvelope(body, reasons);
	if (!Array.isArray(body.records)) reasons.push({ path: 'records', message: `is required: an array of record objects (each like a sync request's data); got ${kind(body.records)}` });
	else if (!body.records.length) reasons.push({ path: 'records', message: 'must not be empty' });
	if (reasons.length || !envelope) return refused(reasons);
	return { ok: true, value: { entity_type: envelope.entity, operation: envelope.operation, options: envelope.options, records: body.records as unknown[] } };
}

/** Validates one record of a bulk job as that job's request data. */
export function validateBulkRecord(envelope: Pick<BulkEnvelope, 'entity_type' | 'operation' | 'options'>, record: unknown, index: number, crms: readonly CrmName[]): Validation<Record<string, unknown>> {
	const path = `records[${index}]`;
	if (!isObject(record)) return refused([{ path, message: `must be an object; got ${kind(record)}` }], MAX_RECORD_REASONS);
	const reasons = validateData(envelope.entity_type, envelope.operation, record, envelope.options, crms, path);
	return reasons.length ? refused(reasons, MAX_RECORD_REASONS) : { ok: true, value: normaliseIds(record) };
}

/** A create without `data.id` gets a new unified id here, so that every CRM links to the same one. */
export function withUnifiedId(request: SyncApiRequest): SyncApiRequest {
	if (request.operation !== 'create' || typeof request.data.id === 'string') return request;
	return { ...request, data: { ...request.data, id: randomUUID() } };
}

function validateEnvelope(body: Record<string, unknown>, reasons: Reason[]): { entity: EntityType; operation: SyncApiOperation; options: SyncApiOptions } | undefined {
	const entity = body.entity_type;
	const operation = body.operation;
	if (entity === undefined) reasons.push({ path: 'entity_type', message: `is required: one of ${ENTITY_TYPES.join(', ')}` });
	else if (!(ENTITY_TYPES as readonly unknown[]).includes(entity)) reasons.push({ path: 'entity_type', message: `must be one of ${ENTITY_TYPES.join(', ')}; got ${shown(entity)}` });
	if (operation === undefined) reasons.push({ path: 'operation', message: `is required: one of ${SYNC_API_OPERATIONS.join(', ')}` });
	else if (!(SYNC_API_OPERATIONS as readonly unknown[]).includes(operation)) reasons.push({ path: 'operation', message: `must be one of ${SYNC_API_OPERATIONS.join(', ')}; got ${shown(operation)}` });
	const options: SyncApiOptions = { skip_validation: false, force_update: false, trigger_workflows: false };
	if (body.options !== undefined && body.options !== null) {
		if (!isObject(body.options)) reasons.push({ path: 'options', message: `must be an object; got ${kind(body.options)}` });
		else {
			for (const [key, value] of Object.entries(body.options)) {
				if (!(SYNC_API_OPTIONS as readonly string[]).includes(key)) reasons.push({ path: `options.${key}`, message: `is not an option (options are ${SYNC_API_OPTIONS.join(', ')})` });
				else if (typeof value !== 'boolean') reasons.push({ path: `options.${key}`, message: `must be true or false; got ${shown(value)}` });
				else options[key as keyof SyncApiOptions] = value;
			}
		}
	}
	const entityOk = (ENTITY_TYPES as readonly unknown[]).includes(entity);
	const operationOk = (SYNC_API_OPERATIONS as readonly unknown[]).includes(operation);
	return entityOk && operationOk ? { entity: entity as EntityType, operation: operation as SyncApiOperation, options } : undefined;
}

/** Operation requirements (ids), then, unless skip_validation, the field names and values per CRM. */
function validateData(entity: EntityType, operation: SyncApiOperation, data: Record<string, unknown>, options: SyncApiOptions, crms: readonly CrmName[], at: string): Reason[] {
	const reasons: Reason[] = [];
	const fields = Object.keys(data).filter((k) => !ID_KEYS.includes(k));
	const idReasons = (key: string, required: boolean, what: string) => {
		if (data[key] === undefined || data[key] === null) {
			if (required) reasons.push({ path: `${at}.${key}`, message: `is required for ${operation}: ${what}` });
		} else reasons.push(...validateIdRef(data[key], `${at}.${key}`));
	};
	const idHelp = 'the unified id (the id your app gave the record) or an object of CRM ids, e.g. {"hubspot": "123"}';
	const notFor = (keys: string[], why: string) => {
		for (const key of keys) if (data[key] !== undefined) reasons.push({ path: `${at}.${key}`, message: `is not used by ${operation} (${why})` });
	};
	switch (operation) {
		case 'create':
			if (data.id !== undefined && data.id !== null && !(typeof data.id === 'string' && data.id.trim()) && typeof data.id !== 'number') {
				reasons.push({ path: `${at}.id`, message: `must be the record's unified id (a non-empty string) on create; got ${kind(data.id)}` });
			}
			notFor(['masterId', 'mergedIds'], 'only merge takes them');
			if (!fields.length) reasons.push({ path: at, message: 'has no fields to write' });
			break;
		case 'update':
			idReasons('id', true, idHelp);
			notFor(['masterId', 'mergedIds'], 'only merge takes them');
			if (!fields.length) reasons.push({ path: at, message: 'has no fields to write besides id' });
			break;
		case 'delete':
			idReasons('id', true, idHelp);
			notFor([...fields, 'masterId', 'mergedIds'], 'delete takes only id');
			break;
		case 'merge': {
			idReasons('masterId', true, `the surviving record: ${idHelp}`);
			const merged = data.mergedIds;
			if (merged === undefined || merged === null) reasons.push({ path: `${at}.mergedIds`, message: 'is required for merge: a non-empty array of the records merged into the master (each like masterId)' });
			else if (!Array.isArray(merged) || !merged.length) reasons.push({ path: `${at}.mergedIds`, message: `must be a non-empty array of ids; got ${kind(merged)}` });
			else {
				merged.forEach((ref, i) => reasons.push(...validateIdRef(ref, `${at}.mergedIds[${i}]`)));
				if (merged.some((ref) => sameIdRef(ref, data.masterId))) reasons.push({ path: `${at}.mergedIds`, message: 'must not contain the masterId' });
			}
			notFor([...fields, 'id'], 'merge takes masterId and mergedIds');
			break;
		}
	}
	if (options.skip_validation || operation === 'delete' || operation === 'merge') return reasons;

	const known = fieldsOf(entity);
	const record: Record<string, unknown> = {};
	for (const key of fields) {
		if (known.has(key)) record[key] = data[key];
		else reasons.push({ path: `${at}.${key}`, message: `is not a field of the unified ${entity} model (fields: ${[...known].join(', ')})` });
	}
	if (operation === 'create' && (entity === 'contact' || entity === 'lead') && isBlank(record.email) && isBlank(record.lastName)) {
		reasons.push({ path: at, message: `a ${entity} needs an email or a lastName` });
	}
	reasons.push(...fieldReasons(entity, record, operation === 'create', crms, at));
	return reasons;
}

/** Values checked with each CRM's default map (strict); the same problem in several CRMs is one reason. */
function fieldReasons(entity: EntityType, record: Record<string, unknown>, create: boolean, crms: readonly CrmName[], at: string): Reason[] {
	const byProblem = new Map<string, { path: string; message: string; crms: CrmName[] }>();
	for (const crm of crms) {
		const result = strictMapping(crm, entity, create).map(record);
		for (const issue of result.issues ?? []) {
			const unified = unifiedFieldOf(crm, entity, issue.field);
			const path = unified ? `${at}.${unified}` : at;
			const message = unified ? issue.reason : `${issue.field} ${issue.reason}`;
			const key = `${path}\u0000${message}`;
			const entry = byProblem.get(key) ?? { path, message, crms: [] };
			entry.crms.push(crm);
			byProblem.set(key, entry);
		}
	}
	return [...byProblem.values()].map(({ path, message, crms: where }) => ({ path, message: `${message} (${where.join(', ')})` }));
}

/** The unified field a CRM-side issue is about (issues name the CRM field, or for shapes a label). */
function unifiedFieldOf(crm: CrmName, entity: EntityType, crmField: string): string | undefined {
	const fields = defaultMap(crm, entity).fields;
	const top = crmField.split('.')[0];
	const spec = fields.find((f) => f.crm === crmField) ?? fields.find((f) => f.crm.split('.')[0] === top);
	if (spec) return spec.unified;
	if (crmField.startsWith('(')) return fields.find((f) => f.virtual)?.unified;
	return undefined;
}

function validateIdRef(ref: unknown, path: string): Reason[] {
	if (typeof ref === 'number' && Number.isFinite(ref)) return [];
	if (typeof ref === 'string') return ref.trim() ? [] : [{ path, message: 'must not be empty' }];
	if (!isObject(ref)) return [{ path, message: `must be a unified id (string) or an object of CRM ids; got ${kind(ref)}` }];
	const reasons: Reason[] = [];
	const entries = Object.entries(ref);
	if (!entries.length) reasons.push({ path, message: `must name at least one CRM (${CRM_NAMES.join(', ')})` });
	for (const [crm, id] of entries) {
		if (!isCrmName(crm)) reasons.push({ path: `${path}.${crm}`, message: `is not a CRM (${CRM_NAMES.join(', ')})` });
		else if (!((typeof id === 'string' && id.trim()) || (typeof id === 'number' && Number.isFinite(id)))) reasons.push({ path: `${path}.${crm}`, message: `must be the record's id in ${crm}; got ${kind(id)}` });
	}
	return reasons;
}

/** Ids become strings (Pipedrive ids may arrive as numbers). */
function normaliseIds(data: Record<string, unknown>): Record<string, unknown> {
	const norm = (ref: unknown): unknown => (typeof ref === 'number' ? String(ref) : isObject(ref) ? Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, String(v)])) : ref);
	const out = { ...data };
	if (out.id !== undefined && out.id !== null) out.id = norm(out.id);
	if (out.masterId !== undefined && out.masterId !== null) out.masterId = norm(out.masterId);
	if (Array.isArray(out.mergedIds)) out.mergedIds = out.mergedIds.map(norm);
	return out;
}

// ---- writing --------------------------------------------------------------------------------------

/** One CRM's result for one request (or one bulk record). */
export interface CrmResult {
	crm: CrmName;
	status: WriteStatus | 'error';
	/** The record's id in this CRM (the master's on merge); null when unknown. */
	id: string | null;
	error?: string;
	code?: string;
	/** deferred: why, and who writes the record instead. */
	reason?: string;
}

/** What a write did. deferred: another execution was writing the record to this CRM and writes the newest values. */
const WRITE_STATUSES = ['created', 'updated', 'unchanged', 'deleted', 'merged', 'deferred'] as const;
type WriteStatus = (typeof WRITE_STATUSES)[number];

export interface WriteDeps {
	crm: CrmName;
	/** The CRM's connector for requests with these options (trigger_workflows changes the change-source marker). */
	connector: (options: SyncApiOptions) => CrmConnector;
	/** The sync state store (cross-references, snapshots, echo fingerprints). Required: ids resolve through it. */
	store: () => Promise<StateStore>;
}

/**
 * Writes requests of one entity and operation (with the same options) to one CRM. Never throws for
 * a CRM or data problem: each request gets a result (status, id, error). Requests are written in
 * the CRM's batch sizes.
 */
export async function writeRequestsToCrm(
	deps: WriteDeps,
	entity: EntityType,
	operation: SyncApiOperation,
	options: SyncApiOptions,
	data: Array<Record<string, unknown>>,
	/** Per record (update): unchanged against the snapshot taken before the first CRM was written. */
	unchanged: boolean[] = [],
): Promise<CrmResult[]> {
	const { crm } = deps;
	const results: Array<CrmResult | undefined> = new Array(data.length).fill(undefined);
	const fail = (i: number, error: string, code: string) => (results[i] = { crm, status: 'error', id: null, error, code });
	let store: StateStore;
	let ids: ResolvedIds;
	try {
		store = await deps.store();
		ids = await resolveIds(store, entity, crm, data);
	} catch (error) {
		data.forEach((_, i) => fail(i, `state store: ${(error as Error).message}`, 'STATE_STORE'));
		return results as CrmResult[];
	}
	// trigger_workflows: no echo fingerprints, so this package's sync workflows treat the change like any other.
	const writerStore: StateStore = options.trigger_workflows ? withoutEchoes(store) : store;
	const inputs: InputItem[] = [];
	data.forEach((record, i) => {
		const unifiedId = ids.unifiedId(record.id as IdRef | undefined);
		const fields = Object.fromEntries(Object.entries(record).filter(([k]) => !ID_KEYS.includes(k) && !isPrototypeKey(k)));
		if (operation === 'create') {
			// Records linked in this CRM already are answered by createEach (it settles their claims).
			if (!unifiedId) fail(i, `a create needs the record's unified id (data.id; see withUnifiedId)`, 'MISSING_ID');
			else inputs.push({ index: i, record: fields, unifiedId });
			return;
		}
		if (operation === 'merge') {
			const masterId = ids.crmId(record.masterId as IdRef);
			const mergeIds = (record.mergedIds as IdRef[]).map((ref) => ids.crmId(ref));
			if (!masterId) fail(i, `the master ${describeRef(record.masterId as IdRef)} has no ${entity} in ${crm}`, 'MISSING_ID');
			else if (mergeIds.some((id) => !id)) fail(i, `merged ${(record.mergedIds as IdRef[]).filter((_, k) => !mergeIds[k]).map(describeRef).join(', ')} ha${mergeIds.filter((x) => !x).length > 1 ? 've' : 's'} no ${entity} in ${crm}`, 'MISSING_ID');
			else inputs.push({ index: i, record: { masterId, mergeIds }, unifiedId: ids.unifiedId(record.masterId as IdRef) });
			return;
		}
		const crmId = ids.crmId(record.id as IdRef);
		if (!crmId) fail(i, `${describeRef(record.id as IdRef)} has no ${entity} in ${crm}`, 'MISSING_ID');
		else if (operation === 'update' && unchanged[i] && !options.force_update) results[i] = { crm, status: 'unchanged', id: crmId };
		else inputs.push({ index: i, record: { ...fields, crmId }, unifiedId });
	});

	if (inputs.length) {
		const job: WriteJob = {
			crm,
			entity,
			operation,
			inputFormat: 'unified',
			matchKey: '',
			dryRun: false,
			forceOverwrite: options.force_update,
			continueOnFail: true,
			recordState: true,
		};
		try {
			const writer = new UpsertWriter(job, () => deps.connector(options), async () => writerStore);
			const written = operation === 'create' ? await createEach(store, writer, crm, entity, inputs, ids) : await writer.run(inputs);
			for (const result of written) results[result.index] = crmResultOf(crm, result);
		} catch (error) {
			// NotImplementedError (e.g. a merge the CRM does not offer) or a failure outside any batch.
			const message = error instanceof Error ? error.message : textOf(error);
			const code = error instanceof Error && error.name === 'NotImplementedError' ? 'NOT_SUPPORTED' : 'FAILED';
			for (const input of inputs) if (!results[input.index]) fail(input.index, message, code);
		}
	}
	return results.map((r, i) => r ?? { crm, status: 'error', id: null, error: `no result for record ${i}`, code: 'FAILED' });
}

/**
 * Creates under claims (lib/sync/create-once.ts): a create whose CRM answer or cross-reference
 * write failed keeps its claim, so a retry of the request fails with INTERRUPTED_CREATE instead
 * of creating the record a second time.
 */
async function createEach(store: StateStore, writer: UpsertWriter, crm: CrmName, entity: EntityType, inputs: InputItem[], ids: ResolvedIds): Promise<ItemResult[]> {
	const plan = await planCreates(store, crm, entity, inputs);
	const linked: ItemResult[] = plan.linked.map(({ index, unifiedId }) => ({
		index,
		ok: false,
		json: { error: `${entity} ${unifiedId} already exists in ${crm}${ids.linked(unifiedId!) ? ` as ${ids.linked(unifiedId!)}` : ''}; use update`, code: 'ALREADY_EXISTS' },
	}));
	return [...linked, ...plan.interrupted, ...(await createOnce(store, writer, 'a sync API create', crm, entity, plan.create))];
}

/** One writer result as the API reports it: the status the write had, never one guessed from the operation. */
export function crmResultOf(crm: CrmName, result: ItemResult): CrmResult {
	const json = result.json;
	const id = json.id === undefined || json.id === null ? null : textOf(json.id);
	if (!result.ok) return { crm, status: 'error', id: null, error: textOf(json.error), ...(json.code ? { code: textOf(json.code) } : {}) };
	if (!(WRITE_STATUSES as readonly unknown[]).includes(json.status)) return { crm, status: 'error', id, error: `the write ended with status ${textOf(json.status)}, which the sync API does not report`, code: 'FAILED' };
	return { crm, status: json.status as WriteStatus, id, ...(json.reason !== undefined ? { reason: textOf(json.reason) } : {}) };
}

interface ResolvedIds {
	/** The CRM id of an id reference in this CRM (unified ids through the cross-reference). */
	crmId(ref: IdRef | undefined): string | undefined;
	/** The unified id of a reference: itself, or the one a CRM id is linked to (so writes keep that link). */
	unifiedId(ref: IdRef | undefined): string | undefined;
	/** The CRM id a unified id is already linked to in this CRM. */
	linked(unifiedId: string): string | undefined;
}

async function resolveIds(store: StateStore, entity: EntityType, crm: CrmName, data: Array<Record<string, unknown>>): Promise<ResolvedIds> {
	const unified = new Set<string>();
	const crmIds = new Set<string>();
	for (const record of data) {
		for (const ref of [record.id, record.masterId, ...(Array.isArray(record.mergedIds) ? record.mergedIds : [])]) {
			if (typeof ref === 'string') unified.add(ref);
			else if (isObject(ref) && typeof ref[crm] === 'string') crmIds.add(ref[crm] as string);
		}
	}
	const refs = unified.size ? await store.getCrossRefs(entity, [...unified]) : new Map();
	const reverse = crmIds.size ? await store.findUnifiedIds(entity, crm, [...crmIds]) : new Map<string, string>();
	const linked = (unifiedId: string) => refs.get(unifiedId)?.ids[crm] as string | undefined;
	return {
		crmId: (ref) => (ref === undefined ? undefined : typeof ref === 'string' ? linked(ref) : ref[crm]),
		unifiedId: (ref) => (ref === undefined ? undefined : typeof ref === 'string' ? ref : ref[crm] ? reverse.get(ref[crm]!) : undefined),
		linked,
	};
}

function describeRef(ref: IdRef): string {
	return typeof ref === 'string' ? `unified id ${ref}` : `CRM ids ${JSON.stringify(ref)}`;
}

/** The store, except that echo fingerprints are not recorded. */
function withoutEchoes(store: StateStore): StateStore {
	return new Proxy(store, {
		get(target, property) {
			if (property === 'recordEchoes') return async () => undefined;
			const value = Reflect.get(target, property, target);
			return typeof value === 'function' ? value.bind(target) : value;
		},
	});
}

/**
 * For updates by unified id: does every field equal the synced snapshot? Taken once, before the
 * first CRM is written (the snapshot is shared by all CRMs, so the first write changes it).
 */
export async function unchangedFlags(store: StateStore, entity: EntityType, operation: SyncApiOperation, data: Array<Record<string, unknown>>): Promise<boolean[]> {
	if (operation !== 'update') return data.map(() => false);
	const ids = data.map((d) => (typeof d.id === 'string' ? d.id : undefined));
	const snapshots = await store.getSnapshots(entity, [...new Set(ids.filter((x): x is string => !!x))]);
	return data.map((record, i) => {
		const snapshot = ids[i] ? snapshots.get(ids[i]!) : undefined;
		if (!snapshot || snapshot.deletedAt) return false;
		return Object.entries(record).every(([k, v]) => ID_KEYS.includes(k) || JSON.stringify(v ?? null) === JSON.stringify(snapshot.record[k] ?? null));
	});
}

/**
 * merge: the merged records' unified ids become their CRM ids, taken before the first CRM merges
 * (a merge folds the merged unified id into the master's, so later CRMs could not resolve it).
 */
export async function resolveMergedIds(store: StateStore, entity: EntityType, data: Array<Record<string, unknown>>): Promise<Array<Record<string, unknown>>> {
	const unified = [...new Set(data.flatMap((d) => (Array.isArray(d.mergedIds) ? d.mergedIds : [])).filter((ref): ref is string => typeof ref === 'string'))];
	if (!unified.length) return data;
	const refs = await store.getCrossRefs(entity, unified);
	return data.map((d) => {
		if (!Array.isArray(d.mergedIds)) return d;
		return { ...d, mergedIds: d.mergedIds.map((ref) => (typeof ref === 'string' && refs.get(ref) ? { ...refs.get(ref)!.ids } : ref)) };
	});
}

/** What has to be read from the state store before the first CRM is written (see unchangedFlags, resolveMergedIds). */
export async function beforeWrites(store: StateStore, request: SyncApiRequest): Promise<SyncApiRequest> {
	if (request.operation === 'merge') return { ...request, data: (await resolveMergedIds(store, request.entity_type, [request.data]))[0] };
	if (request.operation === 'update') return { ...request, unchanged: (await unchangedFlags(store, request.entity_type, request.operation, [request.data]))[0] };
	return request;
}

// ---- bulk jobs ------------------------------------------------------------------------------------
// A job's valid records are kept in the state store in pages (so memory stays bounded and the HTTP
// answer does not wait for the CRMs); each CRM node writes the pages, the last step records the
// outcome and deletes the pages (they hold personal data). `GET …/crm/bulk?job=<id>` reads the job.

/** Bulk jobs and their pages (exported for the GDPR erasure, lib/sync/erasure.ts). */
const BULK = SYNC_API_BULK_COLLECTION;
const PAGE_SIZE = 500;
/** Per-record errors kept per CRM and for invalid records (the counts are always complete). */
const MAX_ERRORS = 200;

export interface BulkRecordError {
	index: number;
	error: string;
	code?: string;
}

export interface BulkCrmSummary {
	crm: CrmName;
	processed: number;
	created: number;
	updated: number;
	unchanged: number;
	deleted: number;
	merged: number;
	/** Left to another execution that was writing the same record to this CRM (see CrmResult.reason). */
	deferred: number;
	failed: number;
	errors: BulkRecordError[];
	durationMs: number;
}

export interface BulkJob {
	jobId: string;
	status: 'accepted' | 'running' | 'done';
	entity_type: EntityType;
	operation: SyncApiOperation;
	options: SyncApiOptions;
	records: number;
	/** Records that failed validation (not written anywhere). */
	invalid: number;
	/** The first MAX_ERRORS invalid records, each with its first reasons and their count. */
	invalidRecords: Array<{ index: number; reasons: Reason[]; reasonCount: number }>;
	pages: number;
	/** The records were checked (validateBulkJob); until then the pages hold them as received. */
	validated: boolean;
	acceptedAt: string;
	finishedAt?: string;
	durationMs?: number;
	results: BulkCrmSummary[];
}

export interface BulkPage {
	records: Array<{ index: number; data: Record<string, unknown>; unchanged?: boolean }>;
}

const pageKey = (jobId: string, page: number) => `${jobId}|page|${String(page).padStart(6, '0')}`;
const jobKey = (jobId: string) => `${jobId}|job`;

/**
 * Queues the records in pages as they came (fast: the 202 answer waits only for this) and returns
 * the job (status accepted). validateBulkJob then checks them, before the first CRM is written.
 */
export async function acceptBulkJob(store: StateStore, envelope: BulkEnvelope): Promise<BulkJob> {
	const jobId = randomUUID();
	const job: BulkJob = {
		jobId,
		status: 'accepted',
		entity_type: envelope.entity_type,
		operation: envelope.operation,
		options: envelope.options,
		records: envelope.records.length,
		invalid: 0,
		invalidRecords: [],
		pages: Math.ceil(envelope.records.length / PAGE_SIZE),
		validated: false,
		acceptedAt: new Date().toISOString(),
		results: [],
	};
	const pages = Array.from({ length: job.pages }, (_, n) => ({
		key: pageKey(jobId, n),
		value: { records: envelope.records.slice(n * PAGE_SIZE, (n + 1) * PAGE_SIZE).map((data, i) => ({ index: n * PAGE_SIZE + i, data })) },
	}));
	await store.kvPutMany(BULK, [...pages, { key: jobKey(jobId), value: job }]);
	return job;
}

/**
 * Validates every queued record for the CRMs (invalid ones are dropped from the pages and listed
 * with their reasons), gives creates their unified ids, and reads what update / merge need from the
 * state store before any CRM is written (see beforeWrites).
 */
export async function validateBulkJob(store: StateStore, jobId: string, crms: readonly CrmName[]): Promise<BulkJob> {
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	if (job.validated) return job;
	for (let n = 0; n < job.pages; n++) {
		const page = await store.kvGet<BulkPage>(BULK, pageKey(jobId, n));
		if (!page) continue;
		const valid: BulkPage['records'] = [];
		for (const { index, data: raw } of page.records) {
			const checked = checkBulkRecord(job, raw, index, crms);
			if (!checked.ok) {
				job.invalid++;
				if (job.invalidRecords.length < MAX_ERRORS) job.invalidRecords.push({ index, reasons: checked.reasons, reasonCount: checked.reasonCount });
				continue;
			}
			const data = job.operation === 'create' && typeof checked.value.id !== 'string' ? { ...checked.value, id: randomUUID() } : checked.value;
			valid.push({ index, data });
		}
		if (job.operation === 'update') {
			const flags = await unchangedFlags(store, job.entity_type, job.operation, valid.map((r) => r.data));
			valid.forEach((r, i) => (r.unchanged = flags[i]));
		} else if (job.operation === 'merge') {
			const resolved = await resolveMergedIds(store, job.entity_type, valid.map((r) => r.data));
			valid.forEach((r, i) => (r.data = resolved[i]));
		}
		await store.kvPut(BULK, pageKey(jobId, n), { records: valid });
	}
	const validated: BulkJob = { ...job, validated: true, status: 'running' };
	await store.kvPut(BULK, jobKey(jobId), validated);
	return validated;
}

/**
 * validateBulkRecord, and a record it fails on is invalid with that reason: one record must not
 * stop the job (its pages would stay in the store, with personal data, and nothing be written).
 */
function checkBulkRecord(job: BulkJob, record: unknown, index: number, crms: readonly CrmName[]): Validation<Record<string, unknown>> {
	try {
		return validateBulkRecord(job, record, index, crms);
	} catch (error) {
		return refused([{ path: `records[${index}]`, message: `could not be checked: ${error instanceof Error ? error.message : textOf(error)}` }]);
	}
}

export async function getBulkJob(store: StateStore, jobId: string): Promise<BulkJob | undefined> {
	return store.kvGet<BulkJob>(BULK, jobKey(jobId));
}

/** Writes every page of a job to one CRM; returns the job with this CRM's summary added (and stored). */
export async function writeBulkJobToCrm(deps: WriteDeps, jobId: string): Promise<BulkJob> {
	const store = await deps.store();
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	if (!job.validated) throw new Error(`Bulk job ${jobId} is not validated yet: put a Validate Request step between the 202 answer and the first CRM`);
	const started = Date.now();
	const summary: BulkCrmSummary = { crm: deps.crm, processed: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, merged: 0, deferred: 0, failed: 0, errors: [], durationMs: 0 };
	for (let n = 0; n < job.pages; n++) {
		const page = await store.kvGet<BulkPage>(BULK, pageKey(jobId, n));
		if (!page) continue;
		const results = await writeRequestsToCrm(deps, job.entity_type, job.operation, job.options, page.records.map((r) => r.data), page.records.map((r) => r.unchanged === true));
		results.forEach((result, i) => {
			summary.processed++;
			if (result.status === 'error') {
				summary.failed++;
				if (summary.errors.length < MAX_ERRORS) summary.errors.push({ index: page.records[i].index, error: result.error ?? 'failed', ...(result.code ? { code: result.code } : {}) });
			} else summary[result.status]++;
		});
	}
	summary.durationMs = Date.now() - started;
	const updated: BulkJob = { ...job, status: 'running', results: [...job.results.filter((r) => r.crm !== deps.crm), summary] };
	await store.kvPut(BULK, jobKey(jobId), updated);
	return updated;
}

/** Marks the job done and deletes its pages. */
export async function finishBulkJob(store: StateStore, jobId: string): Promise<BulkJob> {
	const job = await getBulkJob(store, jobId);
	if (!job) throw new Error(`No bulk job ${jobId} in the state store (another sync namespace?)`);
	const finishedAt = new Date();
	const done: BulkJob = { ...job, status: 'done', finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - Date.parse(job.acceptedAt) };
	await store.kvPut(BULK, jobKey(jobId), done);
	await store.kvDeleteMany(BULK, Array.from({ length: job.pages }, (_, n) => pageKey(jobId, n)));
	return done;
}

// ---- response ---------------------------------------------------------------------------------------

/** The answer to a sync request: the unified id and each CRM's result. */
export function syncResponse(request: SyncApiRequest, results: CrmResult[]): Record<string, unknown> {
	const failed = results.filter((r) => r.status === 'error').length;
	return {
		ok: failed === 0,
		status: failed === 0 ? 'ok' : failed === results.length ? 'failed' : 'partial',
		entity_type: request.entity_type,
		operation: request.operation,
		id: idOfRequest(request),
		results,
	};
}

function idOfRequest(request: SyncApiRequest): unknown {
	return request.operation === 'merge' ? (request.data.masterId ?? null) : (request.data.id ?? null);
}

// ---- helpers ----------------------------------------------------------------------------------------

/** A body n8n handed over as text (sent as text/plain) is parsed here, so bad JSON gets our 400 with the reason. */
function parseText(body: unknown): unknown {
	if (typeof body !== 'string') return body;
	try {
		return JSON.parse(body) as unknown;
	} catch (error) {
		return error instanceof SyntaxError ? error : new SyntaxError(String(error));
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isBlank(value: unknown): boolean {
	return value === undefined || value === null || (typeof value === 'string' && !value.trim());
}

function kind(value: unknown): string {
	if (value === undefined) return 'nothing';
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'string') return `the string ${shown(value)}`;
	return typeof value === 'object' ? 'an object' : `${typeof value} ${textOf(value)}`;
}

/** A value in a reason: a string quoted and cut at 40 characters, anything else by its kind. */
function shown(value: unknown): string {
	return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : kind(value);
}

function cut(text: string): string {
	return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/** A refusal: the first `max` reasons, each cut to MAX_REASON_CHARS, and how many there are. */
function refused(reasons: Reason[], max = MAX_REASONS): { ok: false; reasons: Reason[]; reasonCount: number } {
	return { ok: false, reasons: reasons.slice(0, max).map((r) => ({ path: cut(r.path), message: cut(r.message) })), reasonCount: reasons.length };
}

/** Two id references name the same record (ids as normaliseIds makes them: numbers as strings). */
function sameIdRef(a: unknown, b: unknown): boolean {
	const key = (ref: unknown) => JSON.stringify(isObject(ref) ? Object.entries(ref).map(([crm, id]) => [crm, textOf(id)]).sort() : textOf(ref));
	return key(a) === key(b);
}
