// The node's settings per CRM: which CRMs are ticked, whose records are read, and each CRM's
// own-change markers. Node-level configuration, so read as n8n's triggers do (no item).

import type { IHookFunctions, IWebhookFunctions, WebhookType } from 'n8n-workflow';

import type { CrmName } from '../../lib/model';
import { commaSeparatedList } from '../shared/commaSeparatedList';
import { selectedCrms } from '../shared/crmProperties';

type Context = IHookFunctions | IWebhookFunctions;

/** The ticked CRMs; a workflow saved when the node served one CRM has it as a string. */
export const tickedCrms = (ctx: Context): CrmName[] => selectedCrms(ctx.getNodeParameter('crm', []));

/**
 * Each CRM's webhook is named after it. (n8n types webhook names as 'default' | 'setup'; it looks
 * any name up in webhookMethods and getNodeWebhookUrl, and answers it in getWebhookName.)
 */
export const crmWebhookName = (crm: CrmName) => crm as string as WebhookType;

/** Read by default where webhooks do not carry the record (HubSpot: one property per event; Zoho: ids only). */
export const FETCHING_BY_DEFAULT: CrmName[] = ['hubspot', 'zoho'];

/** Whether `crm`'s changed records are read before they are emitted; an older workflow's boolean applies to every ticked CRM. */
export function fetchesRecords(ctx: Context, crm: CrmName): boolean {
	const value = ctx.getNodeParameter('fetchRecords', FETCHING_BY_DEFAULT);
	return typeof value === 'boolean' ? value : selectedCrms(value).includes(crm);
}

/** The parameter of each CRM's own-change markers (Zoho's notifications say nothing about who made a change). */
export const OWN_CHANGE_MARKER_PARAMETERS: Partial<Record<CrmName, string>> = {
	hubspot: 'hubspotOwnChangeMarkers',
	pipedrive: 'pipedriveOwnChangeMarkers',
	salesforce: 'salesforceOwnChangeMarkers',
	dynamics: 'dynamicsOwnChangeMarkers',
};

/** The values that mark a change of `crm` as written by this sync. */
export function ownChangeMarkers(ctx: Context, crm: CrmName): string[] {
	const parameter = OWN_CHANGE_MARKER_PARAMETERS[crm];
	return parameter ? commaSeparatedList(ctx.getNodeParameter(parameter, '') as string) : [];
}
