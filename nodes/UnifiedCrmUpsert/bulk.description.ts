// Parameters of the bulk operations of Unified CRM Upsert (owned by the bulk work; see README).
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

export const bulkOperationOptions: INodePropertyOptions[] = [];

export const bulkProperties: INodeProperties[] = [];
