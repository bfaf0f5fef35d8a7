import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { createConnector, type CrmConnector } from '../../lib/connectors';
import {
	batchOutcomes,
	checkPhoneCountry,
	findDuplicatesInBatch,
	forgetMatchIndex,
	indexOutcomes,
	matchAgainstCrm,
	mergeCrmClusters,
	sharedMatchIndex,
	validateFsParameters,
	type MatchIndex,
	type MasterRule,
	type MatchOptions,
	type MatchOutcome,
	type ScoringMode,
	type SimpleWeights,
} from '../../lib/matching';
import type { CrmName, EntityType, UnifiedRecord } from '../../lib/model';
import { isCrmName, isEntityType } from '../../lib/model';
import { syncIdentities, type StateStore } from '../../lib/state';
import { openConfiguredStore, redisStateCredential, syncStoreConfig } from '../shared/stateStore';
import { credentialType } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { crmCredentials, duplicateDetectorProperties } from './description';

type Operation = 'findDuplicates' | 'updateIndex' | 'removeFromIndex';
type MatchAgainst = 'batch' | 'index' | 'crm';

interface NodeOptions {
	addUniqueToIndex?: boolean;
	crmField?: string;
	defaultCountry?: string;
	gmailFolding?: boolean;
	masterRule?: MasterRule;
	maxBlockSize?: number;
	modifiedField?: string;
	preferredCrm?: string;
	recordField?: string;
	statePath?: string;
}

export class DuplicateDetector implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Duplicate Detector',
		name: 'duplicateDetector',
		icon: 'file:duplicateDetector.svg',
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: '={{$parameter["operation"] === "findDuplicates" ? "against " + $parameter["matchAgainst"] : $parameter["operation"]}}',
		description: 'Finds duplicate contacts within a batch or against the records already synced: normalisation, blocking, fuzzy scoring, clusters',
		defaults: { name: 'Duplicate Detector' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Unique', 'Duplicates'],
		credentials: [...crmCredentials, redisStateCredential],
		properties: duplicateDetectorProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as Operation;
		const options = this.getNodeParameter('options', 0, {}) as NodeOptions;
		const matchAgainst = operation === 'findDuplicates' ? (this.getNodeParameter('matchAgainst', 0) as MatchAgainst) : 'index';

		if (operation === 'findDuplicates' && matchAgainst !== 'crm' && (this.getNodeParameter('mergeInCrm', 0, false) as boolean)) {
			throw new NodeOperationError(this.getNode(), 'Merge Duplicates in CRM works with Match Against "Target CRM" only: the other modes do not know which CRM their records live in.');
		}

		let matchOptions: MatchOptions;
		try {
			matchOptions = readMatchOptions(this, operation, options);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), (error as Error).message);
		}

		const recordField = options.recordField?.trim() ?? '';
		let recordError: Error | undefined;
		const recordOf = (item: INodeExecutionData, itemIndex: number): UnifiedRecord => {
			const record = recordField ? item.json[recordField] : item.json;
			if (!record || typeof record !== 'object' || Array.isArray(record)) {
				recordError = new NodeOperationError(this.getNode(), `The item has no record object in "${recordField}"`, { itemIndex });
				return {};
			}
			return record as UnifiedRecord;
		};
		const plainRecords = () => {
			const records = items.map(recordOf);
			if (recordError) throw recordError;
			return records;
		};

		if (operation === 'findDuplicates' && matchAgainst === 'crm') return findInCrm(this, items, matchOptions, plainRecords());

		if (operation === 'findDuplicates' && matchAgainst === 'batch') {
			const records = plainRecords();
			return splitOutputs(items, batchOutcomes(records, findDuplicatesInBatch(records, matchOptions)));
		}

		const config = await syncStoreConfig(this, (name, fallback) => this.getNodeParameter(name, 0, fallback), { path: options.statePath });
		const store = await openConfiguredStore(this.getNode(), config);
		// The loaded index stays in memory between executions (refreshed from the store's change log).
		const cacheKey = JSON.stringify({ config, matchOptions });
		try {
			const index = await sharedMatchIndex(cacheKey, store, matchOptions);
			const records = recordField ? await withSyncIdentities(store, items, plainRecords()) : plainRecords();
			let outputs: INodeExecutionData[][];
			if (operation === 'findDuplicates') {
				const outcomes = indexOutcomes(index, records, { addUnique: options.addUniqueToIndex !== false, master: matchOptions.master });
				outputs = splitOutputs(items, outcomes, (error, itemIndex) => {
					if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), error, { itemIndex });
					return { json: { ...items[itemIndex].json, error: error.message }, pairedItem: { item: itemIndex } };
				});
			} else {
				outputs = [maintainIndex(this, items, records, index, operation), []];
			}
			await index.flush(store);
			return outputs;
		} catch (error) {
			// Unflushed changes of a failed execution must not linger in the cached index.
			forgetMatchIndex(cacheKey);
			// A NodeOperationError passes through its constructor unchanged.
			throw new NodeOperationError(this.getNode(), error as Error, { description: 'Index of known records' });
		}
	}
}

