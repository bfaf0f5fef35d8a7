// Transformer and validator edge cases: bad emails, ambiguous phones, invalid dates, time zones,
// values too long, booleans, numbers, URLs, postal and state codes, ids, picklists.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Zone } from '../../../lib/mapping/dates';
import { joinNonEmpty, odataLookup } from '../../../lib/mapping/shapes';
import { buildTransform, namedTransform, resolveCountry, textOf, type TransformSettings, type TransformSpec } from '../../../lib/mapping/transformers';
import { valueMap } from '../../../lib/mapping/vocabulary';
import type { FieldType, ShapeWriter, Side } from '../../../lib/mapping/types';

const UTC: TransformSettings = { zone: new Zone('UTC'), phoneFormat: 'asIs', defaultCountry: undefined };

/** Runs a transformer: { value } or { problem }. */
function run(spec: Partial<TransformSpec> & { type: FieldType }, value: unknown, settings: TransformSettings = UTC, side: Side = 'unified') {
	const t = buildTransform({ side, ...spec }, settings);
	const cx = { problem: undefined as string | undefined };
	const out = t(value, cx);
	return cx.problem === undefined ? { value: out } : { problem: cx.problem };
}

const ok = (r: { value?: unknown; problem?: string }, expected: unknown) => assert.deepEqual(r, { value: expected });
const bad = (r: { value?: unknown; problem?: string }, pattern: RegExp) => {
	assert.ok(r.problem, `expected a problem, got ${JSON.stringify(r)}`);
	assert.match(r.problem!, pattern);
};

describe('email', () => {
	test('trims and lowercases', () => ok(run({ type: 'email' }, '  John.Doe+crm@Example.COM ' ), 'john.doe+crm@example.com'));
	test('empty string becomes null (cleared), null stays null', () => {
		ok(run({ type: 'email' }, '   '), null);
		ok(run({ type: 'email' }, null), null);
	});
	for (const v of ['john@@example.com', 'john@example', 'john.@example.com', 'a..b@example.com', 'john doe@example.com', '@example.com', 'john@-example.com', `${'a'.repeat(250)}@x.io`]) {
		test(`rejects ${JSON.stringify(v.length > 40 ? v.slice(0, 20) + '…' : v)}`, () => bad(run({ type: 'email' }, v), /not a valid email address/));
	}
	test('rejects non-strings', () => bad(run({ type: 'email' }, { email: 'a@b.co' }), /expected an email address, got an object/));
	test('CRM length limit', () => bad(run({ type: 'email', max: 20 }, 'abcdefghijkl@example.com', UTC, 'salesforce'), /24 characters long; the limit is 20/));
});

describe('phone', () => {
	const e164 = (country?: string): TransformSettings => ({ ...UTC, phoneFormat: 'e164', defaultCountry: resolveCountry(country) });
	test('as-is keeps local numbers untouched', () => {
		ok(run({ type: 'phone' }, '555-1234'), '555-1234');
		ok(run({ type: 'phone' }, ' (555) 123-4567 ext. 89 '), '(555) 123-4567 ext. 89');
		ok(run({ type: 'phone' }, 4155552671), '4155552671');
	});
	test('as-is rejects text and too few/many digits', () => {
		bad(run({ type: 'phone' }, 'call me'), /is not a phone number/);
		bad(run({ type: 'phone' }, '12'), /is not a phone number/);
		bad(run({ type: 'phone' }, '1234567890123456'), /is not a phone number/);
	});
	test('E.164 with a country code', () => {
		ok(run({ type: 'phone' }, '+44 20 7946 0958', e164()), '+442079460958');
		ok(run({ type: 'phone' }, '0044 20 7946 0958', e164()), '+442079460958');
		ok(run({ type: 'phone' }, '+1 (415) 555-2671 ext. 12', e164()), '+14155552671 ext. 12');
	});
	test('E.164 with the default country', () => {
		ok(run({ type: 'phone' }, '(415) 555-2671', e164('US')), '+14155552671');
		ok(run({ type: 'phone' }, '030 901820', e164('de')), '+4930901820');
	});
	test('ambiguous without a country', () => bad(run({ type: 'phone' }, '(415) 555-2671', e164()), /no country code and no default phone country is set: ambiguous/));
	test('invalid for the default country', () => {
		bad(run({ type: 'phone' }, '555-1234', e164('US')), /not a valid phone number for US/);
		bad(run({ type: 'phone' }, '+1 555', e164()), /not a valid phone number/);
	});
	test('unknown default country is a configuration error', () => assert.throws(() => resolveCountry('ZZ'), /not an ISO 3166 alpha-2 code/));
});

