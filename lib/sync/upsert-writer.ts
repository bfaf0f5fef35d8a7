// What the Unified CRM Upsert node does, without n8n: map input records to CRM fields, route them
// (cross-reference → update by id; otherwise the match key), write in batches through a
// CrmConnector, then record cross-references, synced snapshots and echo fingerprints in the
// StateStore. Framework-free: the Unified CRM Upsert node is a thin shell over it.

import type { CrmConnector, CrmFields, WriteOutcome } from '../connectors';
import { CrmError, failAll, isNotFound, isUnansweredOutcome, NotImplementedError } from '../connectors';
import { isUnanswered } from '../http';
import { defaultMapping, fromUnifiedWithMetadata, METADATA_ENTITIES, toUnifiedWithMetadata, type CrmMetadata, type MapResult } from '../mapping';
import type { CrmName, EntityType, UnifiedRecord } from '../model';
import { echoFingerprint, forgetHeld, holdsAll, LockTimeoutError, markHeld, syncIdentity, withLocks, type CrossRefLink, type EchoFingerprint, type Snapshot, type StateStore } from '../state';
import { ACCOUNT_MATCH_KEY, findExistingAccounts } from './account-match';
import { REFERENCE_FIELDS, resolveReferences } from './associations';
import { crmMetadataKnowing, type MetadataSettings } from './crm-metadata';
import { erasePersonEverywhere } from './erasure';

export type WriteOperationName = 'upsert' | 'create' | 'update' | 'delete' | 'erase' | 'merge';

export interface WriteJob {
	crm: CrmName;
	entity: EntityType;
	operation: WriteOperationName;
	/** unified: records in the unified model (mapped with lib/mapping); crm: the CRM's own field names. */
	inputFormat: 'unified' | 'crm';
	/** upsert: a unified field (email, phone, an external-id field) or, for raw input, a CRM field. */
	matchKey: string;
	dryRun: boolean;
	/** Records per API call; capped at the connector's maximum. */
	batchSize?: number;
	/** 0/undefined = no limit; later items are reported as skipped. */
	maxRecords?: number;
	/**
	 * What an upsert compares a record with to skip it as unchanged:
	 * - 'snapshot': the synced snapshot, the values last written for the record. Right when each
	 *   record goes to this one CRM (bulk sync, a plain upsert).
	 * - 'nothing': always write. For Force Overwrite, and for a change fanned out to several CRMs
	 *   (route-by-operation): the snapshot is shared by all CRMs, so the first target's write
	 *   would make it equal for the others.
	 * Records whose snapshot is the resolved truth (Conflict Resolver, synced-state mode) are
	 * compared with what this CRM is known to hold (Snapshot.held, per CRM) in either case.
	 */
	unchangedAgainst: 'snapshot' | 'nothing';
	/**
	 * Record echo fingerprints of the writes, so that this package's triggers drop the CRMs'
	 * reports of them. False: the triggers see the change like any other (Sync API trigger_workflows).
	 */
	recordEchoes: boolean;
	/** Whole-call failures become per-item errors instead of throwing. */
	continueOnFail: boolean;
	/** Keep cross-references, snapshots and echo fingerprints. */
	recordState: boolean;
	/** Stage overrides and default owner of this CRM, for entities mapped with its metadata (metadataMapped). */
	metadata?: MetadataSettings;
}

export interface InputItem {
	/** Index of the n8n item (pairedItem). */
	index: number;
	record: Record<string, unknown>;
	/** Unified id of the record, when the caller knows it (item.unifiedId or record.unifiedId). */
	unifiedId?: string;
}

export interface ItemResult {
	index: number;
	ok: boolean;
	json: Record<string, unknown>;
}

/** Records handed at once to a connector whose CRM has no batch endpoints (a bulk page). */
const UNBATCHED_CALL_RECORDS = 1000;

/** Rounds a lock holder writes a record whose resolved truth changed during its previous write. */
const LATEST_WRITE_ROUNDS = 4;
/** A CRM write can retry for minutes: the lock is renewed while held; a waiter gives up after a minute. */
const WRITE_LOCK = { ttlMs: 60_000, waitMs: 60_000 };

/** How long echo fingerprints of our writes are kept (a CRM webhook or poll arrives well within it). */
export const ECHO_TTL_MS = 15 * 60_000;

interface Prepared {
	item: InputItem;
	/** CRM fields to write. */
	fields: CrmFields;
	/** Unified values written (snapshot, fingerprint); undefined when they cannot be derived. */
	unified?: UnifiedRecord;
	/** CRM id from the cross-reference or the record. */
	crmId?: string;
	/** Echo fingerprint values when they differ from `unified`: what the trigger reads back from `fields` (metadata-mapped records). */
	echo?: UnifiedRecord;
}

