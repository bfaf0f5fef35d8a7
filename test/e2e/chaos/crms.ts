// The five sandbox CRMs as the chaos and queue-mode tests see them: a person's changes through
// each CRM's UI (admin "UI" calls, so webhooks carry the CRM's UI change source, not our marker),
// contacts read back from each CRM's own records, and the webhook subscriptions of contact-sync.json.
import type { Sandbox } from '../../../sandbox';
import { appUserIdFor } from '../../../sandbox/dynamics';

export const CRMS = ['hubspot', 'pipedrive', 'salesforce', 'zoho', 'dynamics'] as const;
export type Crm = (typeof CRMS)[number];

/** The values the sync carries and the checker compares (email is the match key and never changes). */
export interface ContactValues {
	email: string;
	firstName: string;
	lastName: string;
	phone: string;
}

/** A contact as one CRM stores it: its id there and the values read back. */
export interface StoredContact extends ContactValues {
	id: string;
}

interface TemplateNode {
	name: string;
	type: string;
	webhookId?: string;
	parameters: Record<string, unknown>;
}
export interface Template {
	id: string;
	nodes: TemplateNode[];
	[key: string]: unknown;
}

function triggersOf(template: Template): Record<Crm, TemplateNode> {
	return Object.fromEntries(
		template.nodes.filter((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger').map((n) => [n.parameters.crm as Crm, n]),
	) as Record<Crm, TemplateNode>;
}

/** contact-sync.json as a user sets it up for the sandbox: the identities our writes carry in each CRM. */
export function configureContactSync(template: Template): Template {
	const markers: Partial<Record<Crm, string>> = {
		hubspot: '1160452', // the sandbox private app's id (sourceId of our HubSpot writes)
		pipedrive: '1', // the API token's user
		salesforce: 'n8n-crm-sync', // Sforce-Call-Options client name of our writes
		dynamics: appUserIdFor('sandbox-client'), // the application user of our client id
	};
	const copy = JSON.parse(JSON.stringify(template)) as Template;
	for (const node of copy.nodes) {
		const crm = node.parameters.crm as Crm;
		if (node.type === 'n8n-nodes-crm-sync.crmSyncTrigger' && markers[crm]) node.parameters.ownChangeMarkers = markers[crm];
	}
	return copy;
}

/** Each CRM's webhook URL of the template's trigger on this n8n. */
export function hookUrls(template: Template, baseUrl: string): Record<Crm, string> {
	const triggers = triggersOf(template);
	return Object.fromEntries(CRMS.map((crm) => [crm, `${baseUrl}/webhook/${triggers[crm].webhookId}/${crm}`])) as Record<Crm, string>;
}

/** Subscribes n8n's five triggers to contact creates, updates and deletes in every CRM. */
export async function subscribeContactSync(sandbox: Sandbox, template: Template, baseUrl: string): Promise<void> {
	const triggers = triggersOf(template);
	const secret = (crm: Crm) => String(triggers[crm].parameters.secret);
	const url = hookUrls(template, baseUrl);
	const e = sandbox.emulators;
	e.hubspot!.addSubscription({ url: url.hubspot, clientSecret: secret('hubspot'), types: ['contact.creation', 'contact.propertyChange', 'contact.deletion'] });
	e.salesforce!.addSubscription({ type: 'changeEvent', url: url.salesforce, secret: secret('salesforce'), entities: ['Contact'] });
	e.zoho!.addSubscription({ url: url.zoho, events: ['Contacts.all'], token: secret('zoho') });
	e.dynamics!.addSubscription({ url: url.dynamics, entity: 'contact', messages: ['Create', 'Update', 'Delete'], authType: 'WebhookKey', key: secret('dynamics') });
	const res = await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, {
		method: 'POST',
		headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' },
		body: JSON.stringify({
			subscription_url: url.pipedrive, event_action: '*', event_object: 'person', version: '2.0',
			http_auth_user: triggers.pipedrive.parameters.basicAuthUser, http_auth_password: secret('pipedrive'),
		}),
	});
	if (!res.ok) throw new Error(`Pipedrive webhook subscription: ${res.status} ${await res.text()}`);
}

type Row = Record<string, unknown>;

function live(crm: Crm, row: Row): boolean {
	if (row.deletedAt !== undefined || row.is_deleted || row.$deleted || row['@sandbox.deleted']) return false;
	if (crm === 'hubspot') return !row.archived;
	if (crm === 'salesforce') return !row.IsDeleted;
	if (crm === 'dynamics') return row.statecode === undefined || row.statecode === 0;
	return true;
}

/** Every live contact of one CRM, read from its own records (admin dump, never faulted). */
export function contactsIn(sandbox: Sandbox, crm: Crm): StoredContact[] {
	const dump = sandbox.emulators[crm]!.dump() as Record<string, Row[]>;
	const type = { hubspot: 'contacts', salesforce: 'Contact', zoho: 'Contacts', dynamics: 'contacts', pipedrive: 'persons' }[crm];
	return (dump[type] ?? []).filter((row) => live(crm, row)).map((row) => read(crm, row));
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));

