// Polling delta capture benchmark: records/s of lib/polling reading 10K changed HubSpot contacts
// and 2,500 Zoho contacts from the in-process sandbox into SyncEvents, committing the position
// after each poll to a real embedded state store (SQLite file), as the poll trigger does.
//
// HubSpot runs twice: with the connector's default limits (HubSpot's documented search limit of
// 4 requests/s, 200 records per request, sets the pace), and with that limiter raised, which shows
// the cost of the emulator, the SDK and lib/polling alone.

import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

import { startSandbox } from '../../sandbox';
import { createConnector, type ConnectorRuntime } from '../../lib/connectors';
import { pollChanges } from '../../lib/polling';
import { openStateStore } from '../../lib/state';

const HUBSPOT_CONTACTS = 10_000;
const ZOHO_CONTACTS = 2_500;
const MAX_RECORDS = 1000;

export async function run(): Promise<void> {
	const sandbox = await startSandbox({ crms: ['hubspot', 'zoho'] });
	const dir = mkdtempSync(join(os.tmpdir(), 'crm-poll-bench-'));
	try {
		sandbox.emulators.hubspot!.seed({ contacts: HUBSPOT_CONTACTS, companies: 0, deals: 0, activities: 0 });
		sandbox.emulators.zoho!.seed({ contacts: ZOHO_CONTACTS, companies: 0, deals: 0, activities: 0 });
		console.log(`polling benchmark: ${os.cpus().length} CPUs, Node ${process.version}, embedded state store, max ${MAX_RECORDS} records per poll`);
		const store = await openStateStore({ backend: 'embedded', namespace: 'bench', path: join(dir, 'state.db') });
		const raised: ConnectorRuntime = { limits: { search: { requests: 1000, intervalMs: 1000, maxConcurrent: 2 } } };
		const cases: Array<[label: string, crm: 'hubspot' | 'zoho', expected: number, runtime: ConnectorRuntime]> = [
			['HubSpot contacts, default limits (search 4 req/s)', 'hubspot', HUBSPOT_CONTACTS, {}],
			['HubSpot contacts, search limiter raised', 'hubspot', HUBSPOT_CONTACTS, raised],
			['Zoho contacts, default limits', 'zoho', ZOHO_CONTACTS, {}],
		];
		let n = 0;
		for (const [label, crm, expected, runtime] of cases) {
			const url = sandbox.urls[crm]!;
			const token = `bench-${++n}`;
			const credentials =
				crm === 'hubspot'
					? { accessToken: token, baseUrl: url }
					: { clientId: 'c', clientSecret: 's', accountsUrlOverride: url, apiDomainOverride: url, oauthTokenData: { access_token: token, refresh_token: 'r', api_domain: url } };
			const connector = createConnector(crm, credentials, runtime);
			// Each case has its own position: a new namespace would need a new store; reset via a since date instead.
			const options = { entity: 'contact' as const, mode: 'since' as const, since: new Date(Date.UTC(2000, 0, 1, 0, 0, n)).toISOString(), maxRecords: MAX_RECORDS };
			const started = process.hrtime.bigint();
			const cpu = process.cpuUsage();
			let events = 0;
			let polls = 0;
			for (;;) {
				const batch = await pollChanges(connector, store, options);
				polls++;
				events += batch.events.length;
				await batch.commit();
				if (!batch.hasMore) break;
			}
			const seconds = Number(process.hrtime.bigint() - started) / 1e9;
			const used = process.cpuUsage(cpu);
			if (events < expected) throw new Error(`${label}: ${events} events, expected at least ${expected}`);
			console.log(
				`  ${label}: ${events} events in ${polls} polls, ${seconds.toFixed(2)} s = ${Math.round(events / seconds)} records/s` +
					` (this process's CPU ${((used.user + used.system) / 1000).toFixed(0)} ms, emulator included)`,
			);
		}
		await store.close();
	} finally {
		await sandbox.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

if (require.main === module) void run();
