// Salesforce default maps (REST sObject fields). Limits from the Salesforce object reference;
// see MAPPING.md for which are verified.
import { field, singleLink } from '../../mapping/shapes';
import { currencyFromMetadata, dealStageValues, ownerEmailFromMetadata, STAGE_FROM_METADATA } from '../../mapping/from-metadata';
import { valueMap } from '../../mapping/vocabulary';
import type { CrmMaps, FieldSpec } from '../../mapping/types';

export const SF_LEAD_SOURCE = valueMap([
	['web', 'Web'], ['phone', 'Phone Inquiry'], ['partner', 'Partner Referral'], ['purchasedList', 'Purchased List'],
	['other', 'Other'], ['referral', 'Referral'], ['email', 'Email'], ['advertisement', 'Advertisement'],
	['event', 'Trade Show'], ['socialMedia', 'Social Media'], ['coldCall', 'Cold Call'], ['publicRelations', 'Public Relations'],
	['referral', 'Employee Referral'], ['referral', 'External Referral'], ['event', 'Seminar - Internal'],
	['event', 'Seminar - Partner'], ['web', 'Website'],
]);

export const SF_LEAD_STATUS = valueMap([
	['new', 'Open - Not Contacted'], ['contacted', 'Working - Contacted'],
	['qualified', 'Closed - Converted'], ['unqualified', 'Closed - Not Converted'],
]);

export const SF_STAGE = dealStageValues([
	['prospecting', 'Prospecting'], ['qualification', 'Qualification'], ['needsAnalysis', 'Needs Analysis'],
	['proposal', 'Proposal/Price Quote'], ['negotiation', 'Negotiation/Review'],
	['closedWon', 'Closed Won'], ['closedLost', 'Closed Lost'],
	['proposal', 'Value Proposition'], ['needsAnalysis', 'Id. Decision Makers'], ['needsAnalysis', 'Perception Analysis'],
]);

/** Task.TaskSubtype for call/email/task; meetings and notes are marked by Task.Type. */
export const SF_ACTIVITY_TYPE = valueMap([
	['call', 'Call'], ['email', 'Email'], ['task', 'Task'], ['meeting', 'Meeting'], ['note', 'Note'],
]);

const id = { ref: true } as const;

function address(prefix: '' | 'Mailing' | 'Billing'): FieldSpec[] {
	return [
		field('street', `${prefix}Street`, 'string', { max: 255 }),
		field('city', `${prefix}City`, 'string', { max: 40 }),
		field('state', `${prefix}State`, 'string', { max: 80 }),
		field('postalCode', `${prefix}PostalCode`, 'postalCode', { max: 20 }),
		field('country', `${prefix}Country`, 'string', { max: 80 }),
	];
}

const person: FieldSpec[] = [
	field('email', 'Email', 'email', { max: 80 }),
	field('firstName', 'FirstName', 'string', { max: 40 }),
	field('lastName', 'LastName', 'string', { max: 80, required: true }),
	field('phone', 'Phone', 'phone', { max: 40 }),
	field('mobilePhone', 'MobilePhone', 'phone', { max: 40 }),
	field('title', 'Title', 'string', { max: 128 }),
	field('leadSource', 'LeadSource', 'picklist', { values: SF_LEAD_SOURCE, max: 255 }),
	field('emailOptOut', 'HasOptedOutOfEmail', 'boolean'),
	field('doNotCall', 'DoNotCall', 'boolean'),
	field('ownerId', 'OwnerId', 'id', id),
];

/** Key prefixes of standard objects: a WhatId names an Account (001) or an Opportunity (006). */
function whatIdOf(prefix: string) {
	return (r: Record<string, unknown>) => {
		const v = r.WhatId;
		return typeof v === 'string' && v.startsWith(prefix) ? [v] : undefined;
	};
}

