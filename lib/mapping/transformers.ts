// Transformers and validators. Each factory runs once at compile time and returns a small
// closure; per value there is no regex compilation and no allocation beyond the result.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { crmModule } from '../crms';
import { formatDateOnly, formatIsoOffset, midnightUtc, parseDateOnly, parseInstant, type Zone } from './dates';
import { readValue } from './vocabulary';
import { MappingConfigError, type FieldFormat, type FieldType, type PhoneFormat, type Side, type Transform, type ValueMap } from './types';
import { STATE_CODES } from './states';

export interface TransformSettings {
	zone: Zone;
	phoneFormat: PhoneFormat;
	defaultCountry: CountryCode | undefined;
}

export interface TransformSpec {
	type: FieldType;
	/** The side the value is formatted for. */
	side: Side;
	max?: number;
	values?: ValueMap;
	format?: FieldFormat;
}

// Local part and domain labels per RFC 5321 practice; no quoted local parts.
const EMAIL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PHONE_CHARS_RE = /^\+?[\d\s().\-/]+(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?$/i;
const THOUSANDS_RE = /^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const CURRENCY_RE = /^[A-Za-z]{3}$/;
const URL_RE = /^(?:https?:\/\/)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?(?:[/?#]\S*)?$/i;
const POSTAL_RE = /^[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?$/;
const GUID_RE = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

export function resolveCountry(country: string | undefined): CountryCode | undefined {
	if (!country) return undefined;
	const c = country.trim().toUpperCase();
	if (!isSupportedCountry(c)) throw new MappingConfigError(`default phone country "${country}" is not an ISO 3166 alpha-2 code libphonenumber-js knows`);
	return c;
}

/**
 * String(v) that never throws. String calls a value's own toString/valueOf, so data such as
 * {"toString": 1} (or an array holding it) makes it throw a TypeError; such a value reads as its
 * type tag, e.g. "[object Object]", as any other plain object does.
 */
export function textOf(value: unknown): string {
	try {
		return String(value);
	} catch {
		return Object.prototype.toString.call(value);
	}
}

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	return typeof value === 'object' ? 'an object' : `${typeof value}`;
}

/** Applies a maximum length to a transformer producing strings. */
function withMax(t: Transform, max: number | undefined): Transform {
	if (!max) return t;
	return (v, cx) => {
		const out = t(v, cx);
		if (typeof out === 'string' && out.length > max && cx.problem === undefined) {
			cx.problem = `is ${out.length} characters long; the limit is ${max}`;
		}
		return out;
	};
}

const text: Transform = (v, cx) => {
	if (v === null || typeof v === 'string') return v;
	if (typeof v === 'number' || typeof v === 'boolean') return String(v);
	cx.problem = `expected text, got ${describe(v)}`;
	return v;
};

const email: Transform = (v, cx) => {
	if (v === null) return null;
	if (typeof v !== 'string') {
		cx.problem = `expected an email address, got ${describe(v)}`;
		return v;
	}
	const s = v.trim().toLowerCase();
	if (s === '') return null;
	if (s.length > 254 || !EMAIL_RE.test(s)) cx.problem = `"${v}" is not a valid email address`;
	return s;
};

/** Digits before an extension marker (ext/x/#); the string already matched PHONE_CHARS_RE. */
function mainDigits(s: string): number {
	let n = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c >= 48 && c <= 57) n++;
		else if (c === 101 || c === 69 || c === 120 || c === 88 || c === 35) break; // e E x X #
	}
	return n;
}

function phone(format: PhoneFormat, country: CountryCode | undefined): Transform {
	return (v, cx) => {
		if (v === null) return null;
		if (typeof v !== 'string' && typeof v !== 'number') {
			cx.problem = `expected a phone number, got ${describe(v)}`;
			return v;
		}
		const s = typeof v === 'number' ? String(v) : v.trim();
		if (s === '') return null;
		if (format === 'asIs') {
			if (!PHONE_CHARS_RE.test(s)) {
				cx.problem = `"${s}" is not a phone number`;
				return s;
			}
			const digits = mainDigits(s);
			if (digits < 3 || digits > 15) cx.problem = `"${s}" is not a phone number`;
			return s;
		}
		// 00 is the international call prefix of most countries: read it as +.
		const international = s[0] === '+' || s.startsWith('00');
		if (!international && country === undefined) {
			cx.problem = `"${s}" has no country code and no default phone country is set: ambiguous`;
			return s;
		}
		const parsed = parsePhoneNumberFromString(s.startsWith('00') ? '+' + s.slice(2) : s, country);
		if (!parsed || !parsed.isValid()) {
			cx.problem = `"${s}" is not a valid phone number${international ? '' : ` for ${country}`}`;
			return s;
		}
		return parsed.ext ? `${parsed.number} ext. ${parsed.ext}` : parsed.number;
	};
}

function toNumber(v: unknown, cx: { problem: string | undefined }, integer: boolean): unknown {
	let n: number;
	if (typeof v === 'number') n = v;
	else if (typeof v === 'string') {
		const s = v.trim();
		if (s === '') return null;
		n = Number(THOUSANDS_RE.test(s) ? s.replace(/,/g, '') : s);
	} else {
		cx.problem = `expected a number, got ${describe(v)}`;
		return v;
	}
	if (!Number.isFinite(n)) cx.problem = `"${v}" is not a number`;
	else if (integer && !Number.isInteger(n)) cx.problem = `${n} is not a whole number`;
	return n;
}

function numberT(integer: boolean, asString: boolean): Transform {
	return (v, cx) => {
		if (v === null) return null;
		const n = toNumber(v, cx, integer);
		return asString && typeof n === 'number' ? String(n) : n;
	};
}

const currency: Transform = (v, cx) => {
	if (v === null) return null;
	if (typeof v !== 'string' || !CURRENCY_RE.test(v.trim())) {
		cx.problem = `"${textOf(v)}" is not an ISO 4217 currency code`;
		return v;
	}
	return v.trim().toUpperCase();
};

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'off', '']);

