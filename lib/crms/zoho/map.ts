// Zoho CRM default maps (v6 API names). Lookups are {id, name} objects; datetimes carry offsets
// ('2024-01-15T15:26:49+05:30'). Lengths are Zoho's field-type defaults (unverified, see MAPPING.md).
import { field, lookupId } from '../../mapping/shapes';
import { currencyFromMetadata, dealStageValues, ownerEmailFromMetadata, STAGE_FROM_METADATA } from '../../mapping/from-metadata';
import { valueMap } from '../../mapping/vocabulary';
import type { CrmMaps, FieldSpec, ShapeReader } from '../../mapping/types';

export const ZOHO_LEAD_SOURCE = valueMap([
	['web', 'Web Research'], ['advertisement', 'Advertisement'], ['coldCall', 'Cold Call'], ['referral', 'External Referral'],
	['partner', 'Partner'], ['publicRelations', 'Public Relations'], ['email', 'Sales Email Alias'], ['event', 'Trade Show'],
	['socialMedia', 'Facebook'], ['other', 'Chat'], ['phone', 'Phone'], ['purchasedList', 'Purchased List'],
	['referral', 'Employee Referral'], ['web', 'Web Download'], ['web', 'Online Store'], ['event', 'Seminar Partner'],
	['event', 'Internal Seminar'], ['socialMedia', 'X (Twitter)'], ['socialMedia', 'Twitter'],
]);

export const ZOHO_LEAD_STATUS = valueMap([
	['new', 'Not Contacted'], ['contacted', 'Contacted'], ['qualified', 'Pre-Qualified'], ['unqualified', 'Not Qualified'],
	['contacted', 'Attempted to Contact'], ['contacted', 'Contact in Future'], ['unqualified', 'Junk Lead'], ['unqualified', 'Lost Lead'],
]);

/** Zoho's default pipeline has no "Prospecting"; it is written as Qualification. */
export const ZOHO_STAGE = dealStageValues([
	['qualification', 'Qualification'], ['needsAnalysis', 'Needs Analysis'], ['proposal', 'Proposal/Price Quote'],
	['negotiation', 'Negotiation/Review'], ['closedWon', 'Closed Won'], ['closedLost', 'Closed Lost'],
	['prospecting', 'Qualification'], ['proposal', 'Value Proposition'], ['needsAnalysis', 'Id. Decision Makers'],
	['needsAnalysis', 'Perception Analysis'], ['closedLost', 'Closed-Lost to Competition'],
	// The stage's current name in a new org (GET /settings/fields?module=Deals); read only.
	['needsAnalysis', 'Identify Decision Makers'],
]);

/** Activity modules. Zoho has no email activity module: type email has no value here. */
export const ZOHO_ACTIVITY_MODULE = valueMap([['call', 'Calls'], ['meeting', 'Events'], ['task', 'Tasks'], ['note', 'Notes']]);

const owner = field('ownerId', 'Owner', 'id', { ...lookupId('Owner'), ref: true });

function address(street: string, city: string, state: string, zip: string, country: string): FieldSpec[] {
	return [
		field('street', street, 'string', { max: 250 }),
		field('city', city, 'string', { max: 100 }),
		field('state', state, 'string', { max: 100 }),
		field('postalCode', zip, 'postalCode', { max: 30 }),
		field('country', country, 'string', { max: 100 }),
	];
}

const person: FieldSpec[] = [
	field('email', 'Email', 'email', { max: 100 }),
	field('firstName', 'First_Name', 'string', { max: 40 }),
	field('lastName', 'Last_Name', 'string', { max: 80, required: true }),
	field('phone', 'Phone', 'phone', { max: 30 }),
	field('mobilePhone', 'Mobile', 'phone', { max: 30 }),
	field('leadSource', 'Lead_Source', 'picklist', { values: ZOHO_LEAD_SOURCE }),
	field('emailOptOut', 'Email_Opt_Out', 'boolean'),
	owner,
];

const readModule: ShapeReader = (r) => {
	if (r.Note_Content !== undefined || r.Note_Title !== undefined) return 'Notes';
	if (r.Event_Title !== undefined || r.Start_DateTime !== undefined) return 'Events';
	if (r.Call_Type !== undefined || r.Call_Start_Time !== undefined) return 'Calls';
	return r.Subject !== undefined || r.Due_Date !== undefined ? 'Tasks' : undefined;
};

/** Reads the id of a polymorphic link when its $se_module is one of `modules`. */
function linkOf(key: string, modules: string[]): ShapeReader {
	return (r) => {
		const o = r[key] as { id?: unknown } | null | undefined;
		if (!o || typeof o !== 'object') return undefined;
		const mod = r.$se_module;
		return typeof mod === 'string' && !modules.includes(mod) ? undefined : [o.id];
	};
}

