// What the webhook trigger does between "the request is authentic" and "emit items", without n8n:
// - group the events of one record in a request into one (HubSpot sends one event per property);
// - optionally fetch the record's current state through the source CRM's connector (HubSpot
//   events carry one property, creation events none; Zoho notifications carry ids only), so
//   every emitted item holds the whole record; a record that no longer exists becomes a delete;
// - leave out consent fields an update did not touch (see withoutUntouchedConsent);
// - give deals their unified stage and owner e-mail from the CRM's metadata (withMetadataValues);
// - recognise GDPR erasure (HubSpot contact.privacyDeletion): a delete flagged `erase: true`
//   (a delete to every node on the way; Unified CRM Upsert's From Item erases);
// - drop echoes of our own writes (fingerprints need the whole record, so after the fetch);
// - attach the record's unified id from the cross-reference, minting and linking one for
//   records seen for the first time, so that every target links its copy to the same id.
// Any failure of the CRM or the state store releases the idempotency claims of the request:
// the caller answers 503 and the CRM's redelivery is processed (nothing lost).

import { consentKeys } from '../conflict/consent';
import { crmModule } from '../crms';
import type { CrmRecord, ReadOptions } from '../connectors/types';
import { CURRENCY_FROM_METADATA, defaultMap, METADATA_ENTITIES, OWNER_EMAIL_FROM_METADATA, STAGE_FROM_METADATA, withMetadataValues, type CrmMetadata } from '../mapping';
import { assignFields, isPrototypeKey, type CrmName, type EntityType, type SyncOperation } from '../model';
import { syncIdentity } from '../state/identity';
import type { EchoFingerprint, StateStore } from '../state/types';
import { splitEchoes, type EchoCheck } from '../events/echo';
import { isOthersChange } from '../events/own-change';
import type { CapturedEvent } from '../events/types';
import { acceptEvents, idempotencyKey, type AcceptOptions } from './accept';

export type EventOperation = SyncOperation;

export interface EnrichedEvent extends CapturedEvent {
	/** GDPR erasure (with operation delete): delete everywhere and forget the person's data. */
	erase?: boolean;
	/** When several events of the record were grouped: all their ids (eventId is the last one). */
	eventIds?: string[];
	/** True when `record` is the record as the CRM holds it now (fetched). */
	fetched?: boolean;
	/** The record's unified id (cross-reference). */
	unifiedId?: string;
	/** Merges: the CRM ids, per CRM, of the records merged away (from their cross-references). */
	mergedIdsByCrm?: Partial<Record<CrmName, string[]>>;
}

/** The reads the fetch needs; a CrmConnector satisfies it. */
export interface RecordReader {
	readonly crm: CrmName;
	get(entity: EntityType, id: string, options?: ReadOptions): Promise<CrmRecord | undefined>;
	search(entity: EntityType, field: string, values: string[], options?: ReadOptions): Promise<CrmRecord[]>;
}

export type EnrichStore = Pick<StateStore, 'claimIdempotencyKeys' | 'releaseIdempotencyKey' | 'findUnifiedIds' | 'getCrossRefs' | 'linkMany' | 'consumeEchoes'>;

export interface EnrichOptions extends Omit<AcceptOptions, 'store'> {
	/** State store: idempotency, echoes (matches consumed on success), cross-references. Without it, events are only grouped/fetched. */
	store?: EnrichStore;
	/** Group the events of a record and fetch the record (needs `reader`). */
	fetchRecords: boolean;
	/** Lazily built reader of the source CRM (only called when something must be fetched). */
	reader?: () => RecordReader;
	/** Parallel single-record reads (CRMs without a batched read). Default 4. */
	concurrency?: number;
	/** Drops echoes of our writes (e.g. isEchoOfOwnWrite); checked on the fetched record when fetching. */
	isEcho?: EchoCheck;
	/** The source CRM account's stages and users for these records: deals and companies get their unified stage and owner e-mail (withMetadataValues). */
	metadata?: (entity: EntityType, records: Array<Record<string, unknown>>) => Promise<CrmMetadata>;
}

export interface EnrichResult {
	/** Events to emit. */
	events: EnrichedEvent[];
	duplicates: CapturedEvent[];
	ownChanges: CapturedEvent[];
	echoes: EnrichedEvent[];
}

