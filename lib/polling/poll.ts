// Polling delta capture: reads a CRM's changes since the stored position through the connector's
// listChanges (which pages past the CRMs' caps), drops what was already handled (id +
// modification stamp), our own changes (change-source markers) and echoes of our writes
// (upsert fingerprints), and returns SyncEvents with a commit() that stores the new position.
//
// Never lose a record:
// - at most `maxRecords` new changes are handled per poll; when the limit falls inside a page,
//   the stored position stays before that page and the next poll reads it again, dropping what
//   was handled (so it does not matter how the connector pages: offsets, tokens or timestamps);
// - the position and the handled keys are stored together in one atomic write (commit), which
//   the caller makes only after handing the events on; if it fails, nothing moved;
// - after each completed sweep the next one re-reads an overlap window before the newest change
//   seen (late-indexed writes, equal timestamps, clock skew); handled keys drop the repeats.

import { crmModule } from '../crms';
import type { ChangedRecord, CrmConnector, DeletedRecord } from '../connectors/types';
import { isEchoOfOwnWrite } from '../events/echo';
import { withMetadataValues, type CrmMetadata } from '../mapping';
import type { CrmName, EntityType, SyncEvent, SyncOperation } from '../model';
import type { EchoFingerprint, StateStore } from '../state/types';
import { isOwnChange } from '../events/own-change';
import type { CapturedEvent } from '../events/types';
import { PollPosition, seenKey, type PollMode, type PollState } from './state';

export { PollPosition, type PollMode, type PollState } from './state';

const EPOCH = '1970-01-01T00:00:00.000Z';

export const DEFAULT_MAX_RECORDS = 1000;
export const DEFAULT_OVERLAP_MS = 5000;
/** Safety bound on pages per poll (e.g. many pages of already-handled records). */
export const DEFAULT_MAX_PAGES = 1000;

export interface PollOptions {
	entity: EntityType;
	/** incremental (default): changes since the stored position; full: every record, sweep after sweep; since: from `since` on. */
	mode?: PollMode;
	/** ISO date, for mode 'since' (the start when there is no stored position yet). */
	since?: string;
	/** New changes handled per poll (default 1000): emitted or dropped as own change/echo. The rest is read by the next poll. */
	maxRecords?: number;
	/** Re-read this many ms before the newest change seen, at each new sweep (default 5000). 0: follow the connector's cursor only. */
	overlapMs?: number;
	/** Records per CRM request (default: the connector's; capped at the CRM's maximum). */
	pageSize?: number;
	/** Report deletions too (default true). */
	includeDeleted?: boolean;
	/** CRM fields to read (default: the connector's standard set). */
	fields?: string[];
	/** Values identifying our writes in the CRM's change-source markers (see lib/webhooks isOwnChange). */
	ownChangeMarkers?: readonly string[];
	/** Drop echoes of our writes by the upsert's fingerprints (consumed by commit()). Default true. */
	dropEchoes?: boolean;
	/** Where the position is kept (default: the poll trigger's, in `store`). */
	position?: PollPosition;
	maxPages?: number;
	/** The CRM account's stages and users: deals and companies get their unified stage and owner e-mail (withMetadataValues), as the webhook trigger gives them. */
	metadata?: CrmMetadata;
	/** Wall clock in ms (tests). */
	now?: () => number;
}

/** One change as emitted: the SyncEvent, plus the merged ids for merges (as the webhook trigger emits them). */
export type PolledEvent = SyncEvent & Pick<CapturedEvent, 'mergedIds'>;

export interface PollBatch {
	events: PolledEvent[];
	dropped: { duplicates: number; ownChanges: number; echoes: number };
	/** Changes read from the CRM in this poll: emitted, dropped as own/echo (together at most maxRecords) and duplicates. */
	read: number;
	/** The CRM has more changes right now: the next poll goes on where this one stopped. */
	hasMore: boolean;
	/** Consumes the echoes' fingerprints, then stores the new position and the handled keys, atomically. Call after handing the events on. Rejects when the store cannot. */
	commit(): Promise<void>;
}

interface Candidate {
	key: string;
	stamp: string;
	event: PolledEvent;
	/** Made by this package according to the CRM's change-source marker. */
	own: boolean;
}

function iso(value: string | number): string {
	const ms = typeof value === 'number' ? value : Date.parse(value);
	if (!Number.isFinite(ms)) throw new Error(`not a date: ${JSON.stringify(value)}`);
	return new Date(ms).toISOString();
}

