// Email normalisation: trim, lowercase; optional Gmail dot/plus folding.

const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/**
 * Returns the normalised address, or undefined when the value is not an address
 * (no single "@" with text on both sides).
 */
export function normaliseEmail(value: unknown, gmailFolding = false): string | undefined {
	if (typeof value !== 'string') return undefined;
	const email = value.trim().toLowerCase().replace(/^mailto:/, '');
	const at = email.lastIndexOf('@');
	if (at <= 0 || at === email.length - 1 || email.indexOf('@') !== at || /\s/.test(email)) return undefined;
	if (!gmailFolding) return email;
	let local = email.slice(0, at);
	let domain = email.slice(at + 1);
	if (!GMAIL_DOMAINS.has(domain)) return email;
	const plus = local.indexOf('+');
	if (plus >= 0) local = local.slice(0, plus);
	local = local.replace(/\./g, '');
	// Both Gmail domains deliver to the same mailbox.
	domain = 'gmail.com';
	return `${local}@${domain}`;
}

export function emailDomain(email: string): string {
	return email.slice(email.lastIndexOf('@') + 1);
}
