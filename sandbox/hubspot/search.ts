// HubSpot CRM search: filter validation and evaluation over stored property maps.

/** How a property's values compare. */
export type ValueKind = 'number' | 'datetime' | 'string';
export type KindOf = (property: string) => ValueKind;

export const SEARCH_LIMITS = {
	/** Max results per page. */
	maxLimit: 200,
	/** after + limit may not exceed this (the "10k cap"). */
	maxWindow: 10000,
	/** Per crm-wire (Aug-2024 changelog): 5 groups, 10 filters per group, 25 filters total. */
	maxGroups: 5,
	maxFiltersPerGroup: 10,
	maxFiltersTotal: 25,
};

export const OPERATORS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Filter {
	propertyName: string;
	operator: Operator;
	value?: unknown;
	highValue?: unknown;
	values?: unknown[];
}

export interface FilterGroup {
	filters: Filter[];
}

/** Returns an error message when the filter groups break the documented limits/shape. */
export function validateFilterGroups(groups: unknown): string | undefined {
	if (groups === undefined) return undefined;
	if (!Array.isArray(groups)) return 'filterGroups must be an array';
	if (groups.length > SEARCH_LIMITS.maxGroups) return `Too many filter groups: ${groups.length}. The maximum is ${SEARCH_LIMITS.maxGroups}.`;
	let total = 0;
	for (const g of groups as FilterGroup[]) {
		if (!g || !Array.isArray(g.filters)) return 'each filter group needs a filters array';
		if (g.filters.length > SEARCH_LIMITS.maxFiltersPerGroup) return `Too many filters in a filter group: ${g.filters.length}. The maximum is ${SEARCH_LIMITS.maxFiltersPerGroup}.`;
		total += g.filters.length;
		for (const f of g.filters) {
			if (!f || typeof f.propertyName !== 'string') return 'each filter needs a propertyName';
			if (!OPERATORS.includes(f.operator)) return `Invalid operator ${String(f.operator)}`;
			if ((f.operator === 'IN' || f.operator === 'NOT_IN') && !Array.isArray(f.values)) return `Operator ${f.operator} needs values`;
			if (f.operator === 'BETWEEN' && (f.value === undefined || f.highValue === undefined)) return 'Operator BETWEEN needs value and highValue';
			if (!['IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'BETWEEN'].includes(f.operator) && f.value === undefined) return `Operator ${f.operator} needs a value`;
		}
	}
	if (total > SEARCH_LIMITS.maxFiltersTotal) return `Too many filters: ${total}. The maximum is ${SEARCH_LIMITS.maxFiltersTotal}.`;
	return undefined;
}

/** Converts a property or filter value into a comparable: number for numeric/datetime, lower-case string otherwise. */
export function comparable(kind: ValueKind, value: unknown): number | string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (kind === 'datetime') {
		const s = String(value);
		const n = /^-?\d+$/.test(s) ? Number(s) : Date.parse(s);
		return Number.isNaN(n) ? s.toLowerCase() : n;
	}
	if (kind === 'number') {
		const n = Number(value);
		return Number.isNaN(n) ? String(value).toLowerCase() : n;
	}
	return String(value).toLowerCase();
}

function tokens(s: string): string[] {
	return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function tokenMatch(actual: string, wanted: string): boolean {
	const w = wanted.toLowerCase();
	if (w.includes('*')) {
		const re = new RegExp('^' + w.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
		return re.test(actual.toLowerCase()) || tokens(actual).some((t) => re.test(t));
	}
	const wantedTokens = tokens(w);
	const have = tokens(actual);
	return wantedTokens.length > 0 && wantedTokens.every((t) => have.includes(t));
}

/** Reads one property of the object being matched (computed system properties included). */
export type PropertyGetter = (name: string) => unknown;

export function matchesFilter(get: PropertyGetter, f: Filter, kindOf: KindOf): boolean {
	const kind = kindOf(f.propertyName);
	const raw = get(f.propertyName);
	const has = raw !== undefined && raw !== null && raw !== '';
	switch (f.operator) {
		case 'HAS_PROPERTY':
			return has;
		case 'NOT_HAS_PROPERTY':
			return !has;
	}
	if (!has) return f.operator === 'NEQ' || f.operator === 'NOT_IN' || f.operator === 'NOT_CONTAINS_TOKEN';
	const a = comparable(kind, raw)!;
	const v = comparable(kind, f.value);
	switch (f.operator) {
		case 'EQ':
			return a === v;
		case 'NEQ':
			return a !== v;
		case 'LT':
			return v !== undefined && a < v;
		case 'LTE':
			return v !== undefined && a <= v;
		case 'GT':
			return v !== undefined && a > v;
		case 'GTE':
			return v !== undefined && a >= v;
		case 'BETWEEN': {
			const hi = comparable(kind, f.highValue);
			return v !== undefined && hi !== undefined && a >= v && a <= hi;
		}
		case 'IN':
			return (f.values ?? []).some((x) => comparable(kind, x) === a);
		case 'NOT_IN':
			return !(f.values ?? []).some((x) => comparable(kind, x) === a);
		case 'CONTAINS_TOKEN':
			return tokenMatch(String(raw), String(f.value));
		case 'NOT_CONTAINS_TOKEN':
			return !tokenMatch(String(raw), String(f.value));
	}
	return false;
}

/** OR of groups, AND within a group; no groups = everything. */
export function matchesGroups(get: PropertyGetter, groups: FilterGroup[] | undefined, kindOf: KindOf): boolean {
	if (!groups || groups.length === 0) return true;
	return groups.some((g) => g.filters.every((f) => matchesFilter(get, f, kindOf)));
}

/** Free-text `query`: every token must appear in one of the object's text properties. */
export function matchesQuery(get: PropertyGetter, query: string | undefined, textProperties: string[]): boolean {
	if (!query || !query.trim()) return true;
	const text = textProperties.map((p) => String(get(p) ?? '')).join(' ').toLowerCase();
	return tokens(query).every((t) => text.includes(t));
}
