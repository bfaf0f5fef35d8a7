// Pipedrive default maps (API v2 objects; leads are v1). Person names: v2 writes `name` only,
// reads also return first_name/last_name (a lone half: see writeName). Ids are integers except
// lead ids (UUIDs). Leads carry their person's fields in a nested `person` object (see `lead`).
import { field, firstWords, joinNonEmpty, lastWord, pipedriveMulti, singleLink } from '../../mapping/shapes';
import { currencyFromMetadata, dealStageValues, ownerEmailFromMetadata, STAGE_FROM_METADATA } from '../../mapping/from-metadata';
import { compileSetter } from '../../mapping/paths';
import { valueMap } from '../../mapping/vocabulary';
import type { CrmMaps, FieldSpec, ShapeReader } from '../../mapping/types';

/** Field lengths are not documented per field; 255 for names/titles is an assumption. */
const NAME = 255;
const intId = { ref: true, format: { id: 'integer' } } as const;
const owner = field('ownerId', 'owner_id', 'id', intId);

/**
 * Stage ids are per account. These are the ids of a new account's default pipeline "Pipeline"
 * (Qualified 1, Contact Made 2, Demo Scheduled 3, Proposal Made 4, Negotiations Started 5; the
 * sandbox seeds it), unverified: the account recorded in v2-list-stages-cursor-recorded.json
 * was created with six stages in pipeline 1 (… Prospect Qualified 3, Needs Defined 4, Proposal
 * Made 5, Negotiations Started 6). Read the account's stages (listStages) or map your own with a
 * picklist map on `stage`. Won/lost travel in `status`: Pipedrive has no won or lost stage.
 */
export const PD_STAGE = dealStageValues([
	['qualification', 1], ['prospecting', 2], ['needsAnalysis', 3], ['proposal', 4], ['negotiation', 5],
	['closedWon', 'won'], ['closedLost', 'lost'],
]);

export const PD_ACTIVITY_TYPE = valueMap([
	['call', 'call'], ['meeting', 'meeting'], ['task', 'task'], ['email', 'email'], ['note', 'note'],
	['task', 'deadline'], ['meeting', 'lunch'],
]);

function address(key: string): FieldSpec[] {
	return [
		field('street', `${key}.route`, 'string', { max: NAME }),
		field('city', `${key}.locality`, 'string', { max: NAME }),
		field('state', `${key}.admin_area_level_1`, 'string', { max: NAME }),
		field('postalCode', `${key}.postal_code`, 'postalCode', { max: NAME }),
		field('country', `${key}.country`, 'string', { max: NAME }),
	];
}

/** A person's v2 `name`: the halves joined by a space. */
export function personName(firstName: unknown, lastName: unknown): string | undefined {
	return joinNonEmpty([firstName, lastName], ' ');
}

/** The name halves of a stored person: v2 reads give first_name / last_name, else split `name`. */
export function storedNameHalves(r: Record<string, unknown>): { firstName: unknown; lastName: unknown } {
	return { firstName: r.first_name ?? firstWords(r.name), lastName: r.last_name ?? lastWord(r.name) };
}

/**
 * With both halves the map writes `name`. A lone half (an update of lastName alone) is written as
 * first_name / last_name: `name` from it would drop the other half, which only the connector can
 * read from the stored person before it sends `name`.
 */
const writeName = (half: 'first_name' | 'last_name') => (out: Record<string, unknown>, v: unknown, u: Record<string, unknown>) => {
	if (u.firstName === undefined || u.lastName === undefined) {
		out[half] = v;
		return;
	}
	const name = personName(u.firstName, u.lastName);
	if (name !== undefined) out.name = name;
};

/** Pads HH:MM. */
const pad2 = (n: number) => (n < 10 ? '0' + n : '' + n);

