// A CRM that does not redeliver (Zoho) would lose the change on a 503 after a failure, so the
// notification is kept in the store's inbox, answered, then processed from the inbox.

import type { ServerResponse } from 'node:http';

import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { CrmName } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import type { CapturedEvent } from '../../lib/events';
import { acceptAndEnrich, failureKind, unavailableReply, type WebhookReply } from '../../lib/webhooks';
import { INBOX_MAX_ATTEMPTS, keepInInbox, processInbox } from '../../lib/webhooks/inbox';
import { enrichOptions, failureDetail, FETCH_AFTER_ANSWER_BUDGET, openStore } from './accept';
import { answerOnly, handOn, send } from './respond';

/** An event whose notification failed its last attempt (Errors output): the record missed this sync. */
function givenUpItem(crm: CrmName, event: CapturedEvent, attempts: number, reason: string): INodeExecutionData {
	const { raw: _raw, ...rest } = event;
	return { json: { ...rest, record: rest.record ?? {}, error: `not synced after ${attempts} attempts: ${reason}` } as unknown as IDataObject };
}

/** This trigger's inbox: its webhook id (each template's trigger has its own), so another trigger of the CRM never takes its notifications. */
function inboxBox(ctx: IWebhookFunctions): string {
	return ctx.getNode().webhookId ?? ctx.getNode().id;
}

/** Keeps the notification (503 when it cannot), answers it, then processes the inbox; `skipped` goes to Errors. */
export async function answerThenProcess(
	ctx: IWebhookFunctions,
	res: ServerResponse,
	crm: CrmName,
	notification: { events: CapturedEvent[]; reply: WebhookReply },
	skipped: INodeExecutionData[],
): Promise<IWebhookResponseData> {
	if (notification.events.length === 0) {
		send(res, notification.reply);
		return handOn(ctx, [], skipped);
	}
	let store: StateStore;
	try {
		store = await openStore(ctx);
		await keepInInbox(store, crm, notification.events, inboxBox(ctx));
	} catch (error) {
		ctx.logger.error(`CRM Sync Trigger: a ${crm} notification could not be kept and was answered 503: ${failureDetail(error)}`);
		return answerOnly(res, unavailableReply(error));
	}
	send(res, notification.reply);
	const dropRedeliveries = ctx.getNodeParameter('dropRedeliveries', true) as boolean;
	try {
		const options = await enrichOptions(ctx, crm, dropRedeliveries ? store : undefined, FETCH_AFTER_ANSWER_BUDGET, notification.events.length);
		const run = await processInbox(store, crm, (events) => acceptAndEnrich(events, options), inboxBox(ctx));
		if (run.ok) return handOn(ctx, run.result.events, skipped);
		ctx.logger.warn(
			`CRM Sync Trigger: ${crm} notifications failed (${failureDetail(run.error)}); ${run.retryLater} kept for the next notification, ${run.givenUp.length} handed on as errors after ${INBOX_MAX_ATTEMPTS} attempts`,
		);
		const givenUp = run.givenUp.flatMap((n) => n.events.map((event) => givenUpItem(crm, event, n.attempts, failureKind(run.error))));
		return handOn(ctx, [], [...skipped, ...givenUp]);
	} catch (error) {
		// Answered already, and still in the inbox: the next notification claims it again.
		ctx.logger.error(`CRM Sync Trigger: ${crm} notifications stay in the inbox for the next notification: ${failureDetail(error)}`);
		return { noWebhookResponse: true };
	}
}
