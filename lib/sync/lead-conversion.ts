// Carrying a lead conversion. A lead converted in its CRM (Salesforce convertLead: IsConverted with
// ConvertedContactId / ConvertedAccountId) arrives as a unified lead with `converted: true` and the
// contact and account it became. In each other CRM that holds a copy of the lead, that copy is
// converted into the CRM's own record of the same contact and account, which contact-sync and
// account-sync make from the source's new records: so the person ends as one contact everywhere,
// and nothing is created here (the source's deal comes through opportunity-sync). The contact and
// account ids arrive translated into the target's (fan-out.ts); until both are there, the item
// waits as any record whose references are missing.

import { isNotFound, type ConvertLeadRequest, type CrmConnector } from '../connectors';
import type { CrmName, EntityType, UnifiedRecord } from '../model';
import type { StateStore } from '../state';
import type { InputItem, ItemResult } from './upsert-writer';

/** A lead its CRM reports converted: written by conversion, not by its fields. */
export function isConvertedLead(entity: EntityType, record: UnifiedRecord): boolean {
	return entity === 'lead' && record.converted === true;
}

/** Converts the target's copies of converted leads (items whose unified id is the lead's). */
export async function convertLeadCopies(crm: CrmName, items: InputItem[], connector: () => CrmConnector, store: StateStore | undefined): Promise<ItemResult[]> {
	const results: ItemResult[] = [];
	const answer = (item: InputItem, ok: boolean, json: Record<string, unknown>): ItemResult => ({
		index: item.index,
		ok,
		json: { ...json, crm, entity: 'lead', operation: 'convert', ...(item.unifiedId ? { unifiedId: item.unifiedId } : {}) },
	});
	if (!store) return items.map((item) => answer(item, false, { error: 'Carrying a lead conversion needs the state store (the cross-references of the lead, its contact and account)', category: 'validation', code: 'STATE_STORE' }));
	const refs = await store.getCrossRefs('lead', [...new Set(items.map((i) => i.unifiedId).filter((u): u is string => !!u))]);
	const requests: ConvertLeadRequest[] = [];
	const requested: InputItem[] = [];
	for (const item of items) {
		const leadId = item.unifiedId ? refs.get(item.unifiedId)?.ids[crm] : undefined;
		const contactId = idOf(item.record.convertedContactId);
		if (!leadId) results.push(answer(item, true, { status: 'absent', reason: `the lead has no copy in ${crm}; its contact, account and deal come through their own syncs` }));
		else if (!contactId) results.push(answer(item, false, { error: `The lead was converted without a contact, so there is nothing to convert its ${crm} copy into`, category: 'validation', code: 'CONVERSION' }));
		else {
			requests.push({ ref: requests.length, id: leadId, contactId, accountId: idOf(item.record.convertedAccountId), withOpportunity: !!item.record.convertedOpportunityId });
			requested.push(item);
		}
	}
	if (requests.length) {
		const outcomes = await connector().convertLeads(requests);
		for (const outcome of outcomes) {
			const item = requested[outcome.ref];
			// A lead the target no longer has (deleted there) has nothing left to convert.
			if (outcome.status === 'failed' && isNotFound(outcome)) results.push(answer(item, true, { status: 'absent', reason: `the lead is no longer in ${crm} (deleted there)` }));
			else if (outcome.status === 'failed') {
				const { ref: _ref, status: _status, message, ...rest } = outcome;
				results.push(answer(item, false, { error: message, ...rest }));
			} else {
				const { ref: _ref, ...rest } = outcome;
				results.push(answer(item, true, rest));
			}
		}
	}
	return results;
}

function idOf(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
}
