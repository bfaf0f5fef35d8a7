// The state-store collections (key/value docs) where lib/sync keeps its jobs and pages. In a
// module of their own, so the GDPR erasers can name them without importing the jobs' code.

/** Bulk sync: jobs, spool pages, leases, history. */
export const BULK_COLLECTION = 'bulk';
/** Bulk sync's source positions (lib/polling), incremental and full sweeps. */
export const BULK_POLL_COLLECTION = 'bulk.polling';
export const BULK_POLL_FULL_COLLECTION = 'bulk.polling.full';
/** Sync API bulk jobs and their pages. */
export const SYNC_API_BULK_COLLECTION = 'syncApi.bulk';
