import { StateStoreError } from './errors';
import type { EmbeddedStateStoreConfig, StateStore } from './types';

export async function openEmbeddedStateStore(_config: EmbeddedStateStoreConfig): Promise<StateStore> {
	throw new StateStoreError('unsupported-runtime', 'embedded', 'Embedded state store: not implemented yet');
}
