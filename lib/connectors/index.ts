// Connector factory. Each CRM's connector lives in lib/crms/<crm>/connector.ts and exports
//
//   export function create(credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector
//
// taking the plain credential values exactly as n8n's getCredentials() returns them for this
// package's credential types (see credentials/), so nodes never parse CRM credentials themselves.

import { crmModule } from '../crms';
import type { CrmName } from '../model';
import type { ConnectorRuntime, CrmConnector } from './types';

export * from './types';

/** Builds the connector for one CRM from plain credential values (see the module comment). */
export function createConnector(crm: CrmName, credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector {
	return crmModule(crm).connector()(credentials, runtime);
}
