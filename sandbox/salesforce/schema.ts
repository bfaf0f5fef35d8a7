// Salesforce sObject metadata used by the emulator: key prefixes, fields and their types,
// required/read-only flags, references; plus 18-character ids and Salesforce datetime format.

export type FieldType = 'id' | 'string' | 'textarea' | 'email' | 'phone' | 'url' | 'picklist' | 'boolean' | 'double' | 'currency' | 'percent' | 'int' | 'date' | 'datetime' | 'reference';

export interface FieldDef {
	type: FieldType;
	/** Set by the system; writing it gives INVALID_FIELD_FOR_INSERT_UPDATE. */
	readOnly?: boolean;
	required?: boolean;
	/** Target types of a reference field. */
	refersTo?: string[];
	/** Relationship name for dotted SOQL paths (AccountId -> Account). */
	relationship?: string;
	/** Compound field this belongs to in change events (Name, MailingAddress, ...). */
	compound?: string;
	/** Picklist values listed by describe (not enforced on write). */
	picklist?: string[];
	/** The system fills it on create when missing. */
	defaulted?: boolean;
	/** Exists only in a multi-currency org (CurrencyIsoCode): unknown to a single-currency org's API. */
	multiCurrency?: boolean;
}

/** Standard picklist values of the default org (describe only). */
export const PICKLISTS = {
	leadSource: ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'],
	leadStatus: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'],
	userType: ['Standard', 'PowerPartner', 'PowerCustomerSuccess', 'CustomerSuccess', 'Guest', 'CspLitePortal', 'CsnOnly', 'SelfService', 'AutomatedProcess'],
	forecastCategoryName: ['Omitted', 'Pipeline', 'Best Case', 'Commit', 'Closed'],
	stageName: ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost'],
	taskStatus: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
	taskPriority: ['High', 'Normal', 'Low'],
	taskSubtype: ['Task', 'Email', 'Call', 'ListEmail', 'Cadence'],
	salutation: ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'],
};

export interface SObjectDef {
	name: string;
	keyPrefix: string;
	fields: Record<string, FieldDef>;
	/** Merge via SOAP is allowed. */
	mergeable: boolean;
	/**
	 * Setup object (User, OpportunityStage): read through query/describe; the sandbox does not
	 * emulate writing it through the API (tests add rows through /__admin), sends no change
	 * events for it and leaves it out of SOSL searches without RETURNING.
	 */
	setup?: boolean;
	/** First id number of the generator (setup objects that share a key prefix must not share ids). */
	idStart?: number;
	/** Exists only in a multi-currency org (CurrencyType): a single-currency org answers INVALID_TYPE. */
	multiCurrency?: boolean;
	/** Setup object the API may insert and update (CurrencyType: create() and update(), never delete()). */
	apiWritable?: boolean;
}

const SYSTEM: Record<string, FieldDef> = {
	Id: { type: 'id', readOnly: true },
	IsDeleted: { type: 'boolean', readOnly: true },
	CreatedDate: { type: 'datetime', readOnly: true },
	CreatedById: { type: 'reference', readOnly: true, refersTo: ['User'] },
	LastModifiedDate: { type: 'datetime', readOnly: true },
	LastModifiedById: { type: 'reference', readOnly: true, refersTo: ['User'] },
	SystemModstamp: { type: 'datetime', readOnly: true },
	OwnerId: { type: 'reference', refersTo: ['User'], defaulted: true },
};

function s(type: FieldType, extra: Partial<FieldDef> = {}): FieldDef {
	return { type, ...extra };
}

/**
 * The record's currency in a multi-currency org: a restricted picklist of the org's active
 * currencies (CurrencyType.IsoCode), filled with the creating user's currency when missing. A
 * single-currency org has no such field, so writing or selecting it is INVALID_FIELD there.
 */
const CURRENCY_ISO_CODE: FieldDef = { type: 'picklist', multiCurrency: true, defaulted: true };

function address(prefix: string, compound: string, postal = 'PostalCode'): Record<string, FieldDef> {
	return {
		[`${prefix}Street`]: s('textarea', { compound }),
		[`${prefix}City`]: s('string', { compound }),
		[`${prefix}State`]: s('string', { compound }),
		[`${prefix}${postal}`]: s('string', { compound }),
		[`${prefix}Country`]: s('string', { compound }),
	};
}

