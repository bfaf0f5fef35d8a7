import type { IncomingMessage, ServerResponse } from 'node:http';

import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IHookFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { isEchoOfOwnWrite } from '../../lib/events/echo';
import type { CrmName, EntityType } from '../../lib/model';
import type { StateStore } from '../../lib/state';
import { createConnector } from '../../lib/connectors';
import { crmModule } from '../../lib/crms';
import {
	acceptAndEnrich,
	activationProblem,
	DEFAULT_IDEMPOTENCY_TTL_MS,
	handleWebhook,
	failureKind,
	type CapturedEvent,
	type EnrichedEvent,
	type EnrichOptions,
	type SkippedEvent,
	type VerifyConfig,
	type WebhookReply,
	unavailableReply,
} from '../../lib/webhooks';
import { INBOX_MAX_ATTEMPTS, keepInInbox, processInbox } from '../../lib/webhooks/inbox';
import { triggerProperties } from './description';
import { sharedStore, syncStoreConfig } from '../shared/stateStore';
import { createSubscription, credentials, deleteSubscription, renewSubscriptionIfDue, subscriptionCredentials, subscriptionExists } from './subscription';

type RawRequest = IncomingMessage & { originalUrl?: string; ip?: string; rawBody?: Buffer; readRawBody?: () => Promise<void> };
type Context = IHookFunctions | IWebhookFunctions;

/**
 * Reads made before answering stay within the CRM's delivery timeout (HubSpot's is about 5 s):
 * a slow or failing read answers 503 in time, and the CRM redelivers.
 */
const FETCH_BUDGET = { timeoutMs: 2_000, retry: { maxAttempts: 2, maxElapsedMs: 3_500 } };
/** A CRM that never redelivers (Zoho) is answered first; its reads then get the full retry budget. */
const FETCH_AFTER_ANSWER_BUDGET = { timeoutMs: 20_000 };
const DEFAULT_MAX_BODY_KB = 1024;

/** Answers the request directly: bad requests and empty deliveries start no execution. */
function send(res: ServerResponse, reply: WebhookReply): void {
	res.statusCode = reply.status;
	res.setHeader('content-type', reply.contentType);
	for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
	res.end(reply.body);
}

function json(status: number, body: unknown): WebhookReply {
	return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}

/** Deletes, erasures and merges carry an empty record, so that mappers downstream pass them on. */
function toItem(event: EnrichedEvent, includeRaw: boolean): INodeExecutionData {
	const { raw, ...rest } = event;
	const json = { ...rest, record: rest.record ?? {} };
	return { json: (includeRaw ? { ...json, raw } : json) as unknown as IDataObject };
}

/** An element of a delivery that could not be read: the others went on (Errors output). */
function skippedItem(crm: CrmName, skipped: SkippedEvent): INodeExecutionData {
	return { json: { source: crm, error: `element ${skipped.index} of the delivery was skipped: ${skipped.reason}`, index: skipped.index } };
}

/** An event whose notification failed its last attempt (Errors output): the record missed this sync. */
function givenUpItem(crm: CrmName, event: CapturedEvent, attempts: number, reason: string): INodeExecutionData {
	const { raw: _raw, ...rest } = event;
	return { json: { ...rest, record: rest.record ?? {}, error: `not synced after ${attempts} attempts: ${reason}` } as unknown as IDataObject };
}

/** The detail, for the n8n log only. */
const failureDetail = (error: unknown) => `${failureKind(error)}: ${error instanceof Error ? error.message : String(error)}`;

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

/** The Max Body Size parameter, or undefined when it is not a positive number. */
function configuredMaxBodyKb(ctx: Context): number | undefined {
	const value = ctx.getNodeParameter('maxBodyKb', DEFAULT_MAX_BODY_KB);
	const kb = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
	return Number.isFinite(kb) && kb >= 1 ? kb : undefined;
}

/** The body limit always applies: a bad value (refused at activation) falls back to the default. */
const maxBodyKb = (ctx: Context) => configuredMaxBodyKb(ctx) ?? DEFAULT_MAX_BODY_KB;

