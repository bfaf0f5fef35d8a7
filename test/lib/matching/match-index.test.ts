import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FS_PARAMETERS, forgetMatchIndex, INDEX_COLLECTION, INDEX_LOG_COLLECTION, MatchIndex, sharedMatchIndex } from '../../../lib/matching';
import { generateLabelledSet } from '../../../lib/matching/labelled-set';
import { openStateStore, type StateStore } from '../../../lib/state';
import { startRedisServer, type RedisServer } from '../state/redis-server';

const john = { id: '123', name: 'John Doe', email: 'j.doe@example.com', phone: '5551234567' };
const jonathan = { name: 'Jonathan Doe', email: 'j.doe@example.com', phone: '(555) 123-4567' };
const stranger = { id: '900', name: 'Ann Lee', email: 'ann@lee.io', phone: '415 555 0999' };

describe('MatchIndex in memory', () => {
	test('upsert, query, update and remove', () => {
		const index = new MatchIndex();
		index.upsert(john);
		index.upsert({ id: '456', name: 'Jane Roe', email: 'jane@roe.com' });
		assert.equal(index.size, 2);
		assert.deepEqual(index.query(jonathan).map((m) => m.id), ['123']);
		// An update that changes the email and phone: the old keys no longer find it.
		index.upsert({ id: '123', name: 'John Doe', email: 'john@new.com', phone: '4155550000' });
		assert.equal(index.size, 2);
		assert.deepEqual(index.query(jonathan), []);
		assert.deepEqual(index.query({ name: 'Johnny Doe', email: 'JOHN@new.com', phone: '415-555-0000' }).map((m) => m.id), ['123']);
		assert.equal(index.remove('123'), true);
		assert.equal(index.remove('123'), false);
		assert.deepEqual(index.query({ name: 'Johnny Doe', email: 'JOHN@new.com', phone: '415-555-0000' }), []);
	});
	test('a record is not its own duplicate', () => {
		const index = new MatchIndex();
		index.upsert(john);
		assert.deepEqual(index.query(john), []);
	});
	test('records need an id to be indexed', () => {
		assert.throws(() => new MatchIndex().upsert({ email: 'a@b.com' }), /needs a non-empty id/);
	});
	test('keeps only the fields matching and master choice read', () => {
		const index = new MatchIndex();
		index.upsert({ ...john, notes: 'private', source: 'hubspot', updatedAt: '2025-01-01' });
		const [match] = index.query(jonathan);
		assert.deepEqual(Object.keys(match.record).sort(), ['email', 'id', 'name', 'phone', 'source', 'updatedAt']);
	});
	test('Fellegi-Sunter: built-in parameters while small, estimated once the index has grown', () => {
		const index = new MatchIndex({ mode: 'fellegiSunter' });
		index.upsert(john);
		assert.equal(index.query(jonathan).length, 1);
		assert.deepEqual(index.fsParameters, DEFAULT_FS_PARAMETERS);
		for (const record of generateLabelledSet({ entities: 600, seed: 8 }).records) index.upsert(record);
		assert.equal(index.query(jonathan).length, 1);
		assert.notDeepEqual(index.fsParameters, DEFAULT_FS_PARAMETERS, 're-estimated from the grown index');
	});
	test('given Fellegi-Sunter parameters are never replaced', () => {
		const fsParameters = structuredClone(DEFAULT_FS_PARAMETERS);
		fsParameters.prior = 0.5;
		const index = new MatchIndex({ mode: 'fellegiSunter', fsParameters });
		for (const record of generateLabelledSet({ entities: 600, seed: 8 }).records) index.upsert(record);
		index.query(jonathan);
		assert.equal(index.fsParameters, fsParameters);
	});
	test('best match first', () => {
		const index = new MatchIndex();
		index.upsert(john);
		index.upsert({ id: '9', name: 'J Doe', email: 'j.doe@example.com' });
		const matches = index.query({ ...jonathan });
		assert.equal(matches[0].id, '123');
		for (let i = 1; i < matches.length; i++) assert.ok(matches[i - 1].confidence >= matches[i].confidence);
	});
});