const ID_KEYS = ['unifiedId', 'crmId'];

export class UpsertWriter {
	/** The CRM's stages and users, for records mapped with them (loaded by run()). */
	private metadata?: CrmMetadata;

	constructor(
		private readonly job: WriteJob,
		private readonly connector: () => CrmConnector,
		private readonly store: (() => Promise<StateStore>) | undefined,
	) {}

	async run(items: InputItem[]): Promise<ItemResult[]> {
		const { job } = this;
		const results: ItemResult[] = [];
		const limit = job.maxRecords && job.maxRecords > 0 ? job.maxRecords : Infinity;
		const accepted: InputItem[] = [];
		for (const item of items) {
			if (accepted.length >= limit) results.push(this.fail(item, `Skipped: max records (${limit}) reached`, { skipped: true, code: 'MAX_RECORDS' }));
			else accepted.push(item);
		}
		if (metadataMapped(job) && accepted.length) {
			try {
				this.metadata = await crmMetadataKnowing(this.connector(), job.metadata, job.entity, accepted.map((item) => item.record), 'fromUnified');
			} catch (error) {
				if (error instanceof NotImplementedError || !job.continueOnFail) throw error;
				const reason = `Reading ${job.crm}'s stages and users failed: ${error instanceof Error ? error.message : String(error)}`;
				return sortByIndex([...results, ...accepted.map((item) => this.fail(item, reason, { category: error instanceof CrmError ? error.category : 'fatal' }))]);
			}
		}
		const prepared: Prepared[] = [];
		for (const item of accepted) {
			const p = this.prepare(item);
			if ('error' in p) results.push(p.error);
			else prepared.push(p);
		}
		if (job.dryRun) {
			for (const p of prepared) results.push({ index: p.item.index, ok: true, json: this.base(p, { status: 'dryRun', id: p.crmId ?? null, fields: p.fields }) });
			return sortByIndex(results);
		}
		const store = job.recordState && this.store ? await this.store() : undefined;
		if (store) await this.attachCrossRefs(store, prepared);
		const connector = this.connector();
		const perCall = connector.maxBatchSize(job.entity, job.operation === 'erase' ? 'delete' : job.operation);
		// A CRM without batch endpoints (Pipedrive) still gets many records per connector call, so that
		// it can read its list once instead of searching per record and write in parallel.
		const batchSize = Math.max(1, Math.min(job.batchSize || Infinity, perCall === 1 ? UNBATCHED_CALL_RECORDS : perCall));
		for (let start = 0; start < prepared.length; start += batchSize) {
			const batch = prepared.slice(start, start + batchSize);
			let batchResults: ItemResult[];
			try {
				batchResults = await this.writeBatch(connector, store, batch);
			} catch (error) {
				// Framework-free code: the node turns this into NodeApiError / NodeOperationError.
				if (error instanceof NotImplementedError || !this.job.continueOnFail) throw error;
				const message = error instanceof Error ? error.message : String(error);
				const category = error instanceof CrmError ? error.category : 'fatal';
				batchResults = batch.map((p) => this.fail(p.item, message, { category, code: error instanceof CrmError ? error.code : undefined }));
			}
			results.push(...batchResults);
		}
		return sortByIndex(results);
	}

	// ---- preparation ------------------------------------------------------------------------------

	private prepare(item: InputItem): Prepared | { error: ItemResult } {
		const { job } = this;
		const source = stripKeys(item.record, ID_KEYS);
		const recordCrmId = stringOrUndefined(item.record.crmId) ?? (job.inputFormat === 'crm' ? stringOrUndefined(item.record.id ?? item.record.Id) : undefined);
		if (job.operation === 'delete' || job.operation === 'erase' || job.operation === 'merge') {
			return { item, fields: {}, crmId: recordCrmId };
		}
		let fields: CrmFields;
		let unified: UnifiedRecord | undefined;
		let echo: UnifiedRecord | undefined;
		if (job.inputFormat === 'unified') {
			const mapped = this.mapFromUnified(stripKeys(source, ['id']));
			if (!mapped.valid) {
				return { error: this.fail(item, `Invalid record: ${(mapped.issues ?? []).map((i) => `${i.field} ${i.reason}`).join('; ')}`, { category: 'validation', code: 'MAPPING', issues: mapped.issues }) };
			}
			fields = mapped.record;
			unified = stripKeys(source, ['id']);
			if (this.metadata) echo = toUnifiedWithMetadata(job.entity, this.metadata, fields).record;
			// An external-id match key that the default map does not know is passed through as is.
			if (job.operation === 'upsert' && !isUnifiedKind(job.matchKey) && !matchesAccounts(job) && fields[job.matchKey] === undefined && source[job.matchKey] !== undefined) fields[job.matchKey] = source[job.matchKey];
		} else {
			fields = stripKeys(source, ['id', 'Id']);
			if (job.recordState) unified = defaultMapping('toUnified', job.crm, job.entity).map(fields).record;
		}
		return { item, fields, unified, crmId: recordCrmId, ...(echo ? { echo } : {}) };
	}

