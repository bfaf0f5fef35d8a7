// Mapping deals with each CRM account's own metadata (lib/mapping/metadata.ts, read through
// lib/sync/crm-metadata.ts) over real HTTP against the five sandboxes: stages written to and read
// from the account's pipelines (won and lost never taken for open stages), owners carried by
// their user's e-mail, and the deals written to the CRM and read back from it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { DEAL_STAGES, fromUnifiedWithMetadata, OWNER_EMAIL, toUnifiedWithMetadata, type CrmMetadata } from '../../../lib/mapping';
import { CRM_NAMES, type CrmName } from '../../../lib/model';
import { crmMetadata, forgetCrmMetadata } from '../../../lib/sync/crm-metadata';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { apiCredentials } from '../../e2e/fixtures';

let sandbox: Sandbox;
let credentials: Record<string, Record<string, unknown>>;
const connectors = new Map<CrmName, CrmConnector>();
const connector = (crm: CrmName) => connectors.get(crm) ?? connectors.set(crm, createConnector(crm, credentials[crm])).get(crm)!;

before(async () => {
	sandbox = await startSandbox({ seed: { contacts: 0, companies: 0, deals: 0, activities: 0 } });
	credentials = apiCredentials(sandbox.urls);
});
after(() => sandbox?.stop());

const CLOSED = ['closedWon', 'closedLost'];

/** A user of the account with an e-mail address, as its users API lists it. */
async function someUser(crm: CrmName): Promise<{ id: string; email: string }> {
	const user = (await connector(crm).listUsers()).find((u) => u.active && u.email);
	assert.ok(user, `${crm} lists an active user with an e-mail address`);
	return { id: user.id, email: user.email!.toLowerCase() };
}

for (const crm of CRM_NAMES) {
	describe(`deals mapped with ${crm}'s metadata`, () => {
		let metadata: CrmMetadata;
		before(async () => {
			forgetCrmMetadata();
			metadata = await crmMetadata(connector(crm));
		});

		test('every unified stage is written to a stage of the account and read back; won and lost exactly, open stages as open stages', () => {
			for (const stage of DEAL_STAGES) {
				const written = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Big deal', stage });
				assert.equal(written.issues, undefined, `${stage}: ${JSON.stringify(written.issues)}`);
				const read = toUnifiedWithMetadata('opportunity', metadata, written.record).record.stage;
				if (CLOSED.includes(stage)) assert.equal(read, stage, `${stage} comes back as itself`);
				else {
					assert.ok(typeof read === 'string' && !CLOSED.includes(read), `${stage} is written to an open stage (read back as ${String(read)})`);
					const exact = metadata.stages.entries.some((e) => e.unified === stage && e.stage.outcome === 'open');
					if (exact) assert.equal(read, stage, `${stage}: the account has a stage for it`);
				}
			}
		});

		test('an owner is carried by e-mail; an address with no user here leaves the owner to the CRM', async () => {
			const user = await someUser(crm);
			const written = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Owned deal', stage: 'proposal', [OWNER_EMAIL]: user.email.toUpperCase() });
			assert.deepEqual(written.owner, { id: user.id, by: 'email', email: user.email });
			const read = toUnifiedWithMetadata('opportunity', metadata, written.record).record;
			assert.equal(read[OWNER_EMAIL], user.email);
			assert.equal(read.ownerId, undefined, 'no CRM-local owner id in the unified record');

			const stranger = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Deal', stage: 'proposal', [OWNER_EMAIL]: 'nobody@elsewhere.example' });
			assert.equal(stranger.owner?.by, 'none');
			assert.equal(toUnifiedWithMetadata('opportunity', metadata, stranger.record).record[OWNER_EMAIL], undefined);
			assert.match(String(stranger.owner?.reason), /has no user nobody@elsewhere\.example/);
		});

		test("a company's owner is carried by e-mail too; a company has no stage", async () => {
			const user = await someUser(crm);
			const written = fromUnifiedWithMetadata('account', metadata, { name: 'Acme', website: 'https://acme.example', [OWNER_EMAIL]: user.email });
			assert.equal(written.owner?.id, user.id);
			assert.equal(toUnifiedWithMetadata('account', metadata, written.record).record[OWNER_EMAIL], user.email);
			assert.equal('stage' in toUnifiedWithMetadata('account', metadata, written.record).record, false);
		});

		test('a won deal written to the CRM reads back won, with its owner', async () => {
			const user = await someUser(crm);
			const fields = fromUnifiedWithMetadata('opportunity', metadata, { name: `Won ${crm}`, amount: 1200, closeDate: '2026-12-31', stage: 'closedWon', [OWNER_EMAIL]: user.email }).record;
			const [outcome] = await connector(crm).create('opportunity', [{ ref: 0, fields }]);
			assert.notEqual(outcome.status, 'failed', JSON.stringify(outcome));
			const stored = await connector(crm).get('opportunity', (outcome as { id: string }).id);
			assert.ok(stored, 'the deal is there');
			const read = toUnifiedWithMetadata('opportunity', metadata, stored.fields).record;
			assert.equal(read.stage, 'closedWon');
			assert.equal(read[OWNER_EMAIL], user.email);
		});
	});
}

