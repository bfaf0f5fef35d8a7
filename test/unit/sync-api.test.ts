// The sync API's request validation: every reason with its field path, from lib/mapping's validators.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CRM_NAMES } from '../../lib/model';
import { validateBulkEnvelope, validateSyncRequest, withUnifiedId, BULK_MAX_BYTES, type Reason } from '../../lib/sync/sync-api';

const ALL = CRM_NAMES;

function reasons(body: unknown, crms = ALL): Reason[] {
	const result = validateSyncRequest(body, crms);
	assert.equal(result.ok, false, 'expected the request to be invalid');
	return (result as { reasons: Reason[] }).reasons;
}

function paths(body: unknown, crms = ALL): string[] {
	return reasons(body, crms).map((r) => r.path);
}

describe('validateSyncRequest', () => {
	test('a good create is valid, normalised, and gets a unified id when it has none', () => {
		const result = validateSyncRequest({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' } }, ALL);
		assert.ok(result.ok);
		assert.deepEqual(result.value.options, { skip_validation: false, force_update: false, trigger_workflows: false });
		const withId = withUnifiedId(result.value);
		assert.match(String(withId.data.id), /^[0-9a-f-]{36}$/);
		assert.equal(withUnifiedId({ ...result.value, data: { ...result.value.data, id: 'app-1' } }).data.id, 'app-1');
	});

	test('the body must be an object', () => {
		assert.deepEqual(reasons('not json'), [{ path: '', message: 'the request body must be a JSON object; got the string "not json"' }]);
		assert.deepEqual(paths([1, 2]), ['']);
	});

	test('all envelope problems are reported at once', () => {
		const found = reasons({ entity_type: 'person', operation: 'upsert', extra: 1, options: { force_update: 'yes', dry: true } });
		assert.deepEqual(
			found.map((r) => r.path),
			['extra', 'entity_type', 'operation', 'options.force_update', 'options.dry', 'data'],
		);
		assert.match(found[1].message, /must be one of contact, lead, account, opportunity, activity; got "person"/);
		assert.match(found[2].message, /must be one of create, update, delete, merge; got "upsert"/);
		assert.match(found[3].message, /must be true or false/);
		assert.match(found[5].message, /is required/);
	});

	test('missing entity_type and operation are named', () => {
		assert.deepEqual(paths({ data: { email: 'a@b.co' } }), ['entity_type', 'operation']);
	});

	test('data must be an object', () => {
		assert.match(reasons({ entity_type: 'contact', operation: 'create', data: [] })[0].message, /must be an object; got an array/);
	});

	test('invalid field values are reported per field with the CRMs that reject them, once per problem', () => {
		const found = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'not-an-email', lastName: 'X', phone: 'call me' } });
		const email = found.find((r) => r.path === 'data.email');
		assert.ok(email);
		assert.match(email.message, /"not-an-email" is not a valid email address \(salesforce, hubspot, pipedrive, zoho, dynamics\)/);
		assert.ok(found.some((r) => r.path === 'data.phone' && /is not a phone number/.test(r.message)));
		assert.equal(found.filter((r) => r.path === 'data.email').length, 1);
	});

	test('unknown fields are named with the fields the entity has', () => {
		const found = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'a@b.co', lastName: 'B', favouriteColour: 'blue' } });
		assert.equal(found.length, 1);
		assert.equal(found[0].path, 'data.favouriteColour');
		assert.match(found[0].message, /is not a field of the unified contact model \(fields: .*email/);
	});

	test('a contact create needs an email or a lastName; CRM-required fields come from the CRMs configured', () => {
		const hubspotOnly = reasons({ entity_type: 'contact', operation: 'create', data: { firstName: 'Ada' } }, ['hubspot']);
		assert.deepEqual(hubspotOnly, [{ path: 'data', message: 'a contact needs an email or a lastName' }]);
		// Salesforce, Zoho and Dynamics require a last name (lib/mapping default maps).
		const all = reasons({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com' } });
		assert.deepEqual(all, [{ path: 'data.lastName', message: 'is required but missing (salesforce, zoho, dynamics)' }]);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'create', data: { email: 'ada@example.com' } }, ['hubspot']).ok);
	});

	test('opportunity create: Salesforce needs stage and closeDate; bad picklist values are named', () => {
		const found = reasons({ entity_type: 'opportunity', operation: 'create', data: { name: 'Big deal', stage: 'almostThere' } }, ['salesforce']);
		assert.ok(found.some((r) => r.path === 'data.closeDate' && /required/.test(r.message)));
		assert.ok(found.some((r) => r.path === 'data.stage' && /no value in the target picklist/.test(r.message)));
	});

	test('update and delete need an id; update needs a field to write', () => {
		assert.deepEqual(reasons({ entity_type: 'contact', operation: 'update', data: { email: 'a@b.co' } }).map((r) => r.path), ['data.id']);
		assert.match(reasons({ entity_type: 'contact', operation: 'update', data: { email: 'a@b.co' } })[0].message, /is required for update: the unified id/);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: 'u1' } }), ['data']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'delete', data: {} }), ['data.id']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'delete', data: { id: 'u1', email: 'a@b.co' } }), ['data.email']);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'delete', data: { id: 'u1' } }, ALL).ok);
		// An update does not require the create-only fields (partial update).
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'update', data: { id: 'u1', title: 'CTO' } }, ALL).ok);
	});

	test('per-CRM id maps are checked and normalised to strings', () => {
		const ok = validateSyncRequest({ entity_type: 'contact', operation: 'update', data: { id: { pipedrive: 42, hubspot: '7' }, title: 'CTO' } }, ALL);
		assert.ok(ok.ok);
		assert.deepEqual(ok.value.data.id, { pipedrive: '42', hubspot: '7' });
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: { myCrm: '1', hubspot: '' }, title: 'CTO' } }), ['data.id.myCrm', 'data.id.hubspot']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data: { id: {}, title: 'CTO' } }), ['data.id']);
	});

	test('merge needs masterId and a non-empty mergedIds without the master', () => {
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: {} }), ['data.masterId', 'data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: [] } }), ['data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u1'] } }), ['data.mergedIds']);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u2', 5, null] } }), ['data.mergedIds[2]']);
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'merge', data: { masterId: 'u1', mergedIds: ['u2', { hubspot: '9' }] } }, ALL).ok);
	});

	test('skip_validation skips field checks but not the envelope or ids', () => {
		const data = { email: 'not-an-email', favouriteColour: 'blue' };
		assert.ok(validateSyncRequest({ entity_type: 'contact', operation: 'create', data, options: { skip_validation: true } }, ALL).ok);
		assert.deepEqual(paths({ entity_type: 'contact', operation: 'update', data, options: { skip_validation: true } }), ['data.id']);
	});
});

describe('validateBulkEnvelope', () => {
	test('size limit, records array and envelope', () => {
		assert.match((validateBulkEnvelope({}, BULK_MAX_BYTES + 1) as { reasons: Reason[] }).reasons[0].message, /up to 10485760/);
		const bad = validateBulkEnvelope({ entity_type: 'contact', operation: 'create', records: [] }, 10);
		assert.deepEqual((bad as { reasons: Reason[] }).reasons.map((r) => r.path), ['records']);
		const ok = validateBulkEnvelope({ entity_type: 'contact', operation: 'create', records: [{ email: 'a@b.co' }] }, 10);
		assert.ok(ok.ok);
		assert.equal(ok.value.records.length, 1);
	});
});
