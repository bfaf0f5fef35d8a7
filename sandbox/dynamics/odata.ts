// A documented subset of OData v4 $filter, enough for sync clients:
//   comparisons  field eq|ne|gt|ge|lt|le literal
//   logic        and, or, not, parentheses
//   functions    contains(field,'x'), startswith(field,'x'), endswith(field,'x')
//   literals     'text' (a quote inside is doubled: 'O''Brien'), numbers, true, false, null,
//                unquoted ISO dates/datetimes (2024-01-01T00:00:00Z) and GUIDs
// String comparison is case- and accent-insensitive ("cafe" = "Café"), as in the collation of an
// environment whose base language is English (_CI_AI; learn.microsoft.com/power-platform/admin/
// language-collations). Indexed `eq` lookups (e-mail, phone, account number) stay accent-sensitive.
// Anything else is rejected with a parse error, which the emulator turns into a 400.

export type Literal = string | number | boolean | null | { date: number; text: string };

export type FilterNode =
	| { kind: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; field: string; value: Literal }
	| { kind: 'fn'; fn: 'contains' | 'startswith' | 'endswith'; field: string; value: string }
	| { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
	| { kind: 'not'; expr: FilterNode };

export class ODataSyntaxError extends Error {}

const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: '(' } | { t: ')' } | { t: ',' };

function tokenize(src: string): Token[] {
	const out: Token[] = [];
	let i = 0;
	while (i < src.length) {
		const c = src[i];
		if (c === ' ' || c === '\t') {
			i++;
		} else if (c === '(' || c === ')' || c === ',') {
			out.push({ t: c });
			i++;
		} else if (c === "'") {
			let v = '';
			i++;
			for (;;) {
				if (i >= src.length) throw new ODataSyntaxError('Unterminated string literal in $filter');
				if (src[i] === "'") {
					if (src[i + 1] === "'") {
						v += "'";
						i += 2;
						continue;
					}
					i++;
					break;
				}
				v += src[i++];
			}
			out.push({ t: 'str', v });
		} else {
			let j = i;
			while (j < src.length && !" \t(),'".includes(src[j])) j++;
			out.push({ t: 'word', v: src.slice(i, j) });
			i = j;
		}
	}
	return out;
}

export function parseFilter(src: string): FilterNode {
	const toks = tokenize(src);
	let pos = 0;
	const peekWord = (): string | undefined => {
		const t = toks[pos];
		return t && t.t === 'word' ? t.v.toLowerCase() : undefined;
	};
	const expect = (t: Token['t']): Token => {
		const tok = toks[pos++];
		if (!tok || tok.t !== t) throw new ODataSyntaxError(`Syntax error in $filter at token ${pos}: expected ${t}`);
		return tok;
	};
	const field = (): string => {
		const tok = expect('word') as { v: string };
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tok.v)) throw new ODataSyntaxError(`Invalid property name '${tok.v}' in $filter`);
		return tok.v.toLowerCase();
	};
	const literal = (): Literal => {
		const tok = toks[pos++];
		if (!tok) throw new ODataSyntaxError('Syntax error in $filter: literal expected');
		if (tok.t === 'str') return tok.v;
		if (tok.t !== 'word') throw new ODataSyntaxError('Syntax error in $filter: literal expected');
		const w = tok.v;
		if (w === 'null') return null;
		if (w === 'true') return true;
		if (w === 'false') return false;
		if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
		if (DATE_RE.test(w)) {
			const ms = Date.parse(w);
			if (!Number.isNaN(ms)) return { date: ms, text: w };
		}
		if (GUID_RE.test(w)) return w.toLowerCase();
		throw new ODataSyntaxError(`Invalid literal '${w}' in $filter (strings need single quotes)`);
	};
	const primary = (): FilterNode => {
		const tok = toks[pos];
		if (!tok) throw new ODataSyntaxError('Unexpected end of $filter');
		if (tok.t === '(') {
			pos++;
			const e = orExpr();
			expect(')');
			return e;
		}
		const w = peekWord();
		if (w === 'not') {
			pos++;
			return { kind: 'not', expr: primary() };
		}
		if ((w === 'contains' || w === 'startswith' || w === 'endswith') && toks[pos + 1]?.t === '(') {
			pos += 2;
			const f = field();
			expect(',');
			const v = literal();
			expect(')');
			if (typeof v !== 'string') throw new ODataSyntaxError(`${w}() needs a string literal`);
			return { kind: 'fn', fn: w, field: f, value: v };
		}
		const f = field();
		const op = peekWord();
		if (op !== 'eq' && op !== 'ne' && op !== 'gt' && op !== 'ge' && op !== 'lt' && op !== 'le') {
			throw new ODataSyntaxError(`Unsupported operator '${op ?? ''}' in $filter`);
		}
		pos++;
		return { kind: 'cmp', op, field: f, value: literal() };
	};
	const andExpr = (): FilterNode => {
		let left = primary();
		while (peekWord() === 'and') {
			pos++;
			left = { kind: 'and', left, right: primary() };
		}
		return left;
	};
	const orExpr = (): FilterNode => {
		let left = andExpr();
		while (peekWord() === 'or') {
			pos++;
			left = { kind: 'or', left, right: andExpr() };
		}
		return left;
	};
	const tree = orExpr();
	if (pos !== toks.length) throw new ODataSyntaxError(`Syntax error in $filter at token ${pos + 1}`);
	return tree;
}

