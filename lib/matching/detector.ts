// Duplicate detection within one batch: prepare -> block -> compare -> score -> cluster.

import type { UnifiedRecord } from '../model';
import { BlockIndex, blockingKeys, DEFAULT_MAX_BLOCK_SIZE, type BlockingStats } from './blocking';
import { connectedComponents } from './cluster';
import { chooseMaster } from './master';
import { prepareRecord } from './prepare';
import { seededRandom } from './random';
import type { FellegiSunterParameters, FsObservation } from './scoring-fellegi-sunter';
import { observe, PairScorer, type ScoringOptions } from './scorer';
import type { MasterOptions, NormaliseOptions, PreparedRecord, ScoredPair } from './types';

export interface MatchOptions extends NormaliseOptions, ScoringOptions {
	/** Blocks larger than this are not expanded into pairs. Default 100. */
	maxBlockSize?: number;
	master?: MasterOptions;
}

export interface DuplicateCluster {
	/** Batch positions of the members, ascending. */
	members: number[];
	/** Batch position of the suggested master. */
	master: number;
	/** The scored pairs inside the cluster (at or above the threshold). */
	pairs: ScoredPair[];
}

export interface BatchMatchResult {
	/** Pairs at or above the threshold, a < b. */
	pairs: ScoredPair[];
	clusters: DuplicateCluster[];
	stats: BlockingStats & { records: number; comparisons: number };
	/** Fellegi-Sunter mode: the parameters used (estimated or given). */
	fsParameters?: FellegiSunterParameters;
}

/** Random pairs used to estimate u probabilities. */
const RANDOM_PAIRS = 20_000;
/** Candidate pairs EM looks at, at most (an even sample beyond that). */
const EM_PAIRS = 200_000;

/**
 * Below this many records, random pairs would be dominated by the batch's own duplicates and
 * repeats: u is not estimated from them (the defaults stay).
 */
const MIN_RECORDS_FOR_RANDOM_PAIRS = 500;

/** Observations of random record pairs (seeded: the same input gives the same estimate). */
export function randomObservations(records: PreparedRecord[], count = RANDOM_PAIRS, seed = 7): FsObservation[] {
	const n = records.length;
	if (n < MIN_RECORDS_FOR_RANDOM_PAIRS) return [];
	const random = seededRandom(seed);
	const result: FsObservation[] = [];
	for (let i = 0; i < count; i++) {
		const a = Math.floor(random() * n);
		let b = Math.floor(random() * (n - 1));
		if (b >= a) b++;
		result.push(observe(records[a], records[b]));
	}
	return result;
}

export function evenSample<T>(items: T[], max: number): T[] {
	if (items.length <= max) return items;
	const step = items.length / max;
	return Array.from({ length: max }, (_, i) => items[Math.floor(i * step)]);
}

export function findDuplicatesInBatch(records: UnifiedRecord[], options: MatchOptions = {}): BatchMatchResult {
	const scorer = new PairScorer(options);
	const prepared = records.map((record, slot) => prepareRecord(record, slot, options));
	const blocks = new BlockIndex(options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE);
	for (const record of prepared) blocks.add(record.slot, blockingKeys(record));
	const { pairs: candidates, stats } = blocks.pairs();

	const observations = candidates.map(([a, b]) => observe(prepared[a], prepared[b]));
	if (scorer.estimatesFromData) scorer.estimate(evenSample(observations, EM_PAIRS), randomObservations(prepared));

	const pairs: ScoredPair[] = [];
	observations.forEach((observation, i) => {
		const { confidence, factors } = scorer.scoreObservation(observation);
		if (confidence >= scorer.threshold) pairs.push({ a: candidates[i][0], b: candidates[i][1], confidence, factors });
	});

	const pairsBySlot = new Map<number, ScoredPair[]>();
	for (const pair of pairs) {
		for (const slot of [pair.a, pair.b]) {
			const list = pairsBySlot.get(slot);
			if (list) list.push(pair);
			else pairsBySlot.set(slot, [pair]);
		}
	}
	const clusters = connectedComponents(records.length, pairs).map((members): DuplicateCluster => {
		const master = members[chooseMaster(members.map((m) => records[m]), options.master)];
		const inside = new Set<ScoredPair>();
		for (const m of members) for (const pair of pairsBySlot.get(m) ?? []) inside.add(pair);
		return { members, master, pairs: [...inside] };
	});

	return {
		pairs,
		clusters,
		stats: { ...stats, records: records.length, comparisons: candidates.length },
		fsParameters: scorer.mode === 'fellegiSunter' ? scorer.fsParameters : undefined,
	};
}
