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
	const crms = (Object.keys(CREDENTIAL_REFS) as Array<keyof typeof CREDENTIAL_REFS>).filter((crm) => urls[crm]);
	return [
		...crms.map((crm) => ({ ...CREDENTIAL_REFS[crm], data: data[crm](urls[crm]!) })),
		...crms.map((crm) => ({ ...WEBHOOK_CREDENTIAL_REFS[crm], data: { ...SANDBOX_WEBHOOK_SECRETS[crm] } })),
		{ ...SETTINGS_CREDENTIAL_REF, data: { backend: 'embedded', namespace: 'default' } },
		{ ...SYNC_API_KEY_REF, data: { name: SYNC_API_KEY.name, value: SYNC_API_KEY.value } },
	];
}

/** The CRM Sync Settings credential every template node selects (the embedded store; queue mode makes it Redis). */
export const SETTINGS_CREDENTIAL_REF = { id: 'crmSyncSettings01', name: 'CRM Sync settings (sandbox)', type: 'crmSyncSettingsApi' } as const;

/** The sync-API template's header auth (n8n's Header Auth credential) and the key the sandbox app sends. */
export const SYNC_API_KEY_REF = { id: 'crmSyncApiKey01', name: 'Sync API key (sandbox)', type: 'httpHeaderAuth' } as const;
export const SYNC_API_KEY = { name: 'x-api-key', value: 'sandbox-sync-api-key' } as const;

/** The CRM Sync Trigger's webhook-secret credentials the templates reference (one type per CRM). */
export const WEBHOOK_CREDENTIAL_REFS = {
	salesforce: { id: 'crmSyncSfWebhook01', name: 'Salesforce webhook (sandbox)', type: 'salesforceWebhookCrmSyncApi' },
	hubspot: { id: 'crmSyncHsWebhook01', name: 'HubSpot webhook (sandbox)', type: 'hubSpotWebhookCrmSyncApi' },
	pipedrive: { id: 'crmSyncPdWebhook01', name: 'Pipedrive webhook (sandbox)', type: 'pipedriveWebhookCrmSyncApi' },
	zoho: { id: 'crmSyncZhWebhook01', name: 'Zoho CRM webhook (sandbox)', type: 'zohoWebhookCrmSyncApi' },
	dynamics: { id: 'crmSyncDyWebhook01', name: 'Dynamics 365 webhook (sandbox)', type: 'dynamicsWebhookCrmSyncApi' },
} as const;

/** The secrets of those credentials: what the sandbox CRMs sign or authenticate their webhooks with (see subscriptions.ts). */
export const SANDBOX_WEBHOOK_SECRETS: Record<keyof typeof WEBHOOK_CREDENTIAL_REFS, { secret: string; previousSecret?: string; basicAuthUser?: string }> = {
	salesforce: { secret: 'sandbox-salesforce-webhook-secret' },
	hubspot: { secret: 'sandbox-hubspot-client-secret' },
	pipedrive: { secret: 'sandbox-pipedrive-webhook-password', basicAuthUser: 'crm-sync' },
	zoho: { secret: 'sandbox-zoho-watch-token' },
	dynamics: { secret: 'sandbox-dynamics-webhook-key' },
};

/** Each CRM's API credential data for a running sandbox, as a connector takes it (createConnector). */
export function apiCredentials(urls: SandboxUrls): Record<keyof typeof CREDENTIAL_REFS, Record<string, unknown>> {
	const fixtures = sandboxCredentials(urls);
	return Object.fromEntries(Object.entries(CREDENTIAL_REFS).map(([crm, ref]) => [crm, fixtures.find((c) => c.id === ref.id)!.data])) as Record<keyof typeof CREDENTIAL_REFS, Record<string, unknown>>;
}
