// The SOQL subset the emulator understands (documented in sandbox/README.md):
//   SELECT f1, f2, Rel.Field | COUNT() FROM SObject
//   [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
//   cond: comparisons with = != <> < <= > >=, IN (...), NOT IN (...), LIKE (% and _ wildcards,
//   \% and \_ literal, case-insensitive), combined with
//   AND / OR / NOT and parentheses. Literals: 'strings' (backslash escapes), numbers, true,
//   false, null, datetimes (2024-01-01T00:00:00Z, .000, +01:00), dates (2024-01-01),
//   TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n.
// Anything else is a MALFORMED_QUERY error, as unsupported syntax must not silently pass.

export class SoqlError extends Error {
	constructor(
		readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR',
		message: string,
	) {
		super(message);
	}
}

export type Literal =
	| { kind: 'string'; value: string; like?: string }
	| { kind: 'number'; value: number }
	| { kind: 'boolean'; value: boolean }
	| { kind: 'null' }
	| { kind: 'datetime'; value: number; text: string }
	| { kind: 'date'; value: string }
	/** Date literal keyword resolved to a [start, end) ms range. */
	| { kind: 'range'; from: number; to: number; text: string };

export type Condition =
	| { kind: 'and' | 'or'; items: Condition[] }
	| { kind: 'not'; item: Condition }
	| { kind: 'cmp'; field: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: Literal }
	| { kind: 'in'; field: string; negate: boolean; values: Literal[] }
	| { kind: 'like'; field: string; pattern: string; regex: RegExp };

export interface OrderBy {
	field: string;
	desc: boolean;
	nullsLast: boolean;
}

export interface SoqlQuery {
	fields: string[];
	count: boolean;
	from: string;
	where?: Condition;
	orderBy: OrderBy[];
	limit?: number;
	offset?: number;
}

type Token = { t: 'word' | 'string' | 'number' | 'op' | 'punct' | 'datetime' | 'date'; v: string; like?: string };

function tokenize(q: string): Token[] {
	const out: Token[] = [];
	let i = 0;
	while (i < q.length) {
		const c = q[i];
		if (/\s/.test(c)) {
			i++;
			continue;
		}
		if (c === "'") {
			// `like` is the literal as a LIKE pattern (RegExp source): % and _ are wildcards unless
			// escaped as \% and \_, which only LIKE gives a meaning.
			let s = '';
			let like = '';
			i++;
			for (;;) {
				if (i >= q.length) throw new SoqlError('MALFORMED_QUERY', 'unterminated string literal');
				const ch = q[i];
				if (ch === '\\') {
					const n = q[i + 1];
					const text = n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
					s += text;
					like += escapeRegex(text);
					i += 2;
					continue;
				}
				if (ch === "'") {
					i++;
					break;
				}
				s += ch;
				like += ch === '%' ? '.*' : ch === '_' ? '.' : escapeRegex(ch);
				i++;
			}
			out.push({ t: 'string', v: s, like });
			continue;
		}
		const rest = q.slice(i);
		let m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/.exec(rest);
		if (m) {
			out.push({ t: 'datetime', v: m[0] });
			i += m[0].length;
			continue;
		}
		m = /^\d{4}-\d{2}-\d{2}(?![\d:T])/.exec(rest);
		if (m) {
			out.push({ t: 'date', v: m[0] });
			i += m[0].length;
			continue;
		}
		m = /^-?\d+(\.\d+)?/.exec(rest);
		if (m) {
			out.push({ t: 'number', v: m[0] });
			i += m[0].length;
			continue;
		}
		m = /^(!=|<>|<=|>=|=|<|>)/.exec(rest);
		if (m) {
			out.push({ t: 'op', v: m[0] === '<>' ? '!=' : m[0] });
			i += m[0].length;
			continue;
		}
		if ('(),'.includes(c)) {
			out.push({ t: 'punct', v: c });
			i++;
			continue;
		}
		m = /^[A-Za-z_][A-Za-z0-9_.]*(:\d+)?/.exec(rest);
		if (m) {
			out.push({ t: 'word', v: m[0] });
			i += m[0].length;
			continue;
		}
		throw new SoqlError('MALFORMED_QUERY', `unexpected character '${c}' at position ${i}`);
	}
	return out;
}

