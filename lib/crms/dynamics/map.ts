// Microsoft Dynamics 365 / Dataverse default maps (Web API v9.2 logical names). Lookups read
// `_x_value` and write `nav@odata.bind`; option sets are integers. Lengths are the default
// max lengths of the standard columns (unverified, see MAPPING.md).
import { bindId, field, odataLookup } from '../../mapping/shapes';
import { textOf } from '../../mapping/transformers';
import { currencyFromMetadata, dealStageValues, ownerEmailFromMetadata, STAGE_FROM_METADATA } from '../../mapping/from-metadata';
import { CURRENCY_ISO_FIELD } from './currency';
import { valueMap } from '../../mapping/vocabulary';
import type { CrmMaps, FieldSpec, ShapeReader, ShapeWriter } from '../../mapping/types';

const guid = { format: { id: 'guid' } } as const;

/** lead.leadsourcecode (8 = Web per crm-wire; the others are the standard option set, unverified). */
export const DYN_LEAD_SOURCE = valueMap([
	['advertisement', 1], ['referral', 2], ['referral', 3], ['partner', 4], ['publicRelations', 5], ['event', 6],
	['event', 7], ['web', 8], ['referral', 9], ['other', 10],
]);

/** lead.statuscode; statecode follows (0 open, 1 qualified, 2 disqualified). */
export const DYN_LEAD_STATUS = valueMap([
	['new', 1], ['contacted', 2], ['qualified', 3], ['unqualified', 4], ['unqualified', 5], ['unqualified', 6], ['unqualified', 7],
]);
const LEAD_STATE: Record<number, number> = { 1: 0, 2: 0, 3: 1, 4: 2, 5: 2, 6: 2, 7: 2 };

/** opportunity.salesstage (0 Qualify, 1 Develop, 2 Propose, 3 Close); won/lost are statecode 1/2. */
export const DYN_STAGE = dealStageValues([
	['qualification', 0], ['needsAnalysis', 1], ['proposal', 2], ['negotiation', 3], ['prospecting', 0],
	['closedWon', 'won'], ['closedLost', 'lost'],
]);

/** The activity entity, sent as the `@odata.type` annotation so the connector picks the entity set. */
export const DYN_ACTIVITY_TYPE = valueMap([
	['call', 'Microsoft.Dynamics.CRM.phonecall'], ['meeting', 'Microsoft.Dynamics.CRM.appointment'],
	['task', 'Microsoft.Dynamics.CRM.task'], ['email', 'Microsoft.Dynamics.CRM.email'], ['note', 'Microsoft.Dynamics.CRM.annotation'],
]);
const ACTIVITY_CODE: Record<string, string> = {
	phonecall: 'Microsoft.Dynamics.CRM.phonecall', appointment: 'Microsoft.Dynamics.CRM.appointment',
	task: 'Microsoft.Dynamics.CRM.task', email: 'Microsoft.Dynamics.CRM.email',
};
const ENTITY_OF: Record<string, string> = { call: 'phonecall', meeting: 'appointment', task: 'task', email: 'email' };

const owner = field('ownerId', 'ownerid', 'id', { ...odataLookup('ownerid', 'ownerid', 'systemusers'), ref: true, ...guid });

const address: FieldSpec[] = [
	field('street', 'address1_line1', 'string', { max: 250 }),
	field('city', 'address1_city', 'string', { max: 80 }),
	field('state', 'address1_stateorprovince', 'string', { max: 50 }),
	field('postalCode', 'address1_postalcode', 'postalCode', { max: 20 }),
	field('country', 'address1_country', 'string', { max: 80 }),
];

