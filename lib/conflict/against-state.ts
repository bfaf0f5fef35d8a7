// "Synced state" mode of the resolver: the state store's snapshot is the resolved truth (with a
// time, an origin CRM and a revision per field) and each incoming change is merged into it, under
// a lock per unified id, so concurrent executions commit one after the other.
//
// Per field of the change (absent = not provided):
// - equal to the truth: nothing to decide;
// - equal to what the source CRM is known to hold (Snapshot.held): the CRM did not change it
//   (a stale or full-record event, or an echo), the truth stays;
// - the same CRM set the current value: the newer of the two wins (a reordered older event loses);
// - the source CRM held the current value and changed it afterwards: a sequential edit, it wins;
// - otherwise both changed it without seeing each other's value: a true conflict, the strategy
//   decides (last-modified-wins compares the field times; crm-wins / source-system-wins the CRMs).
// The consent guard applies to every outcome. When the truth differs from what the source holds,
// the result says the source must be corrected (the writer decides per CRM, see upsert-writer.ts).

import { isPrototypeKey, type CrmName, type EntityType, type UnifiedRecord } from '../model';
import { heldValueHash, snapshotLock, syncIdentity, UNKNOWN_HELD, withLock, type AuditEntry, type HeldValues, type LockOptions, type Snapshot, type StateStore } from '../state';
import { guardConsent } from './consent';
import { ConflictError, normalizeOptions } from './options';
import { strategies } from './strategies';
import type { ResolvedOptions } from './strategy';
import type { ConflictInput, ConflictOptions, FieldChange, FieldDecision, Side, StrategyName, TimeInput } from './types';
import { parseTime, valuesEqual } from './values';

/** A change that arrived from one CRM (a SyncEvent with its record in the unified model). */
export interface StateChange {
	entity: EntityType;
	source: CrmName;
	/** The record's id in the source CRM (finds the unified id through the cross-reference). */
	recordId?: string;
	/** Known unified id (else: cross-reference of recordId, else a new identity). */
	unifiedId?: string;
	/** Provided fields; a partial record is fine (absent fields are not provided). */
	record?: UnifiedRecord;
	/** When the change was made in the source CRM (the event time). */
	modifiedAt?: TimeInput;
	/** Per-field change times, when the CRM tells them. */
	fieldModifiedAt?: Record<string, TimeInput>;
	deleted?: boolean;
	/** Undeleted in the source (recycle bin): a person's choice, never undone by an owed delete. */
	restored?: boolean;
}

export type StateAction = 'create' | 'update' | 'skip' | 'delete' | 'review';

