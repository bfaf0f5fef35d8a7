// Reference ids (an activity's contacts/deals/accounts, a contact's account, ...) are CRM-local:
// before a unified record is written to a target CRM, each one is translated through the
// cross-reference in the state store: source CRM id → unified id → target CRM id.
//
// A reference whose record is not in the target yet (the contact arrives later) is "missing":
// the caller retries the item until the link exists, within an overall limit (see retryDecision).
// Owner ids are never copied between CRMs (users are not cross-referenced): they are removed.
// Framework-free: the Field Mapper node is a thin shell over this.

import type { CrmName, EntityType, UnifiedRecord } from '../model';
import { syncIdentity } from '../state/identity';
import type { StateStore } from '../state/types';

/** One unified field holding ids of records of another entity. */
export interface ReferenceField {
	field: string;
	entity: EntityType;
	/** An array of ids (activity links) rather than one id. */
	list: boolean;
	/**
	 * The field holding the same reference as unified ids (referencesToUnified), which compare
	 * across CRMs: what the Conflict Resolver and the synced state keep.
	 */
	unifiedField?: string;
}

/** The reference fields of each unified entity (see lib/mapping/MAPPING.md, "Reference ids"). */
export const REFERENCE_FIELDS: Record<EntityType, ReferenceField[]> = {
	contact: [{ field: 'accountId', entity: 'account', list: false, unifiedField: 'accountUnifiedId' }],
	lead: [
		{ field: 'accountId', entity: 'account', list: false },
		{ field: 'contactId', entity: 'contact', list: false },
		// What a converted lead became in its CRM (lib/sync/lead-conversion.ts).
		{ field: 'convertedContactId', entity: 'contact', list: false, unifiedField: 'convertedContactUnifiedId' },
		{ field: 'convertedAccountId', entity: 'account', list: false, unifiedField: 'convertedAccountUnifiedId' },
	],
	account: [],
	opportunity: [
		{ field: 'accountId', entity: 'account', list: false, unifiedField: 'accountUnifiedId' },
		{ field: 'contactId', entity: 'contact', list: false, unifiedField: 'contactUnifiedId' },
	],
	activity: [
		{ field: 'contactIds', entity: 'contact', list: true },
		{ field: 'dealIds', entity: 'opportunity', list: true },
		{ field: 'accountIds', entity: 'account', list: true },
	],
};

/** CRM users are not synced, so an owner id of one CRM means nothing in another. */
export const OWNER_FIELD = 'ownerId';

export interface ResolveInput {
	/** The CRM the record (and its reference ids) comes from. */
	source: CrmName;
	/** The record's own id in the source CRM, when known (sync events: recordId). */
	recordId?: string;
	/** The unified record; not modified. */
	record: UnifiedRecord;
}

/** A reference id that has no record in the target CRM (yet). */
export interface MissingReference {
	field: string;
	entity: EntityType;
	/** The id in the source CRM (for a reference held as a unified id: that id). */
	sourceId: string;
	/** The unified id it is linked to, when it is linked at all. */
	unifiedId?: string;
}

export interface ResolveResult {
	/** The record with reference ids translated to the target's; missing ones and the owner removed. */
	record: UnifiedRecord;
	/** The record's own unified id (linked, or the default form), when its source id is known. */
	unifiedId?: string;
	missing: MissingReference[];
}

export interface ResolveOptions {
	entity: EntityType;
	target: CrmName;
}

function idsOf(value: unknown): string[] {
	const list = Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value];
	return list.filter((v) => (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))).map(String);
}

/**
 * Translates the reference ids of a batch of unified records into the target CRM's ids. Reads
 * only: one findUnifiedIds and one getCrossRefs per (source CRM, referenced entity) in the batch.
 */
