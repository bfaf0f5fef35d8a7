// Salesforce: Outbound Messages (SOAP, no signature: a URL key, plus an optional OrganizationId
// allow-list) and a JSON form carrying Change Data Capture events (CDC relay or Flow callout),
// signed with an HMAC of the raw body. Every delivery needs the secret; an optional IP allow-list
// is checked on top.
//
// Change events come in two JSON forms (recorded, corrections to crm-wire.md §1 "CDC"):
// - the Pub/Sub API's, decoded without unwrapping Avro unions: `{replayId, payload}` with values
//   like {"string": "Hot"} and datetimes as {"long": <epoch ms>}; every field of an UPDATE is sent,
//   null where unchanged, and `nulledFields` names the ones really emptied
//   (cdc-account-update-pubsub-avro-unions-recorded.json, …-compound-address-recorded.json);
// - CometD's message data as jsforce hands it: `{schema, payload, event: {replayId}}`, ISO
//   datetimes (`2019-09-25T10:32:28Z`), unchanged fields absent (cdc-case-update-cometd-recorded.json).
// Outbound Messages carry xsd:dateTime in UTC (`2014-06-26T00:05:38.000Z`); the ack we answer
// matches the WSDL's notificationsResponse/Ack (outbound-message-ack-schema-vendor.xml).

import { createHmac } from 'node:crypto';

import { XMLParser } from 'fast-xml-parser';

import { isPrototypeKey, type EntityType, type SyncOperation } from '../../model';
import {
	activeSecrets,
	badRequest,
	cachedBody,
	checkAllowedIp,
	header,
	idString,
	ipAllowList,
	isObject,
	isoFromMs,
	isoFromString,
	jsonBody,
	lookup,
	matchesAny,
	mediaType,
	parseEach,
	queryParam,
	quote,
	safeEqual,
	shortHash,
	unauthorized,
} from '../../webhooks/common';
import type { CrmWebhookModule, ParsedWebhook, VerifyConfig, WebhookReply, WebhookRequest } from '../../webhooks/types';
import type { CapturedEvent } from '../../events/types';

/** JSON form: base64(HMAC-SHA256(secret, raw body)) in this header. */
export const SALESFORCE_SIGNATURE_HEADER = 'x-sfdc-signature';
/** Outbound Messages: the shared secret travels as `?key=<secret>` in the endpoint URL. */
export const SALESFORCE_OM_KEY_PARAM = 'key';

const XML_TYPES = ['text/xml', 'application/xml', 'application/soap+xml'];
export const contentTypes = [...XML_TYPES, 'application/json'] as const;

/** The acknowledgement Outbound Messaging requires; anything else makes Salesforce retry. */
export const OUTBOUND_MESSAGE_ACK =
	'<?xml version="1.0" encoding="UTF-8"?>' +
	'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
	'<soapenv:Body>' +
	'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>' +
	'</soapenv:Body>' +
	'</soapenv:Envelope>';

const SOBJECT_ENTITY: Record<string, EntityType> = {
	Contact: 'contact',
	Lead: 'lead',
	Account: 'account',
	Opportunity: 'opportunity',
	Task: 'activity',
	Event: 'activity',
};

const isOutboundMessage = (request: WebhookRequest) => XML_TYPES.includes(mediaType(request));

// ---------------------------------------------------------------- Outbound Message (SOAP)

const xmlParser = new XMLParser({
	removeNSPrefix: true,
	ignoreAttributes: false,
	attributeNamePrefix: '@_',
	parseTagValue: false, // keep '00123' a string: field types are the Field Mapper's business
	parseAttributeValue: false,
	htmlEntities: false,
});

type XmlNode = Record<string, unknown>;

