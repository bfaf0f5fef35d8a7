// Website → the bare host two accounts are matched on: "https://www.Acme.com/about" and "acme.com"
// are the same company. Lower-case, without scheme, credentials, "www.", port, path, query or a
// trailing dot. Free-mail and other shared hosts are not company domains (isSharedDomain).

import { asText } from './normalise-text';

/** The bare host of a website, URL or e-mail domain, or undefined when there is none. */
export function normaliseDomain(value: unknown): string | undefined {
	let text = asText(value)?.trim().toLowerCase();
	if (!text) return undefined;
	text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/^[^/@]*@/, '');
	text = text.split(/[/?#\s]/)[0].replace(/:\d*$/, '').replace(/\.+$/, '').replace(/^www\d*\./, '');
	// A host has a dot and no characters a host cannot hold.
	return /^[a-z0-9\u00a1-\uffff-]+(\.[a-z0-9\u00a1-\uffff-]+)+$/.test(text) ? text : undefined;
}

/** Hosts many unrelated companies share: a match on them says nothing. */
const SHARED_HOSTS = ['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'yahoo.com', 'icloud.com', 'aol.com', 'gmx.com', 'gmx.de', 'web.de', 'proton.me', 'protonmail.com', 'linkedin.com', 'facebook.com', 'sites.google.com', 'wixsite.com', 'wordpress.com', 'blogspot.com'];

export function isSharedDomain(domain: string): boolean {
	return SHARED_HOSTS.some((host) => domain === host || domain.endsWith(`.${host}`));
}