const DAY = 86_400_000;

function dateKeyword(word: string, now: number): Literal | undefined {
	const today = Math.floor(now / DAY) * DAY;
	const upper = word.toUpperCase();
	if (upper === 'TODAY') return { kind: 'range', from: today, to: today + DAY, text: word };
	if (upper === 'YESTERDAY') return { kind: 'range', from: today - DAY, to: today, text: word };
	if (upper === 'TOMORROW') return { kind: 'range', from: today + DAY, to: today + 2 * DAY, text: word };
	const m = /^(LAST|NEXT)_N_DAYS:(\d+)$/.exec(upper);
	if (m) {
		const n = Number(m[2]);
		return m[1] === 'LAST' ? { kind: 'range', from: today - n * DAY, to: today + DAY, text: word } : { kind: 'range', from: today, to: today + (n + 1) * DAY, text: word };
	}
	return undefined;
}

class Parser {
	private i = 0;
	constructor(
		private readonly tokens: Token[],
		private readonly now: number,
	) {}

	private peek(): Token | undefined {
		return this.tokens[this.i];
	}

	private isWord(v: string, offset = 0): boolean {
		const t = this.tokens[this.i + offset];
		return t?.t === 'word' && t.v.toUpperCase() === v;
	}

	private expectWord(v: string): void {
		if (!this.isWord(v)) throw new SoqlError('MALFORMED_QUERY', `expecting ${v}, found '${this.peek()?.v ?? 'end of query'}'`);
		this.i++;
	}

	private expectPunct(v: string): void {
		const t = this.peek();
		if (t?.t !== 'punct' || t.v !== v) throw new SoqlError('MALFORMED_QUERY', `expecting '${v}', found '${t?.v ?? 'end of query'}'`);
		this.i++;
	}

	private fieldName(): string {
		const t = this.peek();
		if (t?.t !== 'word') throw new SoqlError('MALFORMED_QUERY', `expecting a field name, found '${t?.v ?? 'end of query'}'`);
		this.i++;
		return t.v;
	}

	parse(): SoqlQuery {
		this.expectWord('SELECT');
		const fields: string[] = [];
		let count = false;
		if (this.isWord('COUNT') && this.tokens[this.i + 1]?.v === '(') {
			this.i += 2;
			if (this.peek()?.t === 'word') this.i++;
			this.expectPunct(')');
			count = true;
		} else {
			for (;;) {
				fields.push(this.fieldName());
				if (this.peek()?.v === ',') {
					this.i++;
					continue;
				}
				break;
			}
		}
		this.expectWord('FROM');
		const from = this.fieldName();
		const q: SoqlQuery = { fields, count, from, orderBy: [] };
		if (this.isWord('WHERE')) {
			this.i++;
			q.where = this.orExpr();
		}
		if (this.isWord('ORDER') && this.isWord('BY', 1)) {
			this.i += 2;
			for (;;) {
				const field = this.fieldName();
				let desc = false;
				if (this.isWord('ASC')) this.i++;
				else if (this.isWord('DESC')) {
					desc = true;
					this.i++;
				}
				let nullsLast = desc;
				if (this.isWord('NULLS')) {
					this.i++;
					if (this.isWord('FIRST')) nullsLast = false;
					else if (this.isWord('LAST')) nullsLast = true;
					else throw new SoqlError('MALFORMED_QUERY', 'expecting FIRST or LAST after NULLS');
					this.i++;
				}
				q.orderBy.push({ field, desc, nullsLast });
				if (this.peek()?.v === ',') {
					this.i++;
					continue;
				}
				break;
			}
		}
		if (this.isWord('LIMIT')) {
			this.i++;
			q.limit = this.integer('LIMIT');
		}
		if (this.isWord('OFFSET')) {
			this.i++;
			q.offset = this.integer('OFFSET');
			if (q.offset > 2000) throw new SoqlError('MALFORMED_QUERY', 'maximum SOQL offset allowed is 2000');
		}
		if (this.i < this.tokens.length) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${this.tokens[this.i].v}'`);
		return q;
	}

