// Minimal router and request/reply types for the emulators' node:http servers.

import type { IncomingHttpHeaders } from 'node:http';

/** A parsed incoming request, handed to route handlers. */
export interface RequestContext {
	method: string;
	/** Path without query string, percent-decoding left to handlers via params. */
	path: string;
	url: URL;
	query: URLSearchParams;
	/** Named path parameters (decoded). */
	params: Record<string, string>;
	headers: IncomingHttpHeaders;
	rawBody: Buffer;
	/** JSON value, form object (string values), or text (XML etc.); undefined when empty. */
	body: unknown;
	/** Token accepted by the emulator's authenticate(), if the route is authenticated. */
	token?: string;
	/** Per-request scratch space for emulators. */
	state: Record<string, unknown>;
}

/** A reply: objects/arrays are sent as JSON, strings and Buffers as-is. */
export interface Reply {
	status: number;
	headers?: Record<string, string | number | string[]>;
	body?: unknown;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface RouteOptions {
	/** No authentication and no API rate limiting (token endpoints, SOAP with its own session). */
	public?: boolean;
	/** Rate-limit bucket hint passed to the emulator's rate-limit hook (e.g. 'search'). */
	bucket?: string;
}

interface Route {
	method: string;
	regex: RegExp;
	names: string[];
	handler: Handler;
	options: RouteOptions;
}

export interface RouteMatch {
	handler: Handler;
	params: Record<string, string>;
	options: RouteOptions;
}

/**
 * Routes by method and path. Patterns are either strings with `:name` segments
 * (`/crm/v3/objects/:type/:id`; a `:name*` segment matches the rest of the path) or RegExps
 * with named groups. First registered match wins, so register specific routes first.
 */
export class Router {
	private readonly routes: Route[] = [];

	add(method: string, pattern: string | RegExp, handler: Handler, options: RouteOptions = {}): this {
		let regex: RegExp;
		const names: string[] = [];
		if (typeof pattern === 'string') {
			const src = pattern
				.split('/')
				.map((seg) => {
					const m = /^:(\w+)(\*)?$/.exec(seg);
					if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
					names.push(m[1]);
					return m[2] ? '(.+)' : '([^/]+)';
				})
				.join('/');
			regex = new RegExp(`^${src}/?$`);
		} else {
			regex = pattern;
		}
		this.routes.push({ method: method.toUpperCase(), regex, names, handler, options });
		return this;
	}

	get(p: string | RegExp, h: Handler, o?: RouteOptions): this {
		return this.add('GET', p, h, o);
	}
	post(p: string | RegExp, h: Handler, o?: RouteOptions): this {
		return this.add('POST', p, h, o);
	}
	patch(p: string | RegExp, h: Handler, o?: RouteOptions): this {
		return this.add('PATCH', p, h, o);
	}
	put(p: string | RegExp, h: Handler, o?: RouteOptions): this {
		return this.add('PUT', p, h, o);
	}
	delete(p: string | RegExp, h: Handler, o?: RouteOptions): this {
		return this.add('DELETE', p, h, o);
	}

	/** Finds a route; `methodMismatch` is true when the path exists under another method. */
	match(method: string, path: string): RouteMatch | { methodMismatch: boolean } {
		let methodMismatch = false;
		for (const r of this.routes) {
			const m = r.regex.exec(path);
			if (!m) continue;
			if (r.method !== method.toUpperCase()) {
				methodMismatch = true;
				continue;
			}
			const params: Record<string, string> = {};
			r.names.forEach((n, i) => (params[n] = safeDecode(m[i + 1])));
			for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) params[k] = safeDecode(v);
			return { handler: r.handler, params, options: r.options };
		}
		return { methodMismatch };
	}
}

function safeDecode(s: string): string {
	try {
		return decodeURIComponent(s);
	} catch {
		return s;
	}
}

/** JSON reply helper. */
export function json(status: number, body: unknown, headers?: Reply['headers']): Reply {
	return { status, body, headers };
}

/** Header value as a single string. */
export function header(ctx: RequestContext, name: string): string | undefined {
	const v = ctx.headers[name.toLowerCase()];
	return Array.isArray(v) ? v[0] : v;
}
