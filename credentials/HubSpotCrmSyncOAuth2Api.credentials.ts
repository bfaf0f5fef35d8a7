import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

// HubSpot public (OAuth) app. n8n runs the authorization-code flow; the connector refreshes the
// access token itself (POST {baseUrl}/oauth/v1/token) when it expires or a call answers 401.
export class HubSpotCrmSyncOAuth2Api implements ICredentialType {
	name = 'hubSpotCrmSyncOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'HubSpot (CRM Sync) OAuth2 API';

	documentationUrl = 'https://developers.hubspot.com/docs/api/oauth-quickstart-guide';

	icon = 'file:icons/hubspot.svg' as const;

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.hubapi.com',
			description: 'API and token endpoint base. Change only to point at a sandbox or a proxy.',
		},
		{ displayName: 'Authorization URL', name: 'authUrl', type: 'hidden', default: 'https://app.hubspot.com/oauth/authorize' },
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{$self["baseUrl"]}}/oauth/v1/token',
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default:
				'crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read crm.objects.companies.write crm.objects.deals.read crm.objects.deals.write crm.schemas.contacts.read crm.schemas.companies.read crm.schemas.deals.read crm.objects.owners.read oauth',
		},
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: '' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl}}',
			url: '/crm/v3/objects/contacts',
			qs: { limit: 1 },
			headers: { Authorization: '=Bearer {{$credentials.oauthTokenData.access_token}}' },
		},
	};
}
