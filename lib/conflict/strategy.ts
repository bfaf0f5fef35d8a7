// The contract of a conflict strategy, and the comparisons strategies share (newest, priority,
// deterministic tie-break). A strategy only decides true conflicts, one field at a time.

import type { CrmName } from '../model';
import { canonicalJson } from '../state/fingerprint';
import type { ConflictOptions, Side } from './types';
import { compareTimes, isEmpty } from './values';

export interface ConflictSide {
	crm: CrmName;
	value: unknown;
	/** Modification time of this field on this side (ms), if known. */
	time?: number;
}

/** One field changed on both sides to different values. */
export interface FieldConflict {
	field: string;
	source: ConflictSide;
	target: ConflictSide;
	base?: unknown;
}

export type StrategyChoice =
	| { winner: Side; reason: string; value?: never }
	/** An explicit value (reviewer override); `winner` names the side it is attributed to. */
	| { winner: Side; reason: string; value: { value: unknown } }
	| { review: true; reason: string };

/** Options with defaults applied (see normalizeOptions). */
export type ResolvedOptions = Required<Omit<ConflictOptions, 'winningCrm'>> & Pick<ConflictOptions, 'winningCrm'>;

export interface ConflictStrategy {
	decide(conflict: FieldConflict, options: ResolvedOptions): StrategyChoice;
}

/** Rank in the priority list: lower is stronger; unlisted CRMs rank after all listed ones. */
function rank(crm: CrmName, priority: CrmName[]): number {
	const index = priority.indexOf(crm);
	return index === -1 ? priority.length : index;
}

/** The higher-priority side, or undefined when both rank the same. */
export function byPriority(conflict: FieldConflict, options: ResolvedOptions): { winner: Side; reason: string } | undefined {
	const s = rank(conflict.source.crm, options.crmPriority);
	const t = rank(conflict.target.crm, options.crmPriority);
	if (s === t) return undefined;
	const winner: Side = s < t ? 'source' : 'target';
	return { winner, reason: `crm priority (${conflict[winner].crm} ranks higher)` };
}

/**
 * Deterministic tie-break that gives the same answer whichever side is "source" (so two
 * resolvers processing the two directions of one conflict agree): CRM priority, then a
 * non-empty value over an empty one, then CRM name order (the same side for every field of a
 * tied change, so a record never mixes the values of two edits), then, between two changes of
 * one CRM, the smaller value in canonical JSON order.
 */
export function tieBreak(conflict: FieldConflict, options: ResolvedOptions, why: string): StrategyChoice {
	const priority = byPriority(conflict, options);
	if (priority) return { winner: priority.winner, reason: `${why}; ${priority.reason}` };
	const sEmpty = isEmpty(conflict.source.value);
	const tEmpty = isEmpty(conflict.target.value);
	if (sEmpty !== tEmpty) return { winner: sEmpty ? 'target' : 'source', reason: `${why}; non-empty value preferred` };
	if (conflict.source.crm !== conflict.target.crm) {
		return { winner: conflict.source.crm < conflict.target.crm ? 'source' : 'target', reason: `${why}; crm name order` };
	}
	const s = canonicalJson(conflict.source.value);
	const t = canonicalJson(conflict.target.value);
	return { winner: s <= t ? 'source' : 'target', reason: `${why}; value order` };
}

/** Newer timestamp wins; ties (within the skew tolerance) and missing timestamps are tie-broken. */
export function byNewest(conflict: FieldConflict, options: ResolvedOptions): StrategyChoice {
	const order = compareTimes(conflict.source.time, conflict.target.time, options.clockSkewToleranceMs);
	if (order === 1) return { winner: 'source', reason: 'newer timestamp' };
	if (order === -1) return { winner: 'target', reason: 'newer timestamp' };
	if (order === 0) return tieBreak(conflict, options, `timestamps within ${options.clockSkewToleranceMs} ms (tie)`);
	const missing = conflict.source.time === undefined && conflict.target.time === undefined ? 'both timestamps' : 'a timestamp';
	return tieBreak(conflict, options, `${missing} missing`);
}
