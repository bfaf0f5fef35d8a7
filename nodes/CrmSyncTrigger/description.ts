import type { INodeProperties } from 'n8n-workflow';
import { authenticationProperties, crmOptions } from '../shared/crmProperties';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';

const show = (crm: string[]) => ({ show: { crm } });
/** Shown for a CRM only when the node does (or does not) register the subscription itself. */
const showRegistered = (crm: string, registered: boolean) => ({ show: { crm: [crm], registerSubscription: [registered] } });

/** Where each CRM is told about this endpoint, and which secret goes where. */
const setupNotices: INodeProperties[] = [
	{
		displayName:
			'In your HubSpot app (Webhooks), set the target URL to this node\'s Production URL and subscribe to contact/company/deal events. Paste the app\'s Client Secret below: requests are checked with HubSpot\'s v3 signature and refused when older than 5 minutes (v1/v2 signatures only with Legacy App below).',
		name: 'setupHubspot',
		type: 'notice',
		default: '',
		displayOptions: show(['hubspot']),
	},
	{
		displayName:
			'Create a Pipedrive webhook (Tools > Webhooks or POST /v1/webhooks) with this node\'s Production URL, version 1.0 or 2.0, and HTTP auth user/password set to the values below.',
		name: 'setupPipedrive',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('pipedrive', false),
	},
	{
		displayName:
			'When the workflow is activated, the node creates a Pipedrive webhook (version 2.0, all objects and actions) for its Production URL, with HTTP auth user/password set to the values below; it deletes it when the workflow is deactivated.',
		name: 'registeredPipedrive',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('pipedrive', true),
	},
	{
		displayName:
			'Set the Secret below: every Salesforce delivery must carry it. Outbound Messages: use this node\'s Production URL with ?key=YOUR_SECRET appended as the endpoint URL; the node answers with the SOAP Ack. Change events (CDC relay or Flow HTTP callout): POST the change-event JSON with header X-Sfdc-Signature = base64(HMAC-SHA256(secret, raw body)). Organization IDs and Allowed IPs are optional extra checks.',
		name: 'setupSalesforce',
		type: 'notice',
		default: '',
		displayOptions: show(['salesforce']),
	},
	{
		displayName:
			'Enable a Zoho notification (POST /crm/v6/actions/watch) with notify_url = this node\'s Production URL and token = the Token below. Watches expire (at most one day): renew them before expiry.',
		name: 'setupZoho',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('zoho', false),
	},
	{
		displayName:
			'When the workflow is activated, the node enables a Zoho notification channel (the modules of the Entities below, or all) for its Production URL with the Token below, and disables it on deactivation. Zoho channels live at most one day and n8n has no timer for webhook nodes: the node renews the channel (PATCH, one more day) on activation and whenever a notification arrives with less than 12 hours left. A channel that gets no notification for a day lapses: deactivate and activate the workflow to enable a new one.',
		name: 'registeredZoho',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('zoho', true),
	},
	{
		displayName:
			'Register a webhook in the Plugin Registration Tool with this node\'s Production URL. Authentication: WebhookKey (sent as ?code=) or HttpHeader with header x-crm-sync-key, using the Key below. Then add steps for Create/Update/Delete on the tables to sync.',
		name: 'setupDynamics',
		type: 'notice',
		default: '',
		displayOptions: show(['dynamics']),
	},
];

const secret = (crm: string, displayName: string, description: string): INodeProperties => ({
	displayName,
	name: 'secret',
	type: 'string',
	typeOptions: { password: true },
	default: '',
	description,
	displayOptions: show([crm]),
});

const previousSecret = (crm: string, displayName: string): INodeProperties => ({
	displayName,
	name: 'previousSecret',
	type: 'string',
	typeOptions: { password: true },
	default: '',
	description: 'During a rotation, the old value is accepted too. Clear it once every sender uses the new one.',
	displayOptions: show([crm]),
});

/** Default on where webhooks do not carry the record (HubSpot: one property per event; Zoho: ids only). */
const FETCHING_BY_DEFAULT = ['hubspot', 'zoho'];
const fetchRecordsProperty = (crms: string[], fetchByDefault: boolean): INodeProperties => ({
	displayName: 'Fetch Full Records',
	name: 'fetchRecords',
	type: 'boolean',
	noDataExpression: true,
	default: fetchByDefault,
	description:
		"Whether to group the events of one record in a request into one item and read the record's current state from the CRM (with the credential below) before emitting it. A record that no longer exists is emitted as a delete. If the CRM cannot be read, the request is answered 503 and the CRM redelivers it. Zoho, which never redelivers, is answered at once and read with retries.",
	displayOptions: show(crms),
});
const fetchRecordsProperties: INodeProperties[] = [
	fetchRecordsProperty(FETCHING_BY_DEFAULT, true),
	fetchRecordsProperty(crmOptions.map((o) => String(o.value)).filter((crm) => !FETCHING_BY_DEFAULT.includes(crm)), false),
];

