// One attempt of a transport call (transport.ts) and its AbortSignal, aborted when the transport
// stops waiting for it (timeout). Aborting matters: a request left running can still reach the CRM
// after its retry (a second create, or an older update landing over a newer one).
//
// Plain fetch takes the signal directly (HttpRequest.signal). SDKs whose requests cannot be handed
// a signal find the attempt they run in through currentAttempt() (AsyncLocalStorage):
// - @hubspot/api-client takes an http(s) Agent: abortableAgent() ties each request to the attempt.
// - jsforce aborts its own fetch after `timeout` ms: it is given the time left (see salesforce.ts).
// - Pipedrive's axios (the SDK ignores request options) aborts after its own timeout, the transport's.

import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import * as https from 'node:https';
import { addAbortSignal } from 'node:stream';

export interface Attempt {
	/** Aborted when the transport gives up on this attempt. */
	signal: AbortSignal;
	/** When the transport gives up on it (epoch ms). */
	deadline: number;
}

const running = new AsyncLocalStorage<Attempt>();

/** Runs `fn` as (part of) `attempt`: code it calls sees the attempt through currentAttempt(). */
export function runAttempt<T>(attempt: Attempt, fn: () => T): T {
	return running.run(attempt, fn);
}

/** The transport attempt the caller runs in, if any. */
export function currentAttempt(): Attempt | undefined {
	return running.getStore();
}

/**
 * A keep-alive http(s) Agent for `url` whose requests are destroyed (socket closed) when the
 * attempt they were made in is aborted. For SDKs that accept an agent but no AbortSignal.
 */
export function abortableAgent(url: string): http.Agent {
	const agent = new URL(url).protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
	// http.request hands every request to its agent's addRequest (the hook proxy agents use too);
	// addAbortSignal is what http.request itself does with a `signal` option.
	const hooked = agent as unknown as { addRequest(request: http.ClientRequest, options: unknown): void };
	const addRequest = hooked.addRequest.bind(agent);
	hooked.addRequest = (request, options) => {
		const signal = currentAttempt()?.signal;
		if (signal) addAbortSignal(signal, request);
		addRequest(request, options);
	};
	return agent;
}
