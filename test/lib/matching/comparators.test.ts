import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	compareAddress,
	compareCompany,
	compareEmail,
	compareGivenNames,
	compareNames,
	comparePhone,
	comparePostalCode,
	compareRecords,
	jaroWinklerSimilarity,
	levenshteinRatio,
	prepareRecord,
	stringSimilarity,
} from '../../../lib/matching';
import type { UnifiedRecord } from '../../../lib/model';

const prep = (record: UnifiedRecord) => prepareRecord(record, 0);

describe('string similarity', () => {
	test('Levenshtein ratio', () => {
		assert.equal(levenshteinRatio('smith', 'smith'), 1);
		assert.equal(levenshteinRatio('smith', 'smyth'), 0.8);
		assert.equal(levenshteinRatio('abc', 'xyz'), 0);
	});
	test('Jaro-Winkler reference values', () => {
		assert.equal(jaroWinklerSimilarity('martha', 'marhta').toFixed(4), '0.9611');
		assert.equal(jaroWinklerSimilarity('dixon', 'dicksonx').toFixed(4), '0.8133');
		assert.equal(jaroWinklerSimilarity('', 'abc'), 0);
	});
	test('combined similarity is symmetric and 1 only for equal strings', () => {
		assert.equal(stringSimilarity('johnson', 'johnston'), stringSimilarity('johnston', 'johnson'));
		assert.ok(stringSimilarity('johnson', 'johnston') < 1);
		assert.equal(stringSimilarity('x', 'x'), 1);
	});
});

describe('comparators', () => {
	test('email: exact after normalisation; undefined when a side lacks it', () => {
		assert.equal(compareEmail(prep({ email: 'A@B.com' }), prep({ email: 'a@b.com ' })), true);
		assert.equal(compareEmail(prep({ email: 'a@b.com' }), prep({ email: 'c@b.com' })), false);
		assert.equal(compareEmail(prep({ email: 'a@b.com' }), prep({})), undefined);
	});
	test('phone: any normalised number in common, phone or mobile', () => {
		assert.equal(comparePhone(prep({ phone: '(555) 123-4567' }), prep({ phone: '5551234567' })), true);
		assert.equal(comparePhone(prep({ mobilePhone: '415 555 0123' }), prep({ phone: '+1-415-555-0123' })), true);
		assert.equal(comparePhone(prep({ phone: '415 555 0123' }), prep({ phone: '415 555 0124' })), false);
		assert.equal(comparePhone(prep({ phone: '415 555 0123' }), prep({})), undefined);
	});
	test('given names: nicknames, initials, typos', () => {
		assert.equal(compareGivenNames(prep({ firstName: 'Bob', lastName: 'X' }), prep({ firstName: 'Robert', lastName: 'X' })), 0.95);
		assert.equal(compareGivenNames(prep({ firstName: 'R.', lastName: 'X' }), prep({ firstName: 'Robert', lastName: 'X' })), 0.8);
		assert.equal(compareGivenNames(prep({ firstName: 'T.', lastName: 'X' }), prep({ firstName: 'Robert', lastName: 'X' })), 0);
		const typo = compareGivenNames(prep({ firstName: 'Micheal', lastName: 'X' }), prep({ firstName: 'Michael', lastName: 'X' })) ?? 0;
		assert.ok(typo > 0.8 && typo < 1, String(typo));
	});
	test('names: nickname-aware, swapped order, different people', () => {
		const jonathan = compareNames(prep({ name: 'Jonathan Doe' }), prep({ name: 'John Doe' })) ?? 0;
		assert.ok(jonathan > 0.95, String(jonathan));
		const swapped = compareNames(prep({ firstName: 'Doe', lastName: 'John' }), prep({ firstName: 'John', lastName: 'Doe' })) ?? 0;
		assert.equal(swapped, 1);
		const lastFirst = compareNames(prep({ name: 'Doe, John' }), prep({ firstName: 'John', lastName: 'Doe' }));
		assert.equal(lastFirst, 1);
		const household = compareNames(prep({ name: 'Mary Smith' }), prep({ name: 'John Smith' })) ?? 1;
		assert.ok(household < 0.85, String(household));
		assert.equal(compareNames(prep({ email: 'a@b.com' }), prep({ name: 'John Smith' })), undefined);
	});
	test('company: legal forms ignored, prefix names close, others far', () => {
		assert.equal(compareCompany(prep({ company: 'Acme Inc.' }), prep({ company: 'ACME Corporation' })), 1);
		assert.equal(compareCompany(prep({ company: 'Acme' }), prep({ company: 'Acme Widgets Ltd' })), 0.9);
		const far = compareCompany(prep({ company: 'Globex' }), prep({ company: 'Initech' })) ?? 1;
		assert.ok(far < 0.6, String(far));
		assert.equal(compareCompany(prep({ company: 'Acme' }), prep({})), undefined);
	});
	test('postcode and street', () => {
		assert.equal(comparePostalCode(prep({ postalCode: '94105-1234' }), prep({ postalCode: '94105' })), true);
		assert.equal(comparePostalCode(prep({ postalCode: '94105' }), prep({ postalCode: '10001' })), false);
		assert.equal(compareAddress(prep({ street: '1 Main Street' }), prep({ street: '1 Main St.' })), 1);
		assert.equal(compareAddress(prep({ street: '1 Main Street' }), prep({})), undefined);
	});
	test('compareRecords leaves out fields a side lacks', () => {
		const vector = compareRecords(prep({ email: 'a@b.com', phone: '4155550123', name: 'Al Bo' }), prep({ email: 'a@b.com', company: 'X' }));
		assert.deepEqual(Object.keys(vector), ['email']);
	});
});
