// One entry point for both scoring modes: compare two prepared records, score the comparison,
// return confidence and matching factors.

import { compareGivenNames, compareRecords } from './comparators';
import { DEFAULT_SIMPLE_WEIGHTS, DEFAULT_THRESHOLD, scoreSimple } from './scoring-simple';
import {
	DEFAULT_FS_PARAMETERS,
	estimateFellegiSunter,
	fsContext,
	nonMatchRule,
	scoreFellegiSunter,
	type FellegiSunterParameters,
	type FsObservation,
} from './scoring-fellegi-sunter';
import type { MatchFactors, PreparedRecord, ScoringMode, SimpleWeights } from './types';

export interface ScoringOptions {
	/** Default 'simple'. */
	mode?: ScoringMode;
	/** Pairs at or above this confidence are duplicates. Default 0.7. */
	threshold?: number;
	/** Simple mode weights. Default the brief's (0.4 / 0.25 / 0.2 / 0.15). */
	weights?: Partial<SimpleWeights>;
	/** Fellegi-Sunter: given parameters; when absent they are estimated from the data (EM). */
	fsParameters?: FellegiSunterParameters;
}

export interface PairScore {
	confidence: number;
	factors: MatchFactors;
}

export function observe(a: PreparedRecord, b: PreparedRecord): FsObservation {
	const vector = compareRecords(a, b);
	return { vector, context: fsContext(a, b, compareGivenNames(a, b), vector.name) };
}

export class PairScorer {
	readonly mode: ScoringMode;
	readonly threshold: number;
	readonly weights: SimpleWeights;
	/** Fellegi-Sunter without given parameters: estimate() them from the data before scoring. */
	readonly estimatesFromData: boolean;
	fsParameters: FellegiSunterParameters;

	constructor(options: ScoringOptions = {}) {
		this.mode = options.mode ?? 'simple';
		this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
		if (!(this.threshold >= 0 && this.threshold <= 1)) throw new Error(`Threshold must be between 0 and 1, got ${options.threshold}`);
		this.weights = { ...DEFAULT_SIMPLE_WEIGHTS, ...options.weights };
		this.fsParameters = options.fsParameters ?? DEFAULT_FS_PARAMETERS;
		this.estimatesFromData = this.mode === 'fellegiSunter' && options.fsParameters === undefined;
	}

	estimate(candidatePairs: FsObservation[], randomPairs: FsObservation[]): void {
		this.fsParameters = estimateFellegiSunter(candidatePairs, randomPairs);
	}

	scoreObservation(observation: FsObservation): PairScore {
		const { vector, context } = observation;
		const factors: MatchFactors = { ...vector };
		if (this.mode === 'simple') return { confidence: scoreSimple(vector, this.weights), factors };
		const rule = nonMatchRule(vector, context);
		if (rule !== undefined) factors.nonMatchRule = rule;
		return { confidence: scoreFellegiSunter(vector, context, this.fsParameters), factors };
	}

	score(a: PreparedRecord, b: PreparedRecord): PairScore {
		return this.scoreObservation(observe(a, b));
	}
}