function outboundMessage(request: WebhookRequest): XmlNode {
	return cachedBody(request, (text) => {
		// SOAP forbids DTDs; refusing them also rules out entity-expansion tricks.
		if (/<!DOCTYPE/i.test(text)) throw badRequest('malformed XML: DTDs are not allowed');
		let doc: unknown;
		try {
			doc = xmlParser.parse(text, true);
		} catch (error) {
			throw badRequest(`malformed XML: ${(error as Error).message}`);
		}
		const notifications = isObject(doc) && isObject(doc.Envelope) && isObject(doc.Envelope.Body) ? doc.Envelope.Body.notifications : undefined;
		if (!isObject(notifications)) throw badRequest('not an Outbound Message: no soapenv:Body/notifications element');
		return notifications;
	});
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** XML element → plain value: text, null for xsi:nil, nested objects without attributes. */
function xmlValue(node: unknown): unknown {
	if (!isObject(node)) return Array.isArray(node) ? node.map(xmlValue) : node;
	if (node['@_nil'] === 'true') return null;
	if ('#text' in node) return node['#text'];
	const out: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(node)) if (!key.startsWith('@_') && !isPrototypeKey(key)) out[key] = xmlValue(value);
	return out;
}

/** OrganizationIds are 15 (case-sensitive) or 18 characters; the first 15 identify the org. */
const orgKey = (id: string) => id.trim().slice(0, 15);

/** The URL key is the proof of origin; org ids are not secret, so their allow-list only narrows. */
function verifyOutboundMessage(request: WebhookRequest, secrets: string[], config: VerifyConfig): void {
	const key = queryParam(request, SALESFORCE_OM_KEY_PARAM);
	if (key === undefined) throw unauthorized(`missing ?${SALESFORCE_OM_KEY_PARAM}= in the Outbound Message URL`);
	if (!matchesAny(key, secrets, (secret) => secret)) throw unauthorized(`invalid ?${SALESFORCE_OM_KEY_PARAM}=`);
	const orgIds = (config.salesforceOrganizationIds ?? []).map(orgKey).filter((id) => id !== '');
	if (orgIds.length > 0) {
		const org = idString(xmlValue(outboundMessage(request).OrganizationId));
		if (!org) throw badRequest('Outbound Message has no OrganizationId');
		let allowed = false;
		for (const id of orgIds) if (safeEqual(orgKey(org), id)) allowed = true;
		if (!allowed) throw unauthorized('OrganizationId is not in the allow-list');
	}
}

function parseOutboundMessage(request: WebhookRequest, receivedAt: Date): ParsedWebhook {
	const list = asList(outboundMessage(request).Notification);
	if (list.length === 0) throw badRequest('Outbound Message holds no Notification');
	return parseEach(list, (notification) => {
		if (!isObject(notification) || !isObject(notification.sObject)) return 'Notification has no sObject';
		const xsiType = notification.sObject['@_type'];
		const type = typeof xsiType === 'string' ? xsiType.replace(/^.*:/, '') : '';
		const entity = lookup(SOBJECT_ENTITY, type);
		if (!entity) return `unsupported sObject type ${quote(type)}`;
		const record = xmlValue(notification.sObject) as Record<string, unknown>;
		const recordId = idString(record.Id);
		const eventId = idString(xmlValue(notification.Id));
		if (!recordId || !eventId) return 'Notification without Id or sObject Id';
		// Outbound Messages do not say create or update; equal stamps mean a new record.
		const created = typeof record.CreatedDate === 'string' && record.CreatedDate === record.LastModifiedDate;
		const event: CapturedEvent = {
			eventId,
			source: 'salesforce',
			entity,
			operation: created ? 'create' : 'update',
			recordId,
			// Without the stamps in the message, the time it was received.
			occurredAt: isoFromString(record.SystemModstamp) ?? isoFromString(record.LastModifiedDate) ?? receivedAt.toISOString(),
			record,
			raw: notification,
		};
		const actor = idString(record.LastModifiedById);
		if (actor) event.origin = { actorId: actor };
		return event;
	});
}

// ---------------------------------------------------------------- JSON: CDC events

function verifySignedJson(request: WebhookRequest, secrets: string[]): void {
	const signature = header(request, SALESFORCE_SIGNATURE_HEADER);
	if (!signature) throw unauthorized('missing X-Sfdc-Signature header');
	const ok = matchesAny(signature.trim(), secrets, (secret) => createHmac('sha256', secret).update(request.rawBody).digest('base64'));
	if (!ok) throw unauthorized('invalid X-Sfdc-Signature');
}

const CHANGE_OPERATION: Record<string, SyncOperation> = {
	CREATE: 'create',
	UPDATE: 'update',
	DELETE: 'delete',
	UNDELETE: 'restore',
	GAP_CREATE: 'create',
	GAP_UPDATE: 'update',
	GAP_DELETE: 'delete',
	GAP_UNDELETE: 'restore',
};

