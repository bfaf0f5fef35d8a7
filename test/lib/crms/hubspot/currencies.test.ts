// HubSpot listCurrencies through the connector against the sandbox: GET /account-info/v3/details
// for a single-currency portal, a multi-currency portal, a removed currency, and the
// per-connector cache.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { create, type HubSpotConnector } from '../../../../lib/crms/hubspot/connector';
import { CrmError } from '../../../../lib/connectors';

let sandbox: Sandbox;
let hubspot: Emulator;
let url: string;
let tokenSeq = 0;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot'] });
	hubspot = sandbox.emulators.hubspot!;
	url = sandbox.urls.hubspot!;
});

after(async () => {
	await sandbox?.stop();
});

beforeEach(() => hubspot.reset());

function connector(): HubSpotConnector {
	return create({ accessToken: `pat-currency-${++tokenSeq}`, baseUrl: url }, { retry: { baseDelayMs: 20, maxDelayMs: 200 } });
}

/** Settings > Account defaults > Currencies, as a HubSpot admin. */
async function currencies(body: { companyCurrency?: string; additionalCurrencies?: string[] }): Promise<void> {
	const res = await fetch(`${url}/__admin/currencies`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.equal(res.status, 200, await res.text());
}

const detailsCalls = () => hubspot.requests().filter((r) => r.path === '/account-info/v3/details').length;

describe('HubSpot listCurrencies', () => {
	test('a single-currency portal: the company currency only, one call', async () => {
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.equal(detailsCalls(), 1);
		await currencies({ companyCurrency: 'EUR' });
		assert.deepEqual(await connector().listCurrencies(), { default: 'EUR', enabled: ['EUR'] });
	});

	test('a multi-currency portal: the company currency first, then the additional ones', async () => {
		await currencies({ companyCurrency: 'GBP', additionalCurrencies: ['USD', 'EUR'] });
		assert.deepEqual(await connector().listCurrencies(), { default: 'GBP', enabled: ['GBP', 'USD', 'EUR'] });
	});

	test('a currency removed from the portal is no longer enabled, and a deal cannot take it', async () => {
		await currencies({ additionalCurrencies: ['EUR', 'JPY'] });
		const c = connector();
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD', 'EUR', 'JPY'] });
		await currencies({ additionalCurrencies: ['EUR'] });
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD', 'EUR'] });
		const [refused] = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Yen deal', amount: 5, deal_currency_code: 'JPY' } }]);
		assert.equal(refused.status, 'failed');
		const [written] = await c.create('opportunity', [{ ref: 0, fields: { dealname: 'Euro deal', amount: 5, deal_currency_code: 'EUR' } }]);
		assert.equal(written.status, 'created');
	});

	test('read once per connector; a failed read is not kept; a bad token is an auth error', async () => {
		const c = connector();
		await c.listCurrencies();
		await currencies({ companyCurrency: 'CHF' });
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.equal(detailsCalls(), 1);
		const failing = connector();
		hubspot.setFaults({ errorRate: 1, pathPattern: '/account-info/', maxFaults: 100 });
		await assert.rejects(failing.listCurrencies(), (e: unknown) => e instanceof CrmError && e.category === 'transient');
		hubspot.setFaults({});
		assert.deepEqual(await failing.listCurrencies(), { default: 'CHF', enabled: ['CHF'] });
		hubspot.setStrictAuth(true);
		try {
			await assert.rejects(connector().listCurrencies(), (e: unknown) => e instanceof CrmError && e.category === 'auth' && e.httpStatus === 401);
		} finally {
			hubspot.setStrictAuth(false);
		}
	});
});