/** What requests are checked against, from the node's parameters (a CRM's own options are empty for the others). */
function verifyConfig(ctx: Context): VerifyConfig {
	return {
		secrets: [ctx.getNodeParameter('secret', '') as string, ctx.getNodeParameter('previousSecret', '') as string],
		basicAuthUser: ctx.getNodeParameter('basicAuthUser', '') as string,
		salesforceOrganizationIds: list(ctx.getNodeParameter('salesforceOrganizationIds', '') as string),
		allowedIps: list(ctx.getNodeParameter('salesforceAllowedIps', '') as string),
		hubspotLegacySignatures: ctx.getNodeParameter('hubspotLegacySignatures', false) as boolean,
	};
}

/** Refuses activation of a configuration that would refuse every request or lift the body limit. */
function checkConfiguration(ctx: IHookFunctions): void {
	const crm = ctx.getNodeParameter('crm') as CrmName;
	const problem = activationProblem(crm, verifyConfig(ctx));
	if (problem) throw new NodeOperationError(ctx.getNode(), problem);
	if (configuredMaxBodyKb(ctx) === undefined) throw new NodeOperationError(ctx.getNode(), 'Max Body Size (KB) must be a number of at least 1');
}

/** The store; its failures stay StateStoreErrors, so that the CRM gets a 503 and delivers again. */
async function openStore(ctx: IWebhookFunctions): Promise<StateStore> {
	return sharedStore(await syncStoreConfig(ctx, (name, fallback) => ctx.getNodeParameter(name, fallback)));
}

/** How events are accepted: markers, redeliveries and echoes dropped with the store, records read with `budget`. */
async function enrichOptions(ctx: IWebhookFunctions, crm: CrmName, store: StateStore | undefined, budget: object, eventCount: number): Promise<EnrichOptions> {
	const fetchRecords = ctx.getNodeParameter('fetchRecords', false) as boolean;
	const crmCredentials = fetchRecords && eventCount > 0 ? await credentials(ctx, crm) : undefined;
	const dropEchoes = ctx.getNodeParameter('dropEchoes', true) as boolean;
	return {
		markers: list(ctx.getNodeParameter('ownChangeMarkers', '') as string),
		store,
		ttlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
		isEcho: store && dropEchoes ? (event) => isEchoOfOwnWrite(store, event) : undefined,
		fetchRecords,
		reader: () => createConnector(crm, crmCredentials!, { store, ...budget }),
	};
}

