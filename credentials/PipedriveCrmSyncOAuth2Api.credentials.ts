import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

// Pipedrive OAuth app. The token response carries api_domain (the company's API host), which the
// connector uses unless Base URL is set; the connector refreshes expired tokens itself.
export class PipedriveCrmSyncOAuth2Api implements ICredentialType {
	name = 'pipedriveCrmSyncOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Pipedrive (CRM Sync) OAuth2 API';

	documentationUrl = 'https://pipedrive.readme.io/docs/marketplace-oauth-authorization';

	icon = 'file:icons/pipedrive.svg' as const;

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{
			displayName: 'OAuth Server URL',
			name: 'oauthUrl',
			type: 'string',
			default: 'https://oauth.pipedrive.com',
			description: 'Change only to point at a sandbox',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://yourcompany.pipedrive.com',
			description: 'Leave empty to use the api_domain Pipedrive returns with the token; set to point at a sandbox',
		},
		{ displayName: 'Authorization URL', name: 'authUrl', type: 'hidden', default: '={{$self["oauthUrl"]}}/oauth/authorize' },
		{ displayName: 'Access Token URL', name: 'accessTokenUrl', type: 'hidden', default: '={{$self["oauthUrl"]}}/oauth/token' },
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: 'base contacts:full deals:full activities:full leads:full' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: '' },
		// Pipedrive's token endpoint takes the client id/secret as HTTP Basic auth.
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'header' },
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl || $credentials.oauthTokenData.api_domain}}',
			url: '/api/v2/persons',
			qs: { limit: 1 },
			headers: { Authorization: '=Bearer {{$credentials.oauthTokenData.access_token}}' },
		},
	};
}
