// Which captured events go on: this package's own writes (the CRMs' change-source markers,
// lib/events/own-change) and redeliveries (idempotency keys in the state store) are dropped.
// Echoes recognised by fingerprints are dropped later, by the enrich step (lib/events/echo).

import { isOwnChange } from '../events/own-change';
import type { CapturedEvent } from '../events/types';
import type { StateStore } from '../state/types';

/** Key under which an event is claimed in the state store. */
export function idempotencyKey(event: CapturedEvent): string {
	return `webhook:${event.source}:${event.entity}:${event.eventId}`;
}

export interface AcceptedEvents {
	fresh: CapturedEvent[];
	duplicates: CapturedEvent[];
	ownChanges: CapturedEvent[];
}

export interface AcceptOptions {
	markers?: readonly string[];
	store?: Pick<StateStore, 'claimIdempotencyKeys' | 'releaseIdempotencyKey'>;
	ttlMs?: number;
}

/**
 * Split events into new ones, redeliveries and own changes (change-source markers). Own changes
 * are dropped before claiming; the rest are claimed atomically for `ttlMs`. Rejects
 * (StateStoreError) when the store cannot record the claims.
 */
export async function acceptEvents(events: CapturedEvent[], options: AcceptOptions): Promise<AcceptedEvents> {
	const markers = options.markers ?? [];
	const ownChanges: CapturedEvent[] = [];
	const candidates: CapturedEvent[] = [];
	for (const event of events) (isOwnChange(event, markers) ? ownChanges : candidates).push(event);
	const { store } = options;
	if (!store || candidates.length === 0) return { fresh: candidates, duplicates: [], ownChanges };
	const claimed = await store.claimIdempotencyKeys(candidates.map(idempotencyKey), options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS);
	const fresh: CapturedEvent[] = [];
	const duplicates: CapturedEvent[] = [];
	candidates.forEach((event, i) => (claimed[i] ? fresh : duplicates).push(event));
	return { fresh, duplicates, ownChanges };
}

/** CRMs redeliver for hours to days (HubSpot up to 3 days): keep keys for 7 days. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