const person: FieldSpec[] = [
	field('email', 'emailaddress1', 'email', { max: 100 }),
	field('firstName', 'firstname', 'string', { max: 50 }),
	field('lastName', 'lastname', 'string', { max: 50, required: true }),
	field('phone', 'telephone1', 'phone', { max: 50 }),
	field('mobilePhone', 'mobilephone', 'phone', { max: 50 }),
	field('title', 'jobtitle', 'string', { max: 100 }),
	field('website', 'websiteurl', 'url', { max: 200 }),
	field('emailOptOut', 'donotemail', 'boolean'),
	field('doNotCall', 'donotphone', 'boolean'),
	...address,
	owner,
];

const ENTITY_SET: Record<string, string> = { contact: 'contacts', account: 'accounts', opportunity: 'opportunities' };
const BIND_RE = /^(?:regardingobjectid|objectid)_(contact|account|opportunity)(?:_\w+)?@odata\.bind$/;

/** The regarding (activities) or object (notes) link: [logical name, id]. */
function regarding(r: Record<string, unknown>): [string, unknown] | undefined {
	for (const attr of ['_regardingobjectid_value', '_objectid_value']) {
		if (r[attr] !== undefined && r[attr] !== null) {
			const logical = r[`${attr}@Microsoft.Dynamics.CRM.lookuplogicalname`];
			return [typeof logical === 'string' ? logical : '', r[attr]];
		}
	}
	for (const key in r) {
		const m = BIND_RE.exec(key);
		if (m) return [m[1], bindId(r[key])];
	}
	return undefined;
}

function regardingOf(logical: string): ShapeReader {
	return (r) => {
		const link = regarding(r);
		return link && link[0] === logical ? [link[1]] : undefined;
	};
}

/** One regarding link per activity: contact first, then deal, then account. */
function writeRegarding(logical: string): ShapeWriter {
	return (out, v, u) => {
		if (!Array.isArray(v) || !v.length) return;
		for (const k in out) if (BIND_RE.test(k)) return;
		const key = u.type === 'note' ? `objectid_${logical}@odata.bind` : `regardingobjectid_${logical}_${ENTITY_OF[textOf(u.type)] ?? 'task'}@odata.bind`;
		out[key] = `/${ENTITY_SET[logical]}(${textOf(v[0])})`;
	};
}

