// What every node that keeps sync state shares: the "State Store" and "Sync Namespace"
// parameters, or the CRM Sync Settings credential that chooses both once for every node of a sync;
// n8n's Redis credential mapped to store options; and one open store per configuration for the
// life of the n8n process (opening one per request would cost a file open or a Redis connection
// each time).

import { homedir } from 'node:os';

import {
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDisplayOptions,
	type INode,
	type INodeCredentialDescription,
	type INodeCredentialTestResult,
	type INodeProperties,
} from 'n8n-workflow';

import type { CrmName } from '../../lib/model';
import { defaultEmbeddedStatePath, openStateStore, type StateStore, type StateStoreConfig } from '../../lib/state';
import { parseMetadataSettings, type MetadataSettings } from '../../lib/sync/crm-metadata';

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

/** What a node gives to find its store: its node, workflow and credentials. */
export interface StoreContext {
	getNode(): INode;
	getWorkflow(): { id?: string };
	getCredentials(type: string): Promise<object>;
}

/** Reads a node parameter with a fallback (execute nodes read item 0). */
export type ParameterReader = (name: string, fallback: unknown) => unknown;

/** The CRM Sync Settings credential (credentials/CrmSyncSettingsApi.credentials.ts). */
interface SettingsCredential extends RedisCredential {
	backend?: 'embedded' | 'redis';
	namespace?: string;
	statePath?: string;
	dealStageOverrides?: unknown;
	defaultOwners?: unknown;
}

export const SETTINGS_CREDENTIAL = 'crmSyncSettingsApi';

/** The store a CRM Sync Settings credential names (an empty namespace is "default", shared by the templates). */
function settingsStoreConfig(settings: SettingsCredential): StateStoreConfig {
	const config = storeConfig(String(settings.namespace ?? '').trim() || 'default', settings.backend === 'redis' ? 'redis' : 'embedded', settings);
	if (config.backend === 'embedded' && settings.statePath?.trim()) config.path = settings.statePath.trim();
	return config;
}

/** The credential's Test: opens (and closes) the store it names. */
export async function testSettingsCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const config = settingsStoreConfig((credential.data ?? {}) as SettingsCredential);
	try {
		const store = await openStateStore(config);
		await store.close();
		return { status: 'OK', message: `The ${config.backend} state store opens (namespace "${config.namespace}")` };
	} catch (error) {
		return { status: 'Error', message: `Cannot open the ${config.backend} state store: ${(error as Error).message}` };
	}
}

/**
 * The node's store configuration: the CRM Sync Settings credential when its State Store parameter
 * says so; otherwise its State Store and Sync Namespace parameters (default namespace: the
 * workflow id) and n8n's Redis credential. Plus options some nodes add (an embedded file path,
 * audit values).
 */
export async function syncStoreConfig(ctx: StoreContext, parameter: ParameterReader, extra: { path?: string; auditValues?: boolean } = {}): Promise<StateStoreConfig> {
	if (parameter('stateBackend', 'embedded') === 'settings') {
		const config = settingsStoreConfig((await ctx.getCredentials(SETTINGS_CREDENTIAL)) as SettingsCredential);
		return extra.auditValues ? { ...config, auditValues: true } : config;
	}
	const backend = parameter('stateBackend', 'embedded') === 'redis' ? 'redis' : 'embedded';
	const namespace = String(parameter('syncNamespace', '') ?? '').trim() || ctx.getWorkflow().id || 'default';
	const redis = backend === 'redis' ? ((await ctx.getCredentials('redis')) as RedisCredential) : undefined;
	const config = storeConfig(namespace, backend, redis);
	if (config.backend === 'embedded' && extra.path?.trim()) config.path = extra.path.trim();
	return extra.auditValues ? { ...config, auditValues: true } : config;
}

/**
 * How each CRM's deal stages and owners are mapped (CRM Sync Settings: Deal Stage Overrides,
 * Default Owners), for a node whose State Store parameter is "CRM Sync Settings"; none otherwise.
 */
export async function metadataSettings(ctx: StoreContext, parameter: ParameterReader): Promise<Partial<Record<CrmName, MetadataSettings>>> {
	if (parameter('stateBackend', 'embedded') !== 'settings') return {};
	const settings = (await ctx.getCredentials(SETTINGS_CREDENTIAL)) as SettingsCredential;
	try {
		return parseMetadataSettings(settings.dealStageOverrides, settings.defaultOwners);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), `CRM Sync Settings: ${(error as Error).message}`);
	}
}

/** The shared store of `config` (see sharedStore); one that cannot be opened is a NodeOperationError naming the backend. */
export async function openConfiguredStore(node: INode, config: StateStoreConfig): Promise<StateStore> {
	try {
		return await sharedStore(config);
	} catch (error) {
		throw new NodeOperationError(node, `Cannot open the ${config.backend} state store: ${(error as Error).message}`);
	}
}

/** The node's shared store: syncStoreConfig, then openConfiguredStore. */
export async function openSyncStore(ctx: StoreContext, parameter: ParameterReader, extra: { path?: string; auditValues?: boolean } = {}): Promise<StateStore> {
	return openConfiguredStore(ctx.getNode(), await syncStoreConfig(ctx, parameter, extra));
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

/** The "State Store" parameter; pair it with `redisStateCredential` in the node's credentials. */
export function stateBackendProperty(displayOptions?: IDisplayOptions, redisNote = 'For queue mode and several hosts'): INodeProperties {
	return {
		displayName: 'State Store',
		name: 'stateBackend',
		type: 'options',
		options: [
			{ name: 'CRM Sync Settings (Credential)', value: 'settings', description: 'Store and namespace chosen once in a credential that every node of the sync selects' },
			{ name: 'Embedded (Local File)', value: 'embedded', description: 'SQLite file in the n8n user folder; one host' },
			{ name: 'Redis', value: 'redis', description: redisNote },
		],
		default: 'embedded',
		...(displayOptions ? { displayOptions } : {}),
	};
}

/** The "Sync Namespace" parameter; `holds` says what the node keeps in the shared state. */
export function syncNamespaceProperty(holds = '', displayOptions?: IDisplayOptions): INodeProperties {
	const what = holds.startsWith('including') ? `, ${holds}` : holds ? ` (${holds})` : '';
	return {
		displayName: 'Sync Namespace',
		name: 'syncNamespace',
		type: 'string',
		default: '',
		description: `Nodes with the same namespace share sync state${what}. Empty: this workflow's ID.`,
		// With the CRM Sync Settings credential, the namespace is the credential's.
		displayOptions: { ...displayOptions, hide: { ...displayOptions?.hide, stateBackend: ['settings'] } },
	};
}

/** n8n's built-in Redis credential, asked for only when the Redis store is chosen. */
export const redisStateCredential: INodeCredentialDescription = {
	name: 'redis',
	required: true,
	displayOptions: { show: { stateBackend: ['redis'] } },
};

/** The CRM Sync Settings credential, asked for when the State Store is "CRM Sync Settings". */
export const settingsStateCredential: INodeCredentialDescription = {
	name: SETTINGS_CREDENTIAL,
	required: true,
	displayOptions: { show: { stateBackend: ['settings'] } },
};
