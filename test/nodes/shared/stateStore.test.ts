// nodes/shared/stateStore.ts: which store a node opens, from its State Store parameter or from the
// CRM Sync Settings credential that every node of a sync shares.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { INode } from 'n8n-workflow';

import { SETTINGS_CREDENTIAL, syncStoreConfig, type StoreContext } from '../../../nodes/shared/stateStore';

function context(credentials: Record<string, object>, workflowId = 'wf-1'): StoreContext {
	return {
		getNode: () => ({ name: 'Node' }) as INode,
		getWorkflow: () => ({ id: workflowId }),
		getCredentials: async (type: string) => {
			if (!credentials[type]) throw new Error(`no ${type} credential`);
			return credentials[type];
		},
	};
}
const parameters = (values: Record<string, unknown>) => (name: string, fallback: unknown) => values[name] ?? fallback;

test('the settings credential chooses backend, Redis connection and namespace, whatever the node parameters say', async () => {
	const ctx = context({ [SETTINGS_CREDENTIAL]: { backend: 'redis', namespace: ' shared ', host: 'redis.internal', port: 6380, password: 'pw', database: 2, ssl: true } });
	const config = await syncStoreConfig(ctx, parameters({ stateBackend: 'settings', syncNamespace: 'ignored' }));
	assert.deepEqual(config, { backend: 'redis', namespace: 'shared', redis: { host: 'redis.internal', port: 6380, password: 'pw', db: 2, tls: true } });
});

test('an embedded settings credential keeps its file path; an empty namespace is "default", not the workflow id', async () => {
	const ctx = context({ [SETTINGS_CREDENTIAL]: { backend: 'embedded', namespace: '', statePath: '/data/state.sqlite' } });
	const config = await syncStoreConfig(ctx, parameters({ stateBackend: 'settings' }));
	assert.deepEqual(config, { backend: 'embedded', namespace: 'default', path: '/data/state.sqlite' });
});

test('without the settings option the node parameters decide, as before (namespace: the workflow id)', async () => {
	const config = await syncStoreConfig(context({}), parameters({ stateBackend: 'embedded' }));
	assert.equal(config.backend, 'embedded');
	assert.equal(config.namespace, 'wf-1');
	await assert.rejects(syncStoreConfig(context({}), parameters({ stateBackend: 'settings' })), /no crmSyncSettingsApi credential/);
});
