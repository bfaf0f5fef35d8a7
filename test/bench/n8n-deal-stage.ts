// A deal's stage change in HubSpot → the other four CRMs, through a real n8n running
// workflows/opportunity-sync.json against the sandbox CRMs, wired by their own webhooks (as the
// e2e tests set it up). Deals are created first and synced; then each is moved, one after
// another, between two open stages (HubSpot "decision maker bought in" ⇄ "contract sent", i.e.
// proposal ⇄ negotiation) as a person does in HubSpot's UI. Latency = the change → the stage read
// in the last of Salesforce, Pipedrive, Zoho and Dynamics (from the emulators' stores, polled every
// 10 ms). Prints P50/P95/P99.
//
//   npm run build && npx tsx test/bench/n8n-deal-stage.ts [--json]
//   N8N_BENCH_DEAL_CHANGES=100   stage changes (default 40)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { startSandbox } from '../../sandbox';
import { REPO_ROOT, waitFor } from '../e2e/harness';
import type { WorkflowJson } from '../e2e/subscriptions';
import { startTemplates } from '../e2e/templates';
import { describeLatency, mainOf, summarize, type Crm } from './n8n-bench-lib';

type Row = Record<string, unknown>;
type Stage = 'proposal' | 'negotiation';

const HUBSPOT_STAGE: Record<Stage, string> = { proposal: 'decisionmakerboughtin', negotiation: 'contractsent' };
/** How each target stores the two stages (the sandbox accounts' default pipelines). */
const TARGET_STAGE: Record<Exclude<Crm, 'hubspot'>, { read: (r: Row) => string; name: (r: Row) => unknown; type: string; values: Record<Stage, string> }> = {
	salesforce: { type: 'Opportunity', name: (r) => r.Name, read: (r) => String(r.StageName), values: { proposal: 'Proposal/Price Quote', negotiation: 'Negotiation/Review' } },
	zoho: { type: 'Deals', name: (r) => r.Deal_Name, read: (r) => String(r.Stage), values: { proposal: 'Proposal/Price Quote', negotiation: 'Negotiation/Review' } },
	dynamics: { type: 'opportunities', name: (r) => r.name, read: (r) => String(r.salesstage), values: { proposal: '2', negotiation: '3' } },
	pipedrive: { type: 'deals', name: (r) => r.title, read: (r) => String(r.stage_id), values: { proposal: '4', negotiation: '5' } },
};

export async function run(): Promise<unknown> {
	const changes = Number(process.env.N8N_BENCH_DEAL_CHANGES) || 40;
	const deals = Math.min(10, changes);
	const template = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/opportunity-sync.json'), 'utf8')) as WorkflowJson & { id: string };
	const sandbox = await startSandbox({ webhookRetryDelayScale: 0.001, rateLimits: false, seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	const n8n = await startTemplates(sandbox, [template]).catch(async (error) => {
		await sandbox.stop();
		throw error;
	});
	const rows = (crm: Crm, type: string) => ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []) as Row[];
	const hubspot = async (method: string, path: string, body: unknown) => {
		const res = await fetch(`${sandbox.urls.hubspot}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		if (!res.ok) throw new Error(`HubSpot ${method} ${path}: ${res.status} ${await res.text()}`);
		return (await res.json()) as Row;
	};
	const stageEverywhere = (name: string, stage: Stage) =>
		(Object.keys(TARGET_STAGE) as Array<keyof typeof TARGET_STAGE>).every((crm) => {
			const t = TARGET_STAGE[crm];
			return rows(crm, t.type).some((r) => t.name(r) === name && t.read(r) === t.values[stage]);
		});
	try {
		const ids: Array<{ id: string; name: string; stage: Stage }> = [];
		for (let i = 0; i < deals; i++) {
			const name = `Stage bench deal ${i}`;
			const created = await hubspot('POST', '/__admin/objects/deals', { properties: { dealname: name, amount: '1000', dealstage: HUBSPOT_STAGE.proposal, pipeline: 'default', closedate: '2027-06-30' } });
			ids.push({ id: String(created.id), name, stage: 'proposal' });
		}
		await waitFor(async () => ids.every((d) => stageEverywhere(d.name, 'proposal')), 120_000);

		const times: number[] = [];
		for (let i = 0; i < changes; i++) {
			const deal = ids[i % ids.length];
			const next: Stage = deal.stage === 'proposal' ? 'negotiation' : 'proposal';
			const started = performance.now();
			await hubspot('PATCH', `/__admin/objects/deals/${deal.id}`, { properties: { dealstage: HUBSPOT_STAGE[next] } });
			while (!stageEverywhere(deal.name, next)) {
				if (performance.now() - started > 60_000) throw new Error(`${deal.name}: not at ${next} everywhere after 60 s`);
				await new Promise((r) => setTimeout(r, 10));
			}
			times.push(Math.round(performance.now() - started));
			deal.stage = next;
		}
		const latency = summarize(times);
		console.log(`deal stage change HubSpot → Salesforce, Pipedrive, Zoho, Dynamics through opportunity-sync.json (sequential, sandbox limits off): ${describeLatency(latency)}`);
		return { latency };
	} finally {
		await n8n.stop();
		await sandbox.stop();
	}
}

if (require.main === module) mainOf('n8n-deal-stage', run);