	private integer(what: string): number {
		const t = this.peek();
		if (t?.t !== 'number' || !/^\d+$/.test(t.v)) throw new SoqlError('MALFORMED_QUERY', `${what} needs a non-negative integer`);
		this.i++;
		return Number(t.v);
	}

	private orExpr(): Condition {
		const items = [this.andExpr()];
		while (this.isWord('OR')) {
			this.i++;
			items.push(this.andExpr());
		}
		return items.length === 1 ? items[0] : { kind: 'or', items };
	}

	private andExpr(): Condition {
		const items = [this.notExpr()];
		while (this.isWord('AND')) {
			this.i++;
			items.push(this.notExpr());
		}
		return items.length === 1 ? items[0] : { kind: 'and', items };
	}

	private notExpr(): Condition {
		if (this.isWord('NOT')) {
			this.i++;
			return { kind: 'not', item: this.notExpr() };
		}
		if (this.peek()?.v === '(') {
			this.i++;
			const c = this.orExpr();
			this.expectPunct(')');
			return c;
		}
		const field = this.fieldName();
		if (this.isWord('IN') || (this.isWord('NOT') && this.isWord('IN', 1))) {
			const negate = this.isWord('NOT');
			this.i += negate ? 2 : 1;
			this.expectPunct('(');
			const values: Literal[] = [];
			for (;;) {
				values.push(this.literal());
				if (this.peek()?.v === ',') {
					this.i++;
					continue;
				}
				break;
			}
			this.expectPunct(')');
			return { kind: 'in', field, negate, values };
		}
		if (this.isWord('LIKE')) {
			this.i++;
			const lit = this.literal();
			if (lit.kind !== 'string') throw new SoqlError('MALFORMED_QUERY', 'LIKE needs a string pattern');
			return { kind: 'like', field, pattern: lit.value, regex: new RegExp(`^${lit.like ?? likeSource(lit.value)}$`, 'is') };
		}
		const op = this.peek();
		if (op?.t !== 'op') throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${op?.v ?? 'end of query'}' after ${field}`);
		this.i++;
		return { kind: 'cmp', field, op: op.v as '=', value: this.literal() };
	}

	private literal(): Literal {
		const t = this.peek();
		if (!t) throw new SoqlError('MALFORMED_QUERY', 'unexpected end of query');
		this.i++;
		switch (t.t) {
			case 'string':
				return { kind: 'string', value: t.v, like: t.like };
			case 'number':
				return { kind: 'number', value: Number(t.v) };
			case 'datetime': {
				const ms = Date.parse(t.v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
				if (Number.isNaN(ms)) throw new SoqlError('MALFORMED_QUERY', `invalid datetime literal ${t.v}`);
				return { kind: 'datetime', value: ms, text: t.v };
			}
			case 'date':
				return { kind: 'date', value: t.v };
			case 'word': {
				const u = t.v.toUpperCase();
				if (u === 'TRUE' || u === 'FALSE') return { kind: 'boolean', value: u === 'TRUE' };
				if (u === 'NULL') return { kind: 'null' };
				const kw = dateKeyword(t.v, this.now);
				if (kw) return kw;
			}
		}
		throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${t.v}'`);
	}
}

export function parseSoql(q: string, now = Date.now()): SoqlQuery {
	if (!q || !q.trim()) throw new SoqlError('MALFORMED_QUERY', 'empty query');
	return new Parser(tokenize(q), now).parse();
}

function escapeRegex(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** RegExp source of an unescaped LIKE pattern (% and _ wildcards). */
function likeSource(pattern: string): string {
	return escapeRegex(pattern).replace(/%/g, '.*').replace(/_/g, '.');
}

/** Converts a LIKE pattern (% and _) to a case-insensitive RegExp. */
export function likeRegex(pattern: string): RegExp {
	return new RegExp(`^${likeSource(pattern)}$`, 'is');
}
