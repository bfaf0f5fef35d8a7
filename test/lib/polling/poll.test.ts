// Polling delta capture (lib/polling) with the real connectors against the sandbox emulators and
// a real embedded state store (SQLite file): paging past the CRMs' caps with max-records limits,
// overlap and de-duplication, changes during a sweep, a restart in a new process, a store that
// fails at commit, echoes and own-change markers, full and since modes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { createConnector, type CrmConnector } from '../../../lib/connectors';
import type { CrmName } from '../../../lib/model';
import { pollChanges, type PolledEvent, type PollOptions } from '../../../lib/polling';
import { openStateStore, type StateStore } from '../../../lib/state';
import { UpsertWriter } from '../../../lib/sync/upsert-writer';
import { OWNER_EMAIL_FROM_METADATA, STAGE_FROM_METADATA } from '../../../lib/mapping';
import { crmMetadata } from '../../../lib/sync/crm-metadata';
import { startRedisServer } from '../state/redis-server';

const HUBSPOT_CONTACTS = 10_500;
const ZOHO_CONTACTS = 2_500;

let sandbox: Sandbox;
let dir: string;
let tokenSeq = 0;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot', 'zoho'] });
	sandbox.emulators.hubspot!.seed({ contacts: HUBSPOT_CONTACTS, companies: 0, deals: 0, activities: 0 });
	sandbox.emulators.zoho!.seed({ contacts: ZOHO_CONTACTS, companies: 0, deals: 0, activities: 0 });
	dir = mkdtempSync(join(tmpdir(), 'crm-polling-'));
});

after(async () => {
	await sandbox?.stop();
	rmSync(dir, { recursive: true, force: true });
});

function credentials(crm: 'hubspot' | 'zoho'): Record<string, unknown> {
	const url = sandbox.urls[crm]!;
	const token = `poll-test-${++tokenSeq}`;
	return crm === 'hubspot'
		? { accessToken: token, baseUrl: url }
		: { clientId: 'c', clientSecret: 's', accountsUrlOverride: url, apiDomainOverride: url, oauthTokenData: { access_token: token, refresh_token: 'r', api_domain: url } };
}

/** HubSpot's search limit (4/s) is the connector's default; raised here so the 10K test is quick (the bench measures both). */
function connector(crm: 'hubspot' | 'zoho'): CrmConnector {
	return createConnector(crm, credentials(crm), { limits: { search: { requests: 100, intervalMs: 1000, maxConcurrent: 2 } } });
}

const dbPath = () => join(dir, 'state.db');
const open = (namespace: string): Promise<StateStore> => openStateStore({ backend: 'embedded', namespace, path: dbPath() });

interface Run {
	events: PolledEvent[];
	polls: number;
}

/** Polls and commits until caught up; `between(poll)` runs after each committed poll. */
async function drain(c: CrmConnector, store: StateStore, options: PollOptions, between?: (poll: number) => Promise<void>): Promise<Run> {
	const events: PolledEvent[] = [];
	let polls = 0;
	for (;;) {
		const batch = await pollChanges(c, store, options);
		polls++;
		const handled = batch.events.length + batch.dropped.ownChanges + batch.dropped.echoes;
		assert.ok(handled <= (options.maxRecords ?? 1000), `poll ${polls} handled ${handled} changes, above the limit`);
		events.push(...batch.events);
		await batch.commit();
		await between?.(polls);
		if (!batch.hasMore) return { events, polls };
		assert.ok(polls < 1000, 'polling does not terminate');
	}
}

/** Live records of the emulator: id → modification time as the API reports it. */
function live(crm: 'hubspot' | 'zoho'): Map<string, string> {
	const out = new Map<string, string>();
	if (crm === 'hubspot') {
		for (const r of sandbox.emulators.hubspot!.dump().contacts as Array<{ id: string; properties: Record<string, string>; archived?: boolean }>) {
			if (!r.archived) out.set(r.id, new Date(r.properties.lastmodifieddate).toISOString());
		}
	} else {
		for (const r of sandbox.emulators.zoho!.dump().Contacts as Array<{ id: string; Modified_Time: string; $deleted?: boolean }>) {
			if (!r.$deleted) out.set(r.id, new Date(r.Modified_Time).toISOString());
		}
	}
	return out;
}

