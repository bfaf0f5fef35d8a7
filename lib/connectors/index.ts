// Connector factory. Each CRM lives in its own module `./<crm>` that exports
//
//   export function create(credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector
//
// taking the plain credential values exactly as n8n's getCredentials() returns them for this
// package's credential types (see credentials/), so nodes never parse CRM credentials themselves.
// Modules are loaded lazily: a CRM whose module does not exist yet is reported as not implemented.

import type { CrmName } from '../model';
import { NotImplementedError, type ConnectorRuntime, type CrmConnector } from './types';

export * from './types';

export type ConnectorFactory = (credentials: Record<string, unknown>, runtime?: ConnectorRuntime) => CrmConnector;

function loadFactory(crm: CrmName): ConnectorFactory | undefined {
	let mod: { create?: ConnectorFactory };
	try {
		switch (crm) {
			// Static paths so bundlers and tsc see them; require keeps loading lazy.
			/* eslint-disable @typescript-eslint/no-require-imports */
			case 'hubspot':
				mod = require('./hubspot');
				break;
			case 'salesforce':
				mod = require('./salesforce');
				break;
			case 'pipedrive':
				mod = require('./pipedrive');
				break;
			case 'zoho':
				mod = require('./zoho');
				break;
			case 'dynamics':
				mod = require('./dynamics');
				break;
			/* eslint-enable @typescript-eslint/no-require-imports */
			default:
				return undefined;
		}
	} catch (error) {
		const e = error as NodeJS.ErrnoException;
		// Only "this connector module does not exist" means not implemented; errors inside one surface.
		if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'./${crm}'`)) return undefined;
		throw error;
	}
	return typeof mod.create === 'function' ? mod.create : undefined;
}

/** True when this build has a connector for `crm`. */
export function hasConnector(crm: CrmName): boolean {
	return loadFactory(crm) !== undefined;
}

/** Builds the connector for one CRM from plain credential values (see the module comment). */
export function createConnector(crm: CrmName, credentials: Record<string, unknown>, runtime?: ConnectorRuntime): CrmConnector {
	const factory = loadFactory(crm);
	if (!factory) throw new NotImplementedError(`The ${crm} connector`);
	return factory(credentials, runtime);
}
