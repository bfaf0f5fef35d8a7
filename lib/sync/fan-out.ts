// Unified CRM Upsert's "Sync to CRMs": one change (a unified record and the event it came with)
// written to several CRMs by one node. Per target, in parallel across targets, the record's
// reference ids are translated through the cross-reference (associations.ts), then it is written
// by its event operation (route-by-operation.ts; unified input, mapped with the default map). A
// target whose referenced records are not there yet is tried again later (that target only),
// written without those ids, or failed, as Missing References says. With Retry Later, a target
// that failed for now (timeout, outage, rate limit past the connector's own retries) is tried
// again later too, and after the retry limit its failure goes to Errors. Framework-free: the
// node is a thin shell over this.

import { CrmError, type CrmConnector } from '../connectors';
import { isCrmName, type CrmName } from '../model';
import type { StateStore } from '../state';
import { describeMissing, readRetryState, resolveReferences, retryDecision, type RetryState } from './associations';
import type { MetadataSettings } from './crm-metadata';
import { writeByOperation, type EventItem } from './route-by-operation';
import type { ItemResult, WriteJob } from './upsert-writer';

/** Every selected CRM but the item's source (where the change was made), or only its source (a correction). */
export type WriteTo = 'others' | 'source';
/** What becomes of a target whose referenced records are not in it yet. */
export type MissingReferences = 'retry' | 'drop' | 'error';

export interface FanOutJob extends Omit<WriteJob, 'crm' | 'operation' | 'inputFormat'> {
	/** The CRMs the node writes to; Write To picks among them per item. */
	crms: CrmName[];
	writeTo: WriteTo;
	missingReferences: MissingReferences;
	/** Overall time a target may wait for its references, from the change (the event's occurredAt) or else the first attempt. */
	retryLimitMs: number;
	/** Each target's stage overrides and default owner (WriteJob.metadata). */
	metadataByCrm?: Partial<Record<CrmName, MetadataSettings>>;
}

/** What each target written answered (status, id, ...), by CRM. */
export type Synced = Partial<Record<CrmName, Record<string, unknown>>>;

/** The item field a retried item carries between attempts. */
export const RETRY_FIELD = 'retry';

/** That field: the RetryState of associations.ts, the targets still to write, and what earlier attempts wrote. */
export interface FanOutRetry extends RetryState {
	targets: CrmName[];
	synced: Synced;
}

export interface FanOutOutcome {
	index: number;
	/** The record's unified id: the item's, else found through its source record id, else the one its first write got. */
	unifiedId?: string;
	/** Every target written, earlier attempts included. */
	synced: Synced;
	/** One per failed target (`crm`, `error`, `code`); an item that cannot be written anywhere has one without `crm`. */
	errors: Array<Record<string, unknown>>;
	/** Set when targets wait for their references: the item comes back for those only. */
	retry?: FanOutRetry;
}

/** One target's part: the writer's results, the items waiting for references, the ids dropped instead. */
interface TargetRun {
	results: ItemResult[];
	waiting: Array<{ index: number; reason: string }>;
	dropped: Map<number, string>;
}

