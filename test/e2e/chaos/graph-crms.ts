// The graph of the five sandbox CRMs as the graph chaos test sees it: accounts (by website
// domain), contacts (by e-mail) with their account, deals (by name) with their account and stage,
// read from each CRM's own records (admin dump, never faulted), and a person's changes to them
// in each CRM's UI (admin "UI" calls: the CRM sends its own webhooks, with its UI change source).
import { normaliseDomain } from '../../../lib/matching/normalise-domain';
import type { Sandbox } from '../../../sandbox';
import { CRMS, type Crm } from './crms';

export { CRMS, type Crm };

type Row = Record<string, unknown>;

/** The deal stages the load uses: two open stages every CRM has, won and lost. */
export type DealStage = 'qualification' | 'negotiation' | 'won' | 'lost';
export type Outcome = 'open' | 'won' | 'lost';
export const outcomeOf = (stage: DealStage): Outcome => (stage === 'won' || stage === 'lost' ? stage : 'open');

export interface StoredAccount {
	id: string;
	name: string;
	domain: string | undefined;
}

export interface StoredContact {
	id: string;
	email: string;
	firstName: string;
	lastName: string;
	/** The CRM's id of the contact's account ('' none; HubSpot: always '', its link is an association). */
	accountId: string;
}

export interface StoredDeal {
	id: string;
	name: string;
	amount: number;
	outcome: Outcome;
	/** The CRM's own stage, as it stores it (for the report). */
	stage: string;
	/** At the negotiation stage (each CRM's own: HubSpot contractsent, Salesforce and Zoho Negotiation/Review, Dynamics salesstage 3 Close, Pipedrive stage 5). */
	negotiation: boolean;
	/** The CRM's id of the deal's account ('' none; HubSpot: always '', its link is an association). */
	accountId: string;
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
/** A lookup as the CRMs store it: an id, or an object with one (Zoho {id, name}, Pipedrive {value}). */
const ref = (value: unknown) => (value && typeof value === 'object' ? text((value as Row).id ?? (value as Row).value) : text(value));

/** Not deleted (each emulator's own marks). Dynamics' statecode is no deletion mark for opportunities (won/lost). */
function live(row: Row): boolean {
	if (row.deletedAt !== undefined || row.is_deleted === true || row.$deleted || row['@sandbox.deleted'] || row.archived === true || row.IsDeleted === true) return false;
	return true;
}

function rows(sandbox: Sandbox, crm: Crm, type: string): Row[] {
	return ((sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? []).filter(live);
}

export function accountsIn(sandbox: Sandbox, crm: Crm): StoredAccount[] {
	switch (crm) {
		case 'hubspot':
			return rows(sandbox, crm, 'companies').map((r) => { const p = r.properties as Row; return { id: text(r.id), name: text(p.name), domain: normaliseDomain(p.website ?? p.domain) }; });
		case 'salesforce':
			return rows(sandbox, crm, 'Account').map((r) => ({ id: text(r.Id), name: text(r.Name), domain: normaliseDomain(r.Website) }));
		case 'zoho':
			return rows(sandbox, crm, 'Accounts').map((r) => ({ id: text(r.id), name: text(r.Account_Name), domain: normaliseDomain(r.Website) }));
		case 'dynamics':
			return rows(sandbox, crm, 'accounts').filter((r) => r.statecode === undefined || r.statecode === 0).map((r) => ({ id: text(r.accountid ?? r.id), name: text(r.name), domain: normaliseDomain(r.websiteurl) }));
		case 'pipedrive':
			return rows(sandbox, crm, 'organizations').map((r) => ({ id: text(r.id), name: text(r.name), domain: normaliseDomain(r.website) }));
	}
}

export function contactsIn(sandbox: Sandbox, crm: Crm): StoredContact[] {
	switch (crm) {
		case 'hubspot':
			return rows(sandbox, crm, 'contacts').map((r) => { const p = r.properties as Row; return { id: text(r.id), email: text(p.email).toLowerCase(), firstName: text(p.firstname), lastName: text(p.lastname), accountId: '' }; });
		case 'salesforce':
			return rows(sandbox, crm, 'Contact').map((r) => ({ id: text(r.Id), email: text(r.Email).toLowerCase(), firstName: text(r.FirstName), lastName: text(r.LastName), accountId: ref(r.AccountId) }));
		case 'zoho':
			return rows(sandbox, crm, 'Contacts').map((r) => ({ id: text(r.id), email: text(r.Email).toLowerCase(), firstName: text(r.First_Name), lastName: text(r.Last_Name), accountId: ref(r.Account_Name) }));
		case 'dynamics':
			return rows(sandbox, crm, 'contacts').filter((r) => r.statecode === undefined || r.statecode === 0).map((r) => ({ id: text(r.contactid ?? r.id), email: text(r.emailaddress1).toLowerCase(), firstName: text(r.firstname), lastName: text(r.lastname), accountId: text(r._parentcustomerid_value) }));
		case 'pipedrive':
			return rows(sandbox, crm, 'persons').map((r) => {
				const emails = (r.emails ?? r.email ?? []) as Array<{ value: string; primary?: boolean }>;
				const primary = Array.isArray(emails) ? (emails.find((e) => e.primary) ?? emails[0]) : undefined;
				return { id: text(r.id), email: text(primary?.value).toLowerCase(), firstName: text(r.first_name), lastName: text(r.last_name), accountId: ref(r.org_id) };
			});
	}
}

export function dealsIn(sandbox: Sandbox, crm: Crm): StoredDeal[] {
	switch (crm) {
		case 'hubspot':
			return rows(sandbox, crm, 'deals').map((r) => {
				const p = r.properties as Row;
				const stage = text(p.dealstage);
				return { id: text(r.id), name: text(p.dealname), amount: Number(p.amount), stage, outcome: stage === 'closedwon' ? 'won' : stage === 'closedlost' ? 'lost' : 'open', negotiation: stage === 'contractsent', accountId: '' };
			});
		case 'salesforce':
			return rows(sandbox, crm, 'Opportunity').map((r) => {
				const stage = text(r.StageName);
				return { id: text(r.Id), name: text(r.Name), amount: Number(r.Amount), stage, outcome: stage === 'Closed Won' ? 'won' : stage === 'Closed Lost' ? 'lost' : 'open', negotiation: stage === 'Negotiation/Review', accountId: ref(r.AccountId) };
			});
		case 'zoho':
			return rows(sandbox, crm, 'Deals').map((r) => {
				const stage = text(r.Stage);
				return { id: text(r.id), name: text(r.Deal_Name), amount: Number(r.Amount), stage, outcome: stage === 'Closed Won' ? 'won' : /^Closed.Lost/.test(stage) ? 'lost' : 'open', negotiation: stage === 'Negotiation/Review', accountId: ref(r.Account_Name) };
			});
		case 'dynamics':
			return rows(sandbox, crm, 'opportunities').map((r) => ({
				id: text(r.opportunityid ?? r.id),
				name: text(r.name),
				amount: Number(r.estimatedvalue),
				stage: `salesstage ${text(r.salesstage)}/statecode ${text(r.statecode)}`,
				outcome: r.statecode === 1 ? 'won' : r.statecode === 2 ? 'lost' : 'open',
				negotiation: r.statecode === 0 && Number(r.salesstage) === 3,
				accountId: text(r._customerid_value),
			}));
		case 'pipedrive':
			return rows(sandbox, crm, 'deals').map((r) => ({
				id: text(r.id),
				name: text(r.title),
				amount: Number(r.value),
				stage: `${text(r.stage_id)}/${text(r.status)}`,
				outcome: r.status === 'won' ? 'won' : r.status === 'lost' ? 'lost' : 'open',
				negotiation: r.status === 'open' && Number(r.stage_id) === 5,
				accountId: ref(r.org_id),
			}));
	}
}

async function call(sandbox: Sandbox, crm: Crm, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Row> {
	const res = await fetch(`${sandbox.urls[crm]}${path}`, {
		method,
		headers: { 'content-type': 'application/json', ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const answer = await res.text();
	if (!res.ok) throw new Error(`${crm} UI ${method} ${path}: ${res.status} ${answer.slice(0, 300)}`);
	if (crm === 'zoho' && /"status":"error"/.test(answer)) throw new Error(`zoho UI ${method} ${path}: ${answer.slice(0, 300)}`);
	return answer ? (JSON.parse(answer) as Row) : {};
}

const DYNAMICS = '/__admin/ui/api/data/v9.2';

// --- Accounts -------------------------------------------------------------------------------

export async function uiCreateAccount(sandbox: Sandbox, crm: Crm, name: string, website: string): Promise<void> {
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/companies', { properties: { name, website } }],
		salesforce: ['/__admin/sobjects/Account', { Name: name, Website: website }],
		dynamics: [`${DYNAMICS}/accounts`, { name, websiteurl: website }],
		zoho: ['/__admin/ui/crm/v6/Accounts', { data: [{ Account_Name: name, Website: website }] }],
		pipedrive: ['/__admin/ui/api/v2/organizations', { name, website }],
	};
	await call(sandbox, crm, 'POST', ...requests[crm]);
}

export async function uiRenameAccount(sandbox: Sandbox, crm: Crm, id: string, name: string): Promise<void> {
	const requests: Record<Crm, [string, string, unknown]> = {
		hubspot: ['PATCH', `/__admin/objects/companies/${id}`, { properties: { name } }],
		salesforce: ['PATCH', `/__admin/sobjects/Account/${id}`, { Name: name }],
		dynamics: ['PATCH', `${DYNAMICS}/accounts(${id})`, { name }],
		zoho: ['PUT', `/__admin/ui/crm/v6/Accounts/${id}`, { data: [{ Account_Name: name }] }],
		pipedrive: ['PATCH', `/__admin/ui/api/v2/organizations/${id}`, { name }],
	};
	await call(sandbox, crm, ...requests[crm]);
}

export async function uiDeleteAccount(sandbox: Sandbox, crm: Crm, id: string): Promise<void> {
	const paths: Record<Crm, string> = {
		hubspot: `/__admin/objects/companies/${id}`,
		salesforce: `/__admin/sobjects/Account/${id}`,
		dynamics: `${DYNAMICS}/accounts(${id})`,
		zoho: `/__admin/ui/crm/v6/Accounts/${id}`,
		pipedrive: `/__admin/ui/api/v2/organizations/${id}`,
	};
	await call(sandbox, crm, 'DELETE', paths[crm]);
}

// --- Contacts (not HubSpot: its contact–company link is an association the maps do not write) ---

export type LinkingCrm = Exclude<Crm, 'hubspot'>;
export const LINKING_CRMS: LinkingCrm[] = ['pipedrive', 'salesforce', 'zoho', 'dynamics'];

function contactAccountFields(crm: LinkingCrm, accountId: string): Row {
	return {
		salesforce: { AccountId: accountId },
		zoho: { Account_Name: { id: accountId } },
		dynamics: { 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` },
		pipedrive: { org_id: Number(accountId) },
	}[crm];
}

export async function uiCreateContact(sandbox: Sandbox, crm: LinkingCrm, c: { email: string; firstName: string; lastName: string }, accountId: string): Promise<void> {
	const link = contactAccountFields(crm, accountId);
	const requests: Record<LinkingCrm, [string, unknown]> = {
		salesforce: ['/__admin/sobjects/Contact', { FirstName: c.firstName, LastName: c.lastName, Email: c.email, ...link }],
		dynamics: [`${DYNAMICS}/contacts`, { firstname: c.firstName, lastname: c.lastName, emailaddress1: c.email, ...link }],
		zoho: ['/__admin/ui/crm/v6/Contacts', { data: [{ First_Name: c.firstName, Last_Name: c.lastName, Email: c.email, ...link }] }],
		pipedrive: ['/__admin/ui/api/v2/persons', { name: `${c.firstName} ${c.lastName}`, emails: [{ value: c.email, primary: true }], ...link }],
	};
	await call(sandbox, crm, 'POST', ...requests[crm]);
}

/** A person moves the contact to another account (the contact's account field, nothing else). */
export async function uiReparentContact(sandbox: Sandbox, crm: LinkingCrm, id: string, accountId: string): Promise<void> {
	const link = contactAccountFields(crm, accountId);
	const requests: Record<LinkingCrm, [string, string, unknown]> = {
		salesforce: ['PATCH', `/__admin/sobjects/Contact/${id}`, link],
		dynamics: ['PATCH', `${DYNAMICS}/contacts(${id})`, link],
		zoho: ['PUT', `/__admin/ui/crm/v6/Contacts/${id}`, { data: [link] }],
		pipedrive: ['PATCH', `/__admin/ui/api/v2/persons/${id}`, link],
	};
	await call(sandbox, crm, ...requests[crm]);
}

// --- Deals -----------------------------------------------------------------------------------

const OPEN_STAGE: Record<Crm, Record<'qualification' | 'negotiation', unknown>> = {
	hubspot: { qualification: 'qualifiedtobuy', negotiation: 'contractsent' },
	salesforce: { qualification: 'Qualification', negotiation: 'Negotiation/Review' },
	zoho: { qualification: 'Qualification', negotiation: 'Negotiation/Review' },
	dynamics: { qualification: 0, negotiation: 3 },
	pipedrive: { qualification: 1, negotiation: 5 },
};

/** A deal created open at `stage`, linked to the CRM's own record of its account (HubSpot: no link). */
export async function uiCreateDeal(sandbox: Sandbox, crm: Crm, d: { name: string; amount: number; stage: 'qualification' | 'negotiation' }, accountId?: string): Promise<void> {
	const stage = OPEN_STAGE[crm][d.stage];
	const requests: Record<Crm, [string, unknown]> = {
		hubspot: ['/__admin/objects/deals', { properties: { dealname: d.name, amount: String(d.amount), dealstage: stage, pipeline: 'default', closedate: '2027-06-30' } }],
		salesforce: ['/__admin/sobjects/Opportunity', { Name: d.name, Amount: d.amount, StageName: stage, CloseDate: '2027-06-30', ...(accountId ? { AccountId: accountId } : {}) }],
		zoho: ['/__admin/ui/crm/v6/Deals', { data: [{ Deal_Name: d.name, Amount: d.amount, Stage: stage, Closing_Date: '2027-06-30', ...(accountId ? { Account_Name: { id: accountId } } : {}) }] }],
		dynamics: [`${DYNAMICS}/opportunities`, { name: d.name, estimatedvalue: d.amount, salesstage: stage, estimatedclosedate: '2027-06-30', ...(accountId ? { 'customerid_account@odata.bind': `/accounts(${accountId})` } : {}) }],
		pipedrive: ['/__admin/ui/api/v2/deals', { title: d.name, value: d.amount, stage_id: stage, expected_close_date: '2027-06-30', ...(accountId ? { org_id: Number(accountId) } : {}) }],
	};
	await call(sandbox, crm, 'POST', ...requests[crm]);
}

/** A person moves an open deal to another open stage, or closes it won or lost (Dynamics: Win/LoseOpportunity, as its UI does). */
export async function uiSetDealStage(sandbox: Sandbox, crm: Crm, id: string, stage: DealStage): Promise<void> {
	if (crm === 'dynamics' && (stage === 'won' || stage === 'lost')) {
		await call(sandbox, crm, 'POST', `${DYNAMICS}/${stage === 'won' ? 'WinOpportunity' : 'LoseOpportunity'}`, { Status: stage === 'won' ? 3 : 4, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})`, subject: 'chaos' } });
		return;
	}
	const open = stage === 'qualification' || stage === 'negotiation';
	const value = open ? OPEN_STAGE[crm][stage] : undefined;
	const requests: Record<Crm, [string, string, unknown]> = {
		hubspot: ['PATCH', `/__admin/objects/deals/${id}`, { properties: { dealstage: open ? value : stage === 'won' ? 'closedwon' : 'closedlost' } }],
		salesforce: ['PATCH', `/__admin/sobjects/Opportunity/${id}`, { StageName: open ? value : stage === 'won' ? 'Closed Won' : 'Closed Lost' }],
		zoho: ['PUT', `/__admin/ui/crm/v6/Deals/${id}`, { data: [{ Stage: open ? value : stage === 'won' ? 'Closed Won' : 'Closed Lost' }] }],
		dynamics: ['PATCH', `${DYNAMICS}/opportunities(${id})`, { salesstage: value }],
		pipedrive: ['PATCH', `/__admin/ui/api/v2/deals/${id}`, open ? { stage_id: value, status: 'open' } : { status: stage }],
	};
	await call(sandbox, crm, ...requests[crm]);
}
