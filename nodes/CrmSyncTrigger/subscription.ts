// The trigger's webhook subscription in the CRM, for the CRMs whose API allows it: a Pipedrive
// webhook or a Zoho notification channel. Created on activation, removed on deactivation, and
// (Zoho) renewed when a notification arrives close to the channel's expiry. The HTTP calls are
// the connectors' (lib/connectors); this file picks the credential and remembers what exists.

import { NodeOperationError, type IDataObject, type IHookFunctions, type INodeCredentialDescription, type IWebhookFunctions } from 'n8n-workflow';

import { create as pipedriveConnector } from '../../lib/crms/pipedrive/connector';
import { create as zohoConnector, watchRenewalDue } from '../../lib/crms/zoho/connector';
import type { CrmName, EntityType } from '../../lib/model';
import { AUTH_PARAMETER, CREDENTIAL_TYPES, credentialType } from '../shared/credentials';
import { toNodeError } from '../shared/errors';

/** CRMs whose subscription the node can register itself (HubSpot, Salesforce, Dynamics: app/admin setup). */
export const SUBSCRIBING_CRMS: readonly CrmName[] = ['pipedrive', 'zoho'];

/**
 * The source CRM's credential: for the subscription calls (Pipedrive, Zoho) and for fetching the
 * changed records (every CRM, option Fetch Full Records). n8n checks a credential against the
 * first description of its type and its display conditions cannot say "or": Pipedrive and Zoho
 * show theirs whenever the CRM is selected (optional; the calls that need it say so when it is
 * missing), the others only when records are fetched.
 */
export const subscriptionCredentials: INodeCredentialDescription[] = CREDENTIAL_TYPES.map(([crm, auth, name]): INodeCredentialDescription => {
	const authShow = auth ? { [AUTH_PARAMETER[crm]]: [auth] } : {};
	if (SUBSCRIBING_CRMS.includes(crm as CrmName)) return { name, required: false, displayOptions: { show: { crm: [crm], ...authShow } } };
	return { name, required: true, displayOptions: { show: { crm: [crm], fetchRecords: [true], ...authShow } } };
});

type Context = IHookFunctions | IWebhookFunctions;

/** Kept in the node's static data, per webhook URL (production and test URLs never collide). */
interface Subscription {
	id: string;
	/** Epoch ms (Zoho channels expire). */
	expiresAt?: number;
}

function subscriptions(ctx: Context): Record<string, Subscription> {
	const data = ctx.getWorkflowStaticData('node');
	data.subscriptions ??= {};
	return data.subscriptions as Record<string, Subscription>;
}

function webhookUrl(ctx: Context): string {
	const url = ctx.getNodeWebhookUrl('default');
	if (!url) throw new NodeOperationError(ctx.getNode(), 'n8n gave no URL for this webhook');
	return url;
}

/** True when this node creates and removes its CRM subscription itself. */
export function registersSubscription(ctx: Context): boolean {
	const crm = ctx.getNodeParameter('crm') as CrmName;
	return SUBSCRIBING_CRMS.includes(crm) && (ctx.getNodeParameter('registerSubscription', true) as boolean);
}

/** The source CRM's credential values, for its authentication choice. */
export async function credentials(ctx: Context, crm: CrmName): Promise<IDataObject> {
	return (await ctx.getCredentials(credentialType(ctx.getNode(), crm, (name) => ctx.getNodeParameter(name, '')))) as IDataObject;
}

/** Runs a connector call; CRM failures become NodeApiErrors with the CRM's answer. */
async function crmCall<T>(ctx: Context, what: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call();
	} catch (error) {
		throw toNodeError(ctx.getNode(), error, { what });
	}
}

/** webhookMethods.checkExists: true when the stored subscription is still live in the CRM (Zoho: renewed if due). */
export async function subscriptionExists(ctx: IHookFunctions): Promise<boolean> {
	if (!registersSubscription(ctx)) return true; // nothing for the node to create
	const url = webhookUrl(ctx);
	const stored = subscriptions(ctx)[url];
	if (!stored) return false;
	const crm = ctx.getNodeParameter('crm') as CrmName;
	if (crm === 'pipedrive') {
		const pd = pipedriveConnector(await credentials(ctx, crm));
		const live = await crmCall(ctx, 'Listing Pipedrive webhooks', () => pd.listWebhooks());
		if (live.some((w) => w.id === stored.id && w.url === url)) return true;
	} else {
		const zoho = zohoConnector(await credentials(ctx, crm));
		const live = await crmCall(ctx, 'Listing Zoho notification channels', () => zoho.listWatches());
		const channel = live.find((w) => w.channelId === stored.id && w.url === url && w.expiresAt > Date.now());
		if (channel) {
			if (watchRenewalDue(channel.expiresAt)) {
				const renewed = await crmCall(ctx, 'Renewing the Zoho notification channel', () => zoho.renewWatch(stored.id));
				subscriptions(ctx)[url] = { ...stored, expiresAt: renewed.expiresAt };
			}
			return true;
		}
	}
	delete subscriptions(ctx)[url]; // gone in the CRM (removed by hand, or expired)
	return false;
}

