// Readers and writers for CRM shapes a flat field cannot express: lookup objects, OData binds,
// Pipedrive's emails[]/phones[] arrays, single links that the unified model holds as id lists.
import { textOf } from './transformers';
import type { FieldSpec, FieldType, ShapeReader, ShapeWriter } from './types';

export function field(unified: string, crm: string, type: FieldType, extra: Partial<FieldSpec> = {}): FieldSpec {
	return { unified, crm, type, ...extra };
}

type Rec = Record<string, unknown>;

function obj(v: unknown): Rec | undefined {
	return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
}

/** Zoho lookups ({id, name}) and owners: read `.id`, write `{id}`. */
export function lookupId(key: string): Pick<FieldSpec, 'read' | 'write'> {
	return {
		read: (r) => {
			const v = r[key];
			if (v === null) return null;
			const o = obj(v);
			return o ? o.id : v;
		},
		write: (out, v) => {
			out[key] = v === null ? null : { id: v };
		},
	};
}

const BIND_RE = /\(([^)]+)\)\s*$/;

/** Id inside an OData bind value '/accounts(<guid>)'. */
export function bindId(bind: unknown): unknown {
	if (typeof bind !== 'string') return bind;
	const m = BIND_RE.exec(bind);
	return m ? m[1] : bind;
}

/**
 * Dynamics single-valued lookup: read `_<attr>_value` (or the bind a write produced),
 * write `<navProperty>@odata.bind: '/<entitySet>(<id>)'`.
 */
export function odataLookup(attr: string, navProperty: string, entitySet: string): Pick<FieldSpec, 'read' | 'write' | 'keys'> {
	const valueKey = `_${attr}_value`;
	const bindKey = `${navProperty}@odata.bind`;
	return {
		keys: [valueKey, bindKey],
		read: (r) => {
			const v = r[valueKey];
			if (v !== undefined) return v;
			if (r[bindKey] !== undefined) return bindId(r[bindKey]);
			// A webhook's entity image carries the lookup as an EntityReference {id, logicalName, name}.
			const ref = obj(r[attr]);
			return ref ? (ref.id ?? ref.Id) : r[attr] === null ? null : undefined;
		},
		write: (out, v) => {
			out[bindKey] = v === null ? null : `/${entitySet}(${textOf(v)})`;
		},
	};
}

interface MultiValue {
	value?: unknown;
	primary?: unknown;
	label?: unknown;
}

function entries(r: Rec, key: string): MultiValue[] | undefined {
	const v = r[key];
	return Array.isArray(v) ? (v as MultiValue[]) : undefined;
}

/**
 * Pipedrive emails[]/phones[] ({value, primary, label}). `label` picks one label (e.g. mobile);
 * without it the primary entry, else the first whose label is not `exclude`.
 */
export function pipedriveMulti(key: 'emails' | 'phones', label?: string, exclude?: string): Pick<FieldSpec, 'read' | 'write'> {
	return {
		read: (r) => {
			const list = entries(r, key);
			if (list === undefined) {
				const v = r[key];
				return typeof v === 'string' ? (label ? undefined : v) : undefined;
			}
			let hit: MultiValue | undefined;
			if (label) hit = list.find((e) => e && e.label === label);
			else hit = list.find((e) => e && e.primary === true && e.label !== exclude) ?? list.find((e) => e && e.label !== exclude);
			return hit ? hit.value : undefined;
		},
		write: (out, v) => {
			if (v === null) return;
			let list = out[key] as MultiValue[] | undefined;
			if (!Array.isArray(list)) out[key] = list = [];
			if (label) list.push({ value: v, primary: list.length === 0, label });
			else {
				for (const e of list) e.primary = false;
				list.unshift({ value: v, primary: true, label: 'work' });
			}
		},
	};
}

/** A single CRM link held as a one-element id list in the unified model. */
export function singleLink(key: string, idOf: (v: unknown) => unknown = (v) => v): Pick<FieldSpec, 'read' | 'write' | 'format'> {
	return {
		read: (r) => {
			const v = r[key];
			if (v === undefined || v === null) return v;
			return [idOf(v)];
		},
		write: (out, v) => {
			out[key] = Array.isArray(v) ? (v.length ? v[0] : null) : v;
		},
		format: { list: true, single: true },
	};
}

export function firstWords(full: unknown): string | undefined {
	if (typeof full !== 'string') return undefined;
	const t = full.trim();
	const i = t.lastIndexOf(' ');
	return i < 0 ? undefined : t.slice(0, i).trim();
}

export function lastWord(full: unknown): string | undefined {
	if (typeof full !== 'string') return undefined;
	const t = full.trim();
	const i = t.lastIndexOf(' ');
	return i < 0 ? (t === '' ? undefined : t) : t.slice(i + 1);
}

export function joinNonEmpty(parts: unknown[], separator: string): string | undefined {
	let out = '';
	for (const p of parts) {
		if (p === undefined || p === null || p === '') continue;
		out = out === '' ? textOf(p) : out + separator + textOf(p);
	}
	return out === '' ? undefined : out;
}

export type { ShapeReader, ShapeWriter };
