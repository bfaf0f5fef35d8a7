// Sync API writing: requests of one entity and operation written to one CRM through the
// UpsertWriter, with ids resolved through the cross-reference, and the answer built from each
// CRM's result. Sync requests and bulk pages (bulk.ts) are written by the same function.

import type { CrmConnector } from '../../connectors';
import { textOf } from '../../mapping/transformers';
import { isPrototypeKey, type CrmName, type EntityType } from '../../model';
import type { StateStore } from '../../state';
import { createOnce, planCreates } from '../create-once';
import { UpsertWriter, type InputItem, type ItemResult, type WriteJob } from '../upsert-writer';
import { ID_KEYS, isObject, type IdRef, type SyncApiOperation, type SyncApiOptions, type SyncApiRequest } from './validate';

/** One CRM's result for one request (or one bulk record). */
export interface CrmResult {
	crm: CrmName;
	status: WriteStatus | 'error';
	/** The record's id in this CRM (the master's on merge); null when unknown. */
	id: string | null;
	error?: string;
	code?: string;
	/** deferred: why, and who writes the record instead. */
	reason?: string;
}

/** What a write did. deferred: another execution was writing the record to this CRM and writes the newest values. */
const WRITE_STATUSES = ['created', 'updated', 'unchanged', 'deleted', 'merged', 'deferred'] as const;
type WriteStatus = (typeof WRITE_STATUSES)[number];

export interface WriteDeps {
	crm: CrmName;
	/** The CRM's connector for requests with these options (trigger_workflows changes the change-source marker). */
	connector: (options: SyncApiOptions) => CrmConnector;
	/** The sync state store (cross-references, snapshots, echo fingerprints). Required: ids resolve through it. */
	store: () => Promise<StateStore>;
}

/**
 * Writes requests of one entity and operation (with the same options) to one CRM. Never throws for
 * a CRM or data problem: each request gets a result (status, id, error). Requests are written in
 * the CRM's batch sizes.
 */
export async function writeRequestsToCrm(
	deps: WriteDeps,
	entity: EntityType,
	operation: SyncApiOperation,
	options: SyncApiOptions,
	data: Array<Record<string, unknown>>,
	/** Per record (update): unchanged against the snapshot taken before the first CRM was written. */
	unchanged: boolean[] = [],
): Promise<CrmResult[]> {
	const { crm } = deps;
	const results: Array<CrmResult | undefined> = new Array(data.length).fill(undefined);
	const fail = (i: number, error: string, code: string) => (results[i] = { crm, status: 'error', id: null, error, code });
	let store: StateStore;
	let ids: ResolvedIds;
	try {
		store = await deps.store();
		ids = await resolveIds(store, entity, crm, data);
	} catch (error) {
		data.forEach((_, i) => fail(i, `state store: ${(error as Error).message}`, 'STATE_STORE'));
		return results as CrmResult[];
	}
	const inputs: InputItem[] = [];
	data.forEach((record, i) => {
		const unifiedId = ids.unifiedId(record.id as IdRef | undefined);
		const fields = Object.fromEntries(Object.entries(record).filter(([k]) => !ID_KEYS.includes(k) && !isPrototypeKey(k)));
		if (operation === 'create') {
			// Records linked in this CRM already are answered by createEach (it settles their claims).
			if (!unifiedId) fail(i, `a create needs the record's unified id (data.id; see withUnifiedId)`, 'MISSING_ID');
			else inputs.push({ index: i, record: fields, unifiedId });
			return;
		}
		if (operation === 'merge') {
			const masterId = ids.crmId(record.masterId as IdRef);
			const mergeIds = (record.mergedIds as IdRef[]).map((ref) => ids.crmId(ref));
			if (!masterId) fail(i, `the master ${describeRef(record.masterId as IdRef)} has no ${entity} in ${crm}`, 'MISSING_ID');
			else if (mergeIds.some((id) => !id)) fail(i, `merged ${(record.mergedIds as IdRef[]).filter((_, k) => !mergeIds[k]).map(describeRef).join(', ')} ha${mergeIds.filter((x) => !x).length > 1 ? 've' : 's'} no ${entity} in ${crm}`, 'MISSING_ID');
			else inputs.push({ index: i, record: { masterId, mergeIds }, unifiedId: ids.unifiedId(record.masterId as IdRef) });
			return;
		}
		const crmId = ids.crmId(record.id as IdRef);
		if (!crmId) fail(i, `${describeRef(record.id as IdRef)} has no ${entity} in ${crm}`, 'MISSING_ID');
		else if (operation === 'update' && unchanged[i] && !options.force_update) results[i] = { crm, status: 'unchanged', id: crmId };
		else inputs.push({ index: i, record: { ...fields, crmId }, unifiedId });
	});

	if (inputs.length) {
		const job: WriteJob = {
			crm,
			entity,
			operation,
			inputFormat: 'unified',
			matchKey: '',
			dryRun: false,
			unchangedAgainst: options.force_update ? 'nothing' : 'snapshot',
			// trigger_workflows: no echo fingerprints, so this package's sync workflows treat the change like any other.
			recordEchoes: !options.trigger_workflows,
			continueOnFail: true,
			recordState: true,
		};
		try {
			const writer = new UpsertWriter(job, () => deps.connector(options), async () => store);
			const written = operation === 'create' ? await createEach(store, writer, crm, entity, inputs, ids) : await writer.run(inputs);
			for (const result of written) results[result.index] = crmResultOf(crm, result);
		} catch (error) {
			// NotImplementedError (e.g. a merge the CRM does not offer) or a failure outside any batch.
			const message = error instanceof Error ? error.message : textOf(error);
			const code = error instanceof Error && error.name === 'NotImplementedError' ? 'NOT_SUPPORTED' : 'FAILED';
			for (const input of inputs) if (!results[input.index]) fail(input.index, message, code);
		}
	}
	return results.map((r, i) => r ?? { crm, status: 'error', id: null, error: `no result for record ${i}`, code: 'FAILED' });
}

