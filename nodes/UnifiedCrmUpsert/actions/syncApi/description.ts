// Parameters of the "Sync API Request" operation (see lib/sync/sync-api/ and workflows/sync-api.json
// for the request format and the workflow around it).
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import * as acceptBulk from './acceptBulk.operation';
import * as bulkStatus from './bulkStatus.operation';
import { SYNC_API_OPERATION } from './common';
import * as respond from './respond.operation';
import * as validate from './validate.operation';
import * as write from './write.operation';

/** The steps, in the order the Step parameter lists them. */
export const steps = [validate, write, { option: write.oneCrmOption, execute: write.executeOneCrm }, respond, acceptBulk, bulkStatus];

/** The step that writes to several CRMs: it takes the node's CRMs (multiOptions) parameter. */
export const WRITE_TO_CRMS = write.WRITE_TO_CRMS;

/** Steps that call no CRM: the node asks for no CRM credential there. */
export const stepsWithoutCrm = [validate, respond, acceptBulk, bulkStatus].map((step) => step.option.value as string);

export const operationOptions: INodePropertyOptions[] = [
	{
		name: 'Sync API Request',
		value: SYNC_API_OPERATION,
		action: 'Handle a sync API request',
		description: 'Inbound API for your own app: validate {entity_type, operation, data, options} requests, write them to this CRM, answer with per-CRM results; bulk jobs',
	},
];

export const properties: INodeProperties[] = [
	{
		displayName: 'Step',
		name: 'syncApiStep',
		type: 'options',
		noDataExpression: true,
		options: steps.map((step) => step.option),
		default: 'validate',
		displayOptions: { show: { operation: [SYNC_API_OPERATION] } },
	},
	...validate.properties,
];
