// The five CRMs as node parameter options, in the alphabetical order n8n's lint asks for.
export const crmOptions = [
	{ name: 'HubSpot', value: 'hubspot' },
	{ name: 'Microsoft Dynamics 365', value: 'dynamics' },
	{ name: 'Pipedrive', value: 'pipedrive' },
	{ name: 'Salesforce', value: 'salesforce' },
	{ name: 'Zoho CRM', value: 'zoho' },
];
