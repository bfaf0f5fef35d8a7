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

import { CrmError, type CrmConnector } from '../connectors/types';
import { defaultMap } from '../mapping/default-map';
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

/**
 * Interrupted creates whose record can be found: the target's one record with the item's name
 * that no other record of ours is linked to is the one the interrupted create made. It is linked
 * (and its claim released), and the item goes on as an update; the others stay interrupted. Only
 * for entities with a name (deals, companies); an entity without one, or a CRM that cannot search
 * by it, leaves every item interrupted.
 */
export async function adoptInterrupted(
	store: StateStore,
	connector: CrmConnector,
	target: CrmName,
	entity: EntityType,
	items: InputItem[],
	interrupted: ItemResult[],
): Promise<{ adopted: InputItem[]; interrupted: ItemResult[] }> {
	const nameField = defaultMap(target, entity).fields.find((f) => f.unified === 'name' && f.write !== false && !f.virtual)?.crm;
	if (!nameField || !interrupted.length) return { adopted: [], interrupted };
	const byIndex = new Map(items.map((item) => [item.index, item]));
	const adopted: InputItem[] = [];
	const still: ItemResult[] = [];
	for (const result of interrupted) {
		const item = byIndex.get(result.index);
		const name = typeof item?.record.name === 'string' ? item.record.name.trim() : '';
		if (!item || !name) {
			still.push(result);
			continue;
		}
		let found;
		try {
			found = await connector.search(entity, nameField, [name]);
		} catch (error) {
			// A CRM that cannot search by the name (or fails now): left to a person, as before.
			still.push({ ...result, json: { ...result.json, error: `${String(result.json.error)} (looking it up by name failed: ${error instanceof Error ? error.message : String(error)})` } });
			continue;
		}
		const linked = await store.findUnifiedIds(entity, target, found.map((r) => r.id));
		const unlinked = found.filter((r) => !linked.has(r.id));
		if (unlinked.length !== 1) {
			still.push(unlinked.length ? { ...result, json: { ...result.json, error: `${String(result.json.error)} (${unlinked.length} unlinked records named "${name}" in ${target})` } } : result);
			continue;
		}
		await store.link({ entity, unifiedId: item.unifiedId!, crm: target, recordId: unlinked[0].id });
		await store.kvDeleteMany(CLAIM_COLLECTION, [claimKey(target, entity, item.unifiedId!)]);
		adopted.push(item);
	}
	return { adopted, interrupted: still };
}
