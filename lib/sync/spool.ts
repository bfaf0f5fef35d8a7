// A job's records kept in the state store in numbered pages: memory stays bounded whatever the
// job's size, a step killed midway resumes at its next page, and the pages (personal data) are
// deleted when the job ends. Bulk sync (bulk.ts) and the Sync API's bulk jobs (sync-api/bulk.ts)
// both spool through it, each in its own collection (collections.ts).

import { eraseInDocs } from '../state/shared';
import type { KvEntry, StateStore } from '../state/types';

const PREFIX = 'spool|';

export class Spool<R> {
	constructor(
		private readonly store: StateStore,
		private readonly collection: string,
		private readonly jobId: string,
	) {}

	/** A page as a key/value entry, to be written in one kvPutMany with the job's own checkpoint. */
	entry(page: number, records: R[]): KvEntry {
		return { key: this.key(page), value: records };
	}

	async write(page: number, records: R[]): Promise<void> {
		await this.store.kvPut(this.collection, this.key(page), records);
	}

	/** A page's records; none for a page never written (or dropped). */
	async read(page: number): Promise<R[]> {
		return (await this.store.kvGet<R[]>(this.collection, this.key(page))) ?? [];
	}

	async drop(): Promise<void> {
		for (;;) {
			const found = await this.store.kvScan(this.collection, { prefix: `${PREFIX}${this.jobId}|`, limit: 1000 });
			if (!found.items.length) return;
			await this.store.kvDeleteMany(this.collection, found.items.map((e) => e.key));
		}
	}

	private key(page: number): string {
		return `${PREFIX}${this.jobId}|${String(page).padStart(7, '0')}`;
	}
}

/** GDPR erasure: removes the records `theirs` picks from every page of every job spooled in `collection`. */
export function eraseFromSpools<R>(store: StateStore, collection: string, theirs: (record: R) => boolean): Promise<number> {
	return eraseInDocs<R[]>(store, collection, PREFIX, (page) => (Array.isArray(page) && page.some(theirs) ? page.filter((r) => !theirs(r)) : page));
}
