// The Unified CRM Upsert node in real n8n against every sandbox CRM this build has a connector for:
// unified input mapped per CRM, created → unchanged (snapshot) → updated (cross-reference), a bad
// record on the Errors output with the CRM's message, and GDPR erasure. Sync to CRMs: one node
// writes a change to every other CRM, or back to its source, and an activity whose contact one CRM
// lacks goes to Retry Later for that CRM only, then, looped back, is written there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CRM_NAMES, type CrmName } from '../../lib/model';
import { EMULATOR_FACTORIES, startSandbox, type Sandbox } from '../../sandbox';
import { FaultInjector } from '../../sandbox/common/faults';
import { CREDENTIAL_REFS, sandboxCredentials } from './fixtures';
import { batchWorkflow, lastRunData, postWebhook, startN8n, type N8nInstance } from './harness';

/** CRMs whose API (and emulator) rejects a malformed email with its own message. */
const VALIDATES_EMAIL = new Set<CrmName>(['hubspot', 'salesforce', 'zoho']);

const crms = CRM_NAMES.filter((crm) => EMULATOR_FACTORIES[crm]);

function workflow(crm: CrmName, operation: 'upsert' | 'erase', variant: { path: string; options: Record<string, unknown> } = { path: operation, options: {} }): Record<string, unknown> {
	const id = `crmSyncE2e${crm.slice(0, 3)}${variant.path.slice(0, 2)}`;
	const ref = CREDENTIAL_REFS[crm];
	return {
		id,
		name: `e2e ${operation} ${crm}`,
		nodes: [
			{
				id: `${id}-hook`,
				name: 'Receive',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `${id}-hook-id`,
				parameters: { httpMethod: 'POST', path: `e2e/${crm}/${variant.path}`, responseMode: 'lastNode', responseData: 'allEntries', options: {} },
			},
			{
				id: `${id}-node`,
				name: 'Write',
				type: 'n8n-nodes-crm-sync.unifiedCrmUpsert',
				typeVersion: 1,
				position: [260, 0],
				parameters: {
					crm,
					entity: 'contact',
					operation,
					...(operation === 'upsert' ? { inputFormat: 'unified', matchKey: 'email' } : {}),
					recordPath: 'body',
					syncNamespace: 'e2e',
					options: variant.options,
				},
				credentials: { [ref.type]: { id: ref.id, name: ref.name } },
			},
		],
		connections: { Receive: { main: [[{ node: 'Write', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		pinData: {},
		active: false,
	};
}

/** Webhook (JSON array of items) → Split Out → Unified CRM Upsert "Sync to CRMs" with every CRM ticked; answers with its Success items. */
function syncWorkflow(path: 'others' | 'source' | 'activity'): Record<string, unknown> {
	const workflow = batchWorkflow(`crmSyncE2eSync${path.slice(0, 2)}`, `e2e-sync-${path}`, {
		name: 'Sync',
		type: 'unifiedCrmUpsert',
		parameters: {
			operation: 'syncToCrms',
			crm: crms,
			entity: path === 'activity' ? 'activity' : 'contact',
			writeTo: path === 'source' ? 'source' : 'others',
			recordPath: 'record',
			syncNamespace: 'e2e-sync',
			options: {},
		},
		extra: { credentials: Object.fromEntries(crms.map((crm) => [CREDENTIAL_REFS[crm].type, { id: CREDENTIAL_REFS[crm].id, name: CREDENTIAL_REFS[crm].name }])) },
	});
	Object.assign(workflow.nodes[0].parameters, { responseMode: 'lastNode', responseData: 'allEntries' });
	return workflow;
}

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ crms });
	n8n = await startN8n({
		workflowObjects: [
			...crms.flatMap((crm) => [workflow(crm, 'upsert'), workflow(crm, 'erase')]),
			workflow('hubspot', 'upsert', { path: 'timeout', options: { requestTimeout: 2 } }),
			syncWorkflow('others'),
			syncWorkflow('source'),
			syncWorkflow('activity'),
		],
		credentials: sandboxCredentials(sandbox.urls),
	});
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

type Out = { status: string; id: string; unifiedId?: string };

type Synced = Record<string, { status: string; id: string }>;
type SyncedItem = Record<string, unknown> & { synced: Synced };

async function postJson<T>(path: string, body: unknown): Promise<T[]> {
	const response = await postWebhook(n8n.baseUrl, path, body);
	assert.equal(response.status, 200, await response.clone().text());
	const text = await response.text();
	return text ? (JSON.parse(text) as T[]) : [];
}

const post = (crm: CrmName, operation: string, body: unknown) => postJson<Out>(`e2e/${crm}/${operation}`, body);
/** Items to a Sync to CRMs workflow; its Success items. */
const sync = (path: string, items: unknown[]) => postJson<SyncedItem>(`e2e-sync-${path}`, items);

describe('Unified CRM Upsert in n8n', () => {
	test('connectors found for the sandbox CRMs', () => {
		assert.ok(crms.includes('hubspot') && crms.includes('salesforce'), `CRMs under test: ${crms.join(', ')}`);
	});

	for (const crm of crms) {
		test(`${crm}: created, unchanged, updated by cross-reference, bad email to Errors (CRMs that validate emails), GDPR erase`, async () => {
			const unifiedId = `u-${crm}-1`;
			const email = `ada.${crm}@example.com`;
			const [created] = await post(crm, 'upsert', { unifiedId, email, firstName: 'Ada', lastName: 'Lovelace' });
			assert.equal(created.status, 'created');
			assert.equal(created.unifiedId, unifiedId);
			assert.ok(created.id);

			const [again] = await post(crm, 'upsert', { unifiedId, email, firstName: 'Ada', lastName: 'Lovelace' });
			assert.equal(again.status, 'unchanged');
			assert.equal(again.id, created.id);

			const [updated] = await post(crm, 'upsert', { unifiedId, email, firstName: 'Ada', lastName: 'King' });
			assert.equal(updated.status, 'updated');
			assert.equal(updated.id, created.id);
			const dump = JSON.stringify(sandbox.emulators[crm]!.dump());
			assert.ok(dump.includes('King'), `${crm} holds the update`);

			if (VALIDATES_EMAIL.has(crm)) {
				await post(crm, 'upsert', { unifiedId: `u-${crm}-bad`, email: 'not an email', lastName: 'Bad' });
				const runData = await lastRunData(n8n, `crmSyncE2e${crm.slice(0, 3)}up`);
				const [success, errors] = runData.Write[0].data.main;
				assert.equal(success.length, 0);
				assert.equal(errors.length, 1);
				assert.match(String(errors[0].json.error), /email/i);
			}

			const [erased] = await post(crm, 'erase', { unifiedId, crmId: created.id });
			assert.equal(erased.status, 'erased');
			// After erasure the same unified record is unknown again: a new upsert finds no cross-reference.
			const [recreated] = await post(crm, 'upsert', { unifiedId, email: `ada2.${crm}@example.com`, lastName: 'Lovelace' });
			assert.equal(recreated.status, 'created');
			assert.notEqual(recreated.id, created.id);
		});
	}

	test('hubspot: a write the CRM never answers is sent again after the Request Timeout option, not after 60 s', async () => {
		// The sandbox draws its faults from a seeded PRNG: pick a seed whose first upsert hangs and whose second is answered.
		const faults = (seed: number) => ({ seed, hangRate: 0.5, pathPattern: 'batch/upsert$' });
		const seed = Array.from({ length: 100 }, (_, i) => i + 1).find((candidate) => {
			const injector = new FaultInjector(faults(candidate));
			return injector.forRequest('/crm/v3/objects/contacts/batch/upsert').kind === 'hang' && injector.forRequest('/crm/v3/objects/contacts/batch/upsert').kind === 'none';
		})!;
		sandbox.emulators.hubspot!.setFaults(faults(seed));
		try {
			const started = Date.now();
			const [created] = await post('hubspot', 'timeout', { unifiedId: 'u-hubspot-timeout', email: 'grace.timeout@example.com', firstName: 'Grace', lastName: 'Hopper' });
			const elapsed = Date.now() - started;
			assert.equal(created.status, 'created');
			assert.ok(elapsed >= 2_000, `waited for the 2 s timeout before the second attempt (${elapsed} ms)`);
			assert.ok(elapsed < 30_000, `the second attempt came after the 2 s timeout, not the 60 s default (${elapsed} ms)`);
		} finally {
			sandbox.emulators.hubspot!.setFaults({});
		}
	});

	test('Sync to CRMs: one node writes a change to every other CRM, or back to its source; an activity waits in Retry Later for the CRM that lacks its contact only', async () => {
		const event = (source: CrmName, recordId: string, record: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ source, recordId, operation: 'update', occurredAt: new Date().toISOString(), record, ...extra });
		const statuses = (synced: Synced) => Object.fromEntries(Object.entries(synced).map(([crm, answer]) => [crm, answer.status]));
		const others = crms.filter((crm) => crm !== 'hubspot');
		const email = 'fan.out@example.com';

		const [written] = await sync('others', [event('hubspot', 'h-fan', { email, firstName: 'Fan', lastName: 'Out' }, { unifiedId: 'u-fan' })]);
		assert.deepEqual(statuses(written.synced), Object.fromEntries(others.map((crm) => [crm, 'created'])));
		for (const crm of others) assert.ok(JSON.stringify(sandbox.emulators[crm]!.dump()).includes(email), `${crm} holds the contact`);
		assert.ok(!JSON.stringify(sandbox.emulators.hubspot!.dump()).includes(email), 'nothing written to the source');

		// The activity's contact is in every CRM but HubSpot: HubSpot waits, the others are written.
		const pipedrivePerson = written.synced.pipedrive.id;
		const call = event('pipedrive', 'pa-fan', { type: 'call', subject: 'Call Fan', timestamp: '2026-03-05T14:30:00Z', contactIds: [pipedrivePerson] }, { operation: 'create' });
		await postWebhook(n8n.baseUrl, 'e2e-sync-activity', [call]);
		const [success, errors, retryLater] = (await lastRunData(n8n, 'crmSyncE2eSyncac')).Sync[0].data.main;
		assert.deepEqual([success.length, errors.length, retryLater.length], [0, 0, 1]);
		const retry = retryLater[0].json.retry as { targets: string[]; attempts: number; synced: Synced };
		assert.deepEqual(retry.targets, ['hubspot']);
		assert.equal(retry.attempts, 1);
		assert.deepEqual(Object.keys(retry.synced).sort(), crms.filter((crm) => crm !== 'hubspot' && crm !== 'pipedrive').sort());

		// The contact reaches HubSpot (a correction written back to its source), then the activity comes back round.
		const [corrected] = await sync('source', [event('hubspot', 'h-fan', { email, firstName: 'Fan', lastName: 'Out' }, { unifiedId: 'u-fan' })]);
		assert.deepEqual(statuses(corrected.synced), { hubspot: 'created' });
		const [done] = await sync('activity', [retryLater[0].json]);
		assert.deepEqual(Object.keys(done.synced).sort(), crms.filter((crm) => crm !== 'pipedrive').sort());
		assert.equal(done.synced.hubspot.status, 'created');
		assert.equal(done.retry, undefined);
	});
});