function booleanT(asString: boolean): Transform {
	return (v, cx) => {
		if (v === null) return null;
		let b: boolean;
		if (typeof v === 'boolean') b = v;
		else if (v === 1 || v === 0) b = v === 1;
		else if (typeof v === 'string' && TRUE_WORDS.has(v.trim().toLowerCase())) b = true;
		else if (typeof v === 'string' && FALSE_WORDS.has(v.trim().toLowerCase())) b = false;
		else {
			cx.problem = `"${textOf(v)}" is not a yes/no value`;
			return v;
		}
		return asString ? (b ? 'true' : 'false') : b;
	};
}

function dateT(side: Side, format: FieldFormat | undefined, zone: Zone): Transform {
	const epoch = format?.date === 'epochMsMidnight' || format?.date === 'epochMs';
	return (v, cx) => {
		if (v === null || v === '') return null;
		const d = parseDateOnly(v, zone);
		if (d === '') {
			cx.problem = `"${textOf(v)}" is not a valid date`;
			return v;
		}
		return side !== 'unified' && epoch ? String(midnightUtc(d)) : d;
	};
}

function datetimeT(side: Side, format: FieldFormat | undefined, zone: Zone): Transform {
	const how = side === 'unified' ? 'iso' : (format?.date ?? 'iso');
	return (v, cx) => {
		if (v === null || v === '') return null;
		const ms = parseInstant(v, zone);
		if (Number.isNaN(ms) || Math.abs(ms) > 8.64e15) {
			cx.problem = `"${textOf(v)}" is not a valid date-time`;
			return v;
		}
		switch (how) {
			case 'epochMs':
			case 'epochMsMidnight':
				return String(ms);
			case 'isoOffset':
				return formatIsoOffset(ms, zone);
			case 'dateOnly':
				return formatDateOnly(ms, zone);
			default:
				return new Date(ms).toISOString();
		}
	};
}

const url: Transform = (v, cx) => {
	if (v === null) return null;
	if (typeof v !== 'string') {
		cx.problem = `expected a URL, got ${describe(v)}`;
		return v;
	}
	const s = v.trim();
	if (s === '') return null;
	if (!URL_RE.test(s)) cx.problem = `"${v}" is not a web address`;
	return s;
};

const postalCode: Transform = (v, cx) => {
	if (v === null) return null;
	if (typeof v !== 'string' && typeof v !== 'number') {
		cx.problem = `expected a postal code, got ${describe(v)}`;
		return v;
	}
	const s = textOf(v).trim().toUpperCase();
	if (s === '') return null;
	if (!POSTAL_RE.test(s)) cx.problem = `"${v}" is not a postal code`;
	return s;
};

const stateCode: Transform = (v, cx) => {
	if (v === null) return null;
	if (typeof v !== 'string') {
		cx.problem = `expected a state, got ${describe(v)}`;
		return v;
	}
	const s = v.trim();
	if (s === '') return null;
	const code = STATE_CODES.get(s.toLowerCase());
	if (code === undefined) cx.problem = `"${v}" is not a US state or Canadian province`;
	return code ?? s;
};

