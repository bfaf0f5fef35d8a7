// Table metadata: EntityDefinitions(LogicalName='x') and its Attributes, derived from ENTITIES.

import { createHash } from 'node:crypto';
import type { Fields } from '../common/store';
import type { AttrType, EntityDef } from './entities';

/** Properties of the base AttributeMetadata type (others need a cast, e.g. Targets on LookupAttributeMetadata). */
export const BASE_PROPS = [
	'LogicalName', 'SchemaName', 'DisplayName', 'Description', 'AttributeType', 'AttributeTypeName', 'IsCustomAttribute', 'RequiredLevel',
	'IsValidForCreate', 'IsValidForUpdate', 'IsValidForRead', 'IsPrimaryId', 'IsPrimaryName', 'MetadataId', 'EntityLogicalName', 'IsLogical', 'AttributeOf',
];
/** Derived metadata types the sandbox knows, with their extra properties. */
export const CASTS: Record<string, { types: string[]; props: string[] }> = {
	LookupAttributeMetadata: { types: ['Lookup', 'Customer', 'Owner'], props: ['Targets'] },
	StringAttributeMetadata: { types: ['String'], props: ['MaxLength', 'Format'] },
	PicklistAttributeMetadata: { types: ['Picklist'], props: [] },
	DateTimeAttributeMetadata: { types: ['DateTime'], props: ['Format', 'DateTimeBehavior'] },
	MoneyAttributeMetadata: { types: ['Money'], props: ['Precision'] },
	BooleanAttributeMetadata: { types: ['Boolean'], props: [] },
};

const TYPE_NAME: Record<AttrType, string> = { s: 'String', i: 'Integer', m: 'Money', b: 'Boolean', d: 'DateTime', t: 'DateTime', o: 'Picklist' };
/** Attributes required on forms (ApplicationRequired); the Web API does not enforce them. */
const APP_REQUIRED: Record<string, string[]> = {
	contact: ['lastname'],
	lead: ['subject', 'lastname', 'companyname'],
	account: ['name'],
	opportunity: ['name'],
	task: ['subject'],
	phonecall: ['subject'],
	appointment: ['subject', 'scheduledstart', 'scheduledend'],
};

