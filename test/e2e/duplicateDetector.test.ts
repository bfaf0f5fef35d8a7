// Duplicate Detector in a real n8n: the brief's example and companies within a batch, against the index of
// known records (embedded store in the n8n user folder), index maintenance, and against a target
// CRM (the HubSpot sandbox) with a merge of the duplicate in the CRM.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../sandbox';
import { CREDENTIAL_REFS, sandboxCredentials } from './fixtures';
import { batchWorkflow, lastRunData, postWebhook, startN8n, waitFor, type N8nInstance } from './harness';

const NAMESPACE = 'dedupe-e2e';

function workflow(id: string, path: string, detectorParameters: Record<string, unknown>, credentials?: Record<string, unknown>) {
	return batchWorkflow(id, path, {
		name: 'Duplicate Detector',
		type: 'duplicateDetector',
		parameters: detectorParameters,
		extra: credentials ? { credentials } : {},
	});
}

const existing = { id: '123', name: 'John Doe', email: 'j.doe@example.com', phone: '5551234567' };
const incoming = { name: 'Jonathan Doe', email: 'j.doe@example.com', phone: '(555) 123-4567' };
const stranger = { id: '900', name: 'Ann Lee', email: 'ann@lee.io', phone: '+44 20 7946 0958' };

let n8n: N8nInstance;
let sandbox: Sandbox;
type Out = Array<Record<string, unknown>>;

async function run(workflowId: string, path: string, body: unknown): Promise<{ unique: Out; duplicates: Out }> {
	const before = await executionCount(workflowId);
	const response = await postWebhook(n8n.baseUrl, path, body);
	assert.equal(response.status, 200);
	await waitFor(async () => (await executionCount(workflowId)) > before, 10_000);
	const data = await lastRunData(n8n, workflowId);
	const main = data['Duplicate Detector'][0].data.main;
	return { unique: (main[0] ?? []).map((i) => i.json), duplicates: (main[1] ?? []).map((i) => i.json) };
}

