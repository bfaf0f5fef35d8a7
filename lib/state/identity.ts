// The unified id of a CRM record as the sync knows it: its cross-reference, or, for a record
// never linked yet, `<crm>:<record id>` (the id it gets when it is first synced). The trigger,
// the Conflict Resolver, the Duplicate Detector, reference resolution and Unified CRM Upsert (for
// records it creates without a unified id) agree on identities through this one function.

import type { CrmName, EntityType } from '../model';
import type { StateStore } from './types';

/** The identity a record gets when it is first synced. */
export function syncIdentity(crm: CrmName, recordId: string): string {
	return `${crm}:${recordId}`;
}

/** Batch: unified id per `crm` record id (linked, or the first-sync identity). */
export async function syncIdentities(store: Pick<StateStore, 'findUnifiedIds'>, entity: EntityType, crm: CrmName, recordIds: string[]): Promise<Map<string, { unifiedId: string; linked: boolean }>> {
	const linked = recordIds.length ? await store.findUnifiedIds(entity, crm, [...new Set(recordIds)]) : new Map<string, string>();
	const result = new Map<string, { unifiedId: string; linked: boolean }>();
	for (const id of recordIds) {
		const known = linked.get(id);
		result.set(id, known ? { unifiedId: known, linked: true } : { unifiedId: syncIdentity(crm, id), linked: false });
	}
	return result;
}
