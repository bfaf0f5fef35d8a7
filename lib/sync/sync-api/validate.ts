// Sync API validation: a request `{entity_type, operation, data, options}` (or a bulk body and
// its records) checked against the unified model and each CRM's required fields, with every
// reason and its field path, and normalised (booleans filled in, ids as strings).
//
// Ids: the unified id is the id the app uses for the record (`data.id` as a string). A create
// without one gets a new UUID, returned to the caller. update/delete take `data.id` (unified id,
// resolved per CRM through the cross-reference) or a per-CRM id map `{"hubspot": "123", ...}`.
// merge takes `data.masterId` and `data.mergedIds` in the same two forms.

import { randomUUID } from 'node:crypto';
import { defaultMap, defaultMapping } from '../../mapping';
import { textOf } from '../../mapping/transformers';
import { CRM_NAMES, ENTITY_TYPES, isCrmName, type CrmName, type EntityType } from '../../model';

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
/** The request keys that name records rather than hold field values. */
export const ID_KEYS = ['id', 'masterId', 'mergedIds'];

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

export function isObject(value: unknown): value is Record<string, unknown> {
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
export function refused(reasons: Reason[], max = MAX_REASONS): { ok: false; reasons: Reason[]; reasonCount: number } {
	return { ok: false, reasons: reasons.slice(0, max).map((r) => ({ path: cut(r.path), message: cut(r.message) })), reasonCount: reasons.length };
}

/** Two id references name the same record (ids as normaliseIds makes them: numbers as strings). */
function sameIdRef(a: unknown, b: unknown): boolean {
	const key = (ref: unknown) => JSON.stringify(isObject(ref) ? Object.entries(ref).map(([crm, id]) => [crm, textOf(id)]).sort() : textOf(ref));
	return key(a) === key(b);
}
