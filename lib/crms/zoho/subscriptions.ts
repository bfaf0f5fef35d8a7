// Zoho notification channels the trigger registers itself. They expire after a day at most and
// are renewed when half of that is left.

import type { SubscriptionApi } from '../types';
import { create, watchRenewalDue } from './connector';

export const subscriptions: SubscriptionApi = {
	list: async (credentials) => (await create(credentials).listWatches()).map(({ channelId, url, expiresAt }) => ({ id: channelId, url, expiresAt })),
	async create(credentials, request) {
		// Zoho channel ids are numbers chosen by the client.
		const channelId = `${Date.now()}${Math.floor(Math.random() * 1000)
			.toString()
			.padStart(3, '0')}`;
		const watch = await create(credentials).enableWatch({ channelId, url: request.url, token: request.secret, entities: request.entities });
		return { id: watch.channelId, url: watch.url, expiresAt: watch.expiresAt };
	},
	async remove(credentials, id) {
		await create(credentials).disableWatch(id);
	},
	renewal: {
		due: (expiresAt) => watchRenewalDue(expiresAt),
		async renew(credentials, id) {
			const watch = await create(credentials).renewWatch(id);
			return { id: watch.channelId, url: watch.url, expiresAt: watch.expiresAt };
		},
	},
};
