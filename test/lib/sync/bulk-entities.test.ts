// Bulk sync of every entity in dependency order (accounts, then contacts, then deals) from a
// seeded Pipedrive into the other four sandbox CRMs, through the real connectors and an embedded
// state store: accounts are matched by domain (a rerun creates none), deals keep their stage
// (won stays won) and their account as each target's own record, and an incremental rerun
// writes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { CRM_NAMES, type CrmName, type EntityType } from '../../../lib/model';
import { openStateStore, type StateStore } from '../../../lib/state';
import { BULK_ENTITIES, finishJob, readSourceToSpool, writeSpoolToTargets, type BulkFailure } from '../../../lib/sync/bulk';
import { startSandbox, type Sandbox } from '../../../sandbox';
import { apiCredentials } from '../../e2e/fixtures';

const SOURCE: CrmName = 'pipedrive';
const TARGETS = CRM_NAMES.filter((crm) => crm !== SOURCE);
type Row = Record<string, unknown>;

let dir: string;
let store: StateStore;
let sandbox: Sandbox;
let credentials: Record<string, Record<string, unknown>>;

const connector = (crm: CrmName): CrmConnector => createConnector(crm, credentials[crm], { store, limits: { default: { maxConcurrent: 16 }, search: { maxConcurrent: 8 } } });

before(async () => {
	dir = mkdtempSync(join(tmpdir(), 'bulk-entities-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'bulk-entities', path: join(dir, 'state.db') });
	sandbox = await startSandbox({ seed: { contacts: 0, companies: 0, deals: 0, activities: 0 }, perCrm: { [SOURCE]: { seed: { contacts: 40, companies: 12, deals: 30, activities: 0 } } } });
	credentials = apiCredentials(sandbox.urls);
});

after(async () => {
	await sandbox?.stop();
	await store?.close();
	rmSync(dir, { recursive: true, force: true });
});

async function bulk(entity: EntityType, mode: 'incremental' | 'full' = 'incremental') {
	const failures: BulkFailure[] = [];
	const job = await readSourceToSpool(connector(SOURCE), store, { entity, settings: { mode, dryRun: false } });
	await writeSpoolToTargets(TARGETS.map((crm) => ({ crm, connector: () => connector(crm) })), store, { source: SOURCE, entity, jobId: job.id, dryRun: false, onFailures: (f) => failures.push(...f) });
	return { summary: await finishJob(store, SOURCE, entity, job.id, false), failures };
}

const rows = (crm: CrmName, type: string): Row[] => (sandbox.emulators[crm]!.dump() as Record<string, Row[]>)[type] ?? [];
const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? String((v as Row).id ?? (v as Row).value ?? '') : String(v));

/** Live accounts: id and name. */
function accounts(crm: CrmName): Array<{ id: string; name: string }> {
	switch (crm) {
		case 'hubspot':
			return rows(crm, 'companies').filter((r) => !r.archived).map((r) => ({ id: text(r.id), name: text((r.properties as Row).name) }));
		case 'salesforce':
			return rows(crm, 'Account').filter((r) => !r.IsDeleted).map((r) => ({ id: text(r.Id), name: text(r.Name) }));
		case 'zoho':
			return rows(crm, 'Accounts').filter((r) => !r.$deleted).map((r) => ({ id: text(r.id), name: text(r.Account_Name) }));
		case 'dynamics':
			return rows(crm, 'accounts').filter((r) => !r['@sandbox.deleted']).map((r) => ({ id: text(r.accountid), name: text(r.name) }));
		case 'pipedrive':
			return rows(crm, 'organizations').filter((r) => !r.is_deleted).map((r) => ({ id: text(r.id), name: text(r.name) }));
	}
}

/** Live deals: name, whether the CRM holds them won, and their account id (HubSpot: none in its deal fields). */
function deals(crm: CrmName): Array<{ name: string; won: boolean; account: string }> {
	switch (crm) {
		case 'hubspot':
			return rows(crm, 'deals').filter((r) => !r.archived).map((r) => r.properties as Row).map((p) => ({ name: text(p.dealname), won: p.dealstage === 'closedwon', account: '' }));
		case 'salesforce':
			return rows(crm, 'Opportunity').filter((r) => !r.IsDeleted).map((r) => ({ name: text(r.Name), won: r.StageName === 'Closed Won', account: text(r.AccountId) }));
		case 'zoho':
			return rows(crm, 'Deals').filter((r) => !r.$deleted).map((r) => ({ name: text(r.Deal_Name), won: r.Stage === 'Closed Won', account: text(r.Account_Name) }));
		case 'dynamics':
			return rows(crm, 'opportunities').filter((r) => !r['@sandbox.deleted']).map((r) => ({ name: text(r.name), won: r.statecode === 1, account: text(r._customerid_value) }));
		case 'pipedrive':
			return rows(crm, 'deals').filter((r) => !r.is_deleted).map((r) => ({ name: text(r.title), won: r.status === 'won', account: text(r.org_id) }));
	}
}

const sorted = (list: string[]) => [...list].sort();

test('bulk entities come in dependency order', () => {
	assert.deepEqual(BULK_ENTITIES, ['account', 'contact', 'opportunity']);
});

test('accounts, then contacts, then deals: every target ends with the source\'s accounts and deals, stages and account links kept', async () => {
	const sourceAccounts = accounts(SOURCE);
	const sourceDeals = deals(SOURCE);
	assert.ok(sourceAccounts.length >= 10 && sourceDeals.length >= 20, 'seeded source');
	assert.ok(sourceDeals.filter((d) => d.account).length >= 10 && sourceDeals.some((d) => d.won) && sourceDeals.some((d) => !d.won), 'deals with accounts, won and open');
	for (const entity of BULK_ENTITIES) {
		const { summary, failures } = await bulk(entity);
		assert.deepEqual(failures, [], `${entity}: no failed record`);
		assert.ok(summary.processed > 0, `${entity}: records processed`);
	}
	const accountNameOf = (crm: CrmName, id: string) => accounts(crm).find((a) => a.id === id)?.name;
	for (const crm of TARGETS) {
		assert.deepEqual(sorted(accounts(crm).map((a) => a.name)), sorted(sourceAccounts.map((a) => a.name)), `${crm}: the source's accounts, once each`);
		assert.deepEqual(sorted(deals(crm).map((d) => d.name)), sorted(sourceDeals.map((d) => d.name)), `${crm}: the source's deals, once each`);
		for (const deal of sourceDeals) {
			const copy = deals(crm).find((d) => d.name === deal.name)!;
			assert.equal(copy.won, deal.won, `${crm} ${deal.name}: won ${deal.won}`);
			if (crm !== 'hubspot' && deal.account) assert.equal(accountNameOf(crm, copy.account), accountNameOf(SOURCE, deal.account), `${crm} ${deal.name}: its account is ${crm}'s record of the same company`);
		}
	}
});

test('a rerun writes nothing new; a full rerun of accounts matches them by domain and creates none', async () => {
	const before = Object.fromEntries(TARGETS.map((crm) => [crm, accounts(crm).length]));
	for (const entity of BULK_ENTITIES) {
		const { summary } = await bulk(entity);
		assert.equal(summary.created + summary.updated, 0, `${entity}: incremental rerun writes nothing`);
	}
	const { summary, failures } = await bulk('account', 'full');
	assert.deepEqual(failures, []);
	assert.equal(summary.created, 0, 'no account created twice');
	for (const crm of TARGETS) assert.equal(accounts(crm).length, before[crm], `${crm}: still one record per company`);
});
