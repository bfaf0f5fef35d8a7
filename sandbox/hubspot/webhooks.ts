// HubSpot app webhooks: subscription matching, event shapes, batching (≤100 events per POST)
// and request signing (v1 or v2 in X-HubSpot-Signature, v3 always).

import { createHash, createHmac } from 'node:crypto';
import { Batcher } from '../common/webhooks';
import type { WebhookSubscription } from '../common/types';
import type { HubSpotObjectType } from './objects';
import type { HubSpotEmulator } from './index';

/** Who made a change: API writes are INTEGRATION + app id; admin "UI" writes are CRM_UI + userId. */
export interface ChangeSource {
	changeSource: string;
	sourceId: string;
}

export type EventKind = 'creation' | 'propertyChange' | 'deletion' | 'merge' | 'restore' | 'associationChange' | 'privacyDeletion';
const KINDS: EventKind[] = ['creation', 'propertyChange', 'deletion', 'merge', 'restore', 'associationChange', 'privacyDeletion'];
const SUBSCRIBABLE = ['contact', 'company', 'deal', 'object'];

export interface HubSpotEvent {
	eventId: number;
	subscriptionId: number;
	portalId: number;
	appId: number;
	occurredAt: number;
	subscriptionType: string;
	attemptNumber: number;
	objectId: number;
	changeSource: string;
	sourceId: string;
	[key: string]: unknown;
}

interface SubscriptionType {
	type: string;
	propertyName?: string;
}

const MAX_EVENTS_PER_REQUEST = 100;

export class HubSpotWebhooks {
	private eventSeq = 3816279340;
	private readonly batcher: Batcher<Omit<HubSpotEvent, 'attemptNumber'>>;

	constructor(
		private readonly em: HubSpotEmulator,
		windowMs: number,
	) {
		this.batcher = new Batcher(MAX_EVENTS_PER_REQUEST, windowMs, (subId, events) => this.deliver(subId, events));
	}

	validateSubscription(spec: Record<string, unknown>): string | undefined {
		if (typeof spec.clientSecret !== 'string' || !spec.clientSecret) return 'clientSecret is required (it keys the signatures)';
		if (spec.signatureVersion !== undefined && spec.signatureVersion !== 'v1' && spec.signatureVersion !== 'v2') return "signatureVersion must be 'v1' or 'v2'";
		if (!Array.isArray(spec.types) || spec.types.length === 0) return 'types must list subscription types, e.g. ["contact.creation"]';
		for (const t of spec.types as (string | SubscriptionType)[]) {
			const name = typeof t === 'string' ? t : t?.type;
			const [obj, kind] = String(name).split('.');
			if (!SUBSCRIBABLE.includes(obj) || !KINDS.includes(kind as EventKind)) return `unsupported subscription type ${String(name)}`;
		}
		return undefined;
	}

	/** Queues events of one write for every matching subscription (propertyChange: one event per property). */
	emit(t: HubSpotObjectType, objectId: string, kind: EventKind, source: ChangeSource, changed: Record<string, string>): void {
		const base = { objectId: Number(objectId), ...source };
		if (kind === 'creation') this.queue(t, 'creation', { ...base, changeFlag: 'CREATED' });
		if (kind === 'deletion') this.queue(t, 'deletion', { ...base, changeFlag: 'DELETED' });
		if (kind === 'restore') this.queue(t, 'restore', { ...base, changeFlag: 'RESTORED' });
		if (kind === 'privacyDeletion') this.queue(t, 'privacyDeletion', { ...base, changeFlag: 'DELETED' });
		if (kind === 'creation' || kind === 'propertyChange') {
			for (const [propertyName, propertyValue] of Object.entries(changed)) {
				this.queue(t, 'propertyChange', { ...base, propertyName, propertyValue }, propertyName);
			}
		}
	}