/** A read of the source CRM failed (outage, throttling past retries, auth): answer 503 so the CRM redelivers. */
export class RecordFetchError extends Error {
	constructor(
		readonly crm: CrmName,
		readonly cause: unknown,
	) {
		super(`reading the changed records from ${crm} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
		this.name = 'RecordFetchError';
	}
}

const DEFAULT_CONCURRENCY = 4;

/** A delete that asks for an erasure (HubSpot's GDPR deletion, for example). */
const isErasure = (event: CapturedEvent): boolean => crmModule(event.source).adapter.isErasure?.(event) === true;

const marked = (event: CapturedEvent): EnrichedEvent => (isErasure(event) ? { ...event, erase: true } : { ...event });

/** The operation of several events of one record, in order: deletes and creates are kept over later updates. */
function combined(operations: EventOperation[]): EventOperation {
	let result = operations[0];
	for (const next of operations.slice(1)) {
		if (next === 'update' && (result === 'create' || result === 'restore' || result === 'delete')) continue;
		result = next;
	}
	return result;
}

/**
 * One event per record and operation kind: the events of a record in one request merged in
 * order (values merged, changed fields united). Merges stay separate (they name other records).
 */
export function groupEvents(events: CapturedEvent[]): EnrichedEvent[] {
	const groups = new Map<string, CapturedEvent[]>();
	const out: Array<EnrichedEvent | CapturedEvent[]> = [];
	for (const event of events) {
		if (event.operation === 'merge') {
			out.push({ ...event });
			continue;
		}
		const key = `${event.entity}|${event.recordId}`;
		const group = groups.get(key);
		if (group) group.push(event);
		else {
			const fresh = [event];
			groups.set(key, fresh);
			out.push(fresh);
		}
	}
	return out.map((entry) => {
		if (!Array.isArray(entry)) return marked(entry);
		const sorted = [...entry].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
		const last = sorted[sorted.length - 1];
		// Nothing brings an erased person back.
		const erase = sorted.some(isErasure);
		const event: EnrichedEvent = { ...last, operation: erase ? 'delete' : combined(sorted.map((e) => e.operation)) };
		if (erase) event.erase = true;
		if (sorted.length > 1) {
			const record: Record<string, unknown> = {};
			for (const e of sorted) assignFields(record, e.record);
			event.record = Object.keys(record).length ? record : undefined;
			const changed = [...new Set(sorted.flatMap((e) => e.changedFields ?? []))];
			event.changedFields = changed.length ? changed : undefined;
			event.eventIds = sorted.map((e) => e.eventId);
		}
		return event;
	});
}

/** Fields to read: the default map's CRM fields where a connector's own default set misses mapped ones. */
function readOptions(crm: CrmName, entity: EntityType): ReadOptions {
	const readFields = crmModule(crm).adapter.readFields;
	if (!readFields) return {}; // reads return every field
	let specs;
	try {
		specs = defaultMap(crm, entity).fields;
	} catch {
		return {};
	}
	// `keys`: the other CRM keys a field reads (a meeting's title and start/end times, for example).
	const names = new Set<string>(specs.flatMap((f) => [f.crm, ...(f.keys ?? [])]).filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)));
	for (const f of specs) if (Array.isArray(f.read)) for (const r of f.read) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(r)) names.add(r);
	// What the trigger itself puts on a deal (withMetadataValues) is no field of the CRM's.
	for (const key of [STAGE_FROM_METADATA, OWNER_EMAIL_FROM_METADATA, CURRENCY_FROM_METADATA]) names.delete(key);
	return { fields: readFields(entity, [...names]) };
}


async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i]);
		}
	});
	await Promise.all(workers);
	return results;
}

/** Current records by id (absent = no longer exists). Throws RecordFetchError when the CRM fails. */
export async function readRecords(reader: RecordReader, entity: EntityType, ids: string[], concurrency = DEFAULT_CONCURRENCY): Promise<Map<string, CrmRecord>> {
	const found = new Map<string, CrmRecord>();
	const unique = [...new Set(ids)];
	if (unique.length === 0) return found;
	const options = readOptions(reader.crm, entity);
	try {
		// Batched reads where the connector offers one (Salesforce SOQL `Id IN (...)` through search).
		const idField = crmModule(reader.crm).adapter.batchReadIdField;
		if (idField && unique.length > 1) {
			const records = await reader.search(entity, idField, unique, options);
			// Salesforce answers 18-character ids; the request may have used 15.
			for (const record of records) for (const id of unique) if (record.id === id || record.id.slice(0, 15) === id.slice(0, 15)) found.set(id, record);
		} else {
			const records = await mapLimit(unique, Math.max(1, concurrency), (id) => reader.get(entity, id, options));
			unique.forEach((id, i) => {
				if (records[i]) found.set(id, records[i]!);
			});
		}
	} catch (error) {
		throw new RecordFetchError(reader.crm, error);
	}
	return found;
}

const NEEDS_RECORD = new Set<EventOperation>(['create', 'update', 'restore']);


/**
 * A fetched record of an update whose webhook names the changed fields: consent fields the change
 * did not touch are left out. Their fetched value is no new statement of consent (a CRM where an
 * opt-out cannot be written still says "opted in"), and consent never moves on a change that did
 * not touch it.
 */
function withoutUntouchedConsent(event: EnrichedEvent, fields: Record<string, unknown>): Record<string, unknown> {
	if (event.operation === 'create' || !event.changedFields?.length) return fields;
	const changed = event.changedFields;
	const untouched = consentKeys(event.source, event.entity).filter((k) => !changed.some((f) => f === k || f.startsWith(`${k}.`)));
	if (!untouched.some((k) => k in fields)) return fields;
	const out = { ...fields };
	for (const k of untouched) delete out[k];
	return out;
}

/**
 * The fetched record with the values an update event carries for the fields it changed on top. By
 * the time of the fetch, a write of ours may already have replaced a person's change (both within
 * moments): the fetched record alone would pass for the echo of that write and the change be lost.
 * An older event's values are no harm: they carry the event's time, and the resolver keeps newer ones.
 */
function withEventValues(event: EnrichedEvent, fields: Record<string, unknown>): Record<string, unknown> {
	const carried = event.record;
	if (event.operation !== 'update' || !carried || !event.changedFields?.length) return fields;
	const changed = event.changedFields.filter((f) => !isPrototypeKey(f) && Object.hasOwn(carried, f));
	return changed.length ? { ...fields, ...Object.fromEntries(changed.map((f) => [f, carried[f]])) } : fields;
}

/** Replaces each create/update/restore event's record with the CRM's current one; gone records become deletes. */
export async function fetchRecords(events: EnrichedEvent[], reader: RecordReader, concurrency?: number): Promise<EnrichedEvent[]> {
	const byEntity = new Map<EntityType, string[]>();
	for (const e of events) if (NEEDS_RECORD.has(e.operation)) byEntity.set(e.entity, [...(byEntity.get(e.entity) ?? []), e.recordId]);
	const current = new Map<string, CrmRecord>();
	for (const [entity, ids] of byEntity) for (const [id, record] of await readRecords(reader, entity, ids, concurrency)) current.set(`${entity}|${id}`, record);
	return events.map((e) => {
		if (!NEEDS_RECORD.has(e.operation)) return e;
		const record = current.get(`${e.entity}|${e.recordId}`);
		if (!record) return { ...e, operation: 'delete', record: undefined, changedFields: undefined, fetched: true };
		return { ...e, record: withoutUntouchedConsent(e, withEventValues(e, record.fields)), fetched: true };
	});
}

/**
 * Attaches unified ids from the cross-reference. Records seen for the first time get
 * `<crm>:<id>` and are linked to it now, so every target links its copy to the same id.
 * Merges also get the CRM ids of the merged-away records (read now: the first target's merge
 * moves those links).
 */
export async function attachUnifiedIds(events: EnrichedEvent[], store: Pick<StateStore, 'findUnifiedIds' | 'getCrossRefs' | 'linkMany'>): Promise<EnrichedEvent[]> {
	const out = events.map((e) => ({ ...e }));
	const byKey = new Map<string, { entity: EntityType; crm: CrmName; events: EnrichedEvent[] }>();
	for (const e of out) {
		const key = `${e.entity}|${e.source}`;
		const entry = byKey.get(key) ?? { entity: e.entity, crm: e.source, events: [] };
		entry.events.push(e);
		byKey.set(key, entry);
	}
	for (const { entity, crm, events: group } of byKey.values()) {
		const ids = [...new Set(group.flatMap((e) => [e.recordId, ...(e.operation === 'merge' ? (e.mergedIds ?? []) : [])]))];
		const known = await store.findUnifiedIds(entity, crm, ids);
		const links = [];
		for (const e of group) {
			e.unifiedId = known.get(e.recordId);
			if (!e.unifiedId && (NEEDS_RECORD.has(e.operation) || e.operation === 'merge')) {
				e.unifiedId = syncIdentity(crm, e.recordId);
				known.set(e.recordId, e.unifiedId);
				links.push({ entity, unifiedId: e.unifiedId, crm, recordId: e.recordId });
			}
		}
		if (links.length) await store.linkMany(links);
		const merges = group.filter((e) => e.operation === 'merge' && e.mergedIds?.length);
		if (!merges.length) continue;
		const loserUnified = [...new Set(merges.flatMap((e) => e.mergedIds!.map((id) => known.get(id)).filter((u): u is string => !!u)))];
		const refs = await store.getCrossRefs(entity, loserUnified);
		for (const e of merges) {
			const byCrm: Partial<Record<CrmName, string[]>> = {};
			for (const id of e.mergedIds!) {
				const u = known.get(id);
				if (!u || u === e.unifiedId) continue;
				for (const [other, recordId] of Object.entries(refs.get(u)?.ids ?? {}) as Array<[CrmName, string]>) {
					if (other !== crm) (byCrm[other] ??= []).push(recordId);
				}
			}
			e.mergedIdsByCrm = byCrm;
		}
	}
	return out;
}

/**
 * The whole step: own changes and redeliveries dropped, events grouped and (option) fetched,
 * echoes dropped, unified ids attached. Rejects (RecordFetchError, StateStoreError) after
 * releasing the claims it made; the caller answers 503. The echoes' fingerprints are consumed
 * last, once nothing can fail any more: the redelivery of a failed request is still an echo.
 */
export async function acceptAndEnrich(events: CapturedEvent[], options: EnrichOptions): Promise<EnrichResult> {
	const { store, fetchRecords: fetch, reader, isEcho } = options;
	const accepted = await acceptEvents(events, { markers: options.markers, store, ttlMs: options.ttlMs });
	try {
		let fresh: EnrichedEvent[] = fetch ? groupEvents(accepted.fresh) : accepted.fresh.map(marked);
		if (fetch && fresh.some((e) => NEEDS_RECORD.has(e.operation))) {
			if (!reader) throw new Error('fetching records needs a reader of the source CRM');
			fresh = await fetchRecords(fresh, reader(), options.concurrency);
		}
		for (const entity of METADATA_ENTITIES) {
			const described = fresh.filter((e) => e.record && e.entity === entity);
			if (!options.metadata || !described.length) continue;
			const metadata = await options.metadata(entity, described.map((e) => e.record!)).catch((error: unknown) => {
				throw new RecordFetchError(described[0].source, error);
			});
			fresh = fresh.map((e) => (described.includes(e) ? { ...e, record: withMetadataValues(entity, metadata, e.record!) } : e));
		}
		// Fingerprints need the record's values: the fetched ones, or the ones the webhook carried.
		let echoes: EnrichedEvent[] = [];
		let echoMatches: EchoFingerprint[] = [];
		if (isEcho) {
			const markers = options.markers ?? [];
			const check: EchoCheck = async (event) => (isOthersChange(event, markers) ? undefined : isEcho(event));
			({ kept: fresh, echoes, matches: echoMatches } = await splitEchoes(fresh, check));
		}
		if (store) {
			fresh = await attachUnifiedIds(fresh, store);
			if (echoMatches.length) await store.consumeEchoes(echoMatches);
		}
		return { events: fresh, duplicates: accepted.duplicates, ownChanges: accepted.ownChanges, echoes };
	} catch (error) {
		if (store) await Promise.allSettled([...new Set(accepted.fresh.map(idempotencyKey))].map((key) => store.releaseIdempotencyKey(key)));
		throw error;
	}
}
