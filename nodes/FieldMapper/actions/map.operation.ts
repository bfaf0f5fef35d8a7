// Map: each item's record through the compiled mapping to Mapped, or to Invalid with one reason
// per field; with reference resolution (Unified → CRM), Retry Later too.
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { COMPUTED_OPS, TRANSFORM_NAMES, type Direction, type FieldIssue } from '../../../lib/mapping';
import { isCrmName, isEntityType, type CrmName, type EntityType } from '../../../lib/model';
import { REFERENCE_FIELDS, referencesToUnified, type ResolveResult } from '../../../lib/sync/associations';
import { toNodeError } from '../../shared/errors';
import { openSyncStore } from '../../shared/stateStore';
import { readResolution, resolveAll, RETRY_FIELD, settle, type ToResolve } from './references';
import { settingsReader, type NodeChoices, type Settings } from './settings';

const TRANSFORM_LABELS: Record<string, string> = {
	none: 'None (Copy As Is)',
	string: 'Text',
	trim: 'Trim',
	lowercase: 'Lowercase',
	uppercase: 'Uppercase',
	email: 'Email (Trim, Lowercase, Check)',
	phone: 'Phone (Per Phone Format)',
	number: 'Number',
	integer: 'Whole Number',
	currency: 'Currency Code (ISO 4217)',
	boolean: 'Yes/No',
	date: 'Date (Target CRM Format)',
	datetime: 'Date & Time (Target CRM Format)',
	url: 'URL',
	postalCode: 'Postal Code',
	stateCode: 'US State / CA Province Code',
};