export interface StateResolution {
	action: StateAction;
	strategy: StrategyName;
	entity: EntityType;
	unifiedId: string;
	source: CrmName;
	/** The resolved truth after this change (the whole record); null for deletes and reviews. */
	merged: UnifiedRecord | null;
	/** Snapshot revision after the commit. */
	revision?: number;
	/** Fields whose resolved value changed (to write to the other CRMs). */
	changed: string[];
	/** Fields where the source holds something else than the truth (to write back to it). */
	sourcePatch: UnifiedRecord;
	/** The source must be corrected: with sourcePatch, or (action delete) the record deleted there. */
	correctSource: boolean;
	decisions: FieldDecision[];
	conflicts: string[];
	needsReview: boolean;
	reason: string;
	/** For review: the equivalent three-way input (queued in the review queue). */
	reviewInput?: ConflictInput;
	audit: AuditEntry;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Merge one change into the synced state and commit it atomically (lock per unified id).
 * Deletes are not merged here: they are passed on (the writer keeps the tombstone).
 */
export async function resolveAgainstState(
	store: StateStore,
	change: StateChange,
	options: ConflictOptions,
	now: () => Date = () => new Date(),
	lock: LockOptions = {},
): Promise<StateResolution> {
	const resolved = normalizeOptions(options);
	const unifiedId = await identityOf(store, change);
	if (change.deleted) {
		return finish(resolved, change, unifiedId, now(), { action: 'delete', merged: null, reason: `deleted in ${change.source}` });
	}
	if (!change.record || typeof change.record !== 'object' || Array.isArray(change.record)) {
		throw new ConflictError('The change has no record (an object of unified fields) to merge');
	}
	return withLock(store, snapshotLock(change.entity, unifiedId), async (lockLost) => {
		const at = now();
		const snapshot = await store.getSnapshot(change.entity, unifiedId);
		if (snapshot?.deletedAt && resolved.deletePolicy === 'tombstone') {
			const deleted = `deleted in ${snapshot.deletedBy ?? 'a CRM'} at ${snapshot.deletedAt}`;
			// Changed in the source after the delete: the delete never reached it (a failed write), so it is owed there.
			const eventTime = parseTime(change.modifiedAt);
			if (!change.restored && eventTime !== undefined && eventTime > Date.parse(snapshot.deletedAt) + resolved.clockSkewToleranceMs) {
				return finish(resolved, change, unifiedId, at, { action: 'delete', merged: null, correctSource: true, reason: `tombstoned (${deleted}), and changed in ${change.source} after that: deleted there too` });
			}
			return finish(resolved, change, unifiedId, at, { action: 'skip', merged: null, reason: `tombstoned (${deleted}); not re-created` });
		}
		if (snapshot?.deletedAt) throw new ConflictError(`Synced-state mode supports the tombstone delete policy only (got ${resolved.deletePolicy})`);
		if (!snapshot && !Object.values(change.record!).some((v) => v !== undefined)) {
			throw new ConflictError(`Nothing to sync: the change from ${change.source} carries no field values and the record was never synced (fetch the record in the trigger)`);
		}
		const merge = mergeIntoState(change, unifiedId, snapshot, resolved, at);
		if (merge.review.length > 0) {
			const reviewInput: ConflictInput = {
				entity: change.entity,
				unifiedId,
				incoming: { crm: change.source, record: change.record, modifiedAt: change.modifiedAt, fieldModifiedAt: change.fieldModifiedAt },
				target: { crm: merge.reviewAgainst ?? change.source, record: snapshot?.record ?? {}, fieldModifiedAt: snapshot?.fieldModifiedAt },
				base: snapshot,
			};
			return finish(resolved, change, unifiedId, at, {
				action: 'review', merged: null, needsReview: true, reviewInput, decisions: merge.decisions, conflicts: merge.conflicts,
				reason: `needs review: ${merge.review.join('; ')}`,
			});
		}
		// A holder whose lock lapsed writes nothing: another may have merged into the snapshot since.
		lockLost.throwIfAborted();
		if (!snapshot && change.recordId) await store.link({ entity: change.entity, unifiedId, crm: change.source, recordId: change.recordId });
		if (merge.dirty) await store.putSnapshot(merge.snapshot);
		const sourceHeld = merge.snapshot.held?.[change.source]?.fields ?? {};
		const sourcePatch: UnifiedRecord = {};
		for (const [field, value] of Object.entries(merge.snapshot.record)) {
			if (sourceHeld[field] !== undefined && sourceHeld[field] !== heldValueHash(value)) sourcePatch[field] = value;
		}
		const correctSource = Object.keys(sourcePatch).length > 0;
		const action: StateAction = !snapshot ? 'create' : merge.changed.length > 0 || correctSource ? 'update' : 'skip';
		const reason = !snapshot
			? 'first sync of this record'
			: merge.conflicts.length > 0
				? `resolved ${merge.conflicts.length} conflict(s) by ${resolved.strategy}`
				: merge.changed.length > 0
					? 'merged without conflict'
					: correctSource
						? 'no new value; the source holds an outdated one'
						: 'no differences from the synced state';
		return finish(resolved, change, unifiedId, at, {
			action, merged: merge.snapshot.record, revision: merge.snapshot.revision, changed: merge.changed, sourcePatch, correctSource,
			decisions: merge.decisions, conflicts: merge.conflicts, reason,
		});
	}, lock);
}

async function identityOf(store: StateStore, change: StateChange): Promise<string> {
	if (change.unifiedId) return change.unifiedId;
	if (!change.recordId) throw new ConflictError('The change needs "recordId" (the record\'s id in the source CRM) or "unifiedId"');
	return (await store.findUnifiedId(change.entity, change.source, change.recordId)) ?? syncIdentity(change.source, change.recordId);
}

interface StateMerge {
	snapshot: Snapshot;
	dirty: boolean;
	changed: string[];
	decisions: FieldDecision[];
	conflicts: string[];
	review: string[];
	reviewAgainst?: CrmName;
}

function mergeIntoState(change: StateChange, unifiedId: string, snapshot: Snapshot | undefined, options: ResolvedOptions, at: Date): StateMerge {
	const source = change.source;
	const ignore = new Set(options.ignoreFields);
	const consent = new Set(options.consentFields);
	const eventTime = parseTime(change.modifiedAt) ?? at.getTime();
	const timeOf = (field: string) => parseTime(change.fieldModifiedAt?.[field]) ?? eventTime;
	const record: UnifiedRecord = { ...(snapshot?.record ?? {}) };
	const fieldModifiedAt = { ...(snapshot?.fieldModifiedAt ?? {}) };
	const fieldSource = { ...(snapshot?.fieldSource ?? {}) };
	const held = snapshot?.held?.[source];
	const heldAt = parseTime(held?.at);
	const out: StateMerge = { snapshot: snapshot as Snapshot, dirty: false, changed: [], decisions: [], conflicts: [], review: [] };
	const provided = Object.entries(change.record ?? {})
		.filter(([f, v]) => v !== undefined && !ignore.has(f) && !isPrototypeKey(f))
		.sort(([a], [b]) => a.localeCompare(b));

	for (const [field, value] of provided) {
		const current = snapshot?.record[field];
		if (snapshot && valuesEqual(value, current)) continue;
		const incomingTime = timeOf(field);
		if (!snapshot) {
			record[field] = value;
			fieldModifiedAt[field] = iso(incomingTime);
			fieldSource[field] = source;
			continue;
		}
		const origin = fieldSource[field];
		const storedTime = parseTime(fieldModifiedAt[field]) ?? parseTime(snapshot.syncedAt);
		const heldHash = held?.fields[field];
		let kind: FieldChange = 'conflict';
		let winner: Side;
		let reason: string;
		if (heldHash !== undefined && heldHash === heldValueHash(value)) {
			kind = 'target-only';
			winner = 'target';
			reason = `${source} still holds the value it had; not changed there`;
		} else if (origin === source) {
			kind = 'source-only';
			const newer = storedTime === undefined || incomingTime >= storedTime;
			winner = newer ? 'source' : 'target';
			reason = newer ? `newer change in ${source}` : `older change from ${source} than the synced one (reordered event)`;
		} else if (heldHash === heldValueHash(current) && heldAt !== undefined && incomingTime > heldAt + options.clockSkewToleranceMs) {
			kind = 'source-only';
			winner = 'source';
			reason = `changed in ${source} after the synced value reached it`;
		} else {
			out.conflicts.push(field);
			const choice = strategies[options.strategy].decide(
				{ field, source: { crm: source, value, time: incomingTime }, target: { crm: origin ?? source, value: current, time: storedTime }, base: current },
				options,
			);
			if ('review' in choice) {
				out.review.push(choice.reason);
				out.reviewAgainst = origin;
				continue;
			}
			winner = choice.winner;
			reason = choice.reason;
		}
		let consentGuard = false;
		if (consent.has(field)) {
			const guarded = guardConsent({ winner, sourceValue: value, targetValue: current, sourceTime: incomingTime, targetTime: storedTime, toleranceMs: options.clockSkewToleranceMs });
			if (guarded.reason) {
				winner = guarded.winner;
				reason = `${reason}; ${guarded.reason}`;
				consentGuard = true;
			}
		}
		if (winner === 'source') {
			record[field] = value;
			fieldModifiedAt[field] = iso(incomingTime);
			fieldSource[field] = source;
			out.changed.push(field);
		}
		out.decisions.push({
			field, change: kind, winner, winnerCrm: winner === 'source' ? source : (origin ?? source), reason,
			sourceValue: value, targetValue: current, baseValue: current, value: winner === 'source' ? value : current,
			...(consentGuard ? { consentGuard } : {}),
		});
	}

	// What the source holds now: its provided values, unless the event is older than what we knew.
	// An event just older than our write (within the skew tolerance; Pipedrive stamps whole
	// seconds) may also be a person's edit made just after it, or one our write overwrote: the
	// fields it reports differently are unknown, so the truth is written to the source again.
	let nextHeld: HeldValues | undefined = held;
	if (heldAt === undefined || eventTime >= heldAt) {
		nextHeld = { at: iso(Math.max(eventTime, heldAt ?? eventTime)), fields: { ...(held?.fields ?? {}), ...Object.fromEntries(provided.map(([f, v]) => [f, heldValueHash(v)])) } };
	} else if (held && eventTime + options.clockSkewToleranceMs >= heldAt) {
		const differing = provided.filter(([f, v]) => held.fields[f] !== heldValueHash(v));
		nextHeld = { at: held.at, fields: { ...held.fields, ...Object.fromEntries(differing.map(([f]) => [f, UNKNOWN_HELD])) } };
	}
	const heldChanged = JSON.stringify(nextHeld) !== JSON.stringify(held);
	if (!snapshot) {
		out.changed = Object.keys(record).sort();
		out.dirty = true;
	} else {
		out.dirty = out.changed.length > 0 || heldChanged;
	}
	out.snapshot = {
		...(snapshot ?? {}),
		entity: change.entity,
		unifiedId,
		record,
		fieldModifiedAt,
		fieldSource,
		syncedAt: out.changed.length > 0 || !snapshot ? at.toISOString() : snapshot.syncedAt,
		revision: (snapshot?.revision ?? 0) + (out.changed.length > 0 ? 1 : 0),
		held: { ...(snapshot?.held ?? {}), ...(nextHeld ? { [source]: nextHeld } : {}) },
	};
	return out;
}

type Partial_ = Partial<Omit<StateResolution, 'strategy' | 'entity' | 'unifiedId' | 'source' | 'audit'>> & Pick<StateResolution, 'action' | 'merged' | 'reason'>;

function finish(options: ResolvedOptions, change: StateChange, unifiedId: string, at: Date, partial: Partial_): StateResolution {
	const outcome = {
		changed: [], sourcePatch: {}, correctSource: false, decisions: [], conflicts: [], needsReview: false,
		...partial,
		strategy: options.strategy, entity: change.entity, unifiedId, source: change.source,
	} as Omit<StateResolution, 'audit'>;
	const decided = outcome.decisions.filter((d) => d.change === 'conflict' || d.consentGuard);
	const winners = [...new Set(decided.map((d) => d.winnerCrm))];
	const values: Record<string, unknown> = {};
	for (const d of outcome.decisions) values[d.field] = { source: d.sourceValue, state: d.targetValue, merged: d.value };
	return {
		...outcome,
		audit: {
			at: at.toISOString(),
			kind: `conflict.state.${outcome.action}`,
			entity: outcome.entity,
			unifiedId,
			strategy: options.strategy,
			fields: outcome.decisions.map((d) => d.field),
			winner: outcome.needsReview ? 'review' : decided.length === 0 ? 'no-conflict' : winners.length === 1 ? winners[0] : 'mixed',
			details: {
				source: outcome.source, modifiedAt: change.modifiedAt, action: outcome.action, reason: outcome.reason, revision: outcome.revision, conflicts: outcome.conflicts,
				decisions: outcome.decisions.map((d) => ({ field: d.field, change: d.change, winner: d.winnerCrm, reason: d.reason })),
			},
			values,
		},
	};
}
