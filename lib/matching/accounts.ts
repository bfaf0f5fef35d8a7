// Company duplicates: the same website domain first, then the same normalised name. Two accounts
// on different domains are different companies even with one name (Acme Inc on acme.com and
// Acme GmbH on acme.de); a name matches only where at most one side has a domain. Free-mail and
// shared-hosting hosts are no company's domain (isSharedDomain).

import { normaliseCompany } from './normalise-company';
import { isSharedDomain, normaliseDomain } from './normalise-domain';

/** The fields of a unified account these rules read. */
export interface AccountLike {
	name?: unknown;
	website?: unknown;
	/** A bare domain where the CRM keeps one besides the website (HubSpot companies). */
	domain?: unknown;
}

export interface AccountKeys {
	domain?: string;
	name?: string;
}

/** The normalised hosts of `domains` (the keys a connector's account search keeps hits by). */
export function domainKeys(domains: unknown[]): Set<string> {
	return new Set(domains.map(normaliseDomain).filter((d): d is string => d !== undefined));
}

/** The normalised company names of `names`. */
export function nameKeys(names: unknown[]): Set<string> {
	return new Set(names.map(normaliseCompany).filter((n): n is string => n !== undefined));
}

export function accountKeys(account: AccountLike): AccountKeys {
	const domain = normaliseDomain(account.domain) ?? normaliseDomain(account.website);
	return { domain: domain && !isSharedDomain(domain) ? domain : undefined, name: normaliseCompany(account.name) };
}

/** Why two accounts are the same company, or undefined when they are not. */
export function sameAccount(a: AccountLike, b: AccountLike): 'domain' | 'name' | undefined {
	const ka = accountKeys(a);
	const kb = accountKeys(b);
	if (ka.domain && kb.domain) return ka.domain === kb.domain ? 'domain' : undefined;
	return ka.name !== undefined && ka.name === kb.name ? 'name' : undefined;
}

export interface AccountCluster {
	/** Indexes into the input, ascending. */
	members: number[];
	by: 'domain' | 'name';
}

/**
 * Groups of accounts that are the same company. Accounts sharing a domain form a group; an
 * account without a domain joins the group whose accounts bear its name when exactly one such
 * group exists (with two, say Acme on acme.com and on acme.de, it is ambiguous and stays out);
 * accounts without a domain and one name form a group of their own.
 */
export function findAccountDuplicates(accounts: AccountLike[]): AccountCluster[] {
	const keys = accounts.map(accountKeys);
	const byDomain = new Map<string, number[]>();
	keys.forEach((k, i) => k.domain && byDomain.set(k.domain, [...(byDomain.get(k.domain) ?? []), i]));
	// Which domain groups carry each name.
	const domainsByName = new Map<string, Set<string>>();
	keys.forEach((k) => k.domain && k.name && domainsByName.set(k.name, (domainsByName.get(k.name) ?? new Set()).add(k.domain)));

	const groups = new Map<string, AccountCluster>();
	for (const [domain, members] of byDomain) groups.set(`d:${domain}`, { members: [...members], by: 'domain' });
	keys.forEach((k, i) => {
		if (k.domain || !k.name) return;
		const domains = domainsByName.get(k.name);
		if (domains?.size === 1) {
			const group = groups.get(`d:${[...domains][0]}`)!;
			group.members.push(i);
			return;
		}
		if (domains && domains.size > 1) return;
		const key = `n:${k.name}`;
		const group = groups.get(key) ?? { members: [], by: 'name' as const };
		group.members.push(i);
		groups.set(key, group);
	});
	return [...groups.values()].filter((g) => g.members.length > 1).map((g) => ({ ...g, members: g.members.sort((a, b) => a - b) }));
}
