// Zoho listCurrencies through the connector against the sandbox: GET /org for a single-currency
// org, GET /org/currencies for a multi-currency one, a deactivated currency, the cache.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Sandbox } from '../../../../sandbox';
import type { ZohoEmulator } from '../../../../sandbox/zoho';
import { ZohoConnector } from '../../../../lib/crms/zoho/connector';

let sandbox: Sandbox;
let emulator: ZohoEmulator;
let url: string;
let tokenSeq = 0;

function connector(): ZohoConnector {
	return new ZohoConnector({ accessToken: `zoho-currency-${++tokenSeq}`, apiDomain: url }, { retry: { baseDelayMs: 20, maxDelayMs: 200 } });
}

/** A Zoho API call as an administrator's client would make it. */
async function z(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
	const res = await fetch(`${url}/crm/v6${path}`, {
		method,
		headers: { authorization: 'Zoho-oauthtoken admin-token', ...(body ? { 'content-type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const calls = (path: string): number => emulator.requests().filter((r) => r.path === `/crm/v6${path}`).length;

before(async () => {
	sandbox = await startSandbox({ crms: ['zoho'] });
	emulator = sandbox.emulators.zoho as ZohoEmulator;
	url = sandbox.urls.zoho!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => emulator.reset());

describe('Zoho listCurrencies', () => {
	test('a single-currency org: the home currency only, from GET /org; /org/currencies is not asked', async () => {
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.deepEqual([calls('/org'), calls('/org/currencies')], [1, 0]);
		emulator.setOrgCurrency({ homeCurrency: 'INR' });
		assert.deepEqual(await connector().listCurrencies(), { default: 'INR', enabled: ['INR'] });
	});

	test('a multi-currency org: the base currency first, then the active ones', async () => {
		assert.equal((await z('POST', '/org/currencies/actions/enable', { base_currency: { iso_code: 'EUR' } })).status, 200);
		assert.equal((await z('POST', '/org/currencies', { currencies: [{ iso_code: 'USD', exchange_rate: '1.08' }, { iso_code: 'GBP', exchange_rate: '0.86' }] })).status, 200);
		assert.deepEqual(await connector().listCurrencies(), { default: 'EUR', enabled: ['EUR', 'USD', 'GBP'] });
	});

	test('a deactivated currency is not enabled, and Zoho refuses it on a deal', async () => {
		emulator.setOrgCurrency({ multiCurrency: true });
		const added = await z('POST', '/org/currencies', { currencies: [{ iso_code: 'JPY', exchange_rate: '150' }, { iso_code: 'CHF', exchange_rate: '0.9', is_active: false }] });
		const jpy = added.body.currencies[0].details.id;
		const c = connector();
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD', 'JPY'] });
		await z('PUT', `/org/currencies/${jpy}`, { currencies: [{ is_active: false }] });
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD'] });
		const [refused] = await c.create('opportunity', [{ ref: 0, fields: { Deal_Name: 'Yen deal', Stage: 'Qualification', Amount: 5, Currency: 'JPY' } }]);
		assert.equal(refused.status, 'failed');
		assert.deepEqual(refused.status === 'failed' && refused.fields, ['Currency']);
	});

	test('read once per connector; a failed read is not kept', async () => {
		const c = connector();
		await c.listCurrencies();
		emulator.setOrgCurrency({ homeCurrency: 'EUR' });
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.equal(calls('/org'), 1);
		const failing = connector();
		emulator.setFaults({ errorRate: 1, pathPattern: '/org', maxFaults: 100 });
		await assert.rejects(failing.listCurrencies());
		emulator.setFaults({});
		assert.deepEqual(await failing.listCurrencies(), { default: 'EUR', enabled: ['EUR'] });
	});
});
