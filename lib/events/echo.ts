// Echoes of this package's own writes, recognised by the fingerprints Unified CRM Upsert stores
// (lib/state fingerprint.ts). Shared by the webhook and the polling trigger.

import { defaultMapping } from '../mapping';
import type { CrmName, EntityType, SyncEvent, UnifiedRecord } from '../model';
import type { EchoFingerprint, StateStore } from '../state/types';

/**
 * The record's values in the unified model, as the upsert computed them when it stored the
 * fingerprint (the default lenient CRM → unified mapping), so equal writes hash equally.
 */
export function unifiedValues(crm: CrmName, entity: EntityType, fields: Record<string, unknown>): UnifiedRecord {
	return defaultMapping('toUnified', crm, entity).map(fields).record;
}

/**
 * The fingerprint of our write this event is the echo of, or undefined. Only create/update events
 * carrying the record's values can be compared. Nothing is consumed: the caller consumes the match
 * (StateStore.consumeEchoes) once the event was handled, so that after a failure the redelivery is
 * still recognised as an echo.
 */
export async function isEchoOfOwnWrite(store: Pick<StateStore, 'matchEcho'>, event: SyncEvent): Promise<EchoFingerprint | undefined> {
	if (!event.record || (event.operation !== 'create' && event.operation !== 'update')) return undefined;
	return store.matchEcho(event.source, event.entity, event.recordId, unifiedValues(event.source, event.entity, event.record));
}
