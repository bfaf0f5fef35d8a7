// "Simple" scoring: the brief's weighted model. Confidence is the sum of
//   email agrees                       -> weight.email   (0.4)
//   a phone agrees                     -> weight.phone   (0.25)
//   name similarity > 0.85             -> weight.name    (0.2)  x similarity
//   company similarity > 0.8           -> weight.company (0.15) x similarity
// clamped to [0, 1]. Postcode and address are reported as factors but do not score here.

import type { ComparisonVector, SimpleWeights } from './types';

export const DEFAULT_SIMPLE_WEIGHTS: SimpleWeights = {
	email: 0.4,
	phone: 0.25,
	name: 0.2,
	company: 0.15,
	nameMinSimilarity: 0.85,
	companyMinSimilarity: 0.8,
};

export const DEFAULT_THRESHOLD = 0.7;

export function scoreSimple(vector: ComparisonVector, weights: SimpleWeights = DEFAULT_SIMPLE_WEIGHTS): number {
	let score = 0;
	if (vector.email === true) score += weights.email;
	if (vector.phone === true) score += weights.phone;
	if (vector.name !== undefined && vector.name > weights.nameMinSimilarity) score += weights.name * vector.name;
	if (vector.company !== undefined && vector.company > weights.companyMinSimilarity) score += weights.company * vector.company;
	return Math.min(1, Math.max(0, score));
}
