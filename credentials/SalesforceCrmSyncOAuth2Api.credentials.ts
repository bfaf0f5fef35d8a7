import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class SalesforceCrmSyncOAuth2Api implements ICredentialType {
	name = 'salesforceCrmSyncOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Salesforce (CRM Sync) OAuth2 API';

	documentationUrl = 'https://help.salesforce.com/s/articleView?id=sf.connected_app_create.htm';

	icon = 'file:icons/salesforce.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'options',
			options: [
				{ name: 'Authorization Code', value: 'authorizationCode' },
				{ name: 'Client Credentials', value: 'clientCredentials' },
			],
			default: 'authorizationCode',
		},
		{
			displayName: 'Login URL',
			name: 'loginUrl',
			type: 'string',
			default: 'https://login.salesforce.com',
			description: 'https://test.salesforce.com for sandboxes, your My Domain URL for client credentials, or a local emulator',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: '={{$self["loginUrl"]}}/services/oauth2/authorize',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{$self["loginUrl"]}}/services/oauth2/token',
		},
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: 'api refresh_token' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: '' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		{
			displayName: 'API Version',
			name: 'apiVersion',
			type: 'string',
			default: '62.0',
			description: 'REST API version; collection upsert needs 46.0 or later',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.oauthTokenData.instance_url}}',
			url: '=/services/data/v{{$credentials.apiVersion}}/limits',
		},
	};
}
