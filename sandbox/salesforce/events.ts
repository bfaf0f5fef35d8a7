// Salesforce push notifications sent by the emulator:
//   - Outbound Messages (SOAP `notifications`, up to 100 per message, retried until the
//     receiver answers with <Ack>true</Ack>); fired on create and update of the chosen object,
//     like a workflow rule "created, and every time it's edited" (never on delete);
//   - a JSON change-event form shaped like a CDC CometD message, one event per POST, signed with
//     X-Sfdc-Signature: base64(HMAC-SHA256(secret, raw body)).
// Streaming (CometD) and the gRPC Pub/Sub API are not emulated.

import { createHmac, randomBytes } from 'node:crypto';
import { Batcher, RetryPolicy } from '../common/webhooks';
import type { WebhookSubscription } from '../common/types';
import type { SObjectDef } from './schema';

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

export interface ChangeInfo {
	def: SObjectDef;
	id: string;
	changeType: ChangeType;
	/** Full current record (API field names -> values) for CREATE/UPDATE/UNDELETE. */
	record: Record<string, unknown>;
	/** Fields whose value changed (UPDATE). */
	changed: string[];
	changeOrigin: string;
	commitUser: string;
	commitTimestamp: number;
}

export interface EventsHost {
	readonly subscriptions: Map<string, WebhookSubscription>;
	readonly orgId: string;
	readonly url: string;
	readonly apiVersion: string;
	send(sub: WebhookSubscription, build: () => { headers: Record<string, string>; body: string }, options: { retry?: Partial<RetryPolicy>; serialKey?: string }): void;
}

export const OM_NS = 'http://soap.sforce.com/2005/09/outbound';

/** Outbound Messages: retried until Ack, back-off from 15 s doubling up to 2 h (about 24 h in all). */
export const OUTBOUND_RETRY: RetryPolicy = {
	maxAttempts: 15,
	delayMs: (attempt) => Math.min(15_000 * 2 ** (attempt - 1), 7_200_000),
	isSuccess: (status, body) => isAck(status, body),
	shouldRetry: () => true,
};

/** JSON change events (sandbox relay): 2xx = delivered; 5 attempts, back-off from 1 s. */
export const CHANGE_EVENT_RETRY: RetryPolicy = {
	maxAttempts: 5,
	delayMs: (attempt) => 1000 * 2 ** (attempt - 1),
	isSuccess: (status) => status >= 200 && status < 300,
	shouldRetry: () => true,
};

/** Ack check used by the dispatcher's retry policy. */
export function isAck(status: number, body: string): boolean {
	return status >= 200 && status < 300 && /<(?:\w+:)?Ack>\s*true\s*<\/(?:\w+:)?Ack>/.test(body);
}

