// Unified CRM Upsert's "From Item (Event Operation)": each item is written by the operation of
// the change it carries (CRM Sync Trigger items: create / update / restore → upsert, delete →
// delete, delete with `erase: true` (or operation erase) → GDPR erase, merge → merge). Items are grouped by operation and each group
// runs through the UpsertWriter. Target records are found through the cross-reference of the
// item's unified id; an entity without a match key (activities) is updated where it is linked
// in the target and created elsewhere. A lead its CRM reports converted is converted in the target
// (lead-conversion.ts). Also here: the opt-out guard of the upsert group (a synced email opt-out is
// never reverted by a change that did not touch it) and the state clean-up of an erasure.

import { consentKeys, guardConsent, isOptOut } from '../conflict/consent';
import { DEFAULT_CONSENT_FIELDS } from '../conflict/types';
import type { CrmConnector } from '../connectors';
import { defaultMapping } from '../mapping';
import { isCrmName, type CrmName, type EntityType, type UnifiedRecord } from '../model';
import type { StateStore } from '../state';
import { adoptInterrupted, createOnce, planCreates } from './create-once';
import { erasePersonEverywhere } from './erasure';
import { convertLeadCopies, isConvertedLead } from './lead-conversion';
import { UpsertWriter, type InputItem, type ItemResult, type WriteJob, type WriteOperationName } from './upsert-writer';

/** The operation parameter value. */
export const AUTO_OPERATION = 'auto';

/** An input item plus the event fields it carries (the top level of a CRM Sync Trigger item). */
export interface EventItem extends InputItem {
	event: Record<string, unknown>;
}

const ROUTES: Record<string, WriteOperationName> = { create: 'upsert', update: 'upsert', restore: 'upsert', delete: 'delete', erase: 'erase', merge: 'merge' };


export async function writeByOperation(
	job: Omit<WriteJob, 'operation'>,
	items: EventItem[],
	connector: () => CrmConnector,
	openStore: (() => Promise<StateStore>) | undefined,
): Promise<ItemResult[]> {
	const results: ItemResult[] = [];
	const groups = new Map<WriteOperationName, EventItem[]>();
	const conversions: EventItem[] = [];
	for (const item of items) {
		const operation = String(item.event.operation ?? '');
		if (ROUTES[operation] === 'upsert' && isConvertedLead(job.entity, item.record)) {
			conversions.push(item);
			continue;
		}
		const route = operation === 'delete' && item.event.erase === true ? 'erase' : ROUTES[operation];
		if (!route) {
			results.push(result(job, item, false, { error: `Unknown event operation ${JSON.stringify(item.event.operation)}: expected ${Object.keys(ROUTES).join(', ')}`, category: 'validation', code: 'OPERATION' }));
			continue;
		}
		groups.set(route, [...(groups.get(route) ?? []), item]);
	}
	const store = openStore && !job.dryRun && job.recordState ? await openStore() : undefined;
	// A change fanned out to several CRMs: the snapshot is shared by all of them (see unchangedAgainst).
	const run = (operation: WriteOperationName, group: InputItem[]) => new UpsertWriter({ ...job, operation, unchangedAgainst: 'nothing' }, connector, openStore).run(group);

	if (conversions.length) {
		if (job.dryRun) results.push(...conversions.map((item) => result(job, item, true, { status: 'dryRun', operation: 'convert' })));
		else results.push(...(await convertLeadCopies(job.crm, conversions.filter((item) => item.event.source !== job.crm), connector, store)));
		for (const item of conversions.filter((i) => i.event.source === job.crm)) results.push(result(job, item, true, { status: 'unchanged', operation: 'convert', reason: `converted in ${job.crm} itself` }));
	}
	const upserts = groups.get('upsert') ?? [];
	if (upserts.length) {
		const kept = store ? await keepOptOuts(job, upserts, store) : new Map<number, string>();
		// A dry run writes nothing (and has no credentials to build a connector with).
		const writes = job.dryRun || hasMatchKey(job, connector) ? [['upsert', upserts] as const] : await byLink(job, upserts, store);
		for (const [operation, group] of writes) {
			if (!group.length) continue;
			const written = operation === 'create' && store ? await createClaimed(job, group, store, connector, run) : await run(operation, group);
			for (const r of written) results.push(kept.has(r.index) ? { ...r, json: { ...r.json, consent: kept.get(r.index) } } : r);
		}
	}
	for (const operation of ['delete', 'erase'] as const) {
		const all = groups.get(operation) ?? [];
		if (!all.length) continue;
		// The source CRM itself (templates may write the resolved record back to it): already done there,
		// unless the Conflict Resolver found the record still there after a delete elsewhere (deleteInSource).
		const madeHere = (item: EventItem) => item.event.source === job.crm && item.event.deleteInSource !== true;
		const group = all.filter((item) => !madeHere(item));
		for (const item of all.filter(madeHere)) results.push(result(job, item, true, { status: 'absent', operation, reason: `${operation} made in ${job.crm} itself` }));
		// The writer finds each record's id in this CRM by its cross-reference, under the record's write
		// lock: a create of it still in flight here (a slow or retried call) is waited for and what it
		// made is deleted. A record linked nowhere here then was never synced to this CRM: absent.
		if (group.length) {
			const byIndex = new Map(group.map((item) => [item.index, item]));
			for (const r of await run(operation, group)) {
				const item = byIndex.get(r.index)!;
				const unlinked = store && r.json.code === 'MISSING_ID' && item.unifiedId && !item.record.crmId;
				results.push(unlinked ? result(job, item, true, { status: 'absent', operation, reason: `no linked record in ${job.crm}` }) : r);
			}
		}
		if (operation === 'erase' && store) await forgetErased(job.entity, all, store);
	}
	const allMerges = groups.get('merge') ?? [];
	const merges = allMerges.filter((item) => item.event.source !== job.crm);
	for (const item of allMerges.filter((i) => i.event.source === job.crm)) results.push(result(job, item, true, { status: 'unchanged', operation: 'merge', reason: `merged in ${job.crm} itself` }));
	if (merges.length) {
		const { ready, skipped } = store ? await mergeRequests(job, merges, store) : { ready: merges, skipped: [] };
		results.push(...skipped);
		if (ready.length) results.push(...(await run('merge', ready)));
	}
	return results.sort((a, b) => a.index - b.index);
}

