// One delivery to the webhook of one CRM (named after it): 404 when the CRM is not ticked, the
// body limit, the CRM's checks (handleWebhook), then the events accepted and handed on. A CRM that
// redelivers is answered after the reads; Zoho goes through ./inbox.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';

import type { INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { crmModule } from '../../lib/crms';
import type { CrmName, EntityType } from '../../lib/model';
import { acceptAndEnrich, handleWebhook, unavailableReply, type SkippedEvent, type WebhookReply } from '../../lib/webhooks';
import { enrichOptions, failureDetail, FETCH_BUDGET, openStore } from './accept';
import { answerThenProcess } from './inbox';
import { answerOnly, handOn, send } from './respond';
import { crmWebhookName, tickedCrms } from './settings';
import { renewSubscriptionIfDue } from './subscription';
import { maxBodyKb, verifyConfig } from './verification';

type RawRequest = IncomingMessage & { originalUrl?: string; ip?: string; rawBody?: Buffer; readRawBody?: () => Promise<void> };

function json(status: number, body: unknown): WebhookReply {
	return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}

/** An element of a delivery that could not be read: the others went on (Errors output). */
function skippedItem(crm: CrmName, skipped: SkippedEvent): INodeExecutionData {
	return { json: { source: crm, error: `element ${skipped.index} of the delivery was skipped: ${skipped.reason}`, index: skipped.index } };
}

export async function receiveDelivery(ctx: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req = ctx.getRequestObject() as unknown as RawRequest;
	const res = ctx.getResponseObject() as unknown as ServerResponse;

	const crm = ctx.getWebhookName() as CrmName;
	if (!tickedCrms(ctx).includes(crm)) return answerOnly(res, json(404, { error: `${crm} is not enabled on this trigger` }));
	const maxBodyBytes = maxBodyKb(ctx) * 1024;
	if (Number(req.headers['content-length']) > maxBodyBytes) {
		return answerOnly(res, json(413, { error: `body of ${req.headers['content-length']} bytes exceeds the limit of ${maxBodyBytes} bytes` }));
	}
	try {
		await req.readRawBody?.();
	} catch (error) {
		const status = (error as { status?: number }).status === 413 ? 413 : 400;
		return answerOnly(res, json(status, { error: status === 413 ? `body exceeds the limit of ${maxBodyBytes} bytes` : 'could not read the body' }));
	}

	const outcome = handleWebhook(
		crm,
		{
			method: req.method ?? 'POST',
			url: req.originalUrl ?? req.url ?? '/',
			headers: req.headers,
			rawBody: req.rawBody ?? Buffer.alloc(0),
			publicUrls: [ctx.getNodeWebhookUrl(crmWebhookName(crm))].filter((u): u is string => !!u),
			remoteAddress: req.ip ?? req.socket?.remoteAddress,
		},
		{ ...(await verifyConfig(ctx, crm)), maxBodyBytes, entities: ctx.getNodeParameter('entities', []) as EntityType[] },
	);
	if (!outcome.ok) return answerOnly(res, outcome.reply);
	await renewSubscriptionIfDue(ctx, crm); // only once the request proved it comes from the CRM

	const skipped = outcome.skipped.map((s) => skippedItem(crm, s));
	if (skipped.length > 0) ctx.logger.warn(`CRM Sync Trigger: ${skipped.length} element(s) of a ${crm} delivery were skipped: ${outcome.skipped.map((s) => `#${s.index} ${s.reason}`).join('; ')}`);
	if (!crmModule(crm).webhook.redelivers) return answerThenProcess(ctx, res, crm, outcome, skipped);

	// A CRM that redelivers is answered after the reads (503 when they fail, so it sends again).
	let accepted;
	try {
		const store = outcome.events.length > 0 && (ctx.getNodeParameter('dropRedeliveries', true) as boolean) ? await openStore(ctx) : undefined;
		accepted = await acceptAndEnrich(outcome.events, await enrichOptions(ctx, crm, store, FETCH_BUDGET, outcome.events.length));
	} catch (error) {
		// Not recorded = not acknowledged: the CRM redelivers later (claims were released).
		ctx.logger.warn(`CRM Sync Trigger: a ${crm} delivery was answered 503: ${failureDetail(error)}`);
		return answerOnly(res, unavailableReply(error));
	}
	send(res, outcome.reply);
	return handOn(ctx, accepted.events, skipped);
}