export const SOBJECTS: Record<string, SObjectDef> = {
	Contact: {
		name: 'Contact',
		keyPrefix: '003',
		mergeable: true,
		fields: {
			...SYSTEM,
			MasterRecordId: s('reference', { readOnly: true, refersTo: ['Contact'] }),
			AccountId: s('reference', { refersTo: ['Account'], relationship: 'Account' }),
			Salutation: s('picklist', { compound: 'Name', picklist: PICKLISTS.salutation }),
			FirstName: s('string', { compound: 'Name' }),
			LastName: s('string', { required: true, compound: 'Name' }),
			Name: s('string', { readOnly: true }),
			...address('Mailing', 'MailingAddress'),
			Phone: s('phone'),
			MobilePhone: s('phone'),
			HomePhone: s('phone'),
			Fax: s('phone'),
			Email: s('email'),
			Title: s('string'),
			Department: s('string'),
			LeadSource: s('picklist', { picklist: PICKLISTS.leadSource }),
			Birthdate: s('date'),
			Description: s('textarea'),
			HasOptedOutOfEmail: s('boolean'),
			HasOptedOutOfFax: s('boolean'),
			DoNotCall: s('boolean'),
			LastActivityDate: s('date', { readOnly: true }),
			CurrencyIsoCode: CURRENCY_ISO_CODE,
		},
	},
	Lead: {
		name: 'Lead',
		keyPrefix: '00Q',
		mergeable: true,
		fields: {
			...SYSTEM,
			MasterRecordId: s('reference', { readOnly: true, refersTo: ['Lead'] }),
			Salutation: s('picklist', { compound: 'Name' }),
			FirstName: s('string', { compound: 'Name' }),
			LastName: s('string', { required: true, compound: 'Name' }),
			Name: s('string', { readOnly: true }),
			Title: s('string'),
			Company: s('string', { required: true }),
			...address('', 'Address'),
			Phone: s('phone'),
			MobilePhone: s('phone'),
			Email: s('email'),
			Website: s('url'),
			Description: s('textarea'),
			LeadSource: s('picklist', { picklist: PICKLISTS.leadSource }),
			Status: s('picklist', { picklist: PICKLISTS.leadStatus, defaulted: true }),
			Industry: s('picklist'),
			Rating: s('picklist'),
			AnnualRevenue: s('currency'),
			NumberOfEmployees: s('int'),
			HasOptedOutOfEmail: s('boolean'),
			DoNotCall: s('boolean'),
			IsConverted: s('boolean', { readOnly: true }),
			ConvertedDate: s('date', { readOnly: true }),
			ConvertedAccountId: s('reference', { readOnly: true, refersTo: ['Account'] }),
			ConvertedContactId: s('reference', { readOnly: true, refersTo: ['Contact'] }),
			ConvertedOpportunityId: s('reference', { readOnly: true, refersTo: ['Opportunity'] }),
			CurrencyIsoCode: CURRENCY_ISO_CODE,
		},
	},
	Account: {
		name: 'Account',
		keyPrefix: '001',
		mergeable: true,
		fields: {
			...SYSTEM,
			MasterRecordId: s('reference', { readOnly: true, refersTo: ['Account'] }),
			Name: s('string', { required: true }),
			Type: s('picklist'),
			ParentId: s('reference', { refersTo: ['Account'], relationship: 'Parent' }),
			...address('Billing', 'BillingAddress'),
			...address('Shipping', 'ShippingAddress'),
			Phone: s('phone'),
			Fax: s('phone'),
			Website: s('url'),
			AccountNumber: s('string'),
			Industry: s('picklist'),
			AnnualRevenue: s('currency'),
			NumberOfEmployees: s('int'),
			Description: s('textarea'),
			CurrencyIsoCode: CURRENCY_ISO_CODE,
		},
	},
	Opportunity: {
		name: 'Opportunity',
		keyPrefix: '006',
		mergeable: false,
		fields: {
			...SYSTEM,
			AccountId: s('reference', { refersTo: ['Account'], relationship: 'Account' }),
			ContactId: s('reference', { refersTo: ['Contact'], relationship: 'Contact' }),
			Name: s('string', { required: true }),
			Description: s('textarea'),
			StageName: s('picklist', { required: true, picklist: PICKLISTS.stageName }),
			Amount: s('currency'),
			Probability: s('percent'),
			CloseDate: s('date', { required: true }),
			Type: s('picklist'),
			NextStep: s('string'),
			LeadSource: s('picklist'),
			ForecastCategoryName: s('picklist'),
			CurrencyIsoCode: CURRENCY_ISO_CODE,
			IsClosed: s('boolean', { readOnly: true }),
			IsWon: s('boolean', { readOnly: true }),
		},
	},
	Task: {
		name: 'Task',
		keyPrefix: '00T',
		mergeable: false,
		fields: {
			...SYSTEM,
			WhoId: s('reference', { refersTo: ['Contact', 'Lead'], relationship: 'Who' }),
			WhatId: s('reference', { refersTo: ['Account', 'Opportunity'], relationship: 'What' }),
			Subject: s('string'),
			ActivityDate: s('date'),
			Status: s('picklist', { picklist: PICKLISTS.taskStatus, defaulted: true }),
			Priority: s('picklist', { picklist: PICKLISTS.taskPriority, defaulted: true }),
			Description: s('textarea'),
			TaskSubtype: s('picklist', { picklist: PICKLISTS.taskSubtype }),
			Type: s('picklist'),
			CallDurationInSeconds: s('int'),
			CallType: s('picklist'),
			CallDisposition: s('string'),
			IsClosed: s('boolean', { readOnly: true }),
			AccountId: s('reference', { readOnly: true, refersTo: ['Account'] }),
		},
	},
	Event: {
		name: 'Event',
		keyPrefix: '00U',
		mergeable: false,
		fields: {
			...SYSTEM,
			WhoId: s('reference', { refersTo: ['Contact', 'Lead'], relationship: 'Who' }),
			WhatId: s('reference', { refersTo: ['Account', 'Opportunity'], relationship: 'What' }),
			Subject: s('string'),
			Location: s('string'),
			IsAllDayEvent: s('boolean'),
			ActivityDateTime: s('datetime'),
			ActivityDate: s('date'),
			StartDateTime: s('datetime'),
			EndDateTime: s('datetime'),
			DurationInMinutes: s('int'),
			Description: s('textarea'),
			EventSubtype: s('picklist'),
			Type: s('picklist'),
			AccountId: s('reference', { readOnly: true, refersTo: ['Account'] }),
		},
	},
};