/** No (record, stamp) twice; every live record's latest version exactly once. */
function assertExactlyOnce(events: PolledEvent[], records: Map<string, string>, label: string): void {
	const versions = events.filter((e) => e.operation === 'create' || e.operation === 'update').map((e) => `${e.recordId}@${e.occurredAt}`);
	assert.equal(new Set(versions).size, versions.length, `${label}: a record version was emitted twice`);
	const emitted = new Set(versions);
	const missing = [...records].filter(([id, stamp]) => !emitted.has(`${id}@${stamp}`));
	assert.deepEqual(missing.slice(0, 5), [], `${label}: ${missing.length} live records' latest versions never emitted`);
}

async function create(c: CrmConnector, crm: CrmName, n: number, tag: string): Promise<string[]> {
	const fields = (i: number) => (crm === 'hubspot' ? { email: `${tag}${i}@poll.example`, lastname: `${tag}${i}` } : { Last_Name: `${tag}${i}`, Email: `${tag}${i}@poll.example` });
	const outcomes = await c.create('contact', Array.from({ length: n }, (_, i) => ({ ref: i, fields: fields(i) })));
	return outcomes.map((o) => {
		assert.notEqual(o.status, 'failed', JSON.stringify(o));
		return (o as { id: string }).id;
	});
}

async function rename(c: CrmConnector, crm: CrmName, ids: string[], tag: string): Promise<void> {
	const outcomes = await c.update('contact', ids.map((id, ref) => ({ ref, id, fields: crm === 'hubspot' ? { lastname: `${tag}${ref}` } : { Last_Name: `${tag}${ref}` } })));
	for (const o of outcomes) assert.notEqual(o.status, 'failed', JSON.stringify(o));
}

for (const [crm, seeded, maxRecords] of [
	['hubspot', HUBSPOT_CONTACTS, 700],
	['zoho', ZOHO_CONTACTS, 450],
] as const) {
	describe(`${crm}: paging through ${seeded} changed contacts`, () => {
		test('every record exactly once across polls limited by max records, with changes made during the sweep', async () => {
			const store = await open(`sweep-${crm}`);
			const c = connector(crm);
			const before = live(crm);
			assert.ok(before.size >= seeded);
			const ordered = [...before.keys()];
			let touchedEarly: string[] = [];
			let touchedLate: string[] = [];
			let deleted: string[] = [];
			let created: string[] = [];
			const run = await drain(c, store, { entity: 'contact', maxRecords }, async (poll) => {
				if (poll !== 2) return;
				// During the sweep: records already emitted and records not reached yet change, new ones
				// appear, one of each kind is deleted.
				touchedEarly = ordered.slice(10, 15);
				touchedLate = ordered.slice(-5);
				await rename(c, crm, [...touchedEarly, ...touchedLate], 'Changed');
				created = await create(c, crm, 3, `mid-${crm}-`);
				deleted = [ordered[20], ordered[ordered.length - 20]];
				const outcomes = await c.delete('contact', deleted.map((id, ref) => ({ ref, id })));
				for (const o of outcomes) assert.notEqual(o.status, 'failed', JSON.stringify(o));
			});
			assert.ok(run.polls >= Math.ceil(seeded / maxRecords), `only ${run.polls} polls`);
			assertExactlyOnce(run.events, live(crm), crm);
			const ids = new Set(run.events.map((e) => e.recordId));
			for (const id of ordered) assert.ok(ids.has(id), `${id} never emitted`);
			for (const id of created) assert.ok(ids.has(id), `created ${id} not emitted`);
			for (const id of [...touchedEarly, ...touchedLate]) {
				const last = run.events.filter((e) => e.recordId === id && e.operation !== 'delete').at(-1);
				assert.match(String(last?.record?.[crm === 'hubspot' ? 'lastname' : 'Last_Name']), /^Changed/, `${id}: latest values emitted`);
			}
			const deletes = run.events.filter((e) => e.operation === 'delete').map((e) => e.recordId);
			assert.deepEqual([...new Set(deletes)].sort(), [...deleted].sort(), 'each deletion reported once');
			assert.equal(deletes.length, deleted.length);
			assert.ok(run.events.filter((e) => e.operation === 'create').length >= seeded, 'first sweep: records are new to us');

			// Caught up: the overlap re-read drops everything already handled.
			let again = await drain(c, store, { entity: 'contact', maxRecords });
			assert.deepEqual(again.events, []);
			again = await drain(c, store, { entity: 'contact', maxRecords });
			assert.deepEqual(again.events, []);
			await store.close();
		});
	});
}

