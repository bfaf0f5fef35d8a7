// Creating a record in a CRM once, where nothing else stops a second create (bulk sync's records
// without an email to upsert on, the sync API's creates, Sync to CRMs' deals and activities, which
// have no match key): claim in the state store → create →
// cross-reference written (UpsertWriter) → claim released.
//
// A claim still there later means an earlier create got no definite answer: the run died, the CRM
// failed mid-way, or the state store failed after the CRM made the record and before it was
// linked. The record may exist in the CRM without a link, so creating it again could make a
// duplicate: it fails with INTERRUPTED_CREATE for someone to check. The claim is kept until the
// record is found linked (someone linked it), so it is reported again meanwhile rather than
// created twice. Claims are keyed by CRM, entity and unified id, not by job or request: every
// later create of the record must see them.

import { CrmError } from '../connectors/types';
import type { CrmName, EntityType } from '../model';
import type { StateStore } from '../state/types';
import type { InputItem, ItemResult, UpsertWriter } from './upsert-writer';

/** The state-store collection of the claims (bulk sync's, where claims were first kept). */
export const CLAIM_COLLECTION = 'bulk';

interface CreateClaim {
	/** Who claimed, e.g. "bulk job <id>". Claims written before there was `by` name the bulk job. */
	by?: string;
	jobId?: string;
	at: string;
}

export const claimKey = (target: CrmName, entity: EntityType, unifiedId: string) => `creating|${target}|${entity}|${unifiedId}`;

/** A CRM answer that says nothing was created (the request was refused), so the record can be created later. */
const DEFINITE_FAILURES: unknown[] = ['validation', 'auth', 'rate_limit'];

export interface CreatePlan {
	/** Linked in the target already: not to be created (an open claim of theirs is released). */
	linked: InputItem[];
	/** Neither linked nor claimed: create them with createOnce. */
	create: InputItem[];
	/** Claimed by an earlier create that got no definite answer: INTERRUPTED_CREATE. */
	interrupted: ItemResult[];
}

/** Splits records (each with a unified id) to create in `target` by their cross-references and claims. */
export async function planCreates(store: StateStore, target: CrmName, entity: EntityType, items: InputItem[]): Promise<CreatePlan> {
	const plan: CreatePlan = { linked: [], create: [], interrupted: [] };
	if (!items.length) return plan;
	const ids = items.map((item) => item.unifiedId!);
	const refs = await store.getCrossRefs(entity, ids);
	const claims = await store.kvGetMany<CreateClaim>(CLAIM_COLLECTION, ids.map((id) => claimKey(target, entity, id)));
	const settled: string[] = [];
	for (const item of items) {
		const key = claimKey(target, entity, item.unifiedId!);
		const claim = claims.get(key);
		if (refs.get(item.unifiedId!)?.ids[target]) {
			plan.linked.push(item);
			if (claim) settled.push(key);
		} else if (claim) {
			plan.interrupted.push({ index: item.index, ok: false, json: { error: interruptedReason(target, item.unifiedId!, key, claim), category: 'conflict', code: 'INTERRUPTED_CREATE' } });
		} else plan.create.push(item);
	}
	if (settled.length) await store.kvDeleteMany(CLAIM_COLLECTION, settled);
	return plan;
}

function interruptedReason(target: CrmName, unifiedId: string, key: string, claim: CreateClaim): string {
	return (
		`Not created again: an earlier create of this record in ${target} (${claim.by ?? `bulk job ${claim.jobId}`}, ${claim.at}) got no definite answer ` +
		`(the run stopped, or the CRM or the state store failed while it was being created), so it may exist in ${target} already without a link. ` +
		`Check ${target}: link that record to unified id ${unifiedId}, or delete it and the state-store entry "${CLAIM_COLLECTION}" / "${key}" to have it created.`
	);
}

/**
 * Creates records (from planCreates' `create`) under claims; releases the claims of those the CRM
 * answered definitely. `by` says who claims, for the INTERRUPTED_CREATE reason.
 */
export async function createOnce(store: StateStore, creates: Pick<UpsertWriter, 'run'>, by: string, target: CrmName, entity: EntityType, items: InputItem[]): Promise<ItemResult[]> {
	if (!items.length) return [];
	const keys = items.map((item) => claimKey(target, entity, item.unifiedId!));
	const claim: CreateClaim = { by, at: new Date().toISOString() };
	await store.kvPutMany(CLAIM_COLLECTION, keys.map((key) => ({ key, value: claim })));
	let results: ItemResult[];
	try {
		results = await creates.run(items);
	} catch (error) {
		// A whole-call refusal (e.g. auth) created nothing; anything else may have: those claims stay.
		if (error instanceof CrmError && DEFINITE_FAILURES.includes(error.category)) await store.kvDeleteMany(CLAIM_COLLECTION, keys);
		throw error;
	}
	const answered = new Set(results.filter((r) => r.ok || DEFINITE_FAILURES.includes(r.json.category)).map((r) => r.index));
	const released = items.flatMap((item, i) => (answered.has(item.index) ? [keys[i]] : []));
	if (released.length) await store.kvDeleteMany(CLAIM_COLLECTION, released);
	return results;
}
