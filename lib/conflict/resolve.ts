// The resolver: a three-way merge of the incoming change and the target's current record against
// the last synced snapshot, the chosen strategy for true conflicts, the consent guard, and the
// delete policy for deletes meeting updates. Pure: no I/O (the node / review.ts do the I/O).

import { isCrmName, isEntityType, isPrototypeKey, type CrmName, type UnifiedRecord } from '../model';
import type { AuditEntry, Snapshot } from '../state/types';
import { guardConsent } from './consent';
import { ConflictError, normalizeOptions } from './options';
import { strategies } from './strategies';
import type { FieldConflict, ResolvedOptions, StrategyChoice } from './strategy';
import type { ConflictInput, ConflictOptions, FieldChange, FieldDecision, Resolution, SideState, Side } from './types';
import { compareTimes, isEmpty, parseTime, valuesEqual } from './values';

/** Decides one true conflict (a strategy, or a reviewer's decision). */
export type ConflictDecider = (conflict: FieldConflict) => StrategyChoice;

export function resolveConflict(input: ConflictInput, options: ConflictOptions, now: Date = new Date()): Resolution {
	const resolved = normalizeOptions(options);
	const strategy = strategies[resolved.strategy];
	return resolveWith(input, resolved, (conflict) => strategy.decide(conflict, resolved), undefined, now);
}

/**
 * The resolver with a given decider. `reviewer` is set when a human decided a queued item: it
 * also settles delete-versus-update (the reviewer's side wins).
 */
export function resolveWith(
	input: ConflictInput,
	options: ResolvedOptions,
	decide: ConflictDecider,
	reviewer: Side | undefined,
	now: Date,
): Resolution {
	validateInput(input);
	const outcome = input.incoming.deleted
		? resolveIncomingDelete(input, options, reviewer, now)
		: input.base?.deletedAt || input.target?.deleted
			? resolveUpdateOfDeleted(input, options, decide, reviewer, now)
			: resolveUpdate(input, options, decide, now);
	return { ...outcome, audit: auditEntry(outcome, options, now) };
}

type Outcome = Omit<Resolution, 'audit'>;

function validateInput(input: ConflictInput): void {
	if (!input || typeof input !== 'object') throw new ConflictError('Conflict input must be an object');
	if (!isEntityType(input.entity)) throw new ConflictError(`Unknown entity type ${JSON.stringify(input.entity)}`);
	checkSide(input.incoming, 'incoming');
	if (input.target !== undefined) checkSide(input.target, 'target');
	if (input.base !== undefined && (typeof input.base.record !== 'object' || input.base.record === null)) {
		throw new ConflictError('base.record must be an object');
	}
}

function checkSide(side: SideState | undefined, name: string): void {
	if (!side || typeof side !== 'object') throw new ConflictError(`${name} is missing`);
	if (!isCrmName(side.crm)) throw new ConflictError(`${name}.crm must be a CRM name, got ${JSON.stringify(side.crm)}`);
	if (!side.deleted && (typeof side.record !== 'object' || side.record === null || Array.isArray(side.record))) {
		throw new ConflictError(`${name}.record must be an object (or set ${name}.deleted)`);
	}
	for (const [label, value] of [['modifiedAt', side.modifiedAt]] as const) {
		if (value !== undefined && value !== null && value !== '' && parseTime(value) === undefined) {
			throw new ConflictError(`${name}.${label} is not a valid timestamp: ${JSON.stringify(value)}`);
		}
	}
}

// ---- times ----

/** Modification time of one field on one side; an unchanged value dates from the base. */
function fieldTime(side: SideState | undefined, field: string, unchanged: boolean, base: Snapshot | undefined): number | undefined {
	if (!side) return undefined;
	const own = parseTime(side.fieldModifiedAt?.[field]);
	if (own !== undefined) return own;
	if (unchanged && base) return parseTime(base.fieldModifiedAt?.[field]) ?? parseTime(base.syncedAt) ?? parseTime(side.modifiedAt);
	return parseTime(side.modifiedAt);
}

