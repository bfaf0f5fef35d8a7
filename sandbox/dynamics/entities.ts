// Dataverse tables emulated: entity sets, attribute types, lookups, alternate keys.

/** s string, i whole number, m money/decimal, b boolean, d date-only, t datetime, o option set (int). */
export type AttrType = 's' | 'i' | 'm' | 'b' | 'd' | 't' | 'o';

export interface EntityDef {
	set: string;
	logical: string;
	idAttr: string;
	/** Primary name attribute (shown as lookup Name). */
	nameAttr: string;
	attrs: Record<string, AttrType>;
	/** Lookup attribute -> allowed target logical names (navigation properties are `<attr>_<target>[_<suffix>]`). */
	lookups: Record<string, string[]>;
	/** Alternate keys defined in the emulated environment (each a list of attributes). */
	altKeys: string[][];
	/** Whether the Merge action supports it. */
	mergeable: boolean;
}

const ADDRESS: Record<string, AttrType> = {
	address1_line1: 's',
	address1_line2: 's',
	address1_city: 's',
	address1_stateorprovince: 's',
	address1_postalcode: 's',
	address1_country: 's',
};
const STATE: Record<string, AttrType> = { statecode: 'o', statuscode: 'o' };
const ACTIVITY: Record<string, AttrType> = { subject: 's', description: 's', scheduledstart: 't', scheduledend: 't', actualstart: 't', actualend: 't', actualdurationminutes: 'i', scheduleddurationminutes: 'i', prioritycode: 'o', ...STATE };
const REGARDING = ['contact', 'account', 'lead', 'opportunity'];

export const ENTITIES: EntityDef[] = [
	{
		set: 'contacts',
		logical: 'contact',
		idAttr: 'contactid',
		nameAttr: 'fullname',
		attrs: {
			firstname: 's', lastname: 's', middlename: 's', fullname: 's', nickname: 's', salutation: 's', emailaddress1: 's', emailaddress2: 's', emailaddress3: 's',
			telephone1: 's', telephone2: 's', mobilephone: 's', fax: 's', jobtitle: 's', department: 's', birthdate: 'd', description: 's', websiteurl: 's',
			donotemail: 'b', donotbulkemail: 'b', donotphone: 'b', donotpostalmail: 'b', preferredcontactmethodcode: 'o', gendercode: 'o', familystatuscode: 'o', ...ADDRESS, ...STATE,
		},
		lookups: { parentcustomerid: ['account', 'contact'], ownerid: ['systemuser'], masterid: ['contact'], originatingleadid: ['lead'] },
		altKeys: [['emailaddress1']],
		mergeable: true,
	},
	{
		set: 'leads',
		logical: 'lead',
		idAttr: 'leadid',
		nameAttr: 'fullname',
		attrs: {
			subject: 's', firstname: 's', lastname: 's', fullname: 's', companyname: 's', emailaddress1: 's', telephone1: 's', mobilephone: 's', jobtitle: 's', leadsourcecode: 'o',
			// The lead table has the contact's contact preferences (Dataverse lead entity reference).
			description: 's', websiteurl: 's', donotemail: 'b', donotbulkemail: 'b', donotphone: 'b', donotpostalmail: 'b', estimatedamount: 'm', industrycode: 'o', revenue: 'm', numberofemployees: 'i', ...ADDRESS, ...STATE,
		},
		lookups: { parentaccountid: ['account'], parentcontactid: ['contact'], ownerid: ['systemuser'], masterid: ['lead'], qualifyingopportunityid: ['opportunity'], transactioncurrencyid: ['transactioncurrency'] },
		altKeys: [['emailaddress1']],
		mergeable: true,
	},
	{
		set: 'accounts',
		logical: 'account',
		idAttr: 'accountid',
		nameAttr: 'name',
		attrs: {
			name: 's', accountnumber: 's', websiteurl: 's', telephone1: 's', emailaddress1: 's', industrycode: 'o', revenue: 'm', numberofemployees: 'i', description: 's', donotemail: 'b',
			donotphone: 'b', ownershipcode: 'o', customersizecode: 'o',
			...ADDRESS, ...STATE,
		},
		lookups: { primarycontactid: ['contact'], parentaccountid: ['account'], ownerid: ['systemuser'], masterid: ['account'], originatingleadid: ['lead'], transactioncurrencyid: ['transactioncurrency'] },
		altKeys: [['accountnumber']],
		mergeable: true,
	},
	{
		set: 'opportunities',
		logical: 'opportunity',
		idAttr: 'opportunityid',
		nameAttr: 'name',
		attrs: {
			name: 's', estimatedvalue: 'm', estimatedclosedate: 'd', actualvalue: 'm', actualclosedate: 'd', closeprobability: 'i', stepname: 's', salesstage: 'o', salesstagecode: 'o',
			description: 's', budgetamount: 'm', opportunityratingcode: 'o', ...STATE,
		},
		lookups: { customerid: ['account', 'contact'], parentaccountid: ['account'], parentcontactid: ['contact'], ownerid: ['systemuser'], originatingleadid: ['lead'], transactioncurrencyid: ['transactioncurrency'] },
		altKeys: [],
		mergeable: false,
	},
	{ set: 'tasks', logical: 'task', idAttr: 'activityid', nameAttr: 'subject', attrs: { ...ACTIVITY, percentcomplete: 'i', category: 's' }, lookups: { regardingobjectid: REGARDING, ownerid: ['systemuser'] }, altKeys: [], mergeable: false },
	{ set: 'phonecalls', logical: 'phonecall', idAttr: 'activityid', nameAttr: 'subject', attrs: { ...ACTIVITY, phonenumber: 's', directioncode: 'b' }, lookups: { regardingobjectid: REGARDING, ownerid: ['systemuser'] }, altKeys: [], mergeable: false },
	{ set: 'appointments', logical: 'appointment', idAttr: 'activityid', nameAttr: 'subject', attrs: { ...ACTIVITY, location: 's', isalldayevent: 'b' }, lookups: { regardingobjectid: REGARDING, ownerid: ['systemuser'] }, altKeys: [], mergeable: false },
	{
		set: 'annotations',
		logical: 'annotation',
		idAttr: 'annotationid',
		nameAttr: 'subject',
		attrs: { subject: 's', notetext: 's', objecttypecode: 's', isdocument: 'b', filename: 's', mimetype: 's', documentbody: 's' },
		lookups: { objectid: REGARDING, ownerid: ['systemuser'] },
		altKeys: [],
		mergeable: false,
	},
];

