import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class PipedriveCrmSyncApi implements ICredentialType {
	name = 'pipedriveCrmSyncApi';

	displayName = 'Pipedrive (CRM Sync) API';

	documentationUrl = 'https://pipedrive.readme.io/docs/how-to-find-the-api-token';

	icon = 'file:icons/pipedrive.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'API Token',
			name: 'apiToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Company Domain URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.pipedrive.com',
			description: 'Your company domain (https://yourcompany.pipedrive.com) or a sandbox URL',
		},
	];

	// Pipedrive takes the token in a header; the ?api_token= query form leaks into logs.
	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'x-api-token': '={{$credentials.apiToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.baseUrl}}', url: '/api/v2/persons', qs: { limit: 1 } },
	};
}