function changedEvent(crm: CrmName, entity: EntityType, record: ChangedRecord, stamp: string, knownUntil: string): PolledEvent {
	// A record created after the newest change we had handled is new to us; the connectors do not tell more.
	const created = record.createdAt !== undefined && Number.isFinite(Date.parse(record.createdAt)) && Date.parse(record.createdAt) > Date.parse(knownUntil);
	const operation: SyncOperation = created ? 'create' : 'update';
	return { eventId: `${crm}:${entity}:${record.id}:${stamp}`, source: crm, entity, operation, recordId: record.id, occurredAt: stamp, record: { id: record.id, ...record.fields } };
}

function deletedEvent(crm: CrmName, entity: EntityType, deleted: DeletedRecord, stamp: string): PolledEvent {
	if (deleted.mergedInto) {
		return { eventId: `${crm}:${entity}:${deleted.id}:merged:${stamp}`, source: crm, entity, operation: 'merge', recordId: deleted.mergedInto, occurredAt: stamp, mergedIds: [deleted.id] };
	}
	return { eventId: `${crm}:${entity}:${deleted.id}:deleted:${stamp}`, source: crm, entity, operation: 'delete', recordId: deleted.id, occurredAt: stamp };
}

/**
 * Who last changed the record, from the modifier fields some CRMs return with records (only when
 * the connector reads them): Zoho Modified_By, Salesforce LastModifiedById, Dynamics _modifiedby_value.
 */
export function recordOrigin(crm: CrmName, fields: Record<string, unknown> | undefined): CapturedEvent['origin'] {
	if (!fields) return undefined;
	const actor = crmModule(crm).adapter.recordModifier?.(fields);
	return actor === undefined || actor === null || actor === '' ? undefined : { actorId: String(actor) };
}

function configKey(mode: PollMode, since: string | undefined): string {
	return mode === 'since' ? `since|${since}` : mode;
}

/**
 * One poll: reads up to `maxRecords` changes and returns them with `commit()`. Nothing is stored
 * before commit() (echo fingerprints are consumed by it too), so a caller that only looks (n8n's
 * manual test) just does not commit, and a failed poll's echoes are still echoes when read again.
 */
