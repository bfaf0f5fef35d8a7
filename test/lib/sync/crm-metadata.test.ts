// The per-account metadata cache and the settings documents of lib/sync/crm-metadata.ts, against
// the Pipedrive sandbox over HTTP (its stages and users APIs).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { crmMetadata, crmMetadataKnowing, forgetCrmMetadata, METADATA_REFRESH_MS, METADATA_TTL_MS, parseMetadataSettings } from '../../../lib/sync/crm-metadata';
import { startSandbox, type Sandbox } from '../../../sandbox';

let sandbox: Sandbox;
let connector: CrmConnector;

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive'] });
	connector = createConnector('pipedrive', { apiToken: 'sandbox-token', baseUrl: sandbox.urls.pipedrive! });
});
after(() => sandbox?.stop());

const metadataReads = () => sandbox.emulators.pipedrive!.requests().filter((r) => r.path.includes('/stages') || r.path.includes('/users')).length;

test('an account is read once within the TTL, again after it; a failed read is not kept', async () => {
	forgetCrmMetadata();
	const t0 = Date.now();
	const before = metadataReads();
	await crmMetadata(connector, {}, t0);
	const once = metadataReads();
	assert.ok(once > before, 'stages and users read');
	await crmMetadata(createConnector('pipedrive', { apiToken: 'sandbox-token', baseUrl: sandbox.urls.pipedrive! }), {}, t0 + 1000);
	assert.equal(metadataReads(), once, 'the same account (another connector of it) is served from the cache');
	await crmMetadata(connector, {}, t0 + METADATA_TTL_MS + 1);
	assert.ok(metadataReads() > once, 'read again after the TTL');

	forgetCrmMetadata();
	sandbox.emulators.pipedrive!.setFaults({ errorRate: 1, pathPattern: '/stages' });
	try {
		await assert.rejects(crmMetadata(connector, {}, t0));
	} finally {
		sandbox.emulators.pipedrive!.setFaults({});
	}
	const metadata = await crmMetadata(connector, {}, t0 + 1);
	assert.ok(metadata.stages.entries.length > 0, 'the next call reads again and succeeds');
});

test('a user added in the CRM after the read is found once the cached read is older than a minute, for records that name them', async () => {
	forgetCrmMetadata();
	const t0 = Date.now();
	await crmMetadata(connector, {}, t0);
	const res = await fetch(`${sandbox.urls.pipedrive}/__admin/ui/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new.rep@example.com' }) });
	const added = String(((await res.json()) as { data: { id: number } }).data.id);
	const deal = { title: 'Deal', owner_id: Number(added) };
	const soon = await crmMetadataKnowing(connector, {}, 'opportunity', [deal], 'toUnified', t0 + 1000);
	assert.equal(soon.owners.knows('pipedrive', added), false, 'within a minute: the cached read');
	const later = await crmMetadataKnowing(connector, {}, 'opportunity', [deal], 'toUnified', t0 + METADATA_REFRESH_MS + 1000);
	assert.equal(later.owners.emailOf('pipedrive', added), 'new.rep@example.com', 'read again: the new user is known');
	const written = await crmMetadataKnowing(connector, {}, 'opportunity', [{ ownerEmail: 'new.rep@example.com' }], 'fromUnified', t0 + METADATA_REFRESH_MS + 2000);
	assert.equal(written.owners.ownerFor('pipedrive', 'new.rep@example.com').id, added);
	const reads = metadataReads();
	await crmMetadataKnowing(connector, {}, 'opportunity', [{ ownerEmail: 'nobody@example.com' }], 'fromUnified', t0 + METADATA_REFRESH_MS + 3000);
	assert.equal(metadataReads(), reads, 'an address that is nobody\'s is not read again within a minute');
});

test('settings documents: per CRM, JSON text or objects; anything else is refused with the reason', () => {
	assert.deepEqual(parseMetadataSettings('{"pipedrive":{"Demo Scheduled":"proposal"}}', { hubspot: 41556981, pipedrive: '7' }), {
		pipedrive: { stageOverrides: { 'Demo Scheduled': 'proposal' }, defaultOwnerId: '7' },
		hubspot: { defaultOwnerId: '41556981' },
	});
	assert.deepEqual(parseMetadataSettings('', '{}'), {});
	assert.throws(() => parseMetadataSettings('{"pipedrive": ', ''), /Deal Stage Overrides is not valid JSON/);
	assert.throws(() => parseMetadataSettings('{"sugarcrm": {}}', ''), /"sugarcrm" is not a CRM/);
	assert.throws(() => parseMetadataSettings('{"zoho": {"Qualification": 3}}', ''), /must map stage IDs or labels to unified stage names/);
	assert.throws(() => parseMetadataSettings('', '["005A"]'), /Default Owners must be a JSON object keyed by CRM/);
	assert.throws(() => parseMetadataSettings('', '{"salesforce": ""}'), /"salesforce" must be a user ID/);
});