/**
 * Creates under claims (lib/sync/create-once.ts): a create whose CRM answer or cross-reference
 * write failed keeps its claim, so a retry of the request fails with INTERRUPTED_CREATE instead
 * of creating the record a second time.
 */
async function createEach(store: StateStore, writer: UpsertWriter, crm: CrmName, entity: EntityType, inputs: InputItem[], ids: ResolvedIds): Promise<ItemResult[]> {
	const plan = await planCreates(store, crm, entity, inputs);
	const linked: ItemResult[] = plan.linked.map(({ index, unifiedId }) => ({
		index,
		ok: false,
		json: { error: `${entity} ${unifiedId} already exists in ${crm}${ids.linked(unifiedId!) ? ` as ${ids.linked(unifiedId!)}` : ''}; use update`, code: 'ALREADY_EXISTS' },
	}));
	return [...linked, ...plan.interrupted, ...(await createOnce(store, writer, 'a sync API create', crm, entity, plan.create))];
}

/** One writer result as the API reports it: the status the write had, never one guessed from the operation. */
export function crmResultOf(crm: CrmName, result: ItemResult): CrmResult {
	const json = result.json;
	const id = json.id === undefined || json.id === null ? null : textOf(json.id);
	if (!result.ok) return { crm, status: 'error', id: null, error: textOf(json.error), ...(json.code ? { code: textOf(json.code) } : {}) };
	if (!(WRITE_STATUSES as readonly unknown[]).includes(json.status)) return { crm, status: 'error', id, error: `the write ended with status ${textOf(json.status)}, which the sync API does not report`, code: 'FAILED' };
	return { crm, status: json.status as WriteStatus, id, ...(json.reason !== undefined ? { reason: textOf(json.reason) } : {}) };
}

interface ResolvedIds {
	/** The CRM id of an id reference in this CRM (unified ids through the cross-reference). */
	crmId(ref: IdRef | undefined): string | undefined;
	/** The unified id of a reference: itself, or the one a CRM id is linked to (so writes keep that link). */
	unifiedId(ref: IdRef | undefined): string | undefined;
	/** The CRM id a unified id is already linked to in this CRM. */
	linked(unifiedId: string): string | undefined;
}