// A person's fields, as contacts (persons) hold them and as leads carry them in `person`.
const firstName = field('firstName', 'first_name', 'string', { max: NAME, read: (r) => storedNameHalves(r).firstName, write: writeName('first_name'), keys: ['name'] });
const lastName = field('lastName', 'last_name', 'string', { max: NAME, read: (r) => storedNameHalves(r).lastName, write: writeName('last_name') });
const email = field('email', 'emails', 'email', pipedriveMulti('emails'));
const phone = field('phone', 'phones', 'phone', pipedriveMulti('phones', undefined, 'mobile'));
const mobilePhone = field('mobilePhone', 'phones', 'phone', pipedriveMulti('phones', 'mobile'));
const jobTitle = field('title', 'job_title', 'string', { max: NAME });
// marketing_status: only an opt-out is written; false leaves consent untouched (never asserts "subscribed").
const emailOptOut = field('emailOptOut', 'marketing_status', 'boolean', {
	read: (r) => {
		const s = r.marketing_status;
		if (s === 'unsubscribed') return true;
		if (s === 'subscribed' || s === 'no_consent') return false;
		return s === undefined || s === null ? s : undefined;
	},
	write: (out, v) => {
		if (v === true) out.marketing_status = 'unsubscribed';
	},
});
const personAddress = address('postal_address');

/**
 * The lead's title when the unified lead has no `name` (leads from Salesforce, Zoho and HubSpot
 * have none): the person's name "<first> <last>", else the company, else the e-mail. Pipedrive
 * requires a title; Dynamics leads give their topic (subject) as `name`, which wins. Only a record
 * that carries the whole name (both firstName and lastName, null counting as given: a lead read
 * from its CRM does) names the title: a partial update (lastName alone) leaves the title alone.
 */
export function leadTitle(u: Record<string, unknown>): string | undefined {
	const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
	const named = text(u.name);
	if (named !== undefined) return named.slice(0, NAME);
	if (u.firstName === undefined || u.lastName === undefined) return undefined;
	return (personName(text(u.firstName), text(u.lastName)) ?? text(u.company) ?? text(u.email))?.slice(0, NAME);
}

/**
 * A person field of the contact map, read from and written to the lead's `person` object (the
 * lead's person data: the connector writes it to the linked person and fills it on reads). Each
 * write also gives the lead its title from leadTitle when no `name` set one.
 */
function inPerson(spec: FieldSpec): FieldSpec {
	const read = spec.read;
	const write = spec.write;
	const set = compileSetter(spec.crm);
	const person = (r: Record<string, unknown>): Record<string, unknown> | undefined => (r.person !== null && typeof r.person === 'object' ? (r.person as Record<string, unknown>) : undefined);
	const reader: ShapeReader | string[] | false | undefined =
		typeof read === 'function' ? (r) => {
			const p = person(r);
			return p ? read(p) : undefined;
		} : Array.isArray(read) ? read.map((path) => `person.${path}`) : read;
	return {
		...spec,
		crm: `person.${spec.crm}`,
		read: reader,
		keys: undefined,
		write:
			write === false
				? false
				: (out, v, u) => {
						let p = person(out);
						if (!p) out.person = p = {};
						if (write) write(p, v, u);
						else set(p, v);
						if (out.title === undefined) {
							const title = leadTitle(u);
							if (title !== undefined) out.title = title;
						}
					},
	};
}

