import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	checkPhoneCountry,
	formalNames,
	NICKNAME_TABLE_SIZE,
	normaliseCity,
	normaliseCompany,
	normaliseEmail,
	normalisePersonName,
	normalisePhone,
	normalisePostalCode,
	normaliseStreet,
	prepareRecord,
	soundex,
} from '../../../lib/matching';

describe('normaliseEmail', () => {
	test('trims and lowercases', () => {
		assert.equal(normaliseEmail('  J.Doe@Example.COM '), 'j.doe@example.com');
	});
	test('rejects values that are not addresses', () => {
		for (const bad of ['', 'nobody', '@example.com', 'a@', 'a@b@c', 'a b@c.com', 42, null]) {
			assert.equal(normaliseEmail(bad), undefined, String(bad));
		}
	});
	test('Gmail folding is off by default', () => {
		assert.equal(normaliseEmail('John.Doe+crm@gmail.com'), 'john.doe+crm@gmail.com');
	});
	test('Gmail folding drops dots and +tags, and maps googlemail.com', () => {
		assert.equal(normaliseEmail('John.Doe+crm@gmail.com', true), 'johndoe@gmail.com');
		assert.equal(normaliseEmail('john.doe@googlemail.com', true), 'johndoe@gmail.com');
	});
	test('Gmail folding leaves other domains alone', () => {
		assert.equal(normaliseEmail('john.doe+x@example.com', true), 'john.doe+x@example.com');
	});
});

describe('normalisePhone', () => {
	test("the brief's numbers become the same E.164 string with country US", () => {
		assert.equal(normalisePhone('(555) 123-4567', 'US'), '+15551234567');
		assert.equal(normalisePhone('5551234567', 'US'), '+15551234567');
	});
	test('common North American formats agree', () => {
		for (const raw of ['415.555.0123', '+1 415 555 0123', '1-415-555-0123', '(415) 555-0123 x12', '4155550123']) {
			assert.equal(normalisePhone(raw, 'US'), '+14155550123', raw);
		}
	});
	test('international numbers keep their country code whatever the default', () => {
		assert.equal(normalisePhone('+44 20 7946 0958', 'US'), '+442079460958');
		assert.equal(normalisePhone('020 7946 0958', 'GB'), '+442079460958');
		assert.equal(normalisePhone('0044 20 7946 0958', 'DE'), '+442079460958');
	});
	test('the default country applies to national numbers', () => {
		assert.equal(normalisePhone('030 1234567', 'DE'), '+49301234567');
	});
	test('numbers libphonenumber cannot place fall back to digits', () => {
		assert.equal(normalisePhone('12 34 56 78 90 12 34', 'US'), '12345678901234');
	});
	test('unknown default countries are a clear error', () => {
		assert.equal(checkPhoneCountry(' gb '), 'GB');
		assert.throws(() => checkPhoneCountry('XX'), /not a supported ISO 3166 country code/);
	});
	test('too short or empty values are ignored', () => {
		assert.equal(normalisePhone('12345', 'US'), undefined);
		assert.equal(normalisePhone('', 'US'), undefined);
		assert.equal(normalisePhone(undefined, 'US'), undefined);
	});
});

describe('normalisePersonName', () => {
	test('case, accents and punctuation', () => {
		assert.deepEqual(normalisePersonName('  JOSÉ ', "O'Brien-Núñez"), { first: 'jose', last: 'obriennunez' });
	});
	test('single name field, with titles, suffixes and middle initials', () => {
		assert.deepEqual(normalisePersonName(undefined, undefined, 'Dr. John Q. Public Jr.'), { first: 'john', last: 'public' });
	});
	test('"Last, First" order', () => {
		assert.deepEqual(normalisePersonName(undefined, undefined, 'Doe, Jane'), { first: 'jane', last: 'doe' });
		assert.deepEqual(normalisePersonName(undefined, undefined, 'John Doe, Jr.'), { first: 'john', last: 'doe' });
	});
	test('multi-word family names are joined', () => {
		assert.deepEqual(normalisePersonName('Anna', 'van der Berg'), { first: 'anna', last: 'vanderberg' });
	});
	test('a leading initial yields to the full given name', () => {
		assert.deepEqual(normalisePersonName('J. Robert', 'Smith'), { first: 'robert', last: 'smith' });
		assert.deepEqual(normalisePersonName('J.', 'Smith'), { first: 'j', last: 'smith' });
	});
});

