// Credentials that point each CRM credential type of the package at a running sandbox.
import type { CredentialFixture } from './harness';

export type SandboxUrls = Partial<Record<'salesforce' | 'hubspot' | 'pipedrive' | 'zoho' | 'dynamics', string>>;

/** Credential ids and names the templates in workflows/ reference. */
export const CREDENTIAL_REFS = {
	salesforce: { id: 'crmSyncSalesforce1', name: 'Salesforce (sandbox)', type: 'salesforceCrmSyncOAuth2Api' },
	hubspot: { id: 'crmSyncHubSpot01', name: 'HubSpot (sandbox)', type: 'hubSpotCrmSyncApi' },
	pipedrive: { id: 'crmSyncPipedrive1', name: 'Pipedrive (sandbox)', type: 'pipedriveCrmSyncApi' },
	zoho: { id: 'crmSyncZohoCrm001', name: 'Zoho CRM (sandbox)', type: 'zohoCrmSyncOAuth2Api' },
	dynamics: { id: 'crmSyncDynamics01', name: 'Dynamics 365 (sandbox)', type: 'dynamicsCrmSyncApi' },
} as const;

export function sandboxCredentials(urls: SandboxUrls): CredentialFixture[] {
	const data: Record<keyof typeof CREDENTIAL_REFS, (url: string) => Record<string, unknown>> = {
		salesforce: (url) => ({
			grantType: 'authorizationCode',
			clientId: 'sandbox-client',
			clientSecret: 'sandbox-secret',
			loginUrl: url,
			apiVersion: '62.0',
			oauthTokenData: { access_token: 'sandbox-access', refresh_token: 'sandbox-refresh', instance_url: url },
		}),
		hubspot: (url) => ({ accessToken: 'pat-sandbox', baseUrl: url }),
		pipedrive: (url) => ({ apiToken: 'sandbox-token', baseUrl: url }),
		zoho: (url) => ({
			clientId: 'sandbox-client',
			clientSecret: 'sandbox-secret',
			accountsUrl: 'https://accounts.zoho.com',
			accountsUrlOverride: url,
			apiDomainOverride: url,
			oauthTokenData: { access_token: 'sandbox-access', refresh_token: 'sandbox-refresh', api_domain: url },
		}),
		dynamics: (url) => ({ orgUrl: url, tenantId: 'sandbox-tenant', clientId: 'sandbox-client', clientSecret: 'sandbox-secret', authorityUrl: url }),
	};
	return (Object.keys(CREDENTIAL_REFS) as Array<keyof typeof CREDENTIAL_REFS>)
		.filter((crm) => urls[crm])
		.map((crm) => ({ ...CREDENTIAL_REFS[crm], data: data[crm](urls[crm]!) }));
}