/** CDC nests compound fields (Name, addresses); flatten them to the sObject field names. */
function compoundFieldName(parent: string, child: string): string {
	if (parent === 'Name') return child;
	if (parent.endsWith('Address')) return parent.slice(0, -'Address'.length) + child;
	return `${parent}.${child}`;
}

/** Avro union branches as the Pub/Sub API's JSON decoding leaves them: {"string": "Hot"}, {"long": 1658929209000}. */
const AVRO_BRANCHES = new Set(['string', 'long', 'int', 'double', 'float', 'boolean', 'bytes']);

/**
 * The value inside an Avro union wrapper: a one-key object whose key is a primitive type or a
 * record's full name (`com.sforce.eventbus.Address`); other values as they are.
 */
function unwrapAvro(value: unknown): unknown {
	if (!isObject(value)) return value;
	const keys = Object.keys(value);
	if (keys.length === 1 && (AVRO_BRANCHES.has(keys[0]) || /^[a-z][\w]*(\.[A-Za-z_]\w*)+$/.test(keys[0]))) return unwrapAvro(value[keys[0]]);
	return value;
}

/** Audit stamps, always datetimes: Pub/Sub sends them as epoch-ms longs, CometD and REST as ISO text. */
const AUDIT_DATETIMES = new Set(['CreatedDate', 'LastModifiedDate', 'SystemModstamp']);

function fieldValue(key: string, value: unknown): unknown {
	const plain = unwrapAvro(value);
	return AUDIT_DATETIMES.has(key) && typeof plain === 'number' ? (isoFromMs(plain) ?? plain) : plain;
}

/** A CDC field path (`BillingAddress.City`, `Name.LastName`) as the sObject field name. */
const flatFieldName = (path: string) => (path.includes('.') ? compoundFieldName(path.split('.')[0], path.split('.')[1]) : path);

function flattenFields(payload: Record<string, unknown>): Record<string, unknown> {
	const record: Record<string, unknown> = {};
	for (const [key, raw] of Object.entries(payload)) {
		if (key === 'ChangeEventHeader' || isPrototypeKey(key)) continue;
		const value = unwrapAvro(raw);
		if (isObject(value) && (key === 'Name' || key.endsWith('Address'))) {
			for (const [child, v] of Object.entries(value)) if (!isPrototypeKey(child)) record[compoundFieldName(key, child)] = unwrapAvro(v);
		} else {
			record[key] = fieldValue(key, value);
		}
	}
	return record;
}

/** The change event inside the accepted envelopes: CometD message, {payload}, or bare. */
function changeEvent(item: unknown): { payload: Record<string, unknown>; replayId?: string } | undefined {
	if (!isObject(item)) return undefined;
	if (isObject(item.data) && isObject(item.data.payload)) {
		const event = isObject(item.data.event) ? item.data.event : {};
		return { payload: item.data.payload, replayId: idString(event.replayId) };
	}
	// Pub/Sub: {replayId, payload}; CometD message data as jsforce hands it: {schema, payload, event: {replayId}}.
	if (isObject(item.payload)) return { payload: item.payload, replayId: idString(item.replayId) ?? (isObject(item.event) ? idString(item.event.replayId) : undefined) };
	if (isObject(item.ChangeEventHeader)) return { payload: item };
	return undefined;
}

