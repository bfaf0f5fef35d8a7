// What generic code asks about Salesforce (see lib/crms/types.ts).

import type { CrmAdapter } from '../types';

export const adapter: CrmAdapter = {
	// The client name this package sends in Sforce-Call-Options comes back in changeOrigin.
	isOwnChange(origin, markers, byActor) {
		const client = /(?:^|;)\s*client=([^;]+)/.exec(origin.source ?? '')?.[1]?.trim();
		return byActor || (client !== undefined && markers.includes(client));
	},
	recordModifier: (fields) => fields.LastModifiedById,
	// Reads return the fields asked for.
	readFields: (_entity, mapped) => [...new Set([...mapped, 'LastModifiedDate'])],
	batchReadIdField: 'Id',
	isSystemKey: (key) => key === 'attributes',
};
