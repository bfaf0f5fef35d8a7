// The one error type every StateStore method rejects with.

import type { StateBackend } from './types';

export type StateStoreErrorCode =
	/** The backend cannot be reached (Redis down, connection refused, timeout). */
	| 'unavailable'
	/** This Node.js has no node:sqlite (needs Node >= 22.5); use the Redis backend. */
	| 'unsupported-runtime'
	/** Reading/writing storage failed (disk full, unwritable path, corrupt file, busy too long). */
	| 'io'
	/** A caller passed something invalid (empty namespace, bad TTL, unknown id format...). */
	| 'invalid-argument'
	/** The operation contradicts the current state (e.g. resolving an already resolved review). */
	| 'conflict'
	/** The store was closed. */
	| 'closed';

export class StateStoreError extends Error {
	readonly code: StateStoreErrorCode;
	readonly backend: StateBackend;

	constructor(code: StateStoreErrorCode, backend: StateBackend, message: string, cause?: unknown) {
		super(message, cause === undefined ? undefined : { cause });
		this.name = 'StateStoreError';
		this.code = code;
		this.backend = backend;
	}
}

export function isStateStoreError(error: unknown): error is StateStoreError {
	return error instanceof StateStoreError;
}
