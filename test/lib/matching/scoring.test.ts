import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	DEFAULT_FS_PARAMETERS,
	estimateFellegiSunter,
	findDuplicatesInBatch,
	MatchIndex,
	PairScorer,
	prepareRecord,
	scoreFellegiSunter,
	scoreSimple,
	validateFsParameters,
} from '../../../lib/matching';
import type { UnifiedRecord } from '../../../lib/model';
import { generateLabelledSet } from '../../../lib/matching/labelled-set';
import { observe } from '../../../lib/matching/scorer';

const prep = (record: UnifiedRecord, slot = 0) => prepareRecord(record, slot);

describe("the brief's example", () => {
	const incoming = { name: 'Jonathan Doe', email: 'j.doe@example.com', phone: '(555) 123-4567' };
	const existing = [{ id: '123', name: 'John Doe', email: 'j.doe@example.com', phone: '5551234567' }];

	for (const mode of ['simple', 'fellegiSunter'] as const) {
		test(`${mode}: exactly one duplicate, confidence > 0.8, email and phone factors`, () => {
			const index = new MatchIndex({ mode });
			for (const record of existing) index.upsert(record);
			const matches = index.query(incoming);
			assert.equal(matches.length, 1);
			assert.equal(matches[0].id, '123');
			assert.ok(matches[0].confidence > 0.8, String(matches[0].confidence));
			assert.ok(matches[0].confidence <= 1);
			assert.equal(matches[0].factors.email, true);
			assert.equal(matches[0].factors.phone, true);
		});
	}

	test('simple: confidence is the weighted sum 0.4 + 0.25 + 0.2 x name similarity', () => {
		const { confidence, factors } = new PairScorer().score(prep(incoming), prep(existing[0]));
		assert.equal(confidence, 0.4 + 0.25 + 0.2 * (factors.name as number));
	});

	test('within a batch the two records form one cluster', () => {
		const result = findDuplicatesInBatch([...existing, incoming]);
		assert.equal(result.pairs.length, 1);
		assert.deepEqual(result.clusters.map((c) => c.members), [[0, 1]]);
	});
});

describe('simple scoring', () => {
	test('weights and thresholds of the brief', () => {
		assert.equal(scoreSimple({ email: true }), 0.4);
		assert.equal(scoreSimple({ phone: true }), 0.25);
		assert.equal(scoreSimple({ name: 0.9 }), 0.2 * 0.9);
		assert.equal(scoreSimple({ name: 0.85 }), 0, 'name must be above 0.85');
		assert.equal(scoreSimple({ company: 0.9 }), 0.15 * 0.9);
		assert.equal(scoreSimple({ company: 0.8 }), 0, 'company must be above 0.8');
		assert.equal(scoreSimple({ email: false, phone: false, name: 0.5, company: 0.5 }), 0);
		assert.equal(scoreSimple({ email: true, phone: true, name: 1, company: 1 }), 1);
	});
	test('custom weights', () => {
		const weights = { email: 0.5, phone: 0.5, name: 0, company: 0, nameMinSimilarity: 0.85, companyMinSimilarity: 0.8 };
		assert.equal(scoreSimple({ email: true, phone: true, name: 1 }, weights), 1);
	});
	test('the default threshold is 0.7 and can be changed', () => {
		assert.equal(new PairScorer().threshold, 0.7);
		assert.equal(new PairScorer({ threshold: 0.5 }).threshold, 0.5);
		assert.throws(() => new PairScorer({ threshold: 1.5 }), /between 0 and 1/);
	});
	test('factors carry every compared field', () => {
		const { factors } = new PairScorer().score(
			prep({ email: 'a@x.com', phone: '4155550123', name: 'Ann Lee', company: 'X Inc', postalCode: '94105' }),
			prep({ email: 'b@x.com', phone: '4155550123', name: 'Ann Lee', company: 'X', postalCode: '94105' }),
		);
		assert.deepEqual(factors, { email: false, phone: true, name: 1, company: 1, postalCode: true });
	});
});

