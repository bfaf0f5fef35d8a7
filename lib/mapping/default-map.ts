// Default maps of every CRM × entity (each CRM's own in lib/crms/<crm>/map.ts).
import { crmModule } from '../crms';
import type { CrmName, EntityType } from '../model';
import type { EntityMap } from './types';

export function defaultMap(crm: CrmName, entity: EntityType): EntityMap {
	return crmModule(crm).maps[entity];
}