/** Target CRM mode: lib/matching searches and scores; this maps results and errors to items. */
async function findInCrm(ctx: IExecuteFunctions, items: INodeExecutionData[], matchOptions: MatchOptions, records: UnifiedRecord[]): Promise<INodeExecutionData[][]> {
	const crm = ctx.getNodeParameter('crm', 0) as CrmName;
	const entity = ctx.getNodeParameter('crmEntity', 0, 'contact') as EntityType;
	const merge = ctx.getNodeParameter('mergeInCrm', 0, false) as boolean;
	const failed = (error: Error, itemIndex: number): INodeExecutionData => {
		if (!ctx.continueOnFail()) throw nodeError(ctx, error, itemIndex);
		return { json: { ...items[itemIndex].json, error: error.message }, pairedItem: { item: itemIndex } };
	};

	let connector: CrmConnector;
	try {
		connector = createConnector(crm, (await ctx.getCredentials(crmCredentialName(ctx, crm))) as IDataObject);
	} catch (error) {
		throw nodeError(ctx, error as Error);
	}
	const outcomes = await matchAgainstCrm(connector, records, { ...matchOptions, entity });
	const [unique, duplicates] = splitOutputs(items, outcomes, failed);
	if (!merge) return [unique, duplicates];

	const merges = await mergeCrmClusters(connector, entity, records, outcomes);
	const merged = duplicates.map((item) => {
		const itemIndex = (item.pairedItem as { item: number }).item;
		const result = merges[itemIndex];
		if (!(result instanceof Error)) return { ...item, json: { ...item.json, merged: result as unknown as IDataObject } };
		if (!ctx.continueOnFail()) throw nodeError(ctx, result, itemIndex);
		// The item stays a duplicate; the merge that failed is its error.
		return { ...item, json: { ...item.json, error: result.message } };
	});
	return [unique, merged];
}

/** The credential type for the chosen CRM and authentication (the Unified CRM Upsert node's types). */
const crmCredentialName = (ctx: IExecuteFunctions, crm: CrmName) => credentialType(ctx.getNode(), crm, (name) => ctx.getNodeParameter(name, 0));

/** CRM errors keep their HTTP details; others (NotImplementedError, bad input) say what is wrong. */
const nodeError = (ctx: IExecuteFunctions, error: Error, itemIndex?: number) => toNodeError(ctx.getNode(), error, { itemIndex });

function readMatchOptions(ctx: IExecuteFunctions, operation: Operation, options: NodeOptions): MatchOptions {
	const common: MatchOptions = {
		gmailFolding: options.gmailFolding === true,
		defaultCountry: checkPhoneCountry(options.defaultCountry?.trim() || 'US'),
		maxBlockSize: options.maxBlockSize,
		master: {
			rule: options.masterRule ?? 'mostComplete',
			preferredCrm: options.preferredCrm,
			crmField: options.crmField?.trim() || undefined,
			modifiedField: options.modifiedField?.trim() || undefined,
		},
	};
	if (operation !== 'findDuplicates') return common;
	const mode = ctx.getNodeParameter('scoringMode', 0) as ScoringMode;
	const threshold = ctx.getNodeParameter('threshold', 0) as number;
	if (mode === 'simple') {
		const weights = ctx.getNodeParameter('weights', 0, {}) as Partial<SimpleWeights>;
		return { ...common, mode, threshold, weights };
	}
	const raw = ctx.getNodeParameter('fsParameters', 0, '') as string | IDataObject;
	const given = typeof raw === 'string' ? raw.trim() : raw;
	if (given === '' || (typeof given === 'object' && Object.keys(given).length === 0)) return { ...common, mode, threshold };
	let parsed: unknown;
	try {
		parsed = typeof given === 'string' ? JSON.parse(given) : given;
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), `Fellegi-Sunter Parameters is not valid JSON: ${(error as Error).message}`);
	}
	return { ...common, mode, threshold, fsParameters: validateFsParameters(parsed) };
}

