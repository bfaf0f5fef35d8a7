// Compiles default maps + user overrides into a flat plan of small functions, once per
// configuration. map() then runs the plan per record with no lookups by name.
import { crmModule } from '../crms';
import { CRM_NAMES, ENTITY_TYPES, isPrototypeKey, type CrmName, type EntityType } from '../model';
import { defaultMap } from './default-map';
import { Zone } from './dates';
import { compileFirstOf, compileGetter, compileSetter, splitPath, type Getter, type Setter } from './paths';
import { compileStage, plainKey, type RunState, type Step, type StageRunner } from './runner';
import { firstWords, joinNonEmpty, lastWord } from './shapes';
import { buildTransform, namedTransform, resolveCountry, textOf, type TransformSettings } from './transformers';
import { extendValueMap } from './vocabulary';
import {
	COMPUTED_OPS,
	MappingConfigError,
	TRANSFORM_NAMES,
	type BatchResult,
	type ComputedSpec,
	type EntityMap,
	type FieldSpec,
	type MapResult,
	type MappingOptions,
	type PicklistSpec,
	type RuleSpec,
	type Side,
	type TransformContext,
} from './types';

type Rec = Record<string, unknown>;

interface Stage {
	steps: Step[];
	/** Top-level keys of the stage's input that the steps read. */
	consumed: Set<string>;
}

/** Keys that are envelope/metadata, never custom fields. */
function isSystemKey(side: Side, key: string): boolean {
	return side !== 'unified' && crmModule(side).adapter.isSystemKey?.(key) === true;
}

/** Where a side keeps the fields no map names: unified `custom`, a CRM's custom-fields key, or the top level. */
const customFieldsKey = (side: Side): string | undefined => (side === 'unified' ? 'custom' : crmModule(side).adapter.customFieldsKey);

function topKey(path: string): string {
	return splitPath(path)[0];
}

/** A path through a prototype key would read or write shared prototypes (see isPrototypeKey). */
function checkPath(path: string, where: string): string {
	if (splitPath(path).some(isPrototypeKey)) throw new MappingConfigError(`${where} "${path}" must not name __proto__, constructor or prototype`);
	return path;
}

/** Records are mapped one at a time: a single context is reused (map() is synchronous). */
export class CompiledMapping {
	private readonly cx: TransformContext = { problem: undefined };

	constructor(
		readonly options: Readonly<MappingOptions>,
		private readonly stages: StageRunner[],
		private readonly finalStage: StageRunner,
		private readonly defaults: [Getter, Setter, unknown][],
		private readonly required: [string, Getter][],
		private readonly unmapped: ((src: Rec, out: Rec) => void) | undefined,
		private readonly strict: boolean,
	) {}

	/** Maps one record. Never throws for bad data: problems are issues (strict: errors). */
	map(source: Rec): MapResult {
		const st: RunState = { issues: undefined, flagged: undefined };
		const cx = this.cx;
		let input = source;
		let out: Rec = {};
		for (let s = 0; s < this.stages.length; s++) {
			out = {};
			this.stages[s](input, out, st, cx);
			input = out;
		}
		this.finalStage(source, out, st, cx);
		if (this.unmapped !== undefined) this.unmapped(source, out);
		for (let i = 0; i < this.defaults.length; i++) {
			const [get, set, value] = this.defaults[i];
			if (get(out) === undefined) set(out, value);
		}
		for (let i = 0; i < this.required.length; i++) {
			const [name, get] = this.required[i];
			const v = get(out);
			if (v === undefined || v === null || v === '') (st.issues ??= []).push({ field: name, reason: 'is required but missing' });
		}
		return { record: out, issues: st.issues, valid: !this.strict || st.issues === undefined };
	}

	/** Maps many records; invalid ones (strict) are set aside with their reasons, the rest go on. */
	mapBatch(records: Rec[]): BatchResult {
		const result: BatchResult = { mapped: [], invalid: [] };
		for (let i = 0; i < records.length; i++) {
			const r = this.map(records[i]);
			if (r.valid) result.mapped.push(r.issues ? { index: i, record: r.record, warnings: r.issues } : { index: i, record: r.record });
			else result.invalid.push({ index: i, record: records[i], errors: r.issues! });
		}
		return result;
	}
}

function checkCrm(name: unknown, what: string): CrmName {
	if (typeof name !== 'string' || !(CRM_NAMES as readonly string[]).includes(name)) {
		throw new MappingConfigError(`${what} CRM must be one of ${CRM_NAMES.join(', ')}; got ${JSON.stringify(name)}`);
	}
	return name as CrmName;
}

