// Matching against a target CRM: search it by email and by phone through a connector, score the
// records found with the same scorer as the other modes, and optionally merge each cluster
// with the CRM's own merge.

import type { CrmConnector, CrmRecord, WriteOutcome } from '../connectors/types';
import { defaultMapping } from '../mapping';
import type { EntityType, UnifiedRecord } from '../model';
import type { MatchOptions } from './detector';
import { chooseMaster } from './master';
import { normaliseEmail } from './normalise-email';
import { phoneSearchVariants } from './normalise-phone';
import type { DuplicateOutcome, MatchOutcome } from './outcomes';
import { prepareRecord } from './prepare';
import { PairScorer } from './scorer';
import type { PreparedRecord } from './types';

/** The part of a CrmConnector the matcher uses. */
export type CrmSearcher = Pick<CrmConnector, 'crm' | 'matchField' | 'search'>;
export type CrmMerger = Pick<CrmConnector, 'merge'>;

export interface CrmMatchOptions extends MatchOptions {
	/** Default 'contact'. */
	entity?: EntityType;
}

/** Duplicate of records in the CRM: `master` is the CRM record (unified fields plus its `id`). */
export interface CrmDuplicateOutcome extends DuplicateOutcome {
	masterId: string;
	matches: NonNullable<DuplicateOutcome['matches']>;
	/** The input record itself exists in the CRM (a search returned its id): it belongs to the cluster. */
	inCrm?: boolean;
}

export type CrmMatchOutcome = MatchOutcome | CrmDuplicateOutcome;

/** Result of merging one item's cluster. */
export interface CrmMergeResult {
	masterId: string;
	/** Ids merged into the master by this call (empty when the cluster had nothing else in the CRM). */
	mergedIds: string[];
}

const idOf = (record: UnifiedRecord): string | undefined =>
	typeof record.id === 'string' || typeof record.id === 'number' ? String(record.id) : undefined;

/**
 * One outcome per input record. The CRM is searched once per key kind for the whole batch
 * (the connector splits long value lists); a failed search fails every record with its error.
 * Fellegi-Sunter without given parameters uses the built-in ones: a handful of CRM candidates
 * is too little data to estimate from.
 */
export async function matchAgainstCrm(connector: CrmSearcher, records: UnifiedRecord[], options: CrmMatchOptions = {}): Promise<Array<CrmMatchOutcome | Error>> {
	const entity = options.entity ?? 'contact';
	const scorer = new PairScorer(options);
	const defaultCountry = options.defaultCountry ?? 'US';
	const prepared = records.map((record, slot) => prepareRecord(record, slot, options));

	let found: CrmRecord[];
	try {
		found = await searchCandidates(connector, entity, records, prepared, defaultCountry);
	} catch (error) {
		return records.map(() => (error instanceof Error ? error : new Error(String(error))));
	}

	const toUnified = defaultMapping('toUnified', connector.crm, entity);
	const candidates = dedupeById(found).map((crmRecord, slot) =>
		prepareRecord({ ...filledFields(toUnified.map(crmRecord.fields).record), id: crmRecord.id }, slot, options),
	);
	const byEmail = groupBy(candidates, (c) => (c.email === undefined ? [] : [c.email]));
	const byPhone = groupBy(candidates, (c) => c.phones);

	return prepared.map((record): CrmMatchOutcome => {
		const ownId = idOf(records[record.slot]);
		const pool = new Set<PreparedRecord>();
		if (record.email !== undefined) for (const c of byEmail.get(record.email) ?? []) pool.add(c);
		for (const phone of record.phones) for (const c of byPhone.get(phone) ?? []) pool.add(c);
		let inCrm = false;
		const matches: Array<{ candidate: PreparedRecord; confidence: number; factors: DuplicateOutcome['factors'] }> = [];
		for (const candidate of pool) {
			// An input record that carries the id of a CRM record is not its own duplicate.
			if (ownId !== undefined && candidate.id === ownId) {
				inCrm = true;
				continue;
			}
			const { confidence, factors } = scorer.score(record, candidate);
			if (confidence >= scorer.threshold) matches.push({ candidate, confidence, factors });
		}
		if (matches.length === 0) return { kind: 'unique' };
		matches.sort((x, y) => y.confidence - x.confidence);
		const master = matches[chooseMaster(matches.map((m) => m.candidate.source), options.master)];
		return {
			kind: 'duplicate',
			master: master.candidate.source,
			masterId: master.candidate.id!,
			confidence: master.confidence,
			factors: master.factors,
			matchedWith: { id: master.candidate.id },
			matches: matches.map((m) => ({ id: m.candidate.id!, confidence: m.confidence, factors: m.factors })),
			...(inCrm ? { inCrm } : {}),
		};
	});
}

