// The node's webhooks, one per CRM and named after it, and the lifecycle n8n runs for each on
// activation and deactivation. A CRM that is not ticked has nothing to check, create or delete.

import type { IHookFunctions, IWebhookDescription } from 'n8n-workflow';

import { CRM_NAMES, type CrmName } from '../../lib/model';
import { crmWebhookName, tickedCrms } from './settings';
import { createSubscription, deleteSubscription, subscriptionExists } from './subscription';
import { checkConfiguration } from './verification';

/** The URL of CRM X is /webhook/<webhookId>/X. Static paths: n8n evaluates no expression to find them. */
export const crmWebhooks: IWebhookDescription[] = CRM_NAMES.map((crm) => ({
	name: crmWebhookName(crm),
	httpMethod: 'POST',
	responseMode: 'onReceived',
	path: crm,
}));

/** The CRM of the webhook n8n runs a method for, when it is ticked. */
function tickedWebhookCrm(ctx: IHookFunctions): CrmName | undefined {
	const crm = ctx.getWebhookName() as CrmName;
	return tickedCrms(ctx).includes(crm) ? crm : undefined;
}

const lifecycle = {
	async checkExists(this: IHookFunctions): Promise<boolean> {
		const crm = tickedWebhookCrm(this);
		if (!crm) return true;
		await checkConfiguration(this, crm); // refused before any subscription is made
		return subscriptionExists(this, crm);
	},
	async create(this: IHookFunctions): Promise<boolean> {
		const crm = tickedWebhookCrm(this);
		return crm ? createSubscription(this, crm) : true;
	},
	async delete(this: IHookFunctions): Promise<boolean> {
		const crm = tickedWebhookCrm(this);
		return crm ? deleteSubscription(this, crm) : true;
	},
};

/** webhookMethods: the same lifecycle under each CRM's webhook name. */
export const crmWebhookMethods = Object.fromEntries(CRM_NAMES.map((crm) => [crm, lifecycle]));