describe('overlap and de-duplication', () => {
	test('zoho: a record modified in the same second as the stored position is read once, and only the new one', async () => {
		const c = connector('zoho');
		for (let attempt = 1; ; attempt++) {
			const store = await open(`same-second-${attempt}`);
			const options: PollOptions = { entity: 'contact', mode: 'since', since: new Date(Date.now() - 1000).toISOString() };
			await drain(c, store, options);
			// Start of a fresh second, so both writes very likely share it.
			await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
			const [first] = await create(c, 'zoho', 1, `same-a${attempt}-`);
			const one = await drain(c, store, options);
			const [second] = await create(c, 'zoho', 1, `same-b${attempt}-`);
			const records = live('zoho');
			if (records.get(first) !== records.get(second)) {
				await store.close();
				assert.ok(attempt < 5, 'could not make two writes in the same second');
				continue;
			}
			// Precondition holds: both stamps equal the stored watermark's second.
			assert.ok(one.events.some((e) => e.recordId === first));
			const two = await drain(c, store, options);
			assert.deepEqual(two.events.map((e) => e.recordId), [second]);
			await store.close();
			return;
		}
	});

	test('hubspot: records modified while a poll pages are read (again, with their new stamp) and none are lost', async () => {
		const store = await open('during-poll');
		const c = connector('hubspot');
		const since = new Date(Date.now() + 1).toISOString();
		await new Promise((r) => setTimeout(r, 5));
		const ids = await create(c, 'hubspot', 450, 'during-');
		// A connector whose pages trigger writes: ahead of the read position and behind it.
		let pages = 0;
		const racing: CrmConnector = Object.create(c);
		racing.listChanges = async (entity, options) => {
			const page = await c.listChanges(entity, options);
			if (++pages === 2) await rename(c, 'hubspot', [ids[5], ids[300], ids[449]], 'Raced');
			return page;
		};
		const run = await drain(racing, store, { entity: 'contact', mode: 'since', since, maxRecords: 1000, pageSize: 100 });
		const records = new Map([...live('hubspot')].filter(([id]) => ids.includes(id)));
		assertExactlyOnce(run.events, records, 'during poll');
		for (const id of [ids[5], ids[300], ids[449]]) {
			assert.equal(run.events.filter((e) => e.recordId === id).at(-1)?.record?.lastname, `Raced${[ids[5], ids[300], ids[449]].indexOf(id)}`);
		}
		await store.close();
	});
});