async function persistenceRoundTrip(store: StateStore): Promise<void> {
	const set = generateLabelledSet({ entities: 300, seed: 21 });
	const index = new MatchIndex({ mode: 'fellegiSunter' });
	for (const record of set.records) index.upsert(record);
	assert.equal(await index.flush(store), set.records.length);
	assert.equal(await index.flush(store), 0, 'nothing changed since');

	index.remove(String(set.records[0].id));
	index.upsert({ ...set.records[1], email: 'changed@example.com' });
	assert.equal(await index.flush(store), 2);

	const loaded = await MatchIndex.load(store, { mode: 'fellegiSunter' });
	assert.equal(loaded.size, set.records.length - 1);
	assert.equal(loaded.has(String(set.records[0].id)), false);
	const probe = { ...set.records[1], id: 'probe' };
	assert.deepEqual(
		loaded.query(probe).map((m) => m.id),
		index.query(probe).map((m) => m.id),
	);
	const changed = loaded.query({ ...probe, email: 'CHANGED@example.com' }).find((m) => m.id === String(set.records[1].id));
	assert.equal(changed?.record.email, 'changed@example.com');
	assert.equal(changed?.factors.email, true);
	const stored = await store.kvGet<Record<string, unknown>>(INDEX_COLLECTION, String(set.records[1].id));
	assert.equal(stored?.email, 'changed@example.com');
}

describe('MatchIndex persisted in the state store', () => {
	let dir: string;
	let redis: RedisServer;
	before(async () => {
		dir = mkdtempSync(join(tmpdir(), 'matching-index-'));
		redis = await startRedisServer();
	});
	after(async () => {
		await redis?.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	test('embedded store: flush, reload, same answers', async () => {
		const store = await openStateStore({ backend: 'embedded', path: join(dir, 'state.sqlite'), namespace: 'matching-test' });
		try {
			await persistenceRoundTrip(store);
		} finally {
			await store.close();
		}
	});

	test('two processes sharing a store: each sees the other\'s flushed changes after refresh', async () => {
		const store = await openStateStore({ backend: 'embedded', path: join(dir, 'shared.sqlite'), namespace: 'matching-shared' });
		try {
			const a = await MatchIndex.load(store);
			const b = await MatchIndex.load(store);
			a.upsert(john);
			assert.equal(await a.flush(store), 1);
			assert.deepEqual(b.query(jonathan), [], 'not before refresh');
			assert.equal(await b.refresh(store), true);
			assert.deepEqual(b.query(jonathan).map((m) => m.id), ['123']);

			// B removes it and adds another; A keeps its own unflushed change through the refresh.
			b.remove('123');
			b.upsert(stranger);
			await b.flush(store);
			a.upsert({ id: '777', name: 'Kim Park', email: 'kim@park.io' });
			await a.refresh(store);
			assert.deepEqual(a.query(jonathan), []);
			assert.deepEqual(a.query({ ...stranger, id: 'x' }).map((m) => m.id), ['900']);
			assert.ok(a.has('777'), 'local change kept');
			await a.flush(store);
			const log = await store.kvScan(INDEX_LOG_COLLECTION);
			assert.equal(log.items.length, 3, 'one log entry per flush');
		} finally {
			await store.close();
		}
	});

	test('a writer whose log entry lands late (earlier key, written after the load) is still applied', async () => {
		const store = await openStateStore({ backend: 'embedded', path: join(dir, 'late.sqlite'), namespace: 'matching-late' });
		try {
			const index = await MatchIndex.load(store);
			// As another process would: record first, then its log entry, keyed 10 s in the past.
			await store.kvPutMany(INDEX_COLLECTION, [{ key: '123', value: john }]);
			const lateKey = `${String(Date.now() - 10_000).padStart(15, '0')}|late-writer`;
			await store.kvPutMany(INDEX_LOG_COLLECTION, [{ key: lateKey, value: ['123'] }]);
			assert.equal(await index.refresh(store), true);
			assert.deepEqual(index.query(jonathan).map((m) => m.id), ['123']);
		} finally {
			await store.close();
		}
	});

	test('sharedMatchIndex keeps the index between uses and catches up with other writers', async () => {
		const store = await openStateStore({ backend: 'embedded', path: join(dir, 'cache.sqlite'), namespace: 'matching-cache' });
		try {
			const first = await sharedMatchIndex('k', store, {});
			const other = await MatchIndex.load(store);
			other.upsert(john);
			await other.flush(store);
			const second = await sharedMatchIndex('k', store, {});
			assert.equal(second, first, 'same instance');
			assert.deepEqual(second.query(jonathan).map((m) => m.id), ['123']);
			forgetMatchIndex('k');
			const third = await sharedMatchIndex('k', store, {});
			assert.notEqual(third, first, 'loaded again after forget');
			assert.equal(third.size, 1);
		} finally {
			forgetMatchIndex('k');
			await store.close();
		}
	});

	test('redis store: flush, reload, same answers', async () => {
		const store = await openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: 'matching-test' });
		try {
			await persistenceRoundTrip(store);
		} finally {
			await store.close();
		}
	});
});