function applyPicklists(spec: FieldSpec, picklists: PicklistSpec[], stageSide: 'source' | 'target', forRead: boolean): FieldSpec {
	let values = spec.values;
	for (const p of picklists) {
		if (p.field !== spec.unified) continue;
		const side = p.side ?? 'both';
		if (side !== 'both' && side !== stageSide) continue;
		values = extendValueMap(values, p.values, forRead, !forRead);
	}
	return values === spec.values ? spec : { ...spec, values };
}

/** CRM → unified steps. */
function readStage(map: EntityMap, settings: TransformSettings, skipRefs: boolean, picklists: PicklistSpec[], fieldNames: 'unified' | 'crm'): Stage {
	const steps: Step[] = [];
	const consumed = new Set<string>();
	for (const raw of map.fields) {
		if (raw.read === false) continue;
		// Skipped reference fields still count as read: include-unmapped must not copy them.
		consumed.add(topKey(raw.crm));
		if (Array.isArray(raw.read)) for (const p of raw.read) consumed.add(topKey(p));
		for (const k of raw.keys ?? []) consumed.add(k);
		if (skipRefs && raw.ref) continue;
		const spec = applyPicklists(raw, picklists, 'source', true);
		const get = typeof spec.read === 'function' ? spec.read : compileFirstOf([spec.crm, ...(Array.isArray(spec.read) ? spec.read : [])]);
		const name = spec.unified;
		steps.push({
			field: fieldNames === 'unified' ? name : spec.crm,
			unified: name,
			get,
			getKey: spec.read === undefined ? plainKey(spec.crm) : undefined,
			tx: buildTransform({ type: spec.type, side: 'unified', values: spec.values, format: spec.format }, settings),
			put: (out, v) => {
				out[name] = v;
			},
			putKey: name,
		});
	}
	return { steps, consumed };
}

/** Unified → CRM steps. */
function writeStage(
	crm: CrmName,
	map: EntityMap,
	settings: TransformSettings,
	skipRefs: boolean,
	picklists: PicklistSpec[],
	replacedTargets: Set<string>,
	normalized: Set<string> = new Set(),
): Stage {
	const steps: Step[] = [];
	const consumed = new Set<string>();
	for (const raw of map.fields) {
		if (raw.write === false || (skipRefs && raw.ref) || replacedTargets.has(raw.crm)) continue;
		let spec = applyPicklists(raw, picklists, 'target', false);
		// CRM → CRM: emails and phones were normalised while reading; writing checks the length only.
		if (normalized.has(`${spec.unified}:${spec.type}`)) spec = { ...spec, type: 'string' };
		const name = spec.unified;
		consumed.add(name);
		const writer = spec.write;
		const setter = compileSetter(spec.crm);
		steps.push({
			field: spec.crm,
			unified: name,
			get: (r) => r[name],
			getKey: name,
			tx: buildTransform({ type: spec.type, side: crm, max: spec.max, values: spec.values, format: spec.format }, settings),
			put: writer ? writer : (out, v) => setter(out, v),
			putKey: writer ? undefined : plainKey(spec.crm),
		});
	}
	return { steps, consumed };
}

function ruleStep(rule: RuleSpec, index: number, finalSide: Side, targetMap: EntityMap | undefined, settings: TransformSettings): Step {
	const where = `rules[${index}]`;
	if (typeof rule.source !== 'string' || rule.source.trim() === '') throw new MappingConfigError(`${where}.source must be a non-empty dot path`);
	if (typeof rule.target !== 'string' || rule.target.trim() === '') throw new MappingConfigError(`${where}.target must be a non-empty field name`);
	const transform = rule.transform ?? 'none';
	if (!(TRANSFORM_NAMES as readonly string[]).includes(transform)) {
		throw new MappingConfigError(`${where}.transform "${transform}" is unknown; use one of ${TRANSFORM_NAMES.join(', ')}`);
	}
	const target = checkPath(rule.target.trim(), `${where}.target`);
	checkPath(rule.source.trim(), `${where}.source`);
	const limit = rule.maxLength ?? targetMap?.fields.find((f) => f.crm === target)?.max;
	const base = namedTransform(transform, finalSide, settings, finalSide === 'unified' ? rule.maxLength : limit);
	let tx = base;
	if (rule.values && Object.keys(rule.values).length) {
		const values = new Map(Object.entries(rule.values));
		tx = (v, cx) => {
			const out = base(v, cx);
			if (cx.problem !== undefined || out === null) return out;
			const hit = values.get(textOf(out));
			return hit !== undefined ? hit : out;
		};
	}
	const setter = compileSetter(target);
	const source = rule.source.trim();
	return { field: target, unified: target, get: compileGetter(source), getKey: plainKey(source), tx, put: (out, v) => setter(out, v), putKey: plainKey(target) };
}