async function resolveIds(store: StateStore, entity: EntityType, crm: CrmName, data: Array<Record<string, unknown>>): Promise<ResolvedIds> {
	const unified = new Set<string>();
	const crmIds = new Set<string>();
	for (const record of data) {
		for (const ref of [record.id, record.masterId, ...(Array.isArray(record.mergedIds) ? record.mergedIds : [])]) {
			if (typeof ref === 'string') unified.add(ref);
			else if (isObject(ref) && typeof ref[crm] === 'string') crmIds.add(ref[crm] as string);
		}
	}
	const refs = unified.size ? await store.getCrossRefs(entity, [...unified]) : new Map();
	const reverse = crmIds.size ? await store.findUnifiedIds(entity, crm, [...crmIds]) : new Map<string, string>();
	const linked = (unifiedId: string) => refs.get(unifiedId)?.ids[crm] as string | undefined;
	return {
		crmId: (ref) => (ref === undefined ? undefined : typeof ref === 'string' ? linked(ref) : ref[crm]),
		unifiedId: (ref) => (ref === undefined ? undefined : typeof ref === 'string' ? ref : ref[crm] ? reverse.get(ref[crm]!) : undefined),
		linked,
	};
}

function describeRef(ref: IdRef): string {
	return typeof ref === 'string' ? `unified id ${ref}` : `CRM ids ${JSON.stringify(ref)}`;
}

/**
 * For updates by unified id: does every field equal the synced snapshot? Taken once, before the
 * first CRM is written (the snapshot is shared by all CRMs, so the first write changes it).
 */
export async function unchangedFlags(store: StateStore, entity: EntityType, operation: SyncApiOperation, data: Array<Record<string, unknown>>): Promise<boolean[]> {
	if (operation !== 'update') return data.map(() => false);
	const ids = data.map((d) => (typeof d.id === 'string' ? d.id : undefined));
	const snapshots = await store.getSnapshots(entity, [...new Set(ids.filter((x): x is string => !!x))]);
	return data.map((record, i) => {
		const snapshot = ids[i] ? snapshots.get(ids[i]!) : undefined;
		if (!snapshot || snapshot.deletedAt) return false;
		return Object.entries(record).every(([k, v]) => ID_KEYS.includes(k) || JSON.stringify(v ?? null) === JSON.stringify(snapshot.record[k] ?? null));
	});
}

/**
 * merge: the merged records' unified ids become their CRM ids, taken before the first CRM merges
 * (a merge folds the merged unified id into the master's, so later CRMs could not resolve it).
 */
export async function resolveMergedIds(store: StateStore, entity: EntityType, data: Array<Record<string, unknown>>): Promise<Array<Record<string, unknown>>> {
	const unified = [...new Set(data.flatMap((d) => (Array.isArray(d.mergedIds) ? d.mergedIds : [])).filter((ref): ref is string => typeof ref === 'string'))];
	if (!unified.length) return data;
	const refs = await store.getCrossRefs(entity, unified);
	return data.map((d) => {
		if (!Array.isArray(d.mergedIds)) return d;
		return { ...d, mergedIds: d.mergedIds.map((ref) => (typeof ref === 'string' && refs.get(ref) ? { ...refs.get(ref)!.ids } : ref)) };
	});
}

/** What has to be read from the state store before the first CRM is written (see unchangedFlags, resolveMergedIds). */
export async function beforeWrites(store: StateStore, request: SyncApiRequest): Promise<SyncApiRequest> {
	if (request.operation === 'merge') return { ...request, data: (await resolveMergedIds(store, request.entity_type, [request.data]))[0] };
	if (request.operation === 'update') return { ...request, unchanged: (await unchangedFlags(store, request.entity_type, request.operation, [request.data]))[0] };
	return request;
}

/** The answer to a sync request: the unified id and each CRM's result. */
export function syncResponse(request: SyncApiRequest, results: CrmResult[]): Record<string, unknown> {
	const failed = results.filter((r) => r.status === 'error').length;
	return {
		ok: failed === 0,
		status: failed === 0 ? 'ok' : failed === results.length ? 'failed' : 'partial',
		entity_type: request.entity_type,
		operation: request.operation,
		id: idOfRequest(request),
		results,
	};
}

function idOfRequest(request: SyncApiRequest): unknown {
	return request.operation === 'merge' ? (request.data.masterId ?? null) : (request.data.id ?? null);
}
