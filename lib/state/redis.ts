// Redis StateStore (ioredis) for n8n queue mode: main, webhook and worker processes on several
// hosts share one Redis. Keys are `<prefix>:{<namespace>}:...`; the braces are a Redis Cluster
// hash tag, so all keys of a namespace live in one slot and multi-key Lua scripts work.
// Read-modify-write operations are Lua scripts (atomic); TTLs are native (PX / PEXPIRE) and
// time-based arithmetic uses the server's clock (TIME) so hosts with skewed clocks agree.

import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';

import { CRM_NAMES, type CrmName, type EntityType, type UnifiedRecord } from '../model';
import { StateStoreError } from './errors';
import { fieldsHash } from './fingerprint';
import {
	auditLimit,
	decodeCursor,
	encodeCursor,
	erasePerson,
	type ErasureSteps,
	jsonValue,
	kvScanLimit,
	prepareAuditEntries,
	reviewLimit,
	validateBucket,
	validateLink,
	inboxLimit,
	validateInboxEntry,
	validateSnapshot,
	validateTtl,
} from './shared';
import type {
	AuditEntry,
	CrossRef,
	CrossRefLink,
	EchoFingerprint,
	ErasureRequest,
	ErasureResult,
	InboxEntry,
	KvEntry,
	KvScanOptions,
	LockHandle,
	MergeUnifiedResult,
	NewReviewItem,
	Page,
	RedisStateStoreConfig,
	ReviewItem,
	ReviewListOptions,
	Snapshot,
	StateStore,
	StoredAuditEntry,
	TokenBucketOptions,
	TokenBucketResult,
	WindowCounterResult,
} from './types';

// KEYS[1] = forward hash (unified id -> JSON {crm: recordId}); KEYS[2..6] = reverse hashes per CRM
// (recordId -> unified id). ARGV = quadruples (unifiedId, crm, reverse key index, recordId).
const LINK_SCRIPT = `
local fwd = KEYS[1]
for i = 1, #ARGV, 4 do
	local u, crm, rev, r = ARGV[i], ARGV[i + 1], KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3]
	local prevU = redis.call('HGET', rev, r)
	if prevU and prevU ~= u then
		local pj = redis.call('HGET', fwd, prevU)
		if pj then
			local ids = cjson.decode(pj)
			ids[crm] = nil
			if next(ids) == nil then redis.call('HDEL', fwd, prevU) else redis.call('HSET', fwd, prevU, cjson.encode(ids)) end
		end
	end
	local cj = redis.call('HGET', fwd, u)
	local ids = {}
	if cj then ids = cjson.decode(cj) end
	local prevR = ids[crm]
	if prevR and prevR ~= r then redis.call('HDEL', rev, prevR) end
	ids[crm] = r
	redis.call('HSET', fwd, u, cjson.encode(ids))
	redis.call('HSET', rev, r, u)
end
return 1
`;

// KEYS[1] = forward hash, KEYS[2] = reverse hash of the CRM. ARGV = crm, recordId.
const UNLINK_SCRIPT = `
local u = redis.call('HGET', KEYS[2], ARGV[2])
if not u then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
local j = redis.call('HGET', KEYS[1], u)
if j then
	local ids = cjson.decode(j)
	ids[ARGV[1]] = nil
	if next(ids) == nil then redis.call('HDEL', KEYS[1], u) else redis.call('HSET', KEYS[1], u, cjson.encode(ids)) end
end
return 1
`;

// KEYS[1] = forward hash, KEYS[2..6] = reverse hashes (CRM_NAMES order), KEYS[7] = snapshots hash.
// ARGV = survivor, merged, then the 5 CRM names. Returns displaced links as flat (crm, recordId).
const MERGE_SCRIPT = `
local s, m = ARGV[1], ARGV[2]
local displaced = {}
if s == m then return displaced end
local sj = redis.call('HGET', KEYS[1], s)
local sids = {}
if sj then sids = cjson.decode(sj) end
local mj = redis.call('HGET', KEYS[1], m)
if mj then
	local mids = cjson.decode(mj)
	for idx = 1, 5 do
		local crm = ARGV[2 + idx]
		local r = mids[crm]
		if r then
			if sids[crm] then
				redis.call('HDEL', KEYS[1 + idx], r)
				table.insert(displaced, crm)
				table.insert(displaced, r)
			else
				sids[crm] = r
				redis.call('HSET', KEYS[1 + idx], r, s)
			end
		end
	end
	redis.call('HDEL', KEYS[1], m)
	if next(sids) ~= nil then redis.call('HSET', KEYS[1], s, cjson.encode(sids)) end
end
redis.call('HDEL', KEYS[7], m)
return displaced
`;

