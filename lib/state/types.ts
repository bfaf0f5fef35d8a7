// The StateStore contract shared by every part of the sync engine. Framework-free.
//
// One store instance is bound to one sync namespace (default: the workflow id, passed by the
// node). Two stores with the same namespace and the same backing storage (same SQLite file or
// same Redis database) see the same data, across processes and, for Redis, across hosts.
//
// Every method is async and either succeeds or rejects with a StateStoreError (see errors.ts):
// a store never reports success for something it did not durably record. Callers must not
// acknowledge events (webhook 2xx, cursor advance) whose state they could not record.
//
// Timestamps in this interface are ISO-8601 strings; durations (TTLs, windows) are milliseconds.

import type { CrmName, EntityType, UnifiedRecord } from '../model';

export type StateBackend = 'embedded' | 'redis';

/** Options shared by both backends. */
export interface StateStoreCommonConfig {
	/** Sync namespace: isolates one sync (e.g. one workflow) from another. Non-empty. */
	namespace: string;
	/**
	 * Store field values in audit entries (`AuditEntry.values`). Default false: values are
	 * dropped on append (PII redaction), only field names, winners and strategies are kept.
	 */
	auditValues?: boolean;
	/** Audit log bound per namespace; oldest entries are trimmed beyond it. Default 10,000. */
	auditMaxEntries?: number;
}

export interface EmbeddedStateStoreConfig extends StateStoreCommonConfig {
	backend: 'embedded';
	/** SQLite file path. Parent folders are created. See defaultEmbeddedStatePath(). */
	path: string;
	/** How long to wait for another process's write lock before failing. Default 5000 ms. */
	busyTimeoutMs?: number;
}

/** Plain connection options (the node maps n8n's built-in `redis` credential onto these). */
export interface RedisConnectionOptions {
	host: string;
	port: number;
	password?: string;
	/** ACL user name (Redis 6+). */
	username?: string;
	/** Database index. Default 0. */
	db?: number;
	/** Connect with TLS. */
	tls?: boolean;
	/** Fail the connection attempt after this long. Default 5000 ms. */
	connectTimeoutMs?: number;
	/**
	 * Fail a command that got no reply within this long (a hung or stopped Redis), so a webhook is
	 * answered 503 and redelivered instead of hanging. Default 2000 ms.
	 */
	commandTimeoutMs?: number;
}

export interface RedisStateStoreConfig extends StateStoreCommonConfig {
	backend: 'redis';
	redis: RedisConnectionOptions;
	/** Key prefix before the namespace. Default 'crmsync'. Keys look like `crmsync:{ns}:...`. */
	keyPrefix?: string;
}

export type StateStoreConfig = EmbeddedStateStoreConfig | RedisStateStoreConfig;

/** All links of one unified record: at most one record id per CRM. */
export interface CrossRef {
	entity: EntityType;
	unifiedId: string;
	ids: Partial<Record<CrmName, string>>;
}

/** One link "unified id ⇄ record id in one CRM". */
export interface CrossRefLink {
	entity: EntityType;
	unifiedId: string;
	crm: CrmName;
	recordId: string;
}

export interface MergeUnifiedResult {
	/** The survivor's links after the merge. */
	crossRef: CrossRef;
	/**
	 * Links of the merged (losing) unified id that could not move because the survivor already
	 * had a record in that CRM: those are duplicates inside that CRM; they are unlinked and
	 * returned so the caller can merge or flag them.
	 */
	displaced: CrossRefLink[];
}

