// The package's CRM credential types, and how a node picks one: by CRM and, where a CRM offers
// several (HubSpot, Pipedrive), by the node's authentication parameter.

import { NodeOperationError, type ICredentialsDisplayOptions, type INode, type INodeCredentialDescription } from 'n8n-workflow';

import type { CrmName } from '../../lib/model';

/** [crm, authentication value ('' where the CRM has one credential type), credential type name]. */
export const CREDENTIAL_TYPES: ReadonlyArray<readonly [string, string, string]> = [
	['salesforce', '', 'salesforceCrmSyncOAuth2Api'],
	['hubspot', 'privateApp', 'hubSpotCrmSyncApi'],
	['hubspot', 'oAuth2', 'hubSpotCrmSyncOAuth2Api'],
	['pipedrive', 'apiToken', 'pipedriveCrmSyncApi'],
	['pipedrive', 'oAuth2', 'pipedriveCrmSyncOAuth2Api'],
	['zoho', '', 'zohoCrmSyncOAuth2Api'],
	['dynamics', '', 'dynamicsCrmSyncApi'],
];

/** The authentication parameter of CRMs that offer more than one credential type. */
export const AUTH_PARAMETER: Record<string, string> = { hubspot: 'hubspotAuthentication', pipedrive: 'pipedriveAuthentication' };

/** The credential type the node chose for `crm`; `readParameter` reads its authentication parameter. */
export function credentialType(node: INode, crm: CrmName, readParameter: (name: string) => unknown): string {
	const auth = AUTH_PARAMETER[crm] ? String(readParameter(AUTH_PARAMETER[crm]) ?? '') : '';
	const entry = CREDENTIAL_TYPES.find(([c, a]) => c === crm && a === auth);
	if (!entry) throw new NodeOperationError(node, `No credential type for CRM "${crm}" with authentication "${auth}"`);
	return entry[2];
}

/** What a node gives to read its CRM credential. */
export interface CredentialContext {
	getNode(): INode;
	getCredentials(type: string): Promise<object>;
}

/** The credential the node chose for `crm` (see credentialType), as the connector takes it. */
export async function crmCredentials(ctx: CredentialContext, crm: CrmName, readParameter: (name: string) => unknown): Promise<Record<string, unknown>> {
	return (await ctx.getCredentials(credentialType(ctx.getNode(), crm, readParameter))) as Record<string, unknown>;
}

/** Display conditions a node adds to its credential descriptions (per CRM where they differ). */
export interface CredentialDisplay {
	/** The node's parameter that selects the CRM (default 'crm'). */
	crmParameter?: string;
	show?: ICredentialsDisplayOptions['show'] | ((crm: CrmName) => ICredentialsDisplayOptions['show']);
	hide?: ICredentialsDisplayOptions['hide'];
	required?: (crm: CrmName) => boolean;
}

/**
 * One description per credential type, shown when the node's CRM parameter selects its CRM and,
 * for CRMs with several types, the authentication parameter selects it; plus the node's own conditions.
 */
export function crmCredentialDescriptions(display: CredentialDisplay = {}): INodeCredentialDescription[] {
	return CREDENTIAL_TYPES.map(([crm, auth, name]) => {
		const own = typeof display.show === 'function' ? display.show(crm as CrmName) : display.show;
		const show = { ...own, [display.crmParameter ?? 'crm']: [crm], ...(auth ? { [AUTH_PARAMETER[crm]]: [auth] } : {}) };
		return { name, required: display.required ? display.required(crm as CrmName) : true, displayOptions: display.hide ? { show, hide: display.hide } : { show } };
	});
}
