// Templates running side by side in a real n8n, wired to the sandbox CRMs as a user sets them up:
// n8n started with the templates (sandbox own-change markers), every trigger path up, every
// trigger subscribed in its CRMs.
import assert from 'node:assert/strict';

import type { Sandbox } from '../../sandbox';
import { sandboxCredentials } from './fixtures';
import { startN8n, waitFor, type N8nInstance } from './harness';
import { subscribeTriggers, triggerCrms, triggerUrl, withSandboxMarkers, type WorkflowJson } from './subscriptions';

export async function startTemplates(sandbox: Sandbox, templates: WorkflowJson[]): Promise<N8nInstance> {
	const n8n = await startN8n({ workflowObjects: templates.map((w) => withSandboxMarkers(w) as unknown as Record<string, unknown>), credentials: sandboxCredentials(sandbox.urls) });
	for (const node of templates.flatMap((w) => w.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger'))) {
		for (const crm of triggerCrms(node)) {
			await waitFor(async () => (await fetch(triggerUrl(n8n.baseUrl, node, crm), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status !== 404, 120_000);
		}
	}
	const { failed } = await subscribeTriggers(sandbox, n8n.baseUrl, templates);
	assert.deepEqual(failed, []);
	return n8n;
}
