import type { IncomingMessage, ServerResponse } from 'node:http';

import {
	NodeConnectionTypes,
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
import { StateStoreError, type StateStore } from '../../lib/state';
import { createConnector } from '../../lib/connectors';
import {
	acceptAndEnrich,
	DEFAULT_IDEMPOTENCY_TTL_MS,
	handleWebhook,
	RecordFetchError,
	WEBHOOK_MODULES,
	type EnrichedEvent,
	type WebhookReply,
} from '../../lib/webhooks';
import { triggerProperties } from './description';
import { sharedStore, storeConfig, type RedisCredential } from '../shared/stateStore';
import { createSubscription, credentials, deleteSubscription, renewSubscriptionIfDue, subscriptionCredentials, subscriptionExists } from './subscription';

type RawRequest = IncomingMessage & { originalUrl?: string; rawBody?: Buffer; readRawBody?: () => Promise<void> };

/**
 * Reads made before answering stay within the CRM's delivery timeout (HubSpot's is about 5 s):
 * a slow or failing read answers 503 in time, and the CRM redelivers.
 */
const FETCH_BUDGET = { timeoutMs: 2_000, retry: { maxAttempts: 2, maxElapsedMs: 3_500 } };
/** A CRM that never redelivers (Zoho) is answered first; its reads then get the full retry budget. */
const FETCH_AFTER_ANSWER_BUDGET = { timeoutMs: 20_000 };

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

const list = (value: string) =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

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
		outputs: [NodeConnectionTypes.Main],
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
		const maxBodyBytes = Math.max(1, Number(this.getNodeParameter('maxBodyKb', 1024))) * 1024;
		if (Number(req.headers['content-length']) > maxBodyBytes) {
			return reply(json(413, { error: `body of ${req.headers['content-length']} bytes exceeds the limit of ${maxBodyBytes} bytes` }));
		}
		try {
			await req.readRawBody?.();
		} catch (error) {
			const status = (error as { status?: number }).status === 413 ? 413 : 400;
			return reply(json(status, { error: `could not read the body: ${(error as Error).message}` }));
		}

		const secrets = [this.getNodeParameter('secret', '') as string, this.getNodeParameter('previousSecret', '') as string];
		const basicAuthUser = crm === 'pipedrive' ? (this.getNodeParameter('basicAuthUser', '') as string) : undefined;
		const outcome = handleWebhook(
			crm,
			{
				method: req.method ?? 'POST',
				url: req.originalUrl ?? req.url ?? '/',
				headers: req.headers,
				rawBody: req.rawBody ?? Buffer.alloc(0),
				publicUrls: [this.getNodeWebhookUrl('default')].filter((u): u is string => !!u),
			},
			{
				// Pipedrive secrets are `user:password`; an empty password stays empty (= not set).
				secrets: basicAuthUser !== undefined ? secrets.filter((s) => s !== '').map((s) => `${basicAuthUser}:${s}`) : secrets,
				salesforceOrganizationIds: crm === 'salesforce' ? list(this.getNodeParameter('salesforceOrganizationIds', '') as string) : [],
				maxBodyBytes,
				entities: this.getNodeParameter('entities', []) as EntityType[],
			},
		);
		if (!outcome.ok) return reply(outcome.reply);
		await renewSubscriptionIfDue(this); // only once the request proved it comes from the CRM

		// A CRM that redelivers is answered after the reads (503 when they fail, so it sends again).
		// One that does not would lose the change on a 503: it is answered now, and read with retries.
		const answerFirst = !WEBHOOK_MODULES[crm].redelivers;
		if (answerFirst) send(res, outcome.reply);
		let accepted;
		try {
			const dropRedeliveries = this.getNodeParameter('dropRedeliveries', true) as boolean;
			const fetchRecords = this.getNodeParameter('fetchRecords', false) as boolean;
			let store: StateStore | undefined;
			if (dropRedeliveries && outcome.events.length > 0) {
				const backend = this.getNodeParameter('stateBackend', 'embedded') as 'embedded' | 'redis';
				const namespace = (this.getNodeParameter('syncNamespace', '') as string) || this.getWorkflow().id || 'default';
				const redis = backend === 'redis' ? ((await this.getCredentials('redis')) as RedisCredential) : undefined;
				store = await sharedStore(storeConfig(namespace, backend, redis));
			}
			const crmCredentials = fetchRecords && outcome.events.length > 0 ? await credentials(this, crm) : undefined;
			const dropEchoes = store !== undefined && (this.getNodeParameter('dropEchoes', true) as boolean);
			accepted = await acceptAndEnrich(outcome.events, {
				markers: list(this.getNodeParameter('ownChangeMarkers', '') as string),
				store,
				ttlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
				isEcho: dropEchoes ? (event) => isEchoOfOwnWrite(store!, event) : undefined,
				fetchRecords,
				reader: () => createConnector(crm, crmCredentials!, { store, ...(answerFirst ? FETCH_AFTER_ANSWER_BUDGET : FETCH_BUDGET) }),
			});
		} catch (error) {
			// Not recorded = not acknowledged: the CRM redelivers later (claims were released).
			const what = error instanceof RecordFetchError ? 'CRM unavailable' : error instanceof StateStoreError ? 'state store unavailable' : 'cannot process the events';
			const message = `${what}: ${(error as Error).message}`;
			if (!answerFirst) return reply(json(503, { error: message }));
			// Already answered and never redelivered: the log keeps which records missed this sync.
			this.logger.error(`CRM Sync Trigger: a ${crm} notification was not synced (${message}); records: ${outcome.events.map((e) => `${e.entity} ${e.recordId}`).join(', ')}`);
			return { noWebhookResponse: true };
		}
		if (accepted.events.length === 0) return answerFirst ? { noWebhookResponse: true } : reply(outcome.reply);

		const includeRaw = this.getNodeParameter('includeRaw', false) as boolean;
		if (!answerFirst) send(res, outcome.reply);
		return { noWebhookResponse: true, workflowData: [accepted.events.map((event) => toItem(event, includeRaw))] };
	}
}
