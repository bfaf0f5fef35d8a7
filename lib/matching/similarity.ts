// String similarity used by the fuzzy comparators: the mean of the Levenshtein ratio
// (fastest-levenshtein) and Jaro-Winkler (jaro-winkler package). Levenshtein alone is harsh on
// short names; Jaro-Winkler alone is generous to shared prefixes; the mean balances them.

import { distance } from 'fastest-levenshtein';
import jaroWinkler from 'jaro-winkler';

/** 1 - edit distance / length of the longer string. */
export function levenshteinRatio(a: string, b: string): number {
	if (a === b) return 1;
	const longest = Math.max(a.length, b.length);
	if (longest === 0) return 1;
	return 1 - distance(a, b) / longest;
}

export function jaroWinklerSimilarity(a: string, b: string): number {
	if (a === b) return 1;
	if (a.length === 0 || b.length === 0) return 0;
	return jaroWinkler(a, b);
}

/** 0..1, 1 for equal strings. */
export function stringSimilarity(a: string, b: string): number {
	if (a === b) return 1;
	return (levenshteinRatio(a, b) + jaroWinklerSimilarity(a, b)) / 2;
}
