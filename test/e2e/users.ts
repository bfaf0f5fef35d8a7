// A person who is a user of both Pipedrive and Zoho under one e-mail address (neither CRM's API
// user), added as each CRM's admin would: owner mapping by e-mail has something to find.
import assert from 'node:assert/strict';

import type { Sandbox } from '../../sandbox';

export async function addPipedriveAndZohoUser(sandbox: Sandbox, email: string): Promise<{ pipedrive: string; zoho: string }> {
	const pd = await fetch(`${sandbox.urls.pipedrive}/__admin/ui/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
	const pdBody = (await pd.json()) as { data?: { id: number } };
	assert.ok(pd.ok && pdBody.data, `Pipedrive user: ${pd.status} ${JSON.stringify(pdBody)}`);
	const zoho = await fetch(`${sandbox.urls.zoho}/__admin/ui/crm/v6/users`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ users: [{ first_name: 'Shared', last_name: 'Owner', email, role: '4150868000000026005', profile: '4150868000000026014' }] }),
	});
	const zohoBody = (await zoho.json()) as { users?: Array<{ details: { id: string } }> };
	assert.ok(zoho.ok && zohoBody.users, `Zoho user: ${zoho.status} ${JSON.stringify(zohoBody)}`);
	return { pipedrive: String(pdBody.data.id), zoho: String(zohoBody.users[0].details.id) };
}
