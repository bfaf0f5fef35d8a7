// Index of known records for "against the index" matching: records already synced, held in
// memory with their blocking keys, persisted as JSON docs through the state store's generic
// key/value API (collection 'dedupe.records', one doc per record id). Updated as records are
// synced: upsert / remove, then flush() writes the changes.
//
// Rebuilding 50K records from the store takes seconds, so a process keeps its index in memory
// and catches up with other processes' writes through a change log: every flush also appends
// the changed ids to 'dedupe.log' under a time-ordered key; refresh() re-reads the records named
// by log entries it has not applied yet, looking back from its last refresh by an overlap (for
// writers whose entry lands late). Entries older than LOG_RETENTION_MS are trimmed; an index
// that fell further behind must be loaded again (refresh() says so).

import { randomUUID } from 'node:crypto';
import type { UnifiedRecord } from '../model';
import type { ErasedPerson, KvEntry, Page, StateStore } from '../state/types';
import { BlockIndex, blockingKeys, DEFAULT_MAX_BLOCK_SIZE } from './blocking';
import { evenSample, randomObservations, type MatchOptions } from './detector';
import { MATCH_FIELDS, prepareRecord } from './prepare';
import type { FellegiSunterParameters } from './scoring-fellegi-sunter';
import { observe, PairScorer, type PairScore } from './scorer';
import type { PreparedRecord } from './types';

/** The part of the state store the index needs (a StateStore satisfies it). */
export type MatchIndexStore = Pick<StateStore, 'kvPutMany' | 'kvDeleteMany' | 'kvScan' | 'kvGetMany'>;

export const INDEX_COLLECTION = 'dedupe.records';
export const INDEX_LOG_COLLECTION = 'dedupe.log';
const PAGE_SIZE = 5000;
/** Log entries written this long before a refresh are read again by the next one (late writers). */
export const LOG_OVERLAP_MS = 60_000;
/** Log entries older than this are deleted; an index not refreshed for that long must reload. */
export const LOG_RETENTION_MS = 6 * 60 * 60_000;

/** Re-estimating pays off only once there is enough data (see randomObservations). */
const MIN_RECORDS_TO_REESTIMATE = 500;

/** Log keys sort by time: zero-padded milliseconds, then a random part. */
const logKeyAt = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

export interface IndexMatch extends PairScore {
	id: string;
	record: UnifiedRecord;
}

/** Fields kept in the persisted doc: what matching and master choice read, nothing else. */
function storedFields(options: MatchOptions): string[] {
	const fields = new Set<string>(Object.values(MATCH_FIELDS).flat());
	fields.add(options.master?.crmField ?? 'source');
	fields.add(options.master?.modifiedField ?? 'updatedAt');
	return [...fields];
}

export class MatchIndex {
	private readonly records: Array<PreparedRecord | undefined> = [];
	private readonly keysBySlot: Array<string[] | undefined> = [];
	private readonly slotById = new Map<string, number>();
	private readonly freeSlots: number[] = [];
	private readonly blocks: BlockIndex;
	private readonly scorer: PairScorer;
	private readonly fields: string[];
	private readonly dirty = new Set<string>();
	/** Index size at the last Fellegi-Sunter estimate (re-estimated when it has doubled). */
	private estimatedAtSize: number | undefined;
	/** Change-log position: the next refresh reads entries after this key. */
	private logCursor = logKeyAt(Date.now() - LOG_OVERLAP_MS);
	/** Log entries after logCursor already reflected in memory (own flushes, seen at load, applied). */
	private readonly appliedLog = new Set<string>();

	constructor(private readonly options: MatchOptions = {}) {
		this.blocks = new BlockIndex(options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE);
		this.scorer = new PairScorer(options);
		this.fields = storedFields(options);
	}

	get size(): number {
		return this.slotById.size;
	}

	/** Fellegi-Sunter mode: the parameters in use (built-in, given or estimated). */
	get fsParameters(): FellegiSunterParameters | undefined {
		return this.scorer.mode === 'fellegiSunter' ? this.scorer.fsParameters : undefined;
	}

	has(id: string): boolean {
		return this.slotById.has(id);
	}

	/** Add or replace a record. It must have a non-empty `id`. Written by the next flush(). */
	upsert(record: UnifiedRecord): void {
		this.dirty.add(this.put(record));
	}

