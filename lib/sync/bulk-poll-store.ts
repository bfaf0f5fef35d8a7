// The state store lib/polling sees during a bulk sync. Bulk keeps its own source position, apart
// from the CRM Sync Poll Trigger's in the same namespace (otherwise a bulk run would move the
// trigger's cursor, and the other way round): the polling collection is renamed. Full sweeps keep
// theirs apart from the incremental one, so a full run does not make the next incremental run
// start over. In a dry run, writes to that collection stay in memory: the position never moves.

import type { KvEntry, KvScanOptions, Page, StateStore } from '../state/types';
import { POLL_COLLECTION } from '../polling/state';

export const BULK_POLL_COLLECTION = 'bulk.polling';

/** `store` with lib/polling's collection moved to `BULK_POLL_COLLECTION` (+ `.full`); with `dryRun`, writes to it are kept in memory only. */
export function bulkPollStore(store: StateStore, dryRun: boolean, full: boolean): StateStore {
	const overlay = new Map<string, unknown>();
	const renamed = full ? `${BULK_POLL_COLLECTION}.full` : BULK_POLL_COLLECTION;
	const rename = (collection: string) => (collection === POLL_COLLECTION ? renamed : collection);
	const ours = (collection: string) => dryRun && collection === POLL_COLLECTION;
	const kv = {
		async kvGet<T>(collection: string, key: string): Promise<T | undefined> {
			if (ours(collection) && overlay.has(key)) return overlay.get(key) as T;
			return store.kvGet<T>(rename(collection), key);
		},
		async kvGetMany<T>(collection: string, keys: string[]): Promise<Map<string, T>> {
			const found = await store.kvGetMany<T>(rename(collection), keys);
			if (ours(collection)) for (const key of keys) if (overlay.has(key)) found.set(key, overlay.get(key) as T);
			return found;
		},
		async kvPut(collection: string, key: string, value: unknown): Promise<void> {
			if (ours(collection)) overlay.set(key, value);
			else await store.kvPut(rename(collection), key, value);
		},
		async kvPutMany(collection: string, entries: KvEntry[]): Promise<void> {
			if (ours(collection)) for (const { key, value } of entries) overlay.set(key, value);
			else await store.kvPutMany(rename(collection), entries);
		},
		async kvDelete(collection: string, key: string): Promise<boolean> {
			if (ours(collection)) return overlay.delete(key);
			return store.kvDelete(rename(collection), key);
		},
		async kvDeleteMany(collection: string, keys: string[]): Promise<number> {
			if (ours(collection)) return keys.filter((key) => overlay.delete(key)).length;
			return store.kvDeleteMany(rename(collection), keys);
		},
		async kvScan<T>(collection: string, options?: KvScanOptions): Promise<Page<KvEntry<T>>> {
			// Only pruning scans; in a dry run it sees the stored keys, and deleting them is a no-op above.
			return store.kvScan<T>(rename(collection), options);
		},
	};
	return new Proxy(store, {
		get(target, property, receiver) {
			if (typeof property === 'string' && property in kv) return kv[property as keyof typeof kv];
			const value = Reflect.get(target, property, receiver) as unknown;
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
}
