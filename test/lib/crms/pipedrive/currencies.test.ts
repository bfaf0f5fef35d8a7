// Pipedrive listCurrencies through the connector against the sandbox: every active currency of
// GET /v1/currencies with the user's default currency (GET /v1/users/me) first; a custom
// currency, its deactivation, and the per-connector cache. Pipedrive has no single-currency mode.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { PipedriveConnector } from '../../../../lib/crms/pipedrive/connector';
import { STANDARD_CURRENCY_CODES } from '../../../../sandbox/pipedrive/metadata';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let tokenSeq = 0;

function connector(): PipedriveConnector {
	return new PipedriveConnector({ apiToken: `currency-token-${++tokenSeq}`, baseUrl: url }, { retry: { baseDelayMs: 20, maxDelayMs: 200 } });
}

/** A setting the API cannot change, as a Pipedrive admin or user changes it in the app. */
async function admin(method: string, path: string, body: unknown): Promise<{ id: number }> {
	const res = await fetch(`${url}/__admin/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	const json = (await res.json()) as { data: { id: number } };
	assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
	return json.data;
}

const calls = (path: string): number => emulator.requests().filter((r) => r.path === path).length;

before(async () => {
	sandbox = await startSandbox({ crms: ['pipedrive'] });
	emulator = sandbox.emulators.pipedrive!;
	url = sandbox.urls.pipedrive!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => emulator.reset());

describe('Pipedrive listCurrencies', () => {
	test("every currency the company lists is enabled; the default is the API user's default currency", async () => {
		const currencies = await connector().listCurrencies();
		assert.equal(currencies.default, 'USD');
		assert.deepEqual(currencies.enabled, STANDARD_CURRENCY_CODES);
		assert.deepEqual([calls('/api/v1/users/me'), calls('/api/v1/currencies')], [1, 1]);
		await admin('PATCH', 'users/1', { default_currency: 'GBP' });
		const gbp = await connector().listCurrencies();
		assert.equal(gbp.default, 'GBP');
		assert.deepEqual(gbp.enabled.slice(0, 3), ['GBP', 'USD', 'EUR']);
		assert.equal(gbp.enabled.length, STANDARD_CURRENCY_CODES.length);
	});

	test('a custom currency is enabled until it is deactivated', async () => {
		const seats = await admin('POST', 'currencies', { name: 'Seats', symbol: 'seats', decimal_points: 0, code: 'STS' });
		assert.ok((await connector().listCurrencies()).enabled.includes('STS'));
		await admin('PATCH', `currencies/${seats.id}`, { active_flag: false });
		const after = await connector().listCurrencies();
		assert.equal(after.enabled.includes('STS'), false);
		assert.equal(after.enabled.length, STANDARD_CURRENCY_CODES.length);
	});

	test('read once per connector; a failed read is not kept', async () => {
		const c = connector();
		await c.listCurrencies();
		await admin('PATCH', 'users/1', { default_currency: 'EUR' });
		assert.equal((await c.listCurrencies()).default, 'USD');
		assert.equal(calls('/api/v1/currencies'), 1);
		const failing = connector();
		emulator.setFaults({ errorRate: 1, pathPattern: '/currencies', maxFaults: 100 });
		await assert.rejects(failing.listCurrencies());
		emulator.setFaults({});
		assert.equal((await failing.listCurrencies()).default, 'EUR');
	});
});