export const triggerProperties: INodeProperties[] = [
	{
		displayName:
			'This trigger receives webhooks. To read changes without webhooks (delta polling since a stored cursor), use the CRM Sync Poll Trigger node.',
		name: 'modeNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'CRM',
		name: 'crm',
		type: 'options',
		noDataExpression: true,
		options: crmOptions,
		default: 'hubspot',
		description: 'The CRM that calls this webhook. Its path is the CRM name, e.g. /webhook/&lt;id&gt;/hubspot.',
	},
	{
		displayName: 'Register Subscription Automatically',
		name: 'registerSubscription',
		type: 'boolean',
		noDataExpression: true,
		default: true,
		description:
			'Whether to create the CRM\'s webhook subscription when the workflow is activated and remove it when it is deactivated (needs a credential). Off: set it up in the CRM by hand.',
		displayOptions: show(['pipedrive', 'zoho']),
	},
	...fetchRecordsProperties,
	// The same authentication choice (and credential types) as Unified CRM Upsert, shown with the
	// credential (see subscriptionCredentials).
	...authenticationProperties()
		.filter((p) => p.name === 'pipedriveAuthentication')
		.map((p): INodeProperties => ({ ...p, displayOptions: show(['pipedrive']) })),
	...authenticationProperties({ show: { fetchRecords: [true] } }).filter((p) => p.name === 'hubspotAuthentication'),
	...setupNotices,
	secret('hubspot', 'Client Secret', 'The HubSpot app\'s client secret, used to check X-HubSpot-Signature(-v3)'),
	previousSecret('hubspot', 'Previous Client Secret'),
	{
		displayName: 'Legacy App (v1/v2 Signatures)',
		name: 'hubspotLegacySignatures',
		type: 'boolean',
		default: false,
		description:
			'Whether to also accept requests signed only with X-HubSpot-Signature (v1/v2). These signatures carry no timestamp, so they have no replay protection: a captured request is accepted again at any time. Use only for an app that cannot send v3 signatures.',
		displayOptions: show(['hubspot']),
	},
	{
		displayName: 'Basic Auth User',
		name: 'basicAuthUser',
		type: 'string',
		default: '',
		required: true,
		description: 'The webhook\'s http_auth_user',
		displayOptions: show(['pipedrive']),
	},
	secret('pipedrive', 'Basic Auth Password', 'The webhook\'s http_auth_password'),
	previousSecret('pipedrive', 'Previous Basic Auth Password'),
	secret(
		'salesforce',
		'Secret',
		'Required. The ?key= value of the Outbound Message URL, and the HMAC secret of the JSON change-event form.',
	),
	previousSecret('salesforce', 'Previous Secret'),
	{
		displayName: 'Organization IDs',
		name: 'salesforceOrganizationIds',
		type: 'string',
		default: '',
		placeholder: '00D5g000004ABCD',
		description:
			'Comma-separated. An extra check on top of the Secret (organization IDs are not secret): Outbound Messages from other orgs are refused.',
		displayOptions: show(['salesforce']),
	},
	{
		displayName: 'Allowed IPs',
		name: 'salesforceAllowedIps',
		type: 'string',
		default: '',
		placeholder: '13.108.0.0/14, 2001:db8::/32',
		description:
			'Comma-separated IP addresses or CIDR ranges (e.g. Salesforce\'s published ranges, or your CDC relay). An extra check on top of the Secret: requests from other addresses are refused. Empty: no IP check.',
		displayOptions: show(['salesforce']),
	},
	secret('zoho', 'Token', 'The token of the notification channel (watch), at most 50 characters; Zoho sends it with every notification'),
	previousSecret('zoho', 'Previous Token'),
	secret('dynamics', 'Key', 'The webhook key (?code=) or the value of the x-crm-sync-key header'),
	previousSecret('dynamics', 'Previous Key'),
	{
		displayName: 'Entities',
		name: 'entities',
		type: 'multiOptions',
		options: [
			{ name: 'Account / Company', value: 'account' },
			{ name: 'Activity', value: 'activity' },
			{ name: 'Contact', value: 'contact' },
			{ name: 'Lead', value: 'lead' },
			{ name: 'Opportunity / Deal', value: 'opportunity' },
		],
		default: [],
		description: 'Emit only changes of these entities. Empty: all.',
	},
	{
		displayName: 'Own Change Markers',
		name: 'ownChangeMarkers',
		type: 'string',
		default: '',
		description:
			'Comma-separated values that identify changes written by this sync, which are then dropped (loop prevention): HubSpot app / sourceId, Pipedrive API user id (with change_source "api"), Salesforce Sforce-Call-Options client name or integration user id, Dynamics application user id.',
	},
	{
		displayName: 'Drop Redelivered Events',
		name: 'dropRedeliveries',
		type: 'boolean',
		default: true,
		description: 'Whether to remember event IDs in the state store and drop events delivered again. If the store is unreachable, the CRM gets a 503 and redelivers.',
	},
	{
		displayName: 'Drop Echoes of Our Writes',
		name: 'dropEchoes',
		type: 'boolean',
		default: true,
		description: 'Whether to drop changes whose values match a write Unified CRM Upsert made in the same sync namespace (loop prevention; uses the state store)',
		displayOptions: { show: { dropRedeliveries: [true] } },
	},
	stateBackendProperty({ show: { dropRedeliveries: [true] } }),
	syncNamespaceProperty('', { show: { dropRedeliveries: [true] } }),
	{
		displayName: 'Include Raw Payload',
		name: 'includeRaw',
		type: 'boolean',
		default: false,
		description: 'Whether to add the CRM\'s own payload of each event as "raw"',
	},
	{
		displayName: 'Max Body Size (KB)',
		name: 'maxBodyKb',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 1024,
		description: 'Larger requests are refused with 413',
	},
	{
		// n8n reads the body of version-1 webhook nodes unless options.binaryData is set; this node
		// reads the raw body itself (signatures need the exact bytes) and answers bad bodies with 400.
		displayName: 'Raw Body',
		name: 'options',
		type: 'hidden',
		default: { binaryData: true },
	},
];