function guid(seed: string): string {
	const h = createHash('sha1').update(seed).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function label(text: string): Fields {
	const l = { Label: text, LanguageCode: 1033, IsManaged: true, MetadataId: guid(`label:${text}`), HasChanged: null };
	return { LocalizedLabels: [l], UserLocalizedLabel: l };
}

/** Display names of the standard attributes (others are derived from the logical name). */
const LABELS: Record<string, string> = {
	firstname: 'First Name', lastname: 'Last Name', middlename: 'Middle Name', fullname: 'Full Name', nickname: 'Nickname', salutation: 'Salutation',
	emailaddress1: 'Email', emailaddress2: 'Email Address 2', emailaddress3: 'Email Address 3', telephone1: 'Business Phone', telephone2: 'Home Phone',
	mobilephone: 'Mobile Phone', fax: 'Fax', jobtitle: 'Job Title', department: 'Department', birthdate: 'Birthday', description: 'Description',
	websiteurl: 'Website', donotemail: 'Do not allow Emails', donotbulkemail: 'Do not allow Bulk Emails', donotphone: 'Do not allow Phone Calls',
	donotpostalmail: 'Do not allow Mails', address1_line1: 'Address 1: Street 1', address1_line2: 'Address 1: Street 2', address1_city: 'Address 1: City',
	address1_stateorprovince: 'Address 1: State/Province', address1_postalcode: 'Address 1: ZIP/Postal Code', address1_country: 'Address 1: Country/Region',
	statecode: 'Status', statuscode: 'Status Reason', ownerid: 'Owner', parentcustomerid: 'Company Name', subject: 'Topic', companyname: 'Company Name',
	leadsourcecode: 'Lead Source', name: 'Name', accountnumber: 'Account Number', estimatedvalue: 'Est. Revenue', estimatedclosedate: 'Est. Close Date',
	customerid: 'Potential Customer', regardingobjectid: 'Regarding', scheduledstart: 'Start Time', scheduledend: 'Due', notetext: 'Description',
	objectid: 'Regarding', createdon: 'Created On', modifiedon: 'Modified On', createdby: 'Created By', modifiedby: 'Modified By', versionnumber: 'Version Number',
};

function pretty(logical: string): string {
	return LABELS[logical] ?? logical.replace(/^address1_/, 'Address 1: ').replace(/id$/, '').replace(/^./, (c) => c.toUpperCase());
}

export function entityDefinition(def: EntityDef): Fields {
	return {
		MetadataId: guid(`entity:${def.logical}`),
		LogicalName: def.logical,
		SchemaName: def.logical[0].toUpperCase() + def.logical.slice(1),
		EntitySetName: def.set,
		PrimaryIdAttribute: def.idAttr,
		PrimaryNameAttribute: def.nameAttr,
		ChangeTrackingEnabled: true,
		IsCustomEntity: false,
		DisplayName: label(pretty(def.logical)),
	};
}

export function attributes(def: EntityDef): Fields[] {
	const out: Fields[] = [];
	const add = (logical: string, type: string, extra: Fields = {}): void => {
		const required = logical === 'ownerid' || logical === 'statecode' || logical === def.idAttr ? 'SystemRequired' : (APP_REQUIRED[def.logical] ?? []).includes(logical) ? 'ApplicationRequired' : 'None';
		out.push({
			'@odata.type': `#Microsoft.Dynamics.CRM.${type === 'Lookup' || type === 'Customer' || type === 'Owner' ? 'Lookup' : type === 'Uniqueidentifier' ? 'Uniqueidentifier' : type}AttributeMetadata`,
			MetadataId: guid(`attr:${def.logical}.${logical}`),
			LogicalName: logical,
			SchemaName: logical,
			EntityLogicalName: def.logical,
			DisplayName: label(pretty(logical)),
			Description: label(''),
			AttributeType: type,
			AttributeTypeName: { Value: `${type}Type` },
			IsCustomAttribute: false,
			IsLogical: false,
			AttributeOf: null,
			RequiredLevel: { Value: required, CanBeChanged: required !== 'SystemRequired', ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' },
			IsValidForCreate: true,
			IsValidForUpdate: logical !== def.idAttr,
			IsValidForRead: true,
			IsPrimaryId: logical === def.idAttr,
			IsPrimaryName: logical === def.nameAttr,
			...extra,
		});
	};
	add(def.idAttr, 'Uniqueidentifier');
	for (const [logical, t] of Object.entries(def.attrs)) {
		if (logical === 'statecode') add(logical, 'State');
		else if (logical === 'statuscode') add(logical, 'Status');
		else if (logical === 'fullname') add(logical, 'String', { IsValidForCreate: false, IsValidForUpdate: false, MaxLength: 160 });
		else if (t === 's' && /description|notetext|documentbody/.test(logical)) add(logical, 'Memo');
		else add(logical, TYPE_NAME[t], t === 's' ? { MaxLength: 100 } : t === 'd' ? { Format: 'DateOnly', DateTimeBehavior: { Value: 'DateOnly' } } : t === 't' ? { Format: 'DateAndTime', DateTimeBehavior: { Value: 'UserLocal' } } : {});
	}
	for (const [logical, targets] of Object.entries(def.lookups)) {
		const type = logical === 'ownerid' ? 'Owner' : targets.length > 1 && (logical === 'customerid' || logical === 'parentcustomerid') ? 'Customer' : 'Lookup';
		add(logical, type, { Targets: targets, IsValidForCreate: logical !== 'masterid', IsValidForUpdate: logical !== 'masterid' });
	}
	for (const logical of ['createdon', 'modifiedon']) add(logical, 'DateTime', { IsValidForCreate: false, IsValidForUpdate: false, Format: 'DateAndTime' });
	for (const logical of ['createdby', 'modifiedby']) add(logical, 'Lookup', { Targets: ['systemuser'], IsValidForCreate: false, IsValidForUpdate: false });
	add('versionnumber', 'BigInt', { IsValidForCreate: false, IsValidForUpdate: false });
	return out;
}

/** A choice's option as the Web API returns it (OptionMetadata). */
export interface ChoiceOption {
	value: number;
	label: string;
}

/**
 * Local choices the emulator describes through PicklistAttributeMetadata/OptionSet, per
 * `<entity>.<attribute>`: the defaults of a new environment. Others have no options here.
 */
export const DEFAULT_CHOICES: Record<string, ChoiceOption[]> = {
	'opportunity.salesstage': [
		{ value: 0, label: 'Qualify' },
		{ value: 1, label: 'Develop' },
		{ value: 2, label: 'Propose' },
		{ value: 3, label: 'Close' },
	],
};

/** OptionSetMetadata of a local choice, `Options` in display order. */
export function optionSet(entity: string, attribute: string, options: ChoiceOption[]): Fields {
	return {
		MetadataId: guid(`optionset:${entity}.${attribute}`),
		Name: `${entity}_${attribute}`,
		IsGlobal: false,
		OptionSetType: 'Picklist',
		Options: options.map((o) => ({
			Value: o.value,
			Color: null,
			IsManaged: true,
			ExternalValue: null,
			ParentValues: [],
			Tag: null,
			IsHidden: false,
			MetadataId: null,
			HasChanged: null,
			Label: label(o.label),
			Description: label(''),
		})),
	};
}