/** System fields of setup objects: no owner, no recycle bin. */
const SETUP_SYSTEM: Record<string, FieldDef> = {
	Id: SYSTEM.Id,
	CreatedDate: SYSTEM.CreatedDate,
	CreatedById: SYSTEM.CreatedById,
	LastModifiedDate: SYSTEM.LastModifiedDate,
	LastModifiedById: SYSTEM.LastModifiedById,
	SystemModstamp: SYSTEM.SystemModstamp,
};

SOBJECTS.User = {
	name: 'User',
	keyPrefix: '005',
	mergeable: false,
	setup: true,
	fields: {
		...SETUP_SYSTEM,
		Username: s('string', { required: true }),
		Email: s('email', { required: true }),
		FirstName: s('string', { compound: 'Name' }),
		LastName: s('string', { required: true, compound: 'Name' }),
		Name: s('string', { readOnly: true }),
		Alias: s('string', { defaulted: true }),
		IsActive: s('boolean'),
		UserType: s('picklist', { defaulted: true, picklist: PICKLISTS.userType }),
		Title: s('string'),
		Department: s('string'),
		TimeZoneSidKey: s('picklist', { defaulted: true }),
		LocaleSidKey: s('picklist', { defaulted: true }),
		LanguageLocaleKey: s('picklist', { defaulted: true }),
		EmailEncodingKey: s('picklist', { defaulted: true }),
	},
};

// Object reference: OpportunityStage (query, retrieve, describe only; ApiName since API 36.0).
SOBJECTS.OpportunityStage = {
	name: 'OpportunityStage',
	keyPrefix: '01J',
	mergeable: false,
	setup: true,
	fields: {
		...SETUP_SYSTEM,
		MasterLabel: s('string', { required: true }),
		ApiName: s('string', { defaulted: true }),
		Description: s('string'),
		IsActive: s('boolean'),
		IsClosed: s('boolean'),
		IsWon: s('boolean'),
		DefaultProbability: s('percent'),
		ForecastCategory: s('picklist'),
		ForecastCategoryName: s('picklist', { picklist: PICKLISTS.forecastCategoryName }),
		SortOrder: s('int'),
	},
};

// Object reference: LeadStatus (query, retrieve, describe only). convertLead takes a status whose
// IsConverted is true (convertedStatus); clients find them with SOQL on this object. It shares the
// key prefix 01J with OpportunityStage (both are picklist values), so its ids start further on.
SOBJECTS.LeadStatus = {
	name: 'LeadStatus',
	keyPrefix: '01J',
	idStart: 1000,
	mergeable: false,
	setup: true,
	fields: {
		...SETUP_SYSTEM,
		MasterLabel: s('string', { required: true }),
		ApiName: s('string', { defaulted: true }),
		IsConverted: s('boolean'),
		IsDefault: s('boolean'),
		SortOrder: s('int'),
	},
};

