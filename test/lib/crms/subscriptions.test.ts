// Webhook subscriptions made through the connectors (Pipedrive /v1/webhooks, Zoho /actions/watch)
// against the sandbox emulators, with a real HTTP receiver: create → a change is delivered →
// delete → no more deliveries; Zoho channel renewal before expiry.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { PipedriveConnector } from '../../../lib/crms/pipedrive/connector';
import { WATCH_MAX_MS, watchRenewalDue, ZohoConnector } from '../../../lib/crms/zoho/connector';
import { handleWebhook } from '../../../lib/webhooks';

interface Received {
	path: string;
	headers: IncomingHttpHeaders;
	body: Buffer;
}

let sandbox: Sandbox;
let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
let tokenSeq = 0;

const pipedrive = () => new PipedriveConnector({ apiToken: `subs-token-${++tokenSeq}`, baseUrl: sandbox.urls.pipedrive! }, { retry: { baseDelayMs: 20 } });
const zoho = () => new ZohoConnector({ accessToken: `subs-zoho-${++tokenSeq}`, apiDomain: sandbox.urls.zoho! }, { retry: { baseDelayMs: 20 } });

/** Waits until the emulator has sent everything it queued, then returns what reached `path`. */
async function deliveredTo(crm: 'pipedrive' | 'zoho', path: string): Promise<Received[]> {
	await sandbox.emulators[crm]!.webhooksIdle();
	return received.filter((r) => r.path === path);
}

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive', 'zoho'], rateLimits: false });
	receiver = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
			res.end('ok');
		});
	});
	await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
	receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

after(async () => {
	await new Promise<void>((resolve) => receiver.close(() => resolve()));
	await sandbox.stop();
});

beforeEach(() => {
	received = [];
	sandbox.emulators.pipedrive!.reset();
	sandbox.emulators.zoho!.reset();
});

describe('Pipedrive webhooks', () => {
	test('create → a change is delivered with Basic auth → delete → no more deliveries', async () => {
		const pd = pipedrive();
		const url = `${receiverUrl}/webhook/abc/pipedrive`;
		const hook = await pd.createWebhook({ url, httpAuthUser: 'n8n', httpAuthPassword: 's3cret' });
		assert.match(hook.id, /^\d+$/);
		assert.deepEqual({ url: hook.url, version: hook.version, action: hook.eventAction, object: hook.eventObject }, { url, version: '2.0', action: '*', object: '*' });
		assert.deepEqual(
			(await pd.listWebhooks()).map((w) => w.id),
			[hook.id],
		);

		const [created] = await pd.create('contact', [{ ref: 0, fields: { name: 'Ada Lovelace' } }]);
		assert.equal(created.status, 'created', JSON.stringify(created));
		const deliveries = await deliveredTo('pipedrive', '/webhook/abc/pipedrive');
		assert.equal(deliveries.length, 1);
		const d = deliveries[0];
		assert.equal(d.headers.authorization, 'Basic ' + Buffer.from('n8n:s3cret').toString('base64'));
		const payload = JSON.parse(d.body.toString()) as { meta: { entity: string; action: string }; data: { id: number; name: string } };
		assert.deepEqual([payload.meta.entity, payload.meta.action, payload.data.name], ['person', 'create', 'Ada Lovelace']);
		assert.equal(String(payload.data.id), (created as { id: string }).id);

		// The trigger's own verification accepts what the registered webhook sends.
		const outcome = handleWebhook(
			'pipedrive',
			{ method: 'POST', url: d.path, headers: d.headers, rawBody: d.body },
			{ secrets: ['n8n:s3cret'] },
		);
		assert.ok(outcome.ok, JSON.stringify(outcome));
		assert.equal(outcome.events.length, 1);

		assert.equal(await pd.deleteWebhook(hook.id), true);
		assert.deepEqual(await pd.listWebhooks(), []);
		await pd.create('contact', [{ ref: 0, fields: { name: 'Grace Hopper' } }]);
		assert.equal((await deliveredTo('pipedrive', '/webhook/abc/pipedrive')).length, 1, 'nothing is delivered after the delete');
		assert.equal(await pd.deleteWebhook(hook.id), false, 'a second delete finds nothing');
	});

	test('a refused subscription is a CrmError with the reason', async () => {
		await assert.rejects(pipedrive().createWebhook({ url: 'not a url' }), (e: Error) => e.name === 'CrmError' && /subscription_url/.test(JSON.stringify((e as Error & { body?: unknown }).body)));
	});
});

