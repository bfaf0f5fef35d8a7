// Default maps of every CRM × entity.
import type { CrmName, EntityType } from '../../model';
import type { CrmMaps, EntityMap } from '../types';
import { dynamicsMaps } from './dynamics';
import { hubspotMaps } from './hubspot';
import { pipedriveMaps } from './pipedrive';
import { salesforceMaps } from './salesforce';
import { zohoMaps } from './zoho';

export const DEFAULT_MAPS: Record<CrmName, CrmMaps> = {
	salesforce: salesforceMaps,
	hubspot: hubspotMaps,
	pipedrive: pipedriveMaps,
	zoho: zohoMaps,
	dynamics: dynamicsMaps,
};

export function defaultMap(crm: CrmName, entity: EntityType): EntityMap {
	return DEFAULT_MAPS[crm][entity];
}
