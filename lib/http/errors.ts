// Error classification shared by every connector. A connector turns whatever its SDK throws
// into a CrmError; the transport (transport.ts) decides from `category` and `retryAfterMs`
// whether to wait and retry, refresh the token, or give up.

import type { CrmName } from '../model';

/**
 * - rate_limit: the CRM throttled us (HubSpot 429, Salesforce 403 REQUEST_LIMIT_EXCEEDED,
 *   Pipedrive/Zoho/Dynamics 429). Retried after Retry-After or a backoff, unless `retryable` is false
 *   (e.g. a daily quota that will not recover within the retry budget).
 * - auth: bad or expired credentials (401, Salesforce INVALID_SESSION_ID). The transport refreshes
 *   the token once and replays; a second auth failure is final.
 * - validation: the request or record is wrong (400, 404, 409, 422...). Never retried.
 * - transient: 5xx, timeouts, dropped connections. Retried with backoff.
 * - fatal: anything else (unexpected status, programming errors). Never retried.
 */
export type ErrorCategory = 'rate_limit' | 'auth' | 'validation' | 'transient' | 'fatal';

export interface CrmErrorDetails {
	httpStatus?: number;
	/** The CRM's own error code or category, e.g. REQUEST_LIMIT_EXCEEDED or VALIDATION_ERROR. */
	code?: string;
	/** The response body as received (parsed JSON when possible). */
	body?: unknown;
	/** How long the CRM asked us to wait (Retry-After or the CRM's own throttle hint), in ms. */
	retryAfterMs?: number;
	/** Overrides the category's default retry decision (e.g. HubSpot DAILY limit: false). */
	retryable?: boolean;
	cause?: unknown;
}

/** A failure of a whole call (not of one record in a batch), classified for retry decisions. */
export class CrmError extends Error {
	readonly httpStatus?: number;
	readonly code?: string;
	readonly body?: unknown;
	readonly retryAfterMs?: number;
	readonly retryable: boolean;

	constructor(
		message: string,
		readonly crm: CrmName,
		readonly category: ErrorCategory,
		details: CrmErrorDetails = {},
	) {
		super(message, details.cause === undefined ? undefined : { cause: details.cause });
		this.name = 'CrmError';
		this.httpStatus = details.httpStatus;
		this.code = details.code;
		this.body = details.body;
		this.retryAfterMs = details.retryAfterMs;
		this.retryable = details.retryable ?? (category === 'rate_limit' || category === 'transient');
	}
}

/** Default category of an HTTP status when the CRM gives no more specific signal. */
export function categoryOfStatus(status: number | undefined): ErrorCategory {
	if (status === undefined) return 'transient';
	if (status === 429) return 'rate_limit';
	if (status === 401) return 'auth';
	if (status === 403) return 'auth';
	if (status === 408 || status >= 500) return 'transient';
	if (status >= 400) return 'validation';
	return 'fatal';
}

const NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ECONNABORTED',
	'ETIMEDOUT',
	'EPIPE',
	'EAI_AGAIN',
	'ENOTFOUND',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
]);

/**
 * True for errors raised below HTTP (socket reset, refused, DNS, timeouts), in whatever wrapper
 * the SDK put them: node-fetch FetchError (`code`/`errno`), undici (`cause.code`), axios (`code`).
 */
export function isNetworkError(error: unknown): boolean {
	for (let e = error as { code?: unknown; errno?: unknown; cause?: unknown; type?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
		if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
		if (typeof e.errno === 'string' && NETWORK_CODES.has(e.errno)) return true;
		if (e.type === 'system' || e.type === 'request-timeout') return true; // node-fetch FetchError
		if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
		if (e instanceof Error && /socket hang up|network|fetch failed|other side closed/i.test(e.message)) return true;
	}
	return false;
}

/** Codes of a request with no answer (timed out, or the connection broke): it may or may not have taken effect. */
export const UNANSWERED_CODES: ReadonlySet<unknown> = new Set(['TIMEOUT', 'NETWORK']);

/** A request with no answer: it may or may not have taken effect. */
export function isUnanswered(error: unknown): boolean {
	return error instanceof CrmError && UNANSWERED_CODES.has(error.code);
}

/**
 * Parses a Retry-After header (delta-seconds or HTTP date) into ms. Undefined when absent or invalid.
 * `headers` may be a plain object (any key case), a Headers instance or a Map.
 */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
	const raw = headerValue(headers, 'retry-after');
	if (raw === undefined || raw.trim() === '') return undefined;
	const seconds = Number(raw);
	if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
	const at = Date.parse(raw);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Reads one header, case-insensitively, from the header shapes SDKs hand back. */
export function headerValue(headers: unknown, name: string): string | undefined {
	if (!headers || typeof headers !== 'object') return undefined;
	const lower = name.toLowerCase();
	const h = headers as { get?: (k: string) => unknown } & Record<string, unknown>;
	if (typeof h.get === 'function') {
		const v = h.get(lower) ?? h.get(name);
		if (v !== undefined && v !== null) return Array.isArray(v) ? String(v[0]) : String(v);
	}
	for (const [key, value] of Object.entries(h)) {
		if (key.toLowerCase() === lower && value !== undefined && value !== null) return Array.isArray(value) ? String(value[0]) : String(value);
	}
	return undefined;
}

/** A short, safe description of an unknown thrown value. */
export function describeError(error: unknown): string {
	if (error instanceof Error) return error.message;
	if (typeof error === 'string') return error;
	try {
		return JSON.stringify(error);
	} catch {
		return String(error);
	}
}

/**
 * Classification every connector shares: network failures and timeouts (transient, code NETWORK
 * or TIMEOUT) and plain status-based mapping with Retry-After. Connectors check their CRM's own
 * signals first (e.g. Salesforce 403 REQUEST_LIMIT_EXCEEDED is a throttle, not an auth error)
 * and fall back to this.
 */
export function classifyGeneric(crm: CrmName, error: unknown, status?: number, body?: unknown, headers?: unknown): CrmError {
	if (error instanceof CrmError) return error;
	if (status === undefined) {
		const name = (error as { name?: unknown })?.name;
		if (name === 'TimeoutError' || name === 'AbortError' || (error as { type?: unknown })?.type === 'request-timeout') {
			return new CrmError(`${crm}: request timed out`, crm, 'transient', { code: 'TIMEOUT', cause: error });
		}
		if (isNetworkError(error)) return new CrmError(`${crm}: network error: ${describeError(error)}`, crm, 'transient', { code: 'NETWORK', cause: error });
		return new CrmError(`${crm}: ${describeError(error)}`, crm, 'fatal', { cause: error });
	}
	return new CrmError(`${crm}: HTTP ${status}${messageOf(body) ? `: ${messageOf(body)}` : ''}`, crm, categoryOfStatus(status), {
		httpStatus: status,
		body,
		retryAfterMs: retryAfterMs(headers),
		cause: error,
	});
}

/** Best-effort human message out of common error body shapes. */
export function messageOf(body: unknown): string | undefined {
	if (!body) return undefined;
	if (typeof body === 'string') return body.slice(0, 500);
	if (Array.isArray(body)) return messageOf(body[0]);
	const b = body as Record<string, unknown>;
	for (const key of ['message', 'error_description', 'error', 'errorMessage']) {
		const v = b[key];
		if (typeof v === 'string' && v) return v;
		if (v && typeof v === 'object') {
			const nested = messageOf(v);
			if (nested) return nested;
		}
	}
	return undefined;
}
