// Person-name normalisation: accents, case, punctuation, titles and suffixes, initials,
// "Last, First" order, and nicknames (via the nickname table).

import { formalNames } from './nicknames';
import { asText, foldText } from './normalise-text';

const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'dame', 'rev', 'fr']);
const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'phd', 'md', 'esq', 'mba', 'cpa']);

export interface PersonName {
	/** Given name (first word only; middle names and initials dropped). May be a single initial. */
	first?: string;
	/** Family name, all its words joined without spaces ('van der Berg' -> 'vanderberg'). */
	last?: string;
}

function words(value: string): string[] {
	return foldText(value).split(' ').filter((w) => w !== '');
}

function firstWord(tokens: string[]): string | undefined {
	const kept = tokens.filter((t) => !TITLES.has(t));
	// Prefer a full word over a leading initial ('J. Robert Smith' -> 'robert').
	return kept.find((t) => t.length > 1) ?? kept[0];
}

function joinLast(tokens: string[]): string | undefined {
	const kept = tokens.filter((t) => !SUFFIXES.has(t));
	return kept.length > 0 ? kept.join('') : undefined;
}

/** From separate first/last fields, or from a single full-name string. */
export function normalisePersonName(firstName: unknown, lastName: unknown, fullName?: unknown): PersonName {
	const first = asText(firstName);
	const last = asText(lastName);
	if (first !== undefined || last !== undefined) {
		return {
			first: first === undefined ? undefined : firstWord(words(first)),
			last: last === undefined ? undefined : joinLast(words(last)),
		};
	}
	const full = asText(fullName);
	if (full === undefined) return {};
	const comma = full.indexOf(',');
	if (comma > 0) {
		// 'Doe, John' — unless what follows the comma is only a suffix ('John Doe, Jr.').
		const after = words(full.slice(comma + 1)).filter((t) => !SUFFIXES.has(t));
		if (after.length > 0) return { first: firstWord(after), last: joinLast(words(full.slice(0, comma))) };
	}
	const tokens = words(full).filter((t) => !TITLES.has(t) && !SUFFIXES.has(t));
	if (tokens.length === 0) return {};
	if (tokens.length === 1) return { last: tokens[0] };
	// Middle initials are dropped; the rest after the first word is the family name.
	const rest = tokens.slice(1);
	const family = rest.length > 1 ? rest.filter((t) => t.length > 1) : rest;
	return { first: tokens[0], last: joinLast(family.length > 0 ? family : rest) };
}

/** Formal names of a normalised given name (nickname-aware). */
export function givenNameKeys(first: string | undefined): readonly string[] {
	if (first === undefined) return [];
	return formalNames(first);
}