/**
 * systemuser: read-only through the API here (GET systemusers, systemusers(id)); users come from
 * the emulator (the application and UI users, one app user per client id) and the admin API.
 * Kept out of ENTITIES, so webhooks, seeding and dumps leave users alone.
 */
export const USER_DEF: EntityDef = {
	set: 'systemusers',
	logical: 'systemuser',
	idAttr: 'systemuserid',
	nameAttr: 'fullname',
	attrs: {
		firstname: 's', lastname: 's', fullname: 's', internalemailaddress: 's', domainname: 's', title: 's', isdisabled: 'b', accessmode: 'o',
		applicationid: 's', azureactivedirectoryobjectid: 's', islicensed: 'b',
	},
	lookups: { businessunitid: ['businessunit'] },
	altKeys: [],
	mergeable: false,
};

/**
 * transactioncurrency: the currencies records' money columns can be in (Dataverse's Currency table:
 * isocurrencycode, currencyname, currencysymbol, exchangerate to the base currency,
 * currencyprecision; statecode 0 Active / 1 Inactive, statuscode 1 / 2). Read-only through the API
 * here; added and deactivated through the admin API, as an administrator does in Settings.
 */
export const CURRENCY_DEF: EntityDef = {
	set: 'transactioncurrencies',
	logical: 'transactioncurrency',
	idAttr: 'transactioncurrencyid',
	nameAttr: 'currencyname',
	attrs: { currencyname: 's', isocurrencycode: 's', currencysymbol: 's', exchangerate: 'm', currencyprecision: 'i', statecode: 'o', statuscode: 'o' },
	lookups: { organizationid: ['organization'] },
	altKeys: [],
	mergeable: false,
};

/** organization: the environment's one row; basecurrencyid is the base currency (set when the environment is made). Read-only. */
export const ORGANIZATION_DEF: EntityDef = {
	set: 'organizations',
	logical: 'organization',
	idAttr: 'organizationid',
	nameAttr: 'name',
	attrs: { name: 's' },
	lookups: { basecurrencyid: ['transactioncurrency'] },
	altKeys: [],
	mergeable: false,
};

/** Tables that are read through the API but written only by the emulator and its admin API (not seeded, dumped or sent to webhooks). */
export const DIRECTORY: EntityDef[] = [USER_DEF, CURRENCY_DEF, ORGANIZATION_DEF];
export const DIRECTORY_BY_SET = new Map(DIRECTORY.map((e) => [e.set, e]));
export const DIRECTORY_BY_LOGICAL = new Map(DIRECTORY.map((e) => [e.logical, e]));

export const BY_SET = new Map(ENTITIES.map((e) => [e.set, e]));
export const BY_LOGICAL = new Map(ENTITIES.map((e) => [e.logical, e]));

/** System attributes every row has (read-only). */
export const SYSTEM_ATTRS = ['createdon', 'modifiedon', 'versionnumber', '_ownerid_value', '_createdby_value', '_modifiedby_value'];

/** Custom attributes (publisher prefix) are accepted without declaration. */
export const CUSTOM_ATTR = /^(new|cr[0-9a-z]{3})_[a-z0-9_]+$/;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks a value against the attribute type; returns the Edm type name when it does not fit. */
export function typeProblem(t: AttrType, v: unknown): string | undefined {
	if (v === null) return undefined;
	switch (t) {
		case 's':
			return typeof v === 'string' ? undefined : 'Edm.String';
		case 'i':
		case 'o':
			return typeof v === 'number' && Number.isInteger(v) ? undefined : 'Edm.Int32';
		case 'm':
			return typeof v === 'number' && Number.isFinite(v) ? undefined : 'Edm.Decimal';
		case 'b':
			return typeof v === 'boolean' ? undefined : 'Edm.Boolean';
		case 'd':
			return typeof v === 'string' && DATE_RE.test(v) ? undefined : 'Edm.Date';
		case 't':
			return typeof v === 'string' && DATETIME_RE.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'Edm.DateTimeOffset';
	}
	return undefined;
}

/** Dataverse datetime: UTC, second precision ("2024-01-01T10:00:00Z"). */
export function dvTime(ms: number): string {
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Column lengths the emulator enforces (the defaults of the real tables); a longer value is a
 * 400 0x80044331 (batch-response-error-stop.http: a task subject over 200 characters).
 */
export const MAX_LENGTH: Record<string, Record<string, number>> = {
	contact: { firstname: 50, lastname: 50, emailaddress1: 100, telephone1: 50, jobtitle: 100 },
	lead: { subject: 300, firstname: 50, lastname: 50, companyname: 100, emailaddress1: 100, telephone1: 50 },
	account: { name: 160, accountnumber: 20, emailaddress1: 100, telephone1: 50 },
	opportunity: { name: 300 },
	task: { subject: 200 },
	phonecall: { subject: 200 },
	appointment: { subject: 200 },
};
