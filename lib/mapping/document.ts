// Mapping documents: user overrides as JSON or YAML (schema in MAPPING.md). Parsing reports
// every problem with its path, e.g. "rules[1].transform: ...", and never half-applies a document.
import { parseDocument } from 'yaml';

import { isPrototypeKey } from '../model';
import {
	COMPUTED_OPS,
	MappingConfigError,
	TRANSFORM_NAMES,
	type ComputedSpec,
	type MappingOverrides,
	type PicklistSpec,
	type RuleSpec,
} from './types';

type Rec = Record<string, unknown>;

const TOP_KEYS = ['version', 'replaceDefaults', 'rules', 'picklists', 'computed', 'defaults', 'required'];
const RULE_KEYS = ['source', 'target', 'transform', 'values', 'maxLength'];
const PICKLIST_KEYS = ['field', 'side', 'values'];
const COMPUTED_KEYS = ['target', 'op', 'sources', 'separator', 'template'];

function isObject(v: unknown): v is Rec {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

class Checker {
	readonly problems: string[] = [];

	fail(path: string, message: string): void {
		this.problems.push(`${path}: ${message}`);
	}

	keys(obj: Rec, allowed: string[], path: string): void {
		for (const k of Object.keys(obj)) if (!allowed.includes(k)) this.fail(path ? `${path}.${k}` : k, `unknown key (allowed: ${allowed.join(', ')})`);
	}

	string(obj: Rec, key: string, path: string, required: boolean): string | undefined {
		const v = obj[key];
		if (v === undefined && !required) return undefined;
		if (typeof v !== 'string' || v.trim() === '') {
			this.fail(`${path}.${key}`, 'must be a non-empty string');
			return undefined;
		}
		return v.trim();
	}

	scalarMap(obj: Rec, key: string, path: string, required: boolean): Record<string, string | number> | undefined {
		const v = obj[key];
		if (v === undefined && !required) return undefined;
		if (!isObject(v)) {
			this.fail(`${path}.${key}`, 'must be a mapping of value → value');
			return undefined;
		}
		const out: Record<string, string | number> = {};
		for (const [k, x] of Object.entries(v)) {
			if (isPrototypeKey(k)) this.fail(`${path}.${key}.${k}`, 'must not be __proto__, constructor or prototype');
			else if (typeof x === 'string' || typeof x === 'number') out[k] = x;
			else if (typeof x === 'boolean') out[k] = String(x);
			else this.fail(`${path}.${key}.${k}`, 'must be a string or number');
		}
		return out;
	}

	list(obj: Rec, key: string): unknown[] {
		const v = obj[key];
		if (v === undefined || v === null) return [];
		if (!Array.isArray(v)) {
			this.fail(key, 'must be a list');
			return [];
		}
		return v;
	}
}

/** Parses the text of a document (JSON if it starts with '{', YAML otherwise). */
export function parseMappingDocument(text: string): MappingOverrides {
	const trimmed = text.trim();
	if (trimmed === '') return {};
	let data: unknown;
	if (trimmed.startsWith('{')) {
		try {
			data = JSON.parse(trimmed);
		} catch (e) {
			throw new MappingConfigError(`mapping document is not valid JSON: ${(e as Error).message}`);
		}
	} else {
		const doc = parseDocument(trimmed, { prettyErrors: true, uniqueKeys: true });
		if (doc.errors.length) {
			const problems = doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`);
			throw new MappingConfigError(`mapping document is not valid YAML: ${problems.join('; ')}`, problems);
		}
		data = doc.toJS();
	}
	return validateMappingDocument(data);
}

/** Checks a parsed document against the schema; throws with every problem found. */
export function validateMappingDocument(data: unknown): MappingOverrides {
	if (!isObject(data)) throw new MappingConfigError('mapping document must be an object with keys like rules, picklists, computed, defaults, required');
	const c = new Checker();
	c.keys(data, TOP_KEYS, '');
	if (data.version !== undefined && data.version !== 1) c.fail('version', 'must be 1');
	if (data.replaceDefaults !== undefined && typeof data.replaceDefaults !== 'boolean') c.fail('replaceDefaults', 'must be true or false');

	const rules: RuleSpec[] = [];
	c.list(data, 'rules').forEach((r, i) => {
		const path = `rules[${i}]`;
		if (!isObject(r)) return c.fail(path, 'must be an object with source and target');
		c.keys(r, RULE_KEYS, path);
		const source = c.string(r, 'source', path, true);
		const target = c.string(r, 'target', path, true);
		const transform = c.string(r, 'transform', path, false);
		if (transform !== undefined && !(TRANSFORM_NAMES as readonly string[]).includes(transform)) {
			c.fail(`${path}.transform`, `"${transform}" is unknown; use one of ${TRANSFORM_NAMES.join(', ')}`);
		}
		const values = c.scalarMap(r, 'values', path, false);
		if (r.maxLength !== undefined && (typeof r.maxLength !== 'number' || !Number.isInteger(r.maxLength) || r.maxLength < 1)) {
			c.fail(`${path}.maxLength`, 'must be a positive whole number');
		}
		if (source && target) rules.push({ source, target, transform: transform as RuleSpec['transform'], values, maxLength: r.maxLength as number | undefined });
	});

	const picklists: PicklistSpec[] = [];
	c.list(data, 'picklists').forEach((p, i) => {
		const path = `picklists[${i}]`;
		if (!isObject(p)) return c.fail(path, 'must be an object with field and values');
		c.keys(p, PICKLIST_KEYS, path);
		const field = c.string(p, 'field', path, true);
		const side = c.string(p, 'side', path, false);
		if (side !== undefined && side !== 'source' && side !== 'target' && side !== 'both') c.fail(`${path}.side`, 'must be source, target or both');
		const values = c.scalarMap(p, 'values', path, true);
		if (field && values) picklists.push({ field, side: side as PicklistSpec['side'], values });
	});

	const computed: ComputedSpec[] = [];
	c.list(data, 'computed').forEach((x, i) => {
		const path = `computed[${i}]`;
		if (!isObject(x)) return c.fail(path, 'must be an object with target and op');
		c.keys(x, COMPUTED_KEYS, path);
		const target = c.string(x, 'target', path, true);
		const op = c.string(x, 'op', path, true);
		if (op !== undefined && !(COMPUTED_OPS as readonly string[]).includes(op)) c.fail(`${path}.op`, `"${op}" is unknown; use one of ${COMPUTED_OPS.join(', ')}`);
		let sources: string[] | undefined;
		if (x.sources !== undefined) {
			if (!Array.isArray(x.sources) || x.sources.some((s) => typeof s !== 'string' || s === '')) c.fail(`${path}.sources`, 'must be a list of dot paths');
			else sources = x.sources as string[];
		}
		if ((op === 'join' || op === 'firstName' || op === 'lastName') && sources === undefined && x.sources === undefined) c.fail(`${path}.sources`, `is required for ${op}`);
		const template = c.string(x, 'template', path, op === 'template');
		if (x.separator !== undefined && typeof x.separator !== 'string') c.fail(`${path}.separator`, 'must be a string');
		if (target && op) computed.push({ target, op: op as ComputedSpec['op'], sources, template, separator: x.separator as string | undefined });
	});

	let defaults: Record<string, unknown> | undefined;
	if (data.defaults !== undefined) {
		if (!isObject(data.defaults)) c.fail('defaults', 'must be a mapping of target field → value');
		else defaults = data.defaults;
	}
	const required: string[] = [];
	c.list(data, 'required').forEach((f, i) => {
		if (typeof f !== 'string' || f.trim() === '') c.fail(`required[${i}]`, 'must be a field name');
		else required.push(f.trim());
	});

	if (c.problems.length) throw new MappingConfigError(`mapping document is invalid: ${c.problems.join('; ')}`, c.problems);
	return { replaceDefaults: data.replaceDefaults as boolean | undefined, rules, picklists, computed, defaults, required };
}

/** Overrides from several places (document first, then node fields): lists concatenate, defaults merge. */
export function mergeOverrides(...parts: (MappingOverrides | undefined)[]): MappingOverrides {
	const out: MappingOverrides = { rules: [], picklists: [], computed: [], defaults: {}, required: [] };
	for (const p of parts) {
		if (!p) continue;
		if (p.replaceDefaults) out.replaceDefaults = true;
		out.rules!.push(...(p.rules ?? []));
		out.picklists!.push(...(p.picklists ?? []));
		out.computed!.push(...(p.computed ?? []));
		// Spread, not Object.assign: a `__proto__` key stays a key, and compileMapping rejects it.
		out.defaults = { ...out.defaults, ...p.defaults };
		out.required!.push(...(p.required ?? []));
	}
	return out;
}
