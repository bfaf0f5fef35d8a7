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
	conflictInputFromItem,
	enqueueForReview,
	normalizeOptions,
	passThrough,
	resolveAgainstState,
	resolveConflict,
	resolveQueuedReview,
	stateChangeFromItem,
	type ConflictOptions,
	type FieldRule,
	type Resolution,
	type ReviewDecision,
	type StrategyName,
} from '../../lib/conflict';
import type { CrmName, EntityType } from '../../lib/model';
import type { AuditEntry, StateStore } from '../../lib/state';
import { openSyncStore, redisStateCredential } from '../shared/stateStore';
import { conflictResolverProperties } from './description';

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

interface NodeOptions {
	auditValues?: boolean;
	clockSkewToleranceMs?: number;
	consentFields?: string;
	defaultEntity?: EntityType;
	ignoreFields?: string;
	statePath?: string;
}

/** What goes to the outputs: the resolution without its audit entry (that goes to the store). */
function resolutionJson(resolution: Resolution): IDataObject {
	const { audit: _audit, ...rest } = resolution;
	return rest as unknown as IDataObject;
}

export class ConflictResolver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Conflict Resolver',
		name: 'conflictResolver',
		icon: 'file:conflictResolver.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] === "resolveReview" ? "resolve review item" : $parameter["strategy"]}}',
		description: 'Decides what to write when a record changed in two CRMs: three-way merge, strategies, consent and delete rules, review queue',
		defaults: { name: 'Conflict Resolver' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Resolved', 'Needs Review', 'Unchanged', 'Correct Source'],
		credentials: [redisStateCredential],
		properties: conflictResolverProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as 'resolve' | 'resolveReview';
		const options = this.getNodeParameter('options', 0, {}) as NodeOptions;

		// The process's shared store of this configuration, opened on first use.
		let opened: Promise<StateStore> | undefined;
		const store = (): Promise<StateStore> =>
			(opened ??= openSyncStore(this, (name, fallback) => this.getNodeParameter(name, 0, fallback), { path: options.statePath, auditValues: options.auditValues === true }));

		if (operation === 'resolveReview') return [await resolveReviews.call(this, items, store), [], [], []];
		if ((this.getNodeParameter('against', 0, 'target') as string) === 'syncedState') return await resolveStateItems.call(this, items, options, store);
		return [...(await resolveItems.call(this, items, options, store)), [], []];
	}
}

function conflictOptions(ctx: IExecuteFunctions, options: NodeOptions): ConflictOptions {
	const strategy = ctx.getNodeParameter('strategy', 0) as StrategyName;
	const rules = (ctx.getNodeParameter('fieldRules', 0, {}) as { rule?: Array<{ field: string; winner: FieldRule }> }).rule ?? [];
	return {
		strategy,
		crmPriority: list(ctx.getNodeParameter('crmPriority', 0, '') as string).map((c) => c.toLowerCase()) as CrmName[],
		winningCrm: strategy === 'crm-wins' ? (ctx.getNodeParameter('winningCrm', 0) as CrmName) : undefined,
		fieldRules: Object.fromEntries(rules.filter((r) => r.field.trim() !== '').map((r) => [r.field.trim(), r.winner])),
		defaultFieldRule: strategy === 'field-level' ? (ctx.getNodeParameter('defaultFieldRule', 0, 'newest') as FieldRule) : undefined,
		consentFields: options.consentFields === undefined ? undefined : list(options.consentFields),
		deletePolicy: ctx.getNodeParameter('deletePolicy', 0, 'tombstone') as ConflictOptions['deletePolicy'],
		clockSkewToleranceMs: options.clockSkewToleranceMs,
		ignoreFields: options.ignoreFields === undefined ? undefined : list(options.ignoreFields),
	};
}

async function resolveItems(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	options: NodeOptions,
	store: () => Promise<StateStore>,
): Promise<INodeExecutionData[][]> {
	let settings: ConflictOptions;
	try {
		settings = conflictOptions(this, options);
		// Validate once up front: a configuration error fails the node, not each item.
		normalizeOptions(settings);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message);
	}

	const parsed = items.map((item) => {
		try {
			return conflictInputFromItem(item.json as Record<string, unknown>, options.defaultEntity);
		} catch (error) {
			return error as Error;
		}
	});

	// Bases missing from the items: one batched read per entity type.
	const wanted = new Map<EntityType, string[]>();
	for (const p of parsed) if (!(p instanceof Error) && p.needsBase) wanted.set(p.input.entity, [...(wanted.get(p.input.entity) ?? []), p.input.unifiedId!]);
	const bases = new Map<string, Awaited<ReturnType<StateStore['getSnapshots']>>>();
	if (wanted.size > 0) {
		try {
			const s = await store();
			for (const [entity, ids] of wanted) bases.set(entity, await s.getSnapshots(entity, ids));
		} catch (error) {
			throw new NodeOperationError(this.getNode(), `Could not read the last synced snapshots: ${(error as Error).message}`);
		}
	}

	const resolved: INodeExecutionData[] = [];
	const review: INodeExecutionData[] = [];
	const audit: AuditEntry[] = [];
	for (let index = 0; index < items.length; index++) {
		const pairedItem = { item: index };
		const p = parsed[index];
		try {
			if (p instanceof Error) throw p;
			const input = p.needsBase ? { ...p.input, base: bases.get(p.input.entity)?.get(p.input.unifiedId!) } : p.input;
			const resolution = resolveConflict(input, settings);
			const json: IDataObject = { ...(passThrough(items[index].json) as IDataObject), ...resolutionJson(resolution) };
			if (resolution.needsReview) {
				// Queued before it is emitted: an item that could not be queued is an error, not a success.
				const queued = await enqueueForReview(await store(), input, settings, resolution);
				review.push({ json: { ...json, reviewId: queued.id }, pairedItem });
			} else {
				resolved.push({ json, pairedItem });
			}
			audit.push(resolution.audit);
		} catch (error) {
			if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: index });
			resolved.push({ json: { ...(items[index].json as IDataObject), error: (error as Error).message }, pairedItem });
		}
	}
	if (audit.length > 0) {
		try {
			await (await store()).appendAudit(audit);
		} catch (error) {
			// Every decision must be audited; failing loudly beats emitting unaudited decisions.
			throw new NodeOperationError(this.getNode(), `Could not write the audit log: ${(error as Error).message}`);
		}
	}
	return [resolved, review];
}