function read(crm: Crm, row: Row): StoredContact {
	switch (crm) {
		case 'hubspot': {
			const p = row.properties as Row;
			return { id: text(row.id), email: text(p.email).toLowerCase(), firstName: text(p.firstname), lastName: text(p.lastname), phone: text(p.phone) };
		}
		case 'salesforce':
			return { id: text(row.Id ?? row.id), email: text(row.Email).toLowerCase(), firstName: text(row.FirstName), lastName: text(row.LastName), phone: text(row.Phone) };
		case 'zoho':
			return { id: text(row.id), email: text(row.Email).toLowerCase(), firstName: text(row.First_Name), lastName: text(row.Last_Name), phone: text(row.Phone) };
		case 'dynamics':
			return { id: text(row.contactid ?? row.id), email: text(row.emailaddress1).toLowerCase(), firstName: text(row.firstname), lastName: text(row.lastname), phone: text(row.telephone1) };
		case 'pipedrive': {
			const emails = (row.emails ?? row.email ?? []) as Array<{ value: string; primary?: boolean }>;
			const phones = (row.phones ?? row.phone ?? []) as Array<{ value: string; primary?: boolean }>;
			const primary = <T extends { primary?: boolean }>(list: T[]) => (Array.isArray(list) ? (list.find((x) => x.primary) ?? list[0]) : undefined);
			return {
				id: text(row.id),
				email: text(primary(emails)?.value).toLowerCase(),
				firstName: text(row.first_name),
				lastName: text(row.last_name),
				phone: text(primary(phones)?.value),
			};
		}
	}
}

/** A person's change in a CRM's UI: create, update (all three values) or delete of one contact. */
export async function uiCreate(sandbox: Sandbox, crm: Crm, c: ContactValues): Promise<void> {
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/contacts', { properties: { firstname: c.firstName, lastname: c.lastName, email: c.email, phone: c.phone } }],
		salesforce: ['/__admin/sobjects/Contact', { FirstName: c.firstName, LastName: c.lastName, Email: c.email, Phone: c.phone }],
		dynamics: ['/__admin/ui/api/data/v9.2/contacts', { firstname: c.firstName, lastname: c.lastName, emailaddress1: c.email, telephone1: c.phone }],
		zoho: ['/__admin/ui/crm/v6/Contacts', { data: [{ First_Name: c.firstName, Last_Name: c.lastName, Email: c.email, Phone: c.phone }] }],
		pipedrive: ['/__admin/ui/api/v2/persons', { name: `${c.firstName} ${c.lastName}`, emails: [{ value: c.email, primary: true }], phones: [{ value: c.phone, primary: true }] }],
	};
	await call(sandbox, crm, 'POST', ...requests[crm]);
}

export async function uiUpdate(sandbox: Sandbox, crm: Crm, id: string, c: ContactValues): Promise<void> {
	const requests: Record<Crm, [string, string, unknown]> = {
		hubspot: ['PATCH', `/__admin/objects/contacts/${id}`, { properties: { firstname: c.firstName, lastname: c.lastName, phone: c.phone } }],
		salesforce: ['PATCH', `/__admin/sobjects/Contact/${id}`, { FirstName: c.firstName, LastName: c.lastName, Phone: c.phone }],
		dynamics: ['PATCH', `/__admin/ui/api/data/v9.2/contacts(${id})`, { firstname: c.firstName, lastname: c.lastName, telephone1: c.phone }],
		zoho: ['PUT', `/__admin/ui/crm/v6/Contacts/${id}`, { data: [{ First_Name: c.firstName, Last_Name: c.lastName, Phone: c.phone }] }],
		pipedrive: ['PATCH', `/__admin/ui/api/v2/persons/${id}`, { name: `${c.firstName} ${c.lastName}`, phones: [{ value: c.phone, primary: true }] }],
	};
	const [method, path, body] = requests[crm];
	await call(sandbox, crm, method, path, body);
}

export async function uiDelete(sandbox: Sandbox, crm: Crm, id: string): Promise<void> {
	const paths: Record<Crm, string> = {
		hubspot: `/__admin/objects/contacts/${id}`,
		salesforce: `/__admin/sobjects/Contact/${id}`,
		dynamics: `/__admin/ui/api/data/v9.2/contacts(${id})`,
		zoho: `/__admin/ui/crm/v6/Contacts/${id}`,
		pipedrive: `/__admin/ui/api/v2/persons/${id}`,
	};
	await call(sandbox, crm, 'DELETE', paths[crm]);
}

async function call(sandbox: Sandbox, crm: Crm, method: string, path: string, body?: unknown): Promise<void> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, {
		method,
		headers: { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const answer = await res.text();
	if (!res.ok) throw new Error(`${crm} UI ${method} ${path}: ${res.status} ${answer.slice(0, 300)}`);
	if (crm === 'zoho' && /"status":"error"/.test(answer)) throw new Error(`zoho UI ${method} ${path}: ${answer.slice(0, 300)}`);
}
