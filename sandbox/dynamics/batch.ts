// OData $batch wire format (multipart/mixed with application/http parts and nested
// changesets), parsing requests and writing responses.

import { randomUUID } from 'node:crypto';

export interface BatchRequest {
	method: string;
	url: string;
	headers: Record<string, string>;
	body: string;
	contentId?: string;
}

export type BatchItem = { kind: 'request'; req: BatchRequest } | { kind: 'changeset'; reqs: BatchRequest[] };

export interface BatchResponse {
	status: number;
	headers: Record<string, string>;
	body?: string;
	contentId?: string;
}

export type BatchResult = { kind: 'request'; res: BatchResponse } | { kind: 'changeset'; res: BatchResponse[] };

export class BatchFormatError extends Error {}

export function boundaryOf(contentType: string | undefined): string | undefined {
	const m = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
	return m?.[2];
}

/** Splits a multipart body into parts (each: header map + body text). */
function splitParts(raw: string, boundary: string): { headers: Record<string, string>; body: string }[] {
	const lines = raw.split(/\r?\n/);
	const parts: string[][] = [];
	let cur: string[] | undefined;
	let closed = false;
	for (const line of lines) {
		if (line === `--${boundary}--`) {
			if (cur) parts.push(cur);
			cur = undefined;
			closed = true;
			break;
		}
		if (line === `--${boundary}`) {
			if (cur) parts.push(cur);
			cur = [];
			continue;
		}
		if (cur) cur.push(line);
	}
	if (!closed) throw new BatchFormatError(`The batch body is missing the closing boundary '--${boundary}--'.`);
	return parts.map((p) => {
		const headers: Record<string, string> = {};
		let i = 0;
		for (; i < p.length && p[i] !== ''; i++) {
			const idx = p[i].indexOf(':');
			if (idx > 0) headers[p[i].slice(0, idx).trim().toLowerCase()] = p[i].slice(idx + 1).trim();
		}
		return { headers, body: p.slice(i + 1).join('\r\n') };
	});
}

function parseHttp(text: string, contentId?: string): BatchRequest {
	const lines = text.split(/\r?\n/);
	const first = lines.shift() ?? '';
	const m = /^(GET|POST|PATCH|PUT|DELETE)\s+(\S+)(\s+HTTP\/1\.[01])?$/i.exec(first.trim());
	if (!m) throw new BatchFormatError(`Invalid request line in batch part: '${first}'`);
	const headers: Record<string, string> = {};
	let i = 0;
	for (; i < lines.length && lines[i] !== ''; i++) {
		const idx = lines[i].indexOf(':');
		if (idx > 0) headers[lines[i].slice(0, idx).trim().toLowerCase()] = lines[i].slice(idx + 1).trim();
	}
	const body = lines.slice(i + 1).join('\r\n').trim();
	return { method: m[1].toUpperCase(), url: m[2], headers, body, contentId: contentId ?? headers['content-id'] };
}

export function parseBatch(raw: string, boundary: string): BatchItem[] {
	const items: BatchItem[] = [];
	for (const part of splitParts(raw, boundary)) {
		const type = part.headers['content-type'] ?? '';
		if (/^multipart\/mixed/i.test(type)) {
			const inner = boundaryOf(type);
			if (!inner) throw new BatchFormatError('Changeset part without boundary');
			const reqs = splitParts(part.body, inner).map((p) => parseHttp(p.body, p.headers['content-id']));
			for (const r of reqs) if (r.method === 'GET') throw new BatchFormatError('GET requests are not allowed inside a changeset');
			items.push({ kind: 'changeset', reqs });
		} else if (/^application\/http/i.test(type)) {
			items.push({ kind: 'request', req: parseHttp(part.body, part.headers['content-id']) });
		} else throw new BatchFormatError(`Unsupported batch part content type '${type}'`);
	}
	return items;
}

const REASON: Record<number, string> = {
	200: 'OK',
	201: 'Created',
	204: 'No Content',
	304: 'Not Modified',
	400: 'Bad Request',
	401: 'Unauthorized',
	404: 'Not Found',
	405: 'Method Not Allowed',
	412: 'Precondition Failed',
	429: 'Too Many Requests',
	500: 'Internal Server Error',
	501: 'Not Implemented',
};

function httpPart(res: BatchResponse): string {
	const head = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
	if (res.contentId !== undefined) head.push(`Content-ID: ${res.contentId}`);
	const lines = [...head, '', `HTTP/1.1 ${res.status} ${REASON[res.status] ?? ''}`.trimEnd()];
	for (const [k, v] of Object.entries(res.headers)) lines.push(`${k}: ${v}`);
	lines.push('');
	if (res.body) lines.push(res.body);
	return lines.join('\r\n');
}

export function buildBatchResponse(results: BatchResult[]): { contentType: string; body: string } {
	const boundary = `batchresponse_${randomUUID()}`;
	const out: string[] = [];
	for (const r of results) {
		out.push(`--${boundary}`);
		if (r.kind === 'request') out.push(httpPart(r.res));
		else {
			const cs = `changesetresponse_${randomUUID()}`;
			out.push(`Content-Type: multipart/mixed; boundary=${cs}`, '');
			for (const res of r.res) out.push(`--${cs}`, httpPart(res));
			out.push(`--${cs}--`);
		}
	}
	out.push(`--${boundary}--`, '');
	return { contentType: `multipart/mixed; boundary=${boundary}`, body: out.join('\r\n') };
}
