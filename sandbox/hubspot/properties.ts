// HubSpot property definitions: the standard properties of each object (what
// GET /crm/v3/properties/{objectType} lists and what writes may set) plus validation of values.
// Custom properties are added through POST /crm/v3/properties/{objectType}, as in HubSpot.

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';

export interface PropertyDef {
	name: string;
	label: string;
	type: PropertyType;
	fieldType: string;
	groupName: string;
	readOnly?: boolean;
	unique?: boolean;
	calculated?: boolean;
	options?: { value: string; label: string }[];
	hubspotDefined: boolean;
	createdAt?: string;
	updatedAt?: string;
}

function opts(values: string[]): { value: string; label: string }[] {
	return values.map((v) => ({ value: v, label: v.replace(/_/g, ' ').toLowerCase().replace(/^\w/, (c) => c.toUpperCase()) }));
}

function p(name: string, type: PropertyType = 'string', extra: Partial<PropertyDef> = {}): PropertyDef {
	const fieldType = { string: 'text', number: 'number', date: 'date', datetime: 'date', enumeration: 'select', bool: 'booleancheckbox' }[type];
	return { name, label: name.replace(/^hs_/, '').replace(/_/g, ' '), type, fieldType, groupName: 'information', hubspotDefined: true, ...extra };
}

const SYSTEM = (created: string, modified: string) => [
	p('hs_object_id', 'number', { readOnly: true, unique: true, label: 'Record ID' }),
	p(created, 'datetime', { label: 'Create Date' }),
	p(modified, 'datetime', { readOnly: true, label: 'Last Modified Date' }),
	p('hubspot_owner_id', 'enumeration', { label: 'Owner', fieldType: 'select' }),
	p('hs_merged_object_ids', 'enumeration', { readOnly: true, fieldType: 'checkbox' }),
];

export const LIFECYCLE_STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];
export const DEAL_STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];
const LEAD_STATUS = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'];

const ADDRESS = ['address', 'city', 'state', 'zip', 'country'].map((n) => p(n));

export const STANDARD_PROPERTIES: Record<string, PropertyDef[]> = {
	contacts: [
		...SYSTEM('createdate', 'lastmodifieddate'),
		p('email', 'string', { unique: true, label: 'Email' }),
		p('hs_additional_emails', 'enumeration', { readOnly: true, fieldType: 'checkbox' }),
		p('firstname'),
		p('lastname'),
		p('salutation'),
		p('phone', 'string', { fieldType: 'phonenumber' }),
		p('mobilephone', 'string', { fieldType: 'phonenumber' }),
		p('fax', 'string', { fieldType: 'phonenumber' }),
		p('company'),
		p('website'),
		p('jobtitle'),
		p('industry'),
		p('associatedcompanyid', 'number', { readOnly: true }),
		p('lifecyclestage', 'enumeration', { options: opts(LIFECYCLE_STAGES) }),
		p('hs_lead_status', 'enumeration', { options: opts(LEAD_STATUS) }),
		p('hs_analytics_source', 'enumeration', { readOnly: true }),
		p('hs_email_optout', 'bool', { readOnly: true }),
		p('leadsource'),
		...ADDRESS,
	],
	companies: [
		...SYSTEM('createdate', 'hs_lastmodifieddate'),
		p('name'),
		p('domain'),
		p('website'),
		p('phone', 'string', { fieldType: 'phonenumber' }),
		p('industry'),
		p('description', 'string', { fieldType: 'textarea' }),
		p('numberofemployees', 'number'),
		p('annualrevenue', 'number'),
		p('lifecyclestage', 'enumeration', { options: opts(LIFECYCLE_STAGES) }),
		...ADDRESS,
	],
	deals: [
		...SYSTEM('createdate', 'hs_lastmodifieddate'),
		p('dealname'),
		p('amount', 'number'),
		p('deal_currency_code', 'enumeration'),
		p('dealstage', 'enumeration', { options: opts(DEAL_STAGES) }),
		p('pipeline', 'enumeration'),
		p('closedate', 'datetime'),
		p('dealtype', 'enumeration'),
		p('description', 'string', { fieldType: 'textarea' }),
		p('hs_is_closed_won', 'bool', { readOnly: true, calculated: true }),
		p('hs_is_closed', 'bool', { readOnly: true, calculated: true }),
		p('leadsource'),
	],
	notes: [...SYSTEM('hs_createdate', 'hs_lastmodifieddate'), p('hs_timestamp', 'datetime'), p('hs_note_body', 'string', { fieldType: 'html' })],
	tasks: [
		...SYSTEM('hs_createdate', 'hs_lastmodifieddate'),
		p('hs_timestamp', 'datetime'),
		p('hs_task_subject'),
		p('hs_task_body', 'string', { fieldType: 'html' }),
		p('hs_task_status', 'enumeration', { options: opts(['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED']) }),
		p('hs_task_priority', 'enumeration', { options: opts(['NONE', 'LOW', 'MEDIUM', 'HIGH']) }),
		p('hs_task_type', 'enumeration', { options: opts(['CALL', 'EMAIL', 'TODO', 'LINKED_IN', 'LINKED_IN_CONNECT', 'LINKED_IN_MESSAGE']) }),
		p('hs_engagement_type', 'enumeration', { readOnly: true }),
	],
	calls: [
		...SYSTEM('hs_createdate', 'hs_lastmodifieddate'),
		p('hs_timestamp', 'datetime'),
		p('hs_call_title'),
		p('hs_call_body', 'string', { fieldType: 'html' }),
		p('hs_call_direction', 'enumeration', { options: opts(['INBOUND', 'OUTBOUND']) }),
		p('hs_call_duration', 'number'),
		p('hs_call_status', 'enumeration'),
		p('hs_call_disposition', 'enumeration'),
		p('hs_engagement_type', 'enumeration', { readOnly: true }),
	],
	meetings: [
		...SYSTEM('hs_createdate', 'hs_lastmodifieddate'),
		p('hs_timestamp', 'datetime'),
		p('hs_meeting_title'),
		p('hs_meeting_body', 'string', { fieldType: 'html' }),
		p('hs_meeting_start_time', 'datetime'),
		p('hs_meeting_end_time', 'datetime'),
		p('hs_meeting_location'),
		p('hs_meeting_outcome', 'enumeration'),
		p('hs_engagement_type', 'enumeration', { readOnly: true }),
	],
	emails: [
		...SYSTEM('hs_createdate', 'hs_lastmodifieddate'),
		p('hs_timestamp', 'datetime'),
		p('hs_email_subject'),
		p('hs_email_text', 'string', { fieldType: 'textarea' }),
		p('hs_email_html', 'string', { fieldType: 'html' }),
		p('hs_email_direction', 'enumeration', { options: opts(['EMAIL', 'INCOMING_EMAIL', 'FORWARDED_EMAIL']) }),
		p('hs_email_status', 'enumeration'),
		p('hs_engagement_type', 'enumeration', { readOnly: true }),
	],
};

