// OData $batch (multipart/mixed) for the Dataverse Web API: each record's operations go in a
// changeset of their own (usually one operation; an opportunity closed as won or lost is written and
// closed in one), so one bad record rolls back only itself, and `Prefer: odata.continue-on-error`
// lets the rest of the batch run. Responses are matched back to changesets by Content-ID; a failed
// changeset answers one part without a Content-ID in its place (batch-response-continue-on-error.http).

import { randomUUID } from 'node:crypto';

export interface BatchOperation {
	method: 'POST' | 'PATCH' | 'DELETE';
	/** Absolute URL of the operation. */
	url: string;
	headers?: Record<string, string>;
	body?: unknown;
}

export interface BatchOperationResult {
	status: number;
	headers: Record<string, string>;
	/** Parsed JSON body, or the raw text, or undefined when empty. */
	body: unknown;
}

/**
 * Builds the $batch body: one changeset per group, Content-IDs numbered across the batch from 1.
 * Inside a group, an `@odata.bind` value `$<n>` names the group's own n-th operation (1-based) and
 * is rewritten to that operation's Content-ID (a record created and then closed in one changeset).
 */
export function buildBatch(groups: Array<BatchOperation | BatchOperation[]>): { contentType: string; body: string } {
	const batch = `batch_${randomUUID()}`;
	const lines: string[] = [];
	let contentId = 0;
	for (const group of groups.map((g) => (Array.isArray(g) ? g : [g]))) {
		const changeset = `changeset_${randomUUID()}`;
		const first = contentId + 1;
		lines.push(`--${batch}`, `Content-Type: multipart/mixed; boundary=${changeset}`, '');
		for (const op of group) {
			lines.push(`--${changeset}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', `Content-ID: ${++contentId}`, '');
			lines.push(`${op.method} ${op.url} HTTP/1.1`);
			const headers: Record<string, string> = { ...(op.body !== undefined ? { 'Content-Type': 'application/json; type=entry' } : {}), ...op.headers };
			for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
			lines.push('');
			if (op.body !== undefined) lines.push(JSON.stringify(withContentIds(op.body, first, group.length)));
		}
		lines.push(`--${changeset}--`);
	}
	lines.push(`--${batch}--`, '');
	return { contentType: `multipart/mixed; boundary=${batch}`, body: lines.join('\r\n') };
}

/** `…@odata.bind: "$n"` (n = 1..size, the group's own operations) → the batch-wide Content-ID `$<first + n - 1>`. */
function withContentIds(body: unknown, first: number, size: number): unknown {
	if (Array.isArray(body)) return body.map((v) => withContentIds(v, first, size));
	if (typeof body !== 'object' || body === null) return body;
	const out: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(body)) {
		const ref = key.endsWith('@odata.bind') && typeof value === 'string' ? /^\$(\d+)$/.exec(value) : null;
		out[key] = ref && Number(ref[1]) >= 1 && Number(ref[1]) <= size ? `$${first + Number(ref[1]) - 1}` : withContentIds(value, first, size);
	}
	return out;
}

/**
 * Parses a $batch response into the results of each group (changeset), by group index, given the
 * number of operations of each group as sent. A committed changeset answers every operation (by
 * Content-ID); a failed one answers a single part, the failing operation's error, in its place
 * (with or without a Content-ID). A part without a Content-ID goes to the first group, in order,
 * that has no answer yet. Groups the server never reached (a batch that stopped) are absent.
 */
export function parseBatchResponse(contentType: string | null, text: string, groupSizes: number[]): Map<number, BatchOperationResult[]> {
	// Without a boundary in the header (the documented replies print none), the body's first
	// delimiter line names it.
	const boundary = boundaryOf(contentType) ?? /^\s*--(batchresponse_[^\s]+)/.exec(text)?.[1];
	if (!boundary) throw new Error(`$batch response without a multipart boundary (Content-Type ${contentType ?? 'missing'})`);
	// Content-ID → [group, position in the group].
	const owner = new Map<number, [number, number]>();
	let next = 1;
	groupSizes.forEach((size, group) => {
		for (let i = 0; i < size; i++) owner.set(next++, [group, i]);
	});
	const answers = new Map<number, BatchOperationResult[]>();
	const place = (result: BatchOperationResult, contentId: number): void => {
		const known = owner.get(contentId);
		let group = known?.[0];
		if (group === undefined || (answers.get(group)?.[known![1]] !== undefined)) {
			group = groupSizes.findIndex((_, g) => !answers.has(g));
			if (group < 0) return;
		}
		const list = answers.get(group) ?? [];
		if (known && known[0] === group) list[known[1]] = result;
		else list.push(result);
		answers.set(group, list);
	};
	const collect = (part: Part): void => {
		const type = part.headers['content-type'] ?? '';
		if (/^multipart\/mixed/i.test(type)) {
			const inner = boundaryOf(type);
			if (inner) for (const p of splitParts(part.body, inner)) collect(p);
			return;
		}
		const result = parseHttpResponse(part.body);
		place(result, Number(part.headers['content-id'] ?? result.headers['content-id']));
	};
	for (const part of splitParts(text, boundary)) collect(part);
	// Dense arrays: a committed changeset holds one result per operation in order.
	for (const [group, list] of answers) answers.set(group, list.filter((r) => r !== undefined));
	return answers;
}

interface Part {
	headers: Record<string, string>;
	body: string;
}

function boundaryOf(contentType: string | null | undefined): string | undefined {
	return /boundary=("?)([^";]+)\1/i.exec(contentType ?? '')?.[2];
}

function splitParts(text: string, boundary: string): Part[] {
	const parts: Part[] = [];
	let current: string[] | undefined;
	for (const line of text.split(/\r?\n/)) {
		if (line === `--${boundary}--`) break;
		if (line === `--${boundary}`) {
			if (current) parts.push(toPart(current));
			current = [];
		} else current?.push(line);
	}
	if (current) parts.push(toPart(current));
	return parts;
}

function toPart(lines: string[]): Part {
	const { headers, rest } = readHeaders(lines);
	return { headers, body: rest.join('\r\n') };
}

function readHeaders(lines: string[]): { headers: Record<string, string>; rest: string[] } {
	const headers: Record<string, string> = {};
	let i = 0;
	for (; i < lines.length && lines[i] !== ''; i++) {
		const at = lines[i].indexOf(':');
		if (at > 0) headers[lines[i].slice(0, at).trim().toLowerCase()] = lines[i].slice(at + 1).trim();
	}
	return { headers, rest: lines.slice(i + 1) };
}

function parseHttpResponse(text: string): BatchOperationResult {
	const lines = text.split(/\r?\n/);
	while (lines.length && lines[0].trim() === '') lines.shift();
	const status = Number(/^HTTP\/1\.[01]\s+(\d{3})/.exec(lines.shift() ?? '')?.[1] ?? 0);
	const { headers, rest } = readHeaders(lines);
	const raw = rest.join('\r\n').trim();
	let body: unknown = undefined;
	if (raw !== '') {
		try {
			body = JSON.parse(raw);
		} catch {
			body = raw;
		}
	}
	return { status, headers, body };
}
