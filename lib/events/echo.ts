// Echoes of this package's own writes, recognised by the fingerprints Unified CRM Upsert stores
// (lib/state fingerprint.ts). The webhook trigger (splitEchoes, in its enrich step) and the
// polling trigger (isEchoOfOwnWrite per change) both ask here.

import { defaultMapping } from '../mapping';
import { assignFields, type CrmName, type EntityType, type SyncEvent, type UnifiedRecord } from '../model';
import type { EchoFingerprint, StateStore } from '../state/types';
import type { CapturedEvent } from './types';

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

/**
 * Fingerprint check of one record's observed change: the matched fingerprint of our write (e.g.
 * isEchoOfOwnWrite), `true` for an echo with nothing left to consume, or false/undefined when it
 * is no echo.
 */
export type EchoCheck = (event: CapturedEvent) => Promise<EchoFingerprint | boolean | undefined>;

/**
 * Splits events into the ones that go on and echoes of our writes. One check per record: HubSpot
 * sends one event per changed property, so the events of one record are checked together, with
 * their values merged. `matches` are the fingerprints to consume once the request succeeded.
 */
export async function splitEchoes<E extends CapturedEvent>(events: E[], isEcho: EchoCheck): Promise<{ kept: E[]; echoes: E[]; matches: EchoFingerprint[] }> {
	const echoes = new Set<E>();
	const matches: EchoFingerprint[] = [];
	for (const group of groupByRecord(events)) {
		const match = await isEcho(merged(group));
		if (!match) continue;
		for (const e of group) echoes.add(e);
		if (match !== true) matches.push(match);
	}
	return { kept: events.filter((e) => !echoes.has(e)), echoes: [...echoes], matches };
}

function groupByRecord<E extends CapturedEvent>(events: E[]): E[][] {
	const groups = new Map<string, E[]>();
	for (const event of events) {
		const key = `${event.entity}|${event.recordId}|${event.operation}`;
		const group = groups.get(key);
		if (group) group.push(event);
		else groups.set(key, [event]);
	}
	return [...groups.values()];
}

function merged(group: CapturedEvent[]): CapturedEvent {
	if (group.length === 1) return group[0];
	const record: Record<string, unknown> = {};
	for (const event of group) assignFields(record, event.record);
	return { ...group[group.length - 1], record, changedFields: [...new Set(group.flatMap((e) => e.changedFields ?? []))] };
}