	/** Unified → this CRM: with the CRM's metadata when loaded (stages, owners), else the default map. */
	private mapFromUnified(record: UnifiedRecord): MapResult {
		return this.metadata ? fromUnifiedWithMetadata(this.job.entity, this.metadata, record) : defaultMapping('fromUnified', this.job.crm, this.job.entity).map(record);
	}

	/** Fills in CRM ids from the cross-reference for items that carry a unified id. */
	private async attachCrossRefs(store: StateStore, prepared: Prepared[]): Promise<void> {
		const ids = [...new Set(prepared.map((p) => p.item.unifiedId).filter((x): x is string => !!x))];
		if (!ids.length) return;
		const refs = await store.getCrossRefs(this.job.entity, ids);
		for (const p of prepared) {
			const ref = p.item.unifiedId ? refs.get(p.item.unifiedId) : undefined;
			if (!p.crmId && ref?.ids[this.job.crm]) p.crmId = ref.ids[this.job.crm];
		}
	}

	// ---- writing ----------------------------------------------------------------------------------

	private async writeBatch(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		switch (this.job.operation) {
			case 'upsert':
				return this.upsert(connector, store, batch);
			case 'create':
				return this.finishWrites(store, batch, await connector.create(this.job.entity, batch.map((p, ref) => ({ ref, fields: p.fields }))));
			case 'update':
				return this.update(connector, store, batch);
			case 'delete':
			case 'erase':
				return this.remove(connector, store, batch);
			case 'merge':
				return this.merge(connector, store, batch);
		}
	}

	private async upsert(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		const { job } = this;
		const results: ItemResult[] = [];
		const snapshots = store ? await store.getSnapshots(job.entity, batch.map((p) => p.item.unifiedId).filter((x): x is string => !!x)) : new Map<string, Snapshot>();
		const byId: Prepared[] = [];
		const byKey: Prepared[] = [];
		const latest: Prepared[] = [];
		for (const p of batch) {
			const snapshot = p.item.unifiedId ? snapshots.get(p.item.unifiedId) : undefined;
			if (store && isResolvedTruth(snapshot)) {
				latest.push(p);
				continue;
			}
			if (store && snapshot?.deletedAt && snapshot.revision !== undefined) {
				// Resolved, then deleted (tombstone) before this write: writing by key would bring it back.
				results.push(this.fail(p.item, `The synced record was deleted (in ${snapshot.deletedBy ?? 'a CRM'} at ${snapshot.deletedAt}) after this change was resolved; not re-created`, { category: 'conflict', code: 'STATE_CHANGED' }));
				continue;
			}
			if (job.unchangedAgainst === 'snapshot' && p.crmId && snapshot && !snapshot.deletedAt && p.unified && sameAsSnapshot(p.unified, snapshot.record)) {
				results.push({ index: p.item.index, ok: true, json: this.base(p, { status: 'unchanged', id: p.crmId }) });
				continue;
			}
			(p.crmId ? byId : byKey).push(p);
		}
		const outcomes = [
			...(byId.length ? await connector.update(job.entity, byId.map((p, ref) => ({ ref, id: p.crmId!, fields: p.fields }))) : []),
			...(byKey.length ? await this.writeByKey(connector, byKey, byId.length) : []),
		];
		results.push(...(await this.finishWrites(store, [...byId, ...byKey], outcomes, snapshots)));
		if (latest.length) results.push(...(await this.upsertLatest(connector, store!, latest)));
		return results;
	}

	/**
	 * Records whose snapshot is the resolved truth (Conflict Resolver, synced-state mode): under a
	 * lock per (record, CRM), re-read the snapshot and write its values as they are now, so of two
	 * executions writing one record to this CRM the last one always writes the newest truth. A CRM
	 * that already holds every resolved value is not written (no echo, no loop). A write can take
	 * minutes while the CRM fails and is retried: a truth committed meanwhile is written by the lock
	 * holder in another round, so an execution that cannot get the lock in time leaves it to the holder.
	 */
	private async upsertLatest(connector: CrmConnector, store: StateStore, batch: Prepared[]): Promise<ItemResult[]> {
		const { job } = this;
		const locks = batch.map((p) => this.writeLock(p.item.unifiedId!));
		try {
			return await withLocks(store, locks, (lockLost) => this.writeLatestRounds(connector, store, batch, lockLost), WRITE_LOCK);
		} catch (error) {
			if (!(error instanceof LockTimeoutError)) throw error;
			return batch.map((p) => ({ index: p.item.index, ok: true, json: this.base(p, { status: 'deferred', id: p.crmId ?? null, reason: `another execution is writing this record to ${job.crm} and writes the newest values when its write ends` }) }));
		}
	}