describe('Zoho watch', () => {
	test('enable → a change is notified with the token → disable → no more notifications', async () => {
		const z = zoho();
		const url = `${receiverUrl}/webhook/abc/zoho`;
		const before = Date.now();
		const watch = await z.enableWatch({ channelId: '1000000068001', url, token: 'tok-1', entities: ['contact', 'lead'] });
		assert.deepEqual(watch.events.sort(), ['Contacts.all', 'Leads.all']);
		assert.ok(watch.expiresAt > before && watch.expiresAt <= Date.now() + WATCH_MAX_MS, `expiry ${new Date(watch.expiresAt).toISOString()}`);
		const listed = await z.listWatches();
		assert.deepEqual(
			listed.map((w) => [w.channelId, w.url]),
			[['1000000068001', url]],
		);

		const [created] = await z.create('contact', [{ ref: 0, fields: { Last_Name: 'Lovelace', Email: 'ada@example.com' } }]);
		assert.equal(created.status, 'created', JSON.stringify(created));
		await z.create('account', [{ ref: 0, fields: { Account_Name: 'Not watched Ltd' } }]);
		const deliveries = await deliveredTo('zoho', '/webhook/abc/zoho');
		assert.equal(deliveries.length, 1, 'accounts are not watched');
		const body = JSON.parse(deliveries[0].body.toString()) as { module: string; operation: string; ids: string[]; token: string; channel_id: number };
		assert.deepEqual(
			[body.module, body.operation, body.ids, body.token, String(body.channel_id)],
			['Contacts', 'insert', [(created as { id: string }).id], 'tok-1', '1000000068001'],
		);
		const outcome = handleWebhook('zoho', { method: 'POST', url: deliveries[0].path, headers: deliveries[0].headers, rawBody: deliveries[0].body }, { secrets: ['tok-1'] });
		assert.ok(outcome.ok, JSON.stringify(outcome));

		assert.equal(await z.disableWatch('1000000068001'), true);
		assert.deepEqual(await z.listWatches(), []);
		await z.create('contact', [{ ref: 0, fields: { Last_Name: 'Hopper' } }]);
		assert.equal((await deliveredTo('zoho', '/webhook/abc/zoho')).length, 1, 'nothing is notified after the disable');
		assert.equal(await z.disableWatch('1000000068001'), false, 'a second disable finds nothing');
	});

	test('expiry is capped at one day; a renewed channel outlives its first expiry, an unrenewed one stops', async () => {
		const z = zoho();
		const week = await z.enableWatch({ channelId: '7', url: `${receiverUrl}/week`, token: 't', expiresAt: Date.now() + 7 * WATCH_MAX_MS });
		assert.ok(week.expiresAt <= Date.now() + WATCH_MAX_MS, 'a week is shortened to a day');
		assert.equal(await z.disableWatch('7'), true);

		const shortLife = Date.now() + 2500;
		const renewed = await z.enableWatch({ channelId: '101', url: `${receiverUrl}/renewed`, token: 't', entities: ['contact'], expiresAt: shortLife });
		await z.enableWatch({ channelId: '102', url: `${receiverUrl}/lapsed`, token: 't', entities: ['contact'], expiresAt: shortLife });
		assert.equal(watchRenewalDue(renewed.expiresAt), true, 'a channel with seconds left is due');

		const after = await z.renewWatch('101');
		assert.ok(after.expiresAt > Date.now() + WATCH_MAX_MS - 60_000, `renewed to ${new Date(after.expiresAt).toISOString()}`);
		assert.equal(watchRenewalDue(after.expiresAt), false, 'a fresh channel is not due');

		await new Promise((resolve) => setTimeout(resolve, Math.max(0, shortLife - Date.now()) + 1100));
		await z.create('contact', [{ ref: 0, fields: { Last_Name: 'After expiry' } }]);
		assert.equal((await deliveredTo('zoho', '/renewed')).length, 1, 'the renewed channel still notifies');
		assert.equal((await deliveredTo('zoho', '/lapsed')).length, 0, 'the expired channel does not');
		const token = (JSON.parse((await deliveredTo('zoho', '/renewed'))[0].body.toString()) as { token: string }).token;
		assert.equal(token, 't', 'renewal keeps the token');
	});

	test('bad channel ids and long tokens are refused before any call', async () => {
		await assert.rejects(zoho().enableWatch({ channelId: 'abc', url: `${receiverUrl}/x` }), /digits/);
		await assert.rejects(zoho().enableWatch({ channelId: '1', url: `${receiverUrl}/x`, token: 'x'.repeat(51) }), /50 characters/);
	});
});
