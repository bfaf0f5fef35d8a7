// The inbox of a CRM that never redelivers (Zoho). Its notifications are answered at once, so a
// failure after the answer would lose them: each is kept in the state store before the answer,
// and removed only once its events were handed on (to an execution, or as error items after the
// last attempt). A failed or crashed run leaves it there; the next notification claims it again.

import { randomUUID } from 'node:crypto';

import type { CrmName } from '../model';
import type { InboxEntry, StateStore } from '../state/types';
import type { CapturedEvent } from '../events/types';

/** How long a claimed notification is left to its claimer before another request may take it. */
export const INBOX_LEASE_MS = 3 * 60_000;
/** Claims after which a notification that still fails is handed on as error items. */
export const INBOX_MAX_ATTEMPTS = 5;
/** Notifications processed together by one request (oldest first). */
const CLAIM_LIMIT = 50;

export type InboxStore = Pick<StateStore, 'inboxAdd' | 'inboxClaim' | 'inboxDelete' | 'inboxRelease'>;

/**
 * Keeps a notification's events durably, in `box` (the receiving trigger's own: triggers of one
 * CRM sharing a state store must not take each other's notifications). Rejects (StateStoreError)
 * when it cannot: answer 5xx then.
 */
export async function keepInInbox(store: InboxStore, crm: CrmName, events: CapturedEvent[], box = ''): Promise<void> {
	await store.inboxAdd({ id: randomUUID(), crm, box, payload: JSON.stringify(events) });
}

/** A notification that failed its last attempt: its events, and why. */
export interface GivenUpNotification {
	events: CapturedEvent[];
	attempts: number;
	reason: string;
}

export type InboxRun<T> =
	| { ok: true; result: T; notifications: number }
	| { ok: false; error: unknown; givenUp: GivenUpNotification[]; retryLater: number };

const eventsOf = (entry: InboxEntry) => JSON.parse(entry.payload) as CapturedEvent[];

/**
 * Claims this CRM's waiting notifications in `box` (the one just kept, and older ones whose run failed or
 * crashed) and hands their events to `process` together. On success they are removed. On failure
 * each is released for the next request, except after its last attempt: then it is removed and
 * returned as given up, for the caller to hand on as error items.
 */
export async function processInbox<T>(store: InboxStore, crm: CrmName, process: (events: CapturedEvent[]) => Promise<T>, box = ''): Promise<InboxRun<T>> {
	const claimed = await store.inboxClaim(crm, INBOX_LEASE_MS, CLAIM_LIMIT, box);
	if (claimed.length === 0) return { ok: true, result: await process([]), notifications: 0 };
	const removeAll = (entries: InboxEntry[]) => Promise.all(entries.map((entry) => store.inboxDelete(entry.id)));
	try {
		const result = await process(claimed.flatMap(eventsOf));
		await removeAll(claimed);
		return { ok: true, result, notifications: claimed.length };
	} catch (error) {
		const last = claimed.filter((entry) => entry.attempts >= INBOX_MAX_ATTEMPTS);
		await removeAll(last);
		await Promise.all(claimed.filter((entry) => !last.includes(entry)).map((entry) => store.inboxRelease(entry.id)));
		const reason = error instanceof Error ? error.message : String(error);
		return {
			ok: false,
			error,
			givenUp: last.map((entry) => ({ events: eventsOf(entry), attempts: entry.attempts, reason })),
			retryLater: claimed.length - last.length,
		};
	}
}