function toChangeEvents(item: unknown): CapturedEvent[] | string {
	const found = changeEvent(item);
	if (!found) return 'not a change event: no ChangeEventHeader';
	const head = found.payload.ChangeEventHeader as Record<string, unknown>;
	if (!isObject(head)) return 'not a change event: no ChangeEventHeader';
	const entity = lookup(SOBJECT_ENTITY, head.entityName);
	if (!entity) return `unsupported entityName ${quote(head.entityName ?? '')}`;
	const changeType = head.changeType;
	if (changeType === 'GAP_OVERFLOW') return 'GAP_OVERFLOW: too many changes to report; re-read the entity by polling';
	const operation = lookup(CHANGE_OPERATION, changeType);
	if (!operation) return `unsupported changeType ${quote(changeType ?? '')}`;
	const recordIds = asList(head.recordIds).map(idString).filter((id): id is string => id !== undefined);
	if (recordIds.length === 0) return 'ChangeEventHeader has no recordIds';
	const occurredAt = isoFromMs(head.commitTimestamp);
	if (!occurredAt) return 'ChangeEventHeader has no valid commitTimestamp';

	const transactionKey = idString(head.transactionKey);
	const baseId =
		transactionKey !== undefined
			? `${transactionKey}:${idString(head.sequenceNumber) ?? ''}`
			: found.replayId !== undefined
				? `replay:${found.replayId}`
				: `hash:${shortHash(found.payload)}`;
	const isGap = (changeType as string).startsWith('GAP_');
	const flat = isGap || operation === 'delete' ? undefined : flattenFields(found.payload);
	const changed = asList(head.changedFields).filter((f): f is string => typeof f === 'string');
	// The Pub/Sub API sends every field of an UPDATE, null where unchanged: only the fields named in
	// nulledFields were really emptied (cdc-account-update-pubsub-avro-unions-recorded.json). A header
	// without nulledFields (CometD before it existed) sends changed fields only, so its nulls stand.
	const nulled = new Set(asList(head.nulledFields).filter((f): f is string => typeof f === 'string').map(flatFieldName));
	const record = flat && operation === 'update' && Array.isArray(head.nulledFields) ? Object.fromEntries(Object.entries(flat).filter(([key, value]) => value !== null || nulled.has(key))) : flat;
	const changedFields =
		operation === 'update' && changed.length > 0
			? [...new Set(changed.map(flatFieldName))]
			: operation === 'create' && record
				? Object.keys(record)
				: undefined;
	const origin = {
		...(typeof head.changeOrigin === 'string' && head.changeOrigin !== '' ? { source: head.changeOrigin } : {}),
		...(idString(head.commitUser) ? { actorId: idString(head.commitUser) } : {}),
	};
	return recordIds.map((recordId) => {
		const event: CapturedEvent = {
			eventId: recordIds.length > 1 ? `${baseId}:${recordId}` : baseId,
			source: 'salesforce',
			entity,
			operation,
			recordId,
			occurredAt,
			raw: item,
		};
		if (changedFields) event.changedFields = changedFields;
		if (record) event.record = record;
		if (Object.keys(origin).length > 0) event.origin = origin;
		return event;
	});
}

function parseSignedJson(request: WebhookRequest): ParsedWebhook {
	const body = jsonBody(request);
	const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.events) ? body.events : isObject(body) ? [body] : undefined;
	if (!list) throw badRequest('Salesforce JSON payload must be a change event, an array of them, or {events: [...]}');
	if (list.length === 0) throw badRequest('Salesforce JSON payload holds no events');
	return parseEach(list, toChangeEvents);
}

// ---------------------------------------------------------------- module

export function verify(request: WebhookRequest, config: VerifyConfig): void {
	const secrets = activeSecrets(config);
	checkAllowedIp(request, config.allowedIps);
	if (isOutboundMessage(request)) verifyOutboundMessage(request, secrets, config);
	else verifySignedJson(request, secrets);
}

export function parse(request: WebhookRequest, receivedAt: Date = new Date()): ParsedWebhook {
	return isOutboundMessage(request) ? parseOutboundMessage(request, receivedAt) : parseSignedJson(request);
}

export function successReply(request: WebhookRequest): WebhookReply | undefined {
	if (!isOutboundMessage(request)) return undefined;
	return { status: 200, contentType: 'text/xml; charset=utf-8', body: OUTBOUND_MESSAGE_ACK };
}

export const salesforce: CrmWebhookModule = {
	contentTypes,
	redelivers: true,
	secretToSet:
		'Set the Secret: Salesforce deliveries must carry it as ?key=… in the Outbound Message URL or sign the JSON body (X-Sfdc-Signature). Organization IDs and Allowed IPs are extra checks, not a replacement.',
	configProblem(config) {
		const list = ipAllowList((config.allowedIps ?? []).filter((e) => e.trim() !== ''));
		return 'invalid' in list ? `Allowed IPs: ${quote(list.invalid)} is not an IP address or CIDR range (e.g. 13.108.0.0/14).` : undefined;
	},
	verify,
	parse,
	successReply,
};
