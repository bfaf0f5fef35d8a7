import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IPollFunctions,
} from 'n8n-workflow';

import { createConnector } from '../../lib/connectors';
import type { CrmName, EntityType } from '../../lib/model';
import { pollChanges, type PollBatch, type PollMode } from '../../lib/polling';
import { openSyncStore, redisStateCredential } from '../shared/stateStore';
import { AUTH_PARAMETER, CREDENTIAL_TYPES, credentialType } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { pollProperties } from './description';

/** Items a manual test returns: a sample, without moving the stored position. */
const MANUAL_SAMPLE = 5;

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

export class CrmSyncPollTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync Poll Trigger',
		name: 'crmSyncPollTrigger',
		icon: 'file:crmSyncPollTrigger.svg',
		group: ['trigger'],
		version: 1,
		polling: true,
		subtitle: '={{"poll " + $parameter["entity"] + " in " + $parameter["crm"]}}',
		description: 'Starts a sync from changes read periodically from Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365 (no webhooks needed)',
		defaults: { name: 'CRM Sync Poll Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			...CREDENTIAL_TYPES.map(([crm, auth, name]) => ({
				name,
				required: true,
				displayOptions: { show: auth ? { crm: [crm], [AUTH_PARAMETER[crm]]: [auth] } : { crm: [crm] } },
			})),
			redisStateCredential,
		],
		properties: pollProperties,
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const crm = this.getNodeParameter('crm') as CrmName;
		const entity = this.getNodeParameter('entity') as EntityType;
		const mode = this.getNodeParameter('mode', 'incremental') as PollMode;
		const manual = this.getMode() === 'manual';

		const credentials = (await this.getCredentials(credentialType(this.getNode(), crm, (name) => this.getNodeParameter(name)))) as IDataObject;

		const store = await openSyncStore(this, (name, fallback) => this.getNodeParameter(name, fallback));

		const maxRecords = Number(this.getNodeParameter('maxRecords', 1000));
		let batch: PollBatch;
		try {
			batch = await pollChanges(createConnector(crm, credentials, { store }), store, {
				entity,
				mode,
				since: mode === 'since' ? (this.getNodeParameter('since') as string) : undefined,
				maxRecords: manual ? Math.min(maxRecords, MANUAL_SAMPLE) : maxRecords,
				overlapMs: Number(this.getNodeParameter('overlapSeconds', 5)) * 1000,
				includeDeleted: this.getNodeParameter('includeDeleted', true) as boolean,
				ownChangeMarkers: list(this.getNodeParameter('ownChangeMarkers', '') as string),
				// A manual test changes nothing: echo fingerprints are consumed only by real polls.
				dropEchoes: !manual && (this.getNodeParameter('dropEchoes', true) as boolean),
			});
		} catch (error) {
			throw toNodeError(this.getNode(), error);
		}

		const items: INodeExecutionData[] = batch.events.map((event) => ({ json: event as unknown as IDataObject }));
		if (!manual) {
			// The position moves only once the items are handed to n8n (returned right after this);
			// if it cannot be stored, the poll fails and the same changes are read again next time.
			try {
				await batch.commit();
			} catch (error) {
				throw new NodeOperationError(this.getNode(), `Cannot store the polling position; the changes will be read again: ${(error as Error).message}`);
			}
		}
		return items.length > 0 ? [items] : null;
	}
}
