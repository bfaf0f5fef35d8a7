// `npm start`: the sandbox CRMs with demo data, then n8n with this package, credentials pointing at
// the sandbox, and every template in workflows/ imported and published. Ctrl-C stops everything.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PORTS, startSandbox } from '../sandbox';
import { sandboxCredentials } from '../test/e2e/fixtures';
import { OWNER_EMAIL, OWNER_PASSWORD, REPO_ROOT, startN8n, waitFor } from '../test/e2e/harness';
import { subscribeTriggers, triggerUrl, withSandboxMarkers, type WorkflowJson } from '../test/e2e/subscriptions';

async function main(): Promise<void> {
	const port = Number(process.env.N8N_PORT || 5678);
	const sandbox = await startSandbox({
		ports: DEFAULT_PORTS,
		seed: { seed: 42, contacts: 200, companies: 40, deals: 60, activities: 200, leads: 40, duplicateShare: 0.05 },
	});
	for (const [crm, url] of Object.entries(sandbox.urls)) console.log(`${crm} ${url}`);

	const workflowsDir = join(REPO_ROOT, 'workflows');
	// The templates as a user sets them up for this sandbox: own-change markers of the sandbox identities.
	const templates = readdirSync(workflowsDir)
		.filter((name) => name.endsWith('.json'))
		.map((name) => withSandboxMarkers(JSON.parse(readFileSync(join(workflowsDir, name), 'utf8')) as WorkflowJson));
	console.log('starting n8n (the first run installs n8n into a cache, about 5 minutes)…');
	const n8n = await startN8n({
		port,
		userFolder: join(REPO_ROOT, '.demo'),
		workflowObjects: templates as unknown as Array<Record<string, unknown>>,
		credentials: sandboxCredentials(sandbox.urls),
	});
	// Register the triggers' webhooks in the sandbox CRMs, once n8n serves them.
	for (const node of templates.flatMap((t) => t.nodes).filter((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger' && !n.disabled)) {
		await waitFor(async () => (await fetch(triggerUrl(n8n.baseUrl, node), { method: 'POST', body: '{}' })).status !== 404, 120_000);
	}
	const { subscribed, failed } = await subscribeTriggers(sandbox, n8n.baseUrl, templates);
	console.log(`sandbox CRMs send their webhooks to ${subscribed.length} triggers`);
	for (const problem of failed) console.log(`  not subscribed: ${problem}`);
	console.log(`\nn8n is ready at ${n8n.baseUrl}`);
	console.log(`log in as ${OWNER_EMAIL} / ${OWNER_PASSWORD}`);
	console.log(`n8n log: ${n8n.logFile}\nCtrl-C stops n8n and the sandbox.`);

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\nstopping…');
		await n8n.stop();
		await sandbox.stop();
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
