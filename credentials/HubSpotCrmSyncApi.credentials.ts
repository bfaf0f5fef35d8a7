import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class HubSpotCrmSyncApi implements ICredentialType {
	name = 'hubSpotCrmSyncApi';

	displayName = 'HubSpot (CRM Sync) Private App API';

	documentationUrl = 'https://developers.hubspot.com/docs/api/private-apps';

	icon = 'file:icons/hubspot.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Private app access token (pat-…) with the CRM object scopes you sync',
		},
		{
			displayName: 'API Limit',
			name: 'apiLimit',
			type: 'options',
			options: [
				{ name: 'Free or Starter: 100 Requests per 10 s', value: 'starter' },
				{ name: 'Professional or Enterprise: 190 Requests per 10 s', value: 'professional' },
				{ name: 'With the API Limit Increase: 250 Requests per 10 s', value: 'increase' },
			],
			default: 'starter',
			description: "Your HubSpot account's limit for private apps. The sync stays under it, so it writes at most about 9, 17 or 22 contacts per second to HubSpot.",
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.hubapi.com',
			description: 'Change only to point at a sandbox or a proxy',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.baseUrl}}', url: '/crm/v3/objects/contacts', qs: { limit: 1 } },
	};
}
