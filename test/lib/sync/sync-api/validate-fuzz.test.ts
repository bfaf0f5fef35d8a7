// Property-based fuzzing of the sync API's validation, the entry point of every request body:
// hostile bodies (wrong types, {"toString": 1}, __proto__ / constructor keys, huge arrays, deep
// nesting, broken strings, numbers out of range, unknown fields) must never throw, and every
// refusal is a 400 with at least one reason, at most MAX_REASONS of them.
//
//   node --import tsx --test test/unit/sync-api-fuzz.test.ts              (about 1,500 cases)
//   FUZZ_RUNS=100000 node --import tsx --test test/unit/sync-api-fuzz.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { defaultMap } from '../../../../lib/mapping';
import { CRM_NAMES, ENTITY_TYPES, type CrmName } from '../../../../lib/model';
import {
	MAX_REASONS,
	MAX_RECORD_REASONS,
	SYNC_API_OPERATIONS,
	SYNC_API_OPTIONS,
	validateBulkEnvelope,
	validateBulkRecord,
	validateSyncRequest,
	type BulkEnvelope,
	type Validation,
} from '../../../../lib/sync/sync-api';

const RUNS = Number(process.env.FUZZ_RUNS) || 1500;
const FIELDS = [...new Set(ENTITY_TYPES.flatMap((entity) => CRM_NAMES.flatMap((crm) => defaultMap(crm, entity).fields.map((f) => f.unified))))];

// ---- hostile values ---------------------------------------------------------------------------

const nested = (depth: number, leaf: unknown, asArray: boolean): unknown => {
	let value = leaf;
	for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
	return value;
};

const special = fc.constantFrom<unknown>(
	JSON.parse('{"toString":1,"valueOf":1}'),
	JSON.parse('{"toString":{},"valueOf":[],"toJSON":1}'),
	[JSON.parse('{"toString":1}')],
	JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'),
	Object.create(null),
	'__proto__',
	'constructor',
	'toString',
	'\ud800',
	'\u0000',
	'a'.repeat(70_000),
	'',
	'   ',
	-0,
	Number.MAX_SAFE_INTEGER + 2,
	Number.MAX_VALUE,
	Number.MIN_VALUE,
	-1e308,
	1e21,
	NaN,
	Infinity,
	true,
	null,
	[],
	{},
);

// Filled with small values: a body is at most a few MB (n8n's limit), so no 10,000 copies of a 70 KB string.
const huge = fc.tuple(fc.integer({ min: 1000, max: 10_000 }), special.filter((v) => typeof v !== 'string' || v.length < 100)).map(([n, v]) => new Array(n).fill(v));
const deep = fc.tuple(fc.integer({ min: 50, max: 1000 }), special, fc.boolean()).map(([depth, leaf, asArray]) => nested(depth, leaf, asArray));
const json = fc.jsonValue({ maxDepth: 3 });
const string = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-composite', maxLength: 300 }), fc.emailAddress());
const hostile: fc.Arbitrary<unknown> = fc.oneof(
	{ weight: 4, arbitrary: special },
	{ weight: 3, arbitrary: json },
	{ weight: 3, arbitrary: string },
	{ weight: 2, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.bigInt().map(String)) },
	{ weight: 1, arbitrary: huge },
	{ weight: 1, arbitrary: deep },
	{ weight: 2, arbitrary: fc.array(special, { maxLength: 5 }) },
	{ weight: 2, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hubspot', 'salesforce'), fc.string()), special, { maxKeys: 5 }) },
);

// ---- request bodies ---------------------------------------------------------------------------

