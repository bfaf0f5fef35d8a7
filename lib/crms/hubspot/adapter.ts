// What generic code asks about HubSpot (see lib/crms/types.ts).

import type { CrmAdapter } from '../types';

export const adapter: CrmAdapter = {
	// The sourceId of this package's app, or a changeSource value.
	isOwnChange: (origin, markers, byActor) => byActor || (origin.source !== undefined && markers.includes(origin.source)),
	// Reads return a default set of properties unless they are named.
	readFields: (entity, mapped) => [...new Set([...mapped, entity === 'contact' || entity === 'lead' ? 'lastmodifieddate' : 'hs_lastmodifieddate'])],
	// `contact.privacyDeletion` is parsed as a delete that asks for an erasure.
	isErasure(event) {
		if (event.operation !== 'delete') return false;
		const type = (event.raw as { subscriptionType?: unknown } | undefined)?.subscriptionType;
		return typeof type === 'string' && type.endsWith('.privacyDeletion');
	},
	textValues: true,
};
