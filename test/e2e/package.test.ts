// The packed package, installed into a real n8n 2.x as a community package, loads every node and credential type.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PACKAGE_NAME, startN8n, type N8nInstance } from './harness';

const expected = {
	crmSyncTrigger: 'CRM Sync Trigger',
	crmSyncPollTrigger: 'CRM Sync Poll Trigger',
	fieldMapper: 'Field Mapper',
	duplicateDetector: 'Duplicate Detector',
	conflictResolver: 'Conflict Resolver',
	unifiedCrmUpsert: 'Unified CRM Upsert',
};

let n8n: N8nInstance;
before(async () => {
	n8n = await startN8n();
});
after(async () => {
	await n8n?.stop();
});

test('n8n lists all node types (the five nodes, the trigger in webhook and poll form) under the package prefix with icons and descriptions', async () => {
	const types = await n8n.api<Array<{ name: string; displayName: string; icon?: string; iconUrl?: unknown; description: string; properties: unknown[] }>>(
		'GET',
		'/types/nodes.json',
	);
	const ours = types.filter((type) => type.name.startsWith(`${PACKAGE_NAME}.`));
	for (const [name, displayName] of Object.entries(expected)) {
		const type = ours.find((candidate) => candidate.name === `${PACKAGE_NAME}.${name}`);
		assert.ok(type, `${PACKAGE_NAME}.${name} is not loaded; loaded: ${ours.map((t) => t.name).join(', ') || 'none'}`);
		assert.equal(type.displayName, displayName);
		assert.ok(type.icon || type.iconUrl, `${name} has no icon`);
		assert.ok(type.description.length > 20, `${name} has no real description`);
		assert.ok(type.properties.length > 0, `${name} has no parameters`);
	}
});

test('n8n knows the package credential types: the API and webhook credentials of each CRM, and CRM Sync Settings', async () => {
	const credentials = await n8n.api<Array<{ name: string }>>('GET', '/types/credentials.json');
	const names = new Set(credentials.map((credential) => credential.name));
	for (const name of [
		'salesforceCrmSyncOAuth2Api', 'hubSpotCrmSyncApi', 'hubSpotCrmSyncOAuth2Api', 'pipedriveCrmSyncApi', 'pipedriveCrmSyncOAuth2Api', 'zohoCrmSyncOAuth2Api', 'dynamicsCrmSyncApi',
		'salesforceWebhookCrmSyncApi', 'hubSpotWebhookCrmSyncApi', 'pipedriveWebhookCrmSyncApi', 'zohoWebhookCrmSyncApi', 'dynamicsWebhookCrmSyncApi',
		'crmSyncSettingsApi',
	]) {
		assert.ok(names.has(name), `credential type ${name} is not loaded`);
	}
});
