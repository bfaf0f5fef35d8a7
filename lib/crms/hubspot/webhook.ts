// HubSpot webhooks: v3 signatures (v1/v2 only for legacy apps, when enabled), batched JSON
// arrays of events.
//
// From real deliveries (../shared/data/crm-fixtures/hubspot): HubSpot sends the v3 header even when
// X-HubSpot-Signature-Version says v1, so v3 is checked first (webhook-deal-creation-recorded-with-
// headers.http); eventId and objectId are JSON numbers up to 12 digits (safe integers), read as
// strings; HubSpot's "Test subscription" sample has a string eventId, read alike
// (webhook-contact-creation-test-sample-thirdparty.json). v1/v2/v3 match the vendor's vectors
// (webhook-signature-vectors.json).

import { createHash, createHmac } from 'node:crypto';

import { isPrototypeKey, type EntityType, type SyncOperation } from '../../model';
import {
	activeSecrets,
	badRequest,
	header,
	idString,
	isObject,
	isoFromMs,
	jsonBody,
	lookup,
	matchesAny,
	parseEach,
	quote,
	unauthorized,
} from '../../webhooks/common';
import type { CrmWebhookModule, ParsedWebhook, VerifyConfig, WebhookRequest } from '../../webhooks/types';
import type { CapturedEvent } from '../../events/types';

/** v3 timestamps older (or further in the future) than this are refused. */
export const HUBSPOT_MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

export const contentTypes = ['application/json'] as const;

// HubSpot decodes these in the URI before signing (validating-requests docs).
const URI_DECODE: Record<string, string> = {
	'%3a': ':', '%2f': '/', '%3f': '?', '%40': '@', '%21': '!', '%24': '$',
	'%27': "'", '%28': '(', '%29': ')', '%2a': '*', '%2c': ',', '%3b': ';',
};

export function decodeHubSpotUri(uri: string): string {
	return uri.replace(/%(3a|2f|3f|40|21|24|27|28|29|2a|2c|3b)/gi, (m) => URI_DECODE[m.toLowerCase()]);
}

/**
 * The absolute URIs the sender may have signed: each public URL plus the received query, or,
 * without public URLs, scheme + Host (X-Forwarded-* first) + received path. Each one both as
 * received and decoded by HubSpot's table (the SDK's own signer does not decode).
 */
export function signedUriCandidates(request: WebhookRequest): string[] {
	const q = request.url.indexOf('?');
	const query = q < 0 ? '' : request.url.slice(q);
	const bases: string[] = [];
	for (const url of request.publicUrls ?? []) bases.push(url.replace(/\?.*$/, '') + query);
	const host = (header(request, 'x-forwarded-host') ?? header(request, 'host'))?.split(',')[0].trim();
	if (host) {
		const forwarded = header(request, 'x-forwarded-proto')?.split(',')[0].trim();
		for (const proto of forwarded ? [forwarded] : ['https', 'http']) bases.push(`${proto}://${host}${request.url}`);
	}
	const all = new Set<string>();
	for (const uri of bases) {
		all.add(uri);
		all.add(decodeHubSpotUri(uri));
	}
	return [...all];
}

export function verify(request: WebhookRequest, config: VerifyConfig): void {
	const secrets = activeSecrets(config);
	const method = request.method.toUpperCase();
	const v3 = header(request, 'x-hubspot-signature-v3');
	if (v3 !== undefined) {
		const timestamp = header(request, 'x-hubspot-request-timestamp') ?? '';
		const ts = Number(timestamp);
		if (!/^\d+$/.test(timestamp) || !Number.isFinite(ts)) throw unauthorized('missing or invalid X-HubSpot-Request-Timestamp');
		const now = (config.now ?? Date.now)();
		if (now - ts > HUBSPOT_MAX_TIMESTAMP_SKEW_MS) throw unauthorized('expired signature: timestamp is older than 5 minutes');
		if (ts - now > HUBSPOT_MAX_TIMESTAMP_SKEW_MS) throw unauthorized('invalid signature: timestamp is more than 5 minutes in the future');
		const uris = signedUriCandidates(request);
		const ok = uris.some((uri) =>
			matchesAny(v3, secrets, (secret) =>
				createHmac('sha256', secret).update(method).update(uri).update(request.rawBody).update(timestamp).digest('base64'),
			),
		);
		if (!ok) throw unauthorized('invalid X-HubSpot-Signature-v3');
		return;
	}
	const signature = header(request, 'x-hubspot-signature');
	// v1/v2 sign no timestamp: a captured request (with its v3 headers stripped) would stay valid forever.
	if (!config.hubspotLegacySignatures) {
		throw unauthorized(
			signature === undefined
				? 'missing X-HubSpot-Signature-v3 header'
				: 'v1/v2 signatures (X-HubSpot-Signature) are refused: they have no replay protection; enable "Legacy App (v1/v2 Signatures)" (hubspotLegacySignatures) only for an app that cannot send v3',
		);
	}
	if (signature === undefined) throw unauthorized('missing X-HubSpot-Signature-v3 or X-HubSpot-Signature header');
	const version = (header(request, 'x-hubspot-signature-version') ?? 'v1').toLowerCase();
	const sha256hex = (secret: string, ...parts: (string | Buffer)[]) => {
		const hash = createHash('sha256').update(secret);
		for (const part of parts) hash.update(part);
		return hash.digest('hex');
	};
	let ok: boolean;
	if (version === 'v1') {
		ok = matchesAny(signature.toLowerCase(), secrets, (secret) => sha256hex(secret, request.rawBody));
	} else if (version === 'v2') {
		ok = signedUriCandidates(request).some((uri) =>
			matchesAny(signature.toLowerCase(), secrets, (secret) => sha256hex(secret, method, uri, request.rawBody)),
		);
	} else {
		throw unauthorized(`unsupported X-HubSpot-Signature-Version ${JSON.stringify(version)}`);
	}
	if (!ok) throw unauthorized(`invalid X-HubSpot-Signature (${version})`);
}

