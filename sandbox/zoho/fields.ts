// Field metadata for GET /crm/v6/settings/fields?module=: the standard fields of each emulated
// module (no custom fields are pre-defined). Mandatory and lookup flags come from MODULES.

import type { Fields } from '../common/store';
import { MODULES } from './modules';

type Def = [api: string, label: string, type: string, picklist?: string[]];

const ADDRESS = (p: string): Def[] => [
	[`${p}_Street`, `${p.replace('_', ' ')} Street`, 'text'],
	[`${p}_City`, `${p.replace('_', ' ')} City`, 'text'],
	[`${p}_State`, `${p.replace('_', ' ')} State`, 'text'],
	[`${p}_Zip`, `${p.replace('_', ' ')} Zip`, 'text'],
	[`${p}_Country`, `${p.replace('_', ' ')} Country`, 'text'],
];
const SYSTEM: Def[] = [
	['Owner', 'Owner', 'ownerlookup'],
	['Created_Time', 'Created Time', 'datetime'],
	['Modified_Time', 'Modified Time', 'datetime'],
	['Created_By', 'Created By', 'ownerlookup'],
	['Modified_By', 'Modified By', 'ownerlookup'],
];
const ACTIVITY: Def[] = [
	['Who_Id', 'Contact Name', 'lookup'],
	['What_Id', 'Related To', 'lookup'],
	['Description', 'Description', 'textarea'],
];

