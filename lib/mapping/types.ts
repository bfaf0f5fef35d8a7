// Types of the mapping engine. A default map is a list of FieldSpecs per CRM × entity; it is
// compiled (once) into a flat plan of small functions per direction.
import type { CrmName, EntityType } from '../model';

/** The value side a transformer formats for: the unified model or one CRM's wire format. */
export type Side = 'unified' | CrmName;

/**
 * Set by a transformer when the value is invalid. The runner reads it after each call, so a
 * transformer reports a problem without allocating (no exceptions, no result objects).
 */
export interface TransformContext {
	problem: string | undefined;
}

/** Returns the converted value; on bad input sets cx.problem (the return value is then ignored). */
export type Transform = (value: unknown, cx: TransformContext) => unknown;

export type FieldType =
	| 'string'
	| 'text'
	| 'email'
	| 'phone'
	| 'number'
	| 'integer'
	| 'currency'
	| 'date'
	| 'datetime'
	| 'boolean'
	| 'url'
	| 'postalCode'
	| 'stateCode'
	| 'id'
	| 'picklist';

/** Canonical value ⇄ CRM value. `write` maps canonical → CRM; `read` maps CRM → canonical. */
export interface ValueMap {
	read: Map<string, string | number>;
	write: Map<string, string | number>;
}

/** Reads a unified value out of a whole CRM record (for shapes a dot path cannot express). */
export type ShapeReader = (record: Record<string, unknown>) => unknown;
/** Writes an already-transformed value into a CRM record (may set several keys). */
export type ShapeWriter = (out: Record<string, unknown>, value: unknown, unified: Record<string, unknown>) => void;

/** How much of a field survives unified → CRM → unified (documented loss, e.g. date-only fields). */
export type RoundTrip = 'exact' | 'date' | 'minute' | 'first';

/** One unified field ⇄ one CRM field (or shape) for a CRM × entity. */
export interface FieldSpec {
	unified: string;
	/** CRM field name (flat or dot path); used for both directions unless read/write say otherwise. */
	crm: string;
	type: FieldType;
	/** Alternative CRM paths to read from, tried in order (e.g. a read field and its write form). */
	read?: string[] | ShapeReader | false;
	/** Further top-level CRM keys a reader uses (so include-unmapped does not copy them again). */
	keys?: string[];
	/** false: the CRM field is read-only, the field is not written. */
	write?: ShapeWriter | false;
	/** Maximum string length in the CRM (characters). */
	max?: number;
	/** Picklist values (canonical ⇄ CRM). */
	values?: ValueMap;
	/** Required by the CRM on create (checked only when checkCrmRequired is on). */
	required?: boolean;
	/** A CRM-local record id (owner, account, associations): not copied CRM → CRM. */
	ref?: boolean;
	/** `crm` names no real CRM field (the value picks the object): not listed as a target field. */
	virtual?: boolean;
	/** CRM-side format options for the transformer. */
	format?: FieldFormat;
	roundTrip?: RoundTrip;
}

export interface FieldFormat {
	/** Write numbers/booleans as strings (HubSpot properties are strings). */
	asString?: boolean;
	/** How a CRM stores a date or datetime. */
	date?: 'iso' | 'dateOnly' | 'epochMs' | 'epochMsMidnight' | 'isoOffset';
	/** Array of ids in the unified model. */
	list?: boolean;
	/** The CRM links one record only: more ids than one is a problem. */
	single?: boolean;
	/** How the CRM's record ids look. */
	id?: 'string' | 'integer' | 'guid';
}

export interface EntityMap {
	/** CRM object / module / entity set name(s), for documentation and loadOptions. */
	object: string;
	fields: FieldSpec[];
	/** Values set on write when the unified record does not give the field. */
	writeDefaults?: Record<string, unknown>;
}

export type CrmMaps = Record<EntityType, EntityMap>;

export type Direction = 'toUnified' | 'fromUnified' | 'crmToCrm';
export type Mode = 'strict' | 'lenient';
export type PhoneFormat = 'asIs' | 'e164';

export const TRANSFORM_NAMES = [
	'none',
	'string',
	'trim',
	'lowercase',
	'uppercase',
	'email',
	'phone',
	'number',
	'integer',
	'currency',
	'boolean',
	'date',
	'datetime',
	'url',
	'postalCode',
	'stateCode',
] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];

/** A user rule: value at `source` (dot path in the source record) → `target` field. */
export interface RuleSpec {
	source: string;
	target: string;
	transform?: TransformName;
	/** Value map applied after the transformer (source value → target value). */
	values?: Record<string, string | number | boolean>;
	maxLength?: number;
}

/**
 * Extra picklist values for a unified field. side says which CRM of the direction they apply to
 * (CRM → unified reads use the source side, unified → CRM writes the target side).
 */
export interface PicklistSpec {
	field: string;
	side?: 'source' | 'target' | 'both';
	values: Record<string, string | number>; // CRM value → canonical value
}

export const COMPUTED_OPS = ['join', 'template', 'firstName', 'lastName'] as const;
export type ComputedOp = (typeof COMPUTED_OPS)[number];

/** A target field computed from source paths, e.g. fullName = join(FirstName, LastName). */
export interface ComputedSpec {
	target: string;
	op: ComputedOp;
	/** join: paths joined; firstName/lastName: one path holding a full name. */
	sources?: string[];
	separator?: string;
	/** template: `{path}` placeholders, e.g. "{FirstName} {LastName}". */
	template?: string;
}

export interface MappingOverrides {
	/** true: only the user's rules; false (default): defaults plus rules (a rule replaces the default writing the same target). */
	replaceDefaults?: boolean;
	rules?: RuleSpec[];
	picklists?: PicklistSpec[];
	computed?: ComputedSpec[];
	defaults?: Record<string, unknown>;
	required?: string[];
}

export interface MappingOptions {
	direction: Direction;
	entity: EntityType;
	/** The CRM records come from (toUnified, crmToCrm). */
	source?: CrmName;
	/** The CRM records go to (fromUnified, crmToCrm). */
	target?: CrmName;
	mode?: Mode;
	phoneFormat?: PhoneFormat;
	/** ISO 3166 alpha-2 country for numbers without a + prefix when phoneFormat is e164. */
	defaultCountry?: string;
	/** IANA zone for datetimes without an offset and for instant → date-only. Default UTC. */
	timeZone?: string;
	includeUnmapped?: boolean;
	/** Report missing CRM-required fields (e.g. Salesforce LastName) — off for partial updates. */
	checkCrmRequired?: boolean;
	overrides?: MappingOverrides;
}

export interface FieldIssue {
	field: string;
	reason: string;
	value?: unknown;
}

export interface MapResult {
	record: Record<string, unknown>;
	/** strict: errors that made the record invalid; lenient: warnings. */
	issues: FieldIssue[] | undefined;
	valid: boolean;
}

export interface BatchResult {
	mapped: { index: number; record: Record<string, unknown>; warnings?: FieldIssue[] }[];
	invalid: { index: number; record: Record<string, unknown>; errors: FieldIssue[] }[];
}

/** Configuration the user got wrong (bad rule, bad document): thrown at compile time, with a path. */
export class MappingConfigError extends Error {
	constructor(
		message: string,
		readonly problems: string[] = [message],
	) {
		super(message);
		this.name = 'MappingConfigError';
	}
}