// Legacy subscription prefixes and the generic `object.*` objectTypeIds we sync.
const PREFIX_ENTITY: Record<string, EntityType> = { contact: 'contact', company: 'account', deal: 'opportunity' };
const OBJECT_TYPE_ENTITY: Record<string, EntityType> = {
	'0-1': 'contact',
	'0-2': 'account',
	'0-3': 'opportunity',
	'0-136': 'lead',
	'0-27': 'activity', // tasks
	'0-46': 'activity', // notes
	'0-47': 'activity', // meetings
	'0-48': 'activity', // calls
	'0-49': 'activity', // emails
};
const ACTION_OPERATION: Record<string, SyncOperation> = {
	creation: 'create',
	propertyChange: 'update',
	associationChange: 'update',
	deletion: 'delete',
	privacyDeletion: 'delete',
	merge: 'merge',
	restore: 'restore',
};

// An engagement's new link in the v3 `associations` shape the activity map reads (NOTE_TO_CONTACT → contacts).
const LINKED_OBJECT: Record<string, string> = { CONTACT: 'contacts', DEAL: 'deals', COMPANY: 'companies' };

function engagementLink(raw: Record<string, unknown>): Record<string, unknown> {
	const to = typeof raw.associationType === 'string' ? lookup(LINKED_OBJECT, raw.associationType.split('_TO_')[1]) : undefined;
	const id = idString(raw.toObjectId);
	if (!to || !id || raw.associationRemoved === true) return {};
	return { associations: { [to]: { results: [{ id, type: (raw.associationType as string).toLowerCase() }] } } };
}

function toEvent(raw: unknown): CapturedEvent | string {
	if (!isObject(raw)) return 'event is not an object';
	const type = raw.subscriptionType;
	if (typeof type !== 'string' || !type.includes('.')) return 'missing subscriptionType';
	const dot = type.lastIndexOf('.');
	const prefix = type.slice(0, dot);
	const action = type.slice(dot + 1);
	const entity = prefix === 'object' ? lookup(OBJECT_TYPE_ENTITY, raw.objectTypeId) : lookup(PREFIX_ENTITY, prefix);
	if (!entity) {
		return prefix === 'object' ? `unsupported objectTypeId ${quote(raw.objectTypeId)}` : `unsupported subscriptionType ${quote(type)}`;
	}
	const operation = lookup(ACTION_OPERATION, action);
	if (!operation) return `unsupported subscriptionType ${quote(type)}`;
	const eventId = idString(raw.eventId);
	if (!eventId) return 'missing eventId';
	const occurredAt = isoFromMs(raw.occurredAt);
	if (!occurredAt) return 'missing or invalid occurredAt';

	const event: CapturedEvent = { eventId, source: 'hubspot', entity, operation, recordId: '', occurredAt, raw };
	if (operation === 'merge') {
		// The survivor may get a new id; everything else merged into it.
		const survivor = idString(raw.newObjectId) ?? idString(raw.primaryObjectId) ?? idString(raw.objectId);
		const losers = [raw.primaryObjectId, ...(Array.isArray(raw.mergedObjectIds) ? raw.mergedObjectIds : [])]
			.map(idString)
			.filter((id): id is string => id !== undefined && id !== survivor);
		event.recordId = survivor ?? '';
		event.mergedIds = [...new Set(losers)];
	} else if (action === 'associationChange') {
		event.recordId = idString(raw.fromObjectId) ?? idString(raw.objectId) ?? '';
		event.changedFields = ['associations'];
		event.record = {
			associationType: raw.associationType,
			fromObjectId: raw.fromObjectId,
			toObjectId: raw.toObjectId,
			associationRemoved: raw.associationRemoved,
			...(entity === 'activity' ? engagementLink(raw) : {}),
		};
	} else {
		event.recordId = idString(raw.objectId) ?? '';
		if (typeof raw.propertyName === 'string' && raw.propertyName !== '' && !isPrototypeKey(raw.propertyName)) {
			event.changedFields = [raw.propertyName];
			event.record = { [raw.propertyName]: raw.propertyValue };
		}
	}
	if (!event.recordId) return 'missing objectId';
	if (raw.changeSource !== undefined || raw.sourceId !== undefined) {
		event.origin = {
			...(typeof raw.changeSource === 'string' ? { source: raw.changeSource } : {}),
			...(idString(raw.sourceId) ? { actorId: idString(raw.sourceId) } : {}),
		};
	}
	return event;
}

export function parse(request: WebhookRequest): ParsedWebhook {
	const body = jsonBody(request);
	const list = Array.isArray(body) ? body : isObject(body) ? [body] : undefined;
	if (!list) throw badRequest('HubSpot payload must be a JSON array of events');
	if (list.length === 0) throw badRequest('HubSpot payload holds no events');
	return parseEach(list, toEvent);
}

export const hubspot: CrmWebhookModule = {
	contentTypes,
	redelivers: true,
	secretToSet: "Set the Client Secret: HubSpot requests are checked with the app's client secret (X-HubSpot-Signature-v3).",
	verify,
	parse,
};
