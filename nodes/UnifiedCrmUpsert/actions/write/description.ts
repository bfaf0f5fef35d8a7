// The record writes: one option each, and the parameters about an item's record (read per item).
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { AUTO_OPERATION } from '../../../../lib/sync/route-by-operation';
import type { WriteOperationName } from '../../../../lib/sync/upsert-writer';
import { SYNC_TO_CRMS } from '../sync/syncToCrms.operation';
import { SYNC_API_OPERATION } from '../syncApi/common';

export type WriteOperation = WriteOperationName | typeof AUTO_OPERATION;

export const operationOptions: INodePropertyOptions[] = [
	{ name: 'Create', value: 'create', action: 'Create records' },
	{ name: 'Delete', value: 'delete', action: 'Delete records' },
	{
		name: 'From Item (Event Operation)',
		value: AUTO_OPERATION,
		action: 'Write each item by its event operation',
		description: "Each item's operation field (CRM Sync Trigger items): create/update/restore → upsert, delete → delete, erase → GDPR erase, merge → merge; records are found through the cross-reference of the item's unifiedId. A delete made in this CRM itself is skipped, unless the item has deleteInSource: true",
	},
	{
		name: 'GDPR Erase',
		value: 'erase',
		action: 'Erase personal data',
		description: 'Delete in the CRM and remove the record\'s synced data (snapshot, cross-reference) from the state store',
	},
	{ name: 'Merge', value: 'merge', action: 'Merge records', description: 'Each item: masterId and mergeIds (CRM record IDs)' },
	{ name: 'Update', value: 'update', action: 'Update records', description: 'By CRM ID (crmId) or by the stored cross-reference of unifiedId' },
	{ name: 'Upsert', value: 'upsert', action: 'Create or update records' },
];

export function isWriteOperation(operation: string): operation is WriteOperation {
	return operationOptions.some((option) => option.value === operation);
}

/** Writes that send field values (the others name records by id). */
export const FIELD_WRITES: readonly WriteOperation[] = ['upsert', 'create', 'update', AUTO_OPERATION];
/** Writes that find existing records by a match key. */
export const MATCHING_WRITES: readonly WriteOperation[] = ['upsert', AUTO_OPERATION];

export const properties: INodeProperties[] = [
	{
		displayName: 'Input Format',
		name: 'inputFormat',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'CRM Fields', value: 'crm', description: "The CRM's own field names (e.g. from the Field Mapper)" },
			{ name: 'Unified Record', value: 'unified', description: 'Unified model fields (email, firstName, ...), mapped with the default field map' },
		],
		default: 'crm',
		displayOptions: { show: { operation: [...FIELD_WRITES] } },
	},
	{
		displayName: 'Match Key',
		name: 'matchKey',
		type: 'string',
		default: 'email',
		description:
			'How existing records are found: "email" or "phone" (each CRM\'s own field is used), "domain" for accounts (the website\'s domain, then the normalised company name), or a CRM field such as an external ID (e.g. Ext_Id__c). Records with a unifiedId that has a stored cross-reference are updated by ID.',
		displayOptions: { show: { operation: [...MATCHING_WRITES, SYNC_TO_CRMS] } },
	},
	{
		displayName: 'Record Path',
		name: 'recordPath',
		type: 'string',
		default: '',
		placeholder: 'body',
		description:
			'Dot path of the record inside each input item, e.g. "body" behind a Webhook node. Empty means the whole item. A static path keeps the workflow free of per-execution expressions.',
		displayOptions: { hide: { operation: [SYNC_API_OPERATION] } },
	},
];
