// Embedded StateStore on Node's built-in node:sqlite: one file, WAL mode, safe for several
// processes on one host (SQLite file locking + busy_timeout; read-modify-write operations run
// in BEGIN IMMEDIATE transactions). TTLs are expiry columns checked on read and purged lazily.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

import type { CrmName, EntityType, UnifiedRecord } from '../model';
import { StateStoreError } from './errors';
import { fieldsHash } from './fingerprint';
import {
	auditLimit,
	decodeCursor,
	encodeCursor,
	erasePerson,
	type ErasureSteps,
	kvScanLimit,
	prefixUpperBound,
	prepareAuditEntries,
	reviewLimit,
	takeFromBucket,
	jsonValue,
	validateLink,
	validateSnapshot,
	validateInboxEntry,
	validateTtl,
	inboxLimit,
	windowStart,
} from './shared';
import type {
	AuditEntry,
	CrossRef,
	CrossRefLink,
	EchoFingerprint,
	EmbeddedStateStoreConfig,
	ErasureRequest,
	ErasureResult,
	InboxEntry,
	KvEntry,
	KvScanOptions,
	LockHandle,
	MergeUnifiedResult,
	NewReviewItem,
	Page,
	ReviewItem,
	ReviewListOptions,
	Snapshot,
	StateStore,
	StoredAuditEntry,
	TokenBucketOptions,
	TokenBucketResult,
	WindowCounterResult,
} from './types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cursors (ns TEXT NOT NULL, source TEXT NOT NULL, entity TEXT NOT NULL, cursor TEXT NOT NULL,
	PRIMARY KEY (ns, source, entity)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS xref (ns TEXT NOT NULL, entity TEXT NOT NULL, unified_id TEXT NOT NULL, crm TEXT NOT NULL, record_id TEXT NOT NULL,
	PRIMARY KEY (ns, entity, crm, record_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS xref_by_unified ON xref (ns, entity, unified_id, crm);
CREATE TABLE IF NOT EXISTS snapshots (ns TEXT NOT NULL, entity TEXT NOT NULL, unified_id TEXT NOT NULL, doc TEXT NOT NULL,
	PRIMARY KEY (ns, entity, unified_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS echoes (ns TEXT NOT NULL, crm TEXT NOT NULL, entity TEXT NOT NULL, record_id TEXT NOT NULL, hash TEXT NOT NULL,
	fields TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (ns, crm, entity, record_id, hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (ns TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL,
	PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (ns TEXT NOT NULL, resource TEXT NOT NULL, token TEXT NOT NULL, expires_at INTEGER NOT NULL,
	PRIMARY KEY (ns, resource)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reviews (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL,
	doc TEXT NOT NULL, UNIQUE (ns, id));
CREATE INDEX IF NOT EXISTS reviews_by_status ON reviews (ns, status, seq);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_ns ON audit (ns, seq);
CREATE TABLE IF NOT EXISTS buckets (ns TEXT NOT NULL, bucket TEXT NOT NULL, tokens REAL NOT NULL, updated_at INTEGER NOT NULL,
	PRIMARY KEY (ns, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (ns TEXT NOT NULL, key TEXT NOT NULL, window_start INTEGER NOT NULL, count INTEGER NOT NULL,
	expires_at INTEGER NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
	PRIMARY KEY (ns, collection, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (ns TEXT NOT NULL, id TEXT NOT NULL, crm TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL,
	added_at INTEGER NOT NULL, claimed_until INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_by_crm ON inbox (ns, crm, added_at);
`;

/** Columns added since a table was first created: [table, column, definition]. */
const ADDED_COLUMNS: Array<[string, string, string]> = [['inbox', 'box', "TEXT NOT NULL DEFAULT ''"]];

function addMissingColumns(db: DatabaseSync): void {
	for (const [table, column, definition] of ADDED_COLUMNS) {
		const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
		if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
	}
}

/** Tables holding namespaced data (for clearNamespace). */
const TABLES = ['cursors', 'xref', 'snapshots', 'echoes', 'idempotency', 'locks', 'reviews', 'audit', 'buckets', 'counters', 'kv', 'inbox'];

/** SQLite's default host-parameter limit is 32766; stay far below it. */
const CHUNK = 500;
/** How long an erasure waits for other processes' readers to let the write-ahead log be truncated. */
const SCRUB_WAIT_MS = 5000;
/** Purge expired rows every this many TTL-bearing writes. */
const PURGE_EVERY = 1000;

type Row = Record<string, unknown>;

function loadSqlite(): typeof import('node:sqlite') {
	try {
		// Lazy so that merely loading this package on an older Node does not fail.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return require('node:sqlite') as typeof import('node:sqlite');
	} catch (error) {
		throw new StateStoreError(
			'unsupported-runtime',
			'embedded',
			`The embedded state store needs Node.js >= 22.5 (built-in node:sqlite); this is Node.js ${process.version}. ` +
				'Upgrade Node.js (n8n 2.x runs on Node.js 24) or choose the Redis state store backend.',
			error,
		);
	}
}

export async function openEmbeddedStateStore(config: EmbeddedStateStoreConfig): Promise<StateStore> {
	const sqlite = loadSqlite();
	if (typeof config.path !== 'string' || config.path.trim() === '') {
		throw new StateStoreError('invalid-argument', 'embedded', 'Embedded state store: a file path is required');
	}
	let db: DatabaseSync;
	try {
		fs.mkdirSync(path.dirname(config.path), { recursive: true });
		db = new sqlite.DatabaseSync(config.path);
		db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(config.busyTimeoutMs ?? 5000))}`);
		db.exec('PRAGMA journal_mode = WAL');
		db.exec('PRAGMA synchronous = NORMAL');
		// GDPR erasure: deleted rows are overwritten, not left readable in free pages.
		db.exec('PRAGMA secure_delete = ON');
		db.exec(SCHEMA);
		addMissingColumns(db);
	} catch (error) {
		throw new StateStoreError(
			'io',
			'embedded',
			`Embedded state store: cannot open ${config.path}: ${(error as Error).message}`,
			error,
		);
	}
	return new EmbeddedStateStore(db, config);
}

class EmbeddedStateStore implements StateStore {
	readonly backend = 'embedded' as const;
	readonly namespace: string;
	private readonly statements = new Map<string, StatementSync>();
	private closed = false;
	private writesSincePurge = 0;
	private readonly auditValues: boolean;
	private readonly auditMax: number;

	constructor(
		private readonly db: DatabaseSync,
		private readonly config: EmbeddedStateStoreConfig,
	) {
		this.namespace = config.namespace;
		this.auditValues = config.auditValues === true;
		this.auditMax = Math.max(1, Math.floor(config.auditMaxEntries ?? 10_000));
	}

	// ---- plumbing ----

	private stmt(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	/** Run `fn` as one store operation: closed check and error translation. */
	private async op<T>(name: string, fn: () => T): Promise<T> {
		if (this.closed) throw new StateStoreError('closed', 'embedded', `Embedded state store: ${name} after close()`);
		try {
			return fn();
		} catch (error) {
			if (error instanceof StateStoreError) throw error;
			const message = (error as Error).message ?? String(error);
			throw new StateStoreError('io', 'embedded', `Embedded state store (${this.config.path}): ${name} failed: ${message}`, error);
		}
	}

	/** BEGIN IMMEDIATE takes the write lock up front so read-modify-write is atomic across processes. */
	private tx<T>(fn: () => T): T {
		this.db.exec('BEGIN IMMEDIATE');
		try {
			const result = fn();
			this.db.exec('COMMIT');
			return result;
		} catch (error) {
			try {
				this.db.exec('ROLLBACK');
			} catch {
				// The transaction may already be rolled back by SQLite (e.g. SQLITE_FULL).
			}
			throw error;
		}
	}

	private maybePurge(): void {
		this.writesSincePurge++;
		if (this.writesSincePurge >= PURGE_EVERY) {
			this.writesSincePurge = 0;
			this.purgeNow();
		}
	}

	private purgeNow(): void {
		const now = Date.now();
		for (const table of ['echoes', 'idempotency', 'locks', 'counters']) {
			this.stmt(`DELETE FROM ${table} WHERE ns = ? AND expires_at <= ?`).run(this.namespace, now);
		}
	}

	// ---- cursors ----

	getCursor(source: CrmName, entity: EntityType): Promise<string | undefined> {
		return this.op('getCursor', () => {
			const row = this.stmt('SELECT cursor FROM cursors WHERE ns = ? AND source = ? AND entity = ?').get(this.namespace, source, entity);
			return row ? String(row.cursor) : undefined;
		});
	}

	setCursor(source: CrmName, entity: EntityType, cursor: string): Promise<void> {
		return this.op('setCursor', () => {
			this.stmt('INSERT OR REPLACE INTO cursors (ns, source, entity, cursor) VALUES (?, ?, ?, ?)').run(this.namespace, source, entity, cursor);
		});
	}

	// ---- cross-references ----

	private crossRefsOf(entity: EntityType, unifiedIds: string[]): Map<string, CrossRef> {
		// INDEXED BY: without statistics SQLite prefers the primary key's (ns, entity) prefix here.
		const result = new Map<string, CrossRef>();
		for (const chunk of chunks(unique(unifiedIds))) {
			const rows = this.stmt(
				`SELECT unified_id, crm, record_id FROM xref INDEXED BY xref_by_unified WHERE ns = ? AND entity = ? AND unified_id IN (${marks(chunk.length)})`,
			).all(this.namespace, entity, ...chunk) as Row[];
			for (const row of rows) {
				const unifiedId = String(row.unified_id);
				let ref = result.get(unifiedId);
				if (!ref) {
					ref = { entity, unifiedId, ids: {} };
					result.set(unifiedId, ref);
				}
				ref.ids[row.crm as CrmName] = String(row.record_id);
			}
		}
		return result;
	}

	getCrossRef(entity: EntityType, unifiedId: string): Promise<CrossRef | undefined> {
		return this.op('getCrossRef', () => this.crossRefsOf(entity, [unifiedId]).get(unifiedId));
	}

	getCrossRefs(entity: EntityType, unifiedIds: string[]): Promise<Map<string, CrossRef>> {
		return this.op('getCrossRefs', () => this.crossRefsOf(entity, unifiedIds));
	}

	findUnifiedId(entity: EntityType, crm: CrmName, recordId: string): Promise<string | undefined> {
		return this.op('findUnifiedId', () => {
			const row = this.stmt('SELECT unified_id FROM xref WHERE ns = ? AND entity = ? AND crm = ? AND record_id = ?').get(
				this.namespace,
				entity,
				crm,
				recordId,
			);
			return row ? String(row.unified_id) : undefined;
		});
	}

	findUnifiedIds(entity: EntityType, crm: CrmName, recordIds: string[]): Promise<Map<string, string>> {
		return this.op('findUnifiedIds', () => {
			const result = new Map<string, string>();
			for (const chunk of chunks(unique(recordIds))) {
				const rows = this.stmt(
					`SELECT record_id, unified_id FROM xref WHERE ns = ? AND entity = ? AND crm = ? AND record_id IN (${marks(chunk.length)})`,
				).all(this.namespace, entity, crm, ...chunk) as Row[];
				for (const row of rows) result.set(String(row.record_id), String(row.unified_id));
			}
			return result;
		});
	}

	link(link: CrossRefLink): Promise<void> {
		return this.linkMany([link]);
	}

	linkMany(links: CrossRefLink[]): Promise<void> {
		return this.op('linkMany', () => {
			links.forEach((l) => validateLink('embedded', l));
			// OR REPLACE removes rows violating either uniqueness: "one record per CRM per unified
			// id" and "one unified id per CRM record" (last link wins).
			const insert = this.stmt('INSERT OR REPLACE INTO xref (ns, entity, unified_id, crm, record_id) VALUES (?, ?, ?, ?, ?)');
			this.tx(() => {
				for (const l of links) insert.run(this.namespace, l.entity, l.unifiedId, l.crm, l.recordId);
			});
		});
	}

	unlink(entity: EntityType, crm: CrmName, recordId: string): Promise<boolean> {
		return this.op('unlink', () => {
			const result = this.stmt('DELETE FROM xref WHERE ns = ? AND entity = ? AND crm = ? AND record_id = ?').run(
				this.namespace,
				entity,
				crm,
				recordId,
			);
			return Number(result.changes) > 0;
		});
	}

	mergeUnifiedIds(entity: EntityType, survivorId: string, mergedId: string): Promise<MergeUnifiedResult> {
		return this.op('mergeUnifiedIds', () =>
			this.tx(() => {
				const displaced: CrossRefLink[] = [];
				if (survivorId !== mergedId) {
					const refs = this.crossRefsOf(entity, [survivorId, mergedId]);
					const survivorIds = refs.get(survivorId)?.ids ?? {};
					const mergedIds = refs.get(mergedId)?.ids ?? {};
					for (const [crm, recordId] of Object.entries(mergedIds) as [CrmName, string][]) {
						if (survivorIds[crm] !== undefined) {
							this.stmt('DELETE FROM xref WHERE ns = ? AND entity = ? AND crm = ? AND record_id = ?').run(this.namespace, entity, crm, recordId);
							displaced.push({ entity, unifiedId: mergedId, crm, recordId });
						} else {
							this.stmt('UPDATE xref SET unified_id = ? WHERE ns = ? AND entity = ? AND crm = ? AND record_id = ?').run(
								survivorId,
								this.namespace,
								entity,
								crm,
								recordId,
							);
						}
					}
					this.stmt('DELETE FROM snapshots WHERE ns = ? AND entity = ? AND unified_id = ?').run(this.namespace, entity, mergedId);
				}
				const crossRef = this.crossRefsOf(entity, [survivorId]).get(survivorId) ?? { entity, unifiedId: survivorId, ids: {} };
				return { crossRef, displaced };
			}),
		);
	}

	// ---- snapshots ----

	private snapshotsOf(entity: EntityType, unifiedIds: string[]): Map<string, Snapshot> {
		const result = new Map<string, Snapshot>();
		for (const chunk of chunks(unique(unifiedIds))) {
			const rows = this.stmt(
				`SELECT unified_id, doc FROM snapshots WHERE ns = ? AND entity = ? AND unified_id IN (${marks(chunk.length)})`,
			).all(this.namespace, entity, ...chunk) as Row[];
			for (const row of rows) result.set(String(row.unified_id), JSON.parse(String(row.doc)) as Snapshot);
		}
		return result;
	}

	getSnapshot(entity: EntityType, unifiedId: string): Promise<Snapshot | undefined> {
		return this.op('getSnapshot', () => this.snapshotsOf(entity, [unifiedId]).get(unifiedId));
	}

	getSnapshots(entity: EntityType, unifiedIds: string[]): Promise<Map<string, Snapshot>> {
		return this.op('getSnapshots', () => this.snapshotsOf(entity, unifiedIds));
	}

	putSnapshot(snapshot: Snapshot): Promise<void> {
		return this.putSnapshots([snapshot]);
	}

	putSnapshots(snapshots: Snapshot[]): Promise<void> {
		return this.op('putSnapshots', () => {
			snapshots.forEach((s) => validateSnapshot('embedded', s));
			const insert = this.stmt('INSERT OR REPLACE INTO snapshots (ns, entity, unified_id, doc) VALUES (?, ?, ?, ?)');
			this.tx(() => {
				for (const s of snapshots) insert.run(this.namespace, s.entity, s.unifiedId, JSON.stringify(s));
			});
		});
	}

	deleteSnapshot(entity: EntityType, unifiedId: string): Promise<boolean> {
		return this.op('deleteSnapshot', () => {
			const result = this.stmt('DELETE FROM snapshots WHERE ns = ? AND entity = ? AND unified_id = ?').run(this.namespace, entity, unifiedId);
			return Number(result.changes) > 0;
		});
	}

	// ---- echoes ----

	recordEchoes(fingerprints: EchoFingerprint[], ttlMs: number): Promise<void> {
		return this.op('recordEchoes', () => {
			validateTtl('embedded', ttlMs);
			const expiresAt = Date.now() + ttlMs;
			const insert = this.stmt(
				'INSERT OR REPLACE INTO echoes (ns, crm, entity, record_id, hash, fields, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			);
			this.tx(() => {
				for (const f of fingerprints) {
					insert.run(this.namespace, f.crm, f.entity, f.recordId, f.hash, JSON.stringify(f.fields), expiresAt);
				}
			});
			this.maybePurge();
		});
	}

	/** The live fingerprint of the record that `observed` matches. */
	private liveEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): EchoFingerprint | undefined {
		const rows = this.stmt(
			'SELECT hash, fields FROM echoes WHERE ns = ? AND crm = ? AND entity = ? AND record_id = ? AND expires_at > ?',
		).all(this.namespace, crm, entity, recordId, Date.now()) as Row[];
		for (const row of rows) {
			const fields = JSON.parse(String(row.fields)) as string[];
			if (fieldsHash(observed, fields) === row.hash) return { crm, entity, recordId, fields, hash: String(row.hash) };
		}
		return undefined;
	}

	private deleteEcho(f: EchoFingerprint): boolean {
		const result = this.stmt('DELETE FROM echoes WHERE ns = ? AND crm = ? AND entity = ? AND record_id = ? AND hash = ?').run(
			this.namespace,
			f.crm,
			f.entity,
			f.recordId,
			f.hash,
		);
		return Number(result.changes) > 0;
	}

	consumeEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<boolean> {
		return this.op('consumeEcho', () =>
			this.tx(() => {
				const match = this.liveEcho(crm, entity, recordId, observed);
				return match !== undefined && this.deleteEcho(match);
			}),
		);
	}

	matchEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<EchoFingerprint | undefined> {
		return this.op('matchEcho', () => this.liveEcho(crm, entity, recordId, observed));
	}

	consumeEchoes(fingerprints: EchoFingerprint[]): Promise<number> {
		return this.op('consumeEchoes', () => this.tx(() => fingerprints.filter((f) => this.deleteEcho(f)).length));
	}

	// ---- idempotency ----

	private claim(key: string, expiresAt: number, now: number): boolean {
		const result = this.stmt(
			`INSERT INTO idempotency (ns, key, expires_at) VALUES (?, ?, ?)
			 ON CONFLICT (ns, key) DO UPDATE SET expires_at = excluded.expires_at WHERE idempotency.expires_at <= ?`,
		).run(this.namespace, key, expiresAt, now);
		return Number(result.changes) > 0;
	}

	claimIdempotencyKey(key: string, ttlMs: number): Promise<boolean> {
		return this.claimIdempotencyKeys([key], ttlMs).then((results) => results[0]);
	}

	claimIdempotencyKeys(keys: string[], ttlMs: number): Promise<boolean[]> {
		return this.op('claimIdempotencyKeys', () => {
			validateTtl('embedded', ttlMs);
			const now = Date.now();
			const results = this.tx(() => keys.map((key) => this.claim(key, now + ttlMs, now)));
			this.maybePurge();
			return results;
		});
	}

	releaseIdempotencyKey(key: string): Promise<void> {
		return this.op('releaseIdempotencyKey', () => {
			this.stmt('DELETE FROM idempotency WHERE ns = ? AND key = ?').run(this.namespace, key);
		});
	}

	// ---- locks ----

	acquireLock(resource: string, ttlMs: number): Promise<LockHandle | undefined> {
		return this.op('acquireLock', () => {
			validateTtl('embedded', ttlMs);
			const now = Date.now();
			const token = randomUUID();
			const result = this.stmt(
				`INSERT INTO locks (ns, resource, token, expires_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT (ns, resource) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at WHERE locks.expires_at <= ?`,
			).run(this.namespace, resource, token, now + ttlMs, now);
			this.maybePurge();
			return Number(result.changes) > 0 ? { resource, token, expiresAt: new Date(now + ttlMs).toISOString() } : undefined;
		});
	}

	releaseLock(resource: string, token: string): Promise<boolean> {
		return this.op('releaseLock', () => {
			const result = this.stmt('DELETE FROM locks WHERE ns = ? AND resource = ? AND token = ? AND expires_at > ?').run(
				this.namespace,
				resource,
				token,
				Date.now(),
			);
			return Number(result.changes) > 0;
		});
	}

	extendLock(resource: string, token: string, ttlMs: number): Promise<boolean> {
		return this.op('extendLock', () => {
			validateTtl('embedded', ttlMs);
			const now = Date.now();
			const result = this.stmt('UPDATE locks SET expires_at = ? WHERE ns = ? AND resource = ? AND token = ? AND expires_at > ?').run(
				now + ttlMs,
				this.namespace,
				resource,
				token,
				now,
			);
			return Number(result.changes) > 0;
		});
	}

	// ---- inbox ----

	inboxAdd(entry: { id: string; crm: CrmName; box?: string; payload: string }): Promise<void> {
		return this.op('inboxAdd', () => {
			validateInboxEntry('embedded', entry);
			this.stmt('INSERT OR IGNORE INTO inbox (ns, id, crm, box, payload, attempts, added_at, claimed_until) VALUES (?, ?, ?, ?, ?, 0, ?, 0)').run(
				this.namespace,
				entry.id,
				entry.crm,
				entry.box ?? '',
				entry.payload,
				Date.now(),
			);
		});
	}

	inboxClaim(crm: CrmName, leaseMs: number, limit: number, box = ''): Promise<InboxEntry[]> {
		return this.op('inboxClaim', () => {
			validateTtl('embedded', leaseMs);
			const now = Date.now();
			// One statement: the entries it picks are leased before any other process can pick them.
			const rows = this.stmt(
				`UPDATE inbox SET attempts = attempts + 1, claimed_until = ? WHERE ns = ? AND id IN (
					SELECT id FROM inbox WHERE ns = ? AND crm = ? AND box = ? AND claimed_until <= ? ORDER BY added_at, id LIMIT ?)
				 RETURNING id, crm, box, payload, attempts, added_at`,
			).all(now + leaseMs, this.namespace, this.namespace, crm, box, now, inboxLimit(limit)) as Row[];
			return rows
				.map((row) => ({ id: String(row.id), crm: row.crm as CrmName, box: String(row.box), payload: String(row.payload), attempts: Number(row.attempts), addedAt: Number(row.added_at) }))
				.sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : 1));
		});
	}

	inboxDelete(id: string): Promise<void> {
		return this.op('inboxDelete', () => {
			this.stmt('DELETE FROM inbox WHERE ns = ? AND id = ?').run(this.namespace, id);
		});
	}

	inboxRelease(id: string): Promise<void> {
		return this.op('inboxRelease', () => {
			this.stmt('UPDATE inbox SET claimed_until = 0 WHERE ns = ? AND id = ?').run(this.namespace, id);
		});
	}

	// ---- review queue ----

	enqueueReview(item: NewReviewItem): Promise<ReviewItem> {
		return this.op('enqueueReview', () => {
			const review: ReviewItem = { ...item, id: randomUUID(), status: 'open', createdAt: new Date().toISOString() };
			this.stmt('INSERT INTO reviews (ns, id, status, doc) VALUES (?, ?, ?, ?)').run(this.namespace, review.id, review.status, JSON.stringify(review));
			return review;
		});
	}

	listReviews(options: ReviewListOptions = {}): Promise<Page<ReviewItem>> {
		return this.op('listReviews', () => {
			const limit = reviewLimit(options.limit);
			const after = decodeCursor('embedded', options.cursor);
			const status = options.status ?? 'open';
			const rows = (
				status === 'all'
					? this.stmt('SELECT seq, doc FROM reviews WHERE ns = ? AND seq > ? ORDER BY seq LIMIT ?').all(this.namespace, after, limit + 1)
					: this.stmt('SELECT seq, doc FROM reviews WHERE ns = ? AND status = ? AND seq > ? ORDER BY seq LIMIT ?').all(
							this.namespace,
							status,
							after,
							limit + 1,
						)
			) as Row[];
			const page = rows.slice(0, limit);
			return {
				items: page.map((row) => JSON.parse(String(row.doc)) as ReviewItem),
				next: rows.length > limit ? encodeCursor(Number(page[page.length - 1].seq)) : undefined,
			};
		});
	}

	getReview(id: string): Promise<ReviewItem | undefined> {
		return this.op('getReview', () => {
			const row = this.stmt('SELECT doc FROM reviews WHERE ns = ? AND id = ?').get(this.namespace, id);
			return row ? (JSON.parse(String(row.doc)) as ReviewItem) : undefined;
		});
	}

	resolveReview(id: string, resolution: unknown): Promise<ReviewItem | undefined> {
		return this.op('resolveReview', () =>
			this.tx(() => {
				const row = this.stmt('SELECT doc FROM reviews WHERE ns = ? AND id = ?').get(this.namespace, id);
				if (!row) return undefined;
				const review = JSON.parse(String(row.doc)) as ReviewItem;
				if (review.status !== 'open') {
					throw new StateStoreError('conflict', 'embedded', `Review item ${id} is already resolved (at ${review.resolvedAt})`);
				}
				const resolved: ReviewItem = { ...review, status: 'resolved', resolvedAt: new Date().toISOString(), resolution };
				this.stmt('UPDATE reviews SET status = ?, doc = ? WHERE ns = ? AND id = ?').run('resolved', JSON.stringify(resolved), this.namespace, id);
				return resolved;
			}),
		);
	}

	removeReview(id: string): Promise<boolean> {
		return this.op('removeReview', () => Number(this.stmt('DELETE FROM reviews WHERE ns = ? AND id = ?').run(this.namespace, id).changes) > 0);
	}

	// ---- audit ----

	appendAudit(entries: AuditEntry[]): Promise<void> {
		return this.op('appendAudit', () => {
			if (entries.length === 0) return;
			const prepared = prepareAuditEntries(entries, this.auditValues);
			const insert = this.stmt('INSERT INTO audit (ns, doc) VALUES (?, ?)');
			this.tx(() => {
				for (const entry of prepared) insert.run(this.namespace, JSON.stringify(entry));
				// Keep the newest auditMax entries of this namespace.
				const cutoff = this.stmt('SELECT seq FROM audit WHERE ns = ? ORDER BY seq DESC LIMIT 1 OFFSET ?').get(this.namespace, this.auditMax);
				if (cutoff) this.stmt('DELETE FROM audit WHERE ns = ? AND seq <= ?').run(this.namespace, Number(cutoff.seq));
			});
		});
	}

	listAudit(options: { limit?: number; beforeSeq?: number } = {}): Promise<StoredAuditEntry[]> {
		return this.op('listAudit', () => {
			const rows = this.stmt('SELECT seq, doc FROM audit WHERE ns = ? AND seq < ? ORDER BY seq DESC LIMIT ?').all(
				this.namespace,
				options.beforeSeq ?? Number.MAX_SAFE_INTEGER,
				auditLimit(options.limit),
			) as Row[];
			return rows.map((row) => ({ ...(JSON.parse(String(row.doc)) as AuditEntry & { at: string }), seq: Number(row.seq) }));
		});
	}

	// ---- rate limiting ----

	takeTokens(bucket: string, options: TokenBucketOptions, count = 1): Promise<TokenBucketResult> {
		return this.op('takeTokens', () =>
			this.tx(() => {
				const now = Date.now();
				const row = this.stmt('SELECT tokens, updated_at FROM buckets WHERE ns = ? AND bucket = ?').get(this.namespace, bucket);
				const state = row ? { tokens: Number(row.tokens), updatedAt: Number(row.updated_at) } : undefined;
				const { tokens, result } = takeFromBucket('embedded', state, options, count, now);
				this.stmt('INSERT OR REPLACE INTO buckets (ns, bucket, tokens, updated_at) VALUES (?, ?, ?, ?)').run(this.namespace, bucket, tokens, now);
				return result;
			}),
		);
	}

	incrementWindowCounter(key: string, windowMs: number, by = 1): Promise<WindowCounterResult> {
		return this.op('incrementWindowCounter', () => {
			validateTtl('embedded', windowMs);
			const now = Date.now();
			const start = windowStart(now, windowMs);
			const row = this.stmt(
				`INSERT INTO counters (ns, key, window_start, count, expires_at) VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (ns, key) DO UPDATE SET
					count = CASE WHEN counters.window_start = excluded.window_start THEN counters.count + excluded.count ELSE excluded.count END,
					window_start = excluded.window_start, expires_at = excluded.expires_at
				 RETURNING count`,
			).get(this.namespace, key, start, by, start + windowMs);
			this.maybePurge();
			return { count: Number(row?.count), resetAt: new Date(start + windowMs).toISOString() };
		});
	}

	// ---- key/value ----

	kvGet<T = unknown>(collection: string, key: string): Promise<T | undefined> {
		return this.kvGetMany<T>(collection, [key]).then((map) => map.get(key));
	}

	kvGetMany<T = unknown>(collection: string, keys: string[]): Promise<Map<string, T>> {
		return this.op('kvGetMany', () => {
			const result = new Map<string, T>();
			for (const chunk of chunks(unique(keys))) {
				const rows = this.stmt(`SELECT key, value FROM kv WHERE ns = ? AND collection = ? AND key IN (${marks(chunk.length)})`).all(
					this.namespace,
					collection,
					...chunk,
				) as Row[];
				for (const row of rows) result.set(String(row.key), JSON.parse(String(row.value)) as T);
			}
			return result;
		});
	}

	kvPut(collection: string, key: string, value: unknown): Promise<void> {
		return this.kvPutMany(collection, [{ key, value }]);
	}

	kvPutMany(collection: string, entries: KvEntry[]): Promise<void> {
		return this.op('kvPutMany', () => {
			const insert = this.stmt('INSERT OR REPLACE INTO kv (ns, collection, key, value) VALUES (?, ?, ?, ?)');
			const encoded = entries.map((e) => [e.key, jsonValue('embedded', e.value)] as const);
			this.tx(() => {
				for (const [key, value] of encoded) insert.run(this.namespace, collection, key, value);
			});
		});
	}

	kvDelete(collection: string, key: string): Promise<boolean> {
		return this.kvDeleteMany(collection, [key]).then((n) => n > 0);
	}

	kvDeleteMany(collection: string, keys: string[]): Promise<number> {
		return this.op('kvDeleteMany', () =>
			this.tx(() => {
				let deleted = 0;
				for (const chunk of chunks(unique(keys))) {
					deleted += Number(
						this.stmt(`DELETE FROM kv WHERE ns = ? AND collection = ? AND key IN (${marks(chunk.length)})`).run(this.namespace, collection, ...chunk)
							.changes,
					);
				}
				return deleted;
			}),
		);
	}

	kvScan<T = unknown>(collection: string, options: KvScanOptions = {}): Promise<Page<KvEntry<T>>> {
		return this.op('kvScan', () => {
			const limit = kvScanLimit(options.limit);
			const prefix = options.prefix ?? '';
			const lower = options.after !== undefined && options.after >= prefix ? options.after : undefined;
			const upper = prefix === '' ? undefined : prefixUpperBound(prefix);
			const conditions = ['ns = ?', 'collection = ?'];
			const params: string[] = [this.namespace, collection];
			if (lower !== undefined) {
				conditions.push('key > ?');
				params.push(lower);
			} else if (prefix !== '') {
				conditions.push('key >= ?');
				params.push(prefix);
			}
			if (upper !== undefined) {
				conditions.push('key < ?');
				params.push(upper);
			}
			const rows = this.stmt(`SELECT key, value FROM kv WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ?`).all(...params, limit + 1) as Row[];
			const page = rows.slice(0, limit).filter((row) => String(row.key).startsWith(prefix));
			return {
				items: page.map((row) => ({ key: String(row.key), value: JSON.parse(String(row.value)) as T })),
				next: rows.length > limit ? String(rows[limit - 1].key) : undefined,
			};
		});
	}

	// ---- GDPR erasure (the rule is shared.erasePerson) ----

	erasePerson(request: ErasureRequest): Promise<ErasureResult> {
		return erasePerson(this, this.erasureSteps, request);
	}

	private readonly erasureSteps: ErasureSteps = {
		deleteEchoes: (entity, records) =>
			this.op('erasePerson', () =>
				this.tx(() => {
					const remove = this.stmt('DELETE FROM echoes WHERE ns = ? AND crm = ? AND entity = ? AND record_id = ?');
					return records.reduce((n, r) => n + Number(remove.run(this.namespace, r.crm, entity, r.recordId).changes), 0);
				}),
			),
		replaceAudit: (entries) =>
			this.op('erasePerson', () =>
				this.tx(() => {
					const update = this.stmt('UPDATE audit SET doc = ? WHERE ns = ? AND seq = ?');
					for (const { seq, ...entry } of entries) update.run(JSON.stringify(entry), this.namespace, seq);
				}),
			),
		inboxEntries: () =>
			this.op('erasePerson', () =>
				(this.stmt('SELECT id, crm, payload FROM inbox WHERE ns = ?').all(this.namespace) as Row[]).map((row) => ({
					id: String(row.id),
					crm: row.crm as CrmName,
					payload: String(row.payload),
				})),
			),
		updateInbox: (rewritten, deleted) =>
			this.op('erasePerson', () =>
				this.tx(() => {
					for (const { id, payload } of rewritten) this.stmt('UPDATE inbox SET payload = ? WHERE ns = ? AND id = ?').run(payload, this.namespace, id);
					for (const id of deleted) this.stmt('DELETE FROM inbox WHERE ns = ? AND id = ?').run(this.namespace, id);
				}),
			),
		scrub: () => this.checkpointAndTruncate(),
	};

	/**
	 * Deleted rows are zeroed in the database file (secure_delete), but the write-ahead log still
	 * holds the pages as they were before: copy it into the file and truncate it. That needs a
	 * moment without readers in other processes; it is retried, then reported.
	 */
	private async checkpointAndTruncate(): Promise<void> {
		const deadline = Date.now() + SCRUB_WAIT_MS;
		for (;;) {
			const row = await this.op('erasePerson', () => this.stmt('PRAGMA wal_checkpoint(TRUNCATE)').get());
			if (Number(row?.busy) === 0) return;
			if (Date.now() >= deadline) {
				throw new StateStoreError(
					'conflict',
					'embedded',
					`Embedded state store (${this.config.path}): the erased data is deleted, but other processes kept reading the file for ${SCRUB_WAIT_MS} ms, so its write-ahead log still holds a copy; run the erasure again`,
				);
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}

	// ---- maintenance ----

	purgeExpired(): Promise<void> {
		return this.op('purgeExpired', () => this.purgeNow());
	}

	clearNamespace(): Promise<void> {
		return this.op('clearNamespace', () =>
			this.tx(() => {
				for (const table of TABLES) this.stmt(`DELETE FROM ${table} WHERE ns = ?`).run(this.namespace);
			}),
		);
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.statements.clear();
		try {
			this.db.close();
		} catch (error) {
			throw new StateStoreError('io', 'embedded', `Embedded state store: close failed: ${(error as Error).message}`, error);
		}
	}
}

function marks(n: number): string {
	return new Array(n).fill('?').join(',');
}

function unique(values: string[]): string[] {
	return [...new Set(values)];
}

function* chunks<T>(values: T[]): Generator<T[]> {
	for (let i = 0; i < values.length; i += CHUNK) yield values.slice(i, i + CHUNK);
}
