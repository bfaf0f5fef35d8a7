// Field Mapper target-field lists: default-map fields, and live fields from the Salesforce
// connector's describeFields against the sandbox emulator (real jsforce over real HTTP).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { createConnector } from '../../../lib/connectors';
import { defaultTargetFields } from '../../../lib/mapping';
import { CUSTOM_FIELD_OPTION, defaultFieldOptions, liveFieldOptions } from '../../../nodes/FieldMapper/fields';

let sandbox: Sandbox;
let url: string;

before(async () => {
	sandbox = await startSandbox({ crms: ['salesforce'] });
	url = sandbox.urls.salesforce!;
});
after(async () => {
	await sandbox?.stop();
});

describe('Field Mapper target fields', () => {
	test('default map: CRM field names for a CRM target, unified names for CRM → unified', () => {
		const sf = defaultFieldOptions(defaultTargetFields('crmToCrm', 'contact', 'hubspot', 'salesforce'));
		assert.deepEqual(sf[0], CUSTOM_FIELD_OPTION);
		const last = sf.find((o) => o.value === 'LastName');
		assert.match(String(last?.description), /required by the CRM/);
		assert.ok(!sf.some((o) => o.value === 'Account.Name'), 'read-only relationship fields are not targets');
		const unified = defaultFieldOptions(defaultTargetFields('toUnified', 'activity', 'dynamics'));
		assert.deepEqual(unified.slice(1).map((o) => o.value).sort(), ['accountIds', 'body', 'contactIds', 'dealIds', 'duration', 'ownerId', 'subject', 'timestamp', 'type']);
	});

	test("live fields from Salesforce's describe: writable only, flags, default-map marks", async () => {
		const connector = createConnector('salesforce', {
			grantType: 'authorizationCode', clientId: 'sandbox-client', clientSecret: 'sandbox-secret', loginUrl: url, apiVersion: '62.0',
			oauthTokenData: { refresh_token: 'rt-fields', instance_url: url },
		});
		const live = await connector.describeFields('contact');
		const options = liveFieldOptions(live, defaultTargetFields('fromUnified', 'contact', undefined, 'salesforce'));
		assert.deepEqual(options[0], CUSTOM_FIELD_OPTION);
		const values = options.map((o) => o.value);
		assert.ok(values.includes('LastName') && values.includes('Email'));
		assert.ok(!values.includes('Id'), 'read-only fields are left out');
		const lastName = options.find((o) => o.value === 'LastName')!;
		assert.match(String(lastName.description), /required/);
		assert.match(String(lastName.description), /in default map/);
		assert.equal(options.length - 1, live.filter((f) => !f.readOnly).length);
	});
});
