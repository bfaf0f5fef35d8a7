// Phone normalisation to E.164 with libphonenumber-js, lenient by design.
//
// CRM data holds many numbers libphonenumber calls invalid (test numbers such as the 555
// range, numbers from plans it does not know yet). For matching, the question is only "is
// this the same number?", so:
//   1. parseable and possible for the default country -> E.164 form, valid or not
//      ('(555) 123-4567' and '5551234567' both become '+15551234567' with country US);
//   2. otherwise -> digits only, with a leading '+' kept when the input had one.
// Numbers with fewer than 6 digits are ignored (extensions, junk).

import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const MIN_DIGITS = 6;

// Parsing costs ~15 µs; CRM batches repeat numbers (shared switchboards), so cache.
const cache = new Map<string, string | undefined>();
const CACHE_LIMIT = 100_000;

export function normalisePhone(value: unknown, defaultCountry = 'US'): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
	if (typeof value !== 'string') return undefined;
	const raw = value.trim();
	if (raw === '') return undefined;
	const cacheKey = `${defaultCountry}|${raw}`;
	if (cache.has(cacheKey)) return cache.get(cacheKey);
	const result = parse(raw, defaultCountry);
	if (cache.size >= CACHE_LIMIT) cache.clear();
	cache.set(cacheKey, result);
	return result;
}

function parse(raw: string, defaultCountry: string): string | undefined {
	// Drop extensions ("x123", "ext. 123") before counting digits.
	const withoutExtension = raw.replace(/\s*(?:ext\.?|extension|x|#)\s*\d+\s*$/i, '');
	const digits = withoutExtension.replace(/\D/g, '');
	if (digits.length < MIN_DIGITS) return undefined;
	const international = /^\s*(?:\+|00)/.test(withoutExtension);
	// Fast path with the same result as the parse below: in the North American plan a
	// national number is possible exactly when it has 10 digits (11 with the leading 1).
	if (isNanp(defaultCountry) && /^[\d\s().+-]+$/.test(withoutExtension)) {
		if (!international && digits.length === 10) return `+1${digits}`;
		if (digits.length === 11 && digits[0] === '1' && (international || !withoutExtension.includes('+'))) return `+${digits}`;
	}
	try {
		const parsed = parsePhoneNumberFromString(withoutExtension, {
			defaultCountry: defaultCountry.toUpperCase() as CountryCode,
			extract: false,
		});
		if (parsed && parsed.isPossible()) return parsed.number;
	} catch {
		// libphonenumber throws on some malformed input; fall through to digits.
	}
	if (international) return `+${digits.replace(/^00/, '')}`;
	return digits;
}

const nanpCache = new Map<string, boolean>();

function isNanp(country: string): boolean {
	let known = nanpCache.get(country);
	if (known === undefined) {
		try {
			known = getCountryCallingCode(country.toUpperCase() as CountryCode) === '1';
		} catch {
			known = false;
		}
		nanpCache.set(country, known);
	}
	return known;
}

/** Throws a clear error unless `country` is an ISO 3166 code libphonenumber knows. */
export function checkPhoneCountry(country: string): string {
	const code = country.trim().toUpperCase();
	if (!isSupportedCountry(code)) throw new Error(`Default phone country "${country}" is not a supported ISO 3166 country code (e.g. US, GB, DE)`);
	return code;
}

/**
 * Spellings of one number a CRM may hold, for exact-match searches (CRMs compare phone fields
 * as text): the value as given, E.164, national digits and the national and international
 * formats, and the national digit groups joined by '-', '.' or ' '. Other spellings in the CRM
 * are found only through the email search. Empty when the value is not a phone number.
 */
export function phoneSearchVariants(value: unknown, defaultCountry = 'US'): string[] {
	const normalised = normalisePhone(value, defaultCountry);
	if (normalised === undefined) return [];
	const variants = new Set<string>([String(value).trim(), normalised]);
	try {
		const parsed = parsePhoneNumberFromString(normalised, { defaultCountry: defaultCountry.toUpperCase() as CountryCode });
		if (parsed) {
			variants.add(parsed.nationalNumber);
			variants.add(`${parsed.countryCallingCode}${parsed.nationalNumber}`);
			const national = parsed.formatNational();
			const international = parsed.formatInternational();
			variants.add(national);
			variants.add(international);
			// The same digit groups joined as people type them: 617-555-0142, 617.555.0142, +1-617-555-0142.
			const groups = national.match(/\d+/g) ?? [];
			for (const separator of ['-', '.', ' ']) variants.add(groups.join(separator));
			variants.add(international.replace(/ /g, '-'));
		}
	} catch {
		// Digits-only fallback numbers have no other spelling.
	}
	return [...variants];
}
