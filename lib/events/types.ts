// The captured event: one change as a trigger (webhook or poll) observed it, before it is enriched
// and emitted. Framework-free.

import type { ChangeOrigin, SyncEvent } from '../model';

/** One normalised change, plus what the webhook told about its origin. */
export interface CapturedEvent extends SyncEvent {
	/** The CRM's change-source marker (loop prevention). */
	origin?: ChangeOrigin;
	/** For merges: the ids of the records merged into `recordId` (the survivor). */
	mergedIds?: string[];
	/** The CRM payload this event came from (the array element, notification, or whole body). */
	raw?: unknown;
}
