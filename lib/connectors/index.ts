import type { CrmName } from '../model';
import { HubSpotConnector, type HubSpotConfig } from './hubspot';
import { NotImplementedError, type CrmConnector } from './types';

export * from './types';
export { HubSpotConnector };

export interface ConnectorConfigs {
	hubspot: HubSpotConfig;
}

/** Builds the connector for one CRM from plain credential values. */
export function createConnector(crm: CrmName, config: unknown): CrmConnector {
	switch (crm) {
		case 'hubspot':
			return new HubSpotConnector(config as HubSpotConfig);
		default:
			throw new NotImplementedError(`The ${crm} connector`);
	}
}
