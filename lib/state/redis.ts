import { StateStoreError } from './errors';
import type { RedisStateStoreConfig, StateStore } from './types';

export async function openRedisStateStore(_config: RedisStateStoreConfig): Promise<StateStore> {
	throw new StateStoreError('unavailable', 'redis', 'Redis state store: not implemented yet');
}
