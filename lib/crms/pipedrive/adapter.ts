// What generic code asks about Pipedrive (see lib/crms/types.ts).

import type { CrmAdapter } from '../types';

export const adapter: CrmAdapter = {
	// The API token's user: only its changes made through the API (change_source "api").
	isOwnChange: (origin, _markers, byActor) => byActor && origin.source === 'api',
	customFieldsKey: 'custom_fields',
};
