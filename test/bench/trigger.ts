// Webhook → execution cost of the CRM Sync Trigger in a real n8n, next to n8n's floor (the
// built-in Webhook node answering immediately). Signed HubSpot requests, unique event ids, the
// embedded state store claiming each id. Settings as recommended for high volume:
// N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true (set by the harness), EXECUTIONS_DATA_SAVE_ON_SUCCESS=none.
//
//   npm run build && npx tsx test/bench/trigger.ts     (TRIGGER_BENCH_REQUESTS=200 to change the volume)
import { createHmac } from 'node:crypto';
import { cpus } from 'node:os';

import { startN8n, waitFor } from '../e2e/harness';

const SECRET = 'bench-secret';
const REQUESTS = Number(process.env.TRIGGER_BENCH_REQUESTS) || 200;

const workflow = {
	id: 'crmSyncTriggerBench',
	name: 'CRM Sync Trigger bench',
	active: false,
	settings: { executionOrder: 'v1' },
	pinData: {},
	connections: {},
	nodes: [
		{
			id: '0b0e0000-0000-4000-8000-000000000001', name: 'HubSpot', type: 'n8n-nodes-crm-sync.crmSyncTrigger', typeVersion: 1, position: [0, 0],
			webhookId: 'bench-hubspot', parameters: { crm: 'hubspot', secret: SECRET },
		},
		{
			id: '0b0e0000-0000-4000-8000-000000000002', name: 'Floor', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 200],
			webhookId: 'bench-floor', parameters: { httpMethod: 'POST', path: 'bench-floor', responseMode: 'onReceived', options: {} },
		},
	],
};

let eventId = 1;
function hubspotRequest(url: string, events: number): RequestInit {
	const now = Date.now();
	const body = JSON.stringify(
		Array.from({ length: events }, () => ({
			eventId: eventId++, subscriptionId: 1, portalId: 1, appId: 2, occurredAt: now, subscriptionType: 'contact.propertyChange',
			attemptNumber: 0, objectId: 1000 + eventId, propertyName: 'email', propertyValue: `u${eventId}@example.com`, changeSource: 'CRM_UI', sourceId: 'userId:1',
		})),
	);
	const ts = String(now);
	return {
		method: 'POST',
		body,
		headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': createHmac('sha256', SECRET).update(`POST${url}${body}${ts}`).digest('base64'), 'x-hubspot-request-timestamp': ts },
	};
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function sequential(label: string, send: () => Promise<Response>, n: number) {
	const times: number[] = [];
	for (let i = 0; i < n; i++) {
		const start = performance.now();
		const res = await send();
		await res.arrayBuffer();
		if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
		times.push(performance.now() - start);
	}
	times.sort((a, b) => a - b);
	const result = { label, requests: n, p50Ms: +percentile(times, 50).toFixed(1), p95Ms: +percentile(times, 95).toFixed(1) };
	console.log(`${label.padEnd(44)} sequential P50 ${result.p50Ms} ms, P95 ${result.p95Ms} ms`);
	return result;
}

async function concurrent(label: string, send: () => Promise<Response>, n: number, parallel: number) {
	let next = 0;
	const start = performance.now();
	await Promise.all(
		Array.from({ length: parallel }, async () => {
			while (next++ < n) {
				const res = await send();
				await res.arrayBuffer();
				if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
			}
		}),
	);
	const perSecond = +(n / ((performance.now() - start) / 1000)).toFixed(1);
	console.log(`${label.padEnd(44)} ${parallel} in parallel: ${perSecond} requests/s`);
	return { label, parallel, perSecond };
}

export async function run(): Promise<unknown> {
	console.log(`cores: ${cpus().length}; n8n with EXECUTIONS_DATA_SAVE_ON_SUCCESS=none, lazy isolate acquisition`);
	const n8n = await startN8n({ workflowObjects: [workflow], env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' } });
	try {
		const hubspotUrl = `${n8n.baseUrl}/webhook/bench-hubspot/hubspot`;
		const floorUrl = `${n8n.baseUrl}/webhook/bench-floor`;
		await waitFor(async () => (await fetch(hubspotUrl, { method: 'POST' })).status !== 404, 120_000);
		await waitFor(async () => (await fetch(floorUrl, { method: 'POST', body: '{}' })).status !== 404, 120_000);
		const floor = () => fetch(floorUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
		const one = () => fetch(hubspotUrl, hubspotRequest(hubspotUrl, 1));
		const batch = () => fetch(hubspotUrl, hubspotRequest(hubspotUrl, 100));
		const bad = () => fetch(hubspotUrl, { ...hubspotRequest(hubspotUrl, 1), headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': 'x', 'x-hubspot-request-timestamp': String(Date.now()) } });
		await sequential('warm-up', one, 20);
		await sequential('warm-up floor', floor, 20);
		return [
			await sequential('floor: built-in Webhook, respond immediately', floor, REQUESTS),
			await sequential('trigger: HubSpot, 1 event', one, REQUESTS),
			await sequential('trigger: HubSpot, batch of 100 events', batch, Math.max(10, REQUESTS / 10)),
			await sequential('trigger: bad signature (401, no execution)', async () => {
				const res = await bad();
				return new Response(await res.arrayBuffer(), { status: res.status === 401 ? 200 : res.status });
			}, REQUESTS),
			await concurrent('floor: built-in Webhook', floor, REQUESTS, 8),
			await concurrent('trigger: HubSpot, 1 event', one, REQUESTS, 8),
		];
	} finally {
		await n8n.stop();
	}
}

if (require.main === module) run().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
