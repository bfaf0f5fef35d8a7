// GDPR erasure (StateStore.erasePerson through lib/sync/erasure.ts), on both backends: a person's
// data is written through every path that keeps it, the person is erased, then the RAW storage
// is searched for their email, phone, names and CRM record ids: the SQLite file and its
// write-ahead log as bytes, and every Redis key with every value in it. Another person's data,
// written through the same paths, must still be there.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';

import { MatchIndex } from '../../../lib/matching/match-index';
import { echoFingerprint, openStateStore, type StateStore, type StateStoreConfig } from '../../../lib/state';
import type { SpooledRecord } from '../../../lib/sync/bulk';
import { BULK_COLLECTION } from '../../../lib/sync/collections';
import { erasePersonEverywhere } from '../../../lib/sync/erasure';
import { acceptBulkJob, getBulkJob } from '../../../lib/sync/sync-api';
import { startRedisServer, type RedisServer } from './redis-server';
import { closedAfterSuite } from './suite-stores';

const mary = { firstName: 'Maryhelen', lastName: 'Jacksonford', email: 'maryhelen.jacksonford@erasure.example', phone: '+14155550987' };
const dorothy = { firstName: 'Dorothea', lastName: 'Vaughanston', email: 'dorothea.vaughanston@erasure.example', phone: '+14155550654' };
const MARY_IDS = { hubspot: 'hs-mary-9001', salesforce: '003MARY9001', pipedrive: 'pd-mary-9001' };
const DOROTHY_IDS = { hubspot: 'hs-dorothy-9002', salesforce: '003DOROTHY9002' };

/** What must not be found after the erasure (lower case: the scans are case-insensitive). */
const MARY_TRACES = [mary.firstName, mary.lastName, mary.email, mary.phone, ...Object.values(MARY_IDS)].map((s) => s.toLowerCase());
const DOROTHY_TRACES = [dorothy.lastName, dorothy.email].map((s) => s.toLowerCase());

/** Writes one person through every path that keeps people in the store. */
async function writePerson(store: StateStore, unifiedId: string, person: typeof mary, ids: Record<string, string>): Promise<void> {
	const record = { ...person, id: unifiedId };
	await store.linkMany(Object.entries(ids).map(([crm, recordId]) => ({ entity: 'contact' as const, unifiedId, crm: crm as 'hubspot', recordId })));
	await store.putSnapshot({ entity: 'contact', unifiedId, record: person, fieldModifiedAt: {}, syncedAt: new Date().toISOString() });
	await store.recordEchoes(Object.entries(ids).map(([crm, recordId]) => echoFingerprint(crm as 'hubspot', 'contact', recordId, person)), 600_000);
	await store.enqueueReview({ entity: 'contact', unifiedId, reason: 'conflict on phone', payload: { incoming: person } });
	await store.appendAudit([{ kind: 'conflict.resolved', entity: 'contact', unifiedId, fields: ['phone'], winner: 'hubspot', values: { phone: person.phone, lastName: person.lastName } }]);
	const index = new MatchIndex();
	index.upsert({ ...record, source: 'hubspot' });
	await index.flush(store);
}

/** Pages and notifications holding both people (so the erasure must pick one out). */
async function writeShared(store: StateStore, maryId: string, dorothyId: string): Promise<string> {
	const spooled: SpooledRecord[] = [
		{ unifiedId: maryId, source: 'hubspot', recordId: MARY_IDS.hubspot, record: mary },
		{ unifiedId: dorothyId, source: 'hubspot', recordId: DOROTHY_IDS.hubspot, record: dorothy },
	];
	await store.kvPut(BULK_COLLECTION, `spool|${randomUUID()}|000000`, spooled);
	const job = await acceptBulkJob(store, { entity_type: 'contact', operation: 'update', options: { skip_validation: false, force_update: false, trigger_workflows: false }, records: [{ id: maryId, ...mary }, { id: dorothyId, ...dorothy }] });
	const event = (recordId: string, person: typeof mary) => ({ eventId: randomUUID(), source: 'hubspot', entity: 'contact', operation: 'update', recordId, raw: { objectId: recordId, email: person.email } });
	await store.inboxAdd({ id: randomUUID(), crm: 'hubspot', payload: JSON.stringify([event(MARY_IDS.hubspot, mary), event(DOROTHY_IDS.hubspot, dorothy)]) });
	await store.inboxAdd({ id: randomUUID(), crm: 'hubspot', payload: JSON.stringify([event(MARY_IDS.hubspot, mary)]) });
	return job.jobId;
}

