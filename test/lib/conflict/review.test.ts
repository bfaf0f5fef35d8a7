// Review queue round trip on a real embedded store, and the node's item shape.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import {
	ConflictError,
	conflictInputFromItem,
	enqueueForReview,
	passThrough,
	resolveConflict,
	resolveQueuedReview,
	type ConflictInput,
	type ConflictOptions,
} from '../../../lib/conflict';
import { openStateStore } from '../../../lib/state';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-conflict-review-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const open = () => openStateStore({ backend: 'embedded', path: path.join(tmp, 'state.sqlite'), namespace: randomUUID() });

const baseRecord = { email: 'kim@acme.io', title: 'CTO', phone: '+14155550100', city: 'Oakland' };
const conflictInput: ConflictInput = {
	entity: 'contact',
	unifiedId: 'u-7',
	incoming: { crm: 'pipedrive', record: { ...baseRecord, title: 'CEO', city: 'Berkeley' }, modifiedAt: '2026-03-01T11:00:00Z' },
	target: { crm: 'zoho', record: { ...baseRecord, title: 'Founder', phone: '+14155550199' }, modifiedAt: '2026-03-01T10:00:00Z' },
	base: { entity: 'contact', unifiedId: 'u-7', record: baseRecord, fieldModifiedAt: {}, syncedAt: '2026-03-01T09:00:00Z' },
};
const manual: ConflictOptions = { strategy: 'manual-review' };

describe('review queue round trip', () => {
	test('a queued conflict resolved by a reviewer yields the record to write, once', async () => {
		const store = await open();
		const resolution = resolveConflict(conflictInput, manual);
		assert.equal(resolution.needsReview, true);
		const item = await enqueueForReview(store, conflictInput, manual, resolution);
		assert.equal((await store.listReviews()).items.length, 1);

		const { resolution: decided, item: closed } = await resolveQueuedReview(store, item.id, { winner: 'target', fields: { title: { value: 'Co-founder & CEO' } } });
		assert.equal(closed.status, 'resolved');
		assert.equal(decided.action, 'update');
		assert.equal(decided.needsReview, false);
		assert.equal(decided.merged?.title, 'Co-founder & CEO');
		assert.equal(decided.merged?.city, 'Berkeley', 'one-sided changes still merge');
		assert.equal(decided.merged?.phone, '+14155550199');
		assert.deepEqual(decided.targetPatch, { title: 'Co-founder & CEO', city: 'Berkeley' });
		assert.deepEqual(decided.sourcePatch, { title: 'Co-founder & CEO', phone: '+14155550199' });
		assert.equal((await store.listReviews()).items.length, 0);

		const audit = await store.listAudit();
		assert.equal(audit[0].kind, 'conflict.review-resolved');
		assert.equal(audit[0].values, undefined, 'values redacted by default');
		assert.equal(audit[0].details?.reviewId, item.id);

		await assert.rejects(resolveQueuedReview(store, item.id, { winner: 'source' }), /already resolved/);
		await assert.rejects(resolveQueuedReview(store, 'nope', { winner: 'source' }), /not found/);
		await store.close();
	});

	test('an invalid decision fails before the item is marked resolved', async () => {
		const store = await open();
		const item = await enqueueForReview(store, conflictInput, manual, resolveConflict(conflictInput, manual));
		await assert.rejects(resolveQueuedReview(store, item.id, { winner: 'middle' as never }), ConflictError);
		assert.equal((await store.getReview(item.id))?.status, 'open');
		await store.close();
	});

	test('a delete-versus-update review: the reviewer picks the side', async () => {
		const store = await open();
		const input: ConflictInput = {
			...conflictInput,
			incoming: { crm: 'pipedrive', deleted: true, modifiedAt: '2026-03-01T11:00:00Z' },
		};
		const options: ConflictOptions = { strategy: 'last-modified-wins', deletePolicy: 'review' };
		const first = resolveConflict(input, options);
		assert.equal(first.action, 'review');
		const a = await enqueueForReview(store, input, options, first);
		const b = await enqueueForReview(store, input, options, first);
		assert.equal((await resolveQueuedReview(store, a.id, { winner: 'source' })).resolution.action, 'delete');
		const kept = (await resolveQueuedReview(store, b.id, { winner: 'target' })).resolution;
		assert.equal(kept.action, 'restore');
		assert.equal(kept.restoreIn, 'pipedrive');
		await store.close();
	});
});

describe('node item shape', () => {
	test('parses a full item, and passes other keys through', () => {
		const json = {
			entity: 'contact',
			unifiedId: 'u-1',
			source: 'hubspot',
			incoming: { email: 'a@x.io' },
			incomingModifiedAt: '2026-03-01T10:00:00Z',
			targetCrm: 'salesforce',
			target: { email: 'b@x.io' },
			targetFieldModifiedAt: { email: '2026-03-01T09:00:00Z' },
			targetRecordId: '003XYZ',
		};
		const { input, needsBase } = conflictInputFromItem(json);
		assert.equal(needsBase, true);
		assert.equal(input.incoming.crm, 'hubspot');
		assert.equal(input.target?.fieldModifiedAt?.email, '2026-03-01T09:00:00Z');
		assert.deepEqual(passThrough(json), { targetRecordId: '003XYZ' });
	});

	test('a SyncEvent-style delete and a default entity', () => {
		const { input, needsBase } = conflictInputFromItem({ source: 'zoho', operation: 'delete', targetCrm: 'dynamics', target: { email: 'x' } }, 'lead');
		assert.equal(input.entity, 'lead');
		assert.equal(input.incoming.deleted, true);
		assert.equal(needsBase, false, 'no unifiedId: first sync, nothing to load');
	});

	test('bad items give clear errors', () => {
		assert.throws(() => conflictInputFromItem({ entity: 'contact', source: 'excel', incoming: {} }), /"source" must be/);
		assert.throws(() => conflictInputFromItem({ entity: 'contact', source: 'zoho' }), /"incoming" must be/);
		assert.throws(() => conflictInputFromItem({ entity: 'contact', source: 'zoho', incoming: {}, target: {} }), /"targetCrm" must/);
		assert.throws(() => conflictInputFromItem({ entity: 'contact', source: 'zoho', incoming: {}, base: 'x' }), /"base" must be/);
	});
});
