// Checks and helpers shared by the per-CRM webhook modules.

import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

import { canonicalJson } from '../state/fingerprint';
import type { ParsedWebhook, SkippedEvent, VerifyConfig, WebhookRequest } from './types';
import type { CapturedEvent } from '../events/types';

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

export function forbidden(reason: string): WebhookRejection {
	return new WebhookRejection(403, reason);
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

/** The configured secrets; empty strings are not secrets. */
export function configuredSecrets(config: VerifyConfig): string[] {
	return (config.secrets ?? []).filter((s) => typeof s === 'string' && s !== '');
}

/** The configured secrets, or a 401 when none is set (an open endpoint is never the default). */
export function activeSecrets(config: VerifyConfig): string[] {
	const secrets = configuredSecrets(config);
	if (secrets.length === 0) throw unauthorized('no secret is configured for this endpoint');
	return secrets;
}

/** An IP allow-list (IPs or CIDR ranges), or the first entry that is neither. */
export function ipAllowList(entries: readonly string[]): BlockList | { invalid: string } {
	const list = new BlockList();
	for (const entry of entries) {
		const [address, prefix, extra] = entry.trim().split('/');
		const family = isIP(address);
		const bits = family === 4 ? 32 : 128;
		if (family === 0 || extra !== undefined || (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || Number(prefix ?? 0) > bits) {
			return { invalid: entry };
		}
		const type = family === 4 ? 'ipv4' : 'ipv6';
		if (prefix === undefined) list.addAddress(address, type);
		else list.addSubnet(address, Number(prefix), type);
	}
	return list;
}

/** Refuses (403) a sender whose address is not on a non-empty allow-list. */
export function checkAllowedIp(request: WebhookRequest, allowedIps: readonly string[] | undefined): void {
	const entries = (allowedIps ?? []).filter((e) => e.trim() !== '');
	if (entries.length === 0) return;
	const list = ipAllowList(entries);
	if (!(list instanceof BlockList)) throw forbidden(`the IP allow-list entry ${quote(list.invalid)} is not an IP address or CIDR range`);
	const address = request.remoteAddress ?? '';
	const family = isIP(address);
	// BlockList matches IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) against IPv4 ranges.
	if (family === 0 || !list.check(address, family === 4 ? 'ipv4' : 'ipv6')) {
		throw forbidden(`sender address ${quote(address || 'unknown')} is not in the IP allow-list`);
	}
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

/**
 * `table[key]` for a string key the table itself defines: payload values such as
 * "constructor" or an object must not find Object.prototype members.
 */
export function lookup<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
	return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A payload value for a reason: JSON, at most 80 characters. Never throws. */
export function quote(value: unknown): string {
	let text: string;
	try {
		text = JSON.stringify(value) ?? String(value);
	} catch {
		text = '(unprintable value)';
	}
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Turns each element of a payload into events. An element that cannot be turned into an event
 * (a reason, or anything its conversion throws) is skipped: one bad element never costs the
 * others, since the CRMs do not redeliver a batch answered with 4xx.
 */
export function parseEach(list: readonly unknown[], toEvents: (item: unknown) => CapturedEvent | CapturedEvent[] | string): ParsedWebhook {
	const events: CapturedEvent[] = [];
	const skipped: SkippedEvent[] = [];
	list.forEach((item, index) => {
		let result: CapturedEvent | CapturedEvent[] | string;
		try {
			result = toEvents(item);
		} catch (error) {
			result = `malformed element: ${error instanceof Error ? error.message : quote(error)}`;
		}
		if (typeof result === 'string') skipped.push({ index, reason: result });
		else if (Array.isArray(result)) events.push(...result);
		else events.push(result);
	});
	return { events, skipped };
}

/** A present id as a string: numbers and non-empty strings only. */
export function idString(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value === 'string' && value !== '') return value;
	return undefined;
}

/** ISO time of an epoch-millisecond number; undefined outside Date's range (where toISOString throws). */
export function isoFromEpochMs(ms: number): string | undefined {
	const date = new Date(ms);
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** ISO time from epoch milliseconds, or undefined if not a plausible number. */
export function isoFromMs(ms: unknown): string | undefined {
	const n = typeof ms === 'string' && ms.trim() !== '' ? Number(ms) : ms;
	if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return undefined;
	return isoFromEpochMs(n);
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