export const salesforceMaps: CrmMaps = {
	contact: {
		object: 'Contact',
		fields: [
			...person,
			// Contact has no company text: the account name is read through the relationship.
			field('company', 'Account.Name', 'string', { write: false }),
			field('accountId', 'AccountId', 'id', id),
			...address('Mailing'),
		],
	},
	lead: {
		object: 'Lead',
		fields: [
			...person,
			field('company', 'Company', 'string', { max: 255, required: true }),
			field('website', 'Website', 'url', { max: 255 }),
			field('status', 'Status', 'picklist', { values: SF_LEAD_STATUS, required: true }),
			...address(''),
			// A conversion (convertLead) is read here and carried by the writer (lib/sync/lead-conversion.ts):
			// these fields are set by Salesforce only.
			field('converted', 'IsConverted', 'boolean', { write: false }),
			field('convertedContactId', 'ConvertedContactId', 'id', { ...id, write: false }),
			field('convertedAccountId', 'ConvertedAccountId', 'id', { ...id, write: false }),
			field('convertedOpportunityId', 'ConvertedOpportunityId', 'id', { ...id, write: false }),
		],
	},
	account: {
		object: 'Account',
		fields: [
			field('name', 'Name', 'string', { max: 255, required: true }),
			field('website', 'Website', 'url', { max: 255 }),
			field('phone', 'Phone', 'phone', { max: 40 }),
			field('ownerId', 'OwnerId', 'id', id),
			ownerEmailFromMetadata,
			...address('Billing'),
		],
	},
	opportunity: {
		object: 'Opportunity',
		fields: [
			field('name', 'Name', 'string', { max: 120, required: true }),
			field('amount', 'Amount', 'number'),
			currencyFromMetadata,
			// Exists only in multi-currency orgs.
			field('currency', 'CurrencyIsoCode', 'currency'),
			field('stage', 'StageName', 'picklist', { values: SF_STAGE, required: true, read: [STAGE_FROM_METADATA, 'StageName'] }),
			field('closeDate', 'CloseDate', 'date', { required: true }),
			field('accountId', 'AccountId', 'id', id),
			field('ownerId', 'OwnerId', 'id', id),
			ownerEmailFromMetadata,
		],
	},
	activity: {
		object: 'Task',
		fields: [
			field('type', 'TaskSubtype', 'picklist', {
				values: SF_ACTIVITY_TYPE,
				keys: ['Type'],
				read: (r) => (r.Type === 'Meeting' || r.Type === 'Note' ? r.Type : r.TaskSubtype),
				write: (out, v) => {
					if (v === 'Meeting' || v === 'Note') {
						out.TaskSubtype = 'Task';
						out.Type = v;
					} else out.TaskSubtype = v;
					// Meetings are high priority (the activity-sync template's choice; see MAPPING.md).
					if (v === 'Meeting') out.Priority = 'High';
				},
			}),
			field('subject', 'Subject', 'string', { max: 255 }),
			field('body', 'Description', 'text', { max: 32000 }),
			// Task.ActivityDate is date-only: the time of day does not survive.
			field('timestamp', 'ActivityDate', 'datetime', { format: { date: 'dateOnly' }, roundTrip: 'date' }),
			field('duration', 'CallDurationInSeconds', 'integer'),
			field('contactIds', 'WhoId', 'id', { ...singleLink('WhoId'), ref: true }),
			field('dealIds', 'WhatId', 'id', {
				ref: true,
				read: whatIdOf('006'),
				write: (out, v) => {
					if (Array.isArray(v) && v.length) out.WhatId = v[0];
				},
				format: { list: true, single: true },
			}),
			field('accountIds', 'WhatId', 'id', {
				ref: true,
				read: whatIdOf('001'),
				// One WhatId per task: a deal link (written first) wins over an account link.
				write: (out, v) => {
					if (Array.isArray(v) && v.length && out.WhatId === undefined) out.WhatId = v[0];
				},
				format: { list: true, single: true },
			}),
			field('ownerId', 'OwnerId', 'id', id),
		],
	},
};
