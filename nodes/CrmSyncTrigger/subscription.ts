// The trigger's webhook subscription in each ticked CRM whose API allows it (their
// lib/crms/<crm>/subscriptions.ts: a Pipedrive webhook, a Zoho notification channel). Created on
// activation, removed on deactivation, and renewed (subscriptions that expire) when a notification
// arrives close to the expiry. This file picks the credentials and remembers what exists.

import { NodeOperationError, type IHookFunctions, type INodeCredentialDescription, type IWebhookFunctions } from 'n8n-workflow';

import { CRMS, crmModule, type Subscription, type SubscriptionApi } from '../../lib/crms';
import type { CrmName, EntityType } from '../../lib/model';
import { crmCredentialDescriptions, crmCredentials } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { crmWebhookName } from './settings';
import { webhookSecrets } from './verification';

/** CRMs whose subscription the node can register itself (the others: app/admin setup, shown by the node). */
export const SUBSCRIBING_CRMS = (Object.keys(CRMS) as CrmName[]).filter((crm) => CRMS[crm].subscriptions);

/**
 * Each ticked CRM's API credential: for the subscription calls and for fetching the changed records
 * (option Fetch Full Records For; `true` is the boolean of an older workflow). n8n checks a
 * credential against the first description of its type and its display conditions cannot say "or":
 * CRMs with subscriptions show theirs whenever the CRM is ticked (optional; the calls that need it
 * say so when it is missing), the others only when their records are fetched.
 */
export const subscriptionCredentials: INodeCredentialDescription[] = crmCredentialDescriptions({
	show: (crm) => (SUBSCRIBING_CRMS.includes(crm) ? {} : { fetchRecords: [crm, true] }),
	required: (crm) => !SUBSCRIBING_CRMS.includes(crm),
});

type Context = IHookFunctions | IWebhookFunctions;

/** What the node remembers of its subscription: its id and expiry, per webhook URL (production and test URLs never collide). */
type Stored = Pick<Subscription, 'id' | 'expiresAt'>;

function subscriptions(ctx: Context): Record<string, Stored> {
	const data = ctx.getWorkflowStaticData('node');
	data.subscriptions ??= {};
	return data.subscriptions as Record<string, Stored>;
}

/** The URL `crm` calls (the webhook is named after its CRM). */
function webhookUrl(ctx: Context, crm: CrmName): string {
	const url = ctx.getNodeWebhookUrl(crmWebhookName(crm));
	if (!url) throw new NodeOperationError(ctx.getNode(), `n8n gave no URL for the ${crm} webhook`);
	return url;
}

/** The subscription API of `crm` (a ticked CRM) when the node creates and removes its subscription itself. */
function ownSubscriptions(ctx: Context, crm: CrmName): SubscriptionApi | undefined {
	const api = crmModule(crm).subscriptions?.();
	return api && (ctx.getNodeParameter('registerSubscription', true) as boolean) ? api : undefined;
}

/** Runs a subscription call with the CRM's credential; CRM failures become NodeApiErrors with the CRM's answer. */
async function crmCall<T>(ctx: Context, crm: CrmName, what: string, call: (credentials: Record<string, unknown>) => Promise<T>): Promise<T> {
	try {
		return await call(await crmCredentials(ctx, crm, (name) => ctx.getNodeParameter(name, '')));
	} catch (error) {
		throw toNodeError(ctx.getNode(), error, { what: `${what} (${crm})` });
	}
}

/** webhookMethods.checkExists: true when the stored subscription is still live in the CRM (renewed if due). */
export async function subscriptionExists(ctx: IHookFunctions, crm: CrmName): Promise<boolean> {
	const api = ownSubscriptions(ctx, crm);
	if (!api) return true; // nothing for the node to create
	const url = webhookUrl(ctx, crm);
	const stored = subscriptions(ctx)[url];
	if (!stored) return false;
	const live = await crmCall(ctx, crm, 'Listing the webhook subscriptions', (c) => api.list(c));
	const found = live.find((s) => s.id === stored.id && s.url === url && (s.expiresAt === undefined || s.expiresAt > Date.now()));
	if (found) {
		if (found.expiresAt !== undefined && api.renewal?.due(found.expiresAt)) {
			const renewed = await crmCall(ctx, crm, 'Renewing the webhook subscription', (c) => api.renewal!.renew(c, stored.id));
			subscriptions(ctx)[url] = { ...stored, expiresAt: renewed.expiresAt };
		}
		return true;
	}
	delete subscriptions(ctx)[url]; // gone in the CRM (removed by hand, or expired)
	return false;
}

/**
 * webhookMethods.create: registers the CRM's URL with the CRM and remembers the subscription, with
 * the secret of its webhook credential (checkExists refuses a configuration without one before n8n calls this).
 */
export async function createSubscription(ctx: IHookFunctions, crm: CrmName): Promise<boolean> {
	const api = ownSubscriptions(ctx, crm);
	if (!api) return true;
	const url = webhookUrl(ctx, crm);
	const secrets = await webhookSecrets(ctx, crm);
	const request = {
		url,
		secret: secrets.secret ?? '',
		user: secrets.basicAuthUser ?? '',
		entities: ctx.getNodeParameter('entities', []) as EntityType[],
	};
	const created = await crmCall(ctx, crm, 'Creating the webhook subscription', (c) => api.create(c, request));
	subscriptions(ctx)[url] = { id: created.id, ...(created.expiresAt !== undefined ? { expiresAt: created.expiresAt } : {}) };
	return true;
}

/** webhookMethods.delete: removes the remembered subscription (already gone counts as removed). */
export async function deleteSubscription(ctx: IHookFunctions, crm: CrmName): Promise<boolean> {
	const url = webhookUrl(ctx, crm);
	const stored = subscriptions(ctx)[url];
	if (!stored) return true;
	const api = crmModule(crm).subscriptions?.();
	if (api) await crmCall(ctx, crm, 'Removing the webhook subscription', (c) => api.remove(c, stored.id));
	delete subscriptions(ctx)[url];
	return true;
}

/**
 * Subscriptions that expire (Zoho channels: a day) while webhook nodes get no timer: each
 * authenticated notification renews the subscription when it is due. A failed renewal does not
 * refuse the notification (the subscription is still live); the next notification tries again.
 */
export async function renewSubscriptionIfDue(ctx: IWebhookFunctions, crm: CrmName): Promise<void> {
	const renewal = ownSubscriptions(ctx, crm)?.renewal;
	const url = ctx.getNodeWebhookUrl(crmWebhookName(crm));
	const stored = url ? subscriptions(ctx)[url] : undefined;
	if (!renewal || !stored?.expiresAt || !renewal.due(stored.expiresAt)) return;
	try {
		const renewed = await renewal.renew(await crmCredentials(ctx, crm, (name) => ctx.getNodeParameter(name, '')), stored.id);
		subscriptions(ctx)[url!] = { ...stored, expiresAt: renewed.expiresAt }; // a new object: n8n sees the change and saves it
	} catch (error) {
		ctx.logger.warn(`CRM Sync Trigger: renewing subscription ${stored.id} failed: ${(error as Error).message}`);
	}
}
