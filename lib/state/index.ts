// Public entry of lib/state: the StateStore contract and the factory choosing a backend.

import { StateStoreError } from './errors';
import type { StateStore, StateStoreConfig } from './types';

export * from './types';
export * from './errors';
export { canonicalJson, echoFingerprint, fieldsHash, heldValueHash } from './fingerprint';
export { LockLostError, LockTimeoutError, snapshotLock, withLock, withLocks, type LockOptions } from './lock';
export { syncIdentities, syncIdentity } from './identity';
export { forgetHeld, heldHashes, holdsAll, markHeld, UNKNOWN_HELD } from './held';
export { defaultEmbeddedStatePath, n8nUserFolder } from './paths';

/**
 * Open a store bound to `config.namespace`. Embedded: opens/creates the SQLite file.
 * Redis: connects and verifies the server answers. Rejects with StateStoreError on failure.
 * Backends are loaded lazily so that the unused one never costs anything.
 */
export async function openStateStore(config: StateStoreConfig): Promise<StateStore> {
	if (typeof config.namespace !== 'string' || config.namespace.trim() === '') {
		throw new StateStoreError('invalid-argument', config.backend, 'State store: the sync namespace must be a non-empty string');
	}
	if (config.backend === 'embedded') {
		const { openEmbeddedStateStore } = await import('./embedded');
		return openEmbeddedStateStore(config);
	}
	if (config.backend === 'redis') {
		const { openRedisStateStore } = await import('./redis');
		return openRedisStateStore(config);
	}
	throw new StateStoreError(
		'invalid-argument',
		'embedded',
		`State store: unknown backend ${JSON.stringify((config as { backend?: unknown }).backend)} (use 'embedded' or 'redis')`,
	);
}
