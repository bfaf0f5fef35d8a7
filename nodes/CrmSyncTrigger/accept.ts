// How a delivery's events are accepted: the sync store (markers, redeliveries and echoes are
// dropped with it) and the reads of the changed records, each within a time budget.

import type { IWebhookFunctions } from 'n8n-workflow';

import { createConnector } from '../../lib/connectors';
import { isEchoOfOwnWrite } from '../../lib/events/echo';
import type { CrmName } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import { crmMetadataKnowing } from '../../lib/sync/crm-metadata';
import { DEFAULT_IDEMPOTENCY_TTL_MS, failureKind, type EnrichOptions } from '../../lib/webhooks';
import { crmCredentials } from '../shared/credentials';
import { metadataSettings, sharedStore, syncStoreConfig } from '../shared/stateStore';
import { fetchesRecords, ownChangeMarkers } from './settings';

/**
 * Reads made before answering stay within the CRM's delivery timeout (HubSpot's is about 5 s):
 * a slow or failing read answers 503 in time, and the CRM redelivers.
 */
export const FETCH_BUDGET = { timeoutMs: 2_000, retry: { maxAttempts: 2, maxElapsedMs: 3_500 } };
/** A CRM that never redelivers (Zoho) is answered first; its reads then get the full retry budget. */
export const FETCH_AFTER_ANSWER_BUDGET = { timeoutMs: 20_000 };

/** The detail, for the n8n log only. */
export const failureDetail = (error: unknown) => `${failureKind(error)}: ${error instanceof Error ? error.message : String(error)}`;

/** The store; its failures stay StateStoreErrors, so that the CRM gets a 503 and delivers again. */
export async function openStore(ctx: IWebhookFunctions): Promise<StateStore> {
	return sharedStore(await syncStoreConfig(ctx, (name, fallback) => ctx.getNodeParameter(name, fallback)));
}

/** How events are accepted: markers, redeliveries and echoes dropped with the store, records read with `budget`. */
export async function enrichOptions(ctx: IWebhookFunctions, crm: CrmName, store: StateStore | undefined, budget: object, eventCount: number): Promise<EnrichOptions> {
	const fetchRecords = fetchesRecords(ctx, crm);
	const credentials = fetchRecords && eventCount > 0 ? await crmCredentials(ctx, crm, (name) => ctx.getNodeParameter(name, '')) : undefined;
	const dropEchoes = ctx.getNodeParameter('dropEchoes', true) as boolean;
	const connect = () => createConnector(crm, credentials!, { store, ...budget });
	return {
		markers: ownChangeMarkers(ctx, crm),
		store,
		ttlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
		isEcho: store && dropEchoes ? (event) => isEchoOfOwnWrite(store, event) : undefined,
		fetchRecords,
		reader: connect,
		// With the CRM's credential (Fetch Records), deals get their stage and owner from its metadata.
		// The settings credential is read only for deliveries that carry deals or companies.
		metadata: credentials
			? async (entity, records) => crmMetadataKnowing(connect(), (await metadataSettings(ctx, (name, fallback) => ctx.getNodeParameter(name, fallback)))[crm], entity, records, 'toUnified')
			: undefined,
	};
}