/** Latest known modification of a whole side. */
function recordTime(side: SideState | undefined): number | undefined {
	if (!side) return undefined;
	const times = [parseTime(side.modifiedAt), ...Object.values(side.fieldModifiedAt ?? {}).map(parseTime)].filter(
		(t): t is number => t !== undefined,
	);
	return times.length > 0 ? Math.max(...times) : undefined;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

// ---- the field-by-field three-way merge ----

interface Merge {
	merged: UnifiedRecord;
	decisions: FieldDecision[];
	conflicts: string[];
	reviewReasons: string[];
	targetPatch: UnifiedRecord;
	sourcePatch: UnifiedRecord;
	fieldTimes: Record<string, string>;
}

function mergeFields(input: ConflictInput, options: ResolvedOptions, decide: ConflictDecider): Merge {
	const { incoming, target, base } = input;
	const sourceRecord = incoming.record ?? {};
	const targetRecord = target?.record ?? {};
	const baseRecord = base?.record;
	const ignore = new Set(options.ignoreFields);
	const consent = new Set(options.consentFields);
	const fields = [...new Set([...Object.keys(sourceRecord), ...Object.keys(targetRecord), ...Object.keys(baseRecord ?? {})])]
		.filter((f) => !ignore.has(f) && !isPrototypeKey(f))
		.sort();
	const result: Merge = { merged: {}, decisions: [], conflicts: [], reviewReasons: [], targetPatch: {}, sourcePatch: {}, fieldTimes: {} };
	const targetCrm = target?.crm ?? incoming.crm;

	for (const field of fields) {
		const b = baseRecord?.[field];
		// Absent = not provided: treated as unchanged since the base.
		const s = sourceRecord[field] === undefined ? b : sourceRecord[field];
		const t = targetRecord[field] === undefined ? b : targetRecord[field];
		const sourceChanged = baseRecord ? !valuesEqual(s, b) : !isEmpty(s);
		const targetChanged = baseRecord ? !valuesEqual(t, b) : !isEmpty(t);
		const change = classify(Boolean(baseRecord), sourceChanged, targetChanged, s, t);
		if (change === 'unchanged') {
			// Equal on both sides: nothing to decide or date; written only to a record being created.
			const value = target ? t : s;
			if (value !== undefined) result.merged[field] = value;
			if (!target && !isEmpty(value)) result.targetPatch[field] = value;
			continue;
		}
		const sourceTime = fieldTime(incoming, field, Boolean(baseRecord) && !sourceChanged, base);
		const targetTime = fieldTime(target, field, Boolean(baseRecord) && !targetChanged, base);

		let winner: Side = change === 'source-only' || !target ? 'source' : 'target';
		let reason = REASONS[change];
		let explicit: { value: unknown } | undefined;
		let consentGuard = false;
		let inReview = false;
		if (change === 'conflict') {
			result.conflicts.push(field);
			const choice = decide({
				field,
				source: { crm: incoming.crm, value: s, time: sourceTime },
				target: { crm: targetCrm, value: t, time: targetTime },
				base: b,
			});
			reason = choice.reason;
			if ('review' in choice) {
				inReview = true;
				result.reviewReasons.push(choice.reason);
			} else {
				winner = choice.winner;
				explicit = choice.value;
			}
		}
		if (consent.has(field) && target && !inReview && !explicit && !valuesEqual(s, t)) {
			const guarded = guardConsent({ winner, sourceValue: s, targetValue: t, sourceTime, targetTime, toleranceMs: options.clockSkewToleranceMs });
			if (guarded.reason) {
				winner = guarded.winner;
				reason = `${reason}; ${guarded.reason}`;
				consentGuard = true;
			}
		}
		const value = explicit ? explicit.value : winner === 'source' ? s : t;
		if (value !== undefined) result.merged[field] = value;
		const time = iso(winner === 'source' ? sourceTime : targetTime);
		if (time) result.fieldTimes[field] = time;
		if (target && !valuesEqual(value, t)) result.targetPatch[field] = value ?? null;
		if (!target && !isEmpty(value)) result.targetPatch[field] = value;
		if (!valuesEqual(value, s)) result.sourcePatch[field] = value ?? null;
		result.decisions.push({
			field,
			change,
			winner,
			winnerCrm: winner === 'source' ? incoming.crm : targetCrm,
			reason,
			sourceValue: s,
			targetValue: t,
			...(baseRecord ? { baseValue: b } : {}),
			value,
			...(consentGuard ? { consentGuard } : {}),
		});
	}
	return result;
}

const REASONS: Record<FieldChange, string> = {
	unchanged: 'unchanged',
	'source-only': 'changed in source only',
	'target-only': 'changed in target only',
	'both-same': 'same value on both sides',
	conflict: 'conflict',
};

function classify(hasBase: boolean, sourceChanged: boolean, targetChanged: boolean, s: unknown, t: unknown): FieldChange {
	if (valuesEqual(s, t)) return sourceChanged && hasBase ? 'both-same' : 'unchanged';
	if (sourceChanged && targetChanged) return 'conflict';
	// Without a base (first sync) "changed" means "has a value": an empty side is filled in.
	return sourceChanged ? 'source-only' : 'target-only';
}

function snapshotOf(input: ConflictInput, record: UnifiedRecord, fieldTimes: Record<string, string>, now: Date): Snapshot | undefined {
	if (!input.unifiedId) return undefined;
	return {
		entity: input.entity,
		unifiedId: input.unifiedId,
		record,
		fieldModifiedAt: { ...(input.base?.fieldModifiedAt ?? {}), ...fieldTimes },
		syncedAt: now.toISOString(),
	};
}

function tombstoneOf(input: ConflictInput, deletedBy: CrmName, deletedAt: number | undefined, now: Date): Snapshot | undefined {
	if (!input.unifiedId) return undefined;
	return {
		entity: input.entity,
		unifiedId: input.unifiedId,
		record: input.base?.record ?? {},
		fieldModifiedAt: input.base?.fieldModifiedAt ?? {},
		syncedAt: now.toISOString(),
		deletedAt: iso(deletedAt) ?? now.toISOString(),
		deletedBy,
	};
}

function common(input: ConflictInput, options: ResolvedOptions) {
	return { strategy: options.strategy, entity: input.entity, unifiedId: input.unifiedId, source: input.incoming.crm, target: input.target?.crm };
}

// ---- updates ----

function resolveUpdate(input: ConflictInput, options: ResolvedOptions, decide: ConflictDecider, now: Date): Outcome {
	const merge = mergeFields(input, options, decide);
	const base = { ...common(input, options), merged: merge.merged, decisions: merge.decisions, conflicts: merge.conflicts };
	if (merge.reviewReasons.length > 0) {
		return {
			...base,
			action: 'review',
			targetPatch: {},
			sourcePatch: {},
			needsReview: true,
			reason: `needs review: ${merge.reviewReasons.join('; ')}`,
		};
	}
	const snapshot = snapshotOf(input, merge.merged, merge.fieldTimes, now);
	if (!input.target) {
		return { ...base, action: 'create', targetPatch: merge.targetPatch, sourcePatch: {}, needsReview: false, reason: 'no record in target yet', snapshot };
	}
	const nothing = Object.keys(merge.targetPatch).length === 0 && Object.keys(merge.sourcePatch).length === 0;
	const reason =
		merge.conflicts.length === 0 ? (nothing ? 'no differences' : 'merged without conflict') : `resolved ${merge.conflicts.length} conflict(s) by ${options.strategy}`;
	return { ...base, action: nothing ? 'skip' : 'update', targetPatch: merge.targetPatch, sourcePatch: merge.sourcePatch, needsReview: false, reason, snapshot };
}

// ---- deletes ----

type DeleteOutcome = { outcome: 'delete' | 'update' | 'review'; reason: string };

/** Apply the delete policy to a delete that met a concurrent update. */
function deleteVersusUpdate(
	options: ResolvedOptions,
	reviewer: Side | undefined,
	deleteSide: Side,
	deleteTime: number | undefined,
	updateTime: number | undefined,
): DeleteOutcome {
	if (reviewer) return { outcome: reviewer === deleteSide ? 'delete' : 'update', reason: 'reviewer decision' };
	switch (options.deletePolicy) {
		case 'tombstone':
			return { outcome: 'delete', reason: 'delete wins over the concurrent update (delete policy: tombstone)' };
		case 'update-wins':
			return { outcome: 'update', reason: 'the concurrent update wins over the delete (delete policy: update-wins)' };
		case 'review':
			return { outcome: 'review', reason: 'delete versus concurrent update (delete policy: review)' };
		case 'newest': {
			const order = compareTimes(updateTime, deleteTime, options.clockSkewToleranceMs);
			if (order === 1) return { outcome: 'update', reason: 'the update is newer than the delete (delete policy: newest)' };
			const why = order === undefined ? 'a timestamp is missing' : order === 0 ? 'tie' : 'the delete is newer';
			return { outcome: 'delete', reason: `delete wins: ${why} (delete policy: newest)` };
		}
	}
}

function resolveIncomingDelete(input: ConflictInput, options: ResolvedOptions, reviewer: Side | undefined, now: Date): Outcome {
	const { incoming, target, base } = input;
	const deleteTime = parseTime(incoming.modifiedAt);
	const tombstone = tombstoneOf(input, incoming.crm, deleteTime, now);
	const shared = { ...common(input, options), decisions: [], conflicts: [], targetPatch: {}, sourcePatch: {}, needsReview: false };
	if (!target || target.deleted || base?.deletedAt) {
		const reason = !target ? 'deleted in source; no record in target' : 'already deleted in target';
		return { ...shared, action: 'skip', merged: null, reason, snapshot: base?.deletedAt ? undefined : tombstone };
	}
	const ignore = new Set(options.ignoreFields);
	const updateTime = recordTime(target);
	const concurrent = base
		? Object.entries(target.record ?? {}).some(([f, v]) => !ignore.has(f) && !isPrototypeKey(f) && v !== undefined && !valuesEqual(v, base.record[f]))
		: compareTimes(updateTime, deleteTime, options.clockSkewToleranceMs) === 1;
	if (!concurrent) {
		return { ...shared, action: 'delete', merged: null, reason: `deleted in ${incoming.crm}`, snapshot: tombstone };
	}
	const decision = deleteVersusUpdate(options, reviewer, 'source', deleteTime, updateTime);
	if (decision.outcome === 'delete') return { ...shared, action: 'delete', merged: null, reason: decision.reason, snapshot: tombstone };
	if (decision.outcome === 'review') return { ...shared, action: 'review', merged: null, needsReview: true, reason: `needs review: ${decision.reason}` };
	// Restore in the source CRM from the target's (updated) record.
	const merged: UnifiedRecord = {};
	for (const [f, v] of Object.entries({ ...(base?.record ?? {}), ...(target.record ?? {}) })) if (!ignore.has(f) && !isPrototypeKey(f) && v !== undefined) merged[f] = v;
	return {
		...shared,
		action: 'restore',
		restoreIn: incoming.crm,
		merged,
		sourcePatch: merged,
		reason: decision.reason,
		snapshot: snapshotOf(input, merged, {}, now),
	};
}

function resolveUpdateOfDeleted(
	input: ConflictInput,
	options: ResolvedOptions,
	decide: ConflictDecider,
	reviewer: Side | undefined,
	now: Date,
): Outcome {
	const { incoming, target, base } = input;
	const deleteTime = target?.deleted ? (parseTime(target.modifiedAt) ?? parseTime(base?.deletedAt)) : parseTime(base?.deletedAt);
	const deletedBy = base?.deletedBy ?? target?.crm ?? incoming.crm;
	const updateTime = recordTime(incoming);
	const shared = { ...common(input, options), decisions: [], conflicts: [], targetPatch: {}, sourcePatch: {}, needsReview: false };
	const tombstone = base?.deletedAt ? undefined : tombstoneOf(input, deletedBy, deleteTime, now);
	if (!reviewer && compareTimes(updateTime, deleteTime, options.clockSkewToleranceMs) !== 1) {
		const reason = 'tombstoned: the update is not newer than the delete (late delivery or echo); not re-created';
		return { ...shared, action: 'skip', merged: null, reason, snapshot: tombstone };
	}
	const decision = deleteVersusUpdate(options, reviewer, 'target', deleteTime, updateTime);
	if (decision.outcome === 'delete') {
		return { ...shared, action: 'skip', merged: null, reason: `tombstoned: deleted records are not re-created (${decision.reason})`, snapshot: tombstone };
	}
	if (decision.outcome === 'review') return { ...shared, action: 'review', merged: null, needsReview: true, reason: `needs review: ${decision.reason}` };
	// Restore: merge the update over the last synced state, as if the target had no record.
	const merge = mergeFields({ ...input, target: undefined }, options, decide);
	return {
		...shared,
		action: 'restore',
		restoreIn: target?.crm ?? deletedBy,
		merged: merge.merged,
		decisions: merge.decisions,
		targetPatch: merge.targetPatch,
		reason: decision.reason,
		snapshot: snapshotOf(input, merge.merged, merge.fieldTimes, now),
	};
}

// ---- audit ----

function auditEntry(outcome: Outcome, options: ResolvedOptions, now: Date): AuditEntry {
	const decided = outcome.decisions.filter((d) => d.change === 'conflict' || d.consentGuard);
	const winners = [...new Set(decided.map((d) => d.winnerCrm))];
	const winner = outcome.needsReview
		? 'review'
		: decided.length === 0
			? outcome.action === 'delete' || outcome.action === 'restore'
				? outcome.action
				: 'no-conflict'
			: winners.length === 1
				? winners[0]
				: 'mixed';
	const values: Record<string, unknown> = {};
	for (const d of outcome.decisions) values[d.field] = { source: d.sourceValue, target: d.targetValue, merged: d.value };
	return {
		at: now.toISOString(),
		kind: `conflict.${outcome.action}`,
		entity: outcome.entity,
		unifiedId: outcome.unifiedId,
		strategy: options.strategy,
		fields: outcome.decisions.map((d) => d.field),
		winner,
		details: {
			source: outcome.source,
			target: outcome.target,
			action: outcome.action,
			reason: outcome.reason,
			conflicts: outcome.conflicts,
			decisions: outcome.decisions.map((d) => ({ field: d.field, change: d.change, winner: d.winnerCrm, reason: d.reason })),
			...(outcome.restoreIn ? { restoreIn: outcome.restoreIn } : {}),
		},
		values,
	};
}
