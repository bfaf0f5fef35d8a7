// Pipedrive webhooks the trigger registers itself (v2.0 payloads, HTTP Basic auth).

import type { SubscriptionApi } from '../types';
import { create } from './connector';

export const subscriptions: SubscriptionApi = {
	list: async (credentials) => (await create(credentials).listWebhooks()).map(({ id, url }) => ({ id, url })),
	async create(credentials, request) {
		const hook = await create(credentials).createWebhook({ url: request.url, httpAuthUser: request.user, httpAuthPassword: request.secret, version: '2.0' });
		return { id: hook.id, url: hook.url };
	},
	async remove(credentials, id) {
		await create(credentials).deleteWebhook(id);
	},
};