const COMPUTED_LABELS: Record<string, string> = {
	join: 'Join Fields',
	template: 'Template',
	firstName: 'First Name(s) From Full Name',
	lastName: 'Last Name From Full Name',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Lenient', value: 'lenient', description: 'Keep the original value of a bad field and attach a warning' },
			{ name: 'Strict', value: 'strict', description: 'Send records with a bad field to the Invalid output, one reason per field' },
		],
		default: 'lenient',
	},
	{
		displayName: 'Phone Format',
		name: 'phoneFormat',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Keep As Is (Check Only)', value: 'asIs' },
			{ name: 'E.164 (+14155552671)', value: 'e164' },
		],
		default: 'asIs',
	},
	{
		displayName: 'Default Phone Country',
		name: 'defaultCountry',
		type: 'string',
		default: '',
		placeholder: 'US',
		description: 'ISO 3166 two-letter country for numbers without a + prefix. Without it such numbers are ambiguous (a warning, or invalid in strict mode).',
		displayOptions: { show: { phoneFormat: ['e164'] } },
	},
	{
		displayName: 'Include Unmapped Fields',
		name: 'includeUnmapped',
		type: 'boolean',
		default: false,
		description: 'Whether to copy fields no rule reads: into `custom` in the unified model, under their own name in a CRM record (Pipedrive: in custom_fields)',
	},
	{
		displayName: 'Replace Default Map',
		name: 'replaceDefaults',
		type: 'boolean',
		default: false,
		description: 'Whether to map only with the rules below; otherwise the rules extend the default map (a rule replaces the default for its target field)',
	},
	{
		displayName: 'Custom Rules',
		name: 'rules',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Rule',
		options: [
			{
				displayName: 'Rule',
				name: 'rule',
				values: [
					{
						displayName: 'Source Path',
						name: 'source',
						type: 'string',
						default: '',
						placeholder: 'Custom_Field__c or Account.Name',
						description: 'Dot path in the incoming record',
					},
					{
						displayName: 'Target Field',
						name: 'target',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getTargetFields',
							loadOptionsDependsOn: ['direction', 'sourceCrm', 'targetCrm', 'entity', 'liveFields', 'hubspotAuthentication', 'pipedriveAuthentication'],
						},
						default: '',
						description: 'A field of the default map, or of the CRM when Load Target Fields From CRM is on. For any other field, type it in Custom Target Field. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Custom Target Field',
						name: 'customTarget',
						type: 'string',
						default: '',
						placeholder: 'custom_property',
						description: 'Target field not in the list (custom fields). Used instead of Target Field when set.',
					},
					{
						displayName: 'Transformer',
						name: 'transform',
						type: 'options',
						options: TRANSFORM_NAMES.map((t) => ({ name: TRANSFORM_LABELS[t], value: t })),
						default: 'none',
					},
				],
			},
		],
	},
	{
		displayName: 'Picklist Maps',
		name: 'picklists',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Picklist Value',
		description: 'Extra values for picklist fields (lead source, status, lifecycle stage, stage, activity type)',
		options: [
			{
				displayName: 'Value',
				name: 'value',
				values: [
					{
						displayName: 'Unified Field',
						name: 'field',
						type: 'options',
						typeOptions: { loadOptionsMethod: 'getPicklistFields', loadOptionsDependsOn: ['direction', 'sourceCrm', 'targetCrm', 'entity'] },
						default: '',
						description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
					},
					{
						displayName: 'CRM Side',
						name: 'side',
						type: 'options',
						options: [
							{ name: 'Both', value: 'both' },
							{ name: 'Source CRM (Reading)', value: 'source' },
							{ name: 'Target CRM (Writing)', value: 'target' },
						],
						default: 'both',
					},
					{ displayName: 'CRM Value', name: 'crmValue', type: 'string', default: '', placeholder: 'Web Site' },
					{ displayName: 'Unified Value', name: 'unifiedValue', type: 'string', default: '', placeholder: 'web' },
				],
			},
		],
	},
	{
		displayName: 'Computed Fields',
		name: 'computed',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Computed Field',
		options: [
			{
				displayName: 'Computed Field',
				name: 'field',
				values: [
					{ displayName: 'Target Field', name: 'target', type: 'string', default: '', placeholder: 'Full_Name__c' },
					{
						displayName: 'Operation',
						name: 'op',
						type: 'options',
						options: COMPUTED_OPS.map((o) => ({ name: COMPUTED_LABELS[o], value: o })),
						default: 'join',
					},
					{
						displayName: 'Source Paths',
						name: 'sources',
						type: 'string',
						default: '',
						placeholder: 'FirstName, LastName',
						description: 'Comma-separated dot paths in the incoming record (one full-name path for the name splits)',
					},
					{ displayName: 'Separator', name: 'separator', type: 'string', default: ' ' },
					{ displayName: 'Template', name: 'template', type: 'string', default: '', placeholder: '{LastName}, {FirstName}', description: 'For Template: {path} placeholders' },
				],
			},
		],
	},
	{
		displayName: 'Defaults',
		name: 'defaults',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Default',
		description: 'Values set on the target when the mapped record has none (text; use a mapping document for numbers or booleans)',
		options: [
			{
				displayName: 'Default',
				name: 'default',
				values: [
					{ displayName: 'Target Field', name: 'field', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Required Fields',
		name: 'required',
		type: 'string',
		default: '',
		placeholder: 'email, lastname',
		description: 'Comma-separated target fields that must have a value',
	},
	{
		displayName: 'Mapping Document',
		name: 'mappingDocument',
		type: 'string',
		typeOptions: { rows: 8 },
		default: '',
		placeholder: 'rules:\n  - source: Custom_Field__c\n    target: custom_property',
		description: 'JSON or YAML with rules, picklists, computed, defaults, required, replaceDefaults. Applied before the fields above.',
	},
];

function isRecord(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function omitKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
	const copy = { ...record };
	delete copy[key];
	return copy;
}

export async function execute(this: IExecuteFunctions, direction: Direction): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	// Node-level configuration is read at item 0: fixed choices (no expressions) and the batch's
	// store and retry policy configure the node, not an item.
	const nodeParameter = (name: string, fallback?: unknown) => this.getNodeParameter(name, 0, fallback);
	const node: NodeChoices = {
		direction,
		entity: nodeParameter('entity') as EntityType,
		source: direction === 'fromUnified' ? undefined : (nodeParameter('sourceCrm') as CrmName),
		target: direction === 'toUnified' ? undefined : (nodeParameter('targetCrm') as CrmName),
		mode: nodeParameter('mode', 'lenient') as NodeChoices['mode'],
		phoneFormat: nodeParameter('phoneFormat', 'asIs') as NodeChoices['phoneFormat'],
	};
	const resolution = direction === 'fromUnified' ? readResolution(nodeParameter) : undefined;
	const referencesAsUnified = direction === 'toUnified' && nodeParameter('resolveReferences', false) === true;
	/** Mapped items whose references become unified ids once all are mapped: where the record is, and its source. */
	const toLink: Array<{ item: INodeExecutionData; recordField: string; entity: EntityType; source: unknown }> = [];
	const settingsOf = settingsReader(this, node);

	const mapped: INodeExecutionData[] = [];
	const invalid: INodeExecutionData[] = [];
	const retryLater: INodeExecutionData[] = [];
	const reject = (index: number, errors: FieldIssue[], extra: IDataObject = {}) =>
		invalid.push({ json: { errors: errors as unknown as IDataObject[], ...extra, record: items[index].json }, pairedItem: { item: index } });

	// The records to map; the retry state of looped-back items is not part of them.
	const records: Array<ToResolve & { settings: Settings }> = [];
	for (let index = 0; index < items.length; index++) {
		const json = items[index].json;
		let settings: Settings;
		try {
			settings = settingsOf(index);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, { itemIndex: index });
			reject(index, [{ field: '', reason: (error as Error).message }]);
			continue;
		}
		const { recordField } = settings;
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
		const entity = settings.useEventSource && isEntityType(json.entity) ? json.entity : node.entity;
		records.push({ index, json, entity, settings, record: !recordField && RETRY_FIELD in record ? omitKey(record, RETRY_FIELD) : record });
	}

	let resolved: Map<number, ResolveResult> | undefined;
	if (resolution) {
		try {
			resolved = await resolveAll(this, nodeParameter, records, node.target!, reject);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
			for (const { index } of records) reject(index, [{ field: '', reason: (error as Error).message }]);
			return [mapped, invalid, retryLater];
		}
	}

	for (const { index, json, settings, record: input, entity } of records) {
		let record = input;
		let unifiedId: string | undefined;
		let dropped: FieldIssue[] = [];
		if (resolved && resolution) {
			const result = resolved.get(index);
			if (!result) continue; // rejected while resolving
			const settled = settle(result, json, resolution, node.target!);
			if ('invalid' in settled) {
				reject(index, settled.invalid, settled.extra);
				continue;
			}
			if ('retry' in settled) {
				retryLater.push({ json: settled.retry, pairedItem: { item: index } });
				continue;
			}
			({ record, unifiedId, dropped } = settled);
		}
		let result;
		try {
			result = settings.mappingFor(json).map(record);
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
		if (warnings.length && settings.warningsField) out[settings.warningsField] = warnings as unknown as IDataObject[];
		if (settings.recordField) {
			out = { ...json, [settings.recordField]: out };
			delete out[RETRY_FIELD];
		}
		// Unified CRM Upsert links what it writes to this id (and updates by it next time).
		if (unifiedId && (json.unifiedId === undefined || json.unifiedId === null || json.unifiedId === '')) out.unifiedId = unifiedId;
		const item: INodeExecutionData = { json: out, pairedItem: { item: index } };
		mapped.push(item);
		if (referencesAsUnified) toLink.push({ item, recordField: settings.recordField, entity, source: json.source });
	}
	if (toLink.length) {
		try {
			await linkReferences(this, nodeParameter, toLink, (item, reason) => {
				mapped.splice(mapped.indexOf(item), 1);
				const index = (item.pairedItem as { item: number }).item;
				reject(index, [{ field: 'source', reason, value: items[index].json.source }]);
			});
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
			for (const { item } of toLink) {
				const index = (item.pairedItem as { item: number }).item;
				if (mapped.includes(item)) mapped.splice(mapped.indexOf(item), 1);
				reject(index, [{ field: '', reason: (error as Error).message }]);
			}
		}
	}
	return [mapped, invalid, retryLater];
}

/** References As Unified IDs: each mapped record's reference ids replaced by unified ids (lib/sync/associations.ts), per entity. */
async function linkReferences(
	ctx: IExecuteFunctions,
	parameter: (name: string, fallback?: unknown) => unknown,
	toLink: Array<{ item: INodeExecutionData; recordField: string; entity: EntityType; source: unknown }>,
	reject: (item: INodeExecutionData, reason: string) => void,
): Promise<void> {
	const recordOf = (l: { item: INodeExecutionData; recordField: string }) => (l.recordField ? (l.item.json[l.recordField] as IDataObject) : l.item.json);
	// Most records name no other record: the store is not opened for them.
	const withReferences = toLink.filter((l) => REFERENCE_FIELDS[l.entity].some((spec) => spec.unifiedField && spec.field in (recordOf(l) ?? {})));
	if (!withReferences.length) return;
	const store = await openSyncStore(ctx, parameter);
	const byEntity = new Map<EntityType, Array<{ item: INodeExecutionData; recordField: string; source: CrmName }>>();
	for (const { item, recordField, entity, source } of withReferences) {
		if (!isCrmName(source)) {
			reject(item, `item field "source" must name the CRM the record comes from (to look up its references); got ${JSON.stringify(source)}`);
			continue;
		}
		byEntity.set(entity, [...(byEntity.get(entity) ?? []), { item, recordField, source }]);
	}
	for (const [entity, list] of byEntity) {
		const linked = await referencesToUnified(store, list.map((l) => ({ source: l.source, record: recordOf(l) })), entity);
		list.forEach((l, i) => {
			if (l.recordField) l.item.json = { ...l.item.json, [l.recordField]: linked[i] as IDataObject };
			else l.item.json = linked[i] as IDataObject;
		});
	}
}