/** The last synced state of one unified record (the base of the three-way merge). */
export interface Snapshot {
	entity: EntityType;
	unifiedId: string;
	/** Field values as last written to / agreed by all CRMs, in the unified model. */
	record: UnifiedRecord;
	/** Per-field last modification time as known at sync time (ISO). May be partial. */
	fieldModifiedAt: Record<string, string>;
	/** When this snapshot was recorded (ISO). */
	syncedAt: string;
	/**
	 * Tombstone: set when the record was deleted; a tombstoned record must not be re-created
	 * by a later (older or echoed) update from another CRM.
	 */
	deletedAt?: string;
	/** The CRM the delete came from. */
	deletedBy?: CrmName;
	// ---- set when the snapshot is the resolved truth (Conflict Resolver, "synced state" mode) ----
	/** Increases by one with every change of `record`. */
	revision?: number;
	/** Per field: the CRM whose change the current value is. */
	fieldSource?: Partial<Record<string, CrmName>>;
	/**
	 * Per CRM: what it holds as far as this sync knows (from its own events and from our writes):
	 * `fields` maps a field to heldValueHash(value), `at` is when that was last known (ISO).
	 */
	held?: Partial<Record<CrmName, HeldValues>>;
}

/** What one CRM holds of a synced record (see Snapshot.held). */
export interface HeldValues {
	at: string;
	fields: Record<string, string>;
}

/** A fingerprint of one write this package made, used to recognise its echo. */
export interface EchoFingerprint {
	crm: CrmName;
	entity: EntityType;
	recordId: string;
	/** The fields written (unified names). */
	fields: string[];
	/** fieldsHash(values restricted to `fields`); see fingerprint.ts. */
	hash: string;
}

export interface LockHandle {
	resource: string;
	/** Owner token: only the holder of this token can release/extend the lock. */
	token: string;
	/** Expiry (ISO). After it the lock is free again even if not released. */
	expiresAt: string;
}

export type ReviewStatus = 'open' | 'resolved';

/** What the caller supplies to enqueue a review item. */
export interface NewReviewItem {
	entity: EntityType;
	unifiedId?: string;
	/** Short human-readable reason (e.g. "conflict on email, phone"). */
	reason: string;
	/** Anything JSON-serialisable needed to resolve it later (the conflict input). */
	payload: unknown;
}

export interface ReviewItem extends NewReviewItem {
	/** Store-assigned, unique within the namespace. */
	id: string;
	status: ReviewStatus;
	createdAt: string;
	resolvedAt?: string;
	/** What the reviewer decided (JSON-serialisable), set by resolveReview. */
	resolution?: unknown;
}

export interface ReviewListOptions {
	/** Default 'open'. 'all' lists both. */
	status?: ReviewStatus | 'all';
	/** Page size. Default 100, max 1000. */
	limit?: number;
	/** Opaque cursor from a previous page's `next`. */
	cursor?: string;
}

export interface Page<T> {
	items: T[];
	/** Present when there may be more: pass as `cursor` to get the next page. */
	next?: string;
}

export interface AuditEntry {
	/** ISO time of the decision. Defaults to now on append. */
	at?: string;
	/** What happened, e.g. 'conflict.resolved', 'conflict.review', 'delete.tombstone'. */
	kind: string;
	entity?: EntityType;
	unifiedId?: string;
	strategy?: string;
	/** Field names involved. */
	fields?: string[];
	/** Who won: a CRM name, 'source', 'target', 'merge', 'review'... */
	winner?: string;
	/** Non-PII details (reasons, timestamps, CRM names). */
	details?: Record<string, unknown>;
	/** Field values (PII). Kept only when the store has `auditValues: true`, dropped otherwise. */
	values?: Record<string, unknown>;
}

/** An audit entry as stored: with a store-assigned, increasing sequence number. */
export interface StoredAuditEntry extends AuditEntry {
	seq: number;
	at: string;
}

export interface TokenBucketOptions {
	/** Maximum burst. */
	capacity: number;
	/** Tokens added per second. */
	refillPerSecond: number;
}

export interface TokenBucketResult {
	granted: boolean;
	/** Tokens left after this call (floored). */
	remaining: number;
	/** When not granted: how long until enough tokens are available. 0 when granted. */
	retryAfterMs: number;
}

