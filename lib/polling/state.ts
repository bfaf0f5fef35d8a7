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

export async function loadState(store: StateStore, crm: CrmName, entity: EntityType): Promise<PollState | undefined> {
	const state = await store.kvGet<PollState>(POLL_COLLECTION, cursorKey(crm, entity));
	return state && state.v === 1 ? state : undefined;
}

/** Which of `keys` were handled by an earlier committed poll. */
export async function handledKeys(store: StateStore, keys: string[]): Promise<Set<string>> {
	if (keys.length === 0) return new Set();
	const found = await store.kvGetMany(POLL_COLLECTION, keys);
	return new Set(found.keys());
}

/** Atomically records the handled keys and the new position. Rejects when the store cannot. */
export async function commitState(store: StateStore, crm: CrmName, entity: EntityType, state: PollState, handled: string[]): Promise<void> {
	const entries: KvEntry[] = handled.map((key) => ({ key, value: 1 }));
	entries.push({ key: cursorKey(crm, entity), value: state });
	await store.kvPutMany(POLL_COLLECTION, entries);
}

/**
 * Deletes handled keys of older generations and with stamps before `before` (ISO): no later
 * sweep re-reads them. Bounded work per call; the rest goes on a later poll.
 */
export async function pruneHandled(store: StateStore, crm: CrmName, entity: EntityType, gen: number, before: string, limit = 5000): Promise<number> {
	const prefix = seenPrefix(crm, entity);
	const old = new Set<string>();
	let after: string | undefined;
	while (old.size < limit) {
		const page = await store.kvScan(POLL_COLLECTION, { prefix, after, limit: Math.min(1000, limit) });
		for (const { key } of page.items) {
			const [keyGen, stamp] = key.slice(prefix.length).split('|', 2);
			if (Number(keyGen) !== gen || stamp < before) old.add(key);
		}
		// Keys sort by generation then stamp: within the current generation, the first young key ends the scan.
		const last = page.items[page.items.length - 1]?.key;
		if (!page.next || !last || !old.has(last)) break;
		after = page.next;
	}
	return old.size ? store.kvDeleteMany(POLL_COLLECTION, [...old]) : 0;
}

/** Forgets the stored position of one CRM + entity: the next poll starts over. */
export async function resetPolling(store: StateStore, crm: CrmName, entity: EntityType): Promise<void> {
	await store.kvDelete(POLL_COLLECTION, cursorKey(crm, entity));
}
