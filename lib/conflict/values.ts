// Value and time comparisons used by the merge. CRMs disagree on how "empty" looks (null, '',
// missing), so those compare equal; everything else compares by canonical JSON.

import { canonicalJson } from '../state/fingerprint';
import type { TimeInput } from './types';

export function isEmpty(value: unknown): boolean {
	return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function valuesEqual(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b);
	if (typeof a !== 'object' || typeof b !== 'object') return false;
	return canonicalJson(a) === canonicalJson(b);
}

// The same few timestamps (record times, sync time) are parsed for many fields and events.
const parsed = new Map<string, number>();

/** Milliseconds since epoch, or undefined for missing / unparseable input. */
export function parseTime(value: TimeInput | undefined): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let ms: number;
	if (typeof value === 'string') {
		const cached = parsed.get(value);
		if (cached !== undefined) return Number.isFinite(cached) ? cached : undefined;
		ms = Date.parse(value);
		if (parsed.size >= 10_000) parsed.clear();
		parsed.set(value, ms);
	} else {
		ms = value instanceof Date ? value.getTime() : value;
	}
	return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Compare two times with a skew tolerance: 1 if a is newer, -1 if b is newer, 0 for a tie
 * (within tolerance), undefined when either is missing.
 */
export function compareTimes(a: number | undefined, b: number | undefined, toleranceMs: number): 1 | 0 | -1 | undefined {
	if (a === undefined || b === undefined) return undefined;
	if (Math.abs(a - b) <= toleranceMs) return 0;
	return a > b ? 1 : -1;
}
