// Fellegi-Sunter scoring. Each field's comparison falls into a level; a pair's match weight is
// the prior log-odds plus, for every field both records have, ln(m/u) of its level, where
//   m = P(level | same person), u = P(level | different people).
// Confidence is the posterior probability 1 / (1 + e^-weight).
//
// Estimation (estimateFellegiSunter): u starts from random record pairs (almost all
// non-matches); EM over the blocked candidate pairs then estimates m, u and the prior. u must
// be re-estimated there: the non-matches that blocking brings together are not like random
// pairs (they share a company or a family name, which is why they were blocked together).
//
// Two rules sit on top of the model, for look-alikes that independent fields cannot express:
//  - given names clearly differ (not nicknames, initials or swapped order) and the emails do
//    not agree: different people (household members share phone, address and family name,
//    and those agreements would otherwise add up to a match);
//  - two different addresses on the same company domain and no phone in common: two
//    mailboxes, so two people (colleagues with look-alike names at one company).
// Pairs a rule rejects are capped below any sensible threshold and are fixed non-matches
// during EM.

import { emailDomain } from './normalise-email';
import type { ComparisonVector, PreparedRecord } from './types';

export const FS_FIELDS = ['email', 'phone', 'name', 'company', 'postalCode', 'address'] as const;
export type FsField = (typeof FS_FIELDS)[number];

export interface FsFieldParameters {
	/** P(level | match), one per level, lowest agreement first. */
	m: number[];
	/** P(level | non-match). */
	u: number[];
}

export interface FellegiSunterParameters {
	/** Prior probability that a compared (blocked) pair is a match. */
	prior: number;
	fields: Record<FsField, FsFieldParameters>;
}

/** Extra facts the levels need beyond the comparison vector. */
export interface FsPairContext {
	/** Both emails present, different, on the same non-free-mail domain. */
	sameCorporateDomain?: boolean;
	/** Both emails present, different, one on a free-mail domain and one not (personal vs work). */
	personalVsWork?: boolean;
	/** Given names present on both sides and clearly different. */
	givenNameConflict?: boolean;
}

const LEVEL_COUNT: Record<FsField, number> = { email: 4, phone: 2, name: 5, company: 3, postalCode: 2, address: 2 };
/** Name similarity bounds of levels 1..4 (level 4 = identical after normalisation). */
const NAME_BOUNDS = [0.75, 0.88, 0.97, 1];
const COMPANY_BOUNDS = [0.8, 0.92];
const ADDRESS_BOUND = 0.9;
/** Given-name similarity under which (absent nickname / initial / swap) names conflict. */
export const GIVEN_NAME_CONFLICT_BELOW = 0.75;
/** Full-name similarity (which tries the swapped order) above which given names do not conflict. */
const SWAPPED_NAME_SIMILARITY = 0.9;
/** Confidence ceiling for pairs a non-match rule rejects. */
export const CONFLICT_CONFIDENCE_CAP = 0.3;

const FREE_MAIL = new Set([
	'gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.co.uk', 'hotmail.com', 'hotmail.co.uk', 'outlook.com',
	'live.com', 'msn.com', 'aol.com', 'icloud.com', 'me.com', 'mac.com', 'protonmail.com', 'proton.me',
	'gmx.com', 'gmx.de', 'gmx.net', 'web.de', 'mail.com', 'yandex.com', 'yandex.ru', 'zoho.com',
	'comcast.net', 'verizon.net', 'att.net', 'btinternet.com', 'orange.fr', 'free.fr', 'qq.com', '163.com',
]);

export function isFreeMailDomain(domain: string): boolean {
	return FREE_MAIL.has(domain);
}

function levelAbove(value: number, bounds: number[]): number {
	let level = 0;
	while (level < bounds.length && value >= bounds[level]) level++;
	return level;
}

/** The level of each field present in the vector (undefined = missing, no evidence). */
export function fsLevel(field: FsField, vector: ComparisonVector, context: FsPairContext = {}): number | undefined {
	switch (field) {
		case 'email':
			// 0 other disagreement, 1 same company domain, 2 personal vs work address, 3 agree.
			if (vector.email === undefined) return undefined;
			return vector.email ? 3 : context.personalVsWork ? 2 : context.sameCorporateDomain ? 1 : 0;
		case 'phone':
			return vector.phone === undefined ? undefined : vector.phone ? 1 : 0;
		case 'name':
			return vector.name === undefined ? undefined : levelAbove(vector.name, NAME_BOUNDS);
		case 'company':
			return vector.company === undefined ? undefined : levelAbove(vector.company, COMPANY_BOUNDS);
		case 'postalCode':
			return vector.postalCode === undefined ? undefined : vector.postalCode ? 1 : 0;
		case 'address':
			return vector.address === undefined ? undefined : vector.address >= ADDRESS_BOUND ? 1 : 0;
	}
}