const CATALOG: Record<string, Def[]> = {
	Contacts: [
		['First_Name', 'First Name', 'text'],
		['Last_Name', 'Last Name', 'text'],
		['Full_Name', 'Contact Name', 'text'],
		['Email', 'Email', 'email'],
		['Secondary_Email', 'Secondary Email', 'email'],
		['Phone', 'Phone', 'phone'],
		['Mobile', 'Mobile', 'phone'],
		['Home_Phone', 'Home Phone', 'phone'],
		['Other_Phone', 'Other Phone', 'phone'],
		['Asst_Phone', 'Asst Phone', 'phone'],
		['Title', 'Title', 'text'],
		['Department', 'Department', 'text'],
		// Standard fields seen in v2-get-contact-recorded.json.
		['Salutation', 'Salutation', 'picklist', ['-None-', 'Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Prof.']],
		['Assistant', 'Assistant', 'text'],
		['Fax', 'Fax', 'phone'],
		['Skype_ID', 'Skype ID', 'text'],
		['Twitter', 'Twitter', 'text'],
		['Account_Name', 'Account Name', 'lookup'],
		['Reporting_To', 'Reporting To', 'lookup'],
		['Lead_Source', 'Lead Source', 'picklist', ['-None-', 'Advertisement', 'Cold Call', 'Employee Referral', 'External Referral', 'Online Store', 'Partner', 'Web Download', 'Web Research', 'Chat']],
		['Date_of_Birth', 'Date of Birth', 'date'],
		['Email_Opt_Out', 'Email Opt Out', 'boolean'],
		['Description', 'Description', 'textarea'],
		...ADDRESS('Mailing'),
		...ADDRESS('Other'),
		...SYSTEM,
	],
	Leads: [
		['First_Name', 'First Name', 'text'],
		['Last_Name', 'Last Name', 'text'],
		['Full_Name', 'Lead Name', 'text'],
		['Company', 'Company', 'text'],
		['Email', 'Email', 'email'],
		['Secondary_Email', 'Secondary Email', 'email'],
		['Phone', 'Phone', 'phone'],
		['Mobile', 'Mobile', 'phone'],
		// A lead's title is Designation (v2-get-lead-recorded.json); Title is the Contacts field.
		['Designation', 'Title', 'text'],
		['Salutation', 'Salutation', 'picklist', ['-None-', 'Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Prof.']],
		['Website', 'Website', 'website'],
		['Industry', 'Industry', 'picklist', ['-None-', 'ASP (Application Service Provider)', 'Data/Telecom OEM', 'ERP', 'Government/Military', 'Large Enterprise', 'ManagementISV', 'MSP (Management Service Provider)', 'Network Equipment Enterprise', 'Non-management ISV', 'Optical Networking', 'Service Provider', 'Small/Medium Enterprise', 'Storage Equipment', 'Storage Service Provider', 'Systems Integrator', 'Wireless Industry']],
		['Rating', 'Rating', 'picklist', ['-None-', 'Acquired', 'Active', 'Market Failed', 'Project Cancelled', 'Shut Down']],
		['Fax', 'Fax', 'phone'],
		['Skype_ID', 'Skype ID', 'text'],
		['Twitter', 'Twitter', 'text'],
		['Lead_Status', 'Lead Status', 'picklist', ['-None-', 'Attempted to Contact', 'Contact in Future', 'Contacted', 'Junk Lead', 'Lost Lead', 'Not Contacted', 'Pre-Qualified', 'Not Qualified']],
		['Lead_Source', 'Lead Source', 'picklist', ['-None-', 'Advertisement', 'Cold Call', 'Employee Referral', 'External Referral', 'Online Store', 'Partner', 'Web Download', 'Web Research', 'Chat']],
		['Annual_Revenue', 'Annual Revenue', 'currency'],
		['No_of_Employees', 'No. of Employees', 'integer'],
		['Email_Opt_Out', 'Email Opt Out', 'boolean'],
		['Street', 'Street', 'text'],
		['City', 'City', 'text'],
		['State', 'State', 'text'],
		['Zip_Code', 'Zip Code', 'text'],
		['Country', 'Country', 'text'],
		['Description', 'Description', 'textarea'],
		...SYSTEM,
	],
	Accounts: [
		['Account_Name', 'Account Name', 'text'],
		['Website', 'Website', 'website'],
		['Phone', 'Phone', 'phone'],
		['Industry', 'Industry', 'picklist', ['-None-', 'Software', 'Manufacturing', 'Retail', 'Healthcare', 'Finance', 'Logistics', 'Energy', 'Education', 'Media', 'Hospitality']],
		['Annual_Revenue', 'Annual Revenue', 'currency'],
		['Employees', 'Employees', 'integer'],
		['Parent_Account', 'Parent Account', 'lookup'],
		['Description', 'Description', 'textarea'],
		...ADDRESS('Billing'),
		...SYSTEM,
	],
	Deals: [
		['Deal_Name', 'Deal Name', 'text'],
		['Amount', 'Amount', 'currency'],
		// Values from the org's stages (DEFAULT_DEAL_STAGES unless a test set others).
		['Stage', 'Stage', 'picklist', []],
		['Closing_Date', 'Closing Date', 'date'],
		['Probability', 'Probability (%)', 'integer'],
		['Pipeline', 'Pipeline', 'picklist', ['Standard']],
		['Account_Name', 'Account Name', 'lookup'],
		['Contact_Name', 'Contact Name', 'lookup'],
		['Description', 'Description', 'textarea'],
		...SYSTEM,
	],
	Tasks: [
		['Subject', 'Subject', 'text'],
		['Due_Date', 'Due Date', 'date'],
		['Status', 'Status', 'picklist', ['Not Started', 'Deferred', 'In Progress', 'Completed', 'Waiting for input']],
		['Priority', 'Priority', 'picklist', ['High', 'Highest', 'Low', 'Lowest', 'Normal']],
		...ACTIVITY,
		...SYSTEM,
	],
	Calls: [
		['Subject', 'Subject', 'text'],
		['Call_Type', 'Call Type', 'picklist', ['Outbound', 'Inbound', 'Missed']],
		['Call_Start_Time', 'Call Start Time', 'datetime'],
		['Call_Duration', 'Call Duration', 'text'],
		['Call_Duration_in_seconds', 'Call Duration (in seconds)', 'integer'],
		...ACTIVITY,
		...SYSTEM,
	],
	Events: [
		['Event_Title', 'Title', 'text'],
		['Start_DateTime', 'From', 'datetime'],
		['End_DateTime', 'To', 'datetime'],
		['Venue', 'Location', 'text'],
		['All_day', 'All day', 'boolean'],
		...ACTIVITY,
		...SYSTEM,
	],
	Notes: [
		['Note_Title', 'Note Title', 'text'],
		['Note_Content', 'Note Content', 'textarea'],
		['Parent_Id', 'Parent ID', 'lookup'],
		...SYSTEM,
	],
};

const READ_ONLY = new Set(['Full_Name', 'Created_Time', 'Modified_Time', 'Created_By', 'Modified_By']);

/** A deal stage: its name, default probability and forecast type (what the Stage picklist value carries). */
export interface DealStage {
	name: string;
	probability: number;
	forecast_type: 'Open' | 'Closed Won' | 'Closed Lost';
	/** Forecast category; by default Pipeline for open, Closed for won, Omitted for lost stages. */
	forecast_category?: string;
}