export const dynamicsMaps: CrmMaps = {
	contact: {
		object: 'contacts',
		fields: [
			...person,
			// The account name comes only as a formatted-value annotation (when requested).
			field('company', '_parentcustomerid_value@OData.Community.Display.V1.FormattedValue', 'string', { write: false }),
			field('accountId', 'parentcustomerid', 'id', { ...odataLookup('parentcustomerid', 'parentcustomerid_account', 'accounts'), ref: true, ...guid }),
		],
	},
	lead: {
		object: 'leads',
		fields: [
			...person,
			field('name', 'subject', 'string', { max: 300 }),
			field('company', 'companyname', 'string', { max: 100 }),
			field('leadSource', 'leadsourcecode', 'picklist', { values: DYN_LEAD_SOURCE }),
			field('status', 'statuscode', 'picklist', {
				values: DYN_LEAD_STATUS,
				keys: ['statecode'],
				write: (out, v) => {
					out.statuscode = v;
					if (typeof v === 'number' && LEAD_STATE[v] !== undefined) out.statecode = LEAD_STATE[v];
				},
			}),
			// A qualified lead is a converted one. What it became the connector reads for qualified leads
			// (the lead's parent contact/account, else the records that name it as their originating lead).
			field('converted', 'statecode', 'boolean', { read: (r) => (r.statecode === undefined || r.statecode === null ? undefined : r.statecode === 1), write: false }),
			field('convertedContactId', 'crmSyncConvertedContactId', 'id', { ref: true, write: false, virtual: true, ...guid }),
			field('convertedAccountId', 'crmSyncConvertedAccountId', 'id', { ref: true, write: false, virtual: true, ...guid }),
			field('convertedOpportunityId', 'crmSyncConvertedOpportunityId', 'id', { ref: true, write: false, virtual: true, ...guid }),
		],
	},
	account: {
		object: 'accounts',
		fields: [
			field('name', 'name', 'string', { max: 160, required: true }),
			field('website', 'websiteurl', 'url', { max: 200 }),
			field('phone', 'telephone1', 'phone', { max: 50 }),
			...address,
			owner,
			ownerEmailFromMetadata,
		],
	},
	opportunity: {
		object: 'opportunities',
		fields: [
			field('name', 'name', 'string', { max: 300, required: true }),
			field('amount', 'estimatedvalue', 'number'),
			// The transaction currency as an ISO code: the connector binds and reads transactioncurrencyid.
			currencyFromMetadata,
			field('currency', CURRENCY_ISO_FIELD, 'currency'),
			field('stage', 'salesstage', 'picklist', {
				values: DYN_STAGE,
				keys: ['statecode', STAGE_FROM_METADATA],
				read: (r) => r[STAGE_FROM_METADATA] ?? (r.statecode === 1 ? 'won' : r.statecode === 2 ? 'lost' : r.salesstage),
				// Dataverse closes opportunities only through WinOpportunity/LoseOpportunity: the connector does.
				write: (out, v) => {
					if (v === 'won') out.statecode = 1;
					else if (v === 'lost') out.statecode = 2;
					else out.salesstage = v;
				},
			}),
			field('closeDate', 'estimatedclosedate', 'date'),
			field('accountId', 'customerid', 'id', { ...odataLookup('customerid', 'customerid_account', 'accounts'), ref: true, ...guid }),
			owner,
			ownerEmailFromMetadata,
		],
	},
	activity: {
		object: 'tasks | phonecalls | appointments | emails | annotations',
		fields: [
			field('type', '@odata.type', 'picklist', {
				values: DYN_ACTIVITY_TYPE,
				keys: ['activitytypecode'],
				read: (r) => {
					const t = r['@odata.type'];
					if (typeof t === 'string') return t.startsWith('#') ? t.slice(1) : t;
					if (typeof r.activitytypecode === 'string') return ACTIVITY_CODE[r.activitytypecode] ?? r.activitytypecode;
					return r.notetext !== undefined ? 'Microsoft.Dynamics.CRM.annotation' : undefined;
				},
			}),
			field('subject', 'subject', 'string', { max: 200 }),
			field('body', 'description', 'text', {
				max: 100000,
				keys: ['notetext'],
				read: (r) => r.description ?? r.notetext,
				write: (out, v, u) => {
					out[u.type === 'note' ? 'notetext' : 'description'] = v;
				},
			}),
			field('timestamp', 'scheduledend', 'datetime', {
				keys: ['scheduledstart', 'createdon'],
				read: (r) => r.scheduledstart ?? r.scheduledend ?? r.createdon,
				write: (out, v, u) => {
					if (u.type === 'meeting') out.scheduledstart = v;
					else if (u.type !== 'note') out.scheduledend = v;
				},
			}),
			// Minutes in Dataverse.
			field('duration', 'actualdurationminutes', 'integer', {
				read: (r) => (typeof r.actualdurationminutes === 'number' ? r.actualdurationminutes * 60 : r.actualdurationminutes),
				write: (out, v, u) => {
					if (typeof v === 'number' && u.type !== 'note') out.actualdurationminutes = Math.round(v / 60);
				},
				roundTrip: 'minute',
			}),
			field('contactIds', 'regardingobjectid', 'id', { ref: true, keys: ['_regardingobjectid_value', '_objectid_value'], read: regardingOf('contact'), write: writeRegarding('contact'), format: { list: true, single: true, id: 'guid' } }),
			field('dealIds', 'regardingobjectid', 'id', { ref: true, read: regardingOf('opportunity'), write: writeRegarding('opportunity'), format: { list: true, single: true, id: 'guid' } }),
			field('accountIds', 'regardingobjectid', 'id', { ref: true, read: regardingOf('account'), write: writeRegarding('account'), format: { list: true, single: true, id: 'guid' } }),
			owner,
		],
	},
};