async function searchCandidates(
	connector: CrmSearcher,
	entity: EntityType,
	records: UnifiedRecord[],
	prepared: PreparedRecord[],
	defaultCountry: string,
): Promise<CrmRecord[]> {
	const emailField = connector.matchField(entity, 'email');
	const phoneField = connector.matchField(entity, 'phone');
	if (!emailField && !phoneField) throw new Error(`The ${connector.crm} ${entity} has no email or phone field to search`);
	const emails = new Set<string>();
	const phones = new Set<string>();
	prepared.forEach((record, i) => {
		// CRMs compare emails case-insensitively but not folded: search the address as written and normalised.
		if (record.email !== undefined) {
			emails.add(record.email);
			const written = normaliseEmail(records[i].email, false);
			if (written) emails.add(written);
		}
		for (const field of ['phone', 'mobilePhone']) for (const variant of phoneSearchVariants(records[i][field], defaultCountry)) phones.add(variant);
	});
	const found: CrmRecord[] = [];
	if (emailField && emails.size > 0) found.push(...(await connector.search(entity, emailField, [...emails])));
	if (phoneField && phones.size > 0) found.push(...(await connector.search(entity, phoneField, [...phones])));
	return found;
}

/** The mapping gives every mapped field, null when the CRM had no value: keep the filled ones. */
function filledFields(record: UnifiedRecord): UnifiedRecord {
	return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined));
}

function dedupeById(records: CrmRecord[]): CrmRecord[] {
	const byId = new Map<string, CrmRecord>();
	for (const record of records) if (!byId.has(record.id)) byId.set(record.id, record);
	return [...byId.values()];
}

function groupBy(records: PreparedRecord[], keys: (record: PreparedRecord) => string[]): Map<string, PreparedRecord[]> {
	const groups = new Map<string, PreparedRecord[]>();
	for (const record of records) {
		for (const key of keys(record)) {
			const list = groups.get(key);
			if (list) list.push(record);
			else groups.set(key, [record]);
		}
	}
	return groups;
}

/**
 * Merges each duplicate's cluster in the CRM: every matched CRM record (and the input record
 * itself when it is in the CRM) into the master. One merge request per item, in order; ids
 * already merged by an earlier item are skipped, and a master merged away earlier is replaced
 * by the record it went into. Undefined for unique items and items that failed to match; an
 * Error for a merge the CRM refused (the other items go on).
 */
export async function mergeCrmClusters(
	connector: CrmMerger,
	entity: EntityType,
	records: UnifiedRecord[],
	outcomes: Array<CrmMatchOutcome | Error>,
): Promise<Array<CrmMergeResult | Error | undefined>> {
	const mergedInto = new Map<string, string>();
	const survivor = (id: string): string => {
		let current = id;
		while (mergedInto.has(current)) current = mergedInto.get(current)!;
		return current;
	};
	const results: Array<CrmMergeResult | Error | undefined> = [];
	for (const [index, outcome] of outcomes.entries()) {
		if (outcome instanceof Error || outcome.kind !== 'duplicate') {
			results.push(undefined);
			continue;
		}
		const crmOutcome = outcome as CrmDuplicateOutcome;
		const masterId = survivor(crmOutcome.masterId);
		const cluster = crmOutcome.matches.map((m) => m.id);
		if (crmOutcome.inCrm) cluster.push(idOf(records[index])!);
		const mergeIds = [...new Set(cluster.filter((id) => !mergedInto.has(id) && id !== masterId))];
		if (mergeIds.length === 0) {
			results.push({ masterId, mergedIds: [] });
			continue;
		}
		try {
			const [written] = await connector.merge(entity, [{ ref: index, masterId, mergeIds }]);
			results.push(mergeResult(written, masterId));
			if (written.status !== 'failed') for (const id of written.mergedIds ?? mergeIds) mergedInto.set(id, masterId);
		} catch (error) {
			results.push(error instanceof Error ? error : new Error(String(error)));
		}
	}
	return results;
}

function mergeResult(outcome: WriteOutcome | undefined, masterId: string): CrmMergeResult | Error {
	if (!outcome) return new Error('The CRM returned no outcome for the merge');
	if (outcome.status === 'failed') return new Error(`Merge into ${masterId} failed: ${outcome.message}`);
	return { masterId: outcome.id, mergedIds: outcome.mergedIds ?? [] };
}
