import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class ZohoCrmSyncOAuth2Api implements ICredentialType {
	name = 'zohoCrmSyncOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Zoho CRM (CRM Sync) OAuth2 API';

	documentationUrl = 'https://www.zoho.com/crm/developer/docs/api/v6/oauth-overview.html';

	icon = 'file:icons/zoho.svg' as const;

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{
			displayName: 'Data Centre',
			name: 'accountsUrl',
			type: 'options',
			options: [
				{ name: 'Australia (accounts.zoho.com.au)', value: 'https://accounts.zoho.com.au' },
				{ name: 'Canada (accounts.zohocloud.ca)', value: 'https://accounts.zohocloud.ca' },
				{ name: 'China (accounts.zoho.com.cn)', value: 'https://accounts.zoho.com.cn' },
				{ name: 'Europe (accounts.zoho.eu)', value: 'https://accounts.zoho.eu' },
				{ name: 'India (accounts.zoho.in)', value: 'https://accounts.zoho.in' },
				{ name: 'Japan (accounts.zoho.jp)', value: 'https://accounts.zoho.jp' },
				{ name: 'Saudi Arabia (accounts.zoho.sa)', value: 'https://accounts.zoho.sa' },
				{ name: 'United States (accounts.zoho.com)', value: 'https://accounts.zoho.com' },
			],
			default: 'https://accounts.zoho.com',
		},
		{
			displayName: 'Accounts URL Override',
			name: 'accountsUrlOverride',
			type: 'string',
			default: '',
			description: 'Leave empty to use the data centre above; set to point at a sandbox',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: '={{$self["accountsUrlOverride"] || $self["accountsUrl"]}}/oauth/v2/auth',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{$self["accountsUrlOverride"] || $self["accountsUrl"]}}/oauth/v2/token',
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: 'ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.notifications.ALL,ZohoCRM.coql.READ,ZohoCRM.org.READ,ZohoCRM.users.READ',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: 'access_type=offline&prompt=consent',
		},
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		{
			displayName: 'API Domain Override',
			name: 'apiDomainOverride',
			type: 'string',
			default: '',
			description: 'Leave empty to use the api_domain Zoho returns with the token',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.apiDomainOverride || $credentials.oauthTokenData.api_domain}}',
			url: '/crm/v6/Contacts',
			qs: { fields: 'Last_Name', per_page: 1 },
			headers: { Authorization: '=Zoho-oauthtoken {{$credentials.oauthTokenData.access_token}}' },
		},
	};
}
