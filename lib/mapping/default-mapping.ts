// The compiled default maps (no user overrides), compiled once per process and shared by every
// part of the package that maps with the defaults: echo fingerprints, the writer, the router and
// the Sync API's validation.

import type { CrmName, EntityType } from '../model';
import { compileMapping, type CompiledMapping } from './compile';
import type { Mode } from './types';

const compiled = new Map<string, CompiledMapping>();

/**
 * `crm`'s default map of `entity`, one way: toUnified (from the CRM) or fromUnified (to it).
 * Lenient unless `mode` is strict; `checkCrmRequired` reports fields the CRM needs on create.
 */
export function defaultMapping(
	direction: 'toUnified' | 'fromUnified',
	crm: CrmName,
	entity: EntityType,
	options: { mode?: Mode; checkCrmRequired?: boolean } = {},
): CompiledMapping {
	const mode = options.mode ?? 'lenient';
	const checkCrmRequired = options.checkCrmRequired === true;
	const key = `${direction}|${crm}|${entity}|${mode}|${checkCrmRequired}`;
	let mapping = compiled.get(key);
	if (!mapping) {
		const ends = direction === 'toUnified' ? { source: crm } : { target: crm };
		mapping = compileMapping({ direction, entity, ...ends, mode, ...(checkCrmRequired ? { checkCrmRequired } : {}) });
		compiled.set(key, mapping);
	}
	return mapping;
}
