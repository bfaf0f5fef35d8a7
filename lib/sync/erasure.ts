// GDPR erasure of one person from everything this package keeps about them: the state store's
// own data (StateStore.erasePerson) and the key/value docs where other parts keep people in
// their own formats, each cleared by an eraser here.
//
// Pages holding many people (bulk-sync spool, sync-API bulk pages) lose the person's records and
// keep the others': they belong to unfinished jobs (finished ones delete their pages), which still
// have to write the others, and must not re-create the erased person when they resume.

import { eraseFromMatchIndex } from '../matching/match-index';
import { personMatcher } from '../state/shared';
import type { ErasureRequest, ErasureResult, PersonEraser, StateStore } from '../state/types';
import type { SpooledRecord } from './bulk';
import { BULK_COLLECTION, SYNC_API_BULK_COLLECTION } from './collections';
import { eraseFromSpools } from './spool';
import type { BulkRecord } from './sync-api';

/** Bulk-sync spool pages: source records with their unified ids. */
export const eraseFromBulkSpool: PersonEraser = (store, person) => {
	const is = personMatcher(person);
	const theirs = (r: SpooledRecord) =>
		is.unifiedId(r.unifiedId) || is.record(r.source, r.recordId) || (r.mergedRecordIds ?? []).some((id) => is.record(r.source, id)) || is.email(r.record?.email);
	return eraseFromSpools(store, BULK_COLLECTION, theirs);
};

/** Sync-API bulk pages: request data naming the person by unified id, per-CRM ids or email. */
export const eraseFromSyncApiPages: PersonEraser = (store, person) => {
	const is = personMatcher(person);
	const names = (ref: unknown): boolean => {
		if (Array.isArray(ref)) return ref.some(names);
		if (ref !== null && typeof ref === 'object') return Object.entries(ref).some(([crm, id]) => is.record(crm, id));
		return is.unifiedId(ref);
	};
	const theirs = ({ data }: BulkRecord) => names(data.id) || names(data.masterId) || names(data.mergedIds) || is.email(data.email);
	return eraseFromSpools(store, SYNC_API_BULK_COLLECTION, theirs);
};

/** Every eraser of key/value docs that hold people. */
export const PERSON_ERASERS: PersonEraser[] = [eraseFromMatchIndex, eraseFromBulkSpool, eraseFromSyncApiPages];

/** Forget one person everywhere in the state store (see StateStore.erasePerson). */
export function erasePersonEverywhere(store: StateStore, request: Omit<ErasureRequest, 'erasers'>): Promise<ErasureResult> {
	return store.erasePerson({ ...request, erasers: PERSON_ERASERS });
}