	/** `lockLost` aborts when a lock could not be renewed: another holder may be writing now, so no further write starts. */
	private async writeLatestRounds(connector: CrmConnector, store: StateStore, batch: Prepared[], lockLost: AbortSignal): Promise<ItemResult[]> {
		const { job } = this;
		const results = new Map<Prepared, ItemResult>();
		let pending = batch;
		for (let round = 0; round < LATEST_WRITE_ROUNDS && pending.length > 0; round++) {
			lockLost.throwIfAborted();
			const fresh = await store.getSnapshots(job.entity, pending.map((p) => p.item.unifiedId!));
			const inTarget = await this.withTargetReferences(store, fresh);
			const byId: Prepared[] = [];
			const byKey: Prepared[] = [];
			const truths = new Map<Prepared, UnifiedRecord>();
			const revisions = new Map<Prepared, number | undefined>();
			for (const p of pending) {
				const snapshot = fresh.get(p.item.unifiedId!);
				if (!isResolvedTruth(snapshot)) {
					if (!results.has(p)) results.set(p, this.fail(p.item, 'The synced record was deleted or merged away while this write waited', { category: 'conflict', code: 'STATE_CHANGED' }));
					continue;
				}
				if (p.crmId && holdsAll(snapshot.held?.[job.crm]?.fields, snapshot.record)) {
					if (!results.has(p)) results.set(p, { index: p.item.index, ok: true, json: this.base(p, { status: 'unchanged', id: p.crmId, revision: snapshot.revision }) });
					continue;
				}
				this.overlayTruth(p, inTarget.get(p.item.unifiedId!) ?? snapshot.record);
				truths.set(p, snapshot.record);
				revisions.set(p, snapshot.revision);
				(p.crmId ? byId : byKey).push(p);
			}
			lockLost.throwIfAborted();
			const outcomes = [
				...(byId.length ? await connector.update(job.entity, byId.map((p, ref) => ({ ref, id: p.crmId!, fields: p.fields }))) : []),
				...(byKey.length ? await this.writeByKey(connector, byKey, byId.length) : []),
			];
			const written = [...byId, ...byKey];
			const superseded = await this.supersededWrites(store, written, outcomes, byId.length);
			const byIndex = new Map(written.map((p) => [p.item.index, p]));
			for (const result of [...superseded.failures, ...(await this.finishWrites(store, written, superseded.outcomes, fresh, truths))]) {
				const p = byIndex.get(result.index)!;
				results.set(p, result);
				if (result.ok && typeof result.json.id === 'string') p.crmId = result.json.id;
			}
			if (superseded.repairs.length) await this.upsertLatest(connector, store, superseded.repairs);
			// The truth may have moved on while the CRM took the write: another round writes it.
			const after = await store.getSnapshots(job.entity, written.map((p) => p.item.unifiedId!));
			pending = written.filter((p) => results.get(p)!.ok && isResolvedTruth(after.get(p.item.unifiedId!)) && after.get(p.item.unifiedId!)!.revision !== revisions.get(p));
		}
		return [...results.values()];
	}

