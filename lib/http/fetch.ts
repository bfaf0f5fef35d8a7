// Minimal JSON-over-HTTP client on Node's fetch, for CRMs without an SDK (Zoho, Dynamics) and
// for token endpoints. Non-2xx replies reject with HttpStatusError carrying status, headers and
// the parsed body, so each connector's classify() can read its CRM's own error shape.

export interface HttpRequest {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	url: string;
	query?: Record<string, string | number | boolean | undefined | Array<string | number>>;
	headers?: Record<string, string>;
	/** Sent as JSON unless it is a string (sent as is) or `form` is used. */
	body?: unknown;
	/** Sent as application/x-www-form-urlencoded. */
	form?: Record<string, string>;
	/** Abort after this long. */
	timeoutMs?: number;
	/** Abort when this fires (the transport's attempt signal). */
	signal?: AbortSignal;
}

export interface HttpResponse<T = unknown> {
	status: number;
	headers: Headers;
	/** Parsed JSON, the raw text when not JSON, or undefined for an empty body. */
	body: T;
}

export class HttpStatusError extends Error {
	constructor(
		readonly status: number,
		readonly headers: Headers,
		readonly body: unknown,
		readonly request: { method: string; url: string },
	) {
		super(`${request.method} ${request.url} answered ${status}`);
		this.name = 'HttpStatusError';
	}
}

export async function httpRequest<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
	const url = new URL(request.url);
	for (const [key, value] of Object.entries(request.query ?? {})) {
		if (value === undefined) continue;
		if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
		else url.searchParams.set(key, String(value));
	}
	const headers: Record<string, string> = { Accept: 'application/json', ...request.headers };
	let body: string | undefined;
	if (request.form) {
		body = new URLSearchParams(request.form).toString();
		headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
	} else if (request.body !== undefined) {
		body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
		headers['Content-Type'] ??= 'application/json';
	}
	const response = await fetch(url, {
		method: request.method,
		headers,
		body,
		signal: abortSignal(request),
	});
	const text = await response.text();
	let parsed: unknown = undefined;
	if (text !== '') {
		try {
			parsed = JSON.parse(text);
		} catch {
			parsed = text;
		}
	}
	if (response.status >= 400) throw new HttpStatusError(response.status, response.headers, parsed, { method: request.method, url: url.toString() });
	return { status: response.status, headers: response.headers, body: parsed as T };
}

function abortSignal({ timeoutMs, signal }: HttpRequest): AbortSignal | undefined {
	const signals = [...(signal ? [signal] : []), ...(timeoutMs ? [AbortSignal.timeout(timeoutMs)] : [])];
	return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}
