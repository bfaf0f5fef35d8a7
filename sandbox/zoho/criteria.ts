// A documented subset of Zoho CRM search `criteria`:
//   (Field:operator:value)  joined with `and` / `or`, nested with parentheses, e.g.
//   ((Email:equals:a@b.com)or(Phone:equals:555\(1\)))
// Operators: equals, not_equal, starts_with, in (comma-separated values), greater_than,
// greater_equal, less_than, less_equal, between (two comma-separated values).
// In values, `(`, `)` and `,` are escaped with a backslash. Comparison of text is
// case-insensitive; datetime fields compare as instants; numbers numerically.

export type Criterion = {
	kind: 'cond';
	field: string;
	op: 'equals' | 'not_equal' | 'starts_with' | 'in' | 'greater_than' | 'greater_equal' | 'less_than' | 'less_equal' | 'between';
	values: string[];
};
export type CriteriaNode = Criterion | { kind: 'and' | 'or'; left: CriteriaNode; right: CriteriaNode };

export class CriteriaError extends Error {}

const OPS = new Set(['equals', 'not_equal', 'starts_with', 'in', 'greater_than', 'greater_equal', 'less_than', 'less_equal', 'between']);

export function parseCriteria(src: string): CriteriaNode {
	let pos = 0;
	const s = src.trim();
	const skipWs = (): void => {
		while (s[pos] === ' ') pos++;
	};
	const group = (): CriteriaNode => {
		skipWs();
		if (s[pos] !== '(') throw new CriteriaError(`invalid criteria: '(' expected at ${pos}`);
		pos++;
		skipWs();
		let node: CriteriaNode;
		if (s[pos] === '(') {
			node = expr();
			skipWs();
		} else {
			node = condition();
		}
		if (s[pos] !== ')') throw new CriteriaError(`invalid criteria: ')' expected at ${pos}`);
		pos++;
		return node;
	};
	const expr = (): CriteriaNode => {
		let left = group();
		for (;;) {
			skipWs();
			const rest = s.slice(pos, pos + 3).toLowerCase();
			if (rest === 'and') {
				pos += 3;
				left = { kind: 'and', left, right: group() };
			} else if (rest.startsWith('or')) {
				pos += 2;
				left = { kind: 'or', left, right: group() };
			} else return left;
		}
	};
	const condition = (): Criterion => {
		// Field:operator:value up to the unescaped ')'
		let raw = '';
		while (pos < s.length && s[pos] !== ')') {
			if (s[pos] === '\\' && pos + 1 < s.length) {
				raw += s[pos] + s[pos + 1];
				pos += 2;
			} else raw += s[pos++];
		}
		const first = raw.indexOf(':');
		const second = first < 0 ? -1 : raw.indexOf(':', first + 1);
		if (first < 0 || second < 0) throw new CriteriaError(`invalid criteria condition '${raw}'`);
		const field = raw.slice(0, first).trim();
		const op = raw.slice(first + 1, second).trim().toLowerCase();
		if (!OPS.has(op)) throw new CriteriaError(`unsupported criteria operator '${op}'`);
		const valuePart = raw.slice(second + 1);
		const values: string[] = [];
		let cur = '';
		for (let i = 0; i < valuePart.length; i++) {
			const c = valuePart[i];
			if (c === '\\' && i + 1 < valuePart.length) cur += valuePart[++i];
			else if (c === ',' && (op === 'in' || op === 'between')) {
				values.push(cur.trim());
				cur = '';
			} else cur += c;
		}
		values.push(op === 'in' || op === 'between' ? cur.trim() : cur);
		if (op === 'between' && values.length !== 2) throw new CriteriaError('between needs two values');
		return { kind: 'cond', field, op: op as Criterion['op'], values };
	};
	const tree = expr();
	skipWs();
	if (pos !== s.length) throw new CriteriaError(`invalid criteria: unexpected '${s.slice(pos)}'`);
	return tree;
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function asComparable(v: unknown, probe: string): number | string | undefined {
	if (v === undefined || v === null) return undefined;
	if (ISO_RE.test(probe)) {
		const ms = Date.parse(String(v));
		return Number.isNaN(ms) ? undefined : ms;
	}
	if (typeof v === 'number') return v;
	if (typeof v === 'object' && v !== null && 'name' in v) return String((v as { name: unknown }).name).toLowerCase();
	return String(v).toLowerCase();
}

function probeValue(probe: string, sample: number | string): number | string {
	if (typeof sample === 'number') {
		if (ISO_RE.test(probe)) return Date.parse(probe);
		return Number(probe);
	}
	return probe.toLowerCase();
}

export function matchesCriteria(node: CriteriaNode, row: Record<string, unknown>): boolean {
	if (node.kind !== 'cond') {
		return node.kind === 'and' ? matchesCriteria(node.left, row) && matchesCriteria(node.right, row) : matchesCriteria(node.left, row) || matchesCriteria(node.right, row);
	}
	const raw = row[node.field];
	const own = asComparable(raw, node.values[0]);
	if (own === undefined) return node.op === 'not_equal';
	const vals = node.values.map((v) => probeValue(v, own));
	switch (node.op) {
		case 'equals':
		case 'in':
			return vals.some((v) => v === own);
		case 'not_equal':
			return vals.every((v) => v !== own);
		case 'starts_with':
			return typeof own === 'string' && own.startsWith(String(vals[0]));
		case 'greater_than':
			return own > vals[0];
		case 'greater_equal':
			return own >= vals[0];
		case 'less_than':
			return own < vals[0];
		case 'less_equal':
			return own <= vals[0];
		case 'between':
			return own >= vals[0] && own <= vals[1];
	}
	return false;
}

/**
 * Index lookups whose union is a superset of the rows matching `node`, or undefined when the
 * criteria need a full scan. Callers still run matchesCriteria on every candidate.
 */
export function indexLookups(node: CriteriaNode, fields: readonly string[]): { field: string; value: string }[] | undefined {
	if (node.kind === 'cond') {
		if ((node.op === 'equals' || node.op === 'in') && fields.includes(node.field)) {
			return node.values.map((value) => ({ field: node.field, value }));
		}
		return undefined;
	}
	const l = indexLookups(node.left, fields);
	const r = indexLookups(node.right, fields);
	if (node.kind === 'and') return l ?? r;
	return l && r ? [...l, ...r] : undefined;
}
