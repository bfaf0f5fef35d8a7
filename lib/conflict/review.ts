// Manual review: queue a conflict (input + options, nothing written) and later apply a
// reviewer's decision to produce the record to write. The queue lives in the StateStore.

import type { AuditEntry, ReviewItem, StateStore } from '../state/types';
import { ConflictError, normalizeOptions } from './options';
import { resolveWith } from './resolve';
import type { ConflictInput, ConflictOptions, ConflictReviewPayload, Resolution, ReviewDecision, Side } from './types';

function isSide(value: unknown): value is Side {
	return value === 'source' || value === 'target';
}

export function validateReviewDecision(decision: unknown): ReviewDecision {
	const d = decision as ReviewDecision;
	if (!d || typeof d !== 'object' || !isSide(d.winner)) {
		throw new ConflictError('A review decision needs winner: "source" or "target"');
	}
	for (const [field, choice] of Object.entries(d.fields ?? {})) {
		if (!isSide(choice) && !(choice && typeof choice === 'object' && 'value' in choice)) {
			throw new ConflictError(`Review decision for field ${field} must be "source", "target" or { "value": ... }`);
		}
	}
	return d;
}

/** Re-run the merge of a queued conflict with the reviewer deciding every true conflict. */
export function applyReviewDecision(payload: ConflictReviewPayload, decision: ReviewDecision, now: Date = new Date()): Resolution {
	const checked = validateReviewDecision(decision);
	const options = normalizeOptions(payload.options);
	return resolveWith(
		payload.input,
		options,
		(conflict) => {
			const choice = checked.fields?.[conflict.field] ?? checked.winner;
			return isSide(choice)
				? { winner: choice, reason: `reviewer chose ${choice}` }
				: { winner: checked.winner, reason: 'reviewer set the value', value: { value: choice.value } };
		},
		checked.winner,
		now,
	);
}

export function reviewPayload(input: ConflictInput, options: ConflictOptions, resolution: Resolution): ConflictReviewPayload {
	return { kind: 'crm-sync.conflict', input, options, conflicts: resolution.conflicts };
}

/** Queue a resolution that needs review. The payload holds record values (needed to decide). */
export async function enqueueForReview(
	store: StateStore,
	input: ConflictInput,
	options: ConflictOptions,
	resolution: Resolution,
): Promise<ReviewItem> {
	return store.enqueueReview({
		entity: input.entity,
		unifiedId: input.unifiedId,
		reason: resolution.reason,
		payload: reviewPayload(input, options, resolution),
	});
}

export function isConflictReviewPayload(payload: unknown): payload is ConflictReviewPayload {
	return Boolean(payload) && (payload as ConflictReviewPayload).kind === 'crm-sync.conflict' && typeof (payload as ConflictReviewPayload).input === 'object';
}

/**
 * Resolve a queued item: compute the outcome first (a bad decision fails before anything
 * changes), then mark the item resolved (rejects if someone resolved it meanwhile) and audit.
 */
export async function resolveQueuedReview(
	store: StateStore,
	id: string,
	decision: ReviewDecision,
	now: Date = new Date(),
): Promise<{ item: ReviewItem; resolution: Resolution }> {
	const item = await store.getReview(id);
	if (!item) throw new ConflictError(`Review item ${id} not found in this sync namespace`);
	if (item.status !== 'open') throw new ConflictError(`Review item ${id} is already resolved (at ${item.resolvedAt})`);
	if (!isConflictReviewPayload(item.payload)) throw new ConflictError(`Review item ${id} is not a conflict review item`);
	const resolution = applyReviewDecision(item.payload, decision, now);
	const resolved = await store.resolveReview(id, { decision, action: resolution.action, at: now.toISOString() });
	if (!resolved) throw new ConflictError(`Review item ${id} disappeared while resolving it`);
	const audit: AuditEntry = { ...resolution.audit, kind: 'conflict.review-resolved', details: { ...resolution.audit.details, reviewId: id } };
	await store.appendAudit([audit]);
	return { item: resolved, resolution };
}
