// Pipedrive per-entity API table (SDK 33 request functions) and the field shaping the v1/v2 APIs
// need. The connector (pipedrive.ts) runs these through the transport with its own axios.
//
// Entities: contact = person, account = organization, opportunity = deal, activity = activity
// (all API v2, integer ids); lead = lead (API v1 CRUD with UUID ids, v2 search).

import type { AxiosInstance } from 'axios';
import { v1, v2 } from 'pipedrive';
import { personName, storedNameHalves } from './map';
import type { EntityType } from '../../model';
import type { CrmFields, FieldType } from '../../connectors/types';

/** What an SDK "Fp" function resolves to: a request function that takes our axios instance. */
export type SdkRequest = Promise<(axios?: AxiosInstance, basePath?: string) => Promise<unknown>>;

export interface SdkConfigs {
	v1: v1.Configuration;
	v2: v2.Configuration;
}

/** Page of a list: v2 pages by cursor, v1 (leads) by start offset. */
export interface ListPage {
	sinceRfc3339: string;
	cursor?: string;
	start?: number;
	limit: number;
}

export interface SearchPage {
	term: string;
	field: string;
	cursor?: string;
	start?: number;
	limit: number;
}

export interface EntityApi {
	/** Name used in labels and messages, e.g. 'persons'. */
	name: string;
	/** Integer ids (v2 objects) or UUID strings (leads). */
	numericIds: boolean;
	/** v1 lists page by start/limit; v2 by cursor. */
	paging: 'cursor' | 'start';
	/** Item type of /v1/recents, for deletions; none for leads (recents does not carry them). */
	recentsItem?: 'person' | 'organization' | 'deal' | 'activity';
	/** Standard fields searchable exactly, mapped to the search endpoint's `fields` value. */
	searchFields: Record<string, string>;
	get(c: SdkConfigs, id: string): SdkRequest;
	create(c: SdkConfigs, body: CrmFields): SdkRequest;
	update(c: SdkConfigs, id: string, body: CrmFields): SdkRequest;
	remove(c: SdkConfigs, id: string): SdkRequest;
	list(c: SdkConfigs, page: ListPage): SdkRequest;
	search?(c: SdkConfigs, page: SearchPage): SdkRequest;
	/** PUT /v1/<type>/{loserId}/merge {merge_with_id: masterId}: merge_with_id survives. */
	merge?(c: SdkConfigs, loserId: string, masterId: string): SdkRequest;
	fields(c: SdkConfigs, page: { cursor?: string; start?: number; limit: number }): SdkRequest;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- SDK request models are typed per endpoint; bodies are CRM fields */
const asBody = (fields: CrmFields): any => fields;

const ENTITY_APIS: Record<EntityType, EntityApi> = {
	contact: {
		name: 'persons',
		numericIds: true,
		paging: 'cursor',
		recentsItem: 'person',
		searchFields: { email: 'email', phone: 'phone', name: 'name', notes: 'notes' },
		get: (c, id) => v2.PersonsApiFp(c.v2).getPerson(Number(id)),
		create: (c, body) => v2.PersonsApiFp(c.v2).addPerson(asBody(body)),
		update: (c, id, body) => v2.PersonsApiFp(c.v2).updatePerson(Number(id), asBody(body)),
		remove: (c, id) => v2.PersonsApiFp(c.v2).deletePerson(Number(id)),
		list: (c, p) =>
			v2.PersonsApiFp(c.v2).getPersons(undefined, undefined, undefined, undefined, undefined, p.sinceRfc3339, undefined, 'update_time', 'asc', undefined, undefined, undefined, undefined, p.limit, p.cursor),
		search: (c, p) => v2.PersonsApiFp(c.v2).searchPersons(p.term, p.field as any, true, undefined, undefined, p.limit, p.cursor),
		merge: (c, loserId, masterId) => v1.PersonsApiFp(c.v1).mergePersons(Number(loserId), { merge_with_id: Number(masterId) }),
		fields: (c, p) => v2.PersonFieldsApiFp(c.v2).getPersonFields(undefined, p.limit, p.cursor),
	},
	account: {
		name: 'organizations',
		numericIds: true,
		paging: 'cursor',
		recentsItem: 'organization',
		searchFields: { name: 'name', address: 'address', notes: 'notes' },
		get: (c, id) => v2.OrganizationsApiFp(c.v2).getOrganization(Number(id)),
		create: (c, body) => v2.OrganizationsApiFp(c.v2).addOrganization(asBody(body)),
		update: (c, id, body) => v2.OrganizationsApiFp(c.v2).updateOrganization(Number(id), asBody(body)),
		remove: (c, id) => v2.OrganizationsApiFp(c.v2).deleteOrganization(Number(id)),
		list: (c, p) =>
			v2.OrganizationsApiFp(c.v2).getOrganizations(undefined, undefined, undefined, p.sinceRfc3339, undefined, 'update_time', 'asc', undefined, undefined, undefined, undefined, p.limit, p.cursor),
		search: (c, p) => v2.OrganizationsApiFp(c.v2).searchOrganization(p.term, p.field as any, true, p.limit, p.cursor),
		merge: (c, loserId, masterId) => v1.OrganizationsApiFp(c.v1).mergeOrganizations(Number(loserId), { merge_with_id: Number(masterId) }),
		fields: (c, p) => v2.OrganizationFieldsApiFp(c.v2).getOrganizationFields(undefined, p.limit, p.cursor),
	},
	opportunity: {
		name: 'deals',
		numericIds: true,
		paging: 'cursor',
		recentsItem: 'deal',
		searchFields: { title: 'title', notes: 'notes' },
		get: (c, id) => v2.DealsApiFp(c.v2).getDeal(Number(id)),
		create: (c, body) => v2.DealsApiFp(c.v2).addDeal(asBody(body)),
		update: (c, id, body) => v2.DealsApiFp(c.v2).updateDeal(Number(id), asBody(body)),
		remove: (c, id) => v2.DealsApiFp(c.v2).deleteDeal(Number(id)),
		list: (c, p) =>
			v2.DealsApiFp(c.v2).getDeals(
				undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined,
				p.sinceRfc3339, undefined, 'update_time', 'asc', undefined, undefined, undefined, undefined, p.limit, p.cursor,
			),
		search: (c, p) => v2.DealsApiFp(c.v2).searchDeals(p.term, p.field as any, true, undefined, undefined, undefined, undefined, p.limit, p.cursor),
		merge: (c, loserId, masterId) => v1.DealsApiFp(c.v1).mergeDeals(Number(loserId), { merge_with_id: Number(masterId) }),
		fields: (c, p) => v2.DealFieldsApiFp(c.v2).getDealFields(undefined, p.limit, p.cursor),
	},
	activity: {
		name: 'activities',
		numericIds: true,
		paging: 'cursor',
		recentsItem: 'activity',
		// Pipedrive has no activity search endpoint.
		searchFields: {},
		get: (c, id) => v2.ActivitiesApiFp(c.v2).getActivity(Number(id)),
		create: (c, body) => v2.ActivitiesApiFp(c.v2).addActivity(asBody(body)),
		update: (c, id, body) => v2.ActivitiesApiFp(c.v2).updateActivity(Number(id), asBody(body)),
		remove: (c, id) => v2.ActivitiesApiFp(c.v2).deleteActivity(Number(id)),
		list: (c, p) =>
			v2.ActivitiesApiFp(c.v2).getActivities(
				undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined,
				p.sinceRfc3339, undefined, 'update_time', 'asc', undefined, p.limit, p.cursor,
			),
		fields: (c, p) => v2.ActivityFieldsApiFp(c.v2).getActivityFields(undefined, p.limit, p.cursor),
	},
	lead: {
		name: 'leads',
		numericIds: false,
		paging: 'start',
		searchFields: { title: 'title', notes: 'notes' },
		get: (c, id) => v1.LeadsApiFp(c.v1).getLead(id),
		create: (c, body) => v1.LeadsApiFp(c.v1).addLead(asBody(body)),
		update: (c, id, body) => v1.LeadsApiFp(c.v1).updateLead(id, asBody(body)),
		remove: (c, id) => v1.LeadsApiFp(c.v1).deleteLead(id),
		list: (c, p) => v1.LeadsApiFp(c.v1).getLeads(p.limit, p.start, undefined, undefined, undefined, undefined, p.sinceRfc3339, 'update_time'),
		search: (c, p) => v2.LeadsApiFp(c.v2).searchLeads(p.term, p.field as any, true, undefined, undefined, undefined, p.limit, p.cursor),
		fields: (c, p) => v1.LeadFieldsApiFp(c.v1).getLeadFields(p.start, p.limit),
	},
};
/* eslint-enable @typescript-eslint/no-explicit-any */

export function entityApi(entity: EntityType): EntityApi {
	return ENTITY_APIS[entity];
}

/** Pipedrive custom field keys are 40-character hex hashes. */
export function isCustomFieldKey(name: string): boolean {
	return /^[0-9a-f]{40}$/.test(name);
}

/**
 * CRM fields → request body. Persons take `email`/`phone` strings (or arrays of strings) as a
 * convenience and send them as v2 `emails`/`phones` lists, and `first_name`/`last_name` (which
 * v2 reads return but does not write) as `name` unless `name` is given; v2 objects take custom
 * fields under `custom_fields`, v1 leads at the top level.
 */
export function toRequestBody(entity: EntityType, fields: CrmFields): CrmFields {
	const body: CrmFields = {};
	const custom: CrmFields = {};
	for (const [name, value] of Object.entries(fields)) {
		// A lead's person fields go to its person (the connector's leadPersons), never to /v1/leads.
		if (value === undefined || (entity === 'lead' && name === 'person')) continue;
		if (entity === 'contact' && (name === 'first_name' || name === 'last_name')) {
			if (fields.name === undefined) body.name = personName(fields.first_name, fields.last_name);
		} else if (entity === 'contact' && (name === 'email' || name === 'phone')) {
			const list = name === 'email' ? 'emails' : 'phones';
			if (fields[list] === undefined) body[list] = contactList(value);
		} else if (entity !== 'lead' && isCustomFieldKey(name)) {
			custom[name] = value;
		} else if (name === 'custom_fields' && entity !== 'lead' && value && typeof value === 'object') {
			Object.assign(custom, value);
		} else {
			body[name] = value;
		}
	}
	if (Object.keys(custom).length) body.custom_fields = custom;
	return body;
}

/**
 * True when a person's fields give one name half and no `name`: an update must take the other
 * half from the stored person (withStoredNameHalf), or `name` would lose it.
 */
export function lacksNameHalf(entity: EntityType, fields: CrmFields): boolean {
	return entity === 'contact' && fields.name === undefined && (fields.first_name === undefined) !== (fields.last_name === undefined);
}

/** `fields` with the missing name half taken from the stored person. */
export function withStoredNameHalf(fields: CrmFields, stored: CrmFields): CrmFields {
	const halves = storedNameHalves(stored);
	return {
		...fields,
		first_name: fields.first_name !== undefined ? fields.first_name : halves.firstName,
		last_name: fields.last_name !== undefined ? fields.last_name : halves.lastName,
	};
}

function contactList(value: unknown): Array<{ value: string; primary: boolean; label: string }> {
	const values = (Array.isArray(value) ? value : [value]).filter((v) => v !== null && v !== '').map(String);
	return values.map((v, i) => ({ value: v, primary: i === 0, label: 'work' }));
}

/**
 * The value of match key `field` in a record's fields: persons' email/phone come from `email` /
 * `phone` or the primary entry of `emails` / `phones`; custom fields from the top level or
 * `custom_fields`.
 */
export function matchValue(entity: EntityType, field: string, fields: CrmFields): string | undefined {
	let value: unknown = fields[field];
	if (entity === 'contact' && (field === 'email' || field === 'phone') && (value === undefined || value === null)) {
		const list = fields[field === 'email' ? 'emails' : 'phones'];
		if (Array.isArray(list) && list.length) {
			const primary = list.find((e) => (e as { primary?: boolean })?.primary) ?? list[0];
			value = typeof primary === 'object' && primary !== null ? (primary as { value?: unknown }).value : primary;
		}
	}
	if ((value === undefined || value === null) && isCustomFieldKey(field)) value = (fields.custom_fields as CrmFields | undefined)?.[field];
	if (Array.isArray(value)) value = value[0];
	if (value === undefined || value === null) return undefined;
	const text = String(value).trim();
	return text === '' ? undefined : text;
}

/** A match-key value in comparable form: phones as digits, everything else trimmed and lower-cased. */
export function normaliseMatch(entity: EntityType, field: string, value: string): string {
	return entity === 'contact' && field === 'phone' ? value.replace(/\D/g, '') : value.trim().toLowerCase();
}

/** The normalised values a stored record (or search item) holds in match field `field`. */
export function storedMatchValues(entity: EntityType, field: string, record: CrmFields): string[] {
	let raw: unknown;
	if (entity === 'contact' && (field === 'email' || field === 'phone')) raw = record[field === 'email' ? 'emails' : 'phones'] ?? record[field];
	else raw = isCustomFieldKey(field) ? ((record.custom_fields as CrmFields | undefined)?.[field] ?? record[field]) : record[field];
	return (Array.isArray(raw) ? raw : [raw])
		.map((e) => (e !== null && typeof e === 'object' ? (e as { value?: unknown }).value : e))
		.filter((v) => v !== null && v !== undefined && v !== '')
		.map((v) => normaliseMatch(entity, field, String(v)))
		.filter((v) => v !== '');
}

/** True when a stored record carries `value` in match field `field` (exact; case-insensitive; phones by digits). */
export function recordMatches(entity: EntityType, field: string, value: string, record: CrmFields): boolean {
	const wanted = normaliseMatch(entity, field, value);
	return wanted !== '' && storedMatchValues(entity, field, record).includes(wanted);
}

const FIELD_TYPES: Record<string, FieldType> = {
	int: 'number',
	double: 'number',
	boolean: 'boolean',
	varchar: 'string',
	varchar_auto: 'string',
	varchar_options: 'picklist',
	text: 'text',
	phone: 'phone',
	date: 'date',
	time: 'string',
	enum: 'picklist',
	set: 'multipicklist',
	monetary: 'currency',
	deal: 'reference',
	deals: 'reference',
	lead: 'reference',
	org: 'reference',
	people: 'reference',
	user: 'reference',
	stage: 'reference',
	activity: 'reference',
	status: 'picklist',
	visible_to: 'picklist',
};

export function fieldType(pipedriveType: string, code: string): FieldType {
	if (code === 'id') return 'id';
	if (code === 'emails' || code === 'email') return 'email';
	if (code === 'phones' || code === 'phone') return 'phone';
	if (/_time$/.test(code) && pipedriveType !== 'date') return 'datetime';
	return FIELD_TYPES[pipedriveType] ?? 'other';
}