function result(job: Omit<WriteJob, 'operation'>, item: InputItem, ok: boolean, json: Record<string, unknown>): ItemResult {
	return { index: item.index, ok, json: { ...json, crm: job.crm, entity: job.entity, operation: json.operation ?? AUTO_OPERATION, ...(item.unifiedId ? { unifiedId: item.unifiedId } : {}) } };
}

/** Can this CRM find existing records by the job's match key (activities have none)? */
function hasMatchKey(job: Omit<WriteJob, 'operation'>, connector: () => CrmConnector): boolean {
	const key = job.matchKey.trim();
	if (key === 'email' || key === 'phone') return connector().matchField(job.entity, key) !== undefined;
	return key !== '';
}

/** Entities without a match key: items linked in this CRM (cross-reference or crmId) are updated by id, the others created. */
async function byLink(job: Omit<WriteJob, 'operation'>, group: EventItem[], store: StateStore | undefined): Promise<Array<readonly [WriteOperationName, EventItem[]]>> {
	const ids = [...new Set(group.map((i) => i.unifiedId).filter((u): u is string => !!u))];
	const refs = store && ids.length ? await store.getCrossRefs(job.entity, ids) : undefined;
	const linked = (i: EventItem) => !!i.record.crmId || !!(i.unifiedId && refs?.get(i.unifiedId)?.ids[job.crm]);
	return [
		['update', group.filter(linked)],
		['create', group.filter((i) => !linked(i))],
	];
}

/**
 * Creates of records without a match key (deals, activities) under a claim (create-once.ts): a
 * create whose reply was lost is not made again by the record's next change, which would leave a
 * duplicate that nothing can find. The record it made is looked up by its name and linked;
 * without one clear candidate it is reported (INTERRUPTED_CREATE) until someone links it.
 */
async function createClaimed(
	job: Omit<WriteJob, 'operation'>,
	group: EventItem[],
	store: StateStore,
	connector: () => CrmConnector,
	run: (operation: WriteOperationName, group: InputItem[]) => Promise<ItemResult[]>,
): Promise<ItemResult[]> {
	const claimable = group.filter((item) => item.unifiedId);
	const plan = await planCreates(store, job.crm, job.entity, claimable);
	// The record an interrupted create made, found by its name, is linked and updated.
	const { adopted, interrupted } = await adoptInterrupted(store, connector(), job.crm, job.entity, claimable, plan.interrupted);
	const updates = [...plan.linked, ...adopted];
	return [
		...interrupted,
		...(updates.length ? await run('update', updates) : []),
		...(await createOnce(store, { run: (items: InputItem[]) => run('create', items) }, `sync to ${job.crm}`, job.crm, job.entity, plan.create)),
		...(await run('create', group.filter((item) => !item.unifiedId))),
	];
}

/**
 * GDPR erasure in the state store, for what the writer's erase steps did not reach: the source
 * record (erased in its own CRM) and the person's unified ids (see lib/sync/erasure.ts). Links in
 * other CRMs stay for their own upsert nodes, which erase the person there.
 */
