// Field comparators over prepared (normalised) records. Each returns undefined when a side
// lacks the field, so that scorers can tell "disagree" from "unknown".

import { stringSimilarity } from './similarity';
import type { ComparisonVector, PreparedRecord } from './types';

/** Given names that are nicknames of each other (Bob / Robert) score this. */
export const NICKNAME_SIMILARITY = 0.95;
/** A lone initial that matches the other given name's first letter scores this. */
export const INITIAL_SIMILARITY = 0.8;
const FIRST_NAME_WEIGHT = 0.45;
const LAST_NAME_WEIGHT = 0.55;
/** A name known only by its family name is weaker evidence. */
const PARTIAL_NAME_FACTOR = 0.9;
const SWAP_CHECK_BELOW = 0.75;

export function compareEmail(a: PreparedRecord, b: PreparedRecord): boolean | undefined {
	if (a.email === undefined || b.email === undefined) return undefined;
	return a.email === b.email;
}

export function comparePhone(a: PreparedRecord, b: PreparedRecord): boolean | undefined {
	if (a.phones.length === 0 || b.phones.length === 0) return undefined;
	return a.phones.some((p) => b.phones.includes(p));
}

export function compareGivenNames(a: PreparedRecord, b: PreparedRecord): number | undefined {
	const x = a.firstName;
	const y = b.firstName;
	if (x === undefined || y === undefined) return undefined;
	if (x === y) return 1;
	if (x.length === 1 || y.length === 1) return x[0] === y[0] ? INITIAL_SIMILARITY : 0;
	if (a.firstNameCanonical.some((n) => b.firstNameCanonical.includes(n))) return NICKNAME_SIMILARITY;
	return stringSimilarity(x, y);
}

/** Full-name similarity, nickname-aware, tolerating first/last swapped. */
export function compareNames(a: PreparedRecord, b: PreparedRecord): number | undefined {
	if (a.lastName === undefined || b.lastName === undefined) {
		// Only given names (rare): compare those, weakly.
		const given = compareGivenNames(a, b);
		return given === undefined ? undefined : given * PARTIAL_NAME_FACTOR;
	}
	const last = stringSimilarity(a.lastName, b.lastName);
	const given = compareGivenNames(a, b);
	if (given === undefined) return last * PARTIAL_NAME_FACTOR;
	const straight = FIRST_NAME_WEIGHT * given + LAST_NAME_WEIGHT * last;
	// Only a pair whose given names disagree can be a swapped-order match worth checking.
	if (given >= SWAP_CHECK_BELOW || a.firstName === undefined || b.firstName === undefined) return straight;
	const swapped =
		FIRST_NAME_WEIGHT * stringSimilarity(a.firstName, b.lastName) +
		LAST_NAME_WEIGHT * stringSimilarity(a.lastName, b.firstName);
	return Math.max(straight, swapped);
}

/** Company similarity; a name that is the other's first words ('acme' / 'acme widgets') scores 0.9. */
export function compareCompany(a: PreparedRecord, b: PreparedRecord): number | undefined {
	const x = a.company;
	const y = b.company;
	if (x === undefined || y === undefined) return undefined;
	if (x === y) return 1;
	const similarity = stringSimilarity(x, y);
	const [shorter, longer] = x.length <= y.length ? [x, y] : [y, x];
	const prefix = longer.startsWith(`${shorter} `) ? 0.9 : 0;
	return Math.max(similarity, prefix);
}

export function comparePostalCode(a: PreparedRecord, b: PreparedRecord): boolean | undefined {
	if (a.postalCode === undefined || b.postalCode === undefined) return undefined;
	return a.postalCode === b.postalCode;
}

export function compareAddress(a: PreparedRecord, b: PreparedRecord): number | undefined {
	if (a.street === undefined || b.street === undefined) return undefined;
	return stringSimilarity(a.street, b.street);
}

/** Every comparator; fields a side lacks are absent from the result. */
export function compareRecords(a: PreparedRecord, b: PreparedRecord): ComparisonVector {
	const vector: ComparisonVector = {};
	const email = compareEmail(a, b);
	if (email !== undefined) vector.email = email;
	const phone = comparePhone(a, b);
	if (phone !== undefined) vector.phone = phone;
	const name = compareNames(a, b);
	if (name !== undefined) vector.name = name;
	const company = compareCompany(a, b);
	if (company !== undefined) vector.company = company;
	const postalCode = comparePostalCode(a, b);
	if (postalCode !== undefined) vector.postalCode = postalCode;
	const address = compareAddress(a, b);
	if (address !== undefined) vector.address = address;
	return vector;
}
