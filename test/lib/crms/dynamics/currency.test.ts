// DynamicsConnector: a lead's or opportunity's currency as an ISO code (CURRENCY_ISO_FIELD) over real
// HTTP against sandbox/dynamics: bound to its transactioncurrencies row on writes, read back from
// _transactioncurrencyid_value.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandbox, type Emulator, type Sandbox } from '../../../../sandbox';
import { EUR_CURRENCY_ID, USD_CURRENCY_ID } from '../../../../sandbox/dynamics';
import { DynamicsConnector } from '../../../../lib/crms/dynamics/connector';
import { CURRENCY_ISO_FIELD } from '../../../../lib/crms/dynamics/currency';
import type { WriteFailure, WriteOutcome, WriteSuccess } from '../../../../lib/connectors/types';

let sandbox: Sandbox;
let emulator: Emulator;
let url: string;
let clientSeq = 0;

function connector(extra: { changeTracking?: boolean } = {}): DynamicsConnector {
	return new DynamicsConnector({ orgUrl: url, authorityUrl: url, tenantId: 'tenant-1', clientId: `currency-client-${++clientSeq}`, clientSecret: 'secret', ...extra }, { retry: { baseDelayMs: 20 } });
}

function ok(outcome: WriteOutcome | undefined): WriteSuccess {
	assert.notEqual(outcome?.status, 'failed', JSON.stringify(outcome));
	return outcome as WriteSuccess;
}

function failed(outcome: WriteOutcome | undefined): WriteFailure {
	assert.equal(outcome?.status, 'failed', JSON.stringify(outcome));
	return outcome as WriteFailure;
}

function row(set: string, idAttr: string, id: string): Record<string, unknown> {
	const found = (emulator.dump()[set] as Array<Record<string, unknown>>).find((r) => String(r[idAttr]).toLowerCase() === id.toLowerCase());
	assert.ok(found, `${set}(${id}) in the sandbox`);
	return found;
}

async function currencyReads(): Promise<number> {
	const log = (await (await fetch(`${url}/__admin/requests`)).json()) as Array<{ method: string; path: string }>;
	return log.filter((r) => r.method === 'GET' && r.path.endsWith('/transactioncurrencies')).length;
}

