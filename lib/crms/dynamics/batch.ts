// OData $batch (multipart/mixed) for the Dataverse Web API: each operation goes in a changeset of
// its own, so one bad record rolls back only itself, and `Prefer: odata.continue-on-error` lets
// the rest of the batch run. Responses are matched back to operations by Content-ID.

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

/** Builds the $batch body: one changeset per operation, Content-ID = index + 1. */
export function buildBatch(operations: BatchOperation[]): { contentType: string; body: string } {
	const batch = `batch_${randomUUID()}`;
	const lines: string[] = [];
	operations.forEach((op, i) => {
		const changeset = `changeset_${randomUUID()}`;
		lines.push(`--${batch}`, `Content-Type: multipart/mixed; boundary=${changeset}`, '');
		lines.push(`--${changeset}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', `Content-ID: ${i + 1}`, '');
		lines.push(`${op.method} ${op.url} HTTP/1.1`);
		const headers: Record<string, string> = { ...(op.body !== undefined ? { 'Content-Type': 'application/json; type=entry' } : {}), ...op.headers };
		for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
		lines.push('');
		if (op.body !== undefined) lines.push(JSON.stringify(op.body));
		lines.push(`--${changeset}--`);
	});
	lines.push(`--${batch}--`, '');
	return { contentType: `multipart/mixed; boundary=${batch}`, body: lines.join('\r\n') };
}

/**
 * Parses a $batch response into results keyed by Content-ID (operation index + 1). A failed
 * changeset comes back as a single application/http part in its place; parts without a
 * Content-ID are assigned in order to the operations not yet answered.
 */
export function parseBatchResponse(contentType: string | null, text: string, count: number): Map<number, BatchOperationResult> {
	// Without a boundary in the header (the documented replies print none), the body's first
	// delimiter line names it.
	const boundary = boundaryOf(contentType) ?? /^\s*--(batchresponse_[^\s]+)/.exec(text)?.[1];
	if (!boundary) throw new Error(`$batch response without a multipart boundary (Content-Type ${contentType ?? 'missing'})`);
	const results = new Map<number, BatchOperationResult>();
	const unnumbered: BatchOperationResult[] = [];
	const collect = (part: Part): void => {
		const type = part.headers['content-type'] ?? '';
		if (/^multipart\/mixed/i.test(type)) {
			const inner = boundaryOf(type);
			if (inner) for (const p of splitParts(part.body, inner)) collect(p);
			return;
		}
		const result = parseHttpResponse(part.body);
		const id = Number(part.headers['content-id'] ?? result.headers['content-id']);
		if (Number.isInteger(id) && id >= 1 && id <= count && !results.has(id)) results.set(id, result);
		else unnumbered.push(result);
	};
	for (const part of splitParts(text, boundary)) collect(part);
	for (let id = 1; id <= count && unnumbered.length; id++) if (!results.has(id)) results.set(id, unnumbered.shift()!);
	return results;
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
