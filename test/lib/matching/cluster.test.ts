import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	batchOutcomes,
	chooseMaster,
	completeness,
	connectedComponents,
	findDuplicatesInBatch,
	indexOutcomes,
	MatchIndex,
	UnionFind,
} from '../../../lib/matching';

describe('clustering', () => {
	test('union-find joins transitively', () => {
		const sets = new UnionFind(5);
		sets.union(0, 1);
		sets.union(3, 4);
		sets.union(1, 4);
		assert.equal(sets.find(0), sets.find(3));
		assert.notEqual(sets.find(0), sets.find(2));
	});
	test('connected components of 2+ members, in order', () => {
		const groups = connectedComponents(7, [
			{ a: 5, b: 6 },
			{ a: 0, b: 2 },
			{ a: 2, b: 4 },
		]);
		assert.deepEqual(groups, [[0, 2, 4], [5, 6]]);
	});
	const batch = [
		{ id: 'a', firstName: 'Robert', lastName: 'Smith', email: 'bob@acme.com', phone: '4155550100', company: 'Acme' },
		{ id: 'b', firstName: 'Jane', lastName: 'Roe', email: 'jane@other.com' },
		{ id: 'c', firstName: 'Bob', lastName: 'Smith', email: 'BOB@acme.com', phone: '(415) 555-0100' },
		{ id: 'd', firstName: 'Bob', lastName: 'Smith', email: 'bob.smith@gmail.com', phone: '415.555.0100', company: 'Acme Inc' },
	];
	test('a batch forms clusters of the pairs above the threshold', () => {
		// Simple mode: d (personal email) scores phone + name + company = 0.6 < 0.7 against a.
		const simple = findDuplicatesInBatch(batch);
		assert.deepEqual(simple.clusters.map((c) => c.members), [[0, 2]]);
		const fs = findDuplicatesInBatch(batch, { mode: 'fellegiSunter' });
		assert.deepEqual(fs.clusters.map((c) => c.members), [[0, 2, 3]]);
		const cluster = fs.clusters[0];
		assert.ok(cluster.pairs.length >= 2);
		for (const pair of cluster.pairs) {
			assert.ok(pair.confidence >= 0.7);
			assert.ok(cluster.members.includes(pair.a) && cluster.members.includes(pair.b));
		}
		assert.equal(cluster.master, 0, 'most complete member');
	});
});

describe('master suggestion', () => {
	const records = [
		{ id: '1', email: 'a@x.com', source: 'hubspot', updatedAt: '2025-01-01T00:00:00Z' },
		{ id: '2', email: 'a@x.com', phone: '1', company: 'X', source: 'pipedrive', updatedAt: '2024-01-01T00:00:00Z' },
		{ id: '3', email: 'a@x.com', phone: '1', source: 'salesforce', updatedAt: '2026-01-01T00:00:00Z' },
	];
	test('completeness counts filled fields except the id', () => {
		assert.equal(completeness({ id: '1', a: 'x', b: '', c: null, d: 0, e: [] }), 2);
	});
	test('most complete', () => {
		assert.equal(chooseMaster(records, { rule: 'mostComplete' }), 1);
	});
	test('most recent', () => {
		assert.equal(chooseMaster(records, { rule: 'mostRecent' }), 2);
	});
	test('preferred CRM, falling back to most complete', () => {
		assert.equal(chooseMaster(records, { rule: 'preferredCrm', preferredCrm: 'hubspot' }), 0);
		assert.equal(chooseMaster(records, { rule: 'preferredCrm', preferredCrm: 'zoho' }), 1);
	});
	test('custom field names', () => {
		const custom = [{ crm: 'zoho', modified: '2020-01-01' }, { crm: 'dynamics', modified: '2021-01-01' }];
		assert.equal(chooseMaster(custom, { rule: 'mostRecent', modifiedField: 'modified' }), 1);
		assert.equal(chooseMaster(custom, { rule: 'preferredCrm', preferredCrm: 'zoho', crmField: 'crm' }), 0);
	});
	test('ties keep input order; empty input is an error', () => {
		assert.equal(chooseMaster([{ a: 1 }, { a: 2 }]), 0);
		assert.throws(() => chooseMaster([]), /no records/);
	});
});

describe('outcomes per record', () => {
	const john = { id: '123', name: 'John Doe', email: 'j.doe@example.com', phone: '5551234567', title: 'CTO' };
	const jonathan = { name: 'Jonathan Doe', email: 'j.doe@example.com', phone: '(555) 123-4567' };
	const ann = { id: '900', name: 'Ann Lee', email: 'ann@lee.io', phone: '4155550999' };

	test('batch: masters and singletons are unique, other members duplicates of the master', () => {
		const records = [jonathan, ann, john];
		const outcomes = batchOutcomes(records, findDuplicatesInBatch(records));
		assert.deepEqual(outcomes[1], { kind: 'unique' });
		assert.deepEqual(outcomes[2], { kind: 'unique', masterOf: { cluster: 0, size: 2 } }, 'John has a title too: more complete');
		const duplicate = outcomes[0];
		assert.equal(duplicate.kind, 'duplicate');
		if (duplicate.kind !== 'duplicate') return;
		assert.equal(duplicate.masterIndex, 2);
		assert.equal(duplicate.masterId, '123');
		assert.deepEqual(duplicate.matchedWith, { id: '123', index: 2 });
		assert.ok(duplicate.confidence > 0.8);
	});

	test('index: unique records with an id join the index, so a repeat in the same batch is caught', () => {
		const index = new MatchIndex();
		index.upsert(john);
		const annAgain = { ...ann, id: '901', email: 'ANN@lee.io' };
		const outcomes = indexOutcomes(index, [jonathan, ann, annAgain, { name: 'No Id', email: 'no@id.io' }], { addUnique: true });
		assert.deepEqual(outcomes.map((o) => (o instanceof Error ? 'error' : o.kind)), ['duplicate', 'unique', 'duplicate', 'unique']);
		const repeat = outcomes[2];
		assert.ok(!(repeat instanceof Error) && repeat.kind === 'duplicate' && repeat.masterId === '900');
		assert.equal(index.size, 2, 'Ann added; the record without an id is not');
	});

	test('index: without addUnique the index is left alone', () => {
		const index = new MatchIndex();
		indexOutcomes(index, [ann], { addUnique: false });
		assert.equal(index.size, 0);
	});
});
