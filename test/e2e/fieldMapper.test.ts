// Field Mapper in a real n8n: Salesforce records posted to a webhook are mapped to HubSpot
// (the brief's example must come out exactly), bad records go to "Invalid" with one reason per
// field, and a YAML mapping document plus sync-event items (record field, source from the item) work.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { batchWorkflow, lastRunData, postWebhook, startN8n, type N8nInstance } from './harness';

function workflow(id: string, path: string, mapperParameters: Record<string, unknown>) {
	return batchWorkflow(id, path, { name: 'Field Mapper', type: 'fieldMapper', parameters: mapperParameters });
}

const briefRecord = { FirstName: 'John', LastName: 'Doe', Email: 'john@example.com', Phone: '555-1234', Account: { Name: 'Acme Corp' }, LeadSource: 'Web', Custom_Field__c: 'Value' };
const briefExpected = { firstname: 'John', lastname: 'Doe', email: 'john@example.com', phone: '555-1234', company: 'Acme Corp', leadsource: 'Web', custom_property: 'Value' };

let n8n: N8nInstance;
type Out = Array<Record<string, unknown>>;

async function run(workflowId: string, path: string, body: unknown): Promise<{ mapped: Out; invalid: Out }> {
	const response = await postWebhook(n8n.baseUrl, path, body);
	assert.equal(response.status, 200);
	const data = await lastRunData(n8n, workflowId);
	const main = data['Field Mapper'][0].data.main;
	return { mapped: (main[0] ?? []).map((i) => i.json), invalid: (main[1] ?? []).map((i) => i.json) };
}

describe('Field Mapper in n8n', () => {
	before(async () => {
		n8n = await startN8n({
			workflowObjects: [
				workflow('fieldMapperE2eSfHs', 'mapper-sf-hs', {
					direction: 'crmToCrm',
					sourceCrm: 'salesforce',
					targetCrm: 'hubspot',
					entity: 'contact',
					mode: 'strict',
					rules: { rule: [{ source: 'Custom_Field__c', target: '', customTarget: 'custom_property', transform: 'none' }] },
				}),
				workflow('fieldMapperE2eDoc', 'mapper-doc', {
					direction: 'toUnified',
					sourceCrm: 'salesforce',
					entity: 'contact',
					mode: 'lenient',
					phoneFormat: 'e164',
					defaultCountry: 'US',
					mappingDocument: 'rules:\n  - source: UTM_Source__c\n    target: utmSource\n    transform: lowercase\ncomputed:\n  - target: fullName\n    op: join\n    sources: [FirstName, LastName]\n',
					options: { recordField: 'record', useEventSource: true },
				}),
			],
		});
	});
	after(async () => {
		await n8n?.stop();
	});

	test("maps the brief's Salesforce contact to HubSpot exactly; bad records go to Invalid", async () => {
		const bad = { FirstName: 'Jane', LastName: 'x'.repeat(81), Email: 'jane@@example', Phone: 'call me' };
		const { mapped, invalid } = await run('fieldMapperE2eSfHs', 'mapper-sf-hs', [briefRecord, bad, { LastName: 'Smith', Email: ' SMITH@Example.com ' }]);
		assert.equal(mapped.length, 2);
		assert.deepStrictEqual(mapped[0], briefExpected);
		assert.deepStrictEqual(mapped[1], { lastname: 'Smith', email: 'smith@example.com' });
		assert.equal(invalid.length, 1);
		const errors = invalid[0].errors as Array<{ field: string; reason: string }>;
		assert.deepEqual(errors.map((e) => e.field).sort(), ['Email', 'Phone']);
		assert.deepEqual(invalid[0].record, bad);
	});

	test('mapping document, sync-event items and lenient warnings', async () => {
		const events = [
			{ eventId: 'e1', source: 'salesforce', entity: 'contact', record: { FirstName: 'Ada', LastName: 'Lovelace', Phone: '(415) 555-2671', UTM_Source__c: 'NewsLetter' } },
			{ eventId: 'e2', source: 'zoho', entity: 'contact', record: { First_Name: 'Alan', Last_Name: 'Turing', Account_Name: { id: '57001', name: 'Bletchley' }, Phone: '555-1234' } },
		];
		const { mapped, invalid } = await run('fieldMapperE2eDoc', 'mapper-doc', events);
		assert.equal(invalid.length, 0);
		assert.equal(mapped.length, 2);
		assert.equal(mapped[0].eventId, 'e1', 'other fields of the item are kept');
		assert.deepEqual(mapped[0].record, { firstName: 'Ada', lastName: 'Lovelace', phone: '+14155552671', utmSource: 'newsletter', fullName: 'Ada Lovelace' });
		const zoho = mapped[1].record as Record<string, unknown>;
		assert.equal(zoho.company, 'Bletchley');
		assert.equal(zoho.accountId, '57001');
		assert.equal(zoho.phone, '555-1234', 'lenient keeps the original value');
		const warnings = zoho._mappingWarnings as Array<{ field: string; reason: string }>;
		assert.equal(warnings.length, 1);
		assert.equal(warnings[0].field, 'phone');
		assert.match(warnings[0].reason, /not a valid phone number for US/);
	});

	test('the Target Field dropdown lists the default map (loadOptions in n8n)', async () => {
		const response = await n8n.api<{ data: Array<{ name: string; value: string; description?: string }> }>('POST', '/rest/dynamic-node-parameters/options', {
			nodeTypeAndVersion: { name: 'n8n-nodes-crm-sync.fieldMapper', version: 1 },
			path: 'parameters.rules.rule[0].target',
			methodName: 'getTargetFields',
			currentNodeParameters: { direction: 'crmToCrm', sourceCrm: 'salesforce', targetCrm: 'hubspot', entity: 'contact', liveFields: false },
		});
		const values = response.data.map((o) => o.value);
		assert.equal(values[0], '', 'first entry: custom field');
		for (const f of ['email', 'firstname', 'lastname', 'leadsource', 'hubspot_owner_id']) assert.ok(values.includes(f), `${f} listed`);
		assert.ok(!values.includes('hs_email_optout'), 'read-only fields are not targets');
	});
});
