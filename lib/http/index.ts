// Shared transport for all connectors: error classification, retry with backoff + jitter,
// per-credential rate limiting (Bottleneck; shared through a Redis StateStore), token refresh.
//
// Typical use inside a connector:
//   const transport = new Transport({ crm: 'zoho', key: credentialKey('zoho', clientId, refreshToken),
//     classify: classifyZohoError, limits: { default: { requests: 100, intervalMs: 60_000, maxConcurrent: 10 } },
//     token: tokenManagerFor(key, () => new TokenManager({ fetch: refreshZohoToken })), store });
//   const res = await transport.request('records.upsert', (token) => ({ method: 'POST', url, headers: { Authorization: `Zoho-oauthtoken ${token}` }, body }));

export * from './attempt';
export * from './errors';
export * from './fetch';
export * from './limiter';
export * from './retry';
export * from './token';
export * from './transport';
