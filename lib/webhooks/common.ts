// Checks and helpers shared by the per-CRM webhook modules.

import { createHash, timingSafeEqual } from 'node:crypto';

import { canonicalJson } from '../state/fingerprint';
import type { VerifyConfig, WebhookRequest } from './types';

/** A request refused with an HTTP status and a reason the sender can read. */
export class WebhookRejection extends Error {
	constructor(
		readonly status: number,
		readonly reason: string,
		readonly headers?: Record<string, string>,
	) {
		super(reason);
		this.name = 'WebhookRejection';
	}
}

export function unauthorized(reason: string, headers?: Record<string, string>): WebhookRejection {
	return new WebhookRejection(401, reason, headers);
}

export function badRequest(reason: string): WebhookRejection {
	return new WebhookRejection(400, reason);
}

/** First value of a header (names are lower case). */
export function header(request: WebhookRequest, name: string): string | undefined {
	const value = request.headers[name];
	return Array.isArray(value) ? value[0] : value;
}

/** Media type without parameters, lower case ('' when absent). */
export function mediaType(request: WebhookRequest): string {
	return (header(request, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
}

export function queryParam(request: WebhookRequest, name: string): string | undefined {
	const q = request.url.indexOf('?');
	if (q < 0) return undefined;
	return new URLSearchParams(request.url.slice(q + 1)).get(name) ?? undefined;
}

/** The configured secrets, or a 401 when none is set (an open endpoint is never the default). */
export function activeSecrets(config: VerifyConfig): string[] {
	const secrets = config.secrets.filter((s) => typeof s === 'string' && s !== '');
	if (secrets.length === 0) throw unauthorized('no secret is configured for this endpoint');
	return secrets;
}

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();

/**
 * Constant-time string equality. Both sides are hashed first so timingSafeEqual always gets
 * equal-length buffers and the time does not depend on where they differ or on their length.
 */
export function safeEqual(a: string, b: string): boolean {
	return timingSafeEqual(sha256(a), sha256(b));
}

/** True when `presented` equals what any secret yields. Checks every secret (no early exit). */
export function matchesAny(presented: string, secrets: string[], expected: (secret: string) => string): boolean {
	let match = false;
	for (const secret of secrets) if (safeEqual(presented, expected(secret))) match = true;
	return match;
}

// Parsed bodies are cached per request so a module that must read the body to verify it
// (Zoho token, Salesforce OrganizationId) does not parse it twice.
const parsedBodies = new WeakMap<WebhookRequest, unknown>();

export function cachedBody<T>(request: WebhookRequest, parse: (text: string) => T): T {
	if (parsedBodies.has(request)) return parsedBodies.get(request) as T;
	const value = parse(request.rawBody.toString('utf8'));
	parsedBodies.set(request, value);
	return value;
}

export function jsonBody(request: WebhookRequest): unknown {
	return cachedBody(request, (text) => {
		try {
			return JSON.parse(text) as unknown;
		} catch (error) {
			throw badRequest(`malformed JSON: ${(error as Error).message}`);
		}
	});
}

export function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A present id as a string: numbers and non-empty strings only. */
export function idString(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value === 'string' && value !== '') return value;
	return undefined;
}

/** ISO time from epoch milliseconds, or undefined if not a plausible number. */
export function isoFromMs(ms: unknown): string | undefined {
	const n = typeof ms === 'string' && ms.trim() !== '' ? Number(ms) : ms;
	if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return undefined;
	const date = new Date(n);
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** ISO time from an ISO / RFC 3339 string. */
export function isoFromString(value: unknown): string | undefined {
	if (typeof value !== 'string' || value === '') return undefined;
	const date = new Date(value);
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Short stable hash of a JSON value (key order does not matter). */
export function shortHash(value: unknown): string {
	return createHash('sha256').update(canonicalJson(value)).digest('base64url').slice(0, 16);
}