	emitMerge(t: HubSpotObjectType, primaryId: string, mergedIds: string[], moved: number, source: ChangeSource): void {
		this.queue(t, 'merge', {
			objectId: Number(primaryId),
			...source,
			changeFlag: 'MERGED',
			primaryObjectId: Number(primaryId),
			mergedObjectIds: mergedIds.map(Number),
			newObjectId: Number(primaryId),
			numberOfPropertiesMoved: moved,
		});
	}

	emitAssociation(t: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, typeId: number, removed: boolean, source: ChangeSource): void {
		this.queue(t, 'associationChange', {
			objectId: Number(fromId),
			...source,
			associationType: `${t.singular.toUpperCase()}_TO_${toType.singular.toUpperCase()}`,
			associationTypeId: typeId,
			fromObjectId: Number(fromId),
			toObjectId: Number(toId),
			associationRemoved: removed,
			isPrimaryAssociation: typeId <= 6,
		});
	}

	flush(): void {
		this.batcher.flush();
	}

	clear(): void {
		this.batcher.clear();
	}

	private queue(t: HubSpotObjectType, kind: EventKind, fields: Record<string, unknown>, propertyName?: string): void {
		for (const sub of this.em.subscriptions.values()) {
			for (const st of (sub.types as (string | SubscriptionType)[]).map((x) => (typeof x === 'string' ? { type: x } : x))) {
				const [obj, k] = st.type.split('.');
				if (k !== kind) continue;
				if (obj !== t.singular && obj !== 'object') continue;
				if (obj === 'object' && ['contact', 'company', 'deal'].includes(t.singular) && this.subscribesTo(sub, t.singular, kind)) continue;
				if (propertyName && st.propertyName && st.propertyName !== propertyName) continue;
				this.batcher.add(sub.id, {
					eventId: this.eventSeq++,
					subscriptionId: Number(sub.id) || 0,
					portalId: this.em.portalId,
					appId: Number(sub.appId ?? this.em.appId),
					occurredAt: Date.now(),
					subscriptionType: `${obj}.${kind}`,
					...(obj === 'object' ? { objectTypeId: t.typeId } : {}),
					...(fields as { objectId: number; changeSource: string; sourceId: string }),
				});
				break;
			}
		}
	}

	/** Whether the subscription also has the specific type (avoid double events with object.*). */
	private subscribesTo(sub: WebhookSubscription, singular: string, kind: string): boolean {
		return (sub.types as (string | SubscriptionType)[]).some((x) => (typeof x === 'string' ? x : x.type) === `${singular}.${kind}`);
	}

	private deliver(subId: string, events: Omit<HubSpotEvent, 'attemptNumber'>[]): void {
		const sub = this.em.subscriptions.get(subId);
		if (!sub) return;
		const secret = String(sub.clientSecret);
		const version = (sub.signatureVersion as string | undefined) ?? 'v1';
		this.em.webhooks.send({
			subscriptionId: sub.id,
			url: sub.url,
			build: (attempt) => {
				const body = JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt - 1 })));
				const timestamp = String(Date.now());
				return { headers: signatureHeaders(secret, version, sub.url, body, timestamp), body };
			},
		});
	}
}

/** Headers HubSpot sends with a webhook POST to `url` (the literal URI is what gets signed). */
export function signatureHeaders(clientSecret: string, version: string, url: string, body: string, timestamp: string): Record<string, string> {
	const v1v2 = version === 'v2' ? clientSecret + 'POST' + url + body : clientSecret + body;
	return {
		'Content-Type': 'application/json',
		'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon',
		'X-HubSpot-Signature': createHash('sha256').update(v1v2).digest('hex'),
		'X-HubSpot-Signature-Version': version,
		'X-HubSpot-Signature-v3': createHmac('sha256', clientSecret).update('POST' + url + body + timestamp).digest('base64'),
		'X-HubSpot-Request-Timestamp': timestamp,
		'X-HubSpot-Timeout-Millis': '5000',
	};
}
