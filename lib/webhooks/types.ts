// Types shared by the per-CRM webhook modules. Framework-free: no n8n here.

import type { CapturedEvent } from '../events/types';
import type { CrmName } from '../model';

/** An incoming webhook request, as the HTTP layer received it. */
export interface WebhookRequest {
	method: string;
	/** Path and query as received, e.g. `/webhook/abc/hubspot?x=1`. */
	url: string;
	/** Header names in lower case (Node's IncomingMessage.headers). */
	headers: Record<string, string | string[] | undefined>;
	/** The body exactly as sent: signatures are computed over these bytes. */
	rawBody: Buffer;
	/**
	 * Public absolute URLs (without query) the sender may have used to reach this endpoint,
	 * e.g. n8n's production webhook URL. HubSpot v2/v3 sign the full URI; when absent, the URL is
	 * rebuilt from the Host / X-Forwarded-* headers.
	 */
	publicUrls?: string[];
	/** The sender's IP address, for Salesforce's optional IP allow-list (e.g. `13.110.1.1`, `::ffff:13.110.1.1`). */
	remoteAddress?: string;
}

/** What a request is checked against. */
export interface VerifyConfig {
	/**
	 * Accepted secrets: the current one and, during a rotation, the previous one. Empty strings
	 * are ignored. Meaning per CRM: HubSpot app client secret; Pipedrive the password of the
	 * webhook's HTTP Basic auth (`user:password` when basicAuthUser is not given); Salesforce HMAC secret (JSON form) or URL `key` (Outbound
	 * Message); Zoho the watch `token`; Dynamics the webhook key.
	 */
	secrets: string[];
	/**
	 * Salesforce Outbound Messages: accepted OrganizationIds (15 or 18 characters). An extra
	 * check on top of the secret: org ids are not secret.
	 */
	salesforceOrganizationIds?: string[];
	/**
	 * Salesforce: accepted sender addresses, IPs or CIDR ranges (`13.108.0.0/14`). An extra check
	 * on top of the secret; empty = no IP check.
	 */
	allowedIps?: string[];
	/**
	 * HubSpot: also accept v1/v2 signatures (X-HubSpot-Signature). They carry no timestamp, so a
	 * captured request stays valid forever: only for legacy apps that cannot send v3. Default false.
	 */
	hubspotLegacySignatures?: boolean;
	/** Pipedrive: the webhook's HTTP Basic auth user; each secret is its password. */
	basicAuthUser?: string;
	/** Clock in ms, for tests. Default Date.now. */
	now?: () => number;
}

/** An event of the payload that could not be turned into a SyncEvent; the others go on. */
export interface SkippedEvent {
	/** Position in the payload (array index, notification index). */
	index: number;
	reason: string;
}

export interface ParsedWebhook {
	events: CapturedEvent[];
	skipped: SkippedEvent[];
}

/** The HTTP answer the endpoint must give (besides the default JSON acknowledgement). */
export interface WebhookReply {
	status: number;
	contentType: string;
	body: string;
	headers?: Record<string, string>;
}

/** The outcome of handling one request: never throws, never a 5xx for bad input. */
export type WebhookOutcome =
	| { ok: true; crm: CrmName; events: CapturedEvent[]; skipped: SkippedEvent[]; reply: WebhookReply }
	| { ok: false; crm: CrmName; status: number; reason: string; reply: WebhookReply };

/** A per-CRM module: checks who sent the request, and turns it into events. */
export interface CrmWebhookModule {
	/** Content types (without parameters) this CRM sends. */
	readonly contentTypes: readonly string[];
	/**
	 * Whether the CRM sends a delivery again when it is answered with an error (crm-wire §2-§5):
	 * HubSpot, Pipedrive, Salesforce and Dynamics (on 502/503/504) do; Zoho does not.
	 */
	readonly redelivers: boolean;
	/** Throws WebhookRejection (401 for bad credentials, 400 for a body it must read first). */
	verify(request: WebhookRequest, config: VerifyConfig): void;
	/** Throws WebhookRejection (400) when the body as a whole is unusable. */
	parse(request: WebhookRequest, receivedAt?: Date): ParsedWebhook;
	/** What to set so that deliveries can be accepted: the secret every request is checked with. */
	readonly secretToSet: string;
	/** Why a configuration that has its secret still cannot be used, if it cannot (e.g. a bad IP allow-list). */
	configProblem?(config: VerifyConfig): string | undefined;
	/** The success answer the CRM expects (e.g. Salesforce's SOAP Ack). */
	successReply?(request: WebhookRequest, parsed: ParsedWebhook): WebhookReply | undefined;
}
