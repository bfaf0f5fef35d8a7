// Company duplicates: domain first, then normalised name (lib/matching/accounts.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { accountKeys, findAccountDuplicates, sameAccount } from '../../../lib/matching/accounts';
import { accountBatchOutcomes } from '../../../lib/matching/outcomes';

test('keys: the website or domain host, shared hosts ignored; the name without legal form', () => {
	assert.deepEqual(accountKeys({ name: 'Acme, Inc.', website: 'https://www.acme.com/about' }), { domain: 'acme.com', name: 'acme' });
	assert.deepEqual(accountKeys({ name: 'Acme', domain: 'acme.io', website: 'https://acme.com' }), { domain: 'acme.io', name: 'acme' });
	assert.deepEqual(accountKeys({ name: 'Joe Plumbing', website: 'https://joeplumbing.wordpress.com' }), { domain: undefined, name: 'joe plumbing' });
	assert.deepEqual(accountKeys({}), { domain: undefined, name: undefined });
});

test('the same domain is the same company whatever the names', () => {
	assert.equal(sameAccount({ name: 'Acme', website: 'acme.com' }, { name: 'ACME Corporation', website: 'http://www.acme.com' }), 'domain');
	assert.equal(sameAccount({ name: 'Acme', website: 'acme.com' }, { name: 'Road Runner Supplies', website: 'https://acme.com/shop' }), 'domain');
});

test('different domains are different companies even with one name; a name alone matches', () => {
	assert.equal(sameAccount({ name: 'Acme Inc', website: 'acme.com' }, { name: 'Acme GmbH', website: 'acme.de' }), undefined);
	assert.equal(sameAccount({ name: 'Acme Inc', website: 'acme.com' }, { name: 'ACME GmbH' }), 'name');
	assert.equal(sameAccount({ name: 'Société Générale' }, { name: 'societe generale SA' }), 'name');
	assert.equal(sameAccount({ name: 'Acme' }, { name: 'Acme Labs' }), undefined);
	assert.equal(sameAccount({ website: 'gmail.com', name: 'A' }, { website: 'gmail.com', name: 'B' }), undefined, 'a shared host is no match');
});

test('clusters: by domain, names joining a single domain group, ambiguous names left out', () => {
	const accounts = [
		{ name: 'Acme Inc', website: 'https://acme.com' }, // 0
		{ name: 'ACME', website: 'www.acme.com' }, // 1
		{ name: 'Acme Incorporated' }, // 2: joins acme.com by name
		{ name: 'Globex', website: 'globex.com' }, // 3
		{ name: 'Globex GmbH', website: 'globex.de' }, // 4
		{ name: 'Globex' }, // 5: two Globex domains, ambiguous
		{ name: 'Initech' }, // 6
		{ name: 'initech llc' }, // 7
		{ name: 'Umbrella' }, // 8: alone
	];
	assert.deepEqual(findAccountDuplicates(accounts), [
		{ members: [0, 1, 2], by: 'domain' },
		{ members: [6, 7], by: 'name' },
	]);
});

test('batch outcomes for the Duplicate Detector: per cluster the most complete record is the master, the others its duplicates with the rule that matched', () => {
	const records = [
		{ id: 'a', name: 'Acme Inc', website: 'https://www.acme.com/about' },
		{ id: 'b', name: 'ACME', website: 'acme.com', phone: '+14155550100' },
		{ id: 'c', name: 'Globex GmbH' },
		{ id: 'd', name: 'globex' },
		{ id: 'e', name: 'Initech', website: 'initech.example' },
	];
	const outcomes = accountBatchOutcomes(records);
	assert.deepEqual(outcomes[1], { kind: 'unique', masterOf: { cluster: 0, size: 2 } }, 'the record with more fields is the master');
	assert.equal(outcomes[0].kind, 'duplicate');
	assert.deepEqual(outcomes[0].kind === 'duplicate' && [outcomes[0].masterId, outcomes[0].factors, outcomes[0].confidence], ['b', { domain: true }, 1]);
	assert.deepEqual(outcomes[3].kind === 'duplicate' && [outcomes[3].masterId, outcomes[3].factors], ['c', { company: 1 }]);
	assert.deepEqual(outcomes[4], { kind: 'unique' });
});
