// Where the polling position lives in the state store: one KV collection holding, per CRM +
// entity, the position and the (id, modification stamp) keys already handled inside the overlap
// window. Both are written in ONE atomic kvPutMany, so a record is never marked handled without
// the position that was emitted with it (a failed commit leaves both unchanged: nothing is lost).

import type { CrmName, EntityType } from '../model';
import type { KvEntry, StateStore } from '../state/types';

export const POLL_COLLECTION = 'polling';

export type PollMode = 'incremental' | 'full' | 'since';

/** The stored position of one CRM + entity. */
export interface PollState {
	v: 1;
	/** Mode and start date it was made with; a different configuration starts over. */
	config: string;
	/** Connector cursor in the middle of a sweep (the CRM had more); absent when caught up. */
	next?: string;
	/** Sweep start to read from again when a sweep's first page was cut by the limit (no cursor yet). */
	nextFrom?: string;
	/** Connector cursor returned when the last sweep caught up (continues without overlap). */
	caughtUp?: string;
	/** Start (ISO) of the current sweep: records created after it are new to us. */
	sweepSince: string;
	/** Newest change time (ISO) handled so far: the next sweep re-reads from here minus the overlap. */
	watermark?: string;
	/**
	 * Earliest stamp (ISO) a change missed by this sweep can have: the request time minus the
	 * overlap of the first page that reached changes younger than the overlap. Absent when the
	 * sweep only read older changes (nothing can have become visible behind it).
	 */
	lateFloor?: string;
	/** Sweeps completed. */
	sweeps: number;
	/** Bumped when the configuration changes, so keys handled under the old one no longer count. */
	gen: number;
}

export function cursorKey(crm: CrmName, entity: EntityType): string {
	return `cursor|${crm}|${entity}`;
}

/** Prefix of the handled keys of one CRM + entity. */
export function seenPrefix(crm: CrmName, entity: EntityType): string {
	return `seen|${crm}|${entity}|`;
}

/** Key of one handled change: generation, stamp (normalised ISO, sortable), change kind and record id. */
export function seenKey(crm: CrmName, entity: EntityType, gen: number, stamp: string, kind: 'changed' | 'deleted', id: string): string {
	return `${seenPrefix(crm, entity)}${String(gen).padStart(6, '0')}|${stamp}|${kind}|${id}`;
}

/**
 * Where a poller keeps its position: a collection of the state store, by default POLL_COLLECTION
 * (the CRM Sync Poll Trigger's); bulk sync keeps its own apart from it. A dry run reads the stored
 * position but keeps what it commits in memory, so the stored position never moves.
 */
export class PollPosition {
	/** A dry run's commits: read back by the same run, never stored. */
	private readonly unsaved = new Map<string, unknown>();

	constructor(
		private readonly store: StateStore,
		readonly collection: string = POLL_COLLECTION,
		private readonly dryRun = false,
	) {}

	async load(crm: CrmName, entity: EntityType): Promise<PollState | undefined> {
		const key = cursorKey(crm, entity);
		const state = (this.unsaved.get(key) as PollState | undefined) ?? (await this.store.kvGet<PollState>(this.collection, key));
		return state && state.v === 1 ? state : undefined;
	}

	/** Which of `keys` were handled by an earlier committed poll. */
	async handled(keys: string[]): Promise<Set<string>> {
		if (keys.length === 0) return new Set();
		const found = new Set((await this.store.kvGetMany(this.collection, keys)).keys());
		for (const key of keys) if (this.unsaved.has(key)) found.add(key);
		return found;
	}

	/** Atomically records the handled keys and the new position. Rejects when the store cannot. */
	async commit(crm: CrmName, entity: EntityType, state: PollState, handled: string[]): Promise<void> {
		const entries: KvEntry[] = handled.map((key) => ({ key, value: 1 }));
		entries.push({ key: cursorKey(crm, entity), value: state });
		if (this.dryRun) for (const { key, value } of entries) this.unsaved.set(key, value);
		else await this.store.kvPutMany(this.collection, entries);
	}

	/**
	 * Deletes handled keys of older generations and with stamps before `before` (ISO): no later
	 * sweep re-reads them. Bounded work per call; the rest goes on a later poll. A dry run deletes nothing.
	 */
	async prune(crm: CrmName, entity: EntityType, gen: number, before: string, limit = 5000): Promise<number> {
		if (this.dryRun) return 0;
		const prefix = seenPrefix(crm, entity);
		const old = new Set<string>();
		let after: string | undefined;
		while (old.size < limit) {
			const page = await this.store.kvScan(this.collection, { prefix, after, limit: Math.min(1000, limit) });
			for (const { key } of page.items) {
				const [keyGen, stamp] = key.slice(prefix.length).split('|', 2);
				if (Number(keyGen) !== gen || stamp < before) old.add(key);
			}
			// Keys sort by generation then stamp: within the current generation, the first young key ends the scan.
			const last = page.items[page.items.length - 1]?.key;
			if (!page.next || !last || !old.has(last)) break;
			after = page.next;
		}
		return old.size ? this.store.kvDeleteMany(this.collection, [...old]) : 0;
	}

	/** Forgets the position of one CRM + entity: the next poll starts over. */
	async reset(crm: CrmName, entity: EntityType): Promise<void> {
		this.unsaved.delete(cursorKey(crm, entity));
		if (!this.dryRun) await this.store.kvDelete(this.collection, cursorKey(crm, entity));
	}
}
