// Reference resolution (lib/sync/associations): activities with a contact, a deal and an account
// each, translated to a target CRM through the embedded state store's cross-reference, in batches
// as the Field Mapper sends them (one webhook's items, or a bulk page).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { openStateStore, type CrossRefLink } from '../../lib/state';
import { resolveReferences } from '../../lib/sync/associations';

const LINKED = 10_000;

export async function run(): Promise<void> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bench-associations-'));
	const store = await openStateStore({ backend: 'embedded', namespace: 'bench', path: path.join(dir, 'state.sqlite') });
	try {
		const links: CrossRefLink[] = [];
		for (let i = 0; i < LINKED; i++) {
			for (const [entity, prefix] of [['contact', 'c'], ['opportunity', 'd'], ['account', 'a']] as const) {
				links.push({ entity, unifiedId: `u-${prefix}${i}`, crm: 'hubspot', recordId: `${prefix}${i}` });
				links.push({ entity, unifiedId: `u-${prefix}${i}`, crm: 'salesforce', recordId: `sf-${prefix}${i}` });
			}
		}
		await store.linkMany(links);
		console.log(`associations: ${os.cpus().length} CPU cores; ${LINKED} contacts, deals and accounts linked in HubSpot and Salesforce (embedded store)`);
		for (const batch of [1, 100, 1000]) {
			const rounds = Math.max(3, Math.round(5000 / batch));
			let best = Infinity;
			for (let pass = 0; pass < 3; pass++) {
				const started = process.hrtime.bigint();
				for (let r = 0; r < rounds; r++) {
					const inputs = Array.from({ length: batch }, (_, k) => {
						const i = (r * batch + k) % LINKED;
						return { source: 'hubspot' as const, recordId: `n${r}-${k}`, record: { type: 'call', subject: 'x', contactIds: [`c${i}`], dealIds: [`d${i}`], accountIds: [`a${i}`], ownerId: '7' } };
					});
					const results = await resolveReferences(store, inputs, { entity: 'activity', target: 'salesforce' });
					if (results.some((x) => x.missing.length)) throw new Error('a linked reference was reported missing');
				}
				best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
			}
			const records = rounds * batch;
			console.log(`  batch ${String(batch).padStart(4)}: ${(records / (best / 1000)).toFixed(0).padStart(7)} activities/s, ${(best / rounds).toFixed(2)} ms per batch (best of 3 passes over ${records})`);
		}
	} finally {
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

if (require.main === module) void run();
