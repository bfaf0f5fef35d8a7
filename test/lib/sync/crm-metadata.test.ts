// The per-account metadata cache and the settings documents of lib/sync/crm-metadata.ts, against
// the Pipedrive sandbox over HTTP (its stages and users APIs).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { crmMetadata, forgetCrmMetadata, METADATA_TTL_MS, parseMetadataSettings } from '../../../lib/sync/crm-metadata';
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
