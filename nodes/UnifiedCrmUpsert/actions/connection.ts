// The node's state store and CRM connectors, as the write, bulk and Sync API families use them.
// All of it configures the node (CRM, credential, store, Options), not an item: read at item 0.
import type { IExecuteFunctions } from 'n8n-workflow';

import { createConnector, type ConnectorRuntime, type CrmConnector } from '../../../lib/connectors';
import type { CrmName } from '../../../lib/model';
import type { StateStore } from '../../../lib/state';
import { crmCredentials } from '../../shared/credentials';
import { openSyncStore } from '../../shared/stateStore';

/** The node's Options collection (each family is shown the options it uses). */
export interface NodeOptions {
	batchSize?: number;
	dryRun?: boolean;
	maxRecords?: number;
	forceOverwrite?: boolean;
	recordState?: boolean;
	requestTimeout?: number;
	statePath?: string;
}

export function nodeOptions(ctx: IExecuteFunctions): NodeOptions {
	return ctx.getNodeParameter('options', 0, {}) as NodeOptions;
}

/** Opens the shared state store of the node's namespace (State Store, Sync Namespace, State File Path). */
export function nodeStore(ctx: IExecuteFunctions): () => Promise<StateStore> {
	const { statePath } = nodeOptions(ctx);
	return () => openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: statePath });
}

/** The store (under Redis, rate-limit budgets are shared across workers through it) and the Request Timeout option (seconds, default 60). */
export function connectorRuntime(store: StateStore | undefined, options: NodeOptions): ConnectorRuntime {
	return { store, timeoutMs: (options.requestTimeout || 60) * 1000 };
}

/**
 * Connectors for the node's CRM with the credential it chose, each built on first use: one per
 * change-source marker (undefined: the connector's default marker).
 */
export async function crmConnectors(ctx: IExecuteFunctions, crm: CrmName, runtime: ConnectorRuntime): Promise<(changeSourceMarker?: string) => CrmConnector> {
	const credentials = await crmCredentials(ctx, crm, (name) => ctx.getNodeParameter(name, 0));
	const built = new Map<string | undefined, CrmConnector>();
	return (changeSourceMarker) => {
		let connector = built.get(changeSourceMarker);
		if (!connector) {
			connector = createConnector(crm, credentials, changeSourceMarker ? { ...runtime, changeSourceMarker } : runtime);
			built.set(changeSourceMarker, connector);
		}
		return connector;
	};
}