export async function pollChanges(connector: CrmConnector, store: StateStore, options: PollOptions): Promise<PollBatch> {
	const crm = connector.crm;
	const { entity } = options;
	const mode = options.mode ?? 'incremental';
	if (mode === 'since' && !options.since) throw new Error('Polling "since a date" needs the date');
	const since = mode === 'since' ? iso(options.since!) : undefined;
	const maxRecords = Math.max(1, Math.floor(options.maxRecords ?? DEFAULT_MAX_RECORDS));
	const overlapMs = Math.max(0, options.overlapMs ?? DEFAULT_OVERLAP_MS);
	const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
	const now = options.now ?? Date.now;
	const markers = options.ownChangeMarkers ?? [];
	const config = configKey(mode, since);
	const kept = options.position ?? new PollPosition(store);
	const loaded = await kept.load(crm, entity);
	const stored = loaded?.config === config ? loaded : undefined;
	const start = since ?? EPOCH;
	const resuming = stored !== undefined && (stored.next !== undefined || stored.nextFrom !== undefined);
	// Handled keys belong to a generation: a new configuration, and each new full sweep, starts one.
	const gen = stored ? stored.gen + (mode === 'full' && !resuming ? 1 : 0) : (loaded ? loaded.gen + 1 : 0);

	// Where this poll starts: inside a sweep, where the last poll stopped; else a new sweep.
	let cursor: string | undefined;
	let from: string | undefined;
	let knownUntil: string;
	let lateFloor: number | undefined;
	if (stored && resuming) {
		cursor = stored.next;
		from = cursor ? undefined : stored.nextFrom;
		knownUntil = stored.sweepSince;
		lateFloor = stored.lateFloor ? Date.parse(stored.lateFloor) : undefined;
	} else if (!stored || mode === 'full') {
		from = start;
		knownUntil = start;
	} else if (overlapMs > 0 && stored.watermark) {
		// A change that became visible late (index delay, clock skew, both below the overlap) can
		// only be behind the last sweep if that sweep read changes younger than the overlap.
		from = stored.lateFloor && stored.lateFloor < stored.watermark ? stored.lateFloor : stored.watermark;
		knownUntil = stored.watermark;
	} else {
		cursor = stored.caughtUp;
		from = cursor ? undefined : (stored.watermark ?? start);
		knownUntil = stored.watermark ?? stored.sweepSince;
	}

	const events: PolledEvent[] = [];
	const handled: string[] = [];
	const thisPoll = new Set<string>();
	const dropped = { duplicates: 0, ownChanges: 0, echoes: 0 };
	const echoMatches: EchoFingerprint[] = [];
	let watermark = stored?.watermark;
	let fresh = 0;
	let pages = 0;
	let hasMore = true;
	/** Set when the limit is reached inside a page: the next poll reads that page again. */
	let resumeAt: { cursor?: string; from?: string } | undefined;

	while (pages < maxPages) {
		const requestedAt = now();
		const page = await connector.listChanges(entity, {
			...(cursor ? { cursor } : { since: from }),
			...(options.pageSize ? { pageSize: options.pageSize } : {}),
			includeDeleted: options.includeDeleted !== false,
			...(options.fields ? { fields: options.fields } : {}),
		});
		pages++;
		const candidates: Candidate[] = [];
		for (const record of page.records) {
			const stamp = iso(record.modifiedAt);
			const event = changedEvent(crm, entity, record, stamp, knownUntil);
			const origin = recordOrigin(crm, record.fields);
			const own = origin !== undefined && isOwnChange({ ...event, origin }, markers);
			candidates.push({ key: seenKey(crm, entity, gen, stamp, 'changed', record.id), stamp, event, own });
		}
		for (const deleted of page.deleted) {
			const stamp = deleted.deletedAt ? iso(deleted.deletedAt) : iso(now());
			candidates.push({ key: seenKey(crm, entity, gen, stamp, 'deleted', deleted.id), stamp, event: deletedEvent(crm, entity, deleted, stamp), own: false });
		}
		const newest = candidates.reduce<string | undefined>((max, c) => (max === undefined || c.stamp > max ? c.stamp : max), undefined);
		if (newest !== undefined && Date.parse(newest) > requestedAt - overlapMs) lateFloor = Math.min(lateFloor ?? Infinity, requestedAt - overlapMs);
		const before = await kept.handled(candidates.map((c) => c.key));
		for (const candidate of candidates) {
			if (thisPoll.has(candidate.key) || before.has(candidate.key)) {
				dropped.duplicates++;
				continue;
			}
			if (fresh === maxRecords) {
				// Limit reached inside the page: the rest of it is read again next time (what was
				// handled is then a duplicate), whatever the connector's paging is based on.
				resumeAt = { cursor, from };
				break;
			}
			fresh++;
			if (watermark === undefined || candidate.stamp > watermark) watermark = candidate.stamp;
			thisPoll.add(candidate.key);
			handled.push(candidate.key);
			if (candidate.own) {
				dropped.ownChanges++;
				continue;
			}
			if (options.metadata && candidate.event.record) candidate.event = { ...candidate.event, record: withMetadataValues(entity, options.metadata, candidate.event.record) };
			const echo = options.dropEchoes === false ? undefined : await isEchoOfOwnWrite(store, candidate.event);
			if (echo) {
				dropped.echoes++;
				echoMatches.push(echo);
			} else events.push(candidate.event);
		}
		if (resumeAt) break;
		if (page.hasMore && page.cursor === cursor && candidates.length === 0) {
			throw new Error(`The ${crm} connector returned no changes and the same cursor while reporting more: polling cannot advance`);
		}
		cursor = page.cursor;
		from = undefined;
		hasMore = page.hasMore;
		if (!hasMore || fresh === maxRecords) break;
	}

	const position: Partial<PollState> = resumeAt
		? { ...(resumeAt.cursor ? { next: resumeAt.cursor } : { nextFrom: resumeAt.from }) }
		: hasMore
			? { next: cursor }
			: { caughtUp: cursor };
	const sweeps = (stored?.sweeps ?? 0) + (hasMore ? 0 : 1);
	const next: PollState = { v: 1, config, ...position, sweepSince: knownUntil, ...(lateFloor !== undefined ? { lateFloor: iso(lateFloor) } : {}), ...(watermark ? { watermark } : {}), sweeps, gen };
	const read = fresh + dropped.duplicates;

	return {
		events,
		dropped,
		read,
		hasMore,
		async commit() {
			// Echoes first: if the position then cannot be stored, the re-read only lets our own write
			// through as a change, while a failed consume after it could not be reported (moved on).
			if (echoMatches.length) await store.consumeEchoes(echoMatches);
			await kept.commit(crm, entity, next, handled);
			// Keys older than any later re-read can reach are garbage; failing to prune loses nothing.
			if (watermark && !hasMore) {
				await kept.prune(crm, entity, gen, iso(Math.min(Date.parse(watermark), lateFloor ?? Infinity) - overlapMs)).catch(() => 0);
			}
		},
	};
}
