// One open StateStore per configuration, kept for the life of the n8n process: opening a store
// per webhook request would cost a file open or a Redis connection each time.

import { homedir } from 'node:os';

import { defaultEmbeddedStatePath, openStateStore, type StateStore, type StateStoreConfig } from '../../lib/state';

const stores = new Map<string, Promise<StateStore>>();

export interface RedisCredential {
	host?: string;
	port?: number;
	password?: string;
	user?: string;
	database?: number;
	ssl?: boolean;
}

export function storeConfig(namespace: string, backend: 'embedded' | 'redis', redis?: RedisCredential): StateStoreConfig {
	if (backend === 'redis') {
		return {
			backend,
			namespace,
			redis: {
				host: redis?.host || 'localhost',
				port: Number(redis?.port) || 6379,
				...(redis?.password ? { password: redis.password } : {}),
				...(redis?.user ? { username: redis.user } : {}),
				db: Number(redis?.database) || 0,
				tls: redis?.ssl === true,
			},
		};
	}
	return { backend, namespace, path: defaultEmbeddedStatePath(process.env, homedir()) };
}

/** The shared store for this configuration; a failed open is not cached, so the next request retries. */
export function sharedStore(config: StateStoreConfig): Promise<StateStore> {
	const key = JSON.stringify(config);
	let store = stores.get(key);
	if (!store) {
		store = openStateStore(config);
		stores.set(key, store);
		store.catch(() => stores.delete(key));
	}
	return store;
}
