// Entry of lib/webhooks: checks one incoming request for one CRM and turns it into SyncEvents.
// Never throws: every failure becomes a 4xx outcome with a reason (never a 5xx for bad input).

import { crmModule } from '../crms';
import type { CrmName, EntityType } from '../model';
import { StateStoreError } from '../state/errors';
import { WebhookRejection, configuredSecrets, mediaType } from './common';
import { RecordFetchError } from './enrich';
import type { VerifyConfig, WebhookOutcome, WebhookReply, WebhookRequest } from './types';

export * from './types';
export { WebhookRejection } from './common';
export { acceptEvents, DEFAULT_IDEMPOTENCY_TTL_MS, idempotencyKey } from './accept';
export type { AcceptedEvents } from './accept';


/** Skipped elements listed in a reply at most. */
export const MAX_REPLY_REASONS = 100;

/** Default body limit. The largest legitimate payloads (100 Outbound Message notifications) stay well below. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface HandleOptions extends VerifyConfig {
	/** Larger bodies get 413. Default (also for anything but a finite positive number) DEFAULT_MAX_BODY_BYTES. */
	maxBodyBytes?: number;
	/** Keep only events of these entities (default: all). Others are counted as ignored. */
	entities?: EntityType[];
	/** When the request arrived (default now); used where a CRM sends no change time. */
	receivedAt?: Date;
}

/**
 * Why this configuration would refuse every request (or cannot be used), or undefined when it
 * can accept deliveries. For refusing to activate a trigger with a clear message.
 */
export function activationProblem(crm: CrmName, config: VerifyConfig): string | undefined {
	const module = crmModule(crm).webhook;
	if (configuredSecrets(config).length === 0) return module.secretToSet;
	return module.configProblem?.(config);
}

function jsonReply(status: number, body: unknown, headers?: Record<string, string>): WebhookReply {
	return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), ...(headers ? { headers } : {}) };
}

function rejected(crm: CrmName, status: number, reason: string, headers?: Record<string, string>): WebhookOutcome {
	return { ok: false, crm, status, reason, reply: jsonReply(status, { error: reason }, headers) };
}

export function handleWebhook(crm: CrmName, request: WebhookRequest, options: HandleOptions): WebhookOutcome {
	const module = crmModule(crm).webhook;
	if (request.method.toUpperCase() !== 'POST') return rejected(crm, 405, `method ${request.method} not allowed; use POST`, { Allow: 'POST' });
	// NaN or a non-number compares false with every length: the limit would silently be off.
	const limit = options.maxBodyBytes;
	const max = typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? limit : DEFAULT_MAX_BODY_BYTES;
	if (request.rawBody.length > max) return rejected(crm, 413, `body of ${request.rawBody.length} bytes exceeds the limit of ${max} bytes`);
	if (request.rawBody.length === 0) return rejected(crm, 400, 'empty body');
	const type = mediaType(request);
	if (!module.contentTypes.includes(type)) {
		return rejected(crm, 400, `unsupported content type ${JSON.stringify(type)}; expected ${module.contentTypes.join(' or ')}`);
	}
	try {
		module.verify(request, options);
		const parsed = module.parse(request, options.receivedAt ?? new Date());
		const wanted = options.entities && options.entities.length > 0 ? new Set(options.entities) : undefined;
		const events = wanted ? parsed.events.filter((e) => wanted.has(e.entity)) : parsed.events;
		const reply =
			module.successReply?.(request, parsed) ??
			jsonReply(200, {
				received: parsed.events.length,
				ignored: parsed.events.length - events.length,
				// A reply never grows with hostile input: the first reasons and the count (the log has all).
				skipped: parsed.skipped.slice(0, MAX_REPLY_REASONS),
				skippedCount: parsed.skipped.length,
			});
		return { ok: true, crm, events, skipped: parsed.skipped, reply };
	} catch (error) {
		if (error instanceof WebhookRejection) return rejected(crm, error.status, error.reason, error.headers);
		// Anything else was still caused by the request's content.
		return rejected(crm, 400, `malformed payload: ${(error as Error)?.message ?? String(error)}`);
	}
}
export { acceptAndEnrich, attachUnifiedIds, fetchRecords, groupEvents, readRecords, RecordFetchError } from './enrich';
export type { EnrichedEvent, EnrichOptions, EnrichResult, EventOperation, RecordReader } from './enrich';

/** What an answer to a CRM may say about a failure: its kind, never local paths, hosts or stack traces. */
export function failureKind(error: unknown): string {
	if (error instanceof RecordFetchError) return 'CRM unavailable';
	if (error instanceof StateStoreError) return 'state store unavailable';
	return 'cannot process the events';
}

/** The 503 that makes a CRM deliver again later; the n8n log keeps the detail of `error`. */
export function unavailableReply(error: unknown): WebhookReply {
	return jsonReply(503, { error: `${failureKind(error)}; send it again later` });
}
