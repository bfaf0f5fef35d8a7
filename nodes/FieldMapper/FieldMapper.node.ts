import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	compileMapping,
	mergeOverrides,
	parseMappingDocument,
	type CompiledMapping,
	type ComputedSpec,
	type Direction,
	type FieldIssue,
	type MappingOptions,
	type MappingOverrides,
	type PicklistSpec,
	type RuleSpec,
} from '../../lib/mapping';
import { isCrmName, isEntityType, type CrmName, type EntityType } from '../../lib/model';
import { describeMissing, readRetryState, resolveReferences, retryDecision, type ResolveResult } from '../../lib/sync/associations';
import { openSyncStore, redisStateCredential } from '../shared/stateStore';
import { AUTH_PARAMETER, CREDENTIAL_TYPES } from '../shared/credentials';
import { fieldMapperProperties } from './description';
import { getPicklistFields, getTargetFields } from './methods/loadOptions';

interface NodeOptions {
	checkCrmRequired?: boolean;
	recordField?: string;
	useEventSource?: boolean;
	timeZone?: string;
	warningsField?: string;
}

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

/** The node's parameters as mapping options: read once per execution (they are the same for all items). */
function readMappingOptions(ctx: IExecuteFunctions, options: NodeOptions): MappingOptions {
	const direction = ctx.getNodeParameter('direction', 0) as Direction;
	const rules = ((ctx.getNodeParameter('rules', 0, {}) as { rule?: Array<{ source: string; target: string; customTarget?: string; transform: RuleSpec['transform'] }> }).rule ?? [])
		.map((r): RuleSpec => ({ source: r.source, target: (r.customTarget ?? '').trim() || r.target, transform: r.transform }));
	const picklistEntries = (ctx.getNodeParameter('picklists', 0, {}) as { value?: Array<{ field: string; side: PicklistSpec['side']; crmValue: string; unifiedValue: string }> }).value ?? [];
	const picklists: PicklistSpec[] = picklistEntries
		.filter((p) => p.crmValue !== '' || p.unifiedValue !== '')
		.map((p) => ({ field: p.field, side: p.side, values: { [p.crmValue]: p.unifiedValue } }));
	const computed = ((ctx.getNodeParameter('computed', 0, {}) as { field?: Array<{ target: string; op: ComputedSpec['op']; sources: string; separator: string; template: string }> }).field ?? [])
		.map((c): ComputedSpec => ({ target: c.target, op: c.op, sources: c.op === 'template' ? undefined : list(c.sources ?? ''), separator: c.separator, template: c.op === 'template' ? c.template : undefined }));
	const defaults = Object.fromEntries(
		((ctx.getNodeParameter('defaults', 0, {}) as { default?: Array<{ field: string; value: string }> }).default ?? []).filter((d) => d.field.trim() !== '').map((d) => [d.field.trim(), d.value]),
	);
	const fromNode: MappingOverrides = {
		replaceDefaults: ctx.getNodeParameter('replaceDefaults', 0, false) as boolean,
		rules,
		picklists,
		computed,
		defaults,
		required: list(ctx.getNodeParameter('required', 0, '') as string),
	};
	const document = ctx.getNodeParameter('mappingDocument', 0, '') as string;
	const phoneFormat = ctx.getNodeParameter('phoneFormat', 0, 'asIs') as MappingOptions['phoneFormat'];
	return {
		direction,
		entity: ctx.getNodeParameter('entity', 0) as EntityType,
		source: direction === 'fromUnified' ? undefined : (ctx.getNodeParameter('sourceCrm', 0) as CrmName),
		target: direction === 'toUnified' ? undefined : (ctx.getNodeParameter('targetCrm', 0) as CrmName),
		mode: ctx.getNodeParameter('mode', 0, 'lenient') as MappingOptions['mode'],
		phoneFormat,
		defaultCountry: phoneFormat === 'e164' ? ((ctx.getNodeParameter('defaultCountry', 0, '') as string).trim() || undefined) : undefined,
		timeZone: options.timeZone?.trim() || 'UTC',
		includeUnmapped: ctx.getNodeParameter('includeUnmapped', 0, false) as boolean,
		checkCrmRequired: options.checkCrmRequired === true,
		overrides: mergeOverrides(parseMappingDocument(document), fromNode),
	};
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class FieldMapper implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Field Mapper',
		name: 'fieldMapper',
		icon: 'file:fieldMapper.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["direction"] === "toUnified" ? $parameter["sourceCrm"] + " → unified" : $parameter["direction"] === "fromUnified" ? "unified → " + $parameter["targetCrm"] : $parameter["sourceCrm"] + " → " + $parameter["targetCrm"]}}',
		description: 'Maps CRM records to and from the unified model (or CRM to CRM) with default maps, rules, picklists, computed fields and validation',
		defaults: { name: 'Field Mapper' },
		inputs: [NodeConnectionTypes.Main],
		// Retry Later is last so that workflows wired to Mapped (0) and Invalid (1) stay valid.
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Mapped', 'Invalid', 'Retry Later'],
		usableAsTool: true,
		// Only for listing the target CRM's live fields in the editor; mapping never calls a CRM.
		credentials: [
			...CREDENTIAL_TYPES.map(([crm, auth, name]) => ({
				name,
				required: true,
				displayOptions: {
					show: { liveFields: [true], direction: ['fromUnified', 'crmToCrm'], targetCrm: [crm], ...(auth ? { [AUTH_PARAMETER[crm]]: [auth] } : {}) },
				},
			})),
			{ ...redisStateCredential, displayOptions: { show: { direction: ['fromUnified'], resolveReferences: [true], stateBackend: ['redis'] } } },
		],
		properties: fieldMapperProperties,
	};

	methods = { loadOptions: { getTargetFields, getPicklistFields } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const options = this.getNodeParameter('options', 0, {}) as NodeOptions;
		const recordField = options.recordField?.trim() || '';
		const warningsField = options.warningsField === undefined ? '_mappingWarnings' : options.warningsField.trim();

		// Read and compile once; a configuration error fails the node (or, with Continue On Fail, every item).
		let base: MappingOptions;
		let mapping: CompiledMapping;
		try {
			base = readMappingOptions(this, options);
			mapping = compileMapping(base);
		} catch (error) {
			if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), (error as Error).message);
			return [[], items.map((item, index) => ({ json: { errors: [{ field: '', reason: (error as Error).message }], record: item.json }, pairedItem: { item: index } })), []];
		}
		const byEvent = new Map<string, CompiledMapping>();
		const mappingFor = (json: IDataObject): CompiledMapping => {
			if (!options.useEventSource) return mapping;
			const source = base.direction === 'fromUnified' ? base.source : json.source;
			const entity = json.entity ?? base.entity;
			if (base.direction !== 'fromUnified' && !isCrmName(source)) throw new Error(`item field "source" must name a CRM; got ${JSON.stringify(source)}`);
			if (!isEntityType(entity)) throw new Error(`item field "entity" must name an entity; got ${JSON.stringify(entity)}`);
			const key = `${String(source)}|${entity}`;
			let m = byEvent.get(key);
			if (!m) byEvent.set(key, (m = compileMapping({ ...base, source: source as CrmName | undefined, entity })));
			return m;
		};

		const mapped: INodeExecutionData[] = [];
		const invalid: INodeExecutionData[] = [];
		const retryLater: INodeExecutionData[] = [];
		const reject = (index: number, errors: FieldIssue[], extra: IDataObject = {}) =>
			invalid.push({ json: { errors: errors as unknown as IDataObject[], ...extra, record: items[index].json }, pairedItem: { item: index } });

		// The records to map; with reference resolution, the retry state of looped-back items is not part of them.
		const records: Array<{ index: number; record: Record<string, unknown> }> = [];
		for (let index = 0; index < items.length; index++) {
			const json = items[index].json;
			// Change events of a delete or merge carry no record to map: they go on as they are, and
			// Unified CRM Upsert (From Item) applies them through the cross-reference.
			if (recordField && (json.operation === 'delete' || json.operation === 'merge')) {
				mapped.push({ json, pairedItem: { item: index } });
				continue;
			}
			const record = recordField ? json[recordField] : json;
			if (!isRecord(record)) {
				reject(index, [{ field: recordField, reason: `expected an object to map, got ${Array.isArray(record) ? 'an array' : typeof record}` }]);
				continue;
			}
			records.push({ index, record: !recordField && RETRY_FIELD in record ? omitKey(record, RETRY_FIELD) : record });
		}

		let resolved: Map<number, ResolveResult> | undefined;
		let resolution: ResolutionOptions | undefined;
		if (base.direction === 'fromUnified' && this.getNodeParameter('resolveReferences', 0, false)) {
			resolution = {
				missing: this.getNodeParameter('missingReferences', 0, 'retry') as ResolutionOptions['missing'],
				limitMs: Math.max(0, Number(this.getNodeParameter('retryLimitSeconds', 0, 300))) * 1000,
			};
			try {
				resolved = await resolveAll(this, records, items, options.useEventSource === true, base, reject);
			} catch (error) {
				if (!this.continueOnFail()) throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), (error as Error).message);
				for (const { index } of records) reject(index, [{ field: '', reason: (error as Error).message }]);
				return [mapped, invalid, retryLater];
			}
		}

		for (const { index, record: input } of records) {
			const json = items[index].json;
			let record = input;
			let unifiedId: string | undefined;
			const dropped: FieldIssue[] = [];
			if (resolved && resolution) {
				const r = resolved.get(index);
				if (!r) continue; // rejected while resolving
				const source = String(json.source);
				if (r.missing.length && resolution.missing !== 'drop') {
					const reason = describeMissing(r.missing, source as CrmName, base.target!);
					if (resolution.missing === 'invalid') {
						reject(index, r.missing.map((m) => ({ field: m.field, reason: describeMissing([m], source as CrmName, base.target!), value: m.sourceId })), { reason });
						continue;
					}
					// Counted from the change (the event's occurredAt): n8n runs one target's retry loop before the next target's first attempt.
					const decision = retryDecision(readRetryState(json[RETRY_FIELD]), reason, resolution.limitMs, Date.now(), typeof json.occurredAt === 'string' ? json.occurredAt : undefined);
					if (decision.action === 'giveUp') {
						reject(index, r.missing.map((m) => ({ field: m.field, reason: describeMissing([m], source as CrmName, base.target!), value: m.sourceId })), { reason: decision.reason, attempts: decision.state.attempts, firstSeenAt: decision.state.firstSeenAt });
						continue;
					}
					// The item as it came in, plus its retry state: a Wait node loops it back here.
					retryLater.push({ json: { ...json, [RETRY_FIELD]: decision.state as unknown as IDataObject }, pairedItem: { item: index } });
					continue;
				}
				for (const m of r.missing) dropped.push({ field: m.field, reason: `dropped: ${describeMissing([m], source as CrmName, base.target!)}`, value: m.sourceId });
				record = r.record;
				unifiedId = r.unifiedId;
			}
			let result;
			try {
				result = mappingFor(json).map(record);
			} catch (error) {
				// Never lose the batch: an unexpected failure on one record goes to Invalid with its reason.
				reject(index, [{ field: '', reason: (error as Error).message }]);
				continue;
			}
			if (!result.valid) {
				reject(index, result.issues!);
				continue;
			}
			let out: IDataObject = result.record as IDataObject;
			const warnings = [...(result.issues ?? []), ...dropped];
			if (warnings.length && warningsField) out[warningsField] = warnings as unknown as IDataObject[];
			if (recordField) {
				out = { ...json, [recordField]: out };
				delete out[RETRY_FIELD];
			}
			// Unified CRM Upsert links what it writes to this id (and updates by it next time).
			if (unifiedId && (json.unifiedId === undefined || json.unifiedId === null || json.unifiedId === '')) out.unifiedId = unifiedId;
			mapped.push({ json: out, pairedItem: { item: index } });
		}
		return [mapped, invalid, retryLater];
	}
}