export interface ValueProblem {
	message: string;
	error: string;
	name: string;
}

/**
 * Normalises one written value by the property's type: numbers must be numeric, booleans
 * true/false, datetimes epoch ms or ISO (stored as ISO), dates YYYY-MM-DD or midnight epoch ms,
 * enumerations with options one of them. Returns the stored string or a problem.
 */
export function normaliseValue(def: PropertyDef, value: string): string | ValueProblem {
	if (value === '') return '';
	switch (def.type) {
		case 'number':
			return Number.isFinite(Number(value)) ? value : { message: `${value} is not a valid number`, error: 'INVALID_FLOAT', name: def.name };
		case 'bool':
			return value === 'true' || value === 'false' ? value : { message: `${value} is not a valid boolean; use true or false`, error: 'INVALID_BOOLEAN', name: def.name };
		case 'datetime': {
			const ms = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
			return Number.isNaN(ms) ? { message: `${value} is not a valid datetime; use epoch milliseconds or ISO 8601`, error: 'INVALID_DATE', name: def.name } : new Date(ms).toISOString();
		}
		case 'date': {
			if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
			const ms = Number(value);
			if (/^\d+$/.test(value) && ms % 86_400_000 === 0) return new Date(ms).toISOString().slice(0, 10);
			return { message: `${value} is not a valid date; dates must be midnight UTC`, error: 'INVALID_DATE', name: def.name };
		}
		case 'enumeration':
			if (!def.options?.length) return value;
			return def.options.some((o) => o.value === value) ? value : { message: `${value} was not one of the allowed options: [${def.options.map((o) => o.value).join(', ')}]`, error: 'INVALID_OPTION', name: def.name };
		default:
			return value;
	}
}

/** Property in the API's response shape. */
export function publicProperty(def: PropertyDef): Record<string, unknown> {
	const now = '2025-01-01T00:00:00.000Z';
	return {
		name: def.name,
		label: def.label,
		type: def.type,
		fieldType: def.fieldType,
		description: '',
		groupName: def.groupName,
		options: def.options ?? [],
		displayOrder: -1,
		calculated: def.calculated ?? false,
		externalOptions: false,
		hasUniqueValue: def.unique ?? false,
		hidden: false,
		hubspotDefined: def.hubspotDefined,
		modificationMetadata: { archivable: !def.hubspotDefined, readOnlyDefinition: def.hubspotDefined, readOnlyValue: def.readOnly ?? false },
		formField: !def.readOnly,
		createdAt: def.createdAt ?? now,
		updatedAt: def.updatedAt ?? now,
		archived: false,
	};
}
