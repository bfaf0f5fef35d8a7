// Admin calls that act as a person in the CRM's UI: `<METHOD> /__admin/ui/<API path>` runs the
// normal API route with a sandbox-issued token and `x-sandbox-change-source: app`, so the change
// carries the CRM's UI marker (Pipedrive change_source "app", Dynamics the interactive user).
// Shared by the Pipedrive, Zoho and Dynamics emulators; generic enough to live in sandbox/common.

import { json, Reply, RequestContext, Router } from '../common/router';

export function registerUiAdminRoutes(
	admin: Router,
	api: Router,
	authenticate: (ctx: RequestContext) => Reply | undefined,
	authHeaders: () => Record<string, string>,
): void {
	for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
		admin.add(method, /^\/__admin\/ui(?<rest>\/.*)$/, async (ctx) => {
			const path = ctx.params.rest;
			const url = new URL(path + ctx.url.search, ctx.url);
			const inner: RequestContext = {
				...ctx,
				path,
				url,
				query: url.searchParams,
				params: {},
				headers: { ...ctx.headers, ...authHeaders(), 'x-sandbox-change-source': 'app' },
				state: {},
			};
			const m = api.match(method, path);
			if (!('handler' in m)) return json(404, { error: `no API route for ${method} ${path}` });
			inner.params = m.params;
			return authenticate(inner) ?? (await m.handler(inner));
		});
	}
}