describe('numbers, currency, booleans', () => {
	test('numbers from strings with thousands separators', () => {
		ok(run({ type: 'number' }, '1,234,567.89'), 1234567.89);
		ok(run({ type: 'number' }, ' -12.5 '), -12.5);
		ok(run({ type: 'number' }, ''), null);
		bad(run({ type: 'number' }, '12abc'), /is not a number/);
		bad(run({ type: 'number' }, '1,23'), /is not a number/);
		bad(run({ type: 'number' }, Infinity), /is not a number/);
		bad(run({ type: 'integer' }, '1.5'), /not a whole number/);
	});
	test('HubSpot numbers are strings', () => ok(run({ type: 'number', format: { asString: true } }, 1500, UTC, 'hubspot'), '1500'));
	test('currency codes', () => {
		ok(run({ type: 'currency' }, ' eur'), 'EUR');
		bad(run({ type: 'currency' }, 'euros'), /ISO 4217/);
	});
	test('booleans', () => {
		ok(run({ type: 'boolean' }, 'Yes'), true);
		ok(run({ type: 'boolean' }, 'false'), false);
		ok(run({ type: 'boolean' }, 0), false);
		ok(run({ type: 'boolean' }, true, UTC, 'hubspot'), true);
		ok(run({ type: 'boolean', format: { asString: true } }, true, UTC, 'hubspot'), 'true');
		bad(run({ type: 'boolean' }, 'maybe'), /not a yes\/no value/);
	});
});