async function executionCount(workflowId: string): Promise<number> {
	const list = await n8n.api<{ data: Array<{ id: string; stoppedAt?: string }> }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=100`);
	return list.data.filter((e) => e.stoppedAt).length;
}

describe('Duplicate Detector in n8n', () => {
	before(async () => {
		sandbox = await startSandbox({ crms: ['hubspot'] });
		const { id, name } = CREDENTIAL_REFS.hubspot;
		n8n = await startN8n({
			credentials: sandboxCredentials(sandbox.urls),
			workflowObjects: [
				workflow('dedupeE2eBatch', 'dedupe-batch', { operation: 'findDuplicates', matchAgainst: 'batch' }),
				workflow('dedupeE2eCompanies', 'dedupe-companies', { operation: 'findDuplicates', matchAgainst: 'batch', recordKind: 'company' }),
				workflow('dedupeE2eIndexAdd', 'dedupe-index-add', { operation: 'updateIndex', syncNamespace: NAMESPACE }),
				workflow('dedupeE2eIndexFind', 'dedupe-index-find', {
					operation: 'findDuplicates',
					matchAgainst: 'index',
					syncNamespace: NAMESPACE,
					scoringMode: 'fellegiSunter',
				}),
				workflow(
					'dedupeE2eCrm',
					'dedupe-crm',
					{ operation: 'findDuplicates', matchAgainst: 'crm', crm: 'hubspot', hubspotAuthentication: 'privateApp', mergeInCrm: true },
					{ hubSpotCrmSyncApi: { id, name } },
				),
			],
		});
	});
	after(async () => {
		await n8n?.stop();
		await sandbox?.stop();
	});

	test("within a batch: the brief's example gives one duplicate with its master", async () => {
		const { unique, duplicates } = await run('dedupeE2eBatch', 'dedupe-batch', [existing, incoming, stranger]);
		assert.equal(duplicates.length, 1);
		assert.equal(unique.length, 2);
		const duplicate = duplicates[0].duplicate as Record<string, any>;
		assert.equal(duplicates[0].name, 'Jonathan Doe', 'the record passes through');
		assert.ok(duplicate.confidence > 0.8, String(duplicate.confidence));
		assert.equal(duplicate.factors.email, true);
		assert.equal(duplicate.factors.phone, true);
		assert.equal(duplicate.masterId, '123');
		assert.deepEqual(duplicate.master, existing);
		assert.deepEqual(unique.find((u) => u.id === '123')?.duplicateMaster, { cluster: 0, size: 2 });
	});

	test('companies within a batch: the same domain, else the same name; one name on two domains stays two companies', async () => {
		const { unique, duplicates } = await run('dedupeE2eCompanies', 'dedupe-companies', [
			{ id: 'sf-1', name: 'Acme, Inc.', website: 'https://www.acme.com/about', phone: '+14155550100' },
			{ id: 'hs-7', name: 'ACME', website: 'acme.com' },
			{ id: 'pd-3', name: 'Acme GmbH', website: 'acme.de' },
		]);
		assert.equal(duplicates.length, 1);
		const duplicate = duplicates[0].duplicate as Record<string, any>;
		assert.equal(duplicates[0].id, 'hs-7');
		assert.equal(duplicate.masterId, 'sf-1');
		assert.deepEqual(duplicate.factors, { domain: true });
		assert.deepEqual(unique.map((u) => u.id).sort(), ['pd-3', 'sf-1']);
	});

	test("against the index: records synced earlier are found, new ones are added", async () => {
		const added = await run('dedupeE2eIndexAdd', 'dedupe-index-add', [existing]);
		assert.equal(added.unique[0].indexed, true);

		const first = await run('dedupeE2eIndexFind', 'dedupe-index-find', [incoming, stranger]);
		assert.equal(first.duplicates.length, 1);
		const duplicate = first.duplicates[0].duplicate as Record<string, any>;
		assert.equal(duplicate.matches.length, 1, 'exactly one duplicate');
		assert.equal(duplicate.masterId, '123');
		assert.ok(duplicate.confidence > 0.8);
		assert.equal(duplicate.factors.email, true);
		assert.equal(duplicate.factors.phone, true);
		assert.deepEqual(first.unique.map((u) => u.id), ['900']);

		// The stranger was added to the index by the previous run: now it is known.
		const second = await run('dedupeE2eIndexFind', 'dedupe-index-find', [{ ...stranger, id: '901', email: 'ANN@lee.io' }]);
		assert.equal(second.duplicates.length, 1);
		assert.equal((second.duplicates[0].duplicate as Record<string, any>).masterId, '900');
	});

	test('against a target CRM: the existing HubSpot contacts are found, and merged in HubSpot', async () => {
		const createContact = async (properties: Record<string, string>) => {
			const response = await fetch(`${sandbox.urls.hubspot}/crm/v3/objects/contacts`, {
				method: 'POST',
				headers: { authorization: 'Bearer pat-e2e', 'content-type': 'application/json' },
				body: JSON.stringify({ properties }),
			});
			assert.equal(response.status, 201);
			return ((await response.json()) as { id: string }).id;
		};
		const johnId = await createContact({ email: 'j.doe@example.com', firstname: 'John', lastname: 'Doe', phone: '5551234567' });
		const jonId = await createContact({ email: 'jon.doe@example.com', firstname: 'Jon', lastname: 'Doe', phone: '5551234567' });

		// The incoming record is Jon's HubSpot contact (it carries his id) with John's email: a duplicate of John.
		const { unique, duplicates } = await run('dedupeE2eCrm', 'dedupe-crm', [{ ...incoming, id: jonId }, { name: 'Ann Lee', email: 'ann@lee.io' }]);
		assert.deepEqual(unique.map((u) => u.email), ['ann@lee.io']);
		assert.equal(duplicates.length, 1);
		const duplicate = duplicates[0].duplicate as Record<string, any>;
		assert.equal(duplicate.masterId, johnId, 'the contact with the same email is the master');
		assert.ok(duplicate.confidence > 0.8, String(duplicate.confidence));
		assert.equal(duplicate.factors.email, true);
		assert.equal(duplicate.factors.phone, true);

		// mergeInCrm: Jon's contact was merged into John's in HubSpot.
		assert.deepEqual(duplicates[0].merged, { masterId: johnId, mergedIds: [jonId] });
		const contacts = sandbox.emulators.hubspot!.dump().contacts as Array<{ id: string; archived?: boolean }>;
		assert.equal(contacts.find((c) => c.id === jonId)?.archived, true);
		assert.equal(contacts.find((c) => c.id === johnId)?.archived, false);
	});
});