	/**
	 * Writes by key that landed on a record another synced record has. A write retried after a
	 * timeout can land many seconds late: meanwhile the contact may have been deleted and created
	 * again, or its record in this CRM (made by this very write, whose reply was lost) synced as a
	 * record of its own. The record stays with the other unified id when that one's resolved truth
	 * is as new as this write's (or this one was deleted meanwhile): this write fails as a conflict
	 * (its echo is still recorded, so the CRM's report of it is not synced as a change) and the
	 * owner's truth is to be written back (`repairs`, items outside this batch). Otherwise the
	 * newer truth takes the record, as before.
	 */
	private async supersededWrites(store: StateStore, written: Prepared[], outcomes: WriteOutcome[], firstByKey: number): Promise<{ outcomes: WriteOutcome[]; failures: ItemResult[]; repairs: Prepared[] }> {
		const { job } = this;
		const none = { outcomes, failures: [], repairs: [] };
		const landed = outcomes.filter((o): o is WriteOutcome & { id: string } => o.ref >= firstByKey && o.status !== 'failed' && o.status !== 'unchanged');
		if (!landed.length) return none;
		const owners = await store.findUnifiedIds(job.entity, job.crm, landed.map((o) => o.id));
		const others = landed.filter((o) => owners.has(o.id) && owners.get(o.id) !== written[o.ref].item.unifiedId);
		if (!others.length) return none;
		const snapshots = await store.getSnapshots(job.entity, [...others.map((o) => owners.get(o.id)!), ...others.map((o) => written[o.ref].item.unifiedId!)]);
		const taken = new Set<WriteOutcome>();
		const failures: ItemResult[] = [];
		const repairs: Prepared[] = [];
		const echoes: EchoFingerprint[] = [];
		for (const o of others) {
			const owner = owners.get(o.id)!;
			const snapshot = snapshots.get(owner);
			const p = written[o.ref];
			const own = snapshots.get(p.item.unifiedId!);
			if (!isResolvedTruth(snapshot) || (isResolvedTruth(own) && lastChange(own) > lastChange(snapshot))) continue;
			taken.add(o);
			if (p.unified && job.recordEchoes) echoes.push(echoFingerprint(job.crm, job.entity, o.id, p.echo ?? p.unified));
			const message = `This write found ${job.crm} record ${o.id} by ${job.matchKey}, but that record is synced as unified id ${owner}, whose values are newer (or this record was deleted meanwhile): the record stays with ${owner}, and its values were written back`;
			failures.push(this.fail(p.item, message, { category: 'conflict', code: 'WRITE_SUPERSEDED', id: o.id }));
			await forgetHeld(store, job.entity, owner, job.crm);
			repairs.push({ item: { index: -1, record: {}, unifiedId: owner }, fields: {}, crmId: o.id });
		}
		if (echoes.length) await store.recordEchoes(echoes, ECHO_TTL_MS);
		return { outcomes: outcomes.filter((o) => !taken.has(o)), failures, repairs };
	}

	/**
	 * The resolved truths whose references are unified ids (accountUnifiedId, …), with those
	 * translated to this CRM's ids; a reference not in this CRM (yet) is left out.
	 */
	private async withTargetReferences(store: StateStore, snapshots: Map<string, Snapshot>): Promise<Map<string, UnifiedRecord>> {
		const { job } = this;
		const fields = REFERENCE_FIELDS[job.entity].flatMap((spec) => (spec.unifiedField ? [spec.unifiedField] : []));
		const withRefs = [...snapshots.values()].filter((snapshot) => fields.some((field) => field in snapshot.record));
		if (!withRefs.length) return new Map();
		const resolved = await resolveReferences(store, withRefs.map((snapshot) => ({ source: job.crm, record: snapshot.record })), { entity: job.entity, target: job.crm });
		return new Map(withRefs.map((snapshot, i) => [snapshot.unifiedId, resolved[i].record]));
	}

	/** The item's fields with the resolved values on top (default map; the item's extra fields stay). */
	private overlayTruth(p: Prepared, truth: UnifiedRecord): void {
		const { job } = this;
		p.fields = { ...p.fields, ...this.mapFromUnified(truth).record };
		p.unified = job.inputFormat === 'unified' ? { ...p.unified, ...truth } : defaultMapping('toUnified', job.crm, job.entity).map(p.fields).record;
		if (this.metadata) p.echo = toUnifiedWithMetadata(job.entity, this.metadata, p.fields).record;
	}

	private async update(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		const missing = batch.filter((p) => !p.crmId);
		const ready = batch.filter((p) => p.crmId);
		const results = missing.map((p) => this.fail(p.item, 'Update needs the CRM record id (crmId, or a unifiedId with a stored cross-reference)', { category: 'validation', code: 'MISSING_ID' }));
		const outcomes = await connector.update(this.job.entity, ready.map((p, ref) => ({ ref, id: p.crmId!, fields: p.fields })));
		return [...results, ...(await this.finishWrites(store, ready, outcomes))];
	}