describe('dates and time zones', () => {
	const ny: TransformSettings = { ...UTC, zone: new Zone('America/New_York') };
	const kolkata: TransformSettings = { ...UTC, zone: new Zone('Asia/Kolkata') };
	test('invalid dates', () => {
		for (const v of ['2024-02-30', '2023-02-29', '2024-13-01', 'yesterday', '15/01/2024', '2024-01-15T25:00:00Z', '2024-01-15T10:61:00Z']) {
			bad(run({ type: 'date' }, v), /not a valid date/);
			bad(run({ type: 'datetime' }, v), /not a valid date-time/);
		}
		ok(run({ type: 'date' }, '2024-02-29'), '2024-02-29');
	});
	test('a date-only field keeps the date as written in its own offset', () => {
		ok(run({ type: 'date' }, '2024-01-15T23:30:00-05:00'), '2024-01-15');
		ok(run({ type: 'date' }, '2024-01-15T00:30:00+05:30'), '2024-01-15');
	});
	test('an instant becomes a date in the configured zone', () => {
		const ms = Date.UTC(2024, 0, 16, 3, 0);
		ok(run({ type: 'date' }, ms), '2024-01-16');
		ok(run({ type: 'date' }, ms, ny), '2024-01-15');
		ok(run({ type: 'date' }, `/Date(${ms})/`, ny), '2024-01-15');
	});
	test('Zoho offsets, HubSpot epoch ms, Dynamics WCF and ISO become UTC ISO', () => {
		ok(run({ type: 'datetime' }, '2024-01-15T15:26:49+05:30'), '2024-01-15T09:56:49.000Z');
		ok(run({ type: 'datetime' }, '1705312009000'), '2024-01-15T09:46:49.000Z');
		ok(run({ type: 'datetime' }, 1705312009), '2024-01-15T09:46:49.000Z');
		ok(run({ type: 'datetime' }, '/Date(1506384247000)/'), '2017-09-26T00:04:07.000Z');
		ok(run({ type: 'datetime' }, '2024-01-15T09:46:49.1234567Z'), '2024-01-15T09:46:49.123Z');
	});
	test('datetimes without an offset are read in the configured zone (DST aware)', () => {
		ok(run({ type: 'datetime' }, '2024-01-15 10:00:00'), '2024-01-15T10:00:00.000Z');
		ok(run({ type: 'datetime' }, '2024-01-15T12:00:00', ny), '2024-01-15T17:00:00.000Z');
		ok(run({ type: 'datetime' }, '2024-07-01T12:00:00', ny), '2024-07-01T16:00:00.000Z');
		ok(run({ type: 'datetime' }, '2024-01-15', kolkata), '2024-01-14T18:30:00.000Z');
	});
	test('CRM formats: Zoho offset in the zone, HubSpot epoch ms, Salesforce date-only', () => {
		const iso = '2024-01-15T09:56:49.000Z';
		ok(run({ type: 'datetime', format: { date: 'isoOffset' } }, iso, kolkata, 'zoho'), '2024-01-15T15:26:49+05:30');
		ok(run({ type: 'datetime', format: { date: 'isoOffset' } }, iso, ny, 'zoho'), '2024-01-15T04:56:49-05:00');
		ok(run({ type: 'datetime', format: { date: 'epochMs' } }, iso, UTC, 'hubspot'), '1705312609000');
		ok(run({ type: 'date', format: { date: 'epochMsMidnight' } }, '2024-06-30', UTC, 'hubspot'), String(Date.UTC(2024, 5, 30)));
		ok(run({ type: 'date' }, '2024-06-30T10:00:00Z', UTC, 'salesforce'), '2024-06-30');
		ok(run({ type: 'datetime' }, '2024-06-30T10:00:00+02:00', UTC, 'dynamics'), '2024-06-30T08:00:00.000Z');
	});
});

