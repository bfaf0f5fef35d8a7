// Zoho CRM modules emulated, their mandatory fields, lookup fields and value checks.

import type { Fields } from '../common/store';

export interface ModuleDef {
	/** Mandatory on create (standard layouts). */
	required: string[];
	/** Email fields (searched by ?email=, indexed). */
	email: string[];
	/** Phone fields (searched by ?phone=, indexed by digits). */
	phone: string[];
	/** Lookup field -> target module ('*' = any module named by $se_module / Parent_Id.module). */
	lookups: Record<string, string>;
	/** Unique fields checked by upsert when duplicate_check_fields is absent. */
	dupCheck: string[];
	/** Field used as the record's display name. */
	display: string;
	/** Whether /actions/merge supports the module. */
	mergeable: boolean;
}

export const MODULES: Record<string, ModuleDef> = {
	Leads: { required: ['Last_Name', 'Company'], email: ['Email', 'Secondary_Email'], phone: ['Phone', 'Mobile'], lookups: {}, dupCheck: ['Email'], display: 'Full_Name', mergeable: true },
	Contacts: {
		required: ['Last_Name'],
		email: ['Email', 'Secondary_Email'],
		phone: ['Phone', 'Mobile', 'Home_Phone', 'Other_Phone', 'Asst_Phone'],
		lookups: { Account_Name: 'Accounts', Reporting_To: 'Contacts' },
		dupCheck: ['Email'],
		display: 'Full_Name',
		mergeable: true,
	},
	Accounts: { required: ['Account_Name'], email: [], phone: ['Phone'], lookups: { Parent_Account: 'Accounts' }, dupCheck: ['Account_Name'], display: 'Account_Name', mergeable: true },
	Deals: { required: ['Deal_Name', 'Stage'], email: [], phone: [], lookups: { Account_Name: 'Accounts', Contact_Name: 'Contacts' }, dupCheck: [], display: 'Deal_Name', mergeable: true },
	Tasks: { required: ['Subject'], email: [], phone: [], lookups: { Who_Id: 'Contacts', What_Id: '*' }, dupCheck: [], display: 'Subject', mergeable: false },
	Calls: { required: ['Subject', 'Call_Type', 'Call_Start_Time'], email: [], phone: [], lookups: { Who_Id: 'Contacts', What_Id: '*' }, dupCheck: [], display: 'Subject', mergeable: false },
	Events: { required: ['Event_Title', 'Start_DateTime', 'End_DateTime'], email: [], phone: [], lookups: { Who_Id: 'Contacts', What_Id: '*' }, dupCheck: [], display: 'Event_Title', mergeable: false },
	Notes: { required: ['Note_Content', 'Parent_Id'], email: [], phone: [], lookups: { Parent_Id: '*' }, dupCheck: [], display: 'Note_Title', mergeable: false },
};

/** System fields a client cannot write. */
export const READ_ONLY = new Set(['Created_Time', 'Modified_Time', 'Created_By', 'Modified_By', 'Full_Name']);

/** The one user of the emulated org. */
export const ZOHO_USER = { name: 'Sandbox User', id: '4150868000000225013', email: 'sandbox.user@example.com' };

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$/;
const NUMBER_FIELDS = new Set(['Amount', 'Probability', 'Expected_Revenue', 'Annual_Revenue', 'Employees', 'No_of_Employees', 'Call_Duration_in_seconds']);
const BOOLEAN_FIELDS = new Set(['Email_Opt_Out', 'Send_Notification_Email', 'All_day', 'Reminder']);

/** A per-record error in Zoho's shape. */
export interface RecordError {
	code: string;
	details: Fields;
	message: string;
	status: 'error';
}

export function recordError(code: string, message: string, details: Fields = {}): RecordError {
	return { code, details, message, status: 'error' };
}

/** Checks a field value's data type; returns the expected type name when it is wrong. */
export function typeProblem(module: string, field: string, value: unknown): string | undefined {
	if (value === null) return undefined;
	const def = MODULES[module];
	if (def.email.includes(field)) return typeof value === 'string' && (value === '' || EMAIL_RE.test(value)) ? undefined : 'email';
	if (NUMBER_FIELDS.has(field)) return typeof value === 'number' && Number.isFinite(value) ? undefined : 'double';
	if (BOOLEAN_FIELDS.has(field)) return typeof value === 'boolean' ? undefined : 'boolean';
	if (/(_DateTime|_Start_Time)$/.test(field)) return typeof value === 'string' && DATETIME_RE.test(value) ? undefined : 'datetime';
	if (/_Date$/.test(field) || field === 'Date_of_Birth') return typeof value === 'string' && DATE_RE.test(value) ? undefined : 'date';
	if (field in def.lookups) {
		const ok = typeof value === 'string' || (typeof value === 'object' && value !== null && typeof (value as Fields).id === 'string');
		return ok ? undefined : 'lookup';
	}
	// A phone field names its own type (error-invalid-data-phone-recorded.json: expected_data_type "phone"); Zoho caps phones at 30 characters.
	if (PHONE_FIELD_RE.test(field)) return (typeof value === 'string' && value.length <= 30) || typeof value === 'number' ? undefined : 'phone';
	if (typeof value === 'object' && value !== null && !Array.isArray(value)) return 'text';
	return undefined;
}

const PHONE_FIELD_RE = /(^|_)(Phone|Mobile|Fax)$/;

/** Zoho datetime with offset, second precision ("2024-01-15T15:26:49+00:00"). */
export function zohoTime(ms: number): string {
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export function digits(v: unknown): string {
	return String(v ?? '').replace(/\D/g, '');
}

/** Phone match key: the last 10 digits, so '+1 415 555 0199' and '4155550199' match. */
export function phoneKey(v: unknown): string {
	return digits(v).slice(-10);
}
