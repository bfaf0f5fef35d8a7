// One poll: the changes since the stored position, handed to n8n, then the position moved on.

import { NodeOperationError, type IDataObject, type INodeExecutionData, type IPollFunctions } from 'n8n-workflow';

import { createConnector } from '../../lib/connectors';
import { METADATA_ENTITIES } from '../../lib/mapping';
import type { CrmName, EntityType } from '../../lib/model';
import { pollChanges, type PollBatch, type PollMode } from '../../lib/polling';
import { crmMetadata } from '../../lib/sync/crm-metadata';
import { commaSeparatedList } from '../shared/commaSeparatedList';
import { crmCredentials } from '../shared/credentials';
import { toNodeError } from '../shared/errors';
import { metadataSettings, openSyncStore } from '../shared/stateStore';

/** Items a manual test returns: a sample, without moving the stored position. */
const MANUAL_SAMPLE = 5;

export async function pollCrm(ctx: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const crm = ctx.getNodeParameter('crm') as CrmName;
	const entity = ctx.getNodeParameter('entity') as EntityType;
	const mode = ctx.getNodeParameter('mode', 'incremental') as PollMode;
	const manual = ctx.getMode() === 'manual';

	const credentials = await crmCredentials(ctx, crm, (name) => ctx.getNodeParameter(name));

	const store = await openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, fallback));

	const maxRecords = Number(ctx.getNodeParameter('maxRecords', 1000));
	let batch: PollBatch;
	try {
		const connector = createConnector(crm, credentials, { store });
		// Deals and companies get their stage and owner e-mail from the CRM's metadata, as from the webhook trigger.
		const metadata = METADATA_ENTITIES.includes(entity) ? await crmMetadata(connector, (await metadataSettings(ctx, (name, fallback) => ctx.getNodeParameter(name, fallback)))[crm]) : undefined;
		batch = await pollChanges(connector, store, {
			entity,
			mode,
			since: mode === 'since' ? (ctx.getNodeParameter('since') as string) : undefined,
			maxRecords: manual ? Math.min(maxRecords, MANUAL_SAMPLE) : maxRecords,
			overlapMs: Number(ctx.getNodeParameter('overlapSeconds', 5)) * 1000,
			includeDeleted: ctx.getNodeParameter('includeDeleted', true) as boolean,
			ownChangeMarkers: commaSeparatedList(ctx.getNodeParameter('ownChangeMarkers', '') as string),
			// A manual test changes nothing: echo fingerprints are consumed only by real polls.
			dropEchoes: !manual && (ctx.getNodeParameter('dropEchoes', true) as boolean),
			metadata,
		});
	} catch (error) {
		throw toNodeError(ctx.getNode(), error);
	}

	const items: INodeExecutionData[] = batch.events.map((event) => ({ json: event as unknown as IDataObject }));
	if (!manual) {
		// The position moves only once the items are handed to n8n (returned right after this);
		// if it cannot be stored, the poll fails and the same changes are read again next time.
		try {
			await batch.commit();
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), `Cannot store the polling position; the changes will be read again: ${(error as Error).message}`);
		}
	}
	return items.length > 0 ? [items] : null;
}