describe('durability', () => {
	test('restart: a new process and a new store instance continue from the stored position', async () => {
		const namespace = 'restart';
		let store = await open(namespace);
		const c = connector('zoho');
		const since = '2000-01-01T00:00:00.000Z';
		const options: PollOptions = { entity: 'contact', mode: 'since', since, maxRecords: 400 };
		const events: PolledEvent[] = [];
		for (let i = 0; i < 2; i++) {
			const batch = await pollChanges(c, store, options);
			events.push(...batch.events);
			await batch.commit();
		}
		await store.close();

		// One poll in another Node process, on the same state file.
		const script = `
			const { createConnector } = require('./lib/connectors');
			const { openStateStore } = require('./lib/state');
			const { pollChanges } = require('./lib/polling');
			(async () => {
				const store = await openStateStore({ backend: 'embedded', namespace: ${JSON.stringify(namespace)}, path: ${JSON.stringify(dbPath())} });
				const c = createConnector('zoho', ${JSON.stringify(credentials('zoho'))});
				const batch = await pollChanges(c, store, ${JSON.stringify(options)});
				await batch.commit();
				await store.close();
				process.stdout.write(JSON.stringify(batch.events));
			})().catch((e) => { console.error(e); process.exit(1); });`;
		const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..', '..', '..'), maxBuffer: 64 * 1024 * 1024 });
		const child = JSON.parse(stdout) as PolledEvent[];
		assert.equal(child.length, 400, 'the child process read the next 400');
		events.push(...child);

		store = await open(namespace);
		const rest = await drain(c, store, options);
		events.push(...rest.events);
		assertExactlyOnce(events, live('zoho'), 'restart');
		await store.close();
	});

	test('a store that fails at commit moves nothing: the next poll reads the same changes', async () => {
		let store = await open('commit-fails');
		const c = connector('zoho');
		const options: PollOptions = { entity: 'contact', mode: 'since', since: '2000-01-01T00:00:00.000Z', maxRecords: 300 };
		const first = await pollChanges(c, store, options);
		await first.commit();
		const lost = await pollChanges(c, store, options);
		await store.close(); // the store goes away between reading and committing
		await assert.rejects(lost.commit(), /after close\(\)/);
		store = await open('commit-fails');
		const retried = await pollChanges(c, store, options);
		assert.deepEqual(retried.events.map((e) => e.eventId), lost.events.map((e) => e.eventId));
		await retried.commit();
		await store.close();
	});
});

describe('echoes and own changes', () => {
	test('a write made by Unified CRM Upsert is dropped once; a later change by someone else is emitted', async () => {
		const store = await open('echo');
		const c = connector('hubspot');
		const [id] = await create(c, 'hubspot', 1, 'echo-');
		const options: PollOptions = { entity: 'contact', mode: 'since', since: new Date(Date.now() - 60_000).toISOString() };
		await drain(c, store, options);

		const writer = new UpsertWriter(
			{ crm: 'hubspot', entity: 'contact', operation: 'update', inputFormat: 'crm', matchKey: '', dryRun: false, unchangedAgainst: 'snapshot' as const, recordEchoes: true, continueOnFail: false, recordState: true },
			() => c,
			async () => store,
		);
		const results = await writer.run([{ index: 0, record: { crmId: id, lastname: 'Written by the sync', email: 'echo-0@poll.example' } }]);
		assert.ok(results[0].ok, JSON.stringify(results[0]));
		const echo = await pollChanges(c, store, options);
		assert.deepEqual(echo.events.map((e) => e.recordId), []);
		assert.equal(echo.dropped.echoes, 1);
		await echo.commit();

		await rename(c, 'hubspot', [id], 'Edited by a person ');
		const human = await drain(c, store, options);
		assert.deepEqual(human.events.map((e) => [e.recordId, e.operation]), [[id, 'update']]);
		await store.close();
	});

	test('zoho: changes whose Modified_By is a configured marker are dropped', async () => {
		const store = await open('markers');
		const c = connector('zoho');
		const self = await (c as unknown as { changeOrigin(): Promise<{ actorId?: string }> }).changeOrigin();
		assert.ok(self.actorId);
		const since = new Date(Date.now() - 1000).toISOString();
		const ids = await create(c, 'zoho', 2, 'marker-');
		const fields = ['Last_Name', 'Email', 'Modified_By'];
		// Records of earlier tests may share the window; ours must be among the emitted ones.
		const other = await pollChanges(c, store, { entity: 'contact', mode: 'since', since, fields, ownChangeMarkers: ['someone-else'] });
		assert.deepEqual(other.events.map((e) => e.recordId).filter((id) => ids.includes(id)).sort(), [...ids].sort(), 'other markers do not match');
		assert.equal(other.dropped.ownChanges, 0);
		// Every record in the sandbox was written by this connector's user, so the marker drops them all.
		const own = await pollChanges(c, store, { entity: 'contact', mode: 'since', since, fields, ownChangeMarkers: [self.actorId!] });
		assert.equal(own.events.length, 0);
		assert.equal(own.dropped.ownChanges, other.events.length);
		await store.close();
	});
});

