// Access tokens with refresh on expiry and on 401. One manager per credential per process, so
// parallel executions share a token and a refresh happens once (single flight), not once per call.

export interface AccessToken {
	accessToken: string;
	/** Epoch ms after which the token must not be used; unknown when undefined. */
	expiresAt?: number;
	/** Kept when the CRM returns a new one (rotation); the fetcher receives the current token. */
	refreshToken?: string;
	/** Anything else the token response carried that the connector needs (instance_url, api_domain). */
	extra?: Record<string, unknown>;
}

/**
 * Obtains a fresh token: refresh_token grant, client_credentials grant... `current` is the token
 * being replaced (undefined at first use).
 */
export type TokenFetcher = (current: AccessToken | undefined) => Promise<AccessToken>;

export interface TokenManagerOptions {
	/** A token to start with (e.g. the one in the n8n credential). */
	initial?: AccessToken;
	/** How to get a new token; without it the token cannot be refreshed and a 401 is final. */
	fetch?: TokenFetcher;
	/** Refresh this long before expiresAt. Default 60 s. */
	skewMs?: number;
	/** Called after every successful refresh (e.g. to persist the new token). */
	onRefresh?: (token: AccessToken) => void | Promise<void>;
}

export class TokenManager {
	private current?: AccessToken;
	private inflight?: Promise<AccessToken>;
	/** Number of successful refreshes (tests and benchmarks read it). */
	refreshCount = 0;

	constructor(private readonly options: TokenManagerOptions) {
		this.current = options.initial?.accessToken ? options.initial : undefined;
	}

	get canRefresh(): boolean {
		return typeof this.options.fetch === 'function';
	}

	/** The token to use now; fetched first when missing or about to expire. */
	async get(): Promise<AccessToken> {
		const token = this.current;
		if (token && !this.expiring(token)) return token;
		if (!this.canRefresh) {
			if (token) return token; // cannot do better; let the CRM answer 401
			throw new Error('No access token and no way to obtain one (the credential has neither a token nor a refresh method)');
		}
		return this.refresh(token?.accessToken);
	}

	/**
	 * Gets a new token. `rejected` is the token the CRM refused: when another caller already
	 * replaced it, the newer token is returned without another round trip.
	 */
	async refresh(rejected?: string): Promise<AccessToken> {
		if (this.current && rejected !== undefined && this.current.accessToken !== rejected && !this.expiring(this.current)) return this.current;
		if (!this.options.fetch) throw new Error('This credential cannot refresh its access token');
		if (!this.inflight) {
			const fetch = this.options.fetch;
			this.inflight = (async () => {
				try {
					const next = await fetch(this.current);
					this.current = { ...next, refreshToken: next.refreshToken ?? this.current?.refreshToken };
					this.refreshCount++;
					await this.options.onRefresh?.(this.current);
					return this.current;
				} finally {
					this.inflight = undefined;
				}
			})();
		}
		return this.inflight;
	}

	private expiring(token: AccessToken): boolean {
		return token.expiresAt !== undefined && token.expiresAt - (this.options.skewMs ?? 60_000) <= Date.now();
	}
}

const managers = new Map<string, TokenManager>();

/** The process-wide token manager of one credential (key from credentialKey, see limiter.ts). */
export function tokenManagerFor(key: string, create: () => TokenManager): TokenManager {
	let manager = managers.get(key);
	if (!manager) {
		manager = create();
		managers.set(key, manager);
	}
	return manager;
}
