// Keeps loaded match indexes in memory between node executions of one process. Each use first
// catches up with changes other processes logged (MatchIndex.refresh), so several n8n processes
// sharing one store stay consistent; an index too far behind is loaded again.

import { MatchIndex, type MatchIndexStore } from './match-index';
import type { MatchOptions } from './detector';

/** Indexes kept at most (least recently used dropped first); each 50K-record index is ~150 MB. */
const MAX_CACHED = 4;
const cache = new Map<string, MatchIndex>();

/**
 * The index for `key` (which must identify the store, the namespace and the options), refreshed
 * from `store`, or loaded when not cached or too far behind.
 */
export async function sharedMatchIndex(key: string, store: MatchIndexStore, options: MatchOptions): Promise<MatchIndex> {
	const cached = cache.get(key);
	if (cached !== undefined) {
		cache.delete(key);
		if (await cached.refresh(store)) {
			cache.set(key, cached);
			return cached;
		}
	}
	const index = await MatchIndex.load(store, options);
	cache.set(key, index);
	while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
	return index;
}

/** Drop a cached index (after a failed execution, whose unflushed changes must not be kept). */
export function forgetMatchIndex(key: string): void {
	cache.delete(key);
}
