// `npm start`: the sandbox CRMs with demo data, then n8n with this package, credentials pointing at
// the sandbox, and every template in workflows/ imported and published. Ctrl-C stops everything.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PORTS, startSandbox } from '../sandbox';
import { sandboxCredentials } from '../test/e2e/fixtures';
import { OWNER_EMAIL, OWNER_PASSWORD, REPO_ROOT, startN8n } from '../test/e2e/harness';

async function main(): Promise<void> {
	const port = Number(process.env.N8N_PORT || 5678);
	const sandbox = await startSandbox({
		ports: DEFAULT_PORTS,
		seed: { seed: 42, contacts: 200, companies: 40, deals: 60, activities: 200, leads: 40, duplicateShare: 0.05 },
	});
	for (const [crm, url] of Object.entries(sandbox.urls)) console.log(`${crm} ${url}`);

	const workflowsDir = join(REPO_ROOT, 'workflows');
	console.log('starting n8n (the first run installs n8n into a cache, about 5 minutes)…');
	const n8n = await startN8n({
		port,
		userFolder: join(REPO_ROOT, '.demo'),
		workflows: readdirSync(workflowsDir)
			.filter((name) => name.endsWith('.json'))
			.map((name) => join(workflowsDir, name)),
		credentials: sandboxCredentials(sandbox.urls),
	});
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
