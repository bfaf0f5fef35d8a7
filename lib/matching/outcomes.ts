// What happens to each incoming record: unique, or a duplicate of a master with a confidence
// and the factors that matched. Shared by the batch and index modes (and the node's outputs).

import type { UnifiedRecord } from '../model';
import { findAccountDuplicates } from './accounts';
import type { BatchMatchResult } from './detector';
import { chooseMaster } from './master';
import type { MatchIndex } from './match-index';
import type { MatchFactors, MasterOptions, ScoredPair } from './types';

export interface DuplicateOutcome {
	kind: 'duplicate';
	/** The suggested master record. */
	master: UnifiedRecord;
	/** Batch mode: the master's position in the input. */
	masterIndex?: number;
	masterId?: string;
	/** Confidence and factors of this record's pair with the master, or its strongest pair in the cluster. */
	confidence: number;
	factors: MatchFactors;
	/** The other record of that pair (its id, or its input position in batch mode). */
	matchedWith: { id?: string; index?: number };
	/** Batch mode: cluster number (0-based) and size. */
	cluster?: { id: number; size: number };
	/** Index mode: every indexed record at or above the threshold, best first. */
	matches?: Array<{ id: string; confidence: number; factors: MatchFactors }>;
}

export interface UniqueOutcome {
	kind: 'unique';
	/** Batch mode: this record is the suggested master of a cluster of this many records. */
	masterOf?: { cluster: number; size: number };
}

export type MatchOutcome = UniqueOutcome | DuplicateOutcome;

const idOf = (record: UnifiedRecord): string | undefined =>
	typeof record.id === 'string' || typeof record.id === 'number' ? String(record.id) : undefined;

/** One outcome per input record: cluster masters and singletons are unique, other members duplicates. */
export function batchOutcomes(records: UnifiedRecord[], result: BatchMatchResult): MatchOutcome[] {
	const outcomes: MatchOutcome[] = records.map(() => ({ kind: 'unique' }));
	result.clusters.forEach((cluster, clusterId) => {
		const size = cluster.members.length;
		outcomes[cluster.master] = { kind: 'unique', masterOf: { cluster: clusterId, size } };
		for (const member of cluster.members) {
			if (member === cluster.master) continue;
			const own = cluster.pairs.filter((p) => p.a === member || p.b === member);
			const withMaster = own.find((p) => p.a === cluster.master || p.b === cluster.master);
			const best = withMaster ?? own.reduce((x: ScoredPair, y) => (y.confidence > x.confidence ? y : x));
			const other = best.a === member ? best.b : best.a;
			outcomes[member] = {
				kind: 'duplicate',
				master: records[cluster.master],
				masterIndex: cluster.master,
				masterId: idOf(records[cluster.master]),
				confidence: best.confidence,
				factors: best.factors,
				matchedWith: { id: idOf(records[other]), index: other },
				cluster: { id: clusterId, size },
			};
		}
	});
	return outcomes;
}

/**
 * Companies in a batch (findAccountDuplicates: the same domain, else the same normalised name):
 * per cluster a suggested master, the others duplicates of it with confidence 1 and the rule that
 * matched (`domain`, or `company` 1 for the name).
 */
export function accountBatchOutcomes(records: UnifiedRecord[], master?: MasterOptions): MatchOutcome[] {
	const outcomes: MatchOutcome[] = records.map(() => ({ kind: 'unique' }));
	findAccountDuplicates(records).forEach((cluster, clusterId) => {
		const masterIndex = cluster.members[chooseMaster(cluster.members.map((i) => records[i]), master)];
		const size = cluster.members.length;
		outcomes[masterIndex] = { kind: 'unique', masterOf: { cluster: clusterId, size } };
		for (const member of cluster.members) {
			if (member === masterIndex) continue;
			outcomes[member] = {
				kind: 'duplicate',
				master: records[masterIndex],
				masterIndex,
				masterId: idOf(records[masterIndex]),
				confidence: 1,
				factors: cluster.by === 'domain' ? { domain: true } : { company: 1 },
				matchedWith: { id: idOf(records[masterIndex]), index: masterIndex },
				cluster: { id: clusterId, size },
			};
		}
	});
	return outcomes;
}

/**
 * Each record against the index, in order. With `addUnique`, a unique record that has an id is
 * added to the index before the next record is looked up (so a batch cannot slip the same new
 * person in twice). The suggested master is chosen among the matched known records.
 */
export function indexOutcomes(
	index: MatchIndex,
	records: UnifiedRecord[],
	options: { addUnique: boolean; master?: MasterOptions },
): Array<MatchOutcome | Error> {
	return records.map((record) => {
		try {
			const matches = index.query(record);
			if (matches.length === 0) {
				if (options.addUnique && idOf(record) !== undefined) index.upsert(record);
				return { kind: 'unique' };
			}
			const master = matches[chooseMaster(matches.map((m) => m.record), options.master)];
			return {
				kind: 'duplicate',
				master: master.record,
				masterId: master.id,
				confidence: master.confidence,
				factors: master.factors,
				matchedWith: { id: master.id },
				matches: matches.map((m) => ({ id: m.id, confidence: m.confidence, factors: m.factors })),
			};
		} catch (error) {
			return error as Error;
		}
	});
}