export async function syncToCrms(
	items: EventItem[],
	job: FanOutJob,
	connectorFor: (crm: CrmName) => Promise<CrmConnector>,
	openStore: (() => Promise<StateStore>) | undefined,
): Promise<FanOutOutcome[]> {
	const outcomes = new Map<number, FanOutOutcome>();
	const byTarget = new Map<CrmName, EventItem[]>();
	for (const item of items) {
		const previous = retryOf(item.event);
		const outcome: FanOutOutcome = { index: item.index, unifiedId: item.unifiedId, synced: { ...previous?.synced }, errors: [] };
		outcomes.set(item.index, outcome);
		const targets = targetsOf(item, job, previous);
		if (typeof targets === 'string') outcome.errors.push(failure(job, item, undefined, targets, 'SOURCE', 'validation'));
		else for (const crm of targets) byTarget.set(crm, [...(byTarget.get(crm) ?? []), item]);
	}
	// A dry run reads no store, so it translates no reference ids either.
	const store = openStore && !job.dryRun ? await openStore() : undefined;
	const targets = [...byTarget.keys()];
	const runs = await Promise.allSettled(targets.map((crm) => syncTarget(crm, byTarget.get(crm)!, job, connectorFor, openStore, store)));

	/** Per item, the targets to try again: waiting for references, or failed for now (`failed`: its Errors entry after the limit). */
	const waiting = new Map<number, Array<{ crm: CrmName; reason: string; failed?: Record<string, unknown> }>>();
	const wait = (index: number, crm: CrmName, reason: string, failed?: Record<string, unknown>) => waiting.set(index, [...(waiting.get(index) ?? []), { crm, reason, failed }]);
	for (const [t, run] of runs.entries()) {
		const crm = targets[t];
		if (run.status === 'rejected') {
			const { message, code, category } = describeError(run.reason);
			if (retriesFailures(job, category)) {
				for (const item of byTarget.get(crm)!) wait(item.index, crm, `${crm}: ${message}`, failure(job, item, crm, message, code, category));
				continue;
			}
			// After every target has settled, so that no write is left running.
			if (!job.continueOnFail) throw run.reason;
			for (const item of byTarget.get(crm)!) outcomes.get(item.index)!.errors.push(failure(job, item, crm, message, code, category));
			continue;
		}
		for (const { index, ok, json } of run.value.results) {
			const outcome = outcomes.get(index)!;
			if (!ok) {
				if (retriesFailures(job, json.category)) wait(index, crm, `${crm}: ${String(json.error)}`, json);
				else outcome.errors.push(json);
				continue;
			}
			const { crm: _crm, entity: _entity, unifiedId, ...answer } = json;
			const dropped = run.value.dropped.get(index);
			outcome.synced[crm] = dropped ? { ...answer, dropped } : answer;
			if (!outcome.unifiedId && typeof unifiedId === 'string') outcome.unifiedId = unifiedId;
		}
		for (const { index, reason } of run.value.waiting) wait(index, crm, reason);
	}

	const itemAt = new Map(items.map((item) => [item.index, item]));
	for (const [index, targetsWaiting] of waiting) {
		const item = itemAt.get(index)!;
		const outcome = outcomes.get(index)!;
		const previous = readRetryState(item.event[RETRY_FIELD]);
		// Counted from the change, as the Field Mapper counts it.
		const occurredAt = typeof item.event.occurredAt === 'string' ? item.event.occurredAt : undefined;
		const decisions = targetsWaiting.map(({ crm, reason }) => ({ crm, decision: retryDecision(previous, reason, job.retryLimitMs, Date.now(), occurredAt) }));
		const [first] = decisions;
		if (first.decision.action === 'retry') {
			const reason = targetsWaiting.map((w) => w.reason).join('; ');
			outcome.retry = { ...first.decision.state, reason, targets: targetsWaiting.map((w) => w.crm), synced: outcome.synced };
			continue;
		}
		for (const [i, { crm, decision }] of decisions.entries()) {
			if (decision.action !== 'giveUp') continue;
			const failed = targetsWaiting[i].failed;
			outcome.errors.push({ ...(failed ?? failure(job, item, crm, decision.reason, 'MISSING_REFERENCE', 'validation')), attempts: decision.state.attempts, firstSeenAt: decision.state.firstSeenAt });
		}
	}
	return [...outcomes.values()];
}