const key = fc.oneof(
	{ weight: 6, arbitrary: fc.constantFrom(...FIELDS) },
	{ weight: 2, arbitrary: fc.constantFrom('id', 'masterId', 'mergedIds') },
	{ weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty') },
	{ weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
);
/** A record with known, id, prototype and unknown keys; sometimes thousands of unknown fields. */
const record = fc.oneof(
	{ weight: 8, arbitrary: fc.dictionary(key, hostile, { maxKeys: 12 }) },
	{ weight: 1, arbitrary: fc.integer({ min: 1000, max: 12_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`unknown${i}`, i]))) },
	{ weight: 1, arbitrary: hostile },
);
const idRef = fc.oneof(string, fc.dictionary(fc.oneof(fc.constantFrom(...CRM_NAMES), fc.string()), hostile, { maxKeys: 4 }), hostile);
const options = fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom(...SYNC_API_OPTIONS), fc.string()), hostile, { maxKeys: 4 }), hostile);
const envelopeKeys = {
	entity_type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ENTITY_TYPES) }, { weight: 1, arbitrary: hostile }),
	operation: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SYNC_API_OPERATIONS) }, { weight: 1, arbitrary: hostile }),
	options,
	extra: hostile,
};
const dataWithIds = fc.tuple(record, fc.option(idRef), fc.option(idRef), fc.option(fc.oneof(fc.array(idRef, { maxLength: 4 }), hostile))).map(([data, id, masterId, mergedIds]) => {
	const out = data !== null && typeof data === 'object' && !Array.isArray(data) ? { ...(data as object) } : data;
	if (out === data || out === null || typeof out !== 'object') return data;
	return Object.assign(out, id === null ? {} : { id }, masterId === null ? {} : { masterId }, mergedIds === null ? {} : { mergedIds });
});
const syncBody = fc.record({ ...envelopeKeys, data: dataWithIds }, { requiredKeys: [] });
const bulkBody = fc.record({ ...envelopeKeys, records: fc.oneof(fc.array(dataWithIds, { maxLength: 8 }), hostile) }, { requiredKeys: [] });

/** As n8n hands bodies over: parsed JSON, or the text (sent as text/plain), sometimes broken. */
function asSent<T>(body: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
	return fc.oneof(
		{ weight: 6, arbitrary: body },
		{ weight: 2, arbitrary: body.map((b) => textOf(b)) },
		{ weight: 1, arbitrary: fc.tuple(body, fc.nat()).map(([b, cut]) => textOf(b).slice(0, cut % 200)) },
		{ weight: 1, arbitrary: hostile },
	);
}

function textOf(body: unknown): string {
	try {
		return JSON.stringify(body) ?? 'undefined';
	} catch {
		return '{"entity_type": [[[';
	}
}

// ---- the property -----------------------------------------------------------------------------

interface Tally {
	/** Request bodies generated. */
	bodies: number;
	/** Validations run (a bulk body's records are validated one by one). */
	cases: number;
	throws: number;
	serverErrors: number;
	first?: string;
}

/** The HTTP status the node answers with: 200 valid, 400 refused with reasons, 500 when validation throws. */
function statusOf(validate: () => Validation<unknown>, max: number, tally: Tally): number {
	tally.cases++;
	let result: Validation<unknown>;
	try {
		result = validate();
	} catch (error) {
		tally.throws++;
		tally.serverErrors++;
		tally.first ??= (error as Error).stack ?? String(error);
		return 500;
	}
	if (result.ok) return 200;
	assert.ok(result.reasons.length >= 1 && result.reasons.length <= max, `1..${max} reasons, got ${result.reasons.length}`);
	assert.ok(result.reasonCount >= result.reasons.length);
	for (const reason of result.reasons) {
		assert.equal(typeof reason.path, 'string');
		assert.ok(typeof reason.message === 'string' && reason.message.length > 0, 'every reason says what is wrong');
	}
	return 400;
}

const CRM_SETS = fc.subarray([...CRM_NAMES] as CrmName[], { minLength: 1 });

test(`sync API validation: hostile bodies never throw, every refusal is a 400 with reasons (${RUNS} cases each)`, () => {
	const tally: Tally = { bodies: 0, cases: 0, throws: 0, serverErrors: 0 };
	const started = Date.now();
	try {
		fc.assert(
			fc.property(asSent(syncBody), CRM_SETS, (body, crms) => ++tally.bodies > 0 && statusOf(() => validateSyncRequest(body, crms), MAX_REASONS, tally) !== 500),
			{ numRuns: RUNS },
		);
		fc.assert(
			fc.property(asSent(bulkBody), CRM_SETS, (body, crms) => {
				tally.bodies++;
				let envelope: Validation<BulkEnvelope> | undefined;
				if (statusOf(() => (envelope = validateBulkEnvelope(body, 1000)), MAX_REASONS, tally) !== 200 || !envelope?.ok) return true;
				const { value } = envelope;
				// Each record is checked on its own, as validateBulkJob does.
				return value.records.every((r, i) => statusOf(() => validateBulkRecord(value, r, i, crms), MAX_RECORD_REASONS, tally) !== 500);
			}),
			{ numRuns: RUNS },
		);
	} finally {
		console.log(`sync-api fuzz: ${tally.bodies} bodies, ${tally.cases} cases (validations), ${tally.throws} throws, ${tally.serverErrors} 5xx (${Date.now() - started} ms)`);
	}
	assert.equal(tally.throws, 0, tally.first);
});