describe('modes', () => {
	test('full: every record again at each sweep; since: only changes from the date on', async () => {
		const store = await open('modes');
		const c = connector('hubspot');
		const since = new Date(Date.now() + 1).toISOString();
		await new Promise((r) => setTimeout(r, 5));
		const ids = await create(c, 'hubspot', 30, 'mode-');
		const recent = await drain(c, store, { entity: 'contact', mode: 'since', since, maxRecords: 7 });
		assert.deepEqual(recent.events.map((e) => e.recordId).sort(), [...ids].sort());

		const fullStore = await open('modes-full');
		const made = await c.create('opportunity', Array.from({ length: 25 }, (_, ref) => ({ ref, fields: { dealname: `Full ${ref}` } })));
		assert.ok(made.every((o) => o.status === 'created'));
		const first = await drain(c, fullStore, { entity: 'opportunity', mode: 'full', maxRecords: 500 });
		const deals = (sandbox.emulators.hubspot!.dump().deals as Array<{ archived?: boolean }>).filter((d) => !d.archived).length;
		assert.ok(deals >= 25);
		assert.equal(first.events.length, deals);
		const second = await drain(c, fullStore, { entity: 'opportunity', mode: 'full', maxRecords: 500 });
		assert.equal(second.events.length, deals, 'a full sweep re-emits every record');
		await store.close();
		await fullStore.close();
	});
});

describe('redis state store', () => {
	test('zoho: the same exactly-once sweep with the position in a real Redis', async () => {
		const server = await startRedisServer();
		const store = await openStateStore({ backend: 'redis', namespace: 'poll-redis', redis: { host: '127.0.0.1', port: server.port } });
		try {
			const run = await drain(connector('zoho'), store, { entity: 'contact', mode: 'since', since: '2000-01-01T00:00:00.000Z', maxRecords: 450 });
			assert.ok(run.polls >= 6);
			assertExactlyOnce(run.events, live('zoho'), 'redis');
			const again = await drain(connector('zoho'), store, { entity: 'contact', mode: 'since', since: '2000-01-01T00:00:00.000Z', maxRecords: 450 });
			assert.deepEqual(again.events, []);
		} finally {
			await store.close();
			await server.stop();
		}
	});
});

describe('deals with the CRM metadata', () => {
	test('polled HubSpot deals carry their unified stage and owner e-mail, as the webhook trigger gives them', async () => {
		const store = await open('poll-deals');
		const owner = (await connector('hubspot').listUsers()).find((u) => u.active && u.email)!;
		const res = await fetch(`${sandbox.urls.hubspot}/__admin/objects/deals`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ properties: { dealname: 'Polled deal', dealstage: 'contractsent', pipeline: 'default', hubspot_owner_id: owner.id } }),
		});
		assert.ok(res.ok, await res.text());
		const c = connector('hubspot');
		const { events } = await drain(c, store, { entity: 'opportunity', mode: 'full', metadata: await crmMetadata(c) });
		const deal = events.find((e) => e.record?.dealname === 'Polled deal');
		assert.ok(deal, 'the deal is polled');
		assert.equal(deal.record?.[STAGE_FROM_METADATA], 'negotiation');
		assert.equal(deal.record?.[OWNER_EMAIL_FROM_METADATA], owner.email!.toLowerCase());
		await store.close();
	});
});