function compare(a: unknown, b: Literal): number | undefined {
	if (a === undefined || a === null || b === null) return undefined;
	if (typeof b === 'object') {
		const ms = typeof a === 'string' ? Date.parse(a) : NaN;
		return Number.isNaN(ms) ? undefined : ms - b.date;
	}
	if (typeof b === 'number') return typeof a === 'number' ? a - b : undefined;
	if (typeof b === 'boolean') return a === b ? 0 : 1;
	const s = fold(String(a));
	const t = fold(b);
	return s < t ? -1 : s > t ? 1 : 0;
}

/** Lower case without diacritics (_CI_AI). */
function fold(text: string): string {
	return /^[\x00-\x7f]*$/.test(text) ? text.toLowerCase() : text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

export function evaluate(node: FilterNode, row: Record<string, unknown>): boolean {
	switch (node.kind) {
		case 'and':
			return evaluate(node.left, row) && evaluate(node.right, row);
		case 'or':
			return evaluate(node.left, row) || evaluate(node.right, row);
		case 'not':
			return !evaluate(node.expr, row);
		case 'fn': {
			const v = row[node.field];
			if (typeof v !== 'string') return false;
			const s = fold(v);
			const t = fold(node.value);
			return node.fn === 'contains' ? s.includes(t) : node.fn === 'startswith' ? s.startsWith(t) : s.endsWith(t);
		}
		case 'cmp': {
			const v = row[node.field];
			if (node.value === null) {
				const isNull = v === null || v === undefined;
				return node.op === 'eq' ? isNull : node.op === 'ne' ? !isNull : false;
			}
			const c = compare(v, node.value);
			if (c === undefined) return node.op === 'ne';
			switch (node.op) {
				case 'eq':
					return c === 0;
				case 'ne':
					return c !== 0;
				case 'gt':
					return c > 0;
				case 'ge':
					return c >= 0;
				case 'lt':
					return c < 0;
				case 'le':
					return c <= 0;
			}
		}
	}
	return false;
}

/** Fields referenced by the filter (for checking they exist). */
export function filterFields(node: FilterNode, out: Set<string> = new Set()): Set<string> {
	if (node.kind === 'and' || node.kind === 'or') {
		filterFields(node.left, out);
		filterFields(node.right, out);
	} else if (node.kind === 'not') filterFields(node.expr, out);
	else if (node.kind === 'cmp' || node.kind === 'fn') out.add(node.field);
	return out;
}

/**
 * Index lookups whose union is a superset of the rows matching `node` (string `eq` on an
 * indexed field), or undefined when a scan is needed. Callers still evaluate every candidate.
 */
export function indexLookups(node: FilterNode, fields: readonly string[]): { field: string; value: string }[] | undefined {
	if (node.kind === 'cmp') {
		if (node.op === 'eq' && typeof node.value === 'string' && fields.includes(node.field)) return [{ field: node.field, value: node.value }];
		return undefined;
	}
	if (node.kind === 'and' || node.kind === 'or') {
		const l = indexLookups(node.left, fields);
		const r = indexLookups(node.right, fields);
		if (node.kind === 'and') return l ?? r;
		return l && r ? [...l, ...r] : undefined;
	}
	return undefined;
}

/** `modifiedon gt X` / `ge X` lower bound in ms when the filter requires it at top level (delta fast path). */
export function lowerTimeBound(node: FilterNode, field: string): { ms: number; inclusive: boolean } | undefined {
	if (node.kind === 'cmp' && node.field === field && typeof node.value === 'object' && node.value !== null) {
		if (node.op === 'gt') return { ms: node.value.date, inclusive: false };
		if (node.op === 'ge') return { ms: node.value.date, inclusive: true };
	}
	if (node.kind === 'and') return lowerTimeBound(node.left, field) ?? lowerTimeBound(node.right, field);
	return undefined;
}
