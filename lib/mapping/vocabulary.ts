// Canonical picklist vocabularies of the unified model (see MAPPING.md) and the helper that
// builds a value map from [canonical, crmValue] pairs.
import type { ValueMap } from './types';

export const LEAD_SOURCES = [
	'web', 'phone', 'email', 'referral', 'partner', 'advertisement', 'event',
	'socialMedia', 'coldCall', 'purchasedList', 'publicRelations', 'other',
] as const;

export const LEAD_STATUSES = ['new', 'contacted', 'qualified', 'unqualified'] as const;

export const LIFECYCLE_STAGES = [
	'subscriber', 'lead', 'marketingQualifiedLead', 'salesQualifiedLead',
	'opportunity', 'customer', 'evangelist', 'other',
] as const;

export const DEAL_STAGES = [
	'prospecting', 'qualification', 'needsAnalysis', 'proposal', 'negotiation', 'closedWon', 'closedLost',
] as const;

export const ACTIVITY_TYPES = ['call', 'meeting', 'task', 'note', 'email'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/**
 * pairs: [canonical, crmValue]; the first pair of a canonical value is the one written.
 * Later pairs with the same canonical value are read-only synonyms.
 */
export function valueMap(pairs: [string, string | number][]): ValueMap {
	const read = new Map<string, string | number>();
	const write = new Map<string, string | number>();
	for (const [canonical, crm] of pairs) addPair(read, write, canonical, crm);
	return { read, write };
}

function addPair(read: Map<string, string | number>, write: Map<string, string | number>, canonical: string, crm: string | number): void {
	if (!write.has(canonical)) write.set(canonical, crm);
	const key = String(crm);
	if (!read.has(key)) read.set(key, canonical);
	const lower = key.toLowerCase();
	if (!read.has(lower)) read.set(lower, canonical);
}

/** A copy of base with user pairs taking precedence (CRM value → canonical). */
export function extendValueMap(base: ValueMap | undefined, crmToCanonical: Record<string, string | number>, forRead: boolean, forWrite: boolean): ValueMap {
	const read = new Map(base?.read);
	const write = new Map(base?.write);
	// Option sets and stage ids are numbers: keep user-given numeric strings numeric there.
	const numeric = base !== undefined && typeof base.write.values().next().value === 'number';
	for (const [key, canonical] of Object.entries(crmToCanonical)) {
		const crm: string | number = numeric && /^-?\d+$/.test(key) ? +key : key;
		const c = String(canonical);
		if (forRead) {
			read.set(key, c);
			read.set(key.toLowerCase(), c);
		}
		if (forWrite) write.set(c, crm);
	}
	return { read, write };
}

/** CRM value → canonical, exact then case-insensitive. */
export function readValue(map: ValueMap, value: unknown): string | number | undefined {
	const key = typeof value === 'string' ? value : String(value);
	const hit = map.read.get(key);
	return hit !== undefined ? hit : map.read.get(key.toLowerCase());
}