/** Unique items pass through unchanged (masters get `duplicateMaster`); duplicates get `duplicate`. */
function splitOutputs(
	items: INodeExecutionData[],
	outcomes: Array<MatchOutcome | Error>,
	onError?: (error: Error, itemIndex: number) => INodeExecutionData,
): INodeExecutionData[][] {
	const unique: INodeExecutionData[] = [];
	const duplicates: INodeExecutionData[] = [];
	outcomes.forEach((outcome, index) => {
		const pairedItem = { item: index };
		const json = items[index].json;
		if (outcome instanceof Error) {
			if (!onError) throw outcome;
			unique.push(onError(outcome, index));
		} else if (outcome.kind === 'unique') {
			unique.push({ json: outcome.masterOf ? { ...json, duplicateMaster: outcome.masterOf as unknown as IDataObject } : json, pairedItem });
		} else {
			const duplicate: IDataObject = { ...(outcome as unknown as IDataObject) };
			delete duplicate.kind;
			duplicates.push({ json: { ...json, duplicate }, pairedItem });
		}
	});
	return [unique, duplicates];
}

/**
 * Change events (source + recordId on the item) are indexed under their unified ID (the
 * cross-reference, or the ID a first sync gives them), the same identity the Conflict Resolver
 * uses: one contact arriving from five CRMs is one record of the index, not five duplicates.
 */
async function withSyncIdentities(store: StateStore, items: INodeExecutionData[], records: UnifiedRecord[]): Promise<UnifiedRecord[]> {
	const wanted = new Map<string, string[]>();
	const keyOf = (json: IDataObject) => {
		const entity = json.entity ?? 'contact';
		if (!isCrmName(json.source) || !isEntityType(entity) || json.recordId === undefined || json.recordId === null || json.recordId === '') return undefined;
		return { group: `${entity}|${json.source}`, entity, crm: json.source, recordId: String(json.recordId) };
	};
	for (const item of items) {
		const key = keyOf(item.json);
		if (key) wanted.set(key.group, [...(wanted.get(key.group) ?? []), key.recordId]);
	}
	const found = new Map<string, Map<string, { unifiedId: string }>>();
	for (const [group, ids] of wanted) {
		const [entity, crm] = group.split('|') as [EntityType, CrmName];
		found.set(group, await syncIdentities(store, entity, crm, ids));
	}
	return records.map((record, i) => {
		const json = items[i].json;
		const key = keyOf(json);
		const unifiedId = json.unifiedId ?? (key ? found.get(key.group)?.get(key.recordId)?.unifiedId : undefined);
		return unifiedId === undefined || unifiedId === null || unifiedId === '' ? record : { ...record, id: String(unifiedId) };
	});
}

function maintainIndex(ctx: IExecuteFunctions, items: INodeExecutionData[], records: UnifiedRecord[], index: MatchIndex, operation: 'updateIndex' | 'removeFromIndex'): INodeExecutionData[] {
	return items.map((item, itemIndex) => {
		const pairedItem = { item: itemIndex };
		try {
			const id = records[itemIndex].id;
			if ((typeof id !== 'string' && typeof id !== 'number') || String(id).trim() === '') {
				throw new Error('The item has no "id": only records with an ID can be kept in the index');
			}
			if (operation === 'updateIndex') {
				index.upsert(records[itemIndex]);
				return { json: { ...item.json, indexed: true }, pairedItem };
			}
			return { json: { ...item.json, removedFromIndex: index.remove(String(id)) }, pairedItem };
		} catch (error) {
			if (!ctx.continueOnFail()) throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
			return { json: { ...item.json, error: (error as Error).message }, pairedItem };
		}
	});
}
