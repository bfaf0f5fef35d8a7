// The compact shape every real-time sync template has (issue 19): one CRM Sync Trigger serving
// all five CRMs under a fixed webhookId, a short chain with no expressions, the state store chosen
// once by the CRM Sync Settings credential, and no secret anywhere in the exported JSON.
import assert from 'node:assert/strict';

import { SETTINGS_CREDENTIAL_REF, WEBHOOK_CREDENTIAL_REFS } from './fixtures';
import type { WorkflowJson } from './subscriptions';

const PACKAGE = 'n8n-nodes-crm-sync.';
const CRMS = ['dynamics', 'hubspot', 'pipedrive', 'salesforce', 'zoho'];
const SECRET_PARAMETERS = ['secret', 'previousSecret', 'basicAuthUser'];

type Node = WorkflowJson['nodes'][number];

/** Asserts the shape and returns the template's one trigger node; `sources`: the CRMs the trigger serves (default: all five). */
export function assertCompactTemplate(template: WorkflowJson, webhookId: string, sources: string[] = CRMS): Node {
	const nodes = template.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote');
	assert.doesNotMatch(JSON.stringify(nodes), /\{\{|"=/, 'no expressions on the path');
	assert.ok(nodes.length <= 10, `${nodes.length} nodes besides sticky notes (at most 10)`);

	const triggers = nodes.filter((n) => n.type === `${PACKAGE}crmSyncTrigger`);
	assert.equal(triggers.length, 1, 'one trigger serves every CRM');
	const [trigger] = triggers;
	assert.deepEqual([trigger.parameters.crm].flat().sort(), [...sources].sort(), `the trigger has ${sources.length === CRMS.length ? 'all five CRMs' : sources.join(', ')} ticked`);
	assert.equal(trigger.webhookId, webhookId);
	for (const [crm, ref] of Object.entries(WEBHOOK_CREDENTIAL_REFS)) if (sources.includes(crm)) assert.equal(trigger.credentials?.[ref.type]?.id, ref.id, `the trigger's ${ref.type}`);

	for (const node of nodes.filter((n) => n.type.startsWith(PACKAGE))) {
		// The Field Mapper maps CRM → unified here and keeps no state.
		if (node.type === `${PACKAGE}fieldMapper` && node.parameters.resolveReferences !== true) {
			assert.equal(node.parameters.stateBackend, undefined, `${node.name} keeps no state`);
			continue;
		}
		assert.equal(node.parameters.stateBackend, 'settings', `${node.name}: state store from the CRM Sync Settings credential`);
		assert.equal(node.credentials?.[SETTINGS_CREDENTIAL_REF.type]?.id, SETTINGS_CREDENTIAL_REF.id, `${node.name}: the settings credential`);
		assert.equal('syncNamespace' in node.parameters, false, `${node.name}: no namespace of its own`);
	}

	// No secret in the JSON: no secret parameter anywhere, credentials referenced by id and name only.
	const keys: string[] = [];
	const walk = (value: unknown): void => {
		if (Array.isArray(value)) value.forEach(walk);
		else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) (keys.push(key), walk(inner));
	};
	walk(template);
	assert.deepEqual(keys.filter((key) => SECRET_PARAMETERS.includes(key)), [], 'no secret parameter');
	for (const node of template.nodes) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) assert.deepEqual(Object.keys(ref).sort(), ['id', 'name'], `${node.name}: ${type} is a reference, no credential data`);
	}
	return trigger;
}
