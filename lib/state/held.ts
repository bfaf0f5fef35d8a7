// Bookkeeping of what each CRM holds of a synced record (Snapshot.held): after this sync wrote
// the resolved values to a CRM, that CRM holds them. Read-modify-write under the snapshot lock.

import type { CrmName, EntityType, UnifiedRecord } from '../model';
import { heldValueHash } from './fingerprint';
import { snapshotLock, withLock } from './lock';
import type { StateStore } from './types';

/** A held value that equals no value's hash: what the CRM holds for the field is not known. */
export const UNKNOWN_HELD = 'unknown';

/** Hash per field of `record` (the form Snapshot.held keeps). */
export function heldHashes(record: UnifiedRecord): Record<string, string> {
	return Object.fromEntries(Object.entries(record).map(([field, value]) => [field, heldValueHash(value)]));
}

/** Does `crm` hold every value of `record`, as far as the snapshot knows? */
export function holdsAll(held: Record<string, string> | undefined, record: UnifiedRecord): boolean {
	if (!held) return false;
	return Object.entries(record).every(([field, value]) => (held[field] ?? '') === heldValueHash(value));
}

/** Record that `crm` now holds `record` (as of `at`). No-op when the snapshot is gone. */
export async function markHeld(store: StateStore, entity: EntityType, unifiedId: string, crm: CrmName, record: UnifiedRecord, at: Date = new Date()): Promise<void> {
	await withLock(store, snapshotLock(entity, unifiedId), async (lockLost) => {
		const snapshot = await store.getSnapshot(entity, unifiedId);
		if (!snapshot) return;
		const previous = snapshot.held?.[crm];
		const atIso = previous && previous.at > at.toISOString() ? previous.at : at.toISOString();
		lockLost.throwIfAborted();
		await store.putSnapshot({ ...snapshot, held: { ...(snapshot.held ?? {}), [crm]: { at: atIso, fields: { ...(previous?.fields ?? {}), ...heldHashes(record) } } } });
	});
}

/** Forget what `crm` holds of the record (it was overwritten by someone else): the next write of its truth is not skipped. */
export async function forgetHeld(store: StateStore, entity: EntityType, unifiedId: string, crm: CrmName): Promise<void> {
	await withLock(store, snapshotLock(entity, unifiedId), async (lockLost) => {
		const snapshot = await store.getSnapshot(entity, unifiedId);
		if (!snapshot?.held?.[crm]) return;
		const { [crm]: _forgotten, ...held } = snapshot.held;
		lockLost.throwIfAborted();
		await store.putSnapshot({ ...snapshot, held });
	});
}
