// Parameters of the bulk operations. A bulk sync is one node, Sync CRMs (holding every CRM's
// credential), or three steps: Read Source Changes (the source) → Write Job to This CRM (one per
// target) → Finish Job. Settings
// can also come from the input item (mode, since, dryRun, batchSize, maxRecords, pageSize), so a
// static Set node can feed them without expressions.
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { clientRateLimitProperty } from './common';
import * as finish from './finish.operation';
import * as read from './read.operation';
import * as sync from './sync.operation';
import * as write from './write.operation';

export const operationOptions: INodePropertyOptions[] = [sync.option, read.option, write.option, finish.option];

export const properties: INodeProperties[] = [...sync.properties, ...read.properties, clientRateLimitProperty];