/** webhookMethods.create: registers this node's URL with the CRM and remembers the subscription. */
export async function createSubscription(ctx: IHookFunctions): Promise<boolean> {
	if (!registersSubscription(ctx)) return true;
	const url = webhookUrl(ctx);
	const crm = ctx.getNodeParameter('crm') as CrmName;
	const secret = ctx.getNodeParameter('secret', '') as string;
	if (crm === 'pipedrive') {
		if (!secret) throw new NodeOperationError(ctx.getNode(), 'Set a Basic Auth Password: the webhook is created with it, and deliveries without it are refused');
		const pd = pipedriveConnector(await credentials(ctx, crm));
		const user = ctx.getNodeParameter('basicAuthUser', '') as string;
		const hook = await crmCall(ctx, 'Creating the Pipedrive webhook', () => pd.createWebhook({ url, httpAuthUser: user, httpAuthPassword: secret, version: '2.0' }));
		subscriptions(ctx)[url] = { id: hook.id };
	} else {
		if (!secret) throw new NodeOperationError(ctx.getNode(), 'Set a Token: the notification channel is enabled with it, and notifications without it are refused');
		const zoho = zohoConnector(await credentials(ctx, crm));
		// Zoho channel ids are numbers chosen by the client.
		const channelId = `${Date.now()}${Math.floor(Math.random() * 1000)
			.toString()
			.padStart(3, '0')}`;
		const entities = ctx.getNodeParameter('entities', []) as EntityType[];
		const watch = await crmCall(ctx, 'Enabling the Zoho notification channel', () => zoho.enableWatch({ channelId, url, token: secret, entities }));
		subscriptions(ctx)[url] = { id: watch.channelId, expiresAt: watch.expiresAt };
	}
	return true;
}

/** webhookMethods.delete: removes the remembered subscription (already gone counts as removed). */
export async function deleteSubscription(ctx: IHookFunctions): Promise<boolean> {
	const url = webhookUrl(ctx);
	const stored = subscriptions(ctx)[url];
	if (!stored) return true;
	const crm = ctx.getNodeParameter('crm') as CrmName;
	if (crm === 'pipedrive') {
		const pd = pipedriveConnector(await credentials(ctx, crm));
		await crmCall(ctx, 'Deleting the Pipedrive webhook', () => pd.deleteWebhook(stored.id));
	} else if (crm === 'zoho') {
		const zoho = zohoConnector(await credentials(ctx, crm));
		await crmCall(ctx, 'Disabling the Zoho notification channel', () => zoho.disableWatch(stored.id));
	}
	delete subscriptions(ctx)[url];
	return true;
}

/**
 * Zoho channels expire after a day and webhook nodes get no timer: each authenticated
 * notification renews the channel when less than half its life is left. A failed renewal does
 * not refuse the notification (the channel is still live); the next notification tries again.
 */
export async function renewSubscriptionIfDue(ctx: IWebhookFunctions): Promise<void> {
	if ((ctx.getNodeParameter('crm') as CrmName) !== 'zoho' || !registersSubscription(ctx)) return;
	const url = ctx.getNodeWebhookUrl('default');
	const stored = url ? subscriptions(ctx)[url] : undefined;
	if (!stored?.expiresAt || !watchRenewalDue(stored.expiresAt)) return;
	try {
		const zoho = zohoConnector(await credentials(ctx, 'zoho'));
		const renewed = await zoho.renewWatch(stored.id);
		subscriptions(ctx)[url!] = { ...stored, expiresAt: renewed.expiresAt }; // a new object: n8n sees the change and saves it
	} catch (error) {
		ctx.logger.warn(`CRM Sync Trigger: renewing Zoho channel ${stored.id} failed: ${(error as Error).message}`);
	}
}