export const zohoMaps: CrmMaps = {
	contact: {
		object: 'Contacts',
		fields: [
			...person,
			field('title', 'Title', 'string', { max: 100 }),
			field('company', 'Account_Name.name', 'string', { write: false }),
			field('accountId', 'Account_Name', 'id', { ...lookupId('Account_Name'), ref: true }),
			...address('Mailing_Street', 'Mailing_City', 'Mailing_State', 'Mailing_Zip', 'Mailing_Country'),
		],
	},
	lead: {
		object: 'Leads',
		fields: [
			...person,
			field('title', 'Designation', 'string', { max: 100 }),
			field('company', 'Company', 'string', { max: 200, required: true }),
			field('website', 'Website', 'url', { max: 255 }),
			field('status', 'Lead_Status', 'picklist', { values: ZOHO_LEAD_STATUS }),
			...address('Street', 'City', 'State', 'Zip_Code', 'Country'),
		],
	},
	account: {
		object: 'Accounts',
		fields: [
			field('name', 'Account_Name', 'string', { max: 200, required: true }),
			field('website', 'Website', 'url', { max: 255 }),
			field('phone', 'Phone', 'phone', { max: 30 }),
			owner,
			ownerEmailFromMetadata,
			...address('Billing_Street', 'Billing_City', 'Billing_State', 'Billing_Code', 'Billing_Country'),
		],
	},
	opportunity: {
		object: 'Deals',
		fields: [
			field('name', 'Deal_Name', 'string', { max: 120, required: true }),
			field('amount', 'Amount', 'number'),
			currencyFromMetadata,
			// Multi-currency orgs only.
			field('currency', 'Currency', 'currency'),
			field('stage', 'Stage', 'picklist', { values: ZOHO_STAGE, required: true, read: [STAGE_FROM_METADATA, 'Stage'] }),
			field('closeDate', 'Closing_Date', 'date', { required: true }),
			field('accountId', 'Account_Name', 'id', { ...lookupId('Account_Name'), ref: true }),
			field('contactId', 'Contact_Name', 'id', { ...lookupId('Contact_Name'), ref: true }),
			owner,
			ownerEmailFromMetadata,
		],
	},
	activity: {
		object: 'Tasks | Calls | Events | Notes',
		fields: [
			field('type', '(module)', 'picklist', {
				virtual: true,
				values: ZOHO_ACTIVITY_MODULE,
				keys: ['Call_Type'],
				read: readModule,
				// Calls need a Call_Type; the module itself is chosen by the connector from `type`.
				write: (out, v) => {
					if (v === 'Calls' && out.Call_Type === undefined) out.Call_Type = 'Outbound';
				},
			}),
			field('subject', 'Subject', 'string', {
				max: 255,
				keys: ['Event_Title', 'Note_Title'],
				read: (r) => r.Subject ?? r.Event_Title ?? r.Note_Title,
				write: (out, v, u) => {
					out[u.type === 'meeting' ? 'Event_Title' : u.type === 'note' ? 'Note_Title' : 'Subject'] = v;
				},
			}),
			field('body', 'Description', 'text', {
				max: 32000,
				keys: ['Note_Content'],
				read: (r) => r.Description ?? r.Note_Content,
				write: (out, v, u) => {
					out[u.type === 'note' ? 'Note_Content' : 'Description'] = v;
				},
			}),
			field('timestamp', 'Due_Date', 'datetime', {
				format: { date: 'isoOffset' },
				keys: ['Call_Start_Time', 'Start_DateTime', 'End_DateTime'],
				read: (r) => r.Call_Start_Time ?? r.Start_DateTime ?? r.Due_Date,
				write: (out, v, u) => {
					if (typeof v !== 'string') return;
					if (u.type === 'call') out.Call_Start_Time = v;
					else if (u.type === 'meeting') out.Start_DateTime = v;
					else if (u.type !== 'note') out.Due_Date = v.slice(0, 10);
				},
				// Tasks keep the date only (Due_Date).
				roundTrip: 'date',
			}),
			field('duration', 'Call_Duration_in_seconds', 'integer', {
				read: (r) => r.Call_Duration_in_seconds,
				write: (out, v, u) => {
					if (u.type === 'call') out.Call_Duration_in_seconds = v;
				},
			}),
			field('contactIds', 'Who_Id', 'id', {
				ref: true,
				keys: ['Parent_Id', '$se_module'],
				read: (r) => {
					const who = r.Who_Id as { id?: unknown } | undefined;
					if (who && typeof who === 'object') return [who.id];
					return linkOf('Parent_Id', ['Contacts'])(r);
				},
				write: (out, v, u) => {
					if (!Array.isArray(v) || !v.length) return;
					if (u.type === 'note') {
						out.Parent_Id = { id: v[0] };
						out.$se_module = 'Contacts';
					} else out.Who_Id = { id: v[0] };
				},
				format: { list: true, single: true },
			}),
			field('dealIds', 'What_Id', 'id', {
				ref: true,
				read: (r) => linkOf('What_Id', ['Deals'])(r) ?? (r.Who_Id === undefined ? linkOf('Parent_Id', ['Deals'])(r) : undefined),
				write: (out, v, u) => {
					if (!Array.isArray(v) || !v.length) return;
					const key = u.type === 'note' ? 'Parent_Id' : 'What_Id';
					if (out[key] !== undefined) return;
					out[key] = { id: v[0] };
					out.$se_module = 'Deals';
				},
				format: { list: true, single: true },
			}),
			field('accountIds', 'What_Id', 'id', {
				ref: true,
				read: (r) => linkOf('What_Id', ['Accounts'])(r) ?? (r.Who_Id === undefined ? linkOf('Parent_Id', ['Accounts'])(r) : undefined),
				write: (out, v, u) => {
					if (!Array.isArray(v) || !v.length) return;
					const key = u.type === 'note' ? 'Parent_Id' : 'What_Id';
					if (out[key] !== undefined) return;
					out[key] = { id: v[0] };
					out.$se_module = 'Accounts';
				},
				format: { list: true, single: true },
			}),
			owner,
		],
	},
};