export interface WindowCounterResult {
	/** The counter value in the current window after the increment. */
	count: number;
	/** When the current window ends (ISO). */
	resetAt: string;
}

export interface KvEntry<T = unknown> {
	key: string;
	value: T;
}

export interface KvScanOptions {
	/** Only keys starting with this. */
	prefix?: string;
	/** Start strictly after this key (use the previous page's `next`). */
	after?: string;
	/** Page size. Default 500, max 5000. */
	limit?: number;
}

/** A CRM notification kept in the inbox until its events were handed on (see StateStore.inboxAdd). */
export interface InboxEntry {
	id: string;
	crm: CrmName;
	/** Whose notification it is within the CRM (a trigger's webhook id); '' when kept for the whole CRM. */
	box: string;
	/** The notification as JSON text. */
	payload: string;
	/** How many times it was claimed (this claim included). */
	attempts: number;
	/** When it was added (epoch ms). */
	addedAt: number;
}

/** One record in one CRM. */
export interface CrmRecordRef {
	crm: CrmName;
	recordId: string;
}

/** Whom a GDPR erasure forgets (StateStore.erasePerson). */
export interface ErasureRequest {
	entity: EntityType;
	/** The person's unified ids. */
	unifiedIds: string[];
	/** Their CRM records beyond those linked to the unified ids (e.g. the erased source record, already unlinked). */
	records?: CrmRecordRef[];
	/**
	 * Also every CRM record linked to the unified ids: their links and echo fingerprints. Default
	 * true. False while other steps still need those links to erase the person in their CRMs (one
	 * node per CRM): each then passes its own record in `records`.
	 */
	includeLinked?: boolean;
	/** Erasers of key/value docs that hold people in their own format (spool pages, duplicate index). */
	erasers?: PersonEraser[];
}

/** The person as an erasure found them: given ids, linked ids, and emails from their snapshots. */
export interface ErasedPerson {
	entity: EntityType;
	unifiedIds: string[];
	records: CrmRecordRef[];
	/** Trimmed, lower-cased: finds their records in docs that have no id for them yet. */
	emails: string[];
}

/** Removes one person from the docs of one key/value format; returns how many docs it changed. */
export type PersonEraser = (store: StateStore, person: ErasedPerson) => Promise<number>;

export interface ErasureResult {
	person: ErasedPerson;
	/** Rows, keys and docs deleted or rewritten. */
	removed: number;
}

export interface StateStore {
	readonly backend: StateBackend;
	readonly namespace: string;

	// ---- cursors (polling position per source CRM + entity) ----
	getCursor(source: CrmName, entity: EntityType): Promise<string | undefined>;
	setCursor(source: CrmName, entity: EntityType, cursor: string): Promise<void>;

	// ---- cross-references ----
	/** All CRM ids of one unified record, or undefined if it has no link. */
	getCrossRef(entity: EntityType, unifiedId: string): Promise<CrossRef | undefined>;
	/** Batch getCrossRef: map keyed by unified id; ids without links are absent. */
	getCrossRefs(entity: EntityType, unifiedIds: string[]): Promise<Map<string, CrossRef>>;
	/** Reverse lookup: the unified id a CRM record is linked to. */
	findUnifiedId(entity: EntityType, crm: CrmName, recordId: string): Promise<string | undefined>;
	/** Batch reverse lookup: map keyed by CRM record id; unknown ids are absent. */
	findUnifiedIds(entity: EntityType, crm: CrmName, recordIds: string[]): Promise<Map<string, string>>;
	/**
	 * Link a CRM record to a unified id. Replaces the unified id's previous record in that CRM
	 * and moves the CRM record away from any other unified id (last link wins).
	 */
	link(link: CrossRefLink): Promise<void>;
	/** Batch link, applied atomically in order. */
	linkMany(links: CrossRefLink[]): Promise<void>;
	/** Remove the link of one CRM record. Returns false if it was not linked. */
	unlink(entity: EntityType, crm: CrmName, recordId: string): Promise<boolean>;
	/**
	 * Merge two unified ids (e.g. after duplicate detection): all links of `mergedId` move to
	 * `survivorId` where the survivor has no record in that CRM yet (see MergeUnifiedResult).
	 * The merged id's snapshot is deleted; the survivor's snapshot is kept.
	 */
	mergeUnifiedIds(entity: EntityType, survivorId: string, mergedId: string): Promise<MergeUnifiedResult>;

