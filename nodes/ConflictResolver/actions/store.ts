// The state store as the operations use it: opened on first use, and the audit log every
// decision must reach.

import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { Resolution } from '../../../lib/conflict';
import type { AuditEntry, StateStore } from '../../../lib/state';
import { toNodeError } from '../../shared/errors';
import { openSyncStore } from '../../shared/stateStore';
import type { ResolverOptions } from './settings';

/** The process's shared store of the node's configuration, opened on the first call. */
export type OpenStore = () => Promise<StateStore>;

/** Read at item 0: the store and its options configure the node, not the item. */
export function storeOpener(ctx: IExecuteFunctions): OpenStore {
	const options = ctx.getNodeParameter('options', 0, {}) as ResolverOptions;
	let opened: Promise<StateStore> | undefined;
	return () => (opened ??= openSyncStore(ctx, (name, fallback) => ctx.getNodeParameter(name, 0, fallback), { path: options.statePath, auditValues: options.auditValues === true }));
}

/** Every decision must be audited; failing loudly beats emitting unaudited decisions. */
export async function appendAudit(ctx: IExecuteFunctions, store: OpenStore, audit: AuditEntry[]): Promise<void> {
	if (audit.length === 0) return;
	try {
		await (await store()).appendAudit(audit);
	} catch (error) {
		throw toNodeError(ctx.getNode(), error, { what: 'Could not write the audit log' });
	}
}

/** What goes to the outputs: the resolution without its audit entry (that goes to the store). */
export function resolutionJson(resolution: Resolution): IDataObject {
	const { audit: _audit, ...rest } = resolution;
	return rest as unknown as IDataObject;
}