	/** Add or replace in memory only; returns the id. */
	private put(record: UnifiedRecord): string {
		const id = record.id;
		if ((typeof id !== 'string' && typeof id !== 'number') || String(id).trim() === '') {
			throw new Error('Match index: a record needs a non-empty id to be indexed');
		}
		const key = String(id);
		const kept: UnifiedRecord = {};
		for (const field of this.fields) if (record[field] !== undefined) kept[field] = record[field];
		kept.id = key;
		this.removeFromMemory(key);
		const slot = this.freeSlots.pop() ?? this.records.length;
		const prepared = prepareRecord(kept, slot, this.options);
		const keys = blockingKeys(prepared);
		this.records[slot] = prepared;
		this.keysBySlot[slot] = keys;
		this.slotById.set(key, slot);
		this.blocks.add(slot, keys);
		return key;
	}

	/** Remove a record by id; false if it was not indexed. */
	remove(id: string): boolean {
		const removed = this.removeFromMemory(id);
		if (removed) this.dirty.add(id);
		return removed;
	}

	private removeFromMemory(id: string): boolean {
		const slot = this.slotById.get(id);
		if (slot === undefined) return false;
		this.blocks.remove(slot, this.keysBySlot[slot] ?? []);
		this.records[slot] = undefined;
		this.keysBySlot[slot] = undefined;
		this.slotById.delete(id);
		this.freeSlots.push(slot);
		return true;
	}

	/**
	 * Indexed records matching `record` at or above the threshold, best first. A record with the
	 * same id as an indexed one is not matched against itself.
	 */
	query(record: UnifiedRecord): IndexMatch[] {
		if (this.scorer.estimatesFromData && this.estimateIsStale()) this.estimateFromIndex();
		const prepared = prepareRecord(record, -1, this.options);
		const self = prepared.id === undefined ? undefined : this.slotById.get(prepared.id);
		const matches: IndexMatch[] = [];
		for (const slot of this.blocks.candidates(blockingKeys(prepared), self)) {
			const known = this.records[slot] as PreparedRecord;
			const score = this.scorer.score(prepared, known);
			if (score.confidence >= this.scorer.threshold) {
				matches.push({ id: known.id as string, record: known.source, ...score });
			}
		}
		return matches.sort((x, y) => y.confidence - x.confidence);
	}

	private estimateIsStale(): boolean {
		if (this.estimatedAtSize === undefined) return true;
		return this.size >= MIN_RECORDS_TO_REESTIMATE && this.size >= 2 * this.estimatedAtSize;
	}

	/**
	 * Fellegi-Sunter without given parameters: estimate them from the indexed records (their
	 * own blocked pairs and random pairs). Called by the first query, and again once the index
	 * has doubled; call it earlier to keep that cost off a request.
	 */
	estimateFromIndex(): void {
		this.estimatedAtSize = this.size;
		if (!this.scorer.estimatesFromData) return;
		const live = this.records.filter((r): r is PreparedRecord => r !== undefined);
		const { pairs } = this.blocks.pairs();
		const observations = evenSample(pairs, 200_000).map(([a, b]) =>
			observe(this.records[a] as PreparedRecord, this.records[b] as PreparedRecord),
		);
		this.scorer.estimate(observations, randomObservations(live));
	}

	/**
	 * Write the records changed since the last flush/load, and a change-log entry naming them.
	 * Returns how many docs were written or deleted.
	 */
	async flush(store: MatchIndexStore): Promise<number> {
		if (this.dirty.size === 0) return 0;
		const changed = [...this.dirty];
		const puts: Array<{ key: string; value: unknown }> = [];
		const deletes: string[] = [];
		for (const id of changed) {
			const slot = this.slotById.get(id);
			if (slot === undefined) deletes.push(id);
			else puts.push({ key: id, value: (this.records[slot] as PreparedRecord).source });
		}
		if (puts.length > 0) await store.kvPutMany(INDEX_COLLECTION, puts);
		if (deletes.length > 0) await store.kvDeleteMany(INDEX_COLLECTION, deletes);
		const now = Date.now();
		const logKey = `${logKeyAt(now)}|${randomUUID()}`;
		await store.kvPutMany(INDEX_LOG_COLLECTION, [{ key: logKey, value: changed }]);
		this.appliedLog.add(logKey);
		for (const id of changed) this.dirty.delete(id);
		await trimLog(store, now - LOG_RETENTION_MS);
		return puts.length + deletes.length;
	}

