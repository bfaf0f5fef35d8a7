// Turns a unified record into a PreparedRecord: every normaliser applied once, up front,
// so that comparisons and blocking keys only read normalised values.

import type { UnifiedRecord } from '../model';
import { normaliseCity, normalisePostalCode, normaliseStreet } from './normalise-address';
import { normaliseCompany } from './normalise-company';
import { emailDomain, normaliseEmail } from './normalise-email';
import { givenNameKeys, normalisePersonName } from './normalise-name';
import { normalisePhone } from './normalise-phone';
import { asText } from './normalise-text';
import type { NormaliseOptions, PreparedRecord } from './types';

/** Unified field names read by the matcher, with accepted aliases (first present wins). */
export const MATCH_FIELDS = {
	id: ['id'],
	email: ['email'],
	phones: ['phone', 'mobilePhone'],
	firstName: ['firstName'],
	lastName: ['lastName'],
	fullName: ['name', 'fullName'],
	company: ['company', 'companyName'],
	street: ['street'],
	city: ['city'],
	postalCode: ['postalCode', 'zip', 'postcode'],
	country: ['country'],
} as const;

function pick(record: UnifiedRecord, fields: readonly string[]): unknown {
	for (const field of fields) {
		const value = record[field];
		if (value !== undefined && value !== null && value !== '') return value;
	}
	return undefined;
}

export function prepareRecord(record: UnifiedRecord, slot: number, options: NormaliseOptions = {}): PreparedRecord {
	const defaultCountry = options.defaultCountry ?? 'US';
	const email = normaliseEmail(pick(record, MATCH_FIELDS.email), options.gmailFolding ?? false);
	const phones: string[] = [];
	for (const field of MATCH_FIELDS.phones) {
		const phone = normalisePhone(record[field], defaultCountry);
		if (phone !== undefined && !phones.includes(phone)) phones.push(phone);
	}
	const name = normalisePersonName(
		pick(record, MATCH_FIELDS.firstName),
		pick(record, MATCH_FIELDS.lastName),
		pick(record, MATCH_FIELDS.fullName),
	);
	const id = asText(pick(record, MATCH_FIELDS.id));
	return {
		slot,
		id,
		source: record,
		email,
		emailDomain: email === undefined ? undefined : emailDomain(email),
		phones,
		firstName: name.first,
		lastName: name.last,
		firstNameCanonical: [...givenNameKeys(name.first)],
		company: normaliseCompany(pick(record, MATCH_FIELDS.company)),
		street: normaliseStreet(pick(record, MATCH_FIELDS.street)),
		city: normaliseCity(pick(record, MATCH_FIELDS.city)),
		postalCode: normalisePostalCode(pick(record, MATCH_FIELDS.postalCode)),
		country: asText(pick(record, MATCH_FIELDS.country))?.trim().toLowerCase(),
	};
}
