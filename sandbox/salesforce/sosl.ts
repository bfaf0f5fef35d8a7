// The SOSL subset behind GET /search (documented in sandbox/README.md):
//   FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING Obj[(f1, f2)], ...] [LIMIT n]
// The term's words must all match (AND); `*` and `?` are wildcards; reserved characters may
// be escaped with a backslash. Emails match whole addresses, phones match by digits, other
// text matches whole words.

export type FieldGroup = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE';

export interface SoslQuery {
	terms: string[];
	group: FieldGroup;
	/** Objects to search and the fields to return (empty = Id only). */
	returning: { object: string; fields: string[] }[];
	limit: number;
}

export class SoslError extends Error {}

export function parseSosl(q: string): SoslQuery {
	const m = /^\s*FIND\s+\{((?:\\.|[^}\\])*)\}\s*(?:IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS\s*)?(?:RETURNING\s+(.+?))?\s*(?:LIMIT\s+(\d+))?\s*$/is.exec(q);
	if (!m) throw new SoslError('Search term must be enclosed in braces: FIND {term} [IN ... FIELDS] [RETURNING ...] [LIMIT n]');
	const raw = m[1].replace(/\\(.)/g, '$1').trim();
	const terms = raw.split(/\s+/).filter((t) => t && t.toUpperCase() !== 'AND');
	if (!terms.length || terms.every((t) => t.replace(/[*?]/g, '').length < 2)) throw new SoslError('search term must be longer than one character');
	const returning: SoslQuery['returning'] = [];
	if (m[3]) {
		for (const part of splitTopLevel(m[3])) {
			const r = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^)]*)\))?\s*$/.exec(part);
			if (!r) throw new SoslError(`unexpected RETURNING clause: ${part.trim()}`);
			returning.push({ object: r[1], fields: (r[2] ?? '').split(',').map((f) => f.trim()).filter(Boolean) });
		}
	}
	return { terms, group: ((m[2] ?? 'ALL').toUpperCase() as FieldGroup), returning, limit: m[4] ? Math.min(Number(m[4]), 2000) : 2000 };
}

function splitTopLevel(s: string): string[] {
	const out: string[] = [];
	let depth = 0;
	let cur = '';
	for (const ch of s) {
		if (ch === '(') depth++;
		if (ch === ')') depth--;
		if (ch === ',' && depth === 0) {
			out.push(cur);
			cur = '';
		} else cur += ch;
	}
	if (cur.trim()) out.push(cur);
	return out;
}

function wildcard(term: string): RegExp {
	return new RegExp('^' + term.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
}

/** Whether one term matches a value of a field of the given kind. */
export function termMatches(term: string, value: unknown, kind: 'email' | 'phone' | 'text'): boolean {
	if (value === null || value === undefined || value === '') return false;
	const s = String(value);
	if (kind === 'phone') {
		const want = term.replace(/\D/g, '');
		const have = s.replace(/\D/g, '');
		return want.length >= 4 && (have === want || have.endsWith(want) || want.endsWith(have));
	}
	const re = wildcard(term);
	if (kind === 'email') return re.test(s);
	return re.test(s) || s.split(/[^\p{L}\p{N}@._'-]+/u).some((w) => re.test(w));
}