function computedStep(spec: ComputedSpec, index: number): Step {
	const where = `computed[${index}]`;
	if (typeof spec.target !== 'string' || spec.target.trim() === '') throw new MappingConfigError(`${where}.target must be a non-empty field name`);
	if (!(COMPUTED_OPS as readonly string[]).includes(spec.op)) {
		throw new MappingConfigError(`${where}.op "${String(spec.op)}" is unknown; use one of ${COMPUTED_OPS.join(', ')}`);
	}
	const setter = compileSetter(checkPath(spec.target.trim(), `${where}.target`));
	let get: Getter;
	if (spec.op === 'template') {
		if (typeof spec.template !== 'string' || spec.template === '') throw new MappingConfigError(`${where}.template must be a string with {path} placeholders`);
		const parts: (string | Getter)[] = [];
		const re = /\{([^{}]+)\}/g;
		let last = 0;
		for (let m = re.exec(spec.template); m; m = re.exec(spec.template)) {
			if (m.index > last) parts.push(spec.template.slice(last, m.index));
			parts.push(compileGetter(checkPath(m[1].trim(), `${where}.template placeholder`)));
			last = m.index + m[0].length;
		}
		if (last < spec.template.length) parts.push(spec.template.slice(last));
		get = (r) => {
			let s = '';
			let any = false;
			for (const p of parts) {
				if (typeof p === 'string') s += p;
				else {
					const v = p(r);
					if (v !== undefined && v !== null && v !== '') {
						s += textOf(v);
						any = true;
					}
				}
			}
			return any ? s.trim() : undefined;
		};
	} else {
		const sources = spec.sources;
		if (!Array.isArray(sources) || sources.length === 0 || sources.some((s) => typeof s !== 'string' || s.trim() === '')) {
			throw new MappingConfigError(`${where}.sources must be a non-empty list of dot paths`);
		}
		const getters = sources.map((s, i) => compileGetter(checkPath(s.trim(), `${where}.sources[${i}]`)));
		if (spec.op === 'join') {
			const sep = spec.separator ?? ' ';
			get = (r) => joinNonEmpty(getters.map((g) => g(r)), sep);
		} else {
			if (getters.length !== 1) throw new MappingConfigError(`${where}.sources must name exactly one full-name path for ${spec.op}`);
			const g = getters[0];
			get = spec.op === 'firstName' ? (r) => firstWords(g(r)) : (r) => lastWord(g(r));
		}
	}
	const target = spec.target.trim();
	return { field: target, unified: target, get, tx: undefined, put: (out, v) => setter(out, v), putKey: plainKey(target) };
}