/** Translates the group's reference ids into `crm`'s, then writes what can be written. */
async function syncTarget(
	crm: CrmName,
	group: EventItem[],
	job: FanOutJob,
	connectorFor: (crm: CrmName) => Promise<CrmConnector>,
	openStore: (() => Promise<StateStore>) | undefined,
	store: StateStore | undefined,
): Promise<TargetRun> {
	const { crms: _crms, writeTo: _writeTo, missingReferences, retryLimitMs: _limit, metadataByCrm, ...write } = job;
	const run: TargetRun = { results: [], waiting: [], dropped: new Map() };
	let ready = group;
	if (store) {
		// The record's own source id only when its unified id is unknown: no store read otherwise.
		const inputs = group.map((item) => ({ source: item.event.source as CrmName, recordId: item.unifiedId ? undefined : recordIdOf(item.event), record: item.record }));
		const resolved = await resolveReferences(store, inputs, { entity: job.entity, target: crm });
		ready = [];
		for (const [i, item] of group.entries()) {
			const { record, unifiedId, missing } = resolved[i];
			if (missing.length) {
				const reason = describeMissing(missing, item.event.source as CrmName, crm);
				if (missingReferences === 'retry') {
					run.waiting.push({ index: item.index, reason });
					continue;
				}
				if (missingReferences === 'error') {
					run.results.push({ index: item.index, ok: false, json: failure(job, item, crm, reason, 'MISSING_REFERENCE', 'validation') });
					continue;
				}
				run.dropped.set(item.index, reason);
			}
			ready.push({ ...item, record, unifiedId: item.unifiedId ?? unifiedId });
		}
	}
	if (!ready.length) return run;
	// A dry run calls no CRM (and has no credential to build a connector with).
	const connector = job.dryRun ? undefined : await connectorFor(crm);
	run.results.push(...(await writeByOperation({ ...write, crm, inputFormat: 'unified', metadata: metadataByCrm?.[crm] }, ready, () => connector!, openStore)));
	return run;
}

/** Failures that may pass (the connector's own retries are spent): tried again later with Retry Later, not in a dry run. */
function retriesFailures(job: FanOutJob, category: unknown): boolean {
	return job.missingReferences === 'retry' && !job.dryRun && (category === 'transient' || category === 'rate_limit');
}

/** The targets of an item, or why it has none. */
function targetsOf(item: EventItem, job: FanOutJob, previous: { targets?: CrmName[] } | undefined): CrmName[] | string {
	const source = item.event.source;
	if (!isCrmName(source)) return `item field "source" must name the CRM the change comes from; got ${JSON.stringify(source)}`;
	if (job.writeTo === 'source' && !job.crms.includes(source)) return `the item's source CRM ${source} is not one of the node's CRMs (${job.crms.join(', ')})`;
	const targets = job.writeTo === 'source' ? [source] : job.crms.filter((crm) => crm !== source);
	return previous?.targets ? targets.filter((crm) => previous.targets!.includes(crm)) : targets;
}

/** An item on its way round: the targets left and what was written before; undefined on the first attempt. */
function retryOf(event: Record<string, unknown>): { targets?: CrmName[]; synced: Synced } | undefined {
	const retry = event[RETRY_FIELD];
	if (!readRetryState(retry)) return undefined;
	const { targets, synced } = retry as Record<string, unknown>;
	return {
		targets: Array.isArray(targets) ? targets.filter(isCrmName) : undefined,
		synced: synced !== null && typeof synced === 'object' && !Array.isArray(synced) ? (synced as Synced) : {},
	};
}

function recordIdOf(event: Record<string, unknown>): string | undefined {
	const id = event.recordId;
	return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

function describeError(error: unknown): { message: string; code?: string; category: string } {
	if (error instanceof CrmError) return { message: error.message, code: error.code, category: error.category };
	return { message: error instanceof Error ? error.message : String(error), category: 'fatal' };
}

/** An Errors entry: one item's failure in one target (`crm`), or before any target (no `crm`). */
function failure(job: FanOutJob, item: EventItem, crm: CrmName | undefined, error: string, code: string | undefined, category: string): Record<string, unknown> {
	return {
		error,
		...(code ? { code } : {}),
		category,
		...(crm ? { crm } : {}),
		entity: job.entity,
		...(item.event.operation !== undefined ? { operation: item.event.operation } : {}),
		...(item.unifiedId ? { unifiedId: item.unifiedId } : {}),
	};
}
