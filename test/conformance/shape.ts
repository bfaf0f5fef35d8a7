// The shape of a JSON payload, compared without its values: key sets and nesting, value types,
// and the format of strings that carry ids, dates and numbers. A sandbox answer and a recorded one
// match when every path of the recording exists in the sandbox's answer with the same kind of
// value, and the sandbox adds no key the recording lacks.

/** The format of a string, as far as a client parsing it cares. */
export function stringFormat(value: string): string {
	if (value === '') return 'empty';
	if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return 'iso-datetime-Z';
	if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/.test(value)) return 'iso-datetime-offset';
	if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{4}$/.test(value)) return 'datetime-offset-without-colon';
	if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return 'datetime-space-no-zone';
	if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'date';
	if (/^\/Date\(-?\d+([+-]\d{4})?\)\/$/.test(value)) return 'ms-json-date';
	if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return 'uuid';
	if (/^[a-zA-Z0-9]{15}$|^[a-zA-Z0-9]{18}$/.test(value) && /\d/.test(value) && /[a-zA-Z]/.test(value)) return 'salesforce-id';
	if (/^\d{13}$/.test(value)) return 'digits(13)/epoch-ms';
	if (/^\d{16,}$/.test(value)) return 'long-digits';
	if (/^-?\d+$/.test(value)) return 'integer-string';
	if (/^-?\d+\.\d+$/.test(value)) return 'decimal-string';
	if (/^https?:\/\//.test(value)) return 'url';
	if (/^\/services\/data\//.test(value)) return 'salesforce-path';
	if (/^[^@\s]+@[^@\s]+$/.test(value)) return 'email';
	return 'text';
}

/** Formats that a client reads the same way: a difference between them is no difference. */
const SAME_READING: string[][] = [
	['text', 'email', 'url', 'empty', 'integer-string', 'decimal-string', 'uuid', 'salesforce-id', 'long-digits', 'digits(13)/epoch-ms', 'salesforce-path'],
];

/** Strict formats: dates and ids, which clients parse. Free text may hold anything. */
const PARSED_FORMATS = new Set([
	'iso-datetime-Z',
	'iso-datetime-offset',
	'datetime-offset-without-colon',
	'datetime-space-no-zone',
	'date',
	'ms-json-date',
]);

export interface ShapeDifference {
	path: string;
	recorded: string;
	sandbox: string;
}

export function kindOf(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'array';
	return typeof value;
}

export interface CompareOptions {
	/** Paths (dotted, `[]` for array elements) whose subtree is not compared: user data, not API shape. */
	ignore?: string[];
	/** Keys the sandbox may add (for example fields the recording's request did not ask for). */
	allowExtraKeys?: boolean;
}

/**
 * Every difference in shape between a recorded payload and the sandbox's answer. Nulls are
 * compatible with any kind (a field may be empty in one and set in the other); strings are
 * compared by format only where the format is a date (ids and numbers keep their kind via type).
 */
export function compareShape(recorded: unknown, sandbox: unknown, options: CompareOptions = {}, path = '$'): ShapeDifference[] {
	if ((options.ignore ?? []).includes(path)) return [];
	const a = kindOf(recorded);
	const b = kindOf(sandbox);
	if (a === 'null' || b === 'null') return [];
	if (a !== b) return [{ path, recorded: describe(recorded), sandbox: describe(sandbox) }];
	if (a === 'string') {
		const fa = stringFormat(recorded as string);
		const fb = stringFormat(sandbox as string);
		if (fa === fb || fa === 'empty' || fb === 'empty') return [];
		if (!PARSED_FORMATS.has(fa) && !PARSED_FORMATS.has(fb)) return [];
		if (SAME_READING.some((group) => group.includes(fa) && group.includes(fb))) return [];
		return [{ path, recorded: `string ${fa}`, sandbox: `string ${fb}` }];
	}
	if (a === 'array') {
		const ra = recorded as unknown[];
		const sa = sandbox as unknown[];
		if (ra.length === 0 || sa.length === 0) return [];
		// Element shapes: the first recorded element against the first of the sandbox.
		return compareShape(ra[0], sa[0], options, `${path}[]`);
	}
	if (a === 'object') {
		const ro = recorded as Record<string, unknown>;
		const so = sandbox as Record<string, unknown>;
		const out: ShapeDifference[] = [];
		for (const key of Object.keys(ro)) {
			const child = `${path}.${key}`;
			if ((options.ignore ?? []).includes(child)) continue;
			if (!(key in so)) out.push({ path: child, recorded: describe(ro[key]), sandbox: 'missing' });
			else out.push(...compareShape(ro[key], so[key], options, child));
		}
		if (!options.allowExtraKeys) {
			for (const key of Object.keys(so)) {
				const child = `${path}.${key}`;
				if (!(key in ro) && !(options.ignore ?? []).includes(child)) out.push({ path: child, recorded: 'missing', sandbox: describe(so[key]) });
			}
		}
		return out;
	}
	return [];
}

function describe(value: unknown): string {
	const kind = kindOf(value);
	return kind === 'string' ? `string ${stringFormat(value as string)}` : kind;
}

export const describeDifferences = (differences: ShapeDifference[]) =>
	differences.map((d) => `${d.path}: recorded ${d.recorded}, sandbox ${d.sandbox}`).join('; ');