// Pipedrive webhooks and Zoho channels are registered on activation (./subscription.ts); HubSpot,
// Salesforce and Dynamics subscriptions are app/admin configuration, described by the node's notices.
export class CrmSyncTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync Trigger',
		name: 'crmSyncTrigger',
		icon: 'file:crmSyncTrigger.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{"on " + $parameter["crm"] + " webhook"}}',
		description: 'Starts a sync when Salesforce, HubSpot, Pipedrive, Zoho CRM or Dynamics 365 reports a change',
		defaults: { name: 'CRM Sync Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Events', 'Errors'],
		credentials: [...subscriptionCredentials, { name: 'redis', required: true, displayOptions: { show: { dropRedeliveries: [true], stateBackend: ['redis'] } } }],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: '={{$parameter["crm"]}}',
			},
		],
		properties: triggerProperties,
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				checkConfiguration(this);
				return subscriptionExists(this);
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return createSubscription(this);
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return deleteSubscription(this);
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject() as unknown as RawRequest;
		const res = this.getResponseObject() as unknown as ServerResponse;
		const reply = (r: WebhookReply): IWebhookResponseData => {
			send(res, r);
			return { noWebhookResponse: true };
		};

		const crm = this.getNodeParameter('crm') as CrmName;
		const maxBodyBytes = maxBodyKb(this) * 1024;
		if (Number(req.headers['content-length']) > maxBodyBytes) {
			return reply(json(413, { error: `body of ${req.headers['content-length']} bytes exceeds the limit of ${maxBodyBytes} bytes` }));
		}
		try {
			await req.readRawBody?.();
		} catch (error) {
			const status = (error as { status?: number }).status === 413 ? 413 : 400;
			return reply(json(status, { error: status === 413 ? `body exceeds the limit of ${maxBodyBytes} bytes` : 'could not read the body' }));
		}

		const outcome = handleWebhook(
			crm,
			{
				method: req.method ?? 'POST',
				url: req.originalUrl ?? req.url ?? '/',
				headers: req.headers,
				rawBody: req.rawBody ?? Buffer.alloc(0),
				publicUrls: [this.getNodeWebhookUrl('default')].filter((u): u is string => !!u),
				remoteAddress: req.ip ?? req.socket?.remoteAddress,
			},
			{ ...verifyConfig(this), maxBodyBytes, entities: this.getNodeParameter('entities', []) as EntityType[] },
		);
		if (!outcome.ok) return reply(outcome.reply);
		await renewSubscriptionIfDue(this); // only once the request proved it comes from the CRM

		const skipped = outcome.skipped.map((s) => skippedItem(crm, s));
		if (skipped.length > 0) this.logger.warn(`CRM Sync Trigger: ${skipped.length} element(s) of a ${crm} delivery were skipped: ${outcome.skipped.map((s) => `#${s.index} ${s.reason}`).join('; ')}`);
		const emit = (events: EnrichedEvent[], errors: INodeExecutionData[]): IWebhookResponseData => {
			if (events.length === 0 && errors.length === 0) return { noWebhookResponse: true };
			const includeRaw = this.getNodeParameter('includeRaw', false) as boolean;
			return { noWebhookResponse: true, workflowData: [events.map((event) => toItem(event, includeRaw)), errors] };
		};

		// A CRM that redelivers is answered after the reads (503 when they fail, so it sends again).
		if (crmModule(crm).webhook.redelivers) {
			let accepted;
			try {
				const store = outcome.events.length > 0 && (this.getNodeParameter('dropRedeliveries', true) as boolean) ? await openStore(this) : undefined;
				accepted = await acceptAndEnrich(outcome.events, await enrichOptions(this, crm, store, FETCH_BUDGET, outcome.events.length));
			} catch (error) {
				// Not recorded = not acknowledged: the CRM redelivers later (claims were released).
				this.logger.warn(`CRM Sync Trigger: a ${crm} delivery was answered 503: ${failureDetail(error)}`);
				return reply(unavailableReply(error));
			}
			send(res, outcome.reply);
			return emit(accepted.events, skipped);
		}

		// A CRM that does not redeliver (Zoho) would lose the change on a 503 after a failure, so the
		// notification is kept in the store's inbox, answered, then processed from the inbox.
		if (outcome.events.length === 0) {
			send(res, outcome.reply);
			return emit([], skipped);
		}
		let store: StateStore;
		try {
			store = await openStore(this);
			await keepInInbox(store, crm, outcome.events);
		} catch (error) {
			this.logger.error(`CRM Sync Trigger: a ${crm} notification could not be kept and was answered 503: ${failureDetail(error)}`);
			return reply(unavailableReply(error));
		}
		send(res, outcome.reply);
		const dropRedeliveries = this.getNodeParameter('dropRedeliveries', true) as boolean;
		try {
			const options = await enrichOptions(this, crm, dropRedeliveries ? store : undefined, FETCH_AFTER_ANSWER_BUDGET, outcome.events.length);
			const run = await processInbox(store, crm, (events) => acceptAndEnrich(events, options));
			if (run.ok) return emit(run.result.events, skipped);
			this.logger.warn(
				`CRM Sync Trigger: ${crm} notifications failed (${failureDetail(run.error)}); ${run.retryLater} kept for the next notification, ${run.givenUp.length} handed on as errors after ${INBOX_MAX_ATTEMPTS} attempts`,
			);
			const givenUp = run.givenUp.flatMap((n) => n.events.map((event) => givenUpItem(crm, event, n.attempts, failureKind(run.error))));
			return emit([], [...skipped, ...givenUp]);
		} catch (error) {
			// Answered already, and still in the inbox: the next notification claims it again.
			this.logger.error(`CRM Sync Trigger: ${crm} notifications stay in the inbox for the next notification: ${failureDetail(error)}`);
			return { noWebhookResponse: true };
		}
	}
}
