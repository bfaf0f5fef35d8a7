// Which captured events go on: redeliveries (idempotency keys in the state store) and this
// package's own writes (the CRMs' change-source markers) are dropped.

import type { StateStore } from '../state/types';
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
	switch (event.source) {
		case 'pipedrive':
			return byActor && origin.source === 'api';
		case 'salesforce': {
			const client = /(?:^|;)\s*client=([^;]+)/.exec(origin.source ?? '')?.[1]?.trim();
			return byActor || (client !== undefined && markers.includes(client));
		}
		case 'hubspot':
			return byActor || (origin.source !== undefined && markers.includes(origin.source));
		default:
			return byActor;
	}
}

export interface AcceptedEvents {
	fresh: CapturedEvent[];
	duplicates: CapturedEvent[];
	ownChanges: CapturedEvent[];
}

/**
 * Split events into new ones, redeliveries and own changes. Own changes are dropped before
 * claiming; the rest are claimed atomically for `ttlMs`. Rejects (StateStoreError) when the
 * store cannot record the claims: the caller must then answer with an error so the CRM
 * redelivers.
 */
export async function acceptEvents(
	events: CapturedEvent[],
	options: { markers?: readonly string[]; store?: Pick<StateStore, 'claimIdempotencyKeys'>; ttlMs?: number },
): Promise<AcceptedEvents> {
	const markers = options.markers ?? [];
	const ownChanges: CapturedEvent[] = [];
	const candidates: CapturedEvent[] = [];
	for (const event of events) (isOwnChange(event, markers) ? ownChanges : candidates).push(event);
	if (!options.store || candidates.length === 0) return { fresh: candidates, duplicates: [], ownChanges };
	const claimed = await options.store.claimIdempotencyKeys(candidates.map(idempotencyKey), options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS);
	const fresh: CapturedEvent[] = [];
	const duplicates: CapturedEvent[] = [];
	candidates.forEach((event, i) => (claimed[i] ? fresh : duplicates).push(event));
	return { fresh, duplicates, ownChanges };
}

/** CRMs redeliver for hours to days (HubSpot up to 3 days): keep keys for 7 days. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