export async function resolveReferences(store: StateStore, inputs: ResolveInput[], options: ResolveOptions): Promise<ResolveResult[]> {
	const { entity, target } = options;
	const specs = REFERENCE_FIELDS[entity];

	// Which ids of which (source, entity) the batch needs, including the records' own ids.
	const wanted = new Map<string, { source: CrmName; entity: EntityType; ids: Set<string> }>();
	const want = (source: CrmName, refEntity: EntityType, id: string) => {
		const key = `${source}|${refEntity}`;
		let group = wanted.get(key);
		if (!group) wanted.set(key, (group = { source, entity: refEntity, ids: new Set() }));
		group.ids.add(id);
	};
	for (const input of inputs) {
		if (input.recordId) want(input.source, entity, input.recordId);
		if (input.source === target) continue;
		for (const spec of specs) for (const id of idsOf(input.record[spec.field])) want(input.source, spec.entity, id);
	}
	// References held as unified ids (referencesToUnified): unified id → target id, from any source.
	const byUnified = await targetIdsOfUnified(store, inputs.map((i) => i.record), specs, target);

	// source id → unified id (linked, else the default form); unified id → target id.
	const unifiedOf = new Map<string, Map<string, string>>();
	const targetOf = new Map<string, Map<string, string>>();
	const linked = new Map<string, Set<string>>();
	for (const [key, group] of wanted) {
		const ids = [...group.ids];
		const found = await store.findUnifiedIds(group.entity, group.source, ids);
		const unified = new Map<string, string>();
		for (const id of ids) unified.set(id, found.get(id) ?? syncIdentity(group.source, id));
		unifiedOf.set(key, unified);
		linked.set(key, new Set(found.keys()));
		const refs = await store.getCrossRefs(group.entity, [...new Set(unified.values())]);
		const targets = new Map<string, string>();
		for (const [id, unifiedId] of unified) {
			const targetId = refs.get(unifiedId)?.ids[target];
			if (targetId) targets.set(id, targetId);
		}
		targetOf.set(key, targets);
	}

	return inputs.map((input) => {
		const record: UnifiedRecord = { ...input.record };
		const missing: MissingReference[] = [];
		for (const spec of specs) {
			if (!spec.unifiedField || !(spec.unifiedField in record)) continue;
			const resolved: string[] = [];
			for (const unifiedId of idsOf(record[spec.unifiedField])) {
				const targetId = byUnified.get(spec.entity)?.get(unifiedId);
				if (targetId === null) continue; // deleted: nothing to link to
				if (targetId) resolved.push(targetId);
				else missing.push({ field: spec.unifiedField, entity: spec.entity, sourceId: unifiedId, unifiedId });
			}
			const cleared = idsOf(record[spec.unifiedField]).length === 0;
			delete record[spec.unifiedField];
			// The unified reference decides: a CRM-local id of the source beside it is not translated again.
			if (resolved.length) record[spec.field] = spec.list ? resolved : resolved[0];
			else if (cleared) record[spec.field] = spec.list ? [] : null;
			else delete record[spec.field];
		}
		if (input.source !== target) {
			delete record[OWNER_FIELD];
			for (const spec of specs) {
				if (!(spec.field in record) || (spec.unifiedField && spec.unifiedField in input.record)) continue;
				const key = `${input.source}|${spec.entity}`;
				const resolved: string[] = [];
				for (const id of idsOf(record[spec.field])) {
					const targetId = targetOf.get(key)?.get(id);
					if (targetId) resolved.push(targetId);
					else missing.push({ field: spec.field, entity: spec.entity, sourceId: id, ...(linked.get(key)?.has(id) ? { unifiedId: unifiedOf.get(key)!.get(id) } : {}) });
				}
				if (resolved.length === 0) delete record[spec.field];
				else record[spec.field] = spec.list ? resolved : resolved[0];
			}
		}
		const unifiedId = input.recordId ? unifiedOf.get(`${input.source}|${entity}`)?.get(input.recordId) : undefined;
		return { record, ...(unifiedId ? { unifiedId } : {}), missing };
	});
}

/**
 * Per referenced entity: unified id → `target` record id, for the unified references of `records`;
 * null for a referenced record that was deleted (its tombstone): a deal whose account is gone is
 * written without it, instead of naming a record the target no longer has.
 */
async function targetIdsOfUnified(store: StateStore, records: UnifiedRecord[], specs: ReferenceField[], target: CrmName): Promise<Map<EntityType, Map<string, string | null>>> {
	const wanted = new Map<EntityType, Set<string>>();
	for (const record of records) {
		for (const spec of specs) {
			if (!spec.unifiedField) continue;
			for (const id of idsOf(record[spec.unifiedField])) wanted.set(spec.entity, (wanted.get(spec.entity) ?? new Set()).add(id));
		}
	}
	const out = new Map<EntityType, Map<string, string | null>>();
	for (const [refEntity, ids] of wanted) {
		const refs = await store.getCrossRefs(refEntity, [...ids]);
		const snapshots = await store.getSnapshots(refEntity, [...ids]);
		const targets = new Map<string, string | null>();
		for (const id of ids) {
			const targetId = refs.get(id)?.ids[target];
			if (snapshots.get(id)?.deletedAt) targets.set(id, null);
			else if (targetId) targets.set(id, targetId);
		}
		out.set(refEntity, targets);
	}
	return out;
}