/** Item field of Retry Later items: attempts so far, first attempt time, last reason. */
const RETRY_FIELD = 'retry';

interface ResolutionOptions {
	missing: 'retry' | 'drop' | 'invalid';
	limitMs: number;
}

function omitKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
	const copy = { ...record };
	delete copy[key];
	return copy;
}

/**
 * Translates reference ids of every record through the cross-reference, one store round per
 * entity. Items without a CRM in `source` are rejected (their ids cannot be translated).
 */
async function resolveAll(
	ctx: IExecuteFunctions,
	records: Array<{ index: number; record: Record<string, unknown> }>,
	items: INodeExecutionData[],
	useEventEntity: boolean,
	base: MappingOptions,
	reject: (index: number, errors: FieldIssue[]) => void,
): Promise<Map<number, ResolveResult>> {
	const store = await openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback));
	const byEntity = new Map<EntityType, Array<{ index: number; record: Record<string, unknown>; source: CrmName; recordId?: string }>>();
	for (const { index, record } of records) {
		const json = items[index].json;
		if (!isCrmName(json.source)) {
			reject(index, [{ field: 'source', reason: `item field "source" must name the CRM the record comes from (to translate its reference IDs); got ${JSON.stringify(json.source)}`, value: json.source }]);
			continue;
		}
		const entity = useEventEntity && isEntityType(json.entity) ? json.entity : base.entity;
		const recordId = typeof json.recordId === 'string' || typeof json.recordId === 'number' ? String(json.recordId) : undefined;
		const list = byEntity.get(entity) ?? [];
		list.push({ index, record, source: json.source, recordId });
		byEntity.set(entity, list);
	}
	const out = new Map<number, ResolveResult>();
	for (const [entity, list] of byEntity) {
		const results = await resolveReferences(store, list, { entity, target: base.target! });
		list.forEach((item, i) => out.set(item.index, results[i]));
	}
	return out;
}
