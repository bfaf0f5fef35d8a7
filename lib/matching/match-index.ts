// Index of known records for "against the index" matching: records already synced, held in
// memory with their blocking keys, persisted as JSON docs through the state store's generic
// key/value API (collection 'dedupe.records', one doc per record id). Updated as records are
// synced: upsert / remove, then flush() writes the changes.

import type { UnifiedRecord } from '../model';
import type { StateStore } from '../state/types';
import { BlockIndex, blockingKeys, DEFAULT_MAX_BLOCK_SIZE } from './blocking';
import { evenSample, randomObservations, type MatchOptions } from './detector';
import { MATCH_FIELDS, prepareRecord } from './prepare';
import { observe, PairScorer, type PairScore } from './scorer';
import type { PreparedRecord } from './types';

/** The part of the state store the index needs (a StateStore satisfies it). */
export type MatchIndexStore = Pick<StateStore, 'kvPutMany' | 'kvDeleteMany' | 'kvScan'>;

export const INDEX_COLLECTION = 'dedupe.records';
const PAGE_SIZE = 5000;

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
	private estimated = false;

	constructor(private readonly options: MatchOptions = {}) {
		this.blocks = new BlockIndex(options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE);
		this.scorer = new PairScorer(options);
		this.fields = storedFields(options);
	}

	get size(): number {
		return this.slotById.size;
	}

	has(id: string): boolean {
		return this.slotById.has(id);
	}

	/** Add or replace a record. It must have a non-empty `id`. */
	upsert(record: UnifiedRecord): void {
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
		this.dirty.add(key);
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
		if (this.scorer.needsEstimation && !this.estimated) this.estimateFromIndex();
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

	/**
	 * Fellegi-Sunter without given parameters: estimate them once from the indexed records
	 * (their own blocked pairs and random pairs). Called by the first query; call it earlier to
	 * keep that cost off a request.
	 */
	estimateFromIndex(): void {
		this.estimated = true;
		if (!this.scorer.needsEstimation) return;
		const live = this.records.filter((r): r is PreparedRecord => r !== undefined);
		const { pairs } = this.blocks.pairs();
		const observations = evenSample(pairs, 200_000).map(([a, b]) =>
			observe(this.records[a] as PreparedRecord, this.records[b] as PreparedRecord),
		);
		this.scorer.estimate(observations, randomObservations(live));
	}

	/** Write the records changed since the last flush/load. Returns how many docs were written or deleted. */
	async flush(store: MatchIndexStore): Promise<number> {
		const puts: Array<{ key: string; value: unknown }> = [];
		const deletes: string[] = [];
		for (const id of this.dirty) {
			const slot = this.slotById.get(id);
			if (slot === undefined) deletes.push(id);
			else puts.push({ key: id, value: (this.records[slot] as PreparedRecord).source });
		}
		if (puts.length > 0) await store.kvPutMany(INDEX_COLLECTION, puts);
		if (deletes.length > 0) await store.kvDeleteMany(INDEX_COLLECTION, deletes);
		this.dirty.clear();
		return puts.length + deletes.length;
	}

	/** Rebuild an index from the docs in the store. */
	static async load(store: MatchIndexStore, options: MatchOptions = {}): Promise<MatchIndex> {
		const index = new MatchIndex(options);
		let after: string | undefined;
		for (;;) {
			const page = await store.kvScan<UnifiedRecord>(INDEX_COLLECTION, { after, limit: PAGE_SIZE });
			for (const entry of page.items) index.upsert(entry.value);
			if (page.next === undefined || page.items.length === 0) break;
			after = page.next;
		}
		index.dirty.clear();
		return index;
	}
}
