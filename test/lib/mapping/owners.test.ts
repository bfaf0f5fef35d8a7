// Owners carried across CRMs by the user's e-mail (lib/mapping/owners.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OwnerDirectory } from '../../../lib/mapping/owners';

const directory = new OwnerDirectory(
	{
		salesforce: [
			{ id: '005A', email: 'Ada@Example.com', name: 'Ada', active: true },
			{ id: '005B', email: 'bob@example.com', name: 'Bob', active: true },
			{ id: '005C', email: 'cy@example.com', name: 'Cy', active: true },
			{ id: '005D', name: 'Integration', active: true },
		],
		hubspot: [
			{ id: '9001', email: 'ada@example.com', name: 'Ada L', active: true },
			{ id: '9002', email: 'bob@example.com', name: 'Bob', active: false },
			{ id: '9003', email: 'owner@example.com', name: 'Default', active: true },
		],
		pipedrive: [{ id: '11', email: 'ada@example.com', active: true }],
	},
	{ hubspot: '9003' },
);

test('an owner is the user with the same e-mail, case aside', () => {
	assert.deepEqual(directory.translate('salesforce', '005A', 'hubspot'), { id: '9001', by: 'email', email: 'ada@example.com' });
	assert.deepEqual(directory.translate('hubspot', 9001, 'pipedrive'), { id: '11', by: 'email', email: 'ada@example.com' });
	assert.deepEqual(directory.translate('pipedrive', '11', 'salesforce'), { id: '005A', by: 'email', email: 'ada@example.com' });
});

test('no active user with that e-mail: the default owner, with the reason', () => {
	assert.deepEqual(directory.translate('salesforce', '005B', 'hubspot'), { id: '9003', by: 'default', email: 'bob@example.com', reason: 'the hubspot user bob@example.com is inactive' });
	assert.deepEqual(directory.translate('salesforce', '005C', 'hubspot'), { id: '9003', by: 'default', email: 'cy@example.com', reason: 'hubspot has no user cy@example.com' });
});

test('no default owner set: none, so the CRM assigns its own', () => {
	assert.deepEqual(directory.translate('salesforce', '005C', 'pipedrive'), { by: 'none', email: 'cy@example.com', reason: 'pipedrive has no user cy@example.com' });
	assert.deepEqual(directory.translate('salesforce', '005D', 'pipedrive'), { by: 'none', reason: 'salesforce user 005D has no e-mail address' });
	assert.deepEqual(directory.translate('zoho', '1', 'hubspot'), { id: '9003', by: 'default', reason: 'zoho has no user 1' });
});
