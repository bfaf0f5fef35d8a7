import type {
	IAuthenticateGeneric,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	INodeProperties,
} from 'n8n-workflow';

export class DynamicsCrmSyncApi implements ICredentialType {
	name = 'dynamicsCrmSyncApi';

	displayName = 'Microsoft Dynamics 365 (CRM Sync) Client Credentials API';

	documentationUrl = 'https://learn.microsoft.com/power-apps/developer/data-platform/authenticate-oauth';

	icon = 'file:icons/dynamics.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Organization URL',
			name: 'orgUrl',
			type: 'string',
			default: '',
			placeholder: 'https://yourorg.crm.dynamics.com',
			required: true,
		},
		{ displayName: 'Tenant ID', name: 'tenantId', type: 'string', default: '', required: true },
		{ displayName: 'Client ID', name: 'clientId', type: 'string', default: '', required: true },
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Authority URL',
			name: 'authorityUrl',
			type: 'string',
			default: 'https://login.microsoftonline.com',
			description: 'Change for sovereign clouds or to point at a sandbox',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	// Client-credentials tokens have no refresh token: n8n calls this again when the token expires.
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		const orgUrl = String(credentials.orgUrl).replace(/\/+$/, '');
		const response = (await this.helpers.httpRequest({
			method: 'POST',
			url: `${String(credentials.authorityUrl).replace(/\/+$/, '')}/${String(credentials.tenantId)}/oauth2/v2.0/token`,
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'client_credentials',
				client_id: String(credentials.clientId),
				client_secret: String(credentials.clientSecret),
				scope: `${orgUrl}/.default`,
			}).toString(),
		})) as { access_token: string };
		return { accessToken: response.access_token };
	}

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.orgUrl}}', url: '/api/data/v9.2/WhoAmI' },
	};
}
