// The five sandbox CRMs as the chaos and queue-mode tests see them: a person's changes through
// each CRM's UI (admin "UI" calls, so webhooks carry the CRM's UI change source, not our marker),
// contacts read back from each CRM's own records, and the webhook subscriptions of contact-sync.json.
import type { Sandbox } from '../../../sandbox';
import { subscribeTriggers, triggerUrl, withSandboxMarkers, type WorkflowJson } from '../subscriptions';

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

export type Template = WorkflowJson & { id: string; [key: string]: unknown };

const triggerOf = (template: Template) => template.nodes.find((n) => n.type === 'n8n-nodes-crm-sync.crmSyncTrigger')!;

/** contact-sync.json as a user sets it up for the sandbox: the identities our writes carry in each CRM. */
export function configureContactSync(template: Template): Template {
	return withSandboxMarkers(template);
}

/** Each CRM's webhook URL of the template's trigger on this n8n. */
export function hookUrls(template: Template, baseUrl: string): Record<Crm, string> {
	const trigger = triggerOf(template);
	return Object.fromEntries(CRMS.map((crm) => [crm, triggerUrl(baseUrl, trigger, crm)])) as Record<Crm, string>;
}

/**
 * Subscribes the template's trigger to contact creates, updates and deletes in every CRM, signed
 * with its webhook credentials (Pipedrive and Zoho: the trigger registered itself on activation).
 */
export async function subscribeContactSync(sandbox: Sandbox, template: Template, baseUrl: string): Promise<void> {
	const { failed } = await subscribeTriggers(sandbox, baseUrl, [template]);
	if (failed.length) throw new Error(`webhook subscriptions: ${failed.join('; ')}`);
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
