// Parameters of the "Sync API Request" operation of Unified CRM Upsert (see lib/sync/sync-api.ts
// and workflows/sync-api.json for the request format and the workflow around it).
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { crmOptions } from '../shared/crmOptions';

export const SYNC_API_OPERATION = 'syncApiRequest';

export const syncApiOperationOptions: INodePropertyOptions[] = [
	{
		name: 'Sync API Request',
		value: SYNC_API_OPERATION,
		action: 'Handle a sync API request',
		description: 'Inbound API for your own app: validate {entity_type, operation, data, options} requests, write them to this CRM, answer with per-CRM results; bulk jobs',
	},
];

const show = (steps: string[]) => ({ show: { operation: [SYNC_API_OPERATION], syncApiStep: steps } });

export const syncApiProperties: INodeProperties[] = [
	{
		displayName: 'Step',
		name: 'syncApiStep',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Validate Request',
				value: 'validate',
				description: 'Check the webhook body against the schema and the CRMs below; no CRM call. Valid → Success, invalid → Errors (a 400 body with every reason). For a bulk job (after its 202): checks the queued records.',
			},
			{
				name: 'Write to This CRM',
				value: 'write',
				description: "Write each request (or bulk job) to this node's CRM and add the CRM's result to the item. Chain one node per CRM.",
			},
			{
				name: 'Build Response',
				value: 'respond',
				description: 'After the last CRM: the answer with per-CRM results (Success when every CRM succeeded, Errors otherwise); finishes bulk jobs',
			},
			{
				name: 'Accept Bulk Job',
				value: 'acceptBulk',
				description: 'Check a bulk body (up to 10 MB), queue its records in the state store and output the job ID (for a 202 answer); a Validate Request step after the answer checks the records',
			},
			{
				name: 'Get Bulk Job',
				value: 'bulkStatus',
				description: 'The status and outcome of a bulk job; the ID is read from the query (job=…), route parameters (jobId) or the item (jobId). Unknown → Errors.',
			},
		],
		default: 'validate',
		displayOptions: { show: { operation: [SYNC_API_OPERATION] } },
	},
	{
		displayName: 'Validate For CRMs',
		name: 'syncApiCrms',
		type: 'multiOptions',
		options: crmOptions,
		default: ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'],
		description: 'The CRMs the workflow writes to: their field formats and required fields are checked. (The CRM field above is not used by this step.)',
		displayOptions: show(['validate']),
	},
];
