// Value and time comparisons used by the merge. CRMs disagree on how "empty" looks (null, '',
// missing), so those compare equal; everything else compares by canonical JSON.

import { canonicalJson } from '../state/fingerprint';
import type { TimeInput } from './types';

export function isEmpty(value: unknown): boolean {
	return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function valuesEqual(a: unknown, b: unknown): boolean {
	if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b);
	if (a === b) return true;
	return canonicalJson(a) === canonicalJson(b);
}

/** Milliseconds since epoch, or undefined for missing / unparseable input. */
export function parseTime(value: TimeInput | undefined): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
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
