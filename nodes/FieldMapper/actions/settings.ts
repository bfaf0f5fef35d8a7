// An item's mapping settings: the parameters an expression may vary per item (rules, picklists,
// computed fields, defaults, required fields, the mapping document and the Options), compiled
// with the node's fixed choices into a mapping.
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import {
	compileMapping,
	mergeOverrides,
	parseMappingDocument,
	type CompiledMapping,
	type ComputedSpec,
	type MappingOptions,
	type PicklistSpec,
	type RuleSpec,
} from '../../../lib/mapping';
import { isCrmName, isEntityType, type CrmName } from '../../../lib/model';

/** The node's fixed choices (direction, CRMs, entity, mode, phone format). */
export type NodeChoices = Required<Pick<MappingOptions, 'direction' | 'entity' | 'mode' | 'phoneFormat'>> & Pick<MappingOptions, 'source' | 'target'>;

interface NodeOptions {
	checkCrmRequired?: boolean;
	recordField?: string;
	useEventSource?: boolean;
	timeZone?: string;
	warningsField?: string;
}

interface ItemParameters {
	rules: { rule?: Array<{ source: string; target: string; customTarget?: string; transform: RuleSpec['transform'] }> };
	picklists: { value?: Array<{ field: string; side: PicklistSpec['side']; crmValue: string; unifiedValue: string }> };
	computed: { field?: Array<{ target: string; op: ComputedSpec['op']; sources: string; separator: string; template: string }> };
	defaults: { default?: Array<{ field: string; value: string }> };
	replaceDefaults: boolean;
	required: string;
	mappingDocument: string;
	defaultCountry: string;
	includeUnmapped: boolean;
	options: NodeOptions;
}

function readItemParameters(ctx: IExecuteFunctions, index: number, phoneFormat: NodeChoices['phoneFormat']): ItemParameters {
	return {
		rules: ctx.getNodeParameter('rules', index, {}) as ItemParameters['rules'],
		picklists: ctx.getNodeParameter('picklists', index, {}) as ItemParameters['picklists'],
		computed: ctx.getNodeParameter('computed', index, {}) as ItemParameters['computed'],
		defaults: ctx.getNodeParameter('defaults', index, {}) as ItemParameters['defaults'],
		replaceDefaults: ctx.getNodeParameter('replaceDefaults', index, false) as boolean,
		required: ctx.getNodeParameter('required', index, '') as string,
		mappingDocument: ctx.getNodeParameter('mappingDocument', index, '') as string,
		defaultCountry: phoneFormat === 'e164' ? (ctx.getNodeParameter('defaultCountry', index, '') as string) : '',
		includeUnmapped: ctx.getNodeParameter('includeUnmapped', index, false) as boolean,
		options: ctx.getNodeParameter('options', index, {}) as NodeOptions,
	};
}

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

function mappingOptions(node: NodeChoices, p: ItemParameters): MappingOptions {
	const rules = (p.rules.rule ?? []).map((r): RuleSpec => ({ source: r.source, target: (r.customTarget ?? '').trim() || r.target, transform: r.transform }));
	const picklists = (p.picklists.value ?? [])
		.filter((v) => v.crmValue !== '' || v.unifiedValue !== '')
		.map((v): PicklistSpec => ({ field: v.field, side: v.side, values: { [v.crmValue]: v.unifiedValue } }));
	const computed = (p.computed.field ?? []).map(
		(c): ComputedSpec => ({ target: c.target, op: c.op, sources: c.op === 'template' ? undefined : list(c.sources ?? ''), separator: c.separator, template: c.op === 'template' ? c.template : undefined }),
	);
	const defaults = Object.fromEntries((p.defaults.default ?? []).filter((d) => d.field.trim() !== '').map((d) => [d.field.trim(), d.value]));
	const fromNode = { replaceDefaults: p.replaceDefaults, rules, picklists, computed, defaults, required: list(p.required) };
	return {
		...node,
		defaultCountry: node.phoneFormat === 'e164' ? p.defaultCountry.trim() || undefined : undefined,
		timeZone: p.options.timeZone?.trim() || 'UTC',
		includeUnmapped: p.includeUnmapped,
		checkCrmRequired: p.options.checkCrmRequired === true,
		overrides: mergeOverrides(parseMappingDocument(p.mappingDocument), fromNode),
	};
}

export interface Settings {
	/** Whether the source CRM and entity come from the item's `source` and `entity` fields. */
	useEventSource: boolean;
	/** The item field that holds the record; '' for the whole item. */
	recordField: string;
	/** The Mapped item field for lenient warnings; '' for none. */
	warningsField: string;
	/** The compiled mapping for an item; with useEventSource, one compile per source and entity. */
	mappingFor(json: IDataObject): CompiledMapping;
}

function compileSettings(base: MappingOptions, options: NodeOptions): Settings {
	const mapping = compileMapping(base);
	const byEvent = new Map<string, CompiledMapping>();
	return {
		useEventSource: options.useEventSource === true,
		recordField: options.recordField?.trim() || '',
		warningsField: options.warningsField === undefined ? '_mappingWarnings' : options.warningsField.trim(),
		mappingFor(json) {
			if (!options.useEventSource) return mapping;
			const source = base.direction === 'fromUnified' ? base.source : json.source;
			const entity = json.entity ?? base.entity;
			if (base.direction !== 'fromUnified' && !isCrmName(source)) throw new Error(`item field "source" must name a CRM; got ${JSON.stringify(source)}`);
			if (!isEntityType(entity)) throw new Error(`item field "entity" must name an entity; got ${JSON.stringify(entity)}`);
			const key = `${String(source)}|${entity}`;
			let m = byEvent.get(key);
			if (!m) byEvent.set(key, (m = compileMapping({ ...base, source: source as CrmName | undefined, entity })));
			return m;
		},
	};
}

/**
 * The settings of item `index`. Items usually share their parameters, so each distinct set is
 * compiled once per execution; a set that does not compile throws for each of its items.
 */
export function settingsReader(ctx: IExecuteFunctions, node: NodeChoices): (index: number) => Settings {
	const compiled = new Map<string, Settings | Error>();
	return (index) => {
		const parameters = readItemParameters(ctx, index, node.phoneFormat);
		const key = JSON.stringify(parameters);
		let settings = compiled.get(key);
		if (!settings) {
			try {
				settings = compileSettings(mappingOptions(node, parameters), parameters.options);
			} catch (error) {
				settings = error as Error;
			}
			compiled.set(key, settings);
		}
		if (settings instanceof Error) throw settings;
		return settings;
	};
}
