// The CRM parameters every node that talks to a CRM shares: the CRM, the authentication choice of
// CRMs with several credential types (HubSpot, Pipedrive) and the entity. Options are listed in
// the alphabetical order n8n's lint asks for.
import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { CRM_NAMES, isCrmName, type CrmName } from '../../lib/model';

export const crmOptions = [
	{ name: 'HubSpot', value: 'hubspot' },
	{ name: 'Microsoft Dynamics 365', value: 'dynamics' },
	{ name: 'Pipedrive', value: 'pipedrive' },
	{ name: 'Salesforce', value: 'salesforce' },
	{ name: 'Zoho CRM', value: 'zoho' },
];

export const entityOptions = [
	{ name: 'Account / Company', value: 'account' },
	{ name: 'Activity', value: 'activity' },
	{ name: 'Contact', value: 'contact' },
	{ name: 'Lead', value: 'lead' },
	{ name: 'Opportunity / Deal', value: 'opportunity' },
];

export const crmProperty: INodeProperties = {
	displayName: 'CRM',
	name: 'crm',
	type: 'options',
	noDataExpression: true,
	options: crmOptions,
	default: 'hubspot',
};

export const entityProperty: INodeProperties = {
	displayName: 'Entity',
	name: 'entity',
	type: 'options',
	noDataExpression: true,
	options: entityOptions,
	default: 'contact',
};

/**
 * The authentication parameters (see AUTH_PARAMETER in credentials.ts), each shown when the node's
 * CRM parameter (`crmParameter`, default 'crm') selects its CRM, plus the node's own conditions.
 */
export function authenticationProperties(display: { crmParameter?: string; show?: IDisplayOptions['show'] } = {}): INodeProperties[] {
	const shownFor = (crm: string) => ({ show: { ...display.show, [display.crmParameter ?? 'crm']: [crm] } });
	return [
		{
			displayName: 'Authentication',
			name: 'hubspotAuthentication',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'Private App Token', value: 'privateApp' },
				{ name: 'OAuth2', value: 'oAuth2' },
			],
			default: 'privateApp',
			displayOptions: shownFor('hubspot'),
		},
		{
			displayName: 'Authentication',
			name: 'pipedriveAuthentication',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'API Token', value: 'apiToken' },
				{ name: 'OAuth2', value: 'oAuth2' },
			],
			default: 'apiToken',
			displayOptions: shownFor('pipedrive'),
		},
	];
}

/**
 * The CRMs a `crm` parameter selects: the array of a multiOptions "CRMs" parameter, or the one CRM
 * of an `options` parameter (a workflow saved before the parameter took several). Throws on a
 * value that names no CRM.
 */
export function selectedCrms(value: unknown): CrmName[] {
	const list = Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value];
	const unknown = list.find((crm) => !isCrmName(crm));
	if (unknown !== undefined) throw new Error(`Unknown CRM ${JSON.stringify(unknown)}: expected some of ${CRM_NAMES.join(', ')}`);
	return [...new Set(list as CrmName[])];
}