	/**
	 * Apply other writers' changes logged since the last refresh (or load). Returns false when
	 * this index is too far behind (log entries it needs were trimmed): load it again then.
	 * Local changes not flushed yet are kept.
	 */
	async refresh(store: MatchIndexStore): Promise<boolean> {
		const startedAt = Date.now();
		if (this.logCursor < logKeyAt(startedAt - LOG_RETENTION_MS + LOG_OVERLAP_MS)) return false;
		const ids = new Set<string>();
		const entries = await this.readLog(store);
		for (const entry of entries) {
			if (this.appliedLog.has(entry.key)) continue;
			for (const id of entry.value) if (!this.dirty.has(id)) ids.add(id);
		}
		if (ids.size > 0) {
			const docs = await store.kvGetMany<UnifiedRecord>(INDEX_COLLECTION, [...ids]);
			for (const id of ids) {
				const doc = docs.get(id);
				if (doc === undefined) this.removeFromMemory(id);
				else this.put(doc);
			}
		}
		this.logCursor = logKeyAt(startedAt - LOG_OVERLAP_MS);
		for (const entry of entries) this.appliedLog.add(entry.key);
		for (const key of this.appliedLog) if (key <= this.logCursor) this.appliedLog.delete(key);
		return true;
	}

	/** Log entries after logCursor, oldest first. */
	private async readLog(store: MatchIndexStore): Promise<Array<{ key: string; value: string[] }>> {
		const entries: Array<{ key: string; value: string[] }> = [];
		let after: string | undefined = this.logCursor;
		for (;;) {
			const page: Page<KvEntry<string[]>> = await store.kvScan<string[]>(INDEX_LOG_COLLECTION, { after, limit: PAGE_SIZE });
			entries.push(...page.items);
			if (page.next === undefined || page.items.length === 0) break;
			after = page.next;
		}
		return entries;
	}

	/** Rebuild an index from the docs in the store. */
	static async load(store: MatchIndexStore, options: MatchOptions = {}): Promise<MatchIndex> {
		const index = new MatchIndex(options);
		// Log entries present before the records are read are reflected in them; entries that
		// appear later (even with earlier keys: late writers) are applied by refresh().
		index.logCursor = logKeyAt(Date.now() - LOG_OVERLAP_MS);
		for (const entry of await index.readLog(store)) index.appliedLog.add(entry.key);
		let after: string | undefined;
		for (;;) {
			const page = await store.kvScan<UnifiedRecord>(INDEX_COLLECTION, { after, limit: PAGE_SIZE });
			for (const entry of page.items) index.put(entry.value);
			if (page.next === undefined || page.items.length === 0) break;
			after = page.next;
		}
		index.dirty.clear();
		return index;
	}
}

/**
 * GDPR erasure (a PersonEraser for StateStore.erasePerson): the person's docs leave the index,
 * those keyed by a unified id, and those keyed by a CRM record id of theirs (the doc's `source`
 * tells the CRM where it has one), with a change-log entry so that the indexes other processes
 * keep in memory drop them too.
 */
export async function eraseFromMatchIndex(store: MatchIndexStore, person: ErasedPerson): Promise<number> {
	const keys = [...new Set([...person.unifiedIds, ...person.records.map((r) => r.recordId)])];
	const docs = await store.kvGetMany<UnifiedRecord>(INDEX_COLLECTION, keys);
	const theirs = [...docs].filter(([key, doc]) => person.unifiedIds.includes(key) || person.records.some((r) => r.recordId === key && (doc.source === undefined || doc.source === r.crm)));
	if (theirs.length === 0) return 0;
	const ids = theirs.map(([key]) => key);
	await store.kvDeleteMany(INDEX_COLLECTION, ids);
	await store.kvPutMany(INDEX_LOG_COLLECTION, [{ key: `${logKeyAt(Date.now())}|${randomUUID()}`, value: ids }]);
	return ids.length;
}

/** Delete change-log entries older than `before` (ms since epoch). */
async function trimLog(store: MatchIndexStore, before: number): Promise<void> {
	const limit = logKeyAt(before);
	const page = await store.kvScan(INDEX_LOG_COLLECTION, { limit: PAGE_SIZE });
	const old = page.items.filter((entry) => entry.key < limit).map((entry) => entry.key);
	if (old.length > 0) await store.kvDeleteMany(INDEX_LOG_COLLECTION, old);
}