/** The stages of a new Zoho CRM org's Deals module. */
export const DEFAULT_DEAL_STAGES: readonly DealStage[] = [
	{ name: 'Qualification', probability: 10, forecast_type: 'Open' },
	{ name: 'Needs Analysis', probability: 20, forecast_type: 'Open' },
	{ name: 'Value Proposition', probability: 40, forecast_type: 'Open' },
	{ name: 'Identify Decision Makers', probability: 60, forecast_type: 'Open' },
	{ name: 'Proposal/Price Quote', probability: 75, forecast_type: 'Open' },
	{ name: 'Negotiation/Review', probability: 90, forecast_type: 'Open' },
	{ name: 'Closed Won', probability: 100, forecast_type: 'Closed Won' },
	{ name: 'Closed Lost', probability: 0, forecast_type: 'Closed Lost' },
	{ name: 'Closed-Lost to Competition', probability: 0, forecast_type: 'Closed Lost' },
];

const FORECAST_CATEGORY: Record<DealStage['forecast_type'], string> = { Open: 'Pipeline', 'Closed Won': 'Closed', 'Closed Lost': 'Omitted' };

/** Stable 19-digit ids per picklist value (Zoho gives every value an id). */
function valueId(module: string, field: number, value: number): string {
	return `4150868000001${String(Object.keys(CATALOG).indexOf(module) * 10000 + field * 100 + value).padStart(6, '0')}`;
}

/**
 * Picklist values as Zoho's field metadata gives them. [U] Stage values add probability,
 * forecast_type and forecast_category {name, id}, as the brief for issue 21 describes them.
 */
function picklistValues(module: string, api: string, field: number, values: string[], stages: readonly DealStage[]): Fields[] {
	if (module === 'Deals' && api === 'Stage') {
		const categories = [...new Set([...Object.values(FORECAST_CATEGORY), ...stages.map((s) => s.forecast_category ?? FORECAST_CATEGORY[s.forecast_type])])];
		return stages.map((s, i) => {
			const category = s.forecast_category ?? FORECAST_CATEGORY[s.forecast_type];
			return {
				display_value: s.name,
				sequence_number: i + 1,
				reference_value: s.name,
				actual_value: s.name,
				id: valueId(module, field, i),
				type: 'used',
				probability: s.probability,
				forecast_type: s.forecast_type,
				forecast_category: { name: category, id: `4150868000000${String(300000 + categories.indexOf(category)).padStart(6, '0')}` },
			};
		});
	}
	return values.map((v, i) => ({ display_value: v, sequence_number: i + 1, reference_value: v, actual_value: v, id: valueId(module, field, i), type: 'used' }));
}

/**
 * The modules whose records carry a currency in a multi-currency org (those with an amount:
 * Annual_Revenue, Amount): `Currency` (a picklist of the active currencies) and `Exchange_Rate`.
 * Which modules get them is the sandbox's choice [U].
 */
export const CURRENCY_MODULES = ['Leads', 'Accounts', 'Deals'];

/** `currencies`: the active currencies of a multi-currency org (adds Currency and Exchange_Rate where amounts are). */
export function moduleFields(module: string, stages: readonly DealStage[] = DEFAULT_DEAL_STAGES, currencies?: string[]): Fields[] {
	const def = MODULES[module];
	const catalog: Def[] = currencies && CURRENCY_MODULES.includes(module) ? [...CATALOG[module], ['Currency', 'Currency', 'picklist', currencies], ['Exchange_Rate', 'Exchange Rate', 'double']] : CATALOG[module];
	return catalog.map(([api, label, type, picklist], i) => {
		const target = def.lookups[api];
		const f: Fields = {
			api_name: api,
			field_label: label,
			display_label: label,
			data_type: type,
			json_type: type === 'lookup' || type === 'ownerlookup' ? 'jsonobject' : type === 'boolean' ? 'boolean' : type === 'integer' ? 'integer' : type === 'currency' || type === 'double' ? 'double' : 'string',
			system_mandatory: def.required.includes(api),
			read_only: READ_ONLY.has(api),
			field_read_only: READ_ONLY.has(api),
			custom_field: false,
			visible: true,
			id: `4150868000000${String(200000 + Object.keys(CATALOG).indexOf(module) * 100 + i).padStart(6, '0')}`,
			unique: (module === 'Contacts' || module === 'Leads') && api === 'Email' ? { casesensitive: false } : null,
		};
		if (picklist) f.pick_list_values = picklistValues(module, api, i, picklist, stages);
		if (type === 'lookup' && target && target !== '*') f.lookup = { module: { api_name: target } };
		return f;
	});
}
