// Salesforce listCurrencies through the real connector (jsforce) against the sandbox: a
// single-currency org (SOAP getUserInfo only), a multi-currency org (CurrencyType), a
// deactivated currency, and the per-connector cache.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startSandbox, type Sandbox } from '../../../../sandbox';
import type { SalesforceEmulator } from '../../../../sandbox/salesforce';
import { create, type SalesforceConnector } from '../../../../lib/crms/salesforce/connector';

let sandbox: Sandbox;
let sf: SalesforceEmulator;
let url: string;
let seq = 0;

before(async () => {
	sandbox = await startSandbox({ crms: ['salesforce'] });
	sf = sandbox.emulators.salesforce as SalesforceEmulator;
	url = sandbox.urls.salesforce!;
});

after(async () => {
	await sandbox?.stop();
});

beforeEach(() => sf.reset());

function connector(): SalesforceConnector {
	return create(
		{ grantType: 'authorizationCode', clientId: 'sandbox-client', clientSecret: 'sandbox-secret', loginUrl: url, apiVersion: '62.0', oauthTokenData: { refresh_token: `rt-currency-${++seq}`, instance_url: url } },
		{ retry: { baseDelayMs: 20, maxDelayMs: 200 } },
	);
}

/** Setup > Company Information, as an administrator. */
async function currencySetup(body: { multiCurrency?: boolean; currencyIsoCode?: string }): Promise<void> {
	const res = await fetch(`${url}/__admin/currency-setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.equal(res.status, 200, await res.text());
}

/** A CurrencyType row written as an administrator (the API could too). */
async function currency(fields: Record<string, unknown>): Promise<string> {
	const res = await fetch(`${url}/__admin/sobjects/CurrencyType`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ConversionRate: 1, DecimalPlaces: 2, ...fields }) });
	const body = (await res.json()) as { id?: string };
	assert.equal(res.status, 201, JSON.stringify(body));
	return body.id!;
}

async function patchCurrency(id: string, fields: Record<string, unknown>): Promise<void> {
	const res = await fetch(`${url}/__admin/sobjects/CurrencyType/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
	assert.equal(res.status, 204, await res.text());
}

const soapCalls = () => sf.requests().filter((r) => r.path.startsWith('/services/Soap/')).length;
const queries = () => sf.requests().filter((r) => /\/services\/data\/v[\d.]+\/query/.test(r.path)).length;

describe('Salesforce listCurrencies', () => {
	test('a single-currency org: its currency only, from SOAP getUserInfo, without touching CurrencyType', async () => {
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.equal(soapCalls(), 1);
		assert.equal(queries(), 0, 'a single-currency org has no CurrencyType to query');
		await currencySetup({ currencyIsoCode: 'EUR' });
		assert.deepEqual(await connector().listCurrencies(), { default: 'EUR', enabled: ['EUR'] });
	});

	test('a multi-currency org: the corporate currency first, then the active ones', async () => {
		await currencySetup({ multiCurrency: true, currencyIsoCode: 'EUR' });
		await currency({ IsoCode: 'USD', ConversionRate: 1.1, IsActive: true });
		await currency({ IsoCode: 'GBP', ConversionRate: 0.85, IsActive: true });
		assert.deepEqual(await connector().listCurrencies(), { default: 'EUR', enabled: ['EUR', 'GBP', 'USD'] });
		// The corporate currency moves: the default follows.
		const chf = await currency({ IsoCode: 'CHF', ConversionRate: 0.95, IsActive: true });
		await patchCurrency(chf, { IsCorporate: true });
		assert.deepEqual(await connector().listCurrencies(), { default: 'CHF', enabled: ['CHF', 'EUR', 'GBP', 'USD'] });
	});

	test('a deactivated currency is not enabled (Salesforce refuses it on a deal); one added inactive neither', async () => {
		await currencySetup({ multiCurrency: true });
		const eur = await currency({ IsoCode: 'EUR', IsActive: true });
		await currency({ IsoCode: 'JPY', DecimalPlaces: 0 });
		const c = connector();
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD', 'EUR'] });
		await patchCurrency(eur, { IsActive: false });
		assert.deepEqual(await connector().listCurrencies(), { default: 'USD', enabled: ['USD'] });
		const [refused] = await c.create('opportunity', [{ ref: 0, fields: { Name: 'Euro deal', StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 10, CurrencyIsoCode: 'EUR' } }]);
		assert.equal(refused.status, 'failed');
		assert.equal(refused.status === 'failed' && refused.code, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
		assert.deepEqual(refused.status === 'failed' && refused.fields, ['CurrencyIsoCode']);
	});

	test('read once per connector: a second call asks nothing; a failed read is not kept', async () => {
		const c = connector();
		await c.listCurrencies();
		const calls = sf.requests().length;
		await currencySetup({ currencyIsoCode: 'GBP' });
		assert.deepEqual(await c.listCurrencies(), { default: 'USD', enabled: ['USD'] });
		assert.equal(sf.requests().length, calls);
		const failing = connector();
		sf.setFaults({ errorRate: 1, pathPattern: '/services/Soap/', maxFaults: 100 });
		await assert.rejects(failing.listCurrencies());
		sf.setFaults({});
		assert.deepEqual(await failing.listCurrencies(), { default: 'GBP', enabled: ['GBP'] });
	});

	test('reads asking for CurrencyIsoCode leave it out in a single-currency org (it has no such field) and get it in a multi-currency one', async () => {
		const c = connector();
		const [made] = await c.create('opportunity', [{ ref: 0, fields: { Name: 'Dollar deal', StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 10 } }]);
		const id = made.status === 'created' ? made.id : assert.fail(JSON.stringify(made));
		const fields = ['Name', 'Amount', 'CurrencyIsoCode'];
		assert.deepEqual((await c.get('opportunity', id, { fields }))?.fields, { Name: 'Dollar deal', Amount: 10 });
		assert.deepEqual((await c.search('opportunity', 'Id', [id], { fields })).map((r) => r.fields.CurrencyIsoCode), [undefined]);
		assert.equal((await c.listChanges('opportunity', { fields })).records.length, 1);
		await currencySetup({ multiCurrency: true });
		const multi = connector();
		assert.equal((await multi.get('opportunity', id, { fields }))?.fields.CurrencyIsoCode, 'USD');
		assert.deepEqual((await multi.listChanges('opportunity', { fields })).records.map((r) => r.fields.CurrencyIsoCode), ['USD']);
	});

	test('a single-currency org refuses CurrencyIsoCode as an unknown field', async () => {
		const [refused] = await connector().create('opportunity', [{ ref: 0, fields: { Name: 'Dollar deal', StageName: 'Prospecting', CloseDate: '2026-12-31', CurrencyIsoCode: 'USD' } }]);
		assert.equal(refused.status === 'failed' && refused.code, 'INVALID_FIELD');
	});
});
