import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockIndex, blockingKeys, findDuplicatesInBatch, prepareRecord } from '../../../lib/matching';
import { generateLabelledSet } from '../../../lib/matching/labelled-set';

describe('blocking keys', () => {
	test('email, phones, name sounds with nickname, company and postcode', () => {
		const keys = blockingKeys(
			prepareRecord({ firstName: 'Bob', lastName: 'Smith', email: 'bob@acme.com', phone: '4155550123', company: 'Acme Inc', postalCode: '94105' }, 0),
		);
		assert.deepEqual(keys.sort(), [
			'e|bob@acme.com',
			'fc|robert|acme',
			'nc|S530|acme',
			'nf|S530|robert',
			'np|S530|94105',
			'n|B100|S530',
			'p|+14155550123',
		]);
	});
	test('swapped names share the sorted name-sound key', () => {
		const a = blockingKeys(prepareRecord({ firstName: 'John', lastName: 'Doe' }, 0));
		const b = blockingKeys(prepareRecord({ firstName: 'Doe', lastName: 'John' }, 1));
		assert.ok(a.some((k) => b.includes(k)));
	});
	test('a record with nothing usable has no keys', () => {
		assert.deepEqual(blockingKeys(prepareRecord({ title: 'CEO' }, 0)), []);
	});
});

describe('BlockIndex', () => {
	test('pairs are distinct and never span blocks', () => {
		const blocks = new BlockIndex();
		blocks.add(0, ['a', 'b']);
		blocks.add(1, ['a', 'b']);
		blocks.add(2, ['b']);
		blocks.add(3, ['c']);
		const { pairs, stats } = blocks.pairs();
		assert.deepEqual(pairs.sort(), [[0, 1], [0, 2], [1, 2]]);
		assert.equal(stats.candidatePairs, 3);
	});
	test('oversized blocks are skipped and counted', () => {
		const blocks = new BlockIndex(3);
		for (let i = 0; i < 5; i++) blocks.add(i, ['big']);
		blocks.add(0, ['small']);
		blocks.add(1, ['small']);
		const { pairs, stats } = blocks.pairs();
		assert.deepEqual(pairs, [[0, 1]]);
		assert.equal(stats.oversizedBlocks, 1);
		assert.deepEqual([...blocks.candidates(['big', 'small'], 0)], [1]);
	});
	test('remove takes a record out of its blocks', () => {
		const blocks = new BlockIndex();
		blocks.add(0, ['a']);
		blocks.add(1, ['a']);
		blocks.remove(0, ['a']);
		assert.deepEqual([...blocks.candidates(['a'])], [1]);
		blocks.remove(1, ['a']);
		assert.equal(blocks.size, 0);
	});
});

describe('batch matching never compares all pairs', () => {
	test('comparisons grow about linearly and stay far below n(n-1)/2', () => {
		const small = generateLabelledSet({ entities: 1000, seed: 11 }).records;
		const large = generateLabelledSet({ entities: 4000, seed: 11 }).records;
		const a = findDuplicatesInBatch(small).stats;
		const b = findDuplicatesInBatch(large).stats;
		const allPairs = (n: number) => (n * (n - 1)) / 2;
		assert.ok(a.comparisons < allPairs(small.length) / 100, `${a.comparisons} of ${allPairs(small.length)}`);
		assert.ok(b.comparisons < allPairs(large.length) / 400, `${b.comparisons} of ${allPairs(large.length)}`);
		const perRecordSmall = a.comparisons / small.length;
		const perRecordLarge = b.comparisons / large.length;
		assert.ok(perRecordLarge < perRecordSmall * 1.5, `per record: ${perRecordSmall} then ${perRecordLarge}`);
	});
	test('records sharing no key are never compared', () => {
		const result = findDuplicatesInBatch([
			{ name: 'Ann Lee', email: 'ann@a.com' },
			{ name: 'Bo Diddley', email: 'bo@b.com' },
			{ name: 'Cy Young', email: 'cy@c.com' },
		]);
		assert.equal(result.stats.comparisons, 0);
		assert.equal(result.pairs.length, 0);
	});
});
