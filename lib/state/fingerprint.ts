// Stable hash of field values, shared by the writer (upsert records an echo fingerprint) and the
// reader (trigger checks an observed change against it). Both must hash the same representation.

import { createHash } from 'node:crypto';

import type { CrmName, EntityType, UnifiedRecord } from '../model';
import type { EchoFingerprint } from './types';

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
	if (value === undefined) return 'null';
	if (value === null || typeof value !== 'object') return JSON.stringify(value);
	if (value instanceof Date) return JSON.stringify(value.toISOString());
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	const keys = Object.keys(value as Record<string, unknown>).sort();
	return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Hash of `record` restricted to `fields` (missing fields count as null). */
export function fieldsHash(record: UnifiedRecord, fields: string[]): string {
	const picked: Record<string, unknown> = {};
	for (const field of [...new Set(fields)].sort()) picked[field] = record[field] ?? null;
	return createHash('sha256').update(canonicalJson(picked)).digest('base64url').slice(0, 22);
}

/** Build the fingerprint of a write of `written` (unified field values) to one CRM record. */
export function echoFingerprint(
	crm: CrmName,
	entity: EntityType,
	recordId: string,
	written: UnifiedRecord,
): EchoFingerprint {
	const fields = Object.keys(written).sort();
	return { crm, entity, recordId, fields, hash: fieldsHash(written, fields) };
}

/**
 * Short hash of one field value as a CRM holds it (Snapshot.held). Empty values (undefined, null,
 * blank strings) hash alike because CRMs disagree on how "empty" looks.
 */
export function heldValueHash(value: unknown): string {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return '';
	return createHash('sha256').update(canonicalJson(value)).digest('base64url').slice(0, 12);
}