/** Every trace of `needles` in the raw storage text. */
function found(raw: string, needles: string[]): string[] {
	return needles.filter((needle) => raw.includes(needle));
}

function erasureSuite(name: string, openStore: (overrides?: Partial<StateStoreConfig>) => Promise<StateStore>, rawText: (store: StateStore) => Promise<string>): void {
	describe(`GDPR erasure: ${name}`, () => {
		const open = closedAfterSuite(openStore);

		test('erasePerson leaves none of the person in the raw storage, and keeps everyone else', async () => {
			const store = await open({ auditValues: true });
			const maryId = randomUUID();
			const dorothyId = randomUUID();
			await writePerson(store, maryId, mary, MARY_IDS);
			await writePerson(store, dorothyId, dorothy, DOROTHY_IDS);
			const jobId = await writeShared(store, maryId, dorothyId);
			assert.deepEqual(found(await rawText(store), MARY_TRACES), MARY_TRACES, 'before: every trace is there (the scan can fail)');

			// The source record is given (already unlinked by then in a real erasure); the others are found by their links.
			await store.unlink('contact', 'hubspot', MARY_IDS.hubspot);
			const { person, removed } = await erasePersonEverywhere(store, { entity: 'contact', unifiedIds: [maryId], records: [{ crm: 'hubspot', recordId: MARY_IDS.hubspot }] });
			assert.deepEqual(person.emails, [mary.email]);
			assert.equal(person.records.length, 3);
			assert.ok(removed > 0);

			assert.deepEqual(found(await rawText(store), MARY_TRACES), [], 'after: no trace of her in the raw storage');
			assert.deepEqual(found(await rawText(store), DOROTHY_TRACES), DOROTHY_TRACES, 'after: the other person is all there');

			// The other person, through the API.
			assert.equal((await store.getSnapshot('contact', dorothyId))?.record.email, dorothy.email);
			assert.equal((await store.getCrossRef('contact', dorothyId))?.ids.hubspot, DOROTHY_IDS.hubspot);
			assert.equal(await store.consumeEcho('salesforce', 'contact', DOROTHY_IDS.salesforce, dorothy), true, 'her echo is still recognised');
			const reviews = await store.listReviews({ status: 'all' });
			assert.deepEqual(reviews.items.map((r) => r.unifiedId), [dorothyId]);
			const audit = await store.listAudit();
			assert.deepEqual(audit.map((e) => [e.unifiedId, e.values?.lastName]), [[dorothyId, dorothy.lastName], [maryId, undefined]], 'her audit entry keeps the decision, not the values');
			const inbox = await store.inboxClaim('hubspot', 60_000, 10);
			assert.deepEqual(inbox.map((e) => (JSON.parse(e.payload) as Array<{ recordId: string }>).map((x) => x.recordId)), [[DOROTHY_IDS.hubspot]], 'the notification with both keeps hers; the one with only Mary is gone');
			const spool = await store.kvScan<SpooledRecord[]>(BULK_COLLECTION, { prefix: 'spool|' });
			assert.deepEqual(spool.items.map((e) => e.value.map((r) => r.unifiedId)), [[dorothyId]]);
			assert.equal((await getBulkJob(store, jobId))?.records, 2, 'the sync-API job itself stays');

			// Nothing of hers answers any more.
			assert.equal(await store.getSnapshot('contact', maryId), undefined);
			assert.equal(await store.getCrossRef('contact', maryId), undefined);
			assert.equal(await store.findUnifiedId('contact', 'salesforce', MARY_IDS.salesforce), undefined);
			assert.equal(await store.consumeEcho('salesforce', 'contact', MARY_IDS.salesforce, mary), false);
			const index = await MatchIndex.load(store);
			assert.deepEqual([index.has(maryId), index.has(dorothyId)], [false, true]);

			// Run again (an erasure that failed half-way is repeated): nothing left to remove.
			assert.equal((await erasePersonEverywhere(store, { entity: 'contact', unifiedIds: [maryId] })).removed, 0);
		});

		test('includeLinked: false keeps the links other CRMs still need to erase the person there', async () => {
			const store = await open();
			const maryId = randomUUID();
			await writePerson(store, maryId, mary, MARY_IDS);
			await erasePersonEverywhere(store, { entity: 'contact', unifiedIds: [maryId], records: [{ crm: 'hubspot', recordId: MARY_IDS.hubspot }], includeLinked: false });
			assert.deepEqual((await store.getCrossRef('contact', maryId))?.ids, { salesforce: MARY_IDS.salesforce, pipedrive: MARY_IDS.pipedrive });
			assert.equal(await store.getSnapshot('contact', maryId), undefined);
			assert.equal(await store.consumeEcho('hubspot', 'contact', MARY_IDS.hubspot, mary), false, 'the given record is purged');
			assert.equal(await store.consumeEcho('pipedrive', 'contact', MARY_IDS.pipedrive, mary), true, 'a linked one is left to its own step');
		});

		test('a request without any id is refused and changes nothing', async () => {
			const store = await open();
			await assert.rejects(store.erasePerson({ entity: 'contact', unifiedIds: [] }), { code: 'invalid-argument' });
			await assert.rejects(store.erasePerson({ entity: 'contact', unifiedIds: [''] }), { code: 'invalid-argument' });
			await assert.rejects(store.erasePerson({ entity: 'contact', unifiedIds: [], records: [{ crm: 'nope' as 'hubspot', recordId: '1' }] }), { code: 'invalid-argument' });
		});
	});
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-erasure-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// One file per store, so that a scan sees one person's namespace only.
const files = new Map<StateStore, string>();
erasureSuite(
	'embedded (node:sqlite)',
	async (overrides = {}) => {
		const file = path.join(tmp, `${randomUUID()}.sqlite`);
		const store = await openStateStore({ backend: 'embedded', path: file, namespace: randomUUID(), ...overrides } as StateStoreConfig);
		files.set(store, file);
		return store;
	},
	// The bytes of the database file and of its write-ahead log, as the disk holds them.
	async (store) => {
		const file = files.get(store)!;
		return [file, `${file}-wal`]
			.filter((f) => fs.existsSync(f))
			.map((f) => fs.readFileSync(f).toString('latin1'))
			.join('\n')
			.toLowerCase();
	},
);

let redis: RedisServer;
before(async () => {
	redis = await startRedisServer();
});
after(async () => {
	await redis?.stop();
});

erasureSuite(
	'redis (real redis-server)',
	(overrides = {}) => openStateStore({ backend: 'redis', redis: { host: '127.0.0.1', port: redis.port }, namespace: randomUUID(), ...overrides } as StateStoreConfig),
	// Every key of the namespace and every value in it, read by type.
	async (store) => {
		const client = new Redis({ host: '127.0.0.1', port: redis.port });
		try {
			const lines: string[] = [];
			let cursor = '0';
			do {
				const [next, keys] = await client.scan(cursor, 'MATCH', `crmsync:{${store.namespace}}:*`, 'COUNT', 1000);
				for (const key of keys) {
					const type = await client.type(key);
					const value =
						type === 'string' ? await client.get(key)
						: type === 'hash' ? await client.hgetall(key)
						: type === 'zset' ? await client.zrange(key, 0, -1, 'WITHSCORES')
						: type === 'set' ? await client.smembers(key)
						: type === 'list' ? await client.lrange(key, 0, -1)
						: `(unread type ${type})`;
					lines.push(`${key} ${JSON.stringify(value)}`);
				}
				cursor = next;
			} while (cursor !== '0');
			return lines.join('\n').toLowerCase();
		} finally {
			client.disconnect();
		}
	},
);
