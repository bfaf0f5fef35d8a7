// Parameters of the syncApi operations of Unified CRM Upsert (owned by the syncApi work; see README).
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

export const syncApiOperationOptions: INodePropertyOptions[] = [];

export const syncApiProperties: INodeProperties[] = [];