describe('Fellegi-Sunter scoring', () => {
	test('agreements raise and disagreements lower the confidence', () => {
		const agree = scoreFellegiSunter({ email: true, phone: true, name: 1 }, {});
		const disagree = scoreFellegiSunter({ email: false, phone: false, name: 0.5 }, {});
		const unknown = scoreFellegiSunter({}, {});
		assert.ok(agree > 0.99, String(agree));
		assert.ok(disagree < 0.01, String(disagree));
		assert.equal(unknown.toFixed(6), DEFAULT_FS_PARAMETERS.prior.toFixed(6), 'no evidence: the prior');
	});
	test('household members sharing phone and address are not matched (given-name rule)', () => {
		const scorer = new PairScorer({ mode: 'fellegiSunter' });
		const a = prep({ firstName: 'Mary', lastName: 'Smith', phone: '4155550123', street: '1 Oak St', postalCode: '94105', email: 'mary@gmail.com' });
		const b = prep({ firstName: 'John', lastName: 'Smith', phone: '4155550123', street: '1 Oak Street', postalCode: '94105', email: 'jsmith@yahoo.com' });
		const { confidence, factors } = scorer.score(a, b);
		assert.ok(confidence <= 0.3, String(confidence));
		assert.equal(factors.nonMatchRule, 'givenNameConflict');
	});
	test('colleagues with look-alike names are not matched (different work emails rule)', () => {
		const scorer = new PairScorer({ mode: 'fellegiSunter' });
		const a = prep({ firstName: 'Chris', lastName: 'Johnson', company: 'Acme', email: 'chris.johnson@acme.com', phone: '4155550001' });
		const b = prep({ firstName: 'Chris', lastName: 'Johnston', company: 'Acme Inc', email: 'chris.johnston@acme.com', phone: '4155550002' });
		const { confidence, factors } = scorer.score(a, b);
		assert.ok(confidence <= 0.3, String(confidence));
		assert.equal(factors.nonMatchRule, 'differentWorkEmails');
	});
	test('a personal-vs-work duplicate with the same phone, name and company is matched', () => {
		const scorer = new PairScorer({ mode: 'fellegiSunter' });
		const a = prep({ firstName: 'Chris', lastName: 'Johnson', company: 'Acme', email: 'chris.johnson@acme.com', phone: '4155550001' });
		const b = prep({ firstName: 'Chris', lastName: 'Johnson', company: 'Acme Inc', email: 'cjohnson77@gmail.com', phone: '(415) 555-0001' });
		const simple = new PairScorer().score(a, b).confidence;
		const fs = scorer.score(a, b).confidence;
		assert.ok(fs > 0.9, `FS ${fs}`);
		assert.ok(simple < 0.7, `simple ${simple} (the brief's model misses it)`);
	});
	test('EM recovers separating parameters from a labelled set, without the labels', () => {
		const set = generateLabelledSet({ entities: 800, seed: 3 });
		const prepared = set.records.map((r, i) => prep(r, i));
		const candidates: Array<[number, number]> = [];
		for (let i = 0; i < prepared.length; i++) for (let j = i + 1; j < prepared.length; j++) {
			if (prepared[i].lastName !== undefined && prepared[i].lastName === prepared[j].lastName) candidates.push([i, j]);
		}
		const observations = candidates.map(([a, b]) => observe(prepared[a], prepared[b]));
		const random = Array.from({ length: 3000 }, (_, k) => observe(prepared[k % prepared.length], prepared[(k * 7919 + 13) % prepared.length]));
		const parameters = estimateFellegiSunter(observations, random);
		const email = parameters.fields.email;
		assert.ok(email.m[3] > email.u[3] * 10, `email agree m ${email.m[3]} u ${email.u[3]}`);
		const name = parameters.fields.name;
		assert.ok(name.m[4] > name.u[4], `exact-name m ${name.m[4]} u ${name.u[4]}`);
		const truePrior = candidates.filter(([a, b]) => set.entity[a] === set.entity[b]).length / candidates.length;
		assert.ok(Math.abs(parameters.prior - truePrior) < 0.1, `prior ${parameters.prior} vs true ${truePrior}`);
	});
	test('given parameters are validated', () => {
		assert.throws(() => validateFsParameters({ prior: 2, fields: {} }), /prior/);
		assert.throws(() => validateFsParameters({ prior: 0.1, fields: { phone: { m: [0.5], u: [0.5, 0.5] } } }), /fields\.phone\.m must be 2/);
		const ok = validateFsParameters({ prior: 0.1, fields: { phone: { m: [0.1, 0.9], u: [0.9, 0.1] } } });
		assert.deepEqual(ok.fields.phone, { m: [0.1, 0.9], u: [0.9, 0.1] });
		assert.deepEqual(ok.fields.email, DEFAULT_FS_PARAMETERS.fields.email);
	});
	test('given parameters are used instead of estimating', () => {
		const fsParameters = validateFsParameters({ prior: 0.5, fields: {} });
		const result = findDuplicatesInBatch(generateLabelledSet({ entities: 200, seed: 4 }).records, { mode: 'fellegiSunter', fsParameters });
		assert.equal(result.fsParameters, fsParameters);
	});
});