describe('nickname table', () => {
	test('has a few hundred names', () => {
		assert.ok(NICKNAME_TABLE_SIZE >= 300, `only ${NICKNAME_TABLE_SIZE}`);
	});
	test('nicknames resolve to shared formal names', () => {
		const shares = (a: string, b: string) => formalNames(a).some((n) => formalNames(b).includes(n));
		assert.ok(shares('jon', 'john'));
		assert.ok(shares('john', 'jonathan'));
		assert.ok(shares('bob', 'robert'));
		assert.ok(shares('liz', 'elizabeth'));
		assert.ok(shares('bill', 'william'));
		assert.ok(shares('peggy', 'margaret'));
		assert.ok(!shares('john', 'robert'));
		assert.ok(!shares('mary', 'margaret'));
	});
	test('unknown names stand for themselves', () => {
		assert.deepEqual(formalNames('xiomara'), ['xiomara']);
	});
});

describe('normaliseCompany', () => {
	test('strips legal forms, a leading The and punctuation', () => {
		assert.equal(normaliseCompany('The Acme Corporation'), 'acme');
		assert.equal(normaliseCompany('ACME, Inc.'), 'acme');
		assert.equal(normaliseCompany('Acme Pty Ltd'), 'acme');
		assert.equal(normaliseCompany('Müller GmbH'), 'muller');
		assert.equal(normaliseCompany('Globex S.A.'), 'globex');
		assert.equal(normaliseCompany('Initech B.V.'), 'initech');
		assert.equal(normaliseCompany('Stark Industries PLC'), 'stark industries');
		assert.equal(normaliseCompany('Johnson & Johnson'), 'johnson and johnson');
	});
	test('keeps a name that is only a legal form word', () => {
		assert.equal(normaliseCompany('The Company'), 'company');
	});
	test('empty values give undefined', () => {
		assert.equal(normaliseCompany('  '), undefined);
		assert.equal(normaliseCompany(undefined), undefined);
	});
});

describe('address normalisers', () => {
	test('postcodes: case, spaces, ZIP+4', () => {
		assert.equal(normalisePostalCode('sw1a 1aa'), 'SW1A1AA');
		assert.equal(normalisePostalCode('94105-1234'), '94105');
		assert.equal(normalisePostalCode(' '), undefined);
	});
	test('streets: common abbreviations', () => {
		assert.equal(normaliseStreet('123 North Main Street'), '123 n main st');
		assert.equal(normaliseStreet('123 N. Main St.'), '123 n main st');
		assert.equal(normaliseStreet('Hauptstraße 5'), normaliseStreet('Hauptstrasse 5'));
	});
	test('cities: folded', () => {
		assert.equal(normaliseCity('São Paulo'), 'sao paulo');
	});
});

describe('soundex', () => {
	test('classic codes', () => {
		assert.equal(soundex('robert'), 'R163');
		assert.equal(soundex('rupert'), 'R163');
		assert.equal(soundex('ashcraft'), 'A261');
		assert.equal(soundex('tymczak'), 'T522');
		assert.equal(soundex('pfister'), 'P236');
		assert.equal(soundex(''), '');
	});
});

describe('prepareRecord', () => {
	test('reads unified fields and aliases', () => {
		const prepared = prepareRecord(
			{ id: 7, name: 'Jon Smith', email: 'JON@Acme.com', phone: '(415) 555-0123', mobilePhone: '415.555.0123', companyName: 'Acme Inc', zip: '94105' },
			0,
		);
		assert.equal(prepared.id, '7');
		assert.equal(prepared.firstName, 'jon');
		assert.equal(prepared.lastName, 'smith');
		assert.equal(prepared.email, 'jon@acme.com');
		assert.equal(prepared.emailDomain, 'acme.com');
		assert.deepEqual(prepared.phones, ['+14155550123']);
		assert.equal(prepared.company, 'acme');
		assert.equal(prepared.postalCode, '94105');
		assert.deepEqual(prepared.firstNameCanonical, ['john', 'jonathan']);
	});
	test('options reach the normalisers', () => {
		const prepared = prepareRecord({ email: 'j.doe+x@gmail.com', phone: '030 1234567' }, 0, { gmailFolding: true, defaultCountry: 'DE' });
		assert.equal(prepared.email, 'jdoe@gmail.com');
		assert.deepEqual(prepared.phones, ['+49301234567']);
	});
});
