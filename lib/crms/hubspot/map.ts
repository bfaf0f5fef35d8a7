// HubSpot default maps. The mapper works on the flat `properties` map the connector sends and
// receives; every property value is written as a string (numbers, booleans, epoch-ms dates).
import { field } from '../../mapping/shapes';
import { textOf } from '../../mapping/transformers';
import { currencyFromMetadata, dealStageValues, ownerEmailFromMetadata, STAGE_FROM_METADATA } from '../../mapping/from-metadata';
import { valueMap } from '../../mapping/vocabulary';
import type { CrmMaps, FieldSpec, ShapeReader } from '../../mapping/types';

/** Single-line text property limit (HubSpot docs: 65,536 characters). */
const TEXT = 65536;
const str = { asString: true } as const;

/**
 * HubSpot has no writable standard lead source (hs_analytics_source is read-only and
 * system-set). The default map uses a custom `leadsource` property holding these labels.
 */
export const HS_LEAD_SOURCE = valueMap([
	['web', 'Web'], ['phone', 'Phone Inquiry'], ['email', 'Email'], ['referral', 'Referral'], ['partner', 'Partner'],
	['advertisement', 'Advertisement'], ['event', 'Event'], ['socialMedia', 'Social Media'], ['coldCall', 'Cold Call'],
	['purchasedList', 'Purchased List'], ['publicRelations', 'Public Relations'], ['other', 'Other'],
]);

export const HS_LIFECYCLE = valueMap([
	['subscriber', 'subscriber'], ['lead', 'lead'], ['marketingQualifiedLead', 'marketingqualifiedlead'],
	['salesQualifiedLead', 'salesqualifiedlead'], ['opportunity', 'opportunity'], ['customer', 'customer'],
	['evangelist', 'evangelist'], ['other', 'other'],
]);

export const HS_LEAD_STATUS = valueMap([
	['new', 'NEW'], ['contacted', 'IN_PROGRESS'], ['qualified', 'OPEN_DEAL'], ['unqualified', 'UNQUALIFIED'],
	['new', 'OPEN'], ['contacted', 'ATTEMPTED_TO_CONTACT'], ['contacted', 'CONNECTED'], ['unqualified', 'BAD_TIMING'],
]);

/** Stages of the default sales pipeline ("default"); other pipelines need a picklist map. */
export const HS_DEAL_STAGE = dealStageValues([
	['prospecting', 'appointmentscheduled'], ['qualification', 'qualifiedtobuy'], ['needsAnalysis', 'presentationscheduled'],
	['proposal', 'decisionmakerboughtin'], ['negotiation', 'contractsent'], ['closedWon', 'closedwon'], ['closedLost', 'closedlost'],
]);

const address: FieldSpec[] = [
	field('street', 'address', 'string', { max: TEXT }),
	field('city', 'city', 'string', { max: TEXT }),
	field('state', 'state', 'string', { max: TEXT }),
	field('postalCode', 'zip', 'postalCode', { max: TEXT }),
	field('country', 'country', 'string', { max: TEXT }),
];

const owner = field('ownerId', 'hubspot_owner_id', 'id', { ref: true });

const person: FieldSpec[] = [
	field('email', 'email', 'email', { max: TEXT }),
	field('firstName', 'firstname', 'string', { max: TEXT }),
	field('lastName', 'lastname', 'string', { max: TEXT }),
	field('phone', 'phone', 'phone', { max: TEXT }),
	field('mobilePhone', 'mobilephone', 'phone', { max: TEXT }),
	field('company', 'company', 'string', { max: TEXT }),
	field('title', 'jobtitle', 'string', { max: TEXT }),
	field('website', 'website', 'url', { max: TEXT }),
	field('leadSource', 'leadsource', 'picklist', { values: HS_LEAD_SOURCE }),
	field('lifecycleStage', 'lifecyclestage', 'picklist', { values: HS_LIFECYCLE }),
	field('status', 'hs_lead_status', 'picklist', { values: HS_LEAD_STATUS }),
	// Read-only: opt-outs change through the communication-preferences API.
	field('emailOptOut', 'hs_email_optout', 'boolean', { write: false }),
	...address,
	owner,
	field('accountId', 'associatedcompanyid', 'id', { ref: true, write: false }),
];

/** Engagement objects: the object is told by its property prefix (hs_call_*, hs_note_*, …). */
const ENGAGEMENT_PREFIX: [string, string][] = [
	['call', 'hs_call_'], ['meeting', 'hs_meeting_'], ['task', 'hs_task_'], ['email', 'hs_email_'], ['note', 'hs_note_'],
];

// HubSpot answers null for requested properties an object does not have (a note read with
// hs_task_subject in the list): only keys with a value tell the type or give a value.
const hasValue = (v: unknown) => v !== undefined && v !== null && v !== '';

const readType: ShapeReader = (r) => {
	for (const key in r) {
		if (!key.startsWith('hs_') || !hasValue(r[key])) continue;
		for (const [type, prefix] of ENGAGEMENT_PREFIX) if (key.startsWith(prefix)) return type;
	}
	return undefined;
};

const SUBJECT: Record<string, string | undefined> = {
	call: 'hs_call_title', meeting: 'hs_meeting_title', task: 'hs_task_subject', email: 'hs_email_subject', note: undefined,
};
const BODY: Record<string, string> = {
	call: 'hs_call_body', meeting: 'hs_meeting_body', task: 'hs_task_body', email: 'hs_email_text', note: 'hs_note_body',
};

