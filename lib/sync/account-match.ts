// Finding the CRM account a unified account is: the company's website domain first, then its
// normalised name (lib/matching/accounts.ts), through the connector's account searches. An account
// found by domain is the same company whatever its name; one found by name only when the two do
// not sit on different domains. Several candidates: the oldest, as the CRMs' own duplicate
// tools keep the first record.

import type { CrmConnector, CrmRecord } from '../connectors';
import { defaultMapping } from '../mapping';
import { accountKeys, sameAccount, type AccountLike } from '../matching/accounts';
import type { CrmName } from '../model';

/** The match key that selects this lookup for accounts (Unified CRM Upsert's Match Key). */
export const ACCOUNT_MATCH_KEY = 'domain';

export interface AccountMatch {
	id: string;
	by: 'domain' | 'name';
}

/** For each unified account, the CRM account it already is, or undefined. */
export async function findExistingAccounts(crm: CrmName, connector: CrmConnector, accounts: AccountLike[]): Promise<Array<AccountMatch | undefined>> {
	const keys = accounts.map(accountKeys);
	const toUnified = defaultMapping('toUnified', crm, 'account');
	const asUnified = (record: CrmRecord): AccountLike => ({ ...toUnified.map(record.fields).record, domain: record.fields.domain });

	const domains = [...new Set(keys.map((k) => k.domain).filter((d): d is string => !!d))];
	const byDomain = domains.length ? await connector.findAccountsByDomain(domains) : [];
	const matches: Array<AccountMatch | undefined> = accounts.map((account, i) => {
		const hits = keys[i].domain ? byDomain.filter((r) => sameAccount(account, asUnified(r)) === 'domain') : [];
		return hits.length ? { id: oldest(hits).id, by: 'domain' } : undefined;
	});

	const unmatched = accounts.map((_, i) => i).filter((i) => !matches[i] && keys[i].name);
	const names = [...new Set(unmatched.map((i) => String(accounts[i].name)))];
	const byName = names.length ? await connector.findAccountsByName(names) : [];
	for (const i of unmatched) {
		// A domain the domain search could not see (a bounded search) still counts.
		const hits = byName.filter((r) => sameAccount(accounts[i], asUnified(r)) !== undefined);
		if (hits.length) matches[i] = { id: oldest(hits).id, by: 'name' };
	}
	return matches;
}

function oldest(records: CrmRecord[]): CrmRecord {
	return [...records].sort((a, b) => (a.createdAt ?? '\uffff').localeCompare(b.createdAt ?? '\uffff') || a.id.localeCompare(b.id))[0];
}
