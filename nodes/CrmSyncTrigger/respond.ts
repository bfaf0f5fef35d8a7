// What the trigger gives back: a direct answer to the request, and the items of its two outputs.

import type { ServerResponse } from 'node:http';

import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { EnrichedEvent, WebhookReply } from '../../lib/webhooks';

/** Answers the request directly: bad requests and empty deliveries start no execution. */
export function send(res: ServerResponse, reply: WebhookReply): void {
	res.statusCode = reply.status;
	res.setHeader('content-type', reply.contentType);
	for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
	res.end(reply.body);
}

/** Answers with `reply` and starts no execution. */
export function answerOnly(res: ServerResponse, reply: WebhookReply): IWebhookResponseData {
	send(res, reply);
	return { noWebhookResponse: true };
}

/** Deletes, erasures and merges carry an empty record, so that mappers downstream pass them on. */
function toItem(event: EnrichedEvent, includeRaw: boolean): INodeExecutionData {
	const { raw, ...rest } = event;
	const json = { ...rest, record: rest.record ?? {} };
	return { json: (includeRaw ? { ...json, raw } : json) as unknown as IDataObject };
}

/** The Events and Errors outputs (the request is answered already); nothing to hand on starts no execution. */
export function handOn(ctx: IWebhookFunctions, events: EnrichedEvent[], errors: INodeExecutionData[]): IWebhookResponseData {
	if (events.length === 0 && errors.length === 0) return { noWebhookResponse: true };
	const includeRaw = ctx.getNodeParameter('includeRaw', false) as boolean;
	return { noWebhookResponse: true, workflowData: [events.map((event) => toItem(event, includeRaw)), errors] };
}