async function forgetErased(entity: EntityType, group: EventItem[], store: StateStore): Promise<void> {
	const unifiedIds = [...new Set(group.map((i) => i.unifiedId).filter((u): u is string => !!u))];
	const records = group
		.filter((i) => isCrmName(i.event.source) && i.event.recordId !== undefined && i.event.recordId !== '')
		.map((i) => ({ crm: i.event.source as CrmName, recordId: String(i.event.recordId) }));
	if (unifiedIds.length || records.length) await erasePersonEverywhere(store, { entity, unifiedIds, records, includeLinked: false });
}

/** Merges: the survivor's record in this CRM (cross-reference) and the merged-away ones (from the event). */
async function mergeRequests(job: Omit<WriteJob, 'operation'>, group: EventItem[], store: StateStore): Promise<{ ready: InputItem[]; skipped: ItemResult[] }> {
	const refs = await store.getCrossRefs(job.entity, [...new Set(group.map((i) => i.unifiedId).filter((u): u is string => !!u))]);
	const ready: InputItem[] = [];
	const skipped: ItemResult[] = [];
	for (const item of group) {
		const masterId = item.unifiedId ? refs.get(item.unifiedId)?.ids[job.crm] : undefined;
		const byCrm = (item.event.mergedIdsByCrm ?? {}) as Partial<Record<CrmName, unknown>>;
		const merged = (Array.isArray(byCrm[job.crm]) ? (byCrm[job.crm] as unknown[]) : []).map(String).filter((id) => id !== masterId);
		if (!masterId || !merged.length) {
			const reason = !merged.length ? `no merged-away record in ${job.crm}` : `the surviving record is not linked in ${job.crm}`;
			skipped.push(result(job, item, true, { status: 'unchanged', operation: 'merge', reason }));
		} else ready.push({ index: item.index, unifiedId: item.unifiedId, record: { masterId, mergeIds: merged } });
	}
	return { ready, skipped };
}


/** Did the change this item carries touch consent `field` in its source CRM? Unknown changed fields (creates, full records): assume so. */
function sourceChanged(event: Record<string, unknown>, entity: EntityType, field: string): boolean {
	const changed = event.changedFields;
	if (!Array.isArray(changed)) return true;
	const source = event.source;
	if (typeof source !== 'string') return true;
	const keys = consentKeys(source as CrmName, entity, [field]);
	return changed.some((f) => typeof f === 'string' && keys.some((k) => f === k || f.startsWith(`${k}.`)));
}

/**
 * A synced opt-out (the snapshot says opted out, in any consent field) is only reverted by an
 * opt-in the source changed strictly after it (lib/conflict/consent.ts). Otherwise the item writes
 * the opt-out again instead of its own value (for example the full record of a CRM whose opt-out
 * field we cannot write, fetched because someone changed the name). Returns the items changed, with why.
 */
async function keepOptOuts(job: Omit<WriteJob, 'operation'>, items: EventItem[], store: StateStore): Promise<Map<number, string>> {
	const kept = new Map<number, string>();
	const ids = [...new Set(items.map((i) => i.unifiedId).filter((u): u is string => !!u))];
	if (!ids.length) return kept;
	const snapshots = await store.getSnapshots(job.entity, ids);
	for (const item of items) {
		const snapshot = item.unifiedId ? snapshots.get(item.unifiedId) : undefined;
		if (!snapshot || snapshot.deletedAt) continue;
		const optedOut = DEFAULT_CONSENT_FIELDS.filter((field) => isOptOut(snapshot.record[field]));
		if (!optedOut.length) continue;
		const incoming: UnifiedRecord = job.inputFormat === 'unified' ? item.record : defaultMapping('toUnified', job.crm, job.entity).map(item.record).record;
		const optInAt = Date.parse(String(item.event.occurredAt ?? ''));
		for (const field of optedOut) {
			const value = incoming[field];
			if (value === undefined || value === null || isOptOut(value)) continue;
			const optOutAt = Date.parse(snapshot.fieldModifiedAt[field] ?? snapshot.syncedAt);
			const decision = guardConsent({
				winner: 'source',
				sourceValue: value,
				targetValue: true,
				sourceTime: sourceChanged(item.event, job.entity, field) && Number.isFinite(optInAt) ? optInAt : undefined,
				targetTime: Number.isFinite(optOutAt) ? optOutAt : undefined,
				toleranceMs: 0,
			});
			if (decision.winner === 'source') continue;
			if (job.inputFormat === 'unified') item.record = { ...item.record, [field]: true };
			else {
				const record = { ...item.record };
				for (const key of consentKeys(job.crm, job.entity, [field])) delete record[key];
				item.record = { ...record, ...defaultMapping('fromUnified', job.crm, job.entity).map({ [field]: true }).record };
			}
			kept.set(item.index, [kept.get(item.index), `${decision.reason ?? 'consent: opt-out kept'} (${field})`].filter(Boolean).join('; '));
		}
	}
	return kept;
}
