// Pipedrive API v1 records in the v2 shape the connector and the default maps read.
//
// v1 payloads still reach us: webhooks v1 (`current` / `previous`) and /v1/recents. Their shape
// differs from v2 (evidence: fixtures v1-get-person-recorded.json, v1-list-deals-recorded.json,
// v1-get-organization-recorded.json, webhook-v1-updated-deal-recorded.json against
// v2-get-deal-recorded.json and v2-get-person-spec-example.json):
// - times are "YYYY-MM-DD HH:MM:SS" in UTC without a zone marker (v2: RFC 3339 with Z);
// - `visible_to` is the string "3" (v2: the number 3);
// - persons have `email` / `phone` lists (v2: `emails` / `phones`), and an empty phone is
//   `[{"value":"","primary":true}]` (v1-create-person-201-recorded.json);
// - owner_id / org_id / person_id / user_id may be expanded objects with the id in `value`;
// - a deal's owner is `user_id` (v2: `owner_id`);
// - an organization's address is a string plus flat `address_<part>` keys (v2: one object);
// - custom fields (40-hex keys) are at the top level (v2: under `custom_fields`).
// Leads only exist in v1 and are left as they are.

import type { EntityType } from '../../model';

const V1_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;
const REFERENCES = ['owner_id', 'org_id', 'person_id', 'user_id', 'creator_user_id'];
const ADDRESS_PARTS = ['subpremise', 'street_number', 'route', 'sublocality', 'locality', 'admin_area_level_1', 'admin_area_level_2', 'country', 'country_code', 'postal_code', 'formatted_address', 'lat', 'long'];

/** A v1 time ("YYYY-MM-DD HH:MM:SS", UTC) as RFC 3339 with Z, as v2 writes it; anything else unchanged. */
export function v1TimeToIso(value: unknown): unknown {
	const match = typeof value === 'string' ? V1_TIME.exec(value) : null;
	return match ? `${match[1]}T${match[2]}Z` : value;
}

/** True when the record carries a v1-only marker (so a v2 record passes through untouched). */
function looksV1(record: Record<string, unknown>): boolean {
	return (
		typeof record.visible_to === 'string' ||
		Array.isArray(record.email) ||
		Array.isArray(record.phone) ||
		Object.entries(record).some(([k, v]) => (k.endsWith('_time') && typeof v === 'string' && V1_TIME.test(v)) || (REFERENCES.includes(k) && v !== null && typeof v === 'object'))
	);
}

function contactList(value: unknown): unknown {
	// v1's placeholder for "none" is one entry with an empty value: v2 sends an empty list.
	return Array.isArray(value) ? value.filter((e) => !(e && typeof e === 'object' && (e as { value?: unknown }).value === '')) : value;
}

/** `record` (a v1 person, organization, deal or activity) in the v2 shape; v2 records and leads unchanged. */
export function v1ToV2(entity: EntityType, record: Record<string, unknown>): Record<string, unknown> {
	if (entity === 'lead' || !looksV1(record)) return record;
	const out: Record<string, unknown> = {};
	const custom: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(record)) {
		if (/^[0-9a-f]{40}$/.test(key)) custom[key] = value;
		else if (REFERENCES.includes(key) && value !== null && typeof value === 'object' && 'value' in value) out[key] = (value as { value: unknown }).value;
		else if (key.endsWith('_time')) out[key] = v1TimeToIso(value);
		else if (key === 'visible_to' && typeof value === 'string' && /^\d+$/.test(value)) out[key] = Number(value);
		else if (entity === 'contact' && (key === 'email' || key === 'phone')) out[`${key}s`] = contactList(value);
		else if (entity === 'contact' && key === 'im') out[key] = contactList(value);
		else out[key] = value;
	}
	if (entity === 'opportunity' && out.owner_id === undefined && out.user_id !== undefined) {
		out.owner_id = out.user_id;
		delete out.user_id;
	}
	for (const key of ['address', 'postal_address']) {
		const flat = ADDRESS_PARTS.filter((part) => `${key}_${part}` in out);
		if (flat.length === 0 || (out[key] !== null && typeof out[key] === 'object')) continue;
		const address: Record<string, unknown> = { value: out[key] ?? null };
		for (const part of flat) {
			address[part] = out[`${key}_${part}`];
			delete out[`${key}_${part}`];
		}
		out[key] = address;
	}
	if (Object.keys(custom).length) {
		const nested = out.custom_fields;
		out.custom_fields = { ...(nested && typeof nested === 'object' ? nested : {}), ...custom };
	}
	return out;
}