async function admin(path: string, body: unknown): Promise<void> {
	const res = await fetch(`${url}/__admin/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
	assert.ok(res.ok, `${path}: HTTP ${res.status} ${await res.text()}`);
}

before(async () => {
	sandbox = await startSandbox({ crms: ['dynamics'] });
	emulator = sandbox.emulators.dynamics!;
	url = sandbox.urls.dynamics!;
});

after(async () => {
	await sandbox.stop();
});

beforeEach(() => {
	emulator.reset();
	emulator.setFaults({});
	emulator.setRateLimits(false);
});

describe('Dynamics currency as an ISO code', () => {
	test('a deal written in EUR (any case) is bound to the EUR row and reads back EUR, with and without $select', async () => {
		const dv = connector();
		const [created] = await dv.create('opportunity', [{ ref: 0, fields: { name: 'Euro deal', estimatedvalue: 1000, [CURRENCY_ISO_FIELD]: 'eur' } }]);
		const id = ok(created).id;
		const stored = row('opportunities', 'opportunityid', id);
		assert.equal(String(stored._transactioncurrencyid_value).toLowerCase(), EUR_CURRENCY_ID);
		assert.ok(!(CURRENCY_ISO_FIELD in stored), 'the made-up field is never sent');

		const all = await dv.get('opportunity', id);
		assert.equal(all?.fields[CURRENCY_ISO_FIELD], 'EUR');
		// A $select naming the made-up field reads the lookup instead (the sandbox refuses unknown columns).
		const narrow = await dv.get('opportunity', id, { fields: ['name', CURRENCY_ISO_FIELD] });
		assert.equal(narrow?.fields[CURRENCY_ISO_FIELD], 'EUR');
		assert.equal(narrow?.fields.name, 'Euro deal');
		assert.ok(!('estimatedvalue' in (narrow?.fields ?? {})), 'only the selected columns');
		// A $select without it still gets the currency.
		const other = await dv.get('opportunity', id, { fields: ['name'] });
		assert.equal(other?.fields[CURRENCY_ISO_FIELD], 'EUR');
		// The navigation property name is no column for $select: read as the lookup value.
		assert.equal((await dv.get('opportunity', id, { fields: ['name', 'transactioncurrencyid'] }))?.fields[CURRENCY_ISO_FIELD], 'EUR');

		const found = await dv.search('opportunity', 'name', ['Euro deal']);
		assert.deepEqual(found.map((r) => r.fields[CURRENCY_ISO_FIELD]), ['EUR']);
		const foundNarrow = await dv.search('opportunity', 'name', ['Euro deal'], { fields: ['name', CURRENCY_ISO_FIELD] });
		assert.deepEqual(foundNarrow.map((r) => r.fields[CURRENCY_ISO_FIELD]), ['EUR']);
		// One read of the currency rows for all of that.
		assert.equal(await currencyReads(), 1);
	});

	test('an unknown or inactive code fails that record only in a mixed batch (validation, CURRENCY)', async () => {
		await admin('transactioncurrencies', { isocurrencycode: 'GBP', currencyname: 'Pound Sterling', currencysymbol: '£', exchangerate: 0.79, statecode: 1 });
		const dv = connector();
		const before = (emulator.dump().opportunities as unknown[]).length;
		const outcomes = await dv.create('opportunity', [
			{ ref: 0, fields: { name: 'In euros', estimatedvalue: 1, [CURRENCY_ISO_FIELD]: 'EUR' } },
			{ ref: 1, fields: { name: 'In nothing', estimatedvalue: 2, [CURRENCY_ISO_FIELD]: 'xyz' } },
			{ ref: 2, fields: { name: 'In dollars', estimatedvalue: 3, [CURRENCY_ISO_FIELD]: 'usd' } },
			{ ref: 3, fields: { name: 'In pounds', estimatedvalue: 4, [CURRENCY_ISO_FIELD]: 'GBP' } },
			{ ref: 4, fields: { name: 'No currency named', estimatedvalue: 5 } },
		]);
		assert.deepEqual(outcomes.map((o) => o.ref), [0, 1, 2, 3, 4]);
		const unknown = failed(outcomes[1]);
		assert.equal(unknown.category, 'validation');
		assert.equal(unknown.code, 'CURRENCY');
		assert.match(unknown.message, /"xyz"/);
		assert.match(unknown.message, /EUR, USD/);
		const inactive = failed(outcomes[3]);
		assert.equal(inactive.code, 'CURRENCY');
		assert.match(inactive.message, /GBP is inactive/);
		assert.match(inactive.message, /EUR, USD/);
		assert.equal((emulator.dump().opportunities as unknown[]).length, before + 3);
		const currencyOf = (o: WriteOutcome) => String(row('opportunities', 'opportunityid', ok(o).id)._transactioncurrencyid_value).toLowerCase();
		assert.deepEqual([currencyOf(outcomes[0]), currencyOf(outcomes[2]), currencyOf(outcomes[4])], [EUR_CURRENCY_ID, USD_CURRENCY_ID, USD_CURRENCY_ID]);
	});

	test('updates and upserts bind the currency; a bad code fails its record alone; a won deal closes in its currency', async () => {
		const dv = connector();
		const [a, b] = await dv.create('opportunity', [
			{ ref: 0, fields: { name: 'Update me', estimatedvalue: 10 } },
			{ ref: 1, fields: { name: 'Upsert me', estimatedvalue: 20 } },
		]);
		const updated = await dv.update('opportunity', [
			{ ref: 0, id: ok(a).id, fields: { [CURRENCY_ISO_FIELD]: 'Eur' } },
			{ ref: 1, id: ok(b).id, fields: { [CURRENCY_ISO_FIELD]: 'ABC', estimatedvalue: 99 } },
		]);
		ok(updated[0]);
		assert.equal(failed(updated[1]).code, 'CURRENCY');
		assert.equal(String(row('opportunities', 'opportunityid', ok(a).id)._transactioncurrencyid_value).toLowerCase(), EUR_CURRENCY_ID);
		assert.equal(row('opportunities', 'opportunityid', ok(b).id).estimatedvalue, 20, 'the failed record is not written');

		// name is no alternate key: search + write; a closed state goes through search + write too.
		const upserted = await dv.upsert('opportunity', 'name', [
			{ ref: 0, fields: { name: 'Upsert me', [CURRENCY_ISO_FIELD]: 'EUR' } },
			{ ref: 1, fields: { name: 'New one', estimatedvalue: 5, [CURRENCY_ISO_FIELD]: 'EUR', statecode: 1 } },
			{ ref: 2, fields: { name: 'Bad one', [CURRENCY_ISO_FIELD]: 'QQQ' } },
		]);
		assert.equal(ok(upserted[0]).status, 'updated');
		const made = ok(upserted[1]);
		assert.equal(made.status, 'created');
		assert.equal(failed(upserted[2]).code, 'CURRENCY');
		assert.equal(String(row('opportunities', 'opportunityid', ok(b).id)._transactioncurrencyid_value).toLowerCase(), EUR_CURRENCY_ID);
		const won = row('opportunities', 'opportunityid', made.id);
		assert.deepEqual([String(won._transactioncurrencyid_value).toLowerCase(), won.statecode], [EUR_CURRENCY_ID, 1]);
		assert.equal((await dv.get('opportunity', made.id))?.fields[CURRENCY_ISO_FIELD], 'EUR');
		assert.equal(await currencyReads(), 1, 'the currency rows are read once per connector');
	});

	test('listChanges (modifiedon filter and change tracking) carry the code, with and without $select; leads too', async () => {
		const dv = connector();
		ok((await dv.create('opportunity', [{ ref: 0, fields: { name: 'Listed', estimatedvalue: 7, [CURRENCY_ISO_FIELD]: 'EUR' } }]))[0]);
		ok((await dv.create('lead', [{ ref: 0, fields: { lastname: 'Lead in euros', [CURRENCY_ISO_FIELD]: 'eur' } }]))[0]);
		for (const changeTracking of [false, true]) {
			const c = connector({ changeTracking });
			for (const fields of [undefined, ['name', CURRENCY_ISO_FIELD]]) {
				const page = await c.listChanges('opportunity', { fields });
				const listed = page.records.find((r) => r.fields.name === 'Listed');
				assert.equal(listed?.fields[CURRENCY_ISO_FIELD], 'EUR', `changeTracking ${changeTracking}, fields ${JSON.stringify(fields)}`);
				// Seeded deals have money in the base currency.
				for (const r of page.records) assert.ok(r.fields[CURRENCY_ISO_FIELD] === null || typeof r.fields[CURRENCY_ISO_FIELD] === 'string', JSON.stringify(r.fields));
			}
			const leads = await c.listChanges('lead', { fields: ['lastname', CURRENCY_ISO_FIELD] });
			assert.equal(leads.records.find((r) => r.fields.lastname === 'Lead in euros')?.fields[CURRENCY_ISO_FIELD], 'EUR');
		}
	});

	test('a currency GUID the cached rows lack reads them again once', async () => {
		const dv = connector();
		const [first] = await dv.create('opportunity', [{ ref: 0, fields: { name: 'Before', estimatedvalue: 1, [CURRENCY_ISO_FIELD]: 'USD' } }]);
		assert.equal((await dv.get('opportunity', ok(first).id))?.fields[CURRENCY_ISO_FIELD], 'USD');
		assert.equal(await currencyReads(), 1);
		// A currency added after the connector read the rows, and a deal in it written by someone else.
		await admin('transactioncurrencies', { isocurrencycode: 'CHF', currencyname: 'Swiss Franc', currencysymbol: 'CHF', exchangerate: 0.88 });
		const [chf] = await connector().create('opportunity', [{ ref: 0, fields: { name: 'Francs', estimatedvalue: 2, [CURRENCY_ISO_FIELD]: 'chf' } }]);
		const before = await currencyReads();
		assert.equal((await dv.get('opportunity', ok(chf).id))?.fields[CURRENCY_ISO_FIELD], 'CHF');
		assert.equal(await currencyReads(), before + 1);
		// Known now: no further read.
		assert.equal((await dv.search('opportunity', 'name', ['Francs', 'Before'])).map((r) => r.fields[CURRENCY_ISO_FIELD]).sort().join(), 'CHF,USD');
		assert.equal(await currencyReads(), before + 1);
		// And writes in it are accepted by this connector now.
		ok((await dv.update('opportunity', [{ ref: 0, id: ok(first).id, fields: { [CURRENCY_ISO_FIELD]: 'CHF' } }]))[0]);
	});

	test('a record without a currency reads null; a write with a null code binds nothing', async () => {
		const dv = connector();
		const [created] = await dv.create('lead', [{ ref: 0, fields: { lastname: 'No money', [CURRENCY_ISO_FIELD]: null } }]);
		const stored = row('leads', 'leadid', ok(created).id);
		assert.ok(stored._transactioncurrencyid_value === undefined || stored._transactioncurrencyid_value === null);
		// A $select reads the lookup column as null (the sandbox leaves null lookups out of full rows).
		const read = await dv.get('lead', ok(created).id, { fields: ['lastname', CURRENCY_ISO_FIELD] });
		assert.equal(read?.fields[CURRENCY_ISO_FIELD], null);
		assert.equal(await currencyReads(), 0, 'no currency named, none read: no currency rows needed');
	});
});