describe('text, URL, postal code, state code, ids, picklists', () => {
	test('values too long for the CRM', () => {
		bad(run({ type: 'string', max: 80 }, 'x'.repeat(81), UTC, 'salesforce'), /81 characters long; the limit is 80/);
		ok(run({ type: 'string', max: 80 }, 'x'.repeat(80), UTC, 'salesforce'), 'x'.repeat(80));
		ok(run({ type: 'string', max: 80 }, 'x'.repeat(81)), 'x'.repeat(81));
		bad(run({ type: 'url', max: 10 }, 'https://example.com', UTC, 'dynamics'), /limit is 10/);
	});
	test('text accepts numbers and booleans, rejects objects', () => {
		ok(run({ type: 'string' }, 42), '42');
		bad(run({ type: 'string' }, ['a']), /expected text, got an array/);
	});
	test('URLs', () => {
		ok(run({ type: 'url' }, 'example.com'), 'example.com');
		ok(run({ type: 'url' }, ' https://www.example.co.uk/path?q=1 '), 'https://www.example.co.uk/path?q=1');
		bad(run({ type: 'url' }, 'not a url'), /not a web address/);
		bad(run({ type: 'url' }, 'https://'), /not a web address/);
		bad(run({ type: 'url' }, 'ftp://example.com'), /not a web address/);
	});
	test('postal codes', () => {
		ok(run({ type: 'postalCode' }, 'sw1y 4jh'), 'SW1Y 4JH');
		ok(run({ type: 'postalCode' }, 12345), '12345');
		ok(run({ type: 'postalCode' }, '12345-6789'), '12345-6789');
		bad(run({ type: 'postalCode' }, '!!'), /not a postal code/);
		bad(run({ type: 'postalCode' }, '12345678901'), /not a postal code/);
	});
	test('state codes', () => {
		ok(run({ type: 'stateCode' }, 'California'), 'CA');
		ok(run({ type: 'stateCode' }, 'ny'), 'NY');
		ok(run({ type: 'stateCode' }, 'Québec'.normalize('NFD').replace(/[\u0300-\u036f]/g, '')), 'QC');
		bad(run({ type: 'stateCode' }, 'Atlantis'), /not a US state or Canadian province/);
		ok({ value: namedTransform('stateCode', 'salesforce', UTC, undefined)('Texas', { problem: undefined }) }, 'TX');
	});
	test('ids', () => {
		ok(run({ type: 'id', format: { id: 'integer' } }, '42', UTC, 'pipedrive'), 42);
		bad(run({ type: 'id', format: { id: 'integer' } }, '003A', UTC, 'pipedrive'), /not a numeric record id/);
		bad(run({ type: 'id', format: { id: 'guid' } }, 'abc', UTC, 'dynamics'), /not a GUID/);
		ok(run({ type: 'id', format: { list: true } }, 7), ['7']);
		bad(run({ type: 'id', format: { list: true, single: true } }, ['1', '2'], UTC, 'salesforce'), /links one record here; 2 ids given/);
	});
	test('picklists', () => {
		const values = valueMap([['web', 'Web'], ['web', 'Website'], ['other', 'Other']]);
		ok(run({ type: 'picklist', values }, 'website'), 'web');
		bad(run({ type: 'picklist', values }, 'Fax'), /"Fax" is not in the value map/);
		ok(run({ type: 'picklist', values }, 'web', UTC, 'salesforce'), 'Web');
		ok(run({ type: 'picklist', values }, 'Website', UTC, 'salesforce'), 'Website');
		bad(run({ type: 'picklist', values }, 'fax', UTC, 'salesforce'), /no value in the target picklist/);
	});
	test('unknown rule transformer is a configuration error', () => assert.throws(() => namedTransform('rot13', 'unified', UTC, undefined), /unknown transformer "rot13"/));
});

// Values String() cannot convert: their own toString/valueOf are not functions (JSON bodies can say so).
describe('hostile values', () => {
	const hostile = [JSON.parse('{"toString":1,"valueOf":1}'), [JSON.parse('{"toString":1}')], Object.create(null)];
	const types: FieldType[] = ['string', 'email', 'phone', 'number', 'integer', 'currency', 'boolean', 'date', 'datetime', 'url', 'postalCode', 'stateCode', 'id', 'picklist'];
	const values = valueMap([['web', 'Web']]);
	for (const side of ['unified', 'salesforce', 'hubspot', 'pipedrive'] as Side[]) {
		test(`every type reports a problem instead of throwing (${side})`, () => {
			for (const type of types) {
				for (const value of hostile) {
					for (const format of [undefined, { list: true }, { id: 'integer' as const }, { date: 'epochMs' as const, asString: true }]) {
						const r = run({ type, values, format }, value, UTC, side);
						assert.ok(r.problem, `${type} ${side}: expected a problem for ${textOf(value)}, got ${JSON.stringify(r)}`);
					}
				}
			}
		});
	}
	test('textOf is String() where String() works, and a type tag where it throws', () => {
		assert.equal(textOf(42), '42');
		assert.equal(textOf(['a', 'b']), 'a,b');
		assert.equal(textOf(null), 'null');
		assert.equal(textOf(hostile[0]), '[object Object]');
		assert.equal(textOf(hostile[1]), '[object Array]');
	});
	test('shapes join and bind such values without throwing', () => {
		assert.equal(joinNonEmpty(['Ada', hostile[0]], ' '), 'Ada [object Object]');
		const out: Record<string, unknown> = {};
		(odataLookup('parentcustomerid', 'parentcustomerid_account', 'accounts').write as ShapeWriter)(out, hostile[0], {});
		assert.equal(out['parentcustomerid_account@odata.bind'], '/accounts([object Object])');
	});
});
