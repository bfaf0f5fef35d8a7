// Accuracy regression on the deterministic labelled set (fixed seed). The bench prints the
// same figures at a larger size; this keeps them from sliding.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findDuplicatesInBatch } from '../../../lib/matching';
import { clusterPairs, evaluatePairs, generateLabelledSet } from '../../../lib/matching/labelled-set';
import { exactEmailPairs, pairCompleteness } from '../../bench/matching';

const set = generateLabelledSet({ entities: 2500, seed: 1 });

describe('matching accuracy on the labelled set (seed 1, 2500 people)', () => {
	test('the set has duplicates and hard negatives', () => {
		assert.ok(set.truePairs > 500, String(set.truePairs));
		assert.ok(set.records.length > 3000, String(set.records.length));
	});
	const baseline = evaluatePairs(exactEmailPairs(set.records), set);
	test('blocking keeps at least 99% of the true pairs', () => {
		assert.ok(pairCompleteness(set).completeness >= 0.99);
	});
	test('simple mode: F1 >= 0.90, precision >= 0.99', () => {
		const accuracy = evaluatePairs(findDuplicatesInBatch(set.records).pairs, set);
		assert.ok(accuracy.f1 >= 0.9, JSON.stringify(accuracy));
		assert.ok(accuracy.precision >= 0.99, JSON.stringify(accuracy));
	});
	test('Fellegi-Sunter mode: F1 >= 0.98 and above exact-email matching', () => {
		const result = findDuplicatesInBatch(set.records, { mode: 'fellegiSunter' });
		const accuracy = evaluatePairs(result.pairs, set);
		assert.ok(accuracy.f1 >= 0.98, JSON.stringify(accuracy));
		assert.ok(accuracy.precision >= 0.98 && accuracy.recall >= 0.98, JSON.stringify(accuracy));
		assert.ok(accuracy.f1 > baseline.f1 + 0.03, `FS ${accuracy.f1} vs exact email ${baseline.f1}`);
		const clusters = evaluatePairs(clusterPairs(result.clusters), set);
		assert.ok(clusters.f1 >= 0.98, JSON.stringify(clusters));
	});
});
