import type { CrmName, EntityType } from '../model';

/** Fields exactly as the CRM's API names them (the Field Mapper produces these). */
export type CrmFields = Record<string, unknown>;

export interface UpsertRequest {
	/** Caller's index for the record, echoed in its outcome so results pair back to input items. */
	ref: number;
	fields: CrmFields;
}

export type ErrorCategory = 'rate_limit' | 'auth' | 'validation' | 'transient' | 'fatal';

export interface WriteFailure {
	ref: number;
	status: 'failed';
	message: string;
	category: ErrorCategory;
	/** The CRM's own error code or category, e.g. INVALID_EMAIL_ADDRESS or VALIDATION_ERROR. */
	code?: string;
}

export interface WriteSuccess {
	ref: number;
	status: 'created' | 'updated' | 'unchanged';
	id: string;
}

export type WriteOutcome = WriteSuccess | WriteFailure;

/** One CRM behind one set of credentials. Batch methods never throw for per-record problems. */
export interface CrmConnector {
	readonly crm: CrmName;
	/** Largest batch the CRM accepts for writes of this entity. */
	maxBatchSize(entity: EntityType): number;
	/** Inserts or updates each record, matched on `matchKey` (a CRM field name). */
	upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]>;
	/** Resolves when the credentials work; rejects with a CrmError otherwise. */
	testConnection(): Promise<void>;
}

/** A failure of a whole call (not of one record), classified for retry decisions. */
export class CrmError extends Error {
	constructor(
		message: string,
		readonly crm: CrmName,
		readonly category: ErrorCategory,
		readonly httpStatus?: number,
		readonly body?: unknown,
	) {
		super(message);
		this.name = 'CrmError';
	}
}

/** Thrown for a CRM, entity or operation this release does not support yet. */
export class NotImplementedError extends Error {
	constructor(what: string) {
		super(`${what} is not implemented yet`);
		this.name = 'NotImplementedError';
	}
}