// Object reference: CurrencyType, "the currencies used by an organization for which the
// multicurrency feature is enabled" (create, update, query, retrieve, describe; never delete; not
// available in single-currency organizations). IsActive "defaults to false if no value is
// provided"; IsCorporate marks the corporate currency every conversion rate is against. The key
// prefix is the sandbox's [U].
SOBJECTS.CurrencyType = {
	name: 'CurrencyType',
	keyPrefix: '01L',
	mergeable: false,
	setup: true,
	multiCurrency: true,
	apiWritable: true,
	fields: {
		...SETUP_SYSTEM,
		IsoCode: s('picklist', { required: true }),
		ConversionRate: s('double', { required: true }),
		DecimalPlaces: s('int', { required: true }),
		IsActive: s('boolean'),
		IsCorporate: s('boolean'),
	},
};

/** The lead statuses of a new org (MasterLabel, IsConverted, IsDefault), the Lead Status picklist in order. */
export const DEFAULT_LEAD_STATUSES: Array<[string, boolean, boolean]> = [
	['Open - Not Contacted', false, true],
	['Working - Contacted', false, false],
	['Closed - Converted', true, false],
	['Closed - Not Converted', false, false],
];

/** The stages of a new org (MasterLabel, DefaultProbability, IsClosed, IsWon, ForecastCategoryName). */
export const DEFAULT_STAGES: Array<[string, number, boolean, boolean, string]> = [
	['Prospecting', 10, false, false, 'Pipeline'],
	['Qualification', 10, false, false, 'Pipeline'],
	['Needs Analysis', 20, false, false, 'Pipeline'],
	['Value Proposition', 50, false, false, 'Pipeline'],
	['Id. Decision Makers', 60, false, false, 'Pipeline'],
	['Perception Analysis', 70, false, false, 'Pipeline'],
	['Proposal/Price Quote', 75, false, false, 'Pipeline'],
	['Negotiation/Review', 90, false, false, 'Pipeline'],
	['Closed Won', 100, true, true, 'Closed'],
	['Closed Lost', 0, true, false, 'Omitted'],
];

/** Case-insensitive sObject lookup (the API accepts any case). */
export function sobject(name: string): SObjectDef | undefined {
	const direct = SOBJECTS[name];
	if (direct) return direct;
	const lower = name.toLowerCase();
	return Object.values(SOBJECTS).find((d) => d.name.toLowerCase() === lower);
}

/** Field definition by case-insensitive name; custom fields (`__c`) are free-form strings. */
export function field(def: SObjectDef, name: string): { name: string; def: FieldDef } | undefined {
	if (def.fields[name]) return { name, def: def.fields[name] };
	const lower = name.toLowerCase();
	for (const [k, v] of Object.entries(def.fields)) if (k.toLowerCase() === lower) return { name: k, def: v };
	if (/^[A-Za-z][A-Za-z0-9_]*__c$/.test(name)) return { name, def: { type: 'string' } };
	return undefined;
}

const CHECKSUM_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Adds Salesforce's 3-character case-safety suffix to a 15-character id. */
export function to18(id15: string): string {
	let suffix = '';
	for (let chunk = 0; chunk < 3; chunk++) {
		let flags = 0;
		for (let i = 0; i < 5; i++) {
			const c = id15.charCodeAt(chunk * 5 + i);
			if (c >= 65 && c <= 90) flags |= 1 << i;
		}
		suffix += CHECKSUM_CHARS[flags];
	}
	return id15 + suffix;
}

/** Normalises a 15- or 18-character id to 18 characters (undefined if malformed). */
export function normaliseId(id: string): string | undefined {
	if (/^[a-zA-Z0-9]{18}$/.test(id)) return to18(id.slice(0, 15)) === id ? id : to18(id.slice(0, 15));
	if (/^[a-zA-Z0-9]{15}$/.test(id)) return to18(id);
	return undefined;
}

/** Id generator for one key prefix: prefix + pod "Dn" + "0" + 9 base62 digits + suffix. */
export function idGenerator(prefix: string, start = 1): () => string {
	let n = start;
	return () => {
		let x = n++;
		let digits = '';
		for (let i = 0; i < 9; i++) {
			digits = BASE62[x % 62] + digits;
			x = Math.floor(x / 62);
		}
		return to18(`${prefix}Dn0${digits}`);
	};
}

/** Salesforce REST datetime: 2024-01-15T10:20:30.000+0000. */
export function sfDateTime(ms: number): string {
	return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Parses a Salesforce/ISO datetime to ms (NaN when invalid). */
export function parseDateTime(s: string): number {
	const fixed = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
	return Date.parse(fixed);
}
