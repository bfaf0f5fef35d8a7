// HubSpot CRM object metadata: type names/ids, default properties, property kinds and
// association type ids.

export interface HubSpotObjectType {
	/** Plural API name, e.g. 'contacts'. */
	name: string;
	/** Object type id, e.g. '0-1'. */
	typeId: string;
	/** Singular name used in webhook subscription types and labels, e.g. 'contact'. */
	singular: string;
	/** Properties returned when the request names none. */
	defaultProperties: string[];
	/** Property holding the last-modified timestamp. */
	modifiedProperty: 'lastmodifieddate' | 'hs_lastmodifieddate';
	/** Property holding the creation timestamp. */
	createdProperty: 'createdate' | 'hs_createdate';
	/** Properties matched by the free-text `query` of search. */
	textProperties: string[];
}

const ENGAGEMENT_DEFAULTS = ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'];

export const OBJECT_TYPES: HubSpotObjectType[] = [
	{ name: 'contacts', typeId: '0-1', singular: 'contact', defaultProperties: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'], modifiedProperty: 'lastmodifieddate', createdProperty: 'createdate', textProperties: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company'] },
	{ name: 'companies', typeId: '0-2', singular: 'company', defaultProperties: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'], modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'createdate', textProperties: ['name', 'domain', 'phone', 'website'] },
	{ name: 'deals', typeId: '0-3', singular: 'deal', defaultProperties: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'], modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'createdate', textProperties: ['dealname'] },
	{ name: 'notes', typeId: '0-46', singular: 'note', defaultProperties: ENGAGEMENT_DEFAULTS, modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'hs_createdate', textProperties: ['hs_note_body'] },
	{ name: 'tasks', typeId: '0-27', singular: 'task', defaultProperties: ENGAGEMENT_DEFAULTS, modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'hs_createdate', textProperties: ['hs_task_subject', 'hs_task_body'] },
	{ name: 'calls', typeId: '0-48', singular: 'call', defaultProperties: ENGAGEMENT_DEFAULTS, modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'hs_createdate', textProperties: ['hs_call_title', 'hs_call_body'] },
	{ name: 'meetings', typeId: '0-47', singular: 'meeting', defaultProperties: ENGAGEMENT_DEFAULTS, modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'hs_createdate', textProperties: ['hs_meeting_title', 'hs_meeting_body'] },
	{ name: 'emails', typeId: '0-49', singular: 'email', defaultProperties: ENGAGEMENT_DEFAULTS, modifiedProperty: 'hs_lastmodifieddate', createdProperty: 'hs_createdate', textProperties: ['hs_email_subject', 'hs_email_text'] },
];

const BY_ALIAS = new Map<string, HubSpotObjectType>();
for (const t of OBJECT_TYPES) for (const alias of [t.name, t.typeId, t.singular]) BY_ALIAS.set(alias, t);

/** Resolves 'contacts' | 'contact' | '0-1' to the object type. */
export function objectType(nameOrId: string): HubSpotObjectType | undefined {
	return BY_ALIAS.get(nameOrId.toLowerCase());
}

/**
 * HUBSPOT_DEFINED association type ids: [fromSingular, toSingular, typeId, label?].
 * 279/280 contact<->company are the unlabeled pair, 1/2 the primary pair. Engagement ids are
 * partly from vendor examples, partly from memory (see README).
 */
export const ASSOCIATION_TYPES: [string, string, number, string?][] = [
	['contact', 'company', 279],
	['company', 'contact', 280],
	['contact', 'company', 1, 'Primary'],
	['company', 'contact', 2, 'Primary'],
	['deal', 'contact', 3],
	['contact', 'deal', 4],
	['deal', 'company', 341],
	['company', 'deal', 342],
	['deal', 'company', 5, 'Primary'],
	['company', 'deal', 6, 'Primary'],
	['note', 'contact', 202],
	['contact', 'note', 201],
	['note', 'company', 190],
	['company', 'note', 189],
	['note', 'deal', 214],
	['deal', 'note', 213],
	['task', 'contact', 204],
	['contact', 'task', 203],
	['task', 'company', 192],
	['company', 'task', 191],
	['task', 'deal', 216],
	['deal', 'task', 215],
	['call', 'contact', 194],
	['contact', 'call', 193],
	['call', 'company', 182],
	['company', 'call', 181],
	['call', 'deal', 206],
	['deal', 'call', 205],
	['meeting', 'contact', 200],
	['contact', 'meeting', 199],
	['meeting', 'company', 188],
	['company', 'meeting', 187],
	['meeting', 'deal', 212],
	['deal', 'meeting', 211],
	['email', 'contact', 198],
	['contact', 'email', 197],
	['email', 'company', 186],
	['company', 'email', 185],
	['email', 'deal', 210],
	['deal', 'email', 209],
];

export interface AssociationTypeInfo {
	from: string;
	to: string;
	typeId: number;
	label?: string;
	/** Type id of the same association seen from the other side. */
	inverse: number;
}

const ASSOC_BY_ID = new Map<number, AssociationTypeInfo>();
for (const [from, to, typeId, label] of ASSOCIATION_TYPES) {
	const inverse = ASSOCIATION_TYPES.find(([f, t, , l]) => f === to && t === from && l === label)![2];
	ASSOC_BY_ID.set(typeId, { from, to, typeId, label, inverse });
}

export function associationType(typeId: number): AssociationTypeInfo | undefined {
	return ASSOC_BY_ID.get(typeId);
}

/** The default (unlabeled) association type between two singular types. */
export function defaultAssociationType(from: string, to: string): AssociationTypeInfo | undefined {
	for (const info of ASSOC_BY_ID.values()) if (info.from === from && info.to === to && !info.label) return info;
	return undefined;
}
