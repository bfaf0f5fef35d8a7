// Connector factory. Each CRM lives in its own module `./<crm>` that exports
//
//   export function create(credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector
//
// taking the plain credential values exactly as n8n's getCredentials() returns them for this
// package's credential types (see credentials/), so nodes never parse CRM credentials themselves.

import type { CrmName } from '../model';
import type { ConnectorRuntime, CrmConnector } from './types';

export * from './types';

export type ConnectorFactory = (credentials: Record<string, unknown>, runtime?: ConnectorRuntime) => CrmConnector;

// A module is loaded on first use: each brings its CRM's SDK (jsforce, @hubspot/api-client,
// pipedrive), which a workflow that does not use that CRM should not pay for at start-up.
/* eslint-disable @typescript-eslint/no-require-imports */
const FACTORIES: Record<CrmName, () => ConnectorFactory> = {
	hubspot: () => (require('./hubspot') as typeof import('./hubspot')).create,
	salesforce: () => (require('./salesforce') as typeof import('./salesforce')).create,
	pipedrive: () => (require('./pipedrive') as typeof import('./pipedrive')).create,
	zoho: () => (require('./zoho') as typeof import('./zoho')).create,
	dynamics: () => (require('./dynamics') as typeof import('./dynamics')).create,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Builds the connector for one CRM from plain credential values (see the module comment). */
export function createConnector(crm: CrmName, credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector {
	const factory = FACTORIES[crm];
	if (!factory) throw new Error(`Unknown CRM ${JSON.stringify(crm)}`);
	return factory()(credentials, runtime);
}