function xmlEscape(v: unknown): string {
	return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export class SalesforceEvents {
	private replayId = 1000;
	private commitNumber = 10_000_000;
	private readonly omBatcher: Batcher<{ notificationId: string; info: ChangeInfo }>;

	constructor(
		private readonly host: EventsHost,
		batchWindowMs: number,
	) {
		this.omBatcher = new Batcher(100, batchWindowMs, (subId, items) => this.sendOutbound(subId, items));
	}

	/** Validates an admin subscription spec; returns an error message or undefined. */
	static validate(spec: Record<string, unknown>, knownType: (name: string) => boolean): string | undefined {
		if (spec.type === 'outboundMessage') {
			if (typeof spec.object !== 'string' || !knownType(spec.object)) return 'outboundMessage needs object: Contact|Lead|Account|Opportunity|Task|Event';
			if (spec.fields !== undefined && !Array.isArray(spec.fields)) return 'fields must be an array of field names';
			return undefined;
		}
		if (spec.type === 'changeEvent') {
			if (typeof spec.secret !== 'string' || !spec.secret) return 'changeEvent needs a secret (keys X-Sfdc-Signature)';
			if (spec.entities !== undefined && (!Array.isArray(spec.entities) || spec.entities.some((e) => typeof e !== 'string' || !knownType(e)))) return 'entities must list sObject names';
			return undefined;
		}
		return "type must be 'outboundMessage' or 'changeEvent'";
	}

	emit(info: ChangeInfo): void {
		for (const sub of this.host.subscriptions.values()) {
			if (sub.type === 'outboundMessage') {
				if (sub.object !== info.def.name || (info.changeType !== 'CREATE' && info.changeType !== 'UPDATE')) continue;
				this.omBatcher.add(sub.id, { notificationId: '04l' + randomBytes(8).toString('hex').slice(0, 15), info });
			} else if (sub.type === 'changeEvent') {
				const entities = sub.entities as string[] | undefined;
				if (entities && !entities.includes(info.def.name)) continue;
				this.sendChangeEvent(sub, info);
			}
		}
	}

	flush(): void {
		this.omBatcher.flush();
	}

	clear(): void {
		this.omBatcher.clear();
	}

	// ---- Outbound Messages -------------------------------------------------------------------

	private sendOutbound(subId: string, items: { notificationId: string; info: ChangeInfo }[]): void {
		const sub = this.host.subscriptions.get(subId);
		if (!sub) return;
		const h = this.host;
		const wanted = sub.fields as string[] | undefined;
		const notifications = items
			.map(({ notificationId, info }) => {
				const fields = Object.entries(info.record)
					.filter(([k, v]) => v !== null && v !== undefined && (!wanted || k === 'Id' || wanted.includes(k)))
					.map(([k, v]) => `<sf:${k}>${xmlEscape(soapDateTime(v))}</sf:${k}>`)
					.join('');
				return `<Notification><Id>${notificationId}</Id><sObject xsi:type="sf:${info.def.name}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${fields}</sObject></Notification>`;
			})
			.join('');
		const session = sub.sessionId ? `<SessionId>${xmlEscape(sub.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>';
		const body =
			'<?xml version="1.0" encoding="UTF-8"?>' +
			'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
			'<soapenv:Body>' +
			`<notifications xmlns="${OM_NS}">` +
			`<OrganizationId>${h.orgId}</OrganizationId>` +
			`<ActionId>${xmlEscape(sub.actionId ?? '04k' + sub.id.padStart(12, '0'))}</ActionId>` +
			session +
			`<EnterpriseUrl>${h.url}/services/Soap/c/${h.apiVersion}/${h.orgId}</EnterpriseUrl>` +
			`<PartnerUrl>${h.url}/services/Soap/u/${h.apiVersion}/${h.orgId}</PartnerUrl>` +
			notifications +
			'</notifications></soapenv:Body></soapenv:Envelope>';
		h.send(sub, () => ({ headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""' }, body }), { retry: OUTBOUND_RETRY });
	}

	// ---- JSON change events --------------------------------------------------------------------

	private sendChangeEvent(sub: WebhookSubscription, info: ChangeInfo): void {
		// A person's derived full Name is not a field of its own in CDC: the compound Name{FirstName,LastName} carries the change.
		const changed = info.changed.filter((f) => !(f === 'Name' && hasCompoundName(info.def)));
		const payloadFields = cometdDateTimes(info.changeType === 'DELETE' ? {} : info.changeType === 'UPDATE' ? pick(info.record, changed) : nonNull(info.def, info.record));
		const nulled = info.changeType === 'UPDATE' ? changed.filter((f) => info.record[f] === null || info.record[f] === undefined) : [];
		const header = {
			entityName: info.def.name,
			recordIds: [info.id],
			changeType: info.changeType,
			changeOrigin: info.changeOrigin,
			transactionKey: randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'),
			sequenceNumber: 1,
			commitTimestamp: info.commitTimestamp,
			commitNumber: this.commitNumber++,
			commitUser: info.commitUser,
			changedFields: info.changeType === 'UPDATE' ? compoundNames(info.def, changed) : [],
			diffFields: [],
			nulledFields: compoundNames(info.def, nulled),
		};
		const message = {
			data: {
				schema: `sandbox-${info.def.name}-schema`,
				payload: { ChangeEventHeader: header, ...nest(info.def, payloadFields) },
				event: { replayId: this.replayId++ },
			},
			channel: `/data/${info.def.name}ChangeEvent`,
		};
		const body = JSON.stringify(message);
		const signature = createHmac('sha256', String(sub.secret)).update(body).digest('base64');
		// Change events keep their order per subscription, like a replayable stream.
		this.host.send(sub, () => ({ headers: { 'Content-Type': 'application/json', 'X-Sfdc-Signature': signature }, body }), { retry: CHANGE_EVENT_RETRY, serialKey: sub.id });
	}
}

/** REST's 2024-01-15T10:20:30.000+0000 datetime form. */
const REST_DATETIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{3})\+0000$/;

/** Outbound Messages carry xsd:dateTime in UTC: 2014-06-26T00:05:38.000Z (outbound-message-contact-anonymized.xml). */
function soapDateTime(v: unknown): unknown {
	return typeof v === 'string' ? v.replace(REST_DATETIME, '$1$2Z') : v;
}

/** CometD change events carry datetimes as 2019-09-25T10:32:28Z (cdc-case-update-cometd-recorded.json). */
function cometdDateTimes(fields: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? v.replace(REST_DATETIME, '$1Z') : v;
	return out;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const k of keys) out[k] = o[k] ?? null;
	return out;
}

/** A CREATE's fields: the set ones, without IsDeleted, and without a person's derived full Name (its compound carries it); an Account's Name is a field of its own. */
function nonNull(def: SObjectDef, o: Record<string, unknown>): Record<string, unknown> {
	const derivedName = hasCompoundName(def);
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined && k !== 'IsDeleted' && !(k === 'Name' && derivedName)) out[k] = v;
	return out;
}

function hasCompoundName(def: SObjectDef): boolean {
	return Object.values(def.fields).some((f) => f.compound === 'Name');
}

/** CDC nests compound fields: Name{FirstName,LastName}, MailingAddress{Street,City,...}. */
function nest(def: SObjectDef, fields: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(fields)) {
		const compound = def.fields[k]?.compound;
		if (!compound) {
			out[k] = v;
			continue;
		}
		const part = compound === 'Name' ? k : k.slice(compound.length - 'Address'.length);
		const group = (out[compound] ??= {}) as Record<string, unknown>;
		group[part] = v;
	}
	return out;
}

function compoundNames(def: SObjectDef, names: string[]): string[] {
	return names.map((k) => {
		const compound = def.fields[k]?.compound;
		if (!compound) return k;
		return `${compound}.${compound === 'Name' ? k : k.slice(compound.length - 'Address'.length)}`;
	});
}
