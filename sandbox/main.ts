// `npm run sandbox`: starts all five emulators on fixed loopback ports and prints exactly one
// line per CRM, `<crm> <base-url>`, before serving. Env overrides:
//   SANDBOX_HOST, SANDBOX_<CRM>_PORT (e.g. SANDBOX_HUBSPOT_PORT=8102), SANDBOX_RATE_LIMITS=1,
//   SANDBOX_STRICT_AUTH=1, SANDBOX_SEED_CONTACTS=<n> (seed data at start, default none).
// Diagnostics go to stderr so stdout holds only the five lines.

import { DEFAULT_PORTS, SANDBOX_CRMS, startSandbox, CrmName } from './index';

async function main(): Promise<void> {
	const env = process.env;
	const ports: Partial<Record<CrmName, number>> = {};
	for (const crm of SANDBOX_CRMS) {
		const v = env[`SANDBOX_${crm.toUpperCase()}_PORT`];
		ports[crm] = v !== undefined ? Number(v) : DEFAULT_PORTS[crm];
	}
	const nContacts = Number(env.SANDBOX_SEED_CONTACTS ?? 0);
	const sandbox = await startSandbox({
		ports,
		host: env.SANDBOX_HOST,
		rateLimits: env.SANDBOX_RATE_LIMITS === '1',
		strictAuth: env.SANDBOX_STRICT_AUTH === '1',
		seed: nContacts > 0 ? { contacts: nContacts, companies: Math.ceil(nContacts / 10), deals: Math.ceil(nContacts / 5), activities: nContacts } : undefined,
	});
	for (const crm of SANDBOX_CRMS) process.stdout.write(`${crm} ${sandbox.urls[crm]}\n`);
	const shutdown = () => void sandbox.stop().then(() => process.exit(0));
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((err) => {
	process.stderr.write(`sandbox failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
	process.exit(1);
});
