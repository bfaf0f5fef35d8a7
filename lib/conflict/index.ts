// Public entry of lib/conflict.

export * from './types';
export { ConflictError, DEFAULT_IGNORE_FIELDS, normalizeOptions } from './options';
export { resolveConflict, resolveWith } from './resolve';
export { isOptOut } from './consent';
export { applyReviewDecision, enqueueForReview, isConflictReviewPayload, resolveQueuedReview, reviewPayload, validateReviewDecision } from './review';
export { conflictInputFromItem, ITEM_INPUT_KEYS, passThrough, stateChangeFromItem, type ParsedItem } from './item';
export { resolveAgainstState, type StateAction, type StateChange, type StateResolution } from './against-state';