	// ---- synced snapshots (base of the three-way merge; tombstones) ----
	getSnapshot(entity: EntityType, unifiedId: string): Promise<Snapshot | undefined>;
	/** Batch getSnapshot: map keyed by unified id; missing ones are absent. */
	getSnapshots(entity: EntityType, unifiedIds: string[]): Promise<Map<string, Snapshot>>;
	/** Insert or replace. */
	putSnapshot(snapshot: Snapshot): Promise<void>;
	/** Batch putSnapshot, atomic. */
	putSnapshots(snapshots: Snapshot[]): Promise<void>;
	/** Remove the snapshot entirely (not a tombstone: see Snapshot.deletedAt). */
	deleteSnapshot(entity: EntityType, unifiedId: string): Promise<boolean>;

	// ---- echo suppression ----
	/** Remember writes this package made, for ttlMs (e.g. 10 minutes). */
	recordEchoes(fingerprints: EchoFingerprint[], ttlMs: number): Promise<void>;
	/**
	 * Is this observed change an echo of one of our writes? Compares `observed` (unified field
	 * values of the changed record) against each live fingerprint of that record, restricted
	 * to the fingerprint's fields. A match is consumed (deleted) and returns true.
	 */
	consumeEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<boolean>;
	/**
	 * consumeEcho in two steps, for callers that may still fail after the check: the live
	 * fingerprint `observed` matches, or undefined; nothing is consumed. Consume the match with
	 * consumeEchoes once the change was handled, so that a redelivery after a failure is still
	 * recognised.
	 */
	matchEcho(crm: CrmName, entity: EntityType, recordId: string, observed: UnifiedRecord): Promise<EchoFingerprint | undefined>;
	/** Delete these fingerprints (from matchEcho). Returns how many still existed. */
	consumeEchoes(fingerprints: EchoFingerprint[]): Promise<number>;

	// ---- idempotency ----
	/**
	 * Atomic check-and-set. True if the key was not seen within its TTL (it is now claimed);
	 * false if it was (a redelivery).
	 */
	claimIdempotencyKey(key: string, ttlMs: number): Promise<boolean>;
	/** Batch claim: result[i] belongs to keys[i]; a key repeated within the batch is claimed once. */
	claimIdempotencyKeys(keys: string[], ttlMs: number): Promise<boolean[]>;
	/** Forget a claim (processing failed; allow the redelivery to be processed). */
	releaseIdempotencyKey(key: string): Promise<void>;

	// ---- per-record locks ----
	/** Try to take the lock; undefined if someone else holds a live lock. Never waits. */
	acquireLock(resource: string, ttlMs: number): Promise<LockHandle | undefined>;
	/** Release if `token` still owns it. Returns false if it expired or belongs to someone else. */
	releaseLock(resource: string, token: string): Promise<boolean>;
	/** Push the expiry to now + ttlMs if `token` still owns it. */
	extendLock(resource: string, token: string, ttlMs: number): Promise<boolean>;

