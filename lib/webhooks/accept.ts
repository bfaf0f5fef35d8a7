// Which captured events go on: redeliveries (idempotency keys in the state store) and this
// package's own writes (the CRMs' change-source markers) are dropped.

import { crmModule } from '../crms';
import { assignFields } from '../model';
import type { EchoFingerprint, StateStore } from '../state/types';
import type { CapturedEvent } from './types';

/** Key under which an event is claimed in the state store. */
export function idempotencyKey(event: CapturedEvent): string {
	return `webhook:${event.source}:${event.entity}:${event.eventId}`;
}

/**
 * Was this change made by this package? `markers` are the values that identify its writes in
 * the source CRM:
 * - HubSpot: the `sourceId` of its app / private app (or a `changeSource` value);
 * - Pipedrive: the user id of its API token; only changes with change_source `api` match;
 * - Salesforce: the `client=` name it sends in Sforce-Call-Options (seen in changeOrigin), or
 *   its integration user id (commitUser / LastModifiedById);
 * - Dynamics: its application user id (InitiatingUserId).
 * Zoho notifications carry no marker: only fingerprints can recognise echoes there.
 */
export function isOwnChange(event: CapturedEvent, markers: readonly string[]): boolean {
	const origin = event.origin;
	if (!origin || markers.length === 0) return false;
	const actor = origin.actorId?.toLowerCase();
	const byActor = actor !== undefined && markers.some((m) => m.toLowerCase() === actor);
	const ownChange = crmModule(event.source).adapter.isOwnChange;
	return ownChange ? ownChange(origin, markers, byActor) : byActor;
}

export interface AcceptedEvents {
	fresh: CapturedEvent[];
	duplicates: CapturedEvent[];
	ownChanges: CapturedEvent[];
	/** Echoes of this package's writes recognised by `isEcho` (fingerprints). */
	echoes: CapturedEvent[];
	/** The fingerprints the echoes matched: consume them (StateStore.consumeEchoes) once the request succeeded. */
	echoMatches: EchoFingerprint[];
}

/**
 * Fingerprint check of one record's observed change: the matched fingerprint of our write (e.g.
 * lib/events isEchoOfOwnWrite; the caller consumes it once the request succeeded), `true` for an
 * echo with nothing left to consume, or false/undefined when it is no echo.
 */
export type EchoCheck = (event: CapturedEvent) => Promise<EchoFingerprint | boolean | undefined>;

export interface AcceptOptions {
	markers?: readonly string[];
	store?: Pick<StateStore, 'claimIdempotencyKeys' | 'releaseIdempotencyKey'>;
	ttlMs?: number;
	isEcho?: EchoCheck;
}

/**
 * One observed change per record: HubSpot sends one event per changed property, so events of
 * the same record in one request are checked together, with their values merged.
 */
function groupByRecord(events: CapturedEvent[]): CapturedEvent[][] {
	const groups = new Map<string, CapturedEvent[]>();
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

/**
 * Split events into new ones, redeliveries, own changes (change-source markers) and echoes
 * (fingerprints). Own changes are dropped before claiming; the rest are claimed atomically for
 * `ttlMs`. Rejects (StateStoreError) when the store cannot record the claims or check echoes;
 * claims made by this call are then released, so that the caller can answer with an error and
 * the CRM's redelivery is processed. Matched fingerprints are not consumed here (see echoMatches).
 */
export async function acceptEvents(events: CapturedEvent[], options: AcceptOptions): Promise<AcceptedEvents> {
	const markers = options.markers ?? [];
	const ownChanges: CapturedEvent[] = [];
	const candidates: CapturedEvent[] = [];
	for (const event of events) (isOwnChange(event, markers) ? ownChanges : candidates).push(event);
	const { store, isEcho } = options;
	if (!store || candidates.length === 0) return { fresh: candidates, duplicates: [], ownChanges, echoes: [], echoMatches: [] };
	const claimed = await store.claimIdempotencyKeys(candidates.map(idempotencyKey), options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS);
	const claimedNow: CapturedEvent[] = [];
	const duplicates: CapturedEvent[] = [];
	candidates.forEach((event, i) => (claimed[i] ? claimedNow : duplicates).push(event));
	if (!isEcho) return { fresh: claimedNow, duplicates, ownChanges, echoes: [], echoMatches: [] };
	try {
		const echoed = new Set<CapturedEvent>();
		const echoMatches: EchoFingerprint[] = [];
		for (const group of groupByRecord(claimedNow)) {
			const match = await isEcho(merged(group));
			if (!match) continue;
			for (const e of group) echoed.add(e);
			if (match !== true) echoMatches.push(match);
		}
		return { fresh: claimedNow.filter((e) => !echoed.has(e)), duplicates, ownChanges, echoes: [...echoed], echoMatches };
	} catch (error) {
		await Promise.allSettled([...new Set(claimedNow.map(idempotencyKey))].map((key) => store.releaseIdempotencyKey(key)));
		throw error;
	}
}

/** CRMs redeliver for hours to days (HubSpot up to 3 days): keep keys for 7 days. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
