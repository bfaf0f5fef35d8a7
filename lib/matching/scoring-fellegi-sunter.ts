// Fellegi-Sunter scoring. Each field's comparison falls into a level; a pair's match weight is
// the prior log-odds plus, for every field both records have, ln(m/u) of its level, where
//   m = P(level | same person), u = P(level | different people).
// Confidence is the posterior probability 1 / (1 + e^-weight).
//
// Estimation (estimateFellegiSunter): u from random record pairs (almost all non-matches),
// then EM over the blocked candidate pairs for m and the prior, with u held fixed. Holding u
// fixed keeps EM from mistaking a frequent non-match pattern for the match class.
//
// One rule sits on top of the model: two records whose given names clearly differ (not
// nicknames, initials or swapped order) and whose emails do not agree are different people.
// Independence between fields cannot express this: household members share phone, address
// and family name, so without the rule their agreements would add up to a match.

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
	/** Given names present on both sides and clearly different. */
	givenNameConflict?: boolean;
}

const LEVEL_COUNT: Record<FsField, number> = { email: 3, phone: 2, name: 5, company: 3, postalCode: 2, address: 2 };
/** Name similarity bounds of levels 1..4 (level 4 = identical after normalisation). */
const NAME_BOUNDS = [0.75, 0.88, 0.97, 1];
const COMPANY_BOUNDS = [0.8, 0.92];
const ADDRESS_BOUND = 0.9;
/** Given-name similarity under which (absent nickname / initial / swap) names conflict. */
export const GIVEN_NAME_CONFLICT_BELOW = 0.75;
/** Confidence ceiling for pairs the given-name rule rejects. */
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
			if (vector.email === undefined) return undefined;
			return vector.email ? 2 : context.sameCorporateDomain ? 1 : 0;
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
export function fsContext(a: PreparedRecord, b: PreparedRecord, givenNameSimilarity: number | undefined): FsPairContext {
	const context: FsPairContext = {};
	if (a.email !== undefined && b.email !== undefined && a.email !== b.email) {
		const domain = emailDomain(a.email);
		context.sameCorporateDomain = domain === emailDomain(b.email) && !isFreeMailDomain(domain);
	}
	context.givenNameConflict = givenNameSimilarity !== undefined && givenNameSimilarity < GIVEN_NAME_CONFLICT_BELOW;
	return context;
}

/** Built-in parameters, used when there is too little data to estimate (documented guesses). */
export const DEFAULT_FS_PARAMETERS: FellegiSunterParameters = {
	prior: 0.2,
	fields: {
		email: { m: [0.35, 0.005, 0.645], u: [0.996, 0.003, 0.001] },
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
	if (context.givenNameConflict && vector.email !== true) return Math.min(confidence, CONFLICT_CONFIDENCE_CAP);
	return confidence;
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
export const MIN_OBSERVATIONS = 30;

function levelsOf(observations: FsObservation[]): Array<Array<number | undefined>> {
	return observations.map((o) => FS_FIELDS.map((f) => fsLevel(f, o.vector, o.context)));
}

/**
 * u from `randomPairs` (frequency per level, Laplace-smoothed), then EM over `candidatePairs`
 * for m and the prior. Falls back to DEFAULT_FS_PARAMETERS where data is too thin.
 */
export function estimateFellegiSunter(
	candidatePairs: FsObservation[],
	randomPairs: FsObservation[],
	options: EstimateOptions = {},
): FellegiSunterParameters {
	const maxIterations = options.maxIterations ?? 50;
	const tolerance = options.tolerance ?? 1e-5;
	const parameters: FellegiSunterParameters = structuredClone(DEFAULT_FS_PARAMETERS);

	const randomLevels = levelsOf(randomPairs);
	FS_FIELDS.forEach((field, f) => {
		const counts = new Array<number>(LEVEL_COUNT[field]).fill(1);
		let present = 0;
		for (const row of randomLevels) {
			const level = row[f];
			if (level === undefined) continue;
			counts[level]++;
			present++;
		}
		if (present >= MIN_OBSERVATIONS) parameters.fields[field].u = counts.map((c) => c / (present + counts.length));
	});

	if (candidatePairs.length < MIN_OBSERVATIONS) return parameters;
	const levels = levelsOf(candidatePairs);
	for (let iteration = 0; iteration < maxIterations; iteration++) {
		// E-step: probability that each candidate pair is a match.
		const logPrior = Math.log(parameters.prior / (1 - parameters.prior));
		const g = levels.map((row) => {
			let weight = logPrior;
			FS_FIELDS.forEach((field, f) => {
				const level = row[f];
				if (level !== undefined) weight += Math.log(parameters.fields[field].m[level] / parameters.fields[field].u[level]);
			});
			return 1 / (1 + Math.exp(-weight));
		});
		// M-step: m per field and level, and the prior; u stays as estimated from random pairs.
		let moved = 0;
		FS_FIELDS.forEach((field, f) => {
			const sums = new Array<number>(LEVEL_COUNT[field]).fill(0);
			let total = 0;
			levels.forEach((row, i) => {
				const level = row[f];
				if (level === undefined) return;
				sums[level] += g[i];
				total += g[i];
			});
			if (total < 1) return;
			// Small smoothing keeps every level possible (no ln 0).
			const m = sums.map((s) => (s + 0.01) / (total + 0.01 * sums.length));
			m.forEach((value, level) => (moved = Math.max(moved, Math.abs(value - parameters.fields[field].m[level]))));
			parameters.fields[field].m = m;
		});
		const prior = Math.min(0.999, Math.max(0.001, g.reduce((s, x) => s + x, 0) / g.length));
		moved = Math.max(moved, Math.abs(prior - parameters.prior));
		parameters.prior = prior;
		if (moved < tolerance) break;
	}
	return parameters;
}
