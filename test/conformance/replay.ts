// Serves recorded CRM replies, so that a connector meets the real API's bytes: a fixture's status,
// headers and body, in the order the test queues them. This is recorded data, not an emulator: it
// does not look at what is asked beyond keeping a log of the requests for the test to check.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReplayReply {
	status: number;
	headers?: Record<string, string>;
	/** A string is sent as is; anything else as JSON. */
	body?: unknown;
}

export interface ReplayedRequest {
	method: string;
	url: string;
	headers: IncomingMessage['headers'];
	body: string;
}

export interface ReplayServer {
	url: string;
	/** Queues replies for the next requests; once the queue is empty, the last reply repeats. */
	reply(...replies: ReplayReply[]): void;
	/** Answers by request: the first rule whose test matches (method and path) answers. */
	route(match: (request: ReplayedRequest) => boolean, reply: ReplayReply): void;
	requests: ReplayedRequest[];
	close(): Promise<void>;
}

const NO_REPLY: ReplayReply = { status: 599, body: 'replay server: no reply queued for this request' };

export async function replayServer(): Promise<ReplayServer> {
	const queue: ReplayReply[] = [];
	const routes: Array<{ match: (request: ReplayedRequest) => boolean; reply: ReplayReply }> = [];
	let last: ReplayReply = NO_REPLY;
	const requests: ReplayedRequest[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const request: ReplayedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
			requests.push(request);
			const routed = routes.find((r) => r.match(request))?.reply;
			const reply = routed ?? (queue.length > 0 ? (last = queue.shift()!) : last);
			const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
			const headers: Record<string, string> = { ...reply.headers };
			// Recorded lengths belong to the recorded bytes; the body may be re-serialized.
			for (const name of Object.keys(headers)) if (/^(content-length|transfer-encoding|content-encoding|connection)$/i.test(name)) delete headers[name];
			if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json;charset=UTF-8';
			res.writeHead(reply.status, headers);
			res.end(body);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		reply: (...replies) => queue.push(...replies),
		route: (match, reply) => routes.push({ match, reply }),
		requests,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
