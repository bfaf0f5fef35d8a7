// Mapping documents (JSON / YAML): parsing, schema validation errors, merging with node fields.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMapping, mergeOverrides, parseMappingDocument, MappingConfigError } from '../../../lib/mapping';

const YAML_DOC = `
version: 1
rules:
  - source: Custom_Field__c
    target: custom_property
  - source: UTM_Source__c
    target: utm_source
    transform: lowercase
    maxLength: 100
picklists:
  - field: leadSource
    side: source
    values:
      Web Site: web
computed:
  - target: full_name
    op: join
    sources: [FirstName, LastName]
defaults:
  hs_lead_status: NEW
required: [email]
`;

function problemsOf(text: string): string[] {
	try {
		parseMappingDocument(text);
	} catch (e) {
		assert.ok(e instanceof MappingConfigError, `expected MappingConfigError, got ${String(e)}`);
		return e.problems;
	}
	assert.fail('expected the document to be rejected');
}

describe('mapping documents', () => {
	test('YAML document drives a CRM → CRM mapping', () => {
		const overrides = parseMappingDocument(YAML_DOC);
		const m = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', mode: 'strict', overrides });
		const r = m.map({ FirstName: 'Ada', LastName: 'L', Email: 'ADA@x.io', LeadSource: 'Web Site', Custom_Field__c: 'V', UTM_Source__c: 'NewsLetter' });
		assert.deepEqual(r.record, {
			firstname: 'Ada', lastname: 'L', email: 'ada@x.io', leadsource: 'Web', custom_property: 'V', utm_source: 'newsletter',
			full_name: 'Ada L', hs_lead_status: 'NEW',
		});
		assert.equal(r.valid, true);
		const missing = m.map({ LastName: 'NoMail' });
		assert.deepEqual(missing.issues, [{ field: 'email', reason: 'is required but missing' }]);
	});

	test('the same document as JSON', () => {
		const json = JSON.stringify({ rules: [{ source: 'Custom_Field__c', target: 'custom_property' }], replaceDefaults: true });
		const m = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', overrides: parseMappingDocument(json) });
		assert.deepEqual(m.map({ FirstName: 'A', Custom_Field__c: 'V' }).record, { custom_property: 'V' });
	});

	test('empty document means no overrides', () => assert.deepEqual(parseMappingDocument('  \n'), {}));

	test('syntax errors name the format', () => {
		assert.match(problemsOf('{"rules": [}')[0], /not valid JSON/);
		assert.match(problemsOf('rules:\n  - source: a\n   target: b\n  bad: [')[0], /^YAML: /);
		assert.match(problemsOf('rules: []\nrules: []')[0], /YAML: .*(unique|duplicate)/i);
	});

	test('schema errors are all reported with their paths', () => {
		const problems = problemsOf(`
version: 2
rule: []
rules:
  - source: a
  - target: b
    transform: rot13
  - source: a
    target: b
    maxLength: -1
    values: [1]
  - just a string
picklists:
  - field: leadSource
    side: left
computed:
  - target: x
    op: concat
  - target: y
    op: template
  - target: z
    op: join
defaults: [1]
required: [email, 3]
`);
		const expected = [
			'rule: unknown key',
			'version: must be 1',
			'rules[0].target: must be a non-empty string',
			'rules[1].source: must be a non-empty string',
			'rules[1].transform: "rot13" is unknown',
			'rules[2].values: must be a mapping',
			'rules[2].maxLength: must be a positive whole number',
			'rules[3]: must be an object',
			'picklists[0].side: must be source, target or both',
			'picklists[0].values: must be a mapping',
			'computed[0].op: "concat" is unknown',
			'computed[1].template: must be a non-empty string',
			'computed[2].sources: is required for join',
			'defaults: must be a mapping',
			'required[1]: must be a field name',
		];
		for (const e of expected) assert.ok(problems.some((p) => p.startsWith(e)), `missing "${e}" in:\n${problems.join('\n')}`);
		assert.equal(problems.length, expected.length, problems.join('\n'));
	});

	test('a document that is not an object', () => {
		assert.match(problemsOf('- a\n- b')[0], /must be an object/);
		assert.match(problemsOf('"text"')[0], /must be an object/);
	});

	test('document and node fields merge: lists concatenate, defaults merge, replace sticks', () => {
		const merged = mergeOverrides(parseMappingDocument(YAML_DOC), { rules: [{ source: 'X', target: 'x' }], defaults: { a: 1 }, replaceDefaults: true });
		assert.equal(merged.rules!.length, 3);
		assert.deepEqual(merged.defaults, { hs_lead_status: 'NEW', a: 1 });
		assert.equal(merged.replaceDefaults, true);
		assert.deepEqual(merged.required, ['email']);
	});
});

describe('prototype keys in documents', () => {
	test('a __proto__ default (JSON or YAML) is reported by compileMapping, not turned into the defaults\' prototype', () => {
		for (const text of ['{"defaults": {"__proto__": {"hs_lead_status": "NEW"}}}', 'defaults:\n  __proto__:\n    hs_lead_status: NEW\n']) {
			const overrides = mergeOverrides(parseMappingDocument(text), { defaults: { lifecyclestage: 'lead' } });
			assert.equal(Object.getPrototypeOf(overrides.defaults), Object.prototype, text);
			assert.throws(() => compileMapping({ direction: 'fromUnified', target: 'hubspot', entity: 'contact', overrides }), /defaults key "__proto__" must not name __proto__/, text);
		}
	});

	test('a value map with a __proto__ entry is a document error', () => {
		assert.throws(() => parseMappingDocument('{"rules": [{"source": "a", "target": "b", "values": {"__proto__": "x", "A": "a"}}]}'), /rules\[0\]\.values\.__proto__: must not be __proto__/);
	});
});
