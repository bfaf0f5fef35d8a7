import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { createConnector } from '../../../lib/connectors';
import { defaultMap, defaultTargetFields, type Direction } from '../../../lib/mapping';
import { isCrmName, isEntityType, type EntityType } from '../../../lib/model';
import { crmCredentials } from '../../shared/credentials';
import { defaultFieldOptions, liveFieldOptions } from '../fields';

/**
 * Target fields: the CRM's live metadata when "Load Target Fields From CRM" is on (needs a
 * credential), else the default map's fields.
 */
export async function getTargetFields(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const direction = this.getCurrentNodeParameter('direction') as Direction;
	const entity = this.getCurrentNodeParameter('entity') as EntityType;
	const source = this.getCurrentNodeParameter('sourceCrm');
	const target = this.getCurrentNodeParameter('targetCrm');
	if (!isEntityType(entity)) return [];
	const defaults = defaultTargetFields(direction, entity, isCrmName(source) ? source : undefined, isCrmName(target) ? target : undefined);
	if (direction === 'toUnified' || !isCrmName(target) || this.getCurrentNodeParameter('liveFields') !== true) return defaultFieldOptions(defaults);
	const credentials = await crmCredentials(this, target, (name) => this.getCurrentNodeParameter(name));
	const live = await createConnector(target, credentials).describeFields(entity);
	return liveFieldOptions(live, defaults);
}

/** Unified picklist fields of the chosen entity. */
export async function getPicklistFields(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const entity = this.getCurrentNodeParameter('entity') as EntityType;
	const direction = this.getCurrentNodeParameter('direction') as Direction;
	if (!isEntityType(entity)) return [];
	const crms = [
		direction === 'fromUnified' ? undefined : this.getCurrentNodeParameter('sourceCrm'),
		direction === 'toUnified' ? undefined : this.getCurrentNodeParameter('targetCrm'),
	].filter(isCrmName);
	const names = new Set(crms.flatMap((c) => defaultMap(c, entity).fields.filter((f) => f.type === 'picklist').map((f) => f.unified)));
	return [...names].map((n) => ({ name: n, value: n }));
}
