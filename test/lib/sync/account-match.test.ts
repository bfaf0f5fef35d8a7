// Accounts written with the match key "domain" (lib/sync/account-match.ts through UpsertWriter),
// against the five sandbox CRMs through the real connectors: an account already in the CRM is
// found by its website's domain however the website is written, else by its normalised name, and
// updated; a company on another domain with the same name, or a new company, is created. Nothing
// is created twice, not even when the CRM made an account but its reply was lost; one that was
// not made is made again where the CRM's lookups see their own writes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { defaultMapping } from '../../../lib/mapping';
import { CRM_NAMES, type CrmName } from '../../../lib/model';
import { ACCOUNT_MATCH_KEY, findExistingAccounts } from '../../../lib/sync/account-match';
import { UpsertWriter } from '../../../lib/sync/upsert-writer';
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

/** Creates an account in the CRM through its connector; its id. */
async function existing(crm: CrmName, account: Record<string, unknown>): Promise<string> {
	const fields = defaultMapping('fromUnified', crm, 'account').map(account).record;
	const [outcome] = await connector(crm).create('account', [{ ref: 0, fields }]);
	assert.notEqual(outcome.status, 'failed', JSON.stringify(outcome));
	return (outcome as { id: string }).id;
}

function writer(crm: CrmName, through = () => connector(crm)): UpsertWriter {
	return new UpsertWriter(
		{ crm, entity: 'account', operation: 'upsert', inputFormat: 'unified', matchKey: ACCOUNT_MATCH_KEY, dryRun: false, unchangedAgainst: 'nothing', recordEchoes: false, continueOnFail: true, recordState: false },
		through,
		undefined,
	);
}

/** Each CRM's account-create requests (POST), not its searches. */
const CREATE_PATHS: Record<CrmName, string> = {
	hubspot: '^/crm/v3/objects/companies(/batch/create)?$',
	pipedrive: '^/api/v2/organizations$',
	salesforce: '/(sobjects/Account|composite/sobjects)/?$',
	zoho: '/Accounts$',
	dynamics: '/(accounts|\\$batch)$',
};

for (const crm of CRM_NAMES) {
	describe(`accounts matched by domain, then name: ${crm}`, () => {
		test('an existing account is found by its domain however the website is written, and updated', async () => {
			const tag = randomUUID().slice(0, 8);
			const id = await existing(crm, { name: `Acme ${tag} Inc.`, website: `https://www.acme-${tag}.com/about` });
			const [result] = await writer(crm).run([{ index: 0, record: { name: `ACME ${tag} Corporation`, website: `acme-${tag}.com`, phone: '+14155550100' } }]);
			assert.equal(result.ok, true, JSON.stringify(result.json));
			assert.deepEqual([result.json.status, result.json.id], ['updated', id]);
			assert.equal((await connector(crm).findAccountsByDomain([`acme-${tag}.com`])).length, 1, 'not created twice');
		});

		test('without a domain match the normalised name finds it; another domain with that name is another company', async () => {
			const tag = randomUUID().slice(0, 8);
			const byName = await existing(crm, { name: `Globex ${tag} GmbH` });
			const onDomain = await existing(crm, { name: `Initech ${tag}`, website: `https://initech-${tag}.com` });
			const results = await writer(crm).run([
				{ index: 0, record: { name: `globex ${tag}`, website: `globex-${tag}.de` } },
				{ index: 1, record: { name: `Initech ${tag} LLC`, website: `initech-${tag}.de` } },
				{ index: 2, record: { name: `Umbrella ${tag}`, website: `umbrella-${tag}.com` } },
			]);
			assert.ok(results.every((r) => r.ok), JSON.stringify(results));
			assert.deepEqual([results[0].json.status, results[0].json.id], ['updated', byName], 'Globex has no website in the CRM: found by name');
			assert.equal(results[1].json.status, 'created', 'Initech on another domain is another company');
			assert.notEqual(results[1].json.id, onDomain);
			assert.equal(results[2].json.status, 'created');
			const matches = await findExistingAccounts(crm, connector(crm), [{ name: `Umbrella ${tag}`, website: `https://umbrella-${tag}.com/` }]);
			assert.deepEqual(matches, [{ id: results[2].json.id, by: 'domain' }], 'the created account is found next time');
		});

		test('a create whose reply was lost is found again and reported created, not failed or made twice', async () => {
			const tag = randomUUID().slice(0, 8);
			const quick = createConnector(crm, credentials[crm], { timeoutMs: 500, retry: { baseDelayMs: 20 } });
			sandbox.emulators[crm]!.setFaults({ lostReplyRate: 1, maxFaults: 1, method: 'POST', pathPattern: CREATE_PATHS[crm] });
			try {
				const [result] = await writer(crm, () => quick).run([{ index: 0, record: { name: `Hooli ${tag}`, website: `https://hooli-${tag}.com` } }]);
				const lost = sandbox.emulators[crm]!.requests().filter((r) => r.fault === 'lostReply');
				assert.equal(lost.length, 1, 'the create lost its reply');
				assert.equal(result.ok, true, JSON.stringify(result.json));
				const found = await connector(crm).findAccountsByDomain([`hooli-${tag}.com`]);
				assert.deepEqual([result.json.status, found.map((r) => r.id)], ['created', [result.json.id]], 'one account, the one reported');
			} finally {
				sandbox.emulators[crm]!.setFaults({});
			}
		});

		test('a create that got no answer and never landed is made again where the lookups see their own writes, else reported; never made twice', async () => {
			const tag = randomUUID().slice(0, 8);
			const quick = createConnector(crm, credentials[crm], { timeoutMs: 500, retry: { baseDelayMs: 20 } });
			sandbox.emulators[crm]!.setFaults({ hangRate: 1, maxFaults: 1, method: 'POST', pathPattern: CREATE_PATHS[crm] });
			try {
				const [result] = await writer(crm, () => quick).run([{ index: 0, record: { name: `Pied Piper ${tag}`, website: `https://piedpiper-${tag}.com` } }]);
				assert.equal(sandbox.emulators[crm]!.requests().filter((r) => r.fault === 'hang').length, 1, 'the create hung');
				const found = await connector(crm).findAccountsByDomain([`piedpiper-${tag}.com`]);
				const seesOwnWrites = crm === 'salesforce' || crm === 'dynamics'; // SOQL, OData
				assert.equal(quick.accountLookupsSeeOwnWrites === true, seesOwnWrites);
				if (seesOwnWrites) {
					assert.equal(result.ok, true, JSON.stringify(result.json));
					assert.deepEqual([result.json.status, found.map((r) => r.id)], ['created', [result.json.id]], 'made once, by the second create');
				} else {
					assert.deepEqual([result.ok, result.json.code, found.length], [false, 'TIMEOUT', 0], 'reported for review, not guessed');
				}
			} finally {
				sandbox.emulators[crm]!.setFaults({});
			}
		});
	});
}