	/** Records state for successful writes and turns outcomes into item results. */
	/** `truths`: items of resolved-truth records (their snapshot is not rewritten; the CRM is marked as holding the truth). */
	private async finishWrites(store: StateStore | undefined, batch: Prepared[], outcomes: WriteOutcome[], known?: Map<string, Snapshot>, truths?: Map<Prepared, UnifiedRecord>): Promise<ItemResult[]> {
		const { job } = this;
		const results: ItemResult[] = [];
		const links: CrossRefLink[] = [];
		const echoes: EchoFingerprint[] = [];
		const written: Array<{ unifiedId: string; values: UnifiedRecord }> = [];
		const held: Array<{ unifiedId: string; truth: UnifiedRecord }> = [];
		for (const outcome of outcomes) {
			const p = batch[outcome.ref];
			if (outcome.status === 'failed') {
				results.push(this.fail(p.item, outcome.message, { category: outcome.category, code: outcome.code, fields: outcome.fields }));
				continue;
			}
			const unifiedId = p.item.unifiedId ?? syncIdentity(job.crm, outcome.id);
			results.push({ index: p.item.index, ok: true, json: this.base(p, { status: outcome.status, id: outcome.id, unifiedId }) });
			if (!store || outcome.status === 'unchanged') continue;
			links.push({ entity: job.entity, unifiedId, crm: job.crm, recordId: outcome.id });
			const truth = truths?.get(p);
			if (truth) held.push({ unifiedId, truth });
			if (p.unified) {
				if (job.recordEchoes) echoes.push(echoFingerprint(job.crm, job.entity, outcome.id, p.echo ?? p.unified));
				if (!truth) written.push({ unifiedId, values: p.unified });
			}
		}
		if (store) {
			const previous = known ?? (await store.getSnapshots(job.entity, written.map((w) => w.unifiedId)));
			const now = new Date().toISOString();
			const snapshots: Snapshot[] = written.map((w) => ({
				entity: job.entity,
				unifiedId: w.unifiedId,
				record: { ...(previous.get(w.unifiedId)?.deletedAt ? {} : previous.get(w.unifiedId)?.record), ...w.values },
				fieldModifiedAt: { ...previous.get(w.unifiedId)?.fieldModifiedAt, ...Object.fromEntries(Object.keys(w.values).map((k) => [k, now])) },
				syncedAt: now,
			}));
			if (links.length) await store.linkMany(links);
			if (snapshots.length) await store.putSnapshots(snapshots);
			if (echoes.length) await store.recordEchoes(echoes, ECHO_TTL_MS);
			for (const h of held) await markHeld(store, job.entity, h.unifiedId, job.crm, h.truth);
		}
		return results;
	}

	/**
	 * delete and erase, under the same per-(record, CRM) locks as the writes of resolved truths: a
	 * delete that arrives while the record's write to this CRM is still in flight (retrying a
	 * failed or unanswered call) waits for it, then deletes what it wrote, found by the
	 * cross-reference the write left. Without the wait the delete finds no record yet and the
	 * write lands after it. A lock not freed in time does not hold the delete back.
	 */
	private async remove(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		const ids = batch.map((p) => p.item.unifiedId).filter((x): x is string => !!x);
		if (!store || !ids.length) return this.removeNow(connector, store, batch);
		const removeWithFreshRefs = async (lockLost?: AbortSignal) => {
			await this.attachCrossRefs(store, batch);
			lockLost?.throwIfAborted();
			return this.removeNow(connector, store, batch);
		};
		try {
			return await withLocks(store, ids.map((id) => this.writeLock(id)), removeWithFreshRefs, WRITE_LOCK);
		} catch (error) {
			if (!(error instanceof LockTimeoutError)) throw error;
			return removeWithFreshRefs();
		}
	}

	/** The lock held while a record is written to (or deleted from) this job's CRM. */
	private writeLock(unifiedId: string): string {
		return `write:${this.job.entity}:${unifiedId}:${this.job.crm}`;
	}

	/** delete, and erase (GDPR): delete in the CRM, then drop the record's personal data from the state store. */
	private async removeNow(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		const { job } = this;
		const results: ItemResult[] = [];
		const ready = batch.filter((p) => p.crmId);
		for (const p of batch) if (!p.crmId) results.push(this.fail(p.item, 'Delete needs the CRM record id (crmId, or a unifiedId with a stored cross-reference)', { category: 'validation', code: 'MISSING_ID' }));
		const outcomes = await connector.delete(job.entity, ready.map((p, ref) => ({ ref, id: p.crmId! })), { erase: job.operation === 'erase' });
		for (const outcome of outcomes) {
			const p = ready[outcome.ref];
			let note: string | undefined;
			if (outcome.status === 'failed') {
				if (!isNotFound(outcome)) {
					results.push(this.fail(p.item, outcome.message, { category: outcome.category, code: outcome.code }));
					continue;
				}
				// Not there (any more), e.g. deleted by an earlier attempt whose reply was lost: the delete is done.
				note = `already gone (${outcome.message})`;
			}
			const id = outcome.status === 'failed' ? p.crmId! : outcome.id;
			let unifiedId = p.item.unifiedId;
			if (store) {
				unifiedId ??= await store.findUnifiedId(job.entity, job.crm, id);
				if (job.operation === 'erase') {
					// GDPR erasure: nothing of the person stays in the store (snapshot, this record's link and
					// fingerprints, reviews, audit values, pages, duplicate index). Links in other CRMs stay
					// until their own erase steps have used them.
					const unifiedIds = unifiedId ? [unifiedId] : [];
					await erasePersonEverywhere(store, { entity: job.entity, unifiedIds, records: [{ crm: job.crm, recordId: id }], includeLinked: false });
				} else {
					await store.unlink(job.entity, job.crm, id);
					if (unifiedId) {
						// Tombstone, so an older update from another CRM does not re-create the record.
						const previous = await store.getSnapshot(job.entity, unifiedId);
						const now = new Date().toISOString();
						// The rest of the snapshot stays: a resolved truth's tombstone is still one (its revision).
						await store.putSnapshot({ ...previous, entity: job.entity, unifiedId, record: previous?.record ?? {}, fieldModifiedAt: previous?.fieldModifiedAt ?? {}, syncedAt: now, deletedAt: now, deletedBy: job.crm });
					}
				}
			}
			const status = job.operation === 'erase' ? 'erased' : 'deleted';
			results.push({ index: p.item.index, ok: true, json: this.base(p, { status, id, unifiedId: unifiedId ?? null, ...(note ? { note } : {}) }) });
		}
		return results;
	}

