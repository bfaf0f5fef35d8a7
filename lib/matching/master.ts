// Suggested master record of a cluster: the most complete, the most recent, or the one from
// a preferred CRM. Ties fall back to completeness, then recency, then input order.

import type { UnifiedRecord } from '../model';
import type { MasterOptions } from './types';

function filled(value: unknown): boolean {
	if (value === undefined || value === null) return false;
	if (typeof value === 'string') return value.trim() !== '';
	if (Array.isArray(value)) return value.length > 0;
	return true;
}

/** Number of filled fields, not counting the id. */
export function completeness(record: UnifiedRecord): number {
	let count = 0;
	for (const [field, value] of Object.entries(record)) if (field !== 'id' && filled(value)) count++;
	return count;
}

/** Milliseconds since epoch of the record's modification time, or -Infinity if absent/invalid. */
export function modifiedTime(record: UnifiedRecord, field = 'updatedAt'): number {
	const value = record[field];
	const time = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
	return Number.isFinite(time) ? time : -Infinity;
}

/** Index (into `records`) of the suggested master. `records` must not be empty. */
export function chooseMaster(records: UnifiedRecord[], options: MasterOptions = { rule: 'mostComplete' }): number {
	if (records.length === 0) throw new Error('chooseMaster: no records');
	const modifiedField = options.modifiedField ?? 'updatedAt';
	const crmField = options.crmField ?? 'source';
	const keys = records.map((record, index) => {
		const preferred = options.rule === 'preferredCrm' && options.preferredCrm !== undefined && record[crmField] === options.preferredCrm ? 1 : 0;
		const complete = completeness(record);
		const recent = modifiedTime(record, modifiedField);
		const order = options.rule === 'mostRecent' ? [recent, complete] : [preferred, complete, recent];
		return { index, order };
	});
	keys.sort((x, y) => {
		for (let i = 0; i < x.order.length; i++) if (x.order[i] !== y.order[i]) return y.order[i] - x.order[i];
		return x.index - y.index;
	});
	return keys[0].index;
}