export const pipedriveMaps: CrmMaps = {
	contact: {
		object: 'persons',
		fields: [firstName, lastName, email, phone, mobilePhone, jobTitle, emailOptOut, field('accountId', 'org_id', 'id', intId), owner, ...personAddress],
	},
	lead: {
		object: 'leads (v1)',
		fields: [
			// The title: the unified name, else leadTitle (the person's name, else company, else e-mail;
			// from records that carry both name halves).
			field('name', 'title', 'string', { max: NAME, required: true }),
			// A Pipedrive lead holds no person data: it lives on the linked person. The map carries it in
			// `person` (the contact map's person fields); the connector finds that person by e-mail (or
			// creates it), links it as person_id, writes the fields to it, and fills `person` back on
			// reads. company, website, status and leadSource have no place on a Pipedrive lead.
			...[firstName, lastName, email, phone, mobilePhone, jobTitle, emailOptOut, ...personAddress].map(inPerson),
			// person_id / organization_id are not unified references: the person travels as `person`, and
			// no other CRM's lead points to a contact or an account (a reference would wait for a record
			// that lead-sync never brings).
			field('amount', 'value.amount', 'number'),
			field('currency', 'value.currency', 'currency'),
			field('closeDate', 'expected_close_date', 'date'),
			owner,
		],
	},
	account: {
		object: 'organizations',
		fields: [field('name', 'name', 'string', { max: NAME, required: true }), field('website', 'website', 'url', { max: NAME }), owner, ownerEmailFromMetadata, ...address('address')],
	},
	opportunity: {
		object: 'deals',
		fields: [
			field('name', 'title', 'string', { max: NAME, required: true }),
			field('amount', 'value', 'number'),
			currencyFromMetadata,
			field('currency', 'currency', 'currency'),
			field('stage', 'stage_id', 'picklist', {
				values: PD_STAGE,
				keys: ['status', STAGE_FROM_METADATA],
				read: (r) => r[STAGE_FROM_METADATA] ?? (r.status === 'won' || r.status === 'lost' ? r.status : r.stage_id),
				write: (out, v) => {
					if (v === 'won' || v === 'lost') out.status = v;
					else {
						out.stage_id = v;
						out.status = 'open';
					}
				},
			}),
			field('closeDate', 'expected_close_date', 'date'),
			field('accountId', 'org_id', 'id', intId),
			field('contactId', 'person_id', 'id', intId),
			owner,
			ownerEmailFromMetadata,
		],
	},
	activity: {
		object: 'activities | notes',
		fields: [
			// Notes are a separate object (content + links); everything else is an activity type key.
			field('type', 'type', 'picklist', {
				values: PD_ACTIVITY_TYPE,
				read: (r) => r.type ?? (r.content !== undefined ? 'note' : undefined),
				write: (out, v) => {
					if (v !== 'note') out.type = v;
				},
			}),
			field('subject', 'subject', 'string', { max: NAME }),
			field('body', 'note', 'text', {
				max: 100000,
				keys: ['content'],
				read: (r) => r.note ?? r.content,
				write: (out, v, u) => {
					out[u.type === 'note' ? 'content' : 'note'] = v;
				},
			}),
			// due_date + due_time (UTC) ⇄ one instant.
			field('timestamp', 'due_date', 'datetime', {
				keys: ['due_time'],
				read: (r) => {
					if (typeof r.due_date !== 'string') return r.due_date;
					return typeof r.due_time === 'string' && r.due_time !== '' ? `${r.due_date}T${r.due_time}Z` : r.due_date;
				},
				write: (out, v) => {
					if (typeof v !== 'string') return;
					out.due_date = v.slice(0, 10);
					out.due_time = v.slice(11, 16);
				},
				roundTrip: 'minute',
			}),
			// HH:MM ⇄ seconds.
			field('duration', 'duration', 'integer', {
				read: (r) => {
					const d = r.duration;
					if (typeof d !== 'string') return d;
					const m = /^(\d{1,3}):(\d{2})$/.exec(d);
					return m ? (+m[1] * 60 + +m[2]) * 60 : d;
				},
				write: (out, v) => {
					if (typeof v === 'number') out.duration = `${pad2(Math.floor(v / 3600))}:${pad2(Math.floor((v % 3600) / 60))}`;
				},
				roundTrip: 'minute',
			}),
			field('contactIds', 'person_id', 'id', { ...singleLink('person_id'), ref: true, format: { list: true, single: true, id: 'integer' } }),
			field('dealIds', 'deal_id', 'id', { ...singleLink('deal_id'), ref: true, format: { list: true, single: true, id: 'integer' } }),
			field('accountIds', 'org_id', 'id', { ...singleLink('org_id'), ref: true, format: { list: true, single: true, id: 'integer' } }),
			owner,
		],
	},
};
