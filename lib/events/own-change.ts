// Was a change made by this package? Told by the CRM's change-source markers (each CRM's adapter
// says how its origin is read); the webhook and the polling trigger both ask here.

import { crmModule } from '../crms';
import type { CapturedEvent } from './types';

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

/**
 * Does the CRM say someone else made this change? Only where the markers are set and the event
 * names its maker the way they are compared: the actor (HubSpot, Pipedrive, Dynamics), Salesforce's
 * change origin (its client name). Such a change is never an echo of ours, even when it sets values
 * we once wrote (a person moving a record back: A → B → A).
 */
export function isOthersChange(event: CapturedEvent, markers: readonly string[]): boolean {
	const origin = event.origin;
	if (!origin || markers.length === 0 || isOwnChange(event, markers)) return false;
	return event.source === 'salesforce' ? origin.source !== undefined : origin.actorId !== undefined;
}