	// ---- inbox: notifications a CRM sends only once (Zoho), kept from before they are answered ----
	/** Durably adds a notification (payload: JSON text) before it is answered. Idempotent by id. */
	inboxAdd(entry: { id: string; crm: CrmName; box?: string; payload: string }): Promise<void>;
	/**
	 * Claims up to `limit` entries of this CRM and box (default '') that no one has claimed within
	 * `leaseMs` (oldest first); each claim adds 1 to attempts. Safe across processes: an entry is
	 * handed to one claimer per lease. An entry claimed but not deleted is handed out again after
	 * its lease. Boxes keep the notifications of two triggers of one CRM apart.
	 */
	inboxClaim(crm: CrmName, leaseMs: number, limit: number, box?: string): Promise<InboxEntry[]>;
	/** Removes an entry once its events were handed to an execution (or to an error item). */
	inboxDelete(id: string): Promise<void>;
	/** Ends the lease of an entry whose run failed, so the next claim may retry it at once. */
	inboxRelease(id: string): Promise<void>;

	// ---- review queue ----
	enqueueReview(item: NewReviewItem): Promise<ReviewItem>;
	/** Oldest first. */
	listReviews(options?: ReviewListOptions): Promise<Page<ReviewItem>>;
	getReview(id: string): Promise<ReviewItem | undefined>;
	/**
	 * Mark an open item resolved with the reviewer's decision and return it. Undefined if the
	 * id is unknown; rejects (code 'conflict') if it is already resolved.
	 */
	resolveReview(id: string, resolution: unknown): Promise<ReviewItem | undefined>;
	removeReview(id: string): Promise<boolean>;

	// ---- audit log ----
	/** Append (values dropped unless auditValues); trims to auditMaxEntries. */
	appendAudit(entries: AuditEntry[]): Promise<void>;
	/** Newest first; `beforeSeq` pages backwards. */
	listAudit(options?: { limit?: number; beforeSeq?: number }): Promise<StoredAuditEntry[]>;

	// ---- rate limiting (shared across processes/hosts using the same store) ----
	/** Atomic token bucket: take `count` tokens (default 1) or none. */
	takeTokens(bucket: string, options: TokenBucketOptions, count?: number): Promise<TokenBucketResult>;
	/** Atomic fixed-window counter: increment by `by` (default 1) in the window of windowMs. */
	incrementWindowCounter(key: string, windowMs: number, by?: number): Promise<WindowCounterResult>;

	// ---- generic JSON key/value with ordered prefix scan ----
	// `collection` separates uses (e.g. 'dedupe.records', 'dedupe.block'); keys sort bytewise.
	kvGet<T = unknown>(collection: string, key: string): Promise<T | undefined>;
	/** Map keyed by key; missing keys are absent. */
	kvGetMany<T = unknown>(collection: string, keys: string[]): Promise<Map<string, T>>;
	kvPut(collection: string, key: string, value: unknown): Promise<void>;
	/** Atomic batch put. */
	kvPutMany(collection: string, entries: KvEntry[]): Promise<void>;
	kvDelete(collection: string, key: string): Promise<boolean>;
	/** Batch delete; returns how many existed. */
	kvDeleteMany(collection: string, keys: string[]): Promise<number>;
	/** Keys in ascending order, paged: pass the returned `next` as `after`. */
	kvScan<T = unknown>(collection: string, options?: KvScanOptions): Promise<Page<KvEntry<T>>>;

	// ---- GDPR erasure ----
	/**
	 * Forget one person: by every unified id and every CRM record id (given or linked), delete
	 * links, snapshots, echo fingerprints, review items and inbox events, drop the values of
	 * audit entries, run the request's erasers, then leave no copy readable in the storage (the
	 * embedded file's write-ahead log is checkpointed and truncated). Safe to run again: what finds
	 * the person (links, snapshots) is deleted last, so a failed erasure is simply repeated.
	 */
	erasePerson(request: ErasureRequest): Promise<ErasureResult>;

	// ---- maintenance ----
	/** Delete expired echoes, idempotency keys, locks and counters now (also done lazily). */
	purgeExpired(): Promise<void>;
	/** Delete everything in this namespace (tests, "reset sync"). */
	clearNamespace(): Promise<void>;
	/** Release the connection / file handle. Further calls reject with code 'closed'. */
	close(): Promise<void>;
}