const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const EXTEND_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

// GDPR erasure: rewrite a hash field only if it is still there.
const REPLACE_IF_PRESENT_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

// Resolve a review only if still open: ZREM from the open set is the atomic claim.
const RESOLVE_REVIEW_SCRIPT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
	redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
	return 1
end
return 0
`;

const NOW_MS_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Same arithmetic as shared.takeFromBucket, on the server clock.
const TOKEN_BUCKET_SCRIPT = `
${NOW_MS_LUA}
local cap, rate, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = cap
if st[1] then tokens = math.min(cap, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) / 1000 * rate) end
local granted, retry = 0, 0
if tokens >= n then tokens = tokens - n; granted = 1 else retry = math.ceil((n - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return {granted, math.floor(tokens), retry}
`;

// Fixed windows aligned to the epoch (as shared.windowStart), on the server clock.
const WINDOW_COUNTER_SCRIPT = `
${NOW_MS_LUA}
local w, by = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = now - (now % w)
local cur = redis.call('HMGET', KEYS[1], 'start', 'count')
local count = by
if cur[1] and tonumber(cur[1]) == start then count = tonumber(cur[2]) + by end
redis.call('HSET', KEYS[1], 'start', tostring(start), 'count', tostring(count))
redis.call('PEXPIRE', KEYS[1], start + w - now + 1000)
return {count, start + w}
`;

// Inbox. KEYS[1] = the CRM's queue (sorted set: id by added time), KEYS[2] = entries (hash id ->
// JSON {crm, payload}). ARGV = id, JSON. Adds only a new id; the added time is the server's.
const INBOX_ADD_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
${NOW_MS_LUA}
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
`;

// KEYS[1] = the CRM's queue, KEYS[2] = entries, KEYS[3] = attempts (hash id -> n), KEYS[4] = leases
// (hash id -> ms until which it is claimed). ARGV = leaseMs, limit. Walks the queue oldest first,
// skipping leased entries; returns flat (id, JSON, attempts, added time).
const INBOX_CLAIM_SCRIPT = `
${NOW_MS_LUA}
local lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local claimed, count, start = {}, 0, 0
while count < limit do
	local page = redis.call('ZRANGE', KEYS[1], start, start + 99, 'WITHSCORES')
	if #page == 0 then break end
	for i = 1, #page, 2 do
		local id = page[i]
		local leasedUntil = tonumber(redis.call('HGET', KEYS[4], id) or '0')
		local doc = redis.call('HGET', KEYS[2], id)
		if doc and leasedUntil <= now then
			local attempts = redis.call('HINCRBY', KEYS[3], id, 1)
			redis.call('HSET', KEYS[4], id, tostring(now + lease))
			table.insert(claimed, id)
			table.insert(claimed, doc)
			table.insert(claimed, attempts)
			table.insert(claimed, page[i + 1])
			count = count + 1
			if count >= limit then break end
		end
	end
	start = start + 100
end
return claimed
`;

interface StoredReview {
	seq: number;
	item: ReviewItem;
}

export async function openRedisStateStore(config: RedisStateStoreConfig): Promise<StateStore> {
	const { Redis } = await import('ioredis');
	const options = config.redis;
	const where = `${options.host}:${options.port}/${options.db ?? 0}`;
	const client = new Redis({
		host: options.host,
		port: options.port,
		username: options.username || undefined,
		password: options.password || undefined,
		db: options.db ?? 0,
		tls: options.tls ? {} : undefined,
		connectTimeout: options.connectTimeoutMs ?? 5000,
		// A hung Redis (stopped, overloaded) must fail a command, not leave it waiting forever.
		commandTimeout: options.commandTimeoutMs ?? 2000,
		lazyConnect: true,
		// Fail fast instead of queueing forever while Redis is down: callers must know.
		enableOfflineQueue: false,
		maxRetriesPerRequest: 1,
		retryStrategy: (times) => Math.min(times * 200, 2000),
	});
	// Errors surface through the rejected commands; this only keeps ioredis from logging them.
	client.on('error', () => undefined);
	try {
		await client.connect();
		await client.ping();
	} catch (error) {
		client.disconnect();
		throw new StateStoreError(
			'unavailable',
			'redis',
			`Redis state store: cannot connect to ${where}: ${(error as Error).message}`,
			error,
		);
	}
	return new RedisStateStore(client, config, where);
}

class RedisStateStore implements StateStore {
	readonly backend = 'redis' as const;
	readonly namespace: string;
	private readonly base: string;
	private readonly auditValues: boolean;
	private readonly auditMax: number;
	private closed = false;

	constructor(
		private readonly client: RedisClient,
		config: RedisStateStoreConfig,
		private readonly where: string,
	) {
		this.namespace = config.namespace;
		this.base = `${config.keyPrefix ?? 'crmsync'}:{${config.namespace}}`;
		this.auditValues = config.auditValues === true;
		this.auditMax = Math.max(1, Math.floor(config.auditMaxEntries ?? 10_000));
	}

	private key(...parts: string[]): string {
		return `${this.base}:${parts.join(':')}`;
	}

	private fwdKey(entity: EntityType): string {
		return this.key('xref', entity, 'u');
	}

	private revKey(entity: EntityType, crm: CrmName): string {
		return this.key('xref', entity, 'r', crm);
	}

	private async op<T>(name: string, fn: () => Promise<T>): Promise<T> {
		if (this.closed) throw new StateStoreError('closed', 'redis', `Redis state store: ${name} after close()`);
		try {
			return await fn();
		} catch (error) {
			if (error instanceof StateStoreError) throw error;
			// A refused MULTI reports EXECABORT; the reason (e.g. OOM) is in previousErrors.
			const previous = (error as { previousErrors?: Error[] }).previousErrors?.[0]?.message;
			const message = `${(error as Error).message ?? String(error)}${previous ? ` (${previous})` : ''}`;
			// A ReplyError is Redis refusing the command (OOM, MISCONF, READONLY...); anything else
			// is the connection (down, timeout, not writable).
			const code = (error as Error).name === 'ReplyError' ? 'io' : 'unavailable';
			throw new StateStoreError(code, 'redis', `Redis state store (${this.where}): ${name} failed: ${message}`, error);
		}
	}

	/** Run a MULTI or pipeline and fail if any command in it failed. */
	private async exec(multi: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
		const results = await multi.exec();
		if (!results) throw new Error('transaction aborted');
		return results.map(([error, value]) => {
			if (error) throw error;
			return value;
		});
	}

	// ---- cursors ----

	getCursor(source: CrmName, entity: EntityType): Promise<string | undefined> {
		return this.op('getCursor', async () => (await this.client.hget(this.key('cursors'), `${source}:${entity}`)) ?? undefined);
	}

	setCursor(source: CrmName, entity: EntityType, cursor: string): Promise<void> {
		return this.op('setCursor', async () => {
			await this.client.hset(this.key('cursors'), `${source}:${entity}`, cursor);
		});
	}

	// ---- cross-references ----

	getCrossRef(entity: EntityType, unifiedId: string): Promise<CrossRef | undefined> {
		return this.getCrossRefs(entity, [unifiedId]).then((map) => map.get(unifiedId));
	}

	getCrossRefs(entity: EntityType, unifiedIds: string[]): Promise<Map<string, CrossRef>> {
		return this.op('getCrossRefs', async () => {
			const result = new Map<string, CrossRef>();
			const ids = [...new Set(unifiedIds)];
			if (ids.length === 0) return result;
			const values = await this.client.hmget(this.fwdKey(entity), ...ids);
			values.forEach((json, i) => {
				if (json) result.set(ids[i], { entity, unifiedId: ids[i], ids: JSON.parse(json) as CrossRef['ids'] });
			});
			return result;
		});
	}

	findUnifiedId(entity: EntityType, crm: CrmName, recordId: string): Promise<string | undefined> {
		return this.findUnifiedIds(entity, crm, [recordId]).then((map) => map.get(recordId));
	}

	findUnifiedIds(entity: EntityType, crm: CrmName, recordIds: string[]): Promise<Map<string, string>> {
		return this.op('findUnifiedIds', async () => {
			const result = new Map<string, string>();
			const ids = [...new Set(recordIds)];
			if (ids.length === 0) return result;
			const values = await this.client.hmget(this.revKey(entity, crm), ...ids);
			values.forEach((unifiedId, i) => {
				if (unifiedId) result.set(ids[i], unifiedId);
			});
			return result;
		});
	}

	link(link: CrossRefLink): Promise<void> {
		return this.linkMany([link]);
	}

	linkMany(links: CrossRefLink[]): Promise<void> {
		return this.op('linkMany', async () => {
			links.forEach((l) => validateLink('redis', l));
			if (links.length === 0) return;
			const byEntity = new Map<EntityType, CrossRefLink[]>();
			for (const l of links) byEntity.set(l.entity, [...(byEntity.get(l.entity) ?? []), l]);
			const multi = this.client.multi();
			for (const [entity, group] of byEntity) {
				const keys = [this.fwdKey(entity), ...CRM_NAMES.map((crm) => this.revKey(entity, crm))];
				const args = group.flatMap((l) => [l.unifiedId, l.crm, String(2 + CRM_NAMES.indexOf(l.crm)), l.recordId]);
				multi.eval(LINK_SCRIPT, keys.length, ...keys, ...args);
			}
			await this.exec(multi);
		});
	}

	unlink(entity: EntityType, crm: CrmName, recordId: string): Promise<boolean> {
		return this.op('unlink', async () => {
			const removed = await this.client.eval(UNLINK_SCRIPT, 2, this.fwdKey(entity), this.revKey(entity, crm), crm, recordId);
			return removed === 1;
		});
	}

	mergeUnifiedIds(entity: EntityType, survivorId: string, mergedId: string): Promise<MergeUnifiedResult> {
		return this.op('mergeUnifiedIds', async () => {
			const keys = [this.fwdKey(entity), ...CRM_NAMES.map((crm) => this.revKey(entity, crm)), this.key('snap', entity)];
			const flat = (await this.client.eval(MERGE_SCRIPT, keys.length, ...keys, survivorId, mergedId, ...CRM_NAMES)) as string[];
			const displaced: CrossRefLink[] = [];
			for (let i = 0; i < flat.length; i += 2) {
				displaced.push({ entity, unifiedId: mergedId, crm: flat[i] as CrmName, recordId: flat[i + 1] });
			}
			const json = await this.client.hget(this.fwdKey(entity), survivorId);
			const crossRef: CrossRef = { entity, unifiedId: survivorId, ids: json ? (JSON.parse(json) as CrossRef['ids']) : {} };
			return { crossRef, displaced };
		});
	}

	// ---- snapshots ----

	getSnapshot(entity: EntityType, unifiedId: string): Promise<Snapshot | undefined> {
		return this.getSnapshots(entity, [unifiedId]).then((map) => map.get(unifiedId));
	}

	getSnapshots(entity: EntityType, unifiedIds: string[]): Promise<Map<string, Snapshot>> {
		return this.op('getSnapshots', async () => {
			const result = new Map<string, Snapshot>();
			const ids = [...new Set(unifiedIds)];
			if (ids.length === 0) return result;
			const values = await this.client.hmget(this.key('snap', entity), ...ids);
			values.forEach((json, i) => {
				if (json) result.set(ids[i], JSON.parse(json) as Snapshot);
			});
			return result;
		});
	}

	putSnapshot(snapshot: Snapshot): Promise<void> {
		return this.putSnapshots([snapshot]);
	}

	putSnapshots(snapshots: Snapshot[]): Promise<void> {
		return this.op('putSnapshots', async () => {
			snapshots.forEach((s) => validateSnapshot('redis', s));
			if (snapshots.length === 0) return;
			const byEntity = new Map<EntityType, string[]>();
			for (const s of snapshots) {
				const args = byEntity.get(s.entity) ?? [];
				args.push(s.unifiedId, JSON.stringify(s));
				byEntity.set(s.entity, args);
			}
			const multi = this.client.multi();
			for (const [entity, args] of byEntity) multi.hset(this.key('snap', entity), ...args);
			await this.exec(multi);
		});
	}

	deleteSnapshot(entity: EntityType, unifiedId: string): Promise<boolean> {
		return this.op('deleteSnapshot', async () => (await this.client.hdel(this.key('snap', entity), unifiedId)) > 0);
	}

	// ---- echoes ----

	private echoKey(crm: CrmName, entity: EntityType, recordId: string): string {
		return this.key('echo', crm, entity, recordId);
	}

	recordEchoes(fingerprints: EchoFingerprint[], ttlMs: number): Promise<void> {
		return this.op('recordEchoes', async () => {
			validateTtl('redis', ttlMs);
			if (fingerprints.length === 0) return;
			const expiresAt = Date.now() + ttlMs;
			const multi = this.client.multi();
			for (const f of fingerprints) {
				const key = this.echoKey(f.crm, f.entity, f.recordId);
				multi.hset(key, f.hash, JSON.stringify({ fields: f.fields, expiresAt }));
				multi.pexpire(key, Math.ceil(ttlMs));
			}
			await this.exec(multi);
		});
	}

	consumeEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<boolean> {
		return this.op('consumeEcho', async () => {
			const key = this.echoKey(crm, entity, recordId);
			const all = await this.client.hgetall(key);
			const now = Date.now();
			for (const [hash, json] of Object.entries(all)) {
				const { fields, expiresAt } = JSON.parse(json) as { fields: string[]; expiresAt: number };
				// HDEL returning 1 is the atomic consume: only one caller gets it.
				if (expiresAt > now && fieldsHash(observed, fields) === hash && (await this.client.hdel(key, hash)) === 1) return true;
			}
			return false;
		});
	}

	matchEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<EchoFingerprint | undefined> {
		return this.op('matchEcho', async () => {
			const all = await this.client.hgetall(this.echoKey(crm, entity, recordId));
			const now = Date.now();
			for (const [hash, json] of Object.entries(all)) {
				const { fields, expiresAt } = JSON.parse(json) as { fields: string[]; expiresAt: number };
				if (expiresAt > now && fieldsHash(observed, fields) === hash) return { crm, entity, recordId, fields, hash };
			}
			return undefined;
		});
	}

	consumeEchoes(fingerprints: EchoFingerprint[]): Promise<number> {
		return this.op('consumeEchoes', async () => {
			if (fingerprints.length === 0) return 0;
			const pipeline = this.client.pipeline();
			for (const f of fingerprints) pipeline.hdel(this.echoKey(f.crm, f.entity, f.recordId), f.hash);
			return (await this.exec(pipeline)).reduce<number>((sum, deleted) => sum + Number(deleted), 0);
		});
	}

	// ---- idempotency ----

	claimIdempotencyKey(key: string, ttlMs: number): Promise<boolean> {
		return this.claimIdempotencyKeys([key], ttlMs).then((results) => results[0]);
	}

	claimIdempotencyKeys(keys: string[], ttlMs: number): Promise<boolean[]> {
		return this.op('claimIdempotencyKeys', async () => {
			validateTtl('redis', ttlMs);
			if (keys.length === 0) return [];
			// Each SET NX is atomic on its own, so a pipeline (no MULTI) is enough. A key repeated in
			// the batch: the first SET NX wins, the repeats get null.
			const pipeline = this.client.pipeline();
			for (const key of keys) pipeline.set(this.key('idem', key), '1', 'PX', Math.ceil(ttlMs), 'NX');
			return (await this.exec(pipeline)).map((reply) => reply === 'OK');
		});
	}

	releaseIdempotencyKey(key: string): Promise<void> {
		return this.op('releaseIdempotencyKey', async () => {
			await this.client.del(this.key('idem', key));
		});
	}

	// ---- locks ----

	acquireLock(resource: string, ttlMs: number): Promise<LockHandle | undefined> {
		return this.op('acquireLock', async () => {
			validateTtl('redis', ttlMs);
			const token = randomUUID();
			const reply = await this.client.set(this.key('lock', resource), token, 'PX', Math.ceil(ttlMs), 'NX');
			return reply === 'OK' ? { resource, token, expiresAt: new Date(Date.now() + ttlMs).toISOString() } : undefined;
		});
	}

	releaseLock(resource: string, token: string): Promise<boolean> {
		return this.op('releaseLock', async () => (await this.client.eval(RELEASE_LOCK_SCRIPT, 1, this.key('lock', resource), token)) === 1);
	}

	extendLock(resource: string, token: string, ttlMs: number): Promise<boolean> {
		return this.op('extendLock', async () => {
			validateTtl('redis', ttlMs);
			return (await this.client.eval(EXTEND_LOCK_SCRIPT, 1, this.key('lock', resource), token, String(Math.ceil(ttlMs)))) === 1;
		});
	}

	// ---- inbox ----

	/** The queue of one CRM and box (the whole CRM's for box '', as before boxes), then the shared hashes. */
	private inboxKeys(crm: CrmName, box = ''): string[] {
		const queue = box === '' ? this.key('inbox', 'queue', crm) : this.key('inbox', 'queue', crm, box);
		return [queue, this.key('inbox', 'entries'), this.key('inbox', 'attempts'), this.key('inbox', 'leases')];
	}

	inboxAdd(entry: { id: string; crm: CrmName; box?: string; payload: string }): Promise<void> {
		return this.op('inboxAdd', async () => {
			validateInboxEntry('redis', entry);
			const [queue, entries] = this.inboxKeys(entry.crm, entry.box);
			await this.client.eval(INBOX_ADD_SCRIPT, 2, queue, entries, entry.id, JSON.stringify({ crm: entry.crm, box: entry.box ?? '', payload: entry.payload }));
		});
	}

	inboxClaim(crm: CrmName, leaseMs: number, limit: number, box = ''): Promise<InboxEntry[]> {
		return this.op('inboxClaim', async () => {
			validateTtl('redis', leaseMs);
			const keys = this.inboxKeys(crm, box);
			const flat = (await this.client.eval(INBOX_CLAIM_SCRIPT, keys.length, ...keys, String(Math.ceil(leaseMs)), String(inboxLimit(limit)))) as Array<string | number>;
			const claimed: InboxEntry[] = [];
			for (let i = 0; i < flat.length; i += 4) {
				const { payload } = JSON.parse(String(flat[i + 1])) as { payload: string };
				claimed.push({ id: String(flat[i]), crm, box, payload, attempts: Number(flat[i + 2]), addedAt: Number(flat[i + 3]) });
			}
			return claimed;
		});
	}

	inboxDelete(id: string): Promise<void> {
		return this.op('inboxDelete', async () => {
			const [, entries, attempts, leases] = this.inboxKeys(CRM_NAMES[0]);
			const doc = await this.client.hget(entries, id);
			const kept = doc ? (JSON.parse(doc) as { crm: CrmName; box?: string }) : undefined;
			const multi = this.client.multi();
			// Its queue, from the entry; an entry already gone is removed from every CRM's own queue.
			if (kept) multi.zrem(this.inboxKeys(kept.crm, kept.box)[0], id);
			else for (const crm of CRM_NAMES) multi.zrem(this.inboxKeys(crm)[0], id);
			multi.hdel(entries, id);
			multi.hdel(attempts, id);
			multi.hdel(leases, id);
			await this.exec(multi);
		});
	}

	inboxRelease(id: string): Promise<void> {
		return this.op('inboxRelease', async () => {
			await this.client.hdel(this.inboxKeys(CRM_NAMES[0])[3], id);
		});
	}

	// ---- review queue ----

	enqueueReview(item: NewReviewItem): Promise<ReviewItem> {
		return this.op('enqueueReview', async () => {
			const seq = await this.client.incr(this.key('review', 'seq'));
			const review: ReviewItem = { ...item, id: randomUUID(), status: 'open', createdAt: new Date().toISOString() };
			const stored: StoredReview = { seq, item: review };
			const multi = this.client.multi();
			multi.hset(this.key('review', 'items'), review.id, JSON.stringify(stored));
			multi.zadd(this.key('review', 'open'), seq, review.id);
			multi.zadd(this.key('review', 'all'), seq, review.id);
			await this.exec(multi);
			return review;
		});
	}

	listReviews(options: ReviewListOptions = {}): Promise<Page<ReviewItem>> {
		return this.op('listReviews', async () => {
			const limit = reviewLimit(options.limit);
			const after = decodeCursor('redis', options.cursor);
			const status = options.status ?? 'open';
			const index = this.key('review', status === 'open' ? 'open' : 'all');
			const ids = await this.client.zrangebyscore(index, `(${after}`, '+inf', 'LIMIT', 0, limit + 1);
			if (ids.length === 0) return { items: [] };
			const docs = await this.client.hmget(this.key('review', 'items'), ...ids.slice(0, limit));
			const stored = docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as StoredReview);
			const items = stored.map((s) => s.item).filter((item) => status === 'all' || item.status === status);
			const last = stored[stored.length - 1];
			return { items, next: ids.length > limit && last ? encodeCursor(last.seq) : undefined };
		});
	}

	getReview(id: string): Promise<ReviewItem | undefined> {
		return this.op('getReview', async () => {
			const json = await this.client.hget(this.key('review', 'items'), id);
			return json ? (JSON.parse(json) as StoredReview).item : undefined;
		});
	}

	resolveReview(id: string, resolution: unknown): Promise<ReviewItem | undefined> {
		return this.op('resolveReview', async () => {
			const json = await this.client.hget(this.key('review', 'items'), id);
			if (!json) return undefined;
			const stored = JSON.parse(json) as StoredReview;
			const resolved: ReviewItem = { ...stored.item, status: 'resolved', resolvedAt: new Date().toISOString(), resolution };
			const claimed = await this.client.eval(
				RESOLVE_REVIEW_SCRIPT,
				2,
				this.key('review', 'open'),
				this.key('review', 'items'),
				id,
				JSON.stringify({ seq: stored.seq, item: resolved } satisfies StoredReview),
			);
			if (claimed !== 1) throw new StateStoreError('conflict', 'redis', `Review item ${id} is already resolved`);
			return resolved;
		});
	}

	removeReview(id: string): Promise<boolean> {
		return this.op('removeReview', async () => {
			const multi = this.client.multi();
			multi.hdel(this.key('review', 'items'), id);
			multi.zrem(this.key('review', 'open'), id);
			multi.zrem(this.key('review', 'all'), id);
			const [deleted] = await this.exec(multi);
			return deleted === 1;
		});
	}

	// ---- audit ----

	appendAudit(entries: AuditEntry[]): Promise<void> {
		return this.op('appendAudit', async () => {
			if (entries.length === 0) return;
			const prepared = prepareAuditEntries(entries, this.auditValues);
			const last = await this.client.incrby(this.key('audit', 'seq'), prepared.length);
			const first = last - prepared.length + 1;
			const multi = this.client.multi();
			const args = prepared.flatMap((entry, i) => [first + i, JSON.stringify({ ...entry, seq: first + i })]);
			multi.zadd(this.key('audit', 'log'), ...args);
			multi.zremrangebyrank(this.key('audit', 'log'), 0, -(this.auditMax + 1));
			await this.exec(multi);
		});
	}

	listAudit(options: { limit?: number; beforeSeq?: number } = {}): Promise<StoredAuditEntry[]> {
		return this.op('listAudit', async () => {
			const max = options.beforeSeq === undefined ? '+inf' : `(${options.beforeSeq}`;
			const docs = await this.client.zrevrangebyscore(this.key('audit', 'log'), max, '-inf', 'LIMIT', 0, auditLimit(options.limit));
			return docs.map((d) => JSON.parse(d) as StoredAuditEntry);
		});
	}

	// ---- rate limiting ----

	takeTokens(bucket: string, options: TokenBucketOptions, count = 1): Promise<TokenBucketResult> {
		return this.op('takeTokens', async () => {
			validateBucket('redis', options, count);
			const [granted, remaining, retryAfterMs] = (await this.client.eval(
				TOKEN_BUCKET_SCRIPT,
				1,
				this.key('bucket', bucket),
				String(options.capacity),
				String(options.refillPerSecond),
				String(count),
			)) as [number, number, number];
			return { granted: granted === 1, remaining, retryAfterMs };
		});
	}

	incrementWindowCounter(key: string, windowMs: number, by = 1): Promise<WindowCounterResult> {
		return this.op('incrementWindowCounter', async () => {
			validateTtl('redis', windowMs);
			const [count, resetAt] = (await this.client.eval(
				WINDOW_COUNTER_SCRIPT,
				1,
				this.key('window', key),
				String(Math.floor(windowMs)),
				String(by),
			)) as [number, number];
			return { count, resetAt: new Date(resetAt).toISOString() };
		});
	}

	// ---- key/value: a hash of values + a sorted set of keys (score 0, ordered bytewise) ----

	kvGet<T = unknown>(collection: string, key: string): Promise<T | undefined> {
		return this.kvGetMany<T>(collection, [key]).then((map) => map.get(key));
	}

	kvGetMany<T = unknown>(collection: string, keys: string[]): Promise<Map<string, T>> {
		return this.op('kvGetMany', async () => {
			const result = new Map<string, T>();
			const unique = [...new Set(keys)];
			if (unique.length === 0) return result;
			const values = await this.client.hmget(this.key('kv', collection), ...unique);
			values.forEach((json, i) => {
				if (json !== null) result.set(unique[i], JSON.parse(json) as T);
			});
			return result;
		});
	}

	kvPut(collection: string, key: string, value: unknown): Promise<void> {
		return this.kvPutMany(collection, [{ key, value }]);
	}

	kvPutMany(collection: string, entries: KvEntry[]): Promise<void> {
		return this.op('kvPutMany', async () => {
			if (entries.length === 0) return;
			const multi = this.client.multi();
			multi.hset(this.key('kv', collection), ...entries.flatMap((e) => [e.key, jsonValue('redis', e.value)]));
			multi.zadd(this.key('kvkeys', collection), ...entries.flatMap((e) => [0, e.key]));
			await this.exec(multi);
		});
	}

	kvDelete(collection: string, key: string): Promise<boolean> {
		return this.kvDeleteMany(collection, [key]).then((n) => n > 0);
	}

	kvDeleteMany(collection: string, keys: string[]): Promise<number> {
		return this.op('kvDeleteMany', async () => {
			const unique = [...new Set(keys)];
			if (unique.length === 0) return 0;
			const multi = this.client.multi();
			multi.hdel(this.key('kv', collection), ...unique);
			multi.zrem(this.key('kvkeys', collection), ...unique);
			const [deleted] = await this.exec(multi);
			return Number(deleted);
		});
	}

	kvScan<T = unknown>(collection: string, options: KvScanOptions = {}): Promise<Page<KvEntry<T>>> {
		return this.op('kvScan', async () => {
			const limit = kvScanLimit(options.limit);
			const prefix = options.prefix ?? '';
			const min = options.after !== undefined && options.after >= prefix ? `(${options.after}` : prefix === '' ? '-' : `[${prefix}`;
			// 0xFF never occurs in UTF-8, so "[prefix\xFF" bounds every key starting with prefix.
			const max = prefix === '' ? '+' : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
			const keys = await this.client.zrangebylex(this.key('kvkeys', collection), min, max, 'LIMIT', 0, limit + 1);
			const page = keys.slice(0, limit);
			if (page.length === 0) return { items: [] };
			const values = await this.client.hmget(this.key('kv', collection), ...page);
			const items: KvEntry<T>[] = [];
			page.forEach((key, i) => {
				if (values[i] !== null) items.push({ key, value: JSON.parse(values[i] as string) as T });
			});
			return { items, next: keys.length > limit ? page[page.length - 1] : undefined };
		});
	}

	// ---- GDPR erasure (the rule is shared.erasePerson) ----

	erasePerson(request: ErasureRequest): Promise<ErasureResult> {
		return erasePerson(this, this.erasureSteps, request);
	}

	private readonly erasureSteps: ErasureSteps = {
		deleteEchoes: (entity, records) =>
			this.op('erasePerson', async () => (records.length ? await this.client.del(...records.map((r) => this.echoKey(r.crm, entity, r.recordId))) : 0)),
		replaceAudit: (entries) =>
			this.op('erasePerson', async () => {
				// Same seq (score), new doc: remove the old member, add the new one, atomically.
				const multi = this.client.multi();
				for (const entry of entries) {
					multi.zremrangebyscore(this.key('audit', 'log'), entry.seq, entry.seq);
					multi.zadd(this.key('audit', 'log'), entry.seq, JSON.stringify(entry));
				}
				await this.exec(multi);
			}),
		inboxEntries: () =>
			this.op('erasePerson', async () =>
				Object.entries(await this.client.hgetall(this.key('inbox', 'entries'))).map(([id, json]) => ({ id, ...(JSON.parse(json) as { crm: CrmName; payload: string }) })),
			),
		updateInbox: (rewritten, deleted) =>
			this.op('erasePerson', async () => {
				const entries = this.key('inbox', 'entries');
				for (const { id, payload } of rewritten) {
					const json = await this.client.hget(entries, id);
					// Only an entry still there (its run may have removed it meanwhile).
					if (json) await this.client.eval(REPLACE_IF_PRESENT_SCRIPT, 1, entries, id, JSON.stringify({ ...(JSON.parse(json) as object), payload }));
				}
				for (const id of deleted) await this.inboxDelete(id);
			}),
		// Deleted keys are gone from memory; copies in RDB / AOF files are the server's to rewrite.
		scrub: async () => undefined,
	};

	// ---- maintenance ----

	/** Redis expires keys itself; nothing to do. */
	purgeExpired(): Promise<void> {
		return this.op('purgeExpired', async () => undefined);
	}

	clearNamespace(): Promise<void> {
		return this.op('clearNamespace', async () => {
			const pattern = `${escapeGlob(this.base)}:*`;
			let cursor = '0';
			do {
				const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
				if (keys.length > 0) await this.client.unlink(...keys);
				cursor = next;
			} while (cursor !== '0');
		});
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		try {
			await this.client.quit();
		} catch {
			// Already disconnected: nothing left to release.
			this.client.disconnect();
		}
	}
}

function escapeGlob(value: string): string {
	return value.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