function settingsOf(ctx: IExecuteFunctions, options: NodeOptions): ConflictOptions {
	try {
		const settings = conflictOptions(ctx, options);
		// Validate once up front: a configuration error fails the node, not each item.
		normalizeOptions(settings);
		return settings;
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message);
	}
}

/** Synced-state mode: each change merged into the state store's resolved truth (lib/conflict/against-state). */
async function resolveStateItems(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	options: NodeOptions,
	store: () => Promise<StateStore>,
): Promise<INodeExecutionData[][]> {
	const settings = settingsOf(this, options);
	const recordField = (this.getNodeParameter('recordField', 0, 'record') as string).trim();
	let opened: StateStore;
	try {
		opened = await store();
	} catch (error) {
		throw new NodeOperationError(this.getNode(), `Could not open the state store: ${(error as Error).message}`);
	}
	const resolved: INodeExecutionData[] = [];
	const review: INodeExecutionData[] = [];
	const unchanged: INodeExecutionData[] = [];
	const correct: INodeExecutionData[] = [];
	const audit: AuditEntry[] = [];
	for (let index = 0; index < items.length; index++) {
		const pairedItem = { item: index };
		const json = items[index].json;
		try {
			// Deletes, erasures and merges carry no field values to merge: on to the writers as they are.
			if (typeof json.operation === 'string' && PASSED_ON.includes(json.operation)) {
				resolved.push({ json: { ...json, action: json.operation }, pairedItem });
				continue;
			}
			const change = stateChangeFromItem(json as Record<string, unknown>, recordField, options.defaultEntity);
			const { audit: entry, reviewInput, merged, ...resolution } = await resolveAgainstState(opened, change, settings);
			audit.push(entry);
			const out: IDataObject = {
				...json,
				...(resolution as unknown as IDataObject),
				...(merged ? (recordField ? { [recordField]: merged } : merged) : {}),
				...(resolution.revision !== undefined ? { syncRevision: resolution.revision } : {}),
			};
			if (resolution.action === 'review' && reviewInput) {
				const queued = await enqueueForReview(opened, reviewInput, settings, { ...resolution, merged: null, targetPatch: {}, sourcePatch: {}, audit: entry } as unknown as Resolution);
				review.push({ json: { ...out, reviewId: queued.id }, pairedItem });
			} else if (resolution.action === 'delete') {
				// Tombstoned, yet still in the source: the delete is owed there (Unified CRM Upsert: deleteInSource).
				correct.push({ json: { ...out, operation: 'delete', deleteInSource: true }, pairedItem });
			} else {
				// Resolved: a new truth for the other CRMs; Correct Source: the source lost a field.
				const forTargets = resolution.action === 'create' || resolution.changed.length > 0;
				if (forTargets) resolved.push({ json: out, pairedItem });
				if (resolution.correctSource) correct.push({ json: out, pairedItem });
				if (!forTargets && !resolution.correctSource) unchanged.push({ json: out, pairedItem });
			}
		} catch (error) {
			if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: index });
			review.push({ json: { ...json, error: (error as Error).message }, pairedItem });
		}
	}
	if (audit.length > 0) {
		try {
			await opened.appendAudit(audit);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), `Could not write the audit log: ${(error as Error).message}`);
		}
	}
	return [resolved, review, unchanged, correct];
}

const PASSED_ON = ['delete', 'erase', 'merge'];

async function resolveReviews(this: IExecuteFunctions, items: INodeExecutionData[], store: () => Promise<StateStore>): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (let index = 0; index < items.length; index++) {
		const pairedItem = { item: index };
		try {
			const reviewId = String(this.getNodeParameter('reviewId', index, '') ?? '').trim();
			if (reviewId === '') throw new Error('Review Item ID is empty');
			const rawFields = this.getNodeParameter('reviewFields', index, '{}') as string | IDataObject;
			const fields = typeof rawFields === 'string' ? (rawFields.trim() === '' ? {} : JSON.parse(rawFields)) : rawFields;
			const decision: ReviewDecision = { winner: this.getNodeParameter('reviewWinner', index) as 'source' | 'target', fields };
			const { resolution } = await resolveQueuedReview(await store(), reviewId, decision);
			out.push({ json: { reviewId, ...resolutionJson(resolution) }, pairedItem });
		} catch (error) {
			if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: index });
			out.push({ json: { ...(items[index].json as IDataObject), error: (error as Error).message }, pairedItem });
		}
	}
	return out;
}