/** Compiles a mapping. Throws MappingConfigError (with every problem found) for bad configuration. */
export function compileMapping(options: MappingOptions): CompiledMapping {
	const { direction, entity } = options;
	if (!(ENTITY_TYPES as readonly string[]).includes(entity)) {
		throw new MappingConfigError(`entity must be one of ${ENTITY_TYPES.join(', ')}; got ${JSON.stringify(entity)}`);
	}
	const source = direction === 'fromUnified' ? undefined : checkCrm(options.source, 'source');
	const target = direction === 'toUnified' ? undefined : checkCrm(options.target, 'target');
	if (direction !== 'toUnified' && direction !== 'fromUnified' && direction !== 'crmToCrm') {
		throw new MappingConfigError(`direction must be toUnified, fromUnified or crmToCrm; got ${JSON.stringify(direction)}`);
	}
	let zone: Zone;
	try {
		zone = new Zone(options.timeZone || 'UTC');
	} catch {
		throw new MappingConfigError(`time zone "${options.timeZone}" is not an IANA time zone`);
	}
	const settings: TransformSettings = {
		zone,
		phoneFormat: options.phoneFormat ?? 'asIs',
		defaultCountry: resolveCountry(options.defaultCountry),
	};
	const ov = options.overrides ?? {};
	const rules = ov.rules ?? [];
	const picklists = ov.picklists ?? [];
	const replace = ov.replaceDefaults === true;
	const finalSide: Side = target ?? 'unified';
	const targetMap = target ? defaultMap(target, entity as EntityType) : undefined;

	for (const [i, p] of picklists.entries()) {
		if (typeof p.field !== 'string' || p.field === '') throw new MappingConfigError(`picklists[${i}].field must be a unified field name`);
		const maps = [source, target].filter((c): c is CrmName => c !== undefined).map((c) => defaultMap(c, entity));
		const spec = maps.flatMap((m) => m.fields).find((f) => f.unified === p.field);
		if (!spec) throw new MappingConfigError(`picklists[${i}].field "${p.field}" is not a field of the default ${entity} map`);
		if (spec.type !== 'picklist') throw new MappingConfigError(`picklists[${i}].field "${p.field}" is not a picklist; use a rule with values instead`);
	}

	const problems: string[] = [];
	const collect = <T>(f: () => T): T | undefined => {
		try {
			return f();
		} catch (e) {
			if (e instanceof MappingConfigError) problems.push(...e.problems);
			else throw e;
			return undefined;
		}
	};
	const finalSteps: Step[] = [];
	for (const [i, r] of rules.entries()) {
		const s = collect(() => ruleStep(r, i, finalSide, targetMap, settings));
		if (s) finalSteps.push(s);
	}
	for (const [i, c] of (ov.computed ?? []).entries()) {
		const s = collect(() => computedStep(c, i));
		if (s) finalSteps.push(s);
	}
	for (const k of Object.keys(ov.defaults ?? {})) collect(() => checkPath(k, 'defaults key'));
	for (const n of ov.required ?? []) collect(() => checkPath(n, 'required field'));
	if (problems.length) throw new MappingConfigError(problems.join('; '), problems);
	const replaced = new Set(finalSteps.map((s) => s.field));

	const stages: Stage[] = [];
	const crmToCrm = direction === 'crmToCrm';
	if (!replace) {
		if (source) {
			const stage = readStage(defaultMap(source, entity), settings, crmToCrm, picklists, crmToCrm ? 'crm' : 'unified');
			if (!crmToCrm) stage.steps = stage.steps.filter((s) => !replaced.has(s.unified));
			stages.push(stage);
		}
		if (target) {
			const normalized = new Set<string>();
			if (source) for (const f of defaultMap(source, entity).fields) if (f.type === 'email' || f.type === 'phone') normalized.add(`${f.unified}:${f.type}`);
			stages.push(writeStage(target, targetMap!, settings, crmToCrm, picklists, replaced, normalized));
		}
	}

	const defaults: [Getter, Setter, unknown][] = [];
	const defaultEntries = Object.entries({ ...(replace ? {} : targetMap?.writeDefaults), ...ov.defaults });
	for (const [k, v] of defaultEntries) defaults.push([compileGetter(k), compileSetter(k), v]);

	const requiredNames = new Set<string>(ov.required ?? []);
	if (options.checkCrmRequired && targetMap && !replace) for (const f of targetMap.fields) if (f.required) requiredNames.add(f.crm);
	const required: [string, Getter][] = [...requiredNames].map((n) => [n, compileGetter(n)]);

	let unmapped: ((src: Rec, out: Rec) => void) | undefined;
	if (options.includeUnmapped) {
		const consumed = new Set<string>();
		const inputSide: Side = source ?? 'unified';
		if (!replace && stages.length) for (const k of stages[0].consumed) consumed.add(k);
		for (const r of rules) consumed.add(topKey(r.source.trim()));
		for (const c of ov.computed ?? []) for (const s of c.sources ?? []) consumed.add(topKey(s));
		unmapped = unmappedCopier(inputSide, finalSide, consumed);
	}
	const runners = stages.map((stage, i) => compileStage(stage.steps, stages.length === 2 ? (i === 0 ? 'set' : 'check') : 'none'));
	return new CompiledMapping(options, runners, compileStage(finalSteps, 'none'), defaults, required, unmapped, (options.mode ?? 'lenient') === 'strict');
}

/**
 * Copies source fields no step read. Into the unified model they go under `custom`; into a CRM
 * under their own name (Pipedrive: inside custom_fields). Unified `custom` entries and Pipedrive
 * `custom_fields` entries are unpacked first.
 */
function unmappedCopier(input: Side, output: Side, consumed: Set<string>): (src: Rec, out: Rec) => void {
	const nestedKey = customFieldsKey(input);
	const bucketKey = customFieldsKey(output);
	return (src, out) => {
		let bucket: Rec | undefined = bucketKey === undefined ? out : undefined;
		for (const key in src) {
			if (consumed.has(key) || isSystemKey(input, key) || isPrototypeKey(key)) continue;
			const value = src[key];
			if (bucket === undefined) bucket = (out[bucketKey!] ??= {}) as Rec;
			if (key === nestedKey && value !== null && typeof value === 'object' && !Array.isArray(value)) {
				for (const k in value as Rec) if (!isPrototypeKey(k) && bucket[k] === undefined) bucket[k] = (value as Rec)[k];
			} else if (bucket[key] === undefined) bucket[key] = value;
		}
	};
}

/** Target field names of the default map (for loadOptions): CRM field names, or unified names. */
export function defaultTargetFields(direction: MappingOptions['direction'], entity: EntityType, source?: CrmName, target?: CrmName): { name: string; type: string; required: boolean }[] {
	if (direction === 'toUnified') {
		if (!source) return [];
		return defaultMap(source, entity).fields.filter((f) => f.read !== false).map((f) => ({ name: f.unified, type: f.type, required: false }));
	}
	if (!target) return [];
	return defaultMap(target, entity).fields.filter((f) => f.write !== false && !f.virtual).map((f) => ({ name: f.crm, type: f.type, required: f.required === true }));
}
