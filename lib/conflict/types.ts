// Types of the conflict resolver: what goes in (incoming change, target's current record, base
// snapshot), the options, and what comes out (merged record, per-field decisions, action).

import type { CrmName, EntityType, UnifiedRecord } from '../model';
import type { AuditEntry, Snapshot } from '../state/types';

/** A timestamp: ISO-8601 string, epoch milliseconds, or Date. Unparseable = missing. */
export type TimeInput = string | number | Date;

/** One side of the merge: a CRM's view of the record. */
export interface SideState {
	crm: CrmName;
	/**
	 * Field values in the unified model. A field that is absent (undefined) is "not provided" and
	 * counts as unchanged since the base; null or '' means "cleared". Ignored when deleted.
	 */
	record?: UnifiedRecord;
	/** Record-level last modification time. */
	modifiedAt?: TimeInput;
	/** Per-field modification times, when the CRM provides them (preferred over modifiedAt). */
	fieldModifiedAt?: Record<string, TimeInput>;
	/** The record was deleted on this side (for the incoming side: the change is a delete). */
	deleted?: boolean;
}

export interface ConflictInput {
	entity: EntityType;
	unifiedId?: string;
	/** The change that arrived from the source CRM. */
	incoming: SideState;
	/** The target CRM's current record; undefined when the record does not exist there yet. */
	target?: SideState;
	/** The last synced snapshot (base of the three-way merge); undefined on first sync. */
	base?: Snapshot;
}

export const STRATEGIES = ['last-modified-wins', 'source-system-wins', 'field-level', 'crm-wins', 'manual-review'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Per-field rule of the field-level strategy. */
export const FIELD_RULES = ['source', 'target', 'newest', 'priority'] as const;
export type FieldRule = (typeof FIELD_RULES)[number];

/**
 * What happens when a delete meets a concurrent update (or an update meets a tombstone):
 * - tombstone (default): the delete wins; a tombstone is kept so the record is never re-created;
 * - update-wins: the update wins; the deleted record is restored (re-created) with merged data;
 * - newest: whichever of the delete and the update is newer wins (tombstone if the delete);
 * - review: send to manual review.
 */
export const DELETE_POLICIES = ['tombstone', 'update-wins', 'newest', 'review'] as const;
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

export const DEFAULT_CONSENT_FIELDS = ['emailOptOut', 'doNotCall', 'unsubscribed', 'doNotEmail', 'smsOptOut'];

export interface ConflictOptions {
	strategy: StrategyName;
	/** CRMs from highest to lowest priority (source-system-wins, 'priority' field rule, tie-breaks). */
	crmPriority?: CrmName[];
	/** crm-wins: the CRM whose value wins. */
	winningCrm?: CrmName;
	/** field-level: rule per field; fields without one use defaultFieldRule. */
	fieldRules?: Record<string, FieldRule>;
	/** field-level: rule for fields without an explicit rule. Default 'newest'. */
	defaultFieldRule?: FieldRule;
	/** Fields where true means "opted out". Default DEFAULT_CONSENT_FIELDS. */
	consentFields?: string[];
	deletePolicy?: DeletePolicy;
	/** Timestamps closer than this are treated as simultaneous (a tie). Default 1000 ms. */
	clockSkewToleranceMs?: number;
	/** Fields never merged or written (e.g. system timestamps). Default ['id', 'createdAt', 'updatedAt', 'modifiedAt']. */
	ignoreFields?: string[];
}

/** Which side a field's merged value comes from. */
export type Side = 'source' | 'target';

export type FieldChange =
	/** Same on both sides as in the base (or equal on both sides without a base). */
	| 'unchanged'
	/** Changed on the source side only: taken without conflict. */
	| 'source-only'
	/** Changed on the target side only: kept without conflict. */
	| 'target-only'
	/** Changed on both sides to the same value. */
	| 'both-same'
	/** Changed on both sides to different values: the strategy decides. */
	| 'conflict';

export interface FieldDecision {
	field: string;
	change: FieldChange;
	/** Whose value is in the merged record. */
	winner: Side;
	winnerCrm: CrmName;
	/** Why (e.g. 'newer per-field timestamp', 'crm priority', 'consent: opt-out kept'). */
	reason: string;
	sourceValue: unknown;
	targetValue: unknown;
	baseValue?: unknown;
	value: unknown;
	/** The consent guard overrode the strategy's choice. */
	consentGuard?: boolean;
}

export type ResolutionAction =
	/** Write targetPatch to the target (and sourcePatch back to the source, if any). */
	| 'update'
	/** The target has no record yet: create it from `merged`. */
	| 'create'
	/** Delete the record in the target; keep the tombstone. */
	| 'delete'
	/** Re-create the record in `restoreIn` (it was deleted there) from `merged`. */
	| 'restore'
	/** Nothing to write (no differences, or tombstoned). */
	| 'skip'
	/** Needs a human: nothing is written. */
	| 'review';

export interface Resolution {
	action: ResolutionAction;
	strategy: StrategyName;
	entity: EntityType;
	unifiedId?: string;
	source: CrmName;
	target?: CrmName;
	/** The agreed record after the merge; null when the outcome is a delete. */
	merged: UnifiedRecord | null;
	/** Fields to write to the target CRM (merged values differing from the target's). */
	targetPatch: UnifiedRecord;
	/** Fields to write back to the source CRM (where the target's value won). */
	sourcePatch: UnifiedRecord;
	decisions: FieldDecision[];
	/** Fields that were true conflicts (changed on both sides to different values). */
	conflicts: string[];
	needsReview: boolean;
	/** Human-readable summary of why (always set for review, skip, delete, restore). */
	reason: string;
	/** For 'restore': the CRM in which the record must be re-created. */
	restoreIn?: CrmName;
	/** The snapshot to store once the writes succeeded (the next base); tombstoned for deletes. */
	snapshot?: Snapshot;
	/** One entry describing this decision (values only kept if the store enables them). */
	audit: AuditEntry;
}

/** A reviewer's decision on a queued item. */
export interface ReviewDecision {
	/** Default winner for conflicting fields (and for delete-vs-update: source = incoming side). */
	winner: Side;
	/** Per-field override: a side, or an explicit value. */
	fields?: Record<string, Side | { value: unknown }>;
}

/** What a review queue item carries (ReviewItem.payload). */
export interface ConflictReviewPayload {
	kind: 'crm-sync.conflict';
	input: ConflictInput;
	options: ConflictOptions;
	conflicts: string[];
}
