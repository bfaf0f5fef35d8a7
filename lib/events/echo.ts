// Echoes of this package's own writes, recognised by the fingerprints Unified CRM Upsert stores
// (lib/state fingerprint.ts). Shared by the webhook and the polling trigger.

import { compileMapping, type CompiledMapping } from '../mapping';
import type { CrmName, EntityType, SyncEvent, UnifiedRecord } from '../model';
import type { StateStore } from '../state/types';

const toUnified = new Map<string, CompiledMapping>();

/**
 * The record's values in the unified model, as the upsert computed them when it stored the
 * fingerprint (the default lenient CRM → unified mapping), so equal writes hash equally.
 */
export function unifiedValues(crm: CrmName, entity: EntityType, fields: Record<string, unknown>): UnifiedRecord {
	const key = `${crm}|${entity}`;
	let mapping = toUnified.get(key);
	if (!mapping) {
		mapping = compileMapping({ direction: 'toUnified', entity, source: crm, mode: 'lenient' });
		toUnified.set(key, mapping);
	}
	return mapping.map(fields).record;
}

/**
 * Is this event the echo of one of our writes? Only create/update events carrying the record's
 * values can be compared. A match consumes the fingerprint (see StateStore.consumeEcho).
 */
export async function isEchoOfOwnWrite(store: Pick<StateStore, 'consumeEcho'>, event: SyncEvent): Promise<boolean> {
	if (!event.record || (event.operation !== 'create' && event.operation !== 'update')) return false;
	return store.consumeEcho(event.source, event.entity, event.recordId, unifiedValues(event.source, event.entity, event.record));
}

/** Splits events into the ones to emit and the echoes of our own writes (consumed). */
export async function dropEchoes<T extends SyncEvent>(store: Pick<StateStore, 'consumeEcho'>, events: T[]): Promise<{ kept: T[]; echoes: T[] }> {
	const kept: T[] = [];
	const echoes: T[] = [];
	for (const event of events) ((await isEchoOfOwnWrite(store, event)) ? echoes : kept).push(event);
	return { kept, echoes };
}