	private async merge(connector: CrmConnector, store: StateStore | undefined, batch: Prepared[]): Promise<ItemResult[]> {
		const { job } = this;
		const results: ItemResult[] = [];
		const requests: Array<{ ref: number; masterId: string; mergeIds: string[]; p: Prepared }> = [];
		for (const p of batch) {
			const masterId = stringOrUndefined(p.item.record.masterId) ?? p.crmId;
			const mergeIds = Array.isArray(p.item.record.mergeIds) ? p.item.record.mergeIds.map(String).filter(Boolean) : [];
			if (!masterId || !mergeIds.length) results.push(this.fail(p.item, 'Merge needs masterId and a non-empty mergeIds array (CRM record ids)', { category: 'validation', code: 'MISSING_ID' }));
			else requests.push({ ref: requests.length, masterId, mergeIds, p });
		}
		const outcomes = await connector.merge(job.entity, requests.map(({ ref, masterId, mergeIds }) => ({ ref, masterId, mergeIds })));
		for (const outcome of outcomes) {
			const { p, masterId, mergeIds } = requests[outcome.ref];
			if (outcome.status === 'failed') {
				results.push(this.fail(p.item, outcome.message, { category: outcome.category, code: outcome.code }));
				continue;
			}
			let survivor: string | undefined;
			if (store) {
				survivor = (await store.findUnifiedId(job.entity, job.crm, masterId)) ?? p.item.unifiedId;
				for (const loser of mergeIds) {
					const loserUnified = await store.findUnifiedId(job.entity, job.crm, loser);
					await store.unlink(job.entity, job.crm, loser);
					if (survivor && loserUnified && loserUnified !== survivor) await store.mergeUnifiedIds(job.entity, survivor, loserUnified);
				}
			}
			results.push({ index: p.item.index, ok: true, json: this.base(p, { status: 'merged', id: masterId, mergedIds: mergeIds, unifiedId: survivor ?? null }) });
		}
		return results;
	}

	/**
	 * Records without a CRM id, written by the match key (refs from `firstRef`): the connector's
	 * upsert on the key's CRM field; accounts matched by domain then name (account-match.ts) are
	 * updated, the others created.
	 */
	private async writeByKey(connector: CrmConnector, batch: Prepared[], firstRef: number): Promise<WriteOutcome[]> {
		const { job } = this;
		if (!matchesAccounts(job)) {
			return connector.upsert(job.entity, this.crmMatchField(connector), batch.map((p, ref) => ({ ref: ref + firstRef, fields: p.fields })));
		}
		const found = await findExistingAccounts(job.crm, connector, batch.map((p) => p.unified ?? {}));
		const existing = batch.flatMap((p, i) => (found[i] ? [{ ref: i + firstRef, id: found[i]!.id, fields: p.fields }] : []));
		const fresh = batch.flatMap((p, i) => (found[i] ? [] : [{ ref: i + firstRef, fields: p.fields }]));
		const created = fresh.length ? await this.createAccounts(connector, batch, firstRef, fresh) : [];
		return [...(existing.length ? await connector.update(job.entity, existing) : []), ...created];
	}