/**
 * Engagement links are associations, not properties. They are read from an `associations` block
 * in HubSpot's v3 shape (`{contacts: {results: [{id, type}]}}`, as GET …?associations=contacts
 * answers and as the webhook parser gives associationChange events); a plain id list is accepted too.
 */
function associated(objectType: string): ShapeReader {
	return (r) => {
		const block = (r.associations as Record<string, unknown> | undefined)?.[objectType];
		const list = Array.isArray(block) ? block : Array.isArray((block as { results?: unknown })?.results) ? (block as { results: unknown[] }).results : undefined;
		if (!list) return undefined;
		const ids = list.map((x) => (typeof x === 'object' && x !== null ? (x as { id?: unknown }).id : x)).filter((id) => typeof id === 'string' || typeof id === 'number').map(String);
		return ids.length ? [...new Set(ids)] : undefined;
	};
}

/** Written in the same shape; the connector sends it as create-time associations (see MAPPING.md). */
function link(unified: string, objectType: string): FieldSpec {
	return field(unified, `associations.${objectType}`, 'id', {
		ref: true,
		keys: ['associations'],
		read: associated(objectType),
		write: (out, v) => {
			const ids = (Array.isArray(v) ? v : [v]).filter(hasValue).map(textOf);
			if (ids.length) out.associations = { ...(out.associations as Record<string, unknown> | undefined), [objectType]: { results: ids.map((id) => ({ id })) } };
		},
		format: { list: true },
	});
}

/** HubSpot reads answer datetimes as ISO strings; writes (and some payloads) use epoch ms. */
function epochMs(v: unknown): number {
	if (!hasValue(v)) return NaN;
	return /^\d+$/.test(textOf(v)) ? Number(v) : Date.parse(textOf(v));
}

function firstOf(keys: (string | undefined)[]): ShapeReader {
	const list = keys.filter((k): k is string => k !== undefined);
	return (r) => {
		for (const k of list) if (hasValue(r[k])) return r[k];
		return undefined;
	};
}

export const hubspotMaps: CrmMaps = {
	contact: { object: 'contacts', fields: person },
	// Leads are contacts at lifecycle stage "lead".
	lead: { object: 'contacts', fields: person, writeDefaults: { lifecyclestage: 'lead' } },
	account: {
		object: 'companies',
		fields: [
			field('name', 'name', 'string', { max: TEXT }),
			field('website', 'website', 'url', { max: TEXT }),
			field('phone', 'phone', 'phone', { max: TEXT }),
			...address,
			owner,
			ownerEmailFromMetadata,
		],
	},
	opportunity: {
		object: 'deals',
		writeDefaults: { pipeline: 'default' },
		fields: [
			field('name', 'dealname', 'string', { max: TEXT }),
			field('amount', 'amount', 'number', { format: str }),
			currencyFromMetadata,
			field('currency', 'deal_currency_code', 'currency'),
			field('stage', 'dealstage', 'picklist', { values: HS_DEAL_STAGE, read: [STAGE_FROM_METADATA, 'dealstage'] }),
			field('closeDate', 'closedate', 'date', { format: { date: 'epochMsMidnight', asString: true } }),
			owner,
			ownerEmailFromMetadata,
		],
	},
	activity: {
		object: 'calls | meetings | tasks | emails | notes',
		fields: [
			// The type picks the object and its properties; it is not a property itself.
			field('type', '(engagement object)', 'picklist', {
				virtual: true,
				values: valueMap([['call', 'call'], ['meeting', 'meeting'], ['task', 'task'], ['email', 'email'], ['note', 'note']]),
				read: readType,
				write: () => undefined,
			}),
			field('subject', 'hs_task_subject', 'string', {
				max: TEXT,
				keys: Object.values(SUBJECT).filter((k): k is string => k !== undefined),
				read: firstOf(Object.values(SUBJECT)),
				write: (out, v, u) => {
					const key = SUBJECT[textOf(u.type)];
					if (key) out[key] = v;
				},
			}),
			field('body', 'hs_note_body', 'text', {
				max: TEXT,
				keys: Object.values(BODY),
				read: firstOf(Object.values(BODY)),
				write: (out, v, u) => {
					const key = BODY[textOf(u.type)];
					if (key) out[key] = v;
				},
			}),
			field('timestamp', 'hs_timestamp', 'datetime', {
				format: { date: 'epochMs', asString: true },
				write: (out, v, u) => {
					out.hs_timestamp = v;
					if (u.type === 'meeting') out.hs_meeting_start_time = v;
				},
			}),
			// Unified duration is seconds; calls store ms, meetings an end time.
			field('duration', 'hs_call_duration', 'integer', {
				keys: ['hs_meeting_start_time', 'hs_meeting_end_time'],
				read: (r) => {
					if (r.hs_call_duration !== undefined && r.hs_call_duration !== null) return Math.round(Number(r.hs_call_duration) / 1000);
					const start = epochMs(r.hs_meeting_start_time), end = epochMs(r.hs_meeting_end_time);
					return Number.isFinite(start) && Number.isFinite(end) ? Math.round((end - start) / 1000) : undefined;
				},
				write: (out, v, u) => {
					if (typeof v !== 'number') return;
					if (u.type === 'call') out.hs_call_duration = String(v * 1000);
					else if (u.type === 'meeting' && typeof out.hs_meeting_start_time === 'string') {
						out.hs_meeting_end_time = String(Number(out.hs_meeting_start_time) + v * 1000);
					}
				},
			}),
			link('contactIds', 'contacts'),
			link('dealIds', 'deals'),
			link('accountIds', 'companies'),
			owner,
		],
	},
};