function idT(format: FieldFormat | undefined, idKind: 'string' | 'integer' | 'guid'): Transform {
	const one: Transform = (v, cx) => {
		if (v === null) return null;
		if (idKind === 'integer') {
			const n = typeof v === 'string' && /^\d+$/.test(v) ? +v : v;
			if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) cx.problem = `"${textOf(v)}" is not a numeric record id`;
			return n;
		}
		if (typeof v !== 'string' && typeof v !== 'number') {
			cx.problem = `expected a record id, got ${describe(v)}`;
			return v;
		}
		const s = textOf(v);
		if (s === '') return null;
		if (idKind === 'guid' && !GUID_RE.test(s)) cx.problem = `"${s}" is not a GUID`;
		return s;
	};
	if (!format?.list) return one;
	return (v, cx) => {
		if (v === null) return null;
		const arr = Array.isArray(v) ? v : [v];
		if (format.single && arr.length > 1) cx.problem = `the CRM links one record here; ${arr.length} ids given, only the first is written`;
		const out = new Array(arr.length);
		for (let i = 0; i < arr.length; i++) out[i] = one(arr[i], cx);
		return out;
	};
}

function picklist(side: Side, values: ValueMap | undefined, asString: boolean): Transform {
	if (!values) throw new MappingConfigError('picklist field without values');
	if (side === 'unified') {
		return (v, cx) => {
			if (v === null || v === '') return null;
			const hit = readValue(values, textOf(v));
			if (hit === undefined) cx.problem = `"${textOf(v)}" is not in the value map`;
			return hit ?? v;
		};
	}
	return (v, cx) => {
		if (v === null || v === '') return null;
		const key = textOf(v);
		let hit = values.write.get(key);
		// Already a CRM value (e.g. 'Web' given instead of canonical 'web'): keep it.
		if (hit === undefined && readValue(values, key) !== undefined) hit = v as string | number;
		if (hit === undefined) {
			cx.problem = `"${textOf(v)}" has no value in the target picklist`;
			return v;
		}
		return asString ? String(hit) : hit;
	};
}

/** The transformer for a field type on a side. */
export function buildTransform(spec: TransformSpec, settings: TransformSettings): Transform {
	const { type, side, format } = spec;
	// Unified values are native JS types; only CRM sides may want strings (HubSpot).
	const asString = side !== 'unified' && format?.asString === true;
	const max = side === 'unified' ? undefined : spec.max;
	switch (type) {
		case 'string':
		case 'text':
			return withMax(text, max);
		case 'email':
			return withMax(email, max);
		case 'phone':
			return withMax(phone(settings.phoneFormat, settings.defaultCountry), max);
		case 'number':
			return numberT(false, asString);
		case 'integer':
			return numberT(true, asString);
		case 'currency':
			return currency;
		case 'boolean':
			return booleanT(asString);
		case 'date':
			return dateT(side, format, settings.zone);
		case 'datetime':
			return datetimeT(side, format, settings.zone);
		case 'url':
			return withMax(url, max);
		case 'postalCode':
			return withMax(postalCode, max);
		case 'stateCode':
			return stateCode;
		case 'id':
			return idT(format, side === 'unified' ? 'string' : (format?.id ?? 'string'));
		case 'picklist':
			return picklist(side, spec.values, asString);
	}
}

const noop: Transform = (v) => v;
const trim: Transform = (v, cx) => (typeof v === 'string' ? v.trim() : text(v, cx));
const lower: Transform = (v, cx) => (typeof v === 'string' ? v.toLowerCase() : text(v, cx));
const upper: Transform = (v, cx) => (typeof v === 'string' ? v.toUpperCase() : text(v, cx));

/** Transformers a user rule can name (TRANSFORM_NAMES), formatted for the target side. */
export function namedTransform(name: string, side: Side, settings: TransformSettings, max: number | undefined): Transform {
	switch (name) {
		case 'none':
			return withMax(noop, max);
		case 'trim':
			return withMax(trim, max);
		case 'lowercase':
			return withMax(lower, max);
		case 'uppercase':
			return withMax(upper, max);
		case 'date':
			return buildTransform({ type: 'date', side, format: dateFormatOf(side, 'date') }, settings);
		case 'datetime':
			return buildTransform({ type: 'datetime', side, format: dateFormatOf(side, 'datetime') }, settings);
		case 'string':
		case 'email':
		case 'phone':
		case 'number':
		case 'integer':
		case 'currency':
		case 'boolean':
		case 'url':
		case 'postalCode':
		case 'stateCode':
			return buildTransform({ type: name, side, max, format: side !== 'unified' && crmModule(side).adapter.textValues ? { asString: true } : undefined }, settings);
		default:
			throw new MappingConfigError(`unknown transformer "${name}"`);
	}
}

/** How each CRM stores dates and datetimes by default (see MAPPING.md). */
export function dateFormatOf(side: Side, kind: 'date' | 'datetime'): FieldFormat {
	switch (side) {
		case 'hubspot':
			return { date: kind === 'date' ? 'epochMsMidnight' : 'epochMs', asString: true };
		case 'zoho':
			return { date: kind === 'date' ? 'dateOnly' : 'isoOffset' };
		default:
			return { date: kind === 'date' ? 'dateOnly' : 'iso' };
	}
}
