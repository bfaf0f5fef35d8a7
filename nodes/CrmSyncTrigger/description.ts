import type { INodeProperties } from 'n8n-workflow';
import { authenticationProperties, crmOptions } from '../shared/crmProperties';
import { stateBackendProperty, syncNamespaceProperty } from '../shared/stateStore';
import { FETCHING_BY_DEFAULT } from './settings';

/** Shown when any of `crm` is ticked (n8n matches an array value against any of the listed values). */
const show = (crm: string[]) => ({ show: { crm } });
/** Shown for a CRM only when the node does (or does not) register the subscription itself. */
const showRegistered = (crm: string, registered: boolean) => ({ show: { crm: [crm], registerSubscription: [registered] } });

/** Where each CRM is told about its endpoint, and which credential holds its secret. */
const setupNotices: INodeProperties[] = [
	{
		displayName:
			'HubSpot: in your HubSpot app (Webhooks), set the target URL to this node\'s Production URL ending in /hubspot and subscribe to contact/company/deal events. Put the app\'s Client Secret in the HubSpot webhook credential: requests are checked with HubSpot\'s v3 signature and refused when older than 5 minutes (v1/v2 signatures only with Legacy App below).',
		name: 'setupHubspot',
		type: 'notice',
		default: '',
		displayOptions: show(['hubspot']),
	},
	{
		displayName:
			'Pipedrive: create a webhook (Tools > Webhooks or POST /v1/webhooks) with this node\'s Production URL ending in /pipedrive, version 1.0 or 2.0, and HTTP auth user/password set to the values of the Pipedrive webhook credential.',
		name: 'setupPipedrive',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('pipedrive', false),
	},
	{
		displayName:
			'Pipedrive: when the workflow is activated, the node creates a Pipedrive webhook (version 2.0, all objects and actions) for its Production URL ending in /pipedrive, with HTTP auth user/password set to the values of the Pipedrive webhook credential; it deletes it when the workflow is deactivated.',
		name: 'registeredPipedrive',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('pipedrive', true),
	},
	{
		displayName:
			'Salesforce: every delivery must carry the Secret of the Salesforce webhook credential. Outbound Messages: use this node\'s Production URL ending in /salesforce with ?key=YOUR_SECRET appended as the endpoint URL; the node answers with the SOAP Ack. Change events (CDC relay or Flow HTTP callout): POST the change-event JSON with header X-Sfdc-Signature = base64(HMAC-SHA256(secret, raw body)). Organization IDs and Allowed IPs are optional extra checks.',
		name: 'setupSalesforce',
		type: 'notice',
		default: '',
		displayOptions: show(['salesforce']),
	},
	{
		displayName:
			'Zoho: enable a notification (POST /crm/v6/actions/watch) with notify_url = this node\'s Production URL ending in /zoho and token = the Token of the Zoho webhook credential. Watches expire (at most one day): renew them before expiry.',
		name: 'setupZoho',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('zoho', false),
	},
	{
		displayName:
			'Zoho: when the workflow is activated, the node enables a notification channel (the modules of the Entities below, or all) for its Production URL ending in /zoho with the Token of the Zoho webhook credential, and disables it on deactivation. Zoho channels live at most one day and n8n has no timer for webhook nodes: the node renews the channel (PATCH, one more day) on activation and whenever a notification arrives with less than 12 hours left. A channel that gets no notification for a day lapses: deactivate and activate the workflow to enable a new one.',
		name: 'registeredZoho',
		type: 'notice',
		default: '',
		displayOptions: showRegistered('zoho', true),
	},
	{
		displayName:
			'Dynamics 365: register a webhook in the Plugin Registration Tool with this node\'s Production URL ending in /dynamics. Authentication: WebhookKey (sent as ?code=) or HttpHeader with header x-crm-sync-key, using the Key of the Dynamics webhook credential. Then add steps for Create/Update/Delete on the tables to sync.',
		name: 'setupDynamics',
		type: 'notice',
		default: '',
		displayOptions: show(['dynamics']),
	},
];

/** Own-change markers of one CRM (loop prevention): [crm, what identifies this sync's writes there]. */
const ownChangeMarkers = (crm: string, label: string, what: string): INodeProperties => ({
	displayName: `${label} Own Change Markers`,
	name: `${crm}OwnChangeMarkers`,
	type: 'string',
	default: '',
	description: `Comma-separated values that identify ${label} changes written by this sync, which are then dropped (loop prevention): ${what}`,
	displayOptions: show([crm]),
});

export const triggerProperties: INodeProperties[] = [
	{
		displayName:
			'This trigger receives webhooks. To read changes without webhooks (delta polling since a stored cursor), use the CRM Sync Poll Trigger node.',
		name: 'modeNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'CRMs',
		name: 'crm',
		type: 'multiOptions',
		noDataExpression: true,
		options: crmOptions,
		default: ['hubspot'],
		description:
			'The CRMs that call this trigger, each on its own path: /webhook/&lt;id&gt;/&lt;crm&gt;, e.g. /webhook/&lt;id&gt;/hubspot. A CRM that is not ticked gets 404 on its path.',
	},
	{
		displayName: 'Register Subscription Automatically',
		name: 'registerSubscription',
		type: 'boolean',
		noDataExpression: true,
		default: true,
		description:
			'Whether to create the webhook subscription of Pipedrive and of Zoho (each when ticked) when the workflow is activated and remove it when it is deactivated (needs the CRM\'s credential). Off: set them up in the CRM by hand.',
		displayOptions: show(['pipedrive', 'zoho']),
	},
	{
		displayName: 'Fetch Full Records For',
		name: 'fetchRecords',
		type: 'multiOptions',
		noDataExpression: true,
		options: crmOptions,
		default: FETCHING_BY_DEFAULT,
		description:
			"For these CRMs, group the events of one record in a request into one item and read the record's current state from the CRM (with the CRM's credential below) before emitting it. A record that no longer exists is emitted as a delete. If the CRM cannot be read, the request is answered 503 and the CRM redelivers it. Zoho, which never redelivers, is answered at once and read with retries.",
	},
	// The same authentication choice (and credential types) as Unified CRM Upsert, shown with the
	// credential (see subscriptionCredentials).
	...authenticationProperties().filter((p) => p.name === 'pipedriveAuthentication'),
	...authenticationProperties({ show: { fetchRecords: ['hubspot', true] } }).filter((p) => p.name === 'hubspotAuthentication'),
	...setupNotices,
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
		displayName: 'Organization IDs',
		name: 'salesforceOrganizationIds',
		type: 'string',
		default: '',
		placeholder: '00D5g000004ABCD',
		description:
			'Comma-separated. An extra check on top of the webhook credential\'s Secret (organization IDs are not secret): Outbound Messages from other orgs are refused.',
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
	ownChangeMarkers('hubspot', 'HubSpot', 'the app ID or sourceId of its writes.'),
	ownChangeMarkers('pipedrive', 'Pipedrive', 'the API user ID (with change_source "api").'),
	ownChangeMarkers('salesforce', 'Salesforce', 'the Sforce-Call-Options client name or the integration user ID.'),
	ownChangeMarkers('dynamics', 'Dynamics', 'the application user ID.'),
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
