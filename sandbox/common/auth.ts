// OAuth-style token issuing and checking shared by all emulators.
//
// Rules (documented in sandbox/README.md):
//   - default mode: any non-empty token is accepted, EXCEPT a token this emulator issued that
//     has expired or was revoked (so expiry/refresh is testable without strict mode);
//   - strict mode: only issued, unexpired, unrevoked tokens are accepted.
// Refresh tokens never expire unless revoked.

import { randomBytes } from 'node:crypto';

export interface IssuedToken {
	accessToken: string;
	refreshToken?: string;
	clientId?: string;
	scope?: string;
	issuedAt: number;
	expiresAt: number;
}

export type TokenCheck =
	| { ok: true; token?: IssuedToken; value: string }
	| { ok: false; reason: 'missing' | 'invalid' | 'expired' };

export interface TokenAuthorityOptions {
	strict?: boolean;
	lifetimeMs: number;
	/** Prefix of generated access tokens (CRM flavour, e.g. '00D' for Salesforce sessions). */
	prefix?: string;
}

export class TokenAuthority {
	strict: boolean;
	lifetimeMs: number;
	private readonly access = new Map<string, IssuedToken>();
	private readonly refresh = new Map<string, { clientId?: string; scope?: string }>();

	constructor(private readonly opts: TokenAuthorityOptions) {
		this.strict = opts.strict ?? false;
		this.lifetimeMs = opts.lifetimeMs;
	}

	/** Issues an access token (and a refresh token unless `withRefresh` is false). */
	issue(opts: { clientId?: string; scope?: string; withRefresh?: boolean; refreshToken?: string } = {}): IssuedToken {
		const now = Date.now();
		const token: IssuedToken = {
			accessToken: (this.opts.prefix ?? '') + randomBytes(24).toString('base64url'),
			clientId: opts.clientId,
			scope: opts.scope,
			issuedAt: now,
			expiresAt: now + this.lifetimeMs,
		};
		if (opts.refreshToken) token.refreshToken = opts.refreshToken;
		else if (opts.withRefresh !== false) {
			token.refreshToken = randomBytes(24).toString('base64url');
			this.refresh.set(token.refreshToken, { clientId: opts.clientId, scope: opts.scope });
		}
		this.access.set(token.accessToken, token);
		return token;
	}

	/**
	 * Exchanges a refresh token for a new access token (same refresh token kept).
	 * In default mode an unknown refresh token is accepted (like any unknown access token);
	 * in strict mode it must have been issued here. Returns undefined when refused.
	 */
	refreshAccess(refreshToken: string | undefined, clientId?: string): IssuedToken | undefined {
		if (!refreshToken) return undefined;
		const known = this.refresh.get(refreshToken);
		if (!known && this.strict) return undefined;
		if (!known) this.refresh.set(refreshToken, { clientId });
		const info = this.refresh.get(refreshToken)!;
		return this.issue({ clientId: info.clientId ?? clientId, scope: info.scope, refreshToken });
	}

	/** Checks a presented access token. */
	check(value: string | undefined): TokenCheck {
		if (!value || !value.trim()) return { ok: false, reason: 'missing' };
		const token = this.access.get(value);
		if (token) {
			return Date.now() >= token.expiresAt ? { ok: false, reason: 'expired' } : { ok: true, token, value };
		}
		return this.strict ? { ok: false, reason: 'invalid' } : { ok: true, value };
	}

	/** Makes every issued access token expired now (tests of refresh-on-401). */
	expireAll(): void {
		const now = Date.now();
		for (const t of this.access.values()) t.expiresAt = Math.min(t.expiresAt, now);
	}

	/** Revokes a refresh token and the access tokens issued from it. */
	revokeRefresh(refreshToken: string): void {
		this.refresh.delete(refreshToken);
		for (const t of this.access.values()) if (t.refreshToken === refreshToken) t.expiresAt = 0;
	}

	clear(): void {
		this.access.clear();
		this.refresh.clear();
	}
}

/** Reads a `Bearer <token>` (case-insensitive scheme) from an Authorization header. */
export function bearerToken(header: string | string[] | undefined, scheme = 'Bearer'): string | undefined {
	const h = Array.isArray(header) ? header[0] : header;
	if (!h) return undefined;
	const prefix = scheme.toLowerCase() + ' ';
	if (!h.toLowerCase().startsWith(prefix)) return undefined;
	const token = h.slice(prefix.length).trim();
	return token || undefined;
}
