// The Unified CRM Upsert node in real n8n against every sandbox CRM this build has a connector for:
// unified input mapped per CRM, created → unchanged (snapshot) → updated (cross-reference), a bad
// record on the Errors output with the CRM's message, and GDPR erasure.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CRM_NAMES, type CrmName } from '../../lib/model';
import { EMULATOR_FACTORIES, startSandbox, type Sandbox } from '../../sandbox';
import { FaultInjector } from '../../sandbox/common/faults';
import { CREDENTIAL_REFS, sandboxCredentials } from './fixtures';
import { lastRunData, postWebhook, startN8n, type N8nInstance } from './harness';

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

let sandbox: Sandbox;
let n8n: N8nInstance;

before(async () => {
	sandbox = await startSandbox({ crms });
	n8n = await startN8n({
		workflowObjects: [
			...crms.flatMap((crm) => [workflow(crm, 'upsert'), workflow(crm, 'erase')]),
			workflow('hubspot', 'upsert', { path: 'timeout', options: { requestTimeout: 2 } }),
		],
		credentials: sandboxCredentials(sandbox.urls),
	});
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
});

type Out = { status: string; id: string; unifiedId?: string };

async function post(crm: CrmName, operation: string, body: unknown): Promise<Out[]> {
	const response = await postWebhook(n8n.baseUrl, `e2e/${crm}/${operation}`, body);
	assert.equal(response.status, 200, await response.clone().text());
	const text = await response.text();
	return text ? (JSON.parse(text) as Out[]) : [];
}

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
});