/**
 * A batch of unified records from their source CRMs with their references as unified ids: each
 * CRM-local reference id (accountId, …) is replaced by the unified id of the record it points to
 * (accountUnifiedId, …): its cross-reference, or the id it gets when it is first synced (so a
 * deal can name an account that is synced later). An empty reference is left out, so removing a
 * link in one CRM is not carried to the others. Unified ids are the same whichever CRM a change
 * comes from, so the Conflict Resolver compares them; the writer turns them into each target's ids.
 * One store read per (source CRM, referenced entity).
 */
export async function referencesToUnified(store: Pick<StateStore, 'findUnifiedIds'>, inputs: Array<{ source: CrmName; record: UnifiedRecord }>, entity: EntityType): Promise<UnifiedRecord[]> {
	const specs = REFERENCE_FIELDS[entity].filter((spec) => spec.unifiedField);
	const wanted = new Map<string, Set<string>>();
	for (const { source, record } of inputs) {
		for (const spec of specs) for (const id of idsOf(record[spec.field])) wanted.set(`${source}|${spec.entity}`, (wanted.get(`${source}|${spec.entity}`) ?? new Set()).add(id));
	}
	const linked = new Map<string, Map<string, string>>();
	for (const [key, ids] of wanted) {
		const [source, refEntity] = key.split('|') as [CrmName, EntityType];
		linked.set(key, await store.findUnifiedIds(refEntity, source, [...ids]));
	}
	return inputs.map(({ source, record }) => {
		const out: UnifiedRecord = { ...record };
		for (const spec of specs) {
			if (!(spec.field in out)) continue;
			const ids = idsOf(out[spec.field]).map((id) => linked.get(`${source}|${spec.entity}`)?.get(id) ?? syncIdentity(source, id));
			delete out[spec.field];
			// An empty reference says nothing: a target written while the account was not there yet
			// reports none, and must not clear the account everywhere.
			if (ids.length) out[spec.unifiedField!] = spec.list ? ids : ids[0];
		}
		return out;
	});
}

/** One-line reason for the missing references of a record, for the error output. */
export function describeMissing(missing: MissingReference[], source: CrmName, target: CrmName): string {
	return missing
		.map((m) =>
			m.unifiedId === m.sourceId
				? `${m.field}: ${m.entity} ${m.unifiedId} has no ${target} record (not linked to ${target})`
				: `${m.field}: ${source} ${m.entity} ${m.sourceId} has no ${target} record${m.unifiedId ? ` (unified id ${m.unifiedId} is not linked to ${target})` : ' (not cross-referenced)'}`,
		)
		.join('; ');
}

// ---------------------------------------------------------------- retrying

/** What a retried item carries between attempts. */
export interface RetryState {
	/** Attempts made so far (1 after the first). */
	attempts: number;
	/** ISO time of the first attempt. */
	firstSeenAt: string;
	/** Why the last attempt could not go on. */
	reason?: string;
}

export type RetryDecision = { action: 'retry'; state: RetryState } | { action: 'giveUp'; state: RetryState; reason: string };

/** Reads a RetryState from an item field; anything malformed counts as a first attempt. */
export function readRetryState(value: unknown): RetryState | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const v = value as Record<string, unknown>;
	const attempts = Number(v.attempts);
	const first = typeof v.firstSeenAt === 'string' ? Date.parse(v.firstSeenAt) : NaN;
	if (!Number.isInteger(attempts) || attempts < 1 || Number.isNaN(first)) return undefined;
	return { attempts, firstSeenAt: new Date(first).toISOString() };
}

/**
 * After a failed attempt: retry while the start is less than `limitMs` ago, else give up. The
 * limit is overall, whatever the wait between attempts. The start is the first attempt, or
 * `startedAt` (e.g. when the change happened in the source CRM) when that is earlier: then every
 * target of one change gives up by the same time, however long the others' retries ran first.
 */
export function retryDecision(previous: RetryState | undefined, reason: string, limitMs: number, now: number = Date.now(), startedAt?: string): RetryDecision {
	const started = startedAt === undefined ? NaN : Date.parse(startedAt);
	const firstSeenAt = previous?.firstSeenAt ?? new Date(Number.isNaN(started) ? now : Math.min(started, now)).toISOString();
	const state: RetryState = { attempts: (previous?.attempts ?? 0) + 1, firstSeenAt, reason };
	const elapsed = now - Date.parse(firstSeenAt);
	if (elapsed >= limitMs) {
		return { action: 'giveUp', state, reason: `${reason}; gave up after ${state.attempts} attempts over ${Math.round(elapsed / 1000)} s (limit ${Math.round(limitMs / 1000)} s)` };
	}
	return { action: 'retry', state };
}
