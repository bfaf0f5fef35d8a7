// The inbound sync API (the user's own app as a sixth system), without n8n: validate a request
// (validate.ts), write it to each CRM through the UpsertWriter and report each CRM's result
// (write.ts); bulk jobs spool their records and write them page by page the same way (bulk.ts).
// The Unified CRM Upsert node's "Sync API Request" operation is a thin shell over this.

export {
	BULK_MAX_BYTES,
	MAX_REASONS,
	MAX_RECORD_REASONS,
	SYNC_API_OPERATIONS,
	SYNC_API_OPTIONS,
	validateBulkEnvelope,
	validateBulkRecord,
	validateSyncRequest,
	withUnifiedId,
	type BulkEnvelope,
	type IdRef,
	type Reason,
	type SyncApiOperation,
	type SyncApiOptions,
	type SyncApiRequest,
	type Validation,
} from './validate';
export { beforeWrites, crmResultOf, syncResponse, unchangedFlags, writeRequestsToCrm, type CrmResult, type WriteDeps } from './write';
export { acceptBulkJob, finishBulkJob, getBulkJob, validateBulkJob, writeBulkJobToCrm, writeBulkJobToCrms, type BulkCrmSummary, type BulkJob, type BulkRecord, type BulkRecordError } from './bulk';