describe("a custom pipeline's stages", () => {
	test('Pipedrive: stages of a second pipeline are read by their labels; won and lost come from the deal status', async () => {
		const base = sandbox.urls.pipedrive!;
		const call = async (path: string, body: unknown) => {
			const res = await fetch(`${base}${path}?api_token=${String(credentials.pipedrive.apiToken)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
			assert.equal(res.status, 200, await res.clone().text());
			return ((await res.json()) as { data: { id: number } }).data;
		};
		const pipeline = await call('/api/v2/pipelines', { name: 'Enterprise' });
		const discovery = await call('/api/v2/stages', { name: 'Discovery call', pipeline_id: pipeline.id });
		const security = await call('/api/v2/stages', { name: 'Security review', pipeline_id: pipeline.id });
		forgetCrmMetadata();
		const metadata = await crmMetadata(connector('pipedrive'));
		const read = (fields: Record<string, unknown>) => toUnifiedWithMetadata('opportunity', metadata, { title: 'D', ...fields }).record.stage;
		assert.equal(read({ stage_id: discovery.id, status: 'open' }), 'needsAnalysis');
		assert.equal(read({ stage_id: security.id, status: 'open' }), 'negotiation');
		assert.equal(read({ stage_id: security.id, status: 'won' }), 'closedWon');
		assert.equal(read({ stage_id: discovery.id, status: 'lost' }), 'closedLost');
		// Writing goes to the default pipeline (the first), whatever stage a deal came from.
		assert.equal(fromUnifiedWithMetadata('opportunity', metadata, { name: 'D', stage: 'needsAnalysis' }).record.stage_id, 3);
	});

	test('a stage override beats the label, and may not turn an open stage into a closed one', async () => {
		forgetCrmMetadata();
		const metadata = await crmMetadata(connector('pipedrive'), { stageOverrides: { 'Demo Scheduled': 'proposal' } });
		assert.equal(toUnifiedWithMetadata('opportunity', metadata, { title: 'D', stage_id: 3, status: 'open' }).record.stage, 'proposal');
		await assert.rejects(crmMetadata(connector('pipedrive'), { stageOverrides: { 'Demo Scheduled': 'closedWon' } }), /flags that stage as open/);
	});
});

describe("a deal's currency against the account's", () => {
	const single = { default: 'USD', enabled: ['USD'] };
	const multi = { default: 'USD', enabled: ['EUR', 'GBP', 'USD'] };
	const withCurrencies = async (crm: CrmName, currencies: CrmMetadata['currencies']): Promise<CrmMetadata> => ({ ...(await crmMetadata(connector(crm))), currencies });
	const currencyField: Record<string, string> = { salesforce: 'CurrencyIsoCode', zoho: 'Currency', hubspot: 'deal_currency_code', pipedrive: 'currency', dynamics: 'crmSyncCurrencyIsoCode' };

	for (const crm of CRM_NAMES) {
		test(`${crm}: a deal in another currency is an issue naming both, never converted; its own currency is not written in a single-currency account`, async () => {
			const metadata = await withCurrencies(crm, single);
			const refused = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Euro deal', amount: 100, currency: 'eur', stage: 'proposal' });
			assert.equal(refused.valid, false);
			const issue = refused.issues?.find((i) => i.field === 'currency');
			assert.match(issue?.reason ?? '', /EUR.*USD only.*not converted/);
			const own = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Dollar deal', amount: 100, currency: 'USD', stage: 'proposal' });
			assert.equal(own.valid, true, JSON.stringify(own.issues));
			assert.equal(own.record[currencyField[crm]], undefined, 'no currency field in a single-currency account');
			const empty = fromUnifiedWithMetadata('opportunity', metadata, { name: 'No currency', amount: 1, currency: null, stage: 'proposal' });
			assert.equal(currencyField[crm] in empty.record, false, 'an empty currency is not written either');
			assert.equal(own.record[{ pipedrive: 'value', hubspot: 'amount', dynamics: 'estimatedvalue' }[crm as string] ?? 'Amount'] !== undefined, true, 'the amount is written');
		});

		test(`${crm}: a multi-currency account takes any of its currencies, upper case; a deal read without a currency is in the account's own`, async () => {
			const metadata = await withCurrencies(crm, multi);
			const written = fromUnifiedWithMetadata('opportunity', metadata, { name: 'Pound deal', amount: 5, currency: 'gbp', stage: 'proposal' });
			assert.equal(written.valid, true, JSON.stringify(written.issues));
			assert.equal(written.record[currencyField[crm]], 'GBP');
			const read = toUnifiedWithMetadata('opportunity', { ...metadata, currencies: single }, { ...written.record, [currencyField[crm]]: undefined }).record;
			assert.equal(read.currency, 'USD');
			assert.equal(fromUnifiedWithMetadata('opportunity', metadata, { name: 'Yen deal', amount: 5, currency: 'JPY' }).valid, false);
		});
	}
});
