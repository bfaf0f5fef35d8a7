// Webhook → execution cost of the CRM Sync Trigger in a real n8n, next to n8n's floor (a bare
// Webhook → Respond to Webhook workflow, from n8n-bench-lib). Signed HubSpot requests, unique
// event ids, the embedded state store claiming each id. Settings as recommended for high volume:
// N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true (set by the harness), EXECUTIONS_DATA_SAVE_ON_SUCCESS=none.
//
//   npm run build && npx tsx test/bench/trigger.ts     (TRIGGER_BENCH_REQUESTS=200 to change the volume)
import { createHmac } from 'node:crypto';
import { cpus } from 'node:os';

import { startN8n } from '../e2e/harness';
import { concurrent, floorWorkflow, mainOf, postJson, sequential, waitLive } from './n8n-bench-lib';

const SECRET = 'bench-secret';
const WEBHOOK_CREDENTIAL = { id: 'benchHsWebhook01', name: 'HubSpot webhook (bench)', type: 'hubSpotWebhookCrmSyncApi', data: { secret: SECRET } };
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
			// No full-record fetch: this measures the webhook → execution cost alone (n8n-webhook.ts covers the whole sync).
			webhookId: 'bench-hubspot', parameters: { crm: ['hubspot'], fetchRecords: [] },
			credentials: { [WEBHOOK_CREDENTIAL.type]: { id: WEBHOOK_CREDENTIAL.id, name: WEBHOOK_CREDENTIAL.name } },
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

export async function run(): Promise<unknown> {
	console.log(`cores: ${cpus().length}; n8n with EXECUTIONS_DATA_SAVE_ON_SUCCESS=none, lazy isolate acquisition`);
	const n8n = await startN8n({
		workflowObjects: [workflow, floorWorkflow('crmSyncTriggerBenchFloor', 'bench-floor')],
		credentials: [WEBHOOK_CREDENTIAL],
		env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
	});
	try {
		const hubspotUrl = `${n8n.baseUrl}/webhook/bench-hubspot/hubspot`;
		const floorUrl = `${n8n.baseUrl}/webhook/bench-floor`;
		await waitLive(hubspotUrl);
		await waitLive(floorUrl);
		const floor = () => postJson(floorUrl, '{"a":1}');
		const one = () => fetch(hubspotUrl, hubspotRequest(hubspotUrl, 1));
		const batch = () => fetch(hubspotUrl, hubspotRequest(hubspotUrl, 100));
		const bad = () => fetch(hubspotUrl, { ...hubspotRequest(hubspotUrl, 1), headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': 'x', 'x-hubspot-request-timestamp': String(Date.now()) } });
		await sequential('warm-up', one, 20);
		await sequential('warm-up floor', floor, 20);
		return [
			await sequential('floor: Webhook → Respond to Webhook', floor, REQUESTS),
			await sequential('trigger: HubSpot, 1 event', one, REQUESTS),
			await sequential('trigger: HubSpot, batch of 100 events', batch, Math.max(10, REQUESTS / 10)),
			await sequential('trigger: bad signature (401, no execution)', async () => {
				const res = await bad();
				return new Response(await res.arrayBuffer(), { status: res.status === 401 ? 200 : res.status });
			}, REQUESTS),
			await concurrent('floor: Webhook → Respond to Webhook', floor, REQUESTS, 8),
			await concurrent('trigger: HubSpot, 1 event', one, REQUESTS, 8),
		];
	} finally {
		await n8n.stop();
	}
}

if (require.main === module) mainOf('trigger', run);