/** Context facts for a pair of prepared records. */
export function fsContext(
	a: PreparedRecord,
	b: PreparedRecord,
	givenNameSimilarity: number | undefined,
	nameSimilarity: number | undefined,
): FsPairContext {
	const context: FsPairContext = {};
	if (a.email !== undefined && b.email !== undefined && a.email !== b.email) {
		const domainA = emailDomain(a.email);
		const domainB = emailDomain(b.email);
		context.sameCorporateDomain = domainA === domainB && !isFreeMailDomain(domainA);
		context.personalVsWork = isFreeMailDomain(domainA) !== isFreeMailDomain(domainB);
	}
	// Swapped first/last names compare badly given-to-given but well overall: no conflict then.
	context.givenNameConflict =
		givenNameSimilarity !== undefined &&
		givenNameSimilarity < GIVEN_NAME_CONFLICT_BELOW &&
		(nameSimilarity === undefined || nameSimilarity < SWAPPED_NAME_SIMILARITY);
	return context;
}

/** Built-in parameters, used when there is too little data to estimate (documented guesses). */
export const DEFAULT_FS_PARAMETERS: FellegiSunterParameters = {
	prior: 0.2,
	fields: {
		email: { m: [0.1, 0.005, 0.25, 0.645], u: [0.9, 0.05, 0.049, 0.001] },
		phone: { m: [0.1, 0.9], u: [0.998, 0.002] },
		name: { m: [0.01, 0.04, 0.15, 0.1, 0.7], u: [0.95, 0.035, 0.01, 0.002, 0.003] },
		company: { m: [0.08, 0.12, 0.8], u: [0.96, 0.01, 0.03] },
		postalCode: { m: [0.1, 0.9], u: [0.98, 0.02] },
		address: { m: [0.2, 0.8], u: [0.995, 0.005] },
	},
};

export function matchWeight(
	vector: ComparisonVector,
	context: FsPairContext,
	parameters: FellegiSunterParameters,
): number {
	let weight = Math.log(parameters.prior / (1 - parameters.prior));
	for (const field of FS_FIELDS) {
		const level = fsLevel(field, vector, context);
		if (level === undefined) continue;
		const { m, u } = parameters.fields[field];
		weight += Math.log(m[level] / u[level]);
	}
	return weight;
}

export function scoreFellegiSunter(
	vector: ComparisonVector,
	context: FsPairContext,
	parameters: FellegiSunterParameters = DEFAULT_FS_PARAMETERS,
): number {
	const confidence = 1 / (1 + Math.exp(-matchWeight(vector, context, parameters)));
	return nonMatchRule(vector, context) === undefined ? confidence : Math.min(confidence, CONFLICT_CONFIDENCE_CAP);
}

export type NonMatchRule = 'givenNameConflict' | 'differentWorkEmails';

/** The rule that says this pair is two different people, if any (see the file comment). */
export function nonMatchRule(vector: ComparisonVector, context: FsPairContext): NonMatchRule | undefined {
	if (context.givenNameConflict === true && vector.email !== true) return 'givenNameConflict';
	if (context.sameCorporateDomain === true && vector.phone !== true) return 'differentWorkEmails';
	return undefined;
}

/** Checks user-supplied parameters; throws a clear error naming the first problem. */
export function validateFsParameters(value: unknown): FellegiSunterParameters {
	const fail = (why: string): never => {
		throw new Error(`Fellegi-Sunter parameters: ${why}`);
	};
	if (typeof value !== 'object' || value === null) return fail('expected an object {prior, fields}');
	const { prior, fields } = value as { prior?: unknown; fields?: unknown };
	if (typeof prior !== 'number' || !(prior > 0 && prior < 1)) fail('prior must be a number between 0 and 1 (exclusive)');
	if (typeof fields !== 'object' || fields === null) return fail('fields must be an object');
	const result: Partial<Record<FsField, FsFieldParameters>> = {};
	for (const field of FS_FIELDS) {
		const given = (fields as Record<string, unknown>)[field] as { m?: unknown; u?: unknown } | undefined;
		if (given === undefined) {
			result[field] = DEFAULT_FS_PARAMETERS.fields[field];
			continue;
		}
		for (const key of ['m', 'u'] as const) {
			const list = given[key];
			if (!Array.isArray(list) || list.length !== LEVEL_COUNT[field] || !list.every((p) => typeof p === 'number' && p > 0 && p < 1)) {
				fail(`fields.${field}.${key} must be ${LEVEL_COUNT[field]} probabilities between 0 and 1 (exclusive)`);
			}
		}
		result[field] = { m: given.m as number[], u: given.u as number[] };
	}
	return { prior: prior as number, fields: result as Record<FsField, FsFieldParameters> };
}

export interface FsObservation {
	vector: ComparisonVector;
	context: FsPairContext;
}

