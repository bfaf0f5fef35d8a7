// A Pipedrive lead's person. Leads hold no person data (title, person_id, organization_id, value,
// expected_close_date, owner): the lead map carries the person's fields in a nested `person`
// object (the contact map's fields, see map.ts), which the connector writes to the linked person
// and never sends to /v1/leads. These are the pure parts: splitting the fields, the e-mail the
// person is found by, the body of a new person and what of a person's body differs from the
// stored person.

import type { CrmFields } from '../../connectors/types';
import { lacksNameHalf, matchValue, toRequestBody, withStoredNameHalf } from './api';

/** The lead's own fields and its person's (undefined when the fields carry no `person` object). */
export function splitPerson(fields: CrmFields): { lead: CrmFields; person?: CrmFields } {
	const { person, ...lead } = fields;
	if (person === null || typeof person !== 'object' || Array.isArray(person)) return { lead: person === undefined ? fields : lead };
	return { lead, person: person as CrmFields };
}

/** The e-mail a lead is matched by: its person's primary e-mail (`emails` / `email`), else a top-level `email`. */
export function leadEmail(fields: CrmFields): string | undefined {
	const { lead, person } = splitPerson(fields);
	return (person ? matchValue('contact', 'email', person) : undefined) ?? matchValue('contact', 'email', lead);
}

/**
 * The body of a new person: the person fields as v2 takes them, organization `orgId` when the lead
 * has one. Pipedrive requires a name: without one, the e-mail, else the lead's title.
 */
export function newPersonBody(person: CrmFields, orgId: unknown, title: unknown): CrmFields {
	const body = toRequestBody('contact', person);
	if (body.name === undefined || body.name === null || String(body.name).trim() === '') {
		const fallback = matchValue('contact', 'email', person) ?? (typeof title === 'string' && title.trim() !== '' ? title.trim() : undefined);
		if (fallback === undefined) delete body.name;
		else body.name = fallback;
	}
	if (body.org_id === undefined && orgId !== undefined && orgId !== null) body.org_id = orgId;
	return body;
}

/**
 * What of the person fields differs from the stored person, as a PATCH body; undefined when
 * nothing does. Lone name halves take the other half from the stored person; e-mails and phones
 * the person has already are not sent again, new ones go first (primary) with the stored ones kept
 * after them; an address is sent whole (its stored parts under the given ones) when a given part differs.
 */
export function personChanges(person: CrmFields, stored: CrmFields): CrmFields | undefined {
	const body = toRequestBody('contact', lacksNameHalf('contact', person) ? withStoredNameHalf(person, stored) : person);
	const changes: CrmFields = {};
	for (const [key, value] of Object.entries(body)) {
		if (key === 'emails' || key === 'phones') {
			const merged = mergedEntries(key, value, stored[key]);
			if (merged) changes[key] = merged;
		} else if (key === 'postal_address' && value !== null && typeof value === 'object') {
			const current = stored.postal_address !== null && typeof stored.postal_address === 'object' ? (stored.postal_address as CrmFields) : {};
			const given = value as CrmFields;
			if (Object.entries(given).some(([part, v]) => !same(v, current[part]))) changes.postal_address = { ...addressParts(current), ...given };
		} else if (key === 'custom_fields' && value !== null && typeof value === 'object') {
			const current = (stored.custom_fields ?? {}) as CrmFields;
			const differing = Object.fromEntries(Object.entries(value as CrmFields).filter(([k, v]) => !same(v, current[k])));
			if (Object.keys(differing).length) changes.custom_fields = differing;
		} else if (!same(value, stored[key])) {
			changes[key] = value;
		}
	}
	return Object.keys(changes).length ? changes : undefined;
}

interface Entry {
	value: string;
	primary?: boolean;
	label?: string;
}

/** New e-mails / phones first (the first primary), then the stored ones; undefined when every given one is stored already. */
function mergedEntries(key: 'emails' | 'phones', given: unknown, stored: unknown): Entry[] | undefined {
	const norm = (v: unknown) => (key === 'phones' ? String(v ?? '').replace(/\D/g, '') : String(v ?? '').trim().toLowerCase());
	const have = (Array.isArray(stored) ? stored : []).filter((e): e is Entry => e !== null && typeof e === 'object' && typeof (e as Entry).value === 'string' && (e as Entry).value !== '');
	const wanted = (Array.isArray(given) ? given : []).filter((e): e is Entry => e !== null && typeof e === 'object' && typeof (e as Entry).value === 'string' && (e as Entry).value !== '');
	const known = new Set(have.map((e) => norm(e.value)));
	const fresh = wanted.filter((e) => !known.has(norm(e.value)));
	if (fresh.length === 0) return undefined;
	const taken = new Set(fresh.map((e) => norm(e.value)));
	return [
		...fresh.map((e, i) => ({ value: e.value, primary: i === 0, label: e.label ?? 'work' })),
		...have.filter((e) => !taken.has(norm(e.value))).map((e) => ({ value: e.value, primary: false, label: e.label ?? 'work' })),
	];
}

/** The parts of a stored postal address a PATCH may send back (not its formatted text). */
function addressParts(address: CrmFields): CrmFields {
	const out: CrmFields = {};
	for (const part of ['subpremise', 'street_number', 'route', 'sublocality', 'locality', 'admin_area_level_1', 'admin_area_level_2', 'country', 'postal_code']) {
		if (address[part] !== undefined && address[part] !== null && address[part] !== '') out[part] = address[part];
	}
	return out;
}

function same(a: unknown, b: unknown): boolean {
	const norm = (v: unknown) => (v === undefined || v === '' ? null : v);
	const x = norm(a);
	const y = norm(b);
	if (x === null || y === null) return x === y;
	if (typeof x === 'object' || typeof y === 'object') return JSON.stringify(x) === JSON.stringify(y);
	return String(x) === String(y);
}