	/**
	 * Creates accounts. One whose create got no answer may have landed (as the connectors' own
	 * upserts settle theirs): it is looked up again, and the account found is the one it made. One
	 * not found is created again where the lookups see their own writes (accountLookupsSeeOwnWrites);
	 * elsewhere it stays failed, to review: a lagging search would make a duplicate of it.
	 */
	private async createAccounts(connector: CrmConnector, batch: Prepared[], firstRef: number, fresh: Array<{ ref: number; fields: CrmFields }>, again = true): Promise<WriteOutcome[]> {
		let outcomes: WriteOutcome[];
		try {
			outcomes = await connector.create(this.job.entity, fresh);
		} catch (error) {
			if (!isUnanswered(error)) throw error;
			outcomes = failAll(fresh, error as CrmError);
		}
		const unanswered = outcomes.filter(isUnansweredOutcome);
		if (!unanswered.length) return outcomes;
		let found: Awaited<ReturnType<typeof findExistingAccounts>>;
		try {
			found = await findExistingAccounts(this.job.crm, connector, unanswered.map((o) => batch[o.ref - firstRef].unified ?? {}));
		} catch {
			return outcomes; // the lookup failed too: the creates stay reported as unanswered
		}
		const settled = new Map(unanswered.flatMap((o, i): Array<[number, WriteOutcome]> => (found[i] ? [[o.ref, { ref: o.ref, status: 'created', id: found[i]!.id }]] : [])));
		const notMade = unanswered.filter((o) => !settled.has(o.ref)).map((o) => fresh.find((f) => f.ref === o.ref)!);
		if (again && connector.accountLookupsSeeOwnWrites && notMade.length) {
			for (const o of await this.createAccounts(connector, batch, firstRef, notMade, false)) settled.set(o.ref, o);
		}
		return outcomes.map((o) => settled.get(o.ref) ?? o);
	}

	// ---- helpers ------------------------------------------------------------------------------------

	/** The CRM field to match on: email/phone resolve through the connector, anything else is a CRM field. */
	private crmMatchField(connector: CrmConnector): string {
		const key = this.job.matchKey.trim();
		if (isUnifiedKind(key)) {
			const field = connector.matchField(this.job.entity, key as 'email' | 'phone');
			if (!field) throw new NotImplementedError(`Matching ${this.job.entity} records in ${this.job.crm} by ${key}`);
			return field;
		}
		return key;
	}

	private base(p: Prepared, extra: Record<string, unknown>): Record<string, unknown> {
		return { ...extra, crm: this.job.crm, entity: this.job.entity, operation: this.job.operation, ...(p.item.unifiedId && extra.unifiedId === undefined ? { unifiedId: p.item.unifiedId } : {}) };
	}

	private fail(item: InputItem, message: string, extra: Record<string, unknown> = {}): ItemResult {
		return { index: item.index, ok: false, json: { error: message, ...dropUndefined(extra), crm: this.job.crm, entity: this.job.entity, operation: this.job.operation, ...(item.unifiedId ? { unifiedId: item.unifiedId } : {}) } };
	}
}

/** A snapshot the Conflict Resolver keeps as the resolved truth (synced-state mode), not deleted. */
function isResolvedTruth(snapshot: Snapshot | undefined): snapshot is Snapshot {
	return snapshot !== undefined && snapshot.revision !== undefined && !snapshot.deletedAt;
}

/** When the record's newest field change was made (ISO time). */
function lastChange(snapshot: Snapshot): string {
	return Object.values(snapshot.fieldModifiedAt ?? {}).reduce((a, b) => (b > a ? b : a), '');
}

/** Does the job map unified records with the CRM's metadata? */
function metadataMapped(job: WriteJob): boolean {
	return METADATA_ENTITIES.includes(job.entity) && job.inputFormat === 'unified' && (job.operation === 'upsert' || job.operation === 'create' || job.operation === 'update');
}

/** Accounts looked up by domain, then name (account-match.ts). */
function matchesAccounts(job: WriteJob): boolean {
	return job.entity === 'account' && job.matchKey.trim() === ACCOUNT_MATCH_KEY;
}

function isUnifiedKind(key: string): boolean {
	return key === 'email' || key === 'phone';
}

function sameAsSnapshot(values: UnifiedRecord, snapshot: UnifiedRecord): boolean {
	return Object.entries(values).every(([k, v]) => JSON.stringify(v ?? null) === JSON.stringify(snapshot[k] ?? null));
}

function stripKeys(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
	if (!keys.some((k) => k in record)) return record;
	const copy = { ...record };
	for (const k of keys) delete copy[k];
	return copy;
}

function stringOrUndefined(value: unknown): string | undefined {
	return value === undefined || value === null || value === '' ? undefined : String(value);
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function sortByIndex(results: ItemResult[]): ItemResult[] {
	return results.sort((a, b) => a.index - b.index);
}