export interface EstimateOptions {
	/** EM iterations at most. Default 50. */
	maxIterations?: number;
	/** Stop when no parameter moves more than this. Default 1e-5. */
	tolerance?: number;
}

/** Fewer observations than this and the defaults are kept for that part. */
export const MIN_OBSERVATIONS = 200;

/**
 * Keeps every level's probability within [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR] (renormalised):
 * a level never seen in the sample must not become impossible (ln 0) or decide a pair alone.
 */
export const PROBABILITY_FLOOR = 0.002;

function bounded(probabilities: number[]): number[] {
	const floored = probabilities.map((p) => Math.max(p, PROBABILITY_FLOOR));
	const total = floored.reduce((s, x) => s + x, 0);
	return floored.map((p) => p / total);
}

const MISSING = -1;

/** Levels as a flat row-major Int8Array (MISSING where a side lacks the field). */
function levelsOf(observations: FsObservation[]): Int8Array {
	const levels = new Int8Array(observations.length * FS_FIELDS.length);
	observations.forEach((o, i) => {
		FS_FIELDS.forEach((field, f) => {
			levels[i * FS_FIELDS.length + f] = fsLevel(field, o.vector, o.context) ?? MISSING;
		});
	});
	return levels;
}

/**
 * Initial u from `randomPairs` (frequency per level, Laplace-smoothed), then EM over
 * `candidatePairs` for m, u and the prior. Keeps DEFAULT_FS_PARAMETERS where data is too thin.
 */
export function estimateFellegiSunter(
	candidatePairs: FsObservation[],
	randomPairs: FsObservation[],
	options: EstimateOptions = {},
): FellegiSunterParameters {
	const maxIterations = options.maxIterations ?? 50;
	const tolerance = options.tolerance ?? 1e-5;
	const parameters: FellegiSunterParameters = structuredClone(DEFAULT_FS_PARAMETERS);

	const fieldCount = FS_FIELDS.length;
	const randomLevels = levelsOf(randomPairs);
	FS_FIELDS.forEach((field, f) => {
		const counts = new Array<number>(LEVEL_COUNT[field]).fill(1);
		let present = 0;
		for (let row = f; row < randomLevels.length; row += fieldCount) {
			const level = randomLevels[row];
			if (level === MISSING) continue;
			counts[level]++;
			present++;
		}
		if (present >= MIN_OBSERVATIONS) parameters.fields[field].u = bounded(counts.map((c) => c / (present + counts.length)));
	});

	if (candidatePairs.length < MIN_OBSERVATIONS) return parameters;
	const pairCount = candidatePairs.length;
	const levels = levelsOf(candidatePairs);
	// Pairs a rule rejects are known non-matches: they inform u, never m.
	const rejected = candidatePairs.map((o) => nonMatchRule(o.vector, o.context) !== undefined);
	const g = new Float64Array(pairCount);
	for (let iteration = 0; iteration < maxIterations; iteration++) {
		// E-step: probability that each candidate pair is a match.
		const logRatios = FS_FIELDS.map((field) => parameters.fields[field].m.map((m, level) => Math.log(m / parameters.fields[field].u[level])));
		const logPrior = Math.log(parameters.prior / (1 - parameters.prior));
		let gSum = 0;
		for (let i = 0; i < pairCount; i++) {
			if (rejected[i]) {
				g[i] = 0;
				continue;
			}
			let weight = logPrior;
			for (let f = 0; f < fieldCount; f++) {
				const level = levels[i * fieldCount + f];
				if (level !== MISSING) weight += logRatios[f][level];
			}
			g[i] = 1 / (1 + Math.exp(-weight));
			gSum += g[i];
		}
		// M-step: m and u per field and level, weighted by g and 1 - g.
		let moved = 0;
		FS_FIELDS.forEach((field, f) => {
			const matchSums = new Array<number>(LEVEL_COUNT[field]).fill(0);
			const nonMatchSums = new Array<number>(LEVEL_COUNT[field]).fill(0);
			for (let i = 0; i < pairCount; i++) {
				const level = levels[i * fieldCount + f];
				if (level === MISSING) continue;
				matchSums[level] += g[i];
				nonMatchSums[level] += 1 - g[i];
			}
			const update = (key: 'm' | 'u', sums: number[]) => {
				const total = sums.reduce((s, x) => s + x, 0);
				if (total < 1) return;
				const next = bounded(sums.map((s) => s / total));
				next.forEach((value, level) => (moved = Math.max(moved, Math.abs(value - parameters.fields[field][key][level]))));
				parameters.fields[field][key] = next;
			};
			update('m', matchSums);
			update('u', nonMatchSums);
		});
		const prior = Math.min(0.999, Math.max(0.001, gSum / pairCount));
		moved = Math.max(moved, Math.abs(prior - parameters.prior));
		parameters.prior = prior;
		if (moved < tolerance) break;
	}
	return parameters;
}
