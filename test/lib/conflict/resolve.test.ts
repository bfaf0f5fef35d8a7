import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConflictError, passThrough, resolveConflict, type ConflictInput, type ConflictOptions, type Resolution } from '../../../lib/conflict';
import type { Snapshot } from '../../../lib/state';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const T0 = '2026-03-01T09:00:00.000Z'; // last sync
const T1 = '2026-03-01T10:00:00.000Z';
const T2 = '2026-03-01T11:00:00.000Z';

const baseRecord = {
	email: 'ann.lee@acme.io',
	firstName: 'Ann',
	lastName: 'Lee',
	phone: '+14155550100',
	title: 'CTO',
	city: 'Oakland',
	emailOptOut: false,
	doNotCall: false,
};

function base(record: Record<string, unknown> = baseRecord, extra: Partial<Snapshot> = {}): Snapshot {
	return { entity: 'contact', unifiedId: 'u-1', record: { ...record }, fieldModifiedAt: {}, syncedAt: T0, ...extra };
}

/** HubSpot change arriving; Salesforce is the target. */
function input(
	incoming: Record<string, unknown>,
	target: Record<string, unknown>,
	times: { incoming?: string; target?: string } = { incoming: T2, target: T1 },
	withBase: Snapshot | null = base(),
): ConflictInput {
	return {
		entity: 'contact',
		unifiedId: 'u-1',
		incoming: { crm: 'hubspot', record: incoming, modifiedAt: times.incoming },
		target: { crm: 'salesforce', record: target, modifiedAt: times.target },
		base: withBase ?? undefined,
	};
}

const lmw: ConflictOptions = { strategy: 'last-modified-wins' };
const decision = (r: Resolution, field: string) => r.decisions.find((d) => d.field === field);

describe('three-way merge', () => {
	test('fields changed on one side only are taken without conflict, in both directions', () => {
		const r = resolveConflict(
			input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, phone: '+14155550199' }, { incoming: T1, target: T2 }),
			{ strategy: 'manual-review' },
			NOW,
		);
		assert.equal(r.needsReview, false, 'no true conflict, so even manual review resolves automatically');
		assert.deepEqual(r.conflicts, []);
		assert.equal(r.action, 'update');
		assert.equal(r.merged?.title, 'CEO');
		assert.equal(r.merged?.phone, '+14155550199');
		assert.deepEqual(r.targetPatch, { title: 'CEO' });
		assert.deepEqual(r.sourcePatch, { phone: '+14155550199' });
		assert.equal(decision(r, 'title')?.change, 'source-only');
		assert.equal(decision(r, 'phone')?.change, 'target-only');
		assert.equal(decision(r, 'city'), undefined, 'unchanged fields are not listed');
	});

	test('both sides changed to the same value: no conflict, nothing to write', () => {
		const r = resolveConflict(input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'CEO' }), lmw, NOW);
		assert.equal(r.action, 'skip');
		assert.equal(decision(r, 'title')?.change, 'both-same');
		assert.deepEqual(r.conflicts, []);
	});

	test('absent fields in a partial webhook payload count as unchanged; null clears', () => {
		const r = resolveConflict(input({ title: 'CEO', city: null }, { ...baseRecord }), lmw, NOW);
		assert.deepEqual(r.targetPatch, { title: 'CEO', city: null });
		assert.equal(r.merged?.email, baseRecord.email);
		assert.equal(r.merged?.city, null);
	});

	test('empty representations (null, "", missing) compare equal', () => {
		const r = resolveConflict(input({ ...baseRecord, website: '' }, { ...baseRecord, website: null }), lmw, NOW);
		assert.equal(r.action, 'skip');
	});

	test('ignored fields (system timestamps) are never merged', () => {
		const r = resolveConflict(input({ ...baseRecord, updatedAt: T2 }, { ...baseRecord, updatedAt: T1 }), lmw, NOW);
		assert.equal(r.action, 'skip');
		assert.equal(r.merged?.updatedAt, undefined);
	});

	test('missing base (first sync): equal values agree, empty sides are filled, differing values conflict', () => {
		const r = resolveConflict(
			input({ email: 'ann.lee@acme.io', phone: '+14155550100', title: 'CTO' }, { email: 'ann.lee@acme.io', city: 'Oakland', title: 'VP Eng' }, { incoming: T2, target: T1 }, null),
			lmw,
			NOW,
		);
		assert.deepEqual(r.conflicts, ['title']);
		assert.equal(r.merged?.title, 'CTO', 'newer side wins the conflict');
		assert.deepEqual(r.targetPatch, { phone: '+14155550100', title: 'CTO' });
		assert.deepEqual(r.sourcePatch, { city: 'Oakland' });
		assert.equal(decision(r, 'email'), undefined);
		assert.equal(decision(r, 'phone')?.change, 'source-only');
		assert.equal(r.snapshot?.record.city, 'Oakland');
	});

	test('no target record yet: create from the incoming record', () => {
		const r = resolveConflict(
			{ entity: 'contact', unifiedId: 'u-9', incoming: { crm: 'pipedrive', record: { email: 'x@y.io', firstName: 'X', phone: '' }, modifiedAt: T1 } },
			lmw,
			NOW,
		);
		assert.equal(r.action, 'create');
		assert.deepEqual(r.targetPatch, { email: 'x@y.io', firstName: 'X' });
		assert.equal(r.snapshot?.unifiedId, 'u-9');
	});

	test('the snapshot (next base) carries the winners and per-field times', () => {
		const r = resolveConflict(
			{ ...input({ ...baseRecord, title: 'CEO' }, { ...baseRecord }), incoming: { crm: 'hubspot', record: { ...baseRecord, title: 'CEO' }, fieldModifiedAt: { title: T2 } } },
			lmw,
			NOW,
		);
		assert.equal(r.snapshot?.record.title, 'CEO');
		assert.equal(r.snapshot?.fieldModifiedAt.title, T2);
		assert.equal(r.snapshot?.syncedAt, NOW.toISOString());
	});
});

describe('last-modified-wins', () => {
	test('the newer record wins a conflict; the losing source gets the winner written back', () => {
		const r = resolveConflict(input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: T1, target: T2 }), lmw, NOW);
		assert.deepEqual(r.conflicts, ['title']);
		assert.equal(r.merged?.title, 'Founder');
		assert.equal(decision(r, 'title')?.winnerCrm, 'salesforce');
		assert.equal(decision(r, 'title')?.reason, 'newer timestamp');
		assert.deepEqual(r.targetPatch, {});
		assert.deepEqual(r.sourcePatch, { title: 'Founder' });
	});

	test('per-field timestamps beat record timestamps', () => {
		const r = resolveConflict(
			{
				...input({ ...baseRecord, title: 'CEO', city: 'Berkeley' }, { ...baseRecord, title: 'Founder', city: 'Oakland Hills' }),
				incoming: { crm: 'hubspot', record: { ...baseRecord, title: 'CEO', city: 'Berkeley' }, modifiedAt: T2, fieldModifiedAt: { title: T1, city: T2 } },
				target: { crm: 'salesforce', record: { ...baseRecord, title: 'Founder', city: 'Oakland Hills' }, modifiedAt: T1, fieldModifiedAt: { title: '2026-03-01T10:30:00.000Z' } },
			},
			lmw,
			NOW,
		);
		assert.equal(r.merged?.title, 'Founder', 'salesforce title edit (10:30) is newer than hubspot title edit (10:00)');
		assert.equal(r.merged?.city, 'Berkeley', 'hubspot city edit (11:00) is newer than salesforce record time (10:00)');
		assert.equal(r.action, 'update');
	});

	test('clock skew: timestamps within the tolerance are a tie, broken by CRM priority', () => {
		const skewed = input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: '2026-03-01T11:00:00.400Z', target: '2026-03-01T11:00:00.000Z' });
		const r = resolveConflict(skewed, { strategy: 'last-modified-wins', crmPriority: ['salesforce', 'hubspot'] }, NOW);
		assert.equal(r.merged?.title, 'Founder');
		assert.match(decision(r, 'title')?.reason ?? '', /tie.*crm priority/);
		const narrow = resolveConflict(skewed, { strategy: 'last-modified-wins', crmPriority: ['salesforce'], clockSkewToleranceMs: 100 }, NOW);
		assert.equal(narrow.merged?.title, 'CEO', 'beyond a 100 ms tolerance the newer one wins');
	});

	test('ties without priority are deterministic whichever side is the source', () => {
		const a = resolveConflict(input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: T1, target: T1 }), lmw, NOW);
		const reversed: ConflictInput = {
			entity: 'contact',
			unifiedId: 'u-1',
			incoming: { crm: 'salesforce', record: { ...baseRecord, title: 'Founder' }, modifiedAt: T1 },
			target: { crm: 'hubspot', record: { ...baseRecord, title: 'CEO' }, modifiedAt: T1 },
			base: base(),
		};
		const b = resolveConflict(reversed, lmw, NOW);
		assert.equal(a.merged?.title, b.merged?.title);
		assert.equal(a.merged?.title, 'CEO', 'crm name order: hubspot before salesforce');
	});

	test('a tie on several fields takes every field from the same side (no mix of two edits)', () => {
		// Value order would take "Ada" (A < Z) from one side and "+1" (1 < 9) from the other.
		const r = resolveConflict(
			input({ ...baseRecord, firstName: 'Zoe', phone: '+14155550001' }, { ...baseRecord, firstName: 'Ada', phone: '+14155550009' }, { incoming: T1, target: T1 }),
			lmw,
			NOW,
		);
		const sides = ['firstName', 'phone'].map((f) => decision(r, f)?.winner);
		assert.deepEqual([r.merged?.firstName, r.merged?.phone], ['Zoe', '+14155550001'], JSON.stringify(sides));
	});

	test('a tie prefers a value over an emptied field', () => {
		const r = resolveConflict(input({ ...baseRecord, title: '' }, { ...baseRecord, title: 'Founder' }, { incoming: T1, target: T1 }), lmw, NOW);
		assert.equal(r.merged?.title, 'Founder');
	});

	test('missing timestamps fall back to the deterministic tie-break, with the reason', () => {
		const r = resolveConflict(
			input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: T2, target: undefined }),
			{ strategy: 'last-modified-wins', crmPriority: ['salesforce'] },
			NOW,
		);
		assert.equal(r.merged?.title, 'Founder');
		assert.match(decision(r, 'title')?.reason ?? '', /timestamp missing.*crm priority/);
	});

	test('an unparseable timestamp is a clear input error', () => {
		assert.throws(() => resolveConflict(input({ ...baseRecord }, { ...baseRecord }, { incoming: 'yesterday', target: T1 }), lmw, NOW), ConflictError);
	});
});

describe('source-system-wins', () => {
	const conflict = input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: T1, target: T2 });
	test('the higher-priority CRM wins regardless of time', () => {
		const r = resolveConflict(conflict, { strategy: 'source-system-wins', crmPriority: ['hubspot', 'salesforce'] }, NOW);
		assert.equal(r.merged?.title, 'CEO');
		assert.deepEqual(r.targetPatch, { title: 'CEO' });
		const r2 = resolveConflict(conflict, { strategy: 'source-system-wins', crmPriority: ['salesforce', 'hubspot'] }, NOW);
		assert.equal(r2.merged?.title, 'Founder');
	});
	test('a listed CRM beats an unlisted one; equal rank: the source wins', () => {
		assert.equal(resolveConflict(conflict, { strategy: 'source-system-wins', crmPriority: ['salesforce'] }, NOW).merged?.title, 'Founder');
		const none = resolveConflict(conflict, { strategy: 'source-system-wins' }, NOW);
		assert.equal(none.merged?.title, 'CEO');
		assert.match(decision(none, 'title')?.reason ?? '', /source system wins/);
	});
});

describe('field-level', () => {
	test('per-field rules: source, target, newest, priority; default newest', () => {
		const r = resolveConflict(
			input(
				{ ...baseRecord, title: 'CEO', city: 'Berkeley', phone: '+14155550111', lastName: 'Lee-Park' },
				{ ...baseRecord, title: 'Founder', city: 'Alameda', phone: '+14155550122', lastName: 'Park' },
				{ incoming: T1, target: T2 },
			),
			{
				strategy: 'field-level',
				crmPriority: ['hubspot'],
				fieldRules: { title: 'source', city: 'target', phone: 'priority' },
			},
			NOW,
		);
		assert.equal(r.merged?.title, 'CEO');
		assert.equal(r.merged?.city, 'Alameda');
		assert.equal(r.merged?.phone, '+14155550111', 'priority: hubspot ranks first');
		assert.equal(r.merged?.lastName, 'Park', 'default rule newest: salesforce is newer');
		assert.match(decision(r, 'lastName')?.reason ?? '', /field rule: newest/);
	});
	test('an unknown rule is rejected', () => {
		assert.throws(() => resolveConflict(input(baseRecord, baseRecord), { strategy: 'field-level', fieldRules: { title: 'loudest' as never } }, NOW), /Unknown rule/);
	});
});

describe('crm-wins', () => {
	test('the named CRM wins on either side; otherwise the newest', () => {
		const conflict = input({ ...baseRecord, title: 'CEO' }, { ...baseRecord, title: 'Founder' }, { incoming: T2, target: T1 });
		assert.equal(resolveConflict(conflict, { strategy: 'crm-wins', winningCrm: 'salesforce' }, NOW).merged?.title, 'Founder');
		assert.equal(resolveConflict(conflict, { strategy: 'crm-wins', winningCrm: 'hubspot' }, NOW).merged?.title, 'CEO');
		const neither = resolveConflict(conflict, { strategy: 'crm-wins', winningCrm: 'zoho' }, NOW);
		assert.equal(neither.merged?.title, 'CEO');
		assert.match(decision(neither, 'title')?.reason ?? '', /neither side is zoho; newer timestamp/);
	});
	test('crm-wins without a CRM is a configuration error', () => {
		assert.throws(() => resolveConflict(input(baseRecord, baseRecord), { strategy: 'crm-wins' }, NOW), /winning CRM/);
	});
});

describe('manual review', () => {
	test('a true conflict needs review and nothing is written', () => {
		const r = resolveConflict(input({ ...baseRecord, title: 'CEO', city: 'Berkeley' }, { ...baseRecord, title: 'Founder' }), { strategy: 'manual-review' }, NOW);
		assert.equal(r.needsReview, true);
		assert.equal(r.action, 'review');
		assert.deepEqual(r.targetPatch, {});
		assert.deepEqual(r.sourcePatch, {});
		assert.equal(r.snapshot, undefined);
		assert.deepEqual(r.conflicts, ['title']);
		assert.match(r.reason, /conflict on title/);
		assert.equal(r.audit.winner, 'review');
	});
});

describe('consent fields', () => {
	test('an older opt-in never overrides an opt-out, even when the strategy picks it', () => {
		const r = resolveConflict(
			input({ ...baseRecord, emailOptOut: true }, { ...baseRecord, emailOptOut: false }, { incoming: T2, target: T1 }, base({ ...baseRecord, emailOptOut: null })),
			{ strategy: 'crm-wins', winningCrm: 'salesforce' },
			NOW,
		);
		assert.equal(r.merged?.emailOptOut, true);
		assert.equal(decision(r, 'emailOptOut')?.consentGuard, true);
		assert.deepEqual(r.targetPatch, { emailOptOut: true });
	});

	test('an opt-in with an equal timestamp (tie) does not override an opt-out', () => {
		const both = { incoming: T1, target: T1 };
		const r = resolveConflict(
			input({ ...baseRecord, doNotCall: false, phone: '+1' }, { ...baseRecord, doNotCall: true }, both, base({ ...baseRecord, doNotCall: null })),
			{ strategy: 'source-system-wins', crmPriority: ['hubspot'] },
			NOW,
		);
		assert.equal(r.merged?.doNotCall, true);
		assert.match(decision(r, 'doNotCall')?.reason ?? '', /consent: opt-out kept \(opt-in not strictly newer\)/);
	});

	test('a strictly newer opt-in is accepted (re-subscribe)', () => {
		const r = resolveConflict(
			{
				...input({ ...baseRecord, emailOptOut: false }, { ...baseRecord, emailOptOut: true }),
				incoming: { crm: 'hubspot', record: { ...baseRecord, emailOptOut: false }, fieldModifiedAt: { emailOptOut: T2 } },
				target: { crm: 'salesforce', record: { ...baseRecord, emailOptOut: true }, fieldModifiedAt: { emailOptOut: T1 } },
				base: base({ ...baseRecord, emailOptOut: true }, { fieldModifiedAt: { emailOptOut: '2026-02-01T00:00:00.000Z' } }),
			},
			lmw,
			NOW,
		);
		assert.equal(r.merged?.emailOptOut, false);
	});

	test('a one-sided opt-in without timestamps cannot prove it is newer: opt-out kept', () => {
		const r = resolveConflict(
			{
				entity: 'contact',
				unifiedId: 'u-1',
				incoming: { crm: 'hubspot', record: { ...baseRecord, unsubscribed: 'false' } },
				target: { crm: 'salesforce', record: { ...baseRecord, unsubscribed: 'true' } },
				base: { ...base({ ...baseRecord, unsubscribed: 'true' }), syncedAt: '' },
			},
			lmw,
			NOW,
		);
		assert.equal(r.merged?.unsubscribed, 'true');
		assert.match(decision(r, 'unsubscribed')?.reason ?? '', /timestamp missing/);
	});

	test('configurable consent fields; an opt-in changed after the synced opt-out is newer; an opt-out always propagates', () => {
		const r = resolveConflict(
			input({ ...baseRecord, gdprNoMarketing: false }, { ...baseRecord, gdprNoMarketing: true }, { incoming: T2, target: T1 }, base({ ...baseRecord, gdprNoMarketing: true })),
			{ strategy: 'last-modified-wins', consentFields: ['gdprNoMarketing'] },
			NOW,
		);
		assert.equal(r.merged?.gdprNoMarketing, false, 'the opt-in changed in a record modified at 11:00; the opt-out dates from the 09:00 sync');
		const concurrent = resolveConflict(
			input({ ...baseRecord, gdprNoMarketing: false }, { ...baseRecord, gdprNoMarketing: true }, { incoming: T2, target: T2 }, base({ ...baseRecord, gdprNoMarketing: null })),
			{ strategy: 'crm-wins', winningCrm: 'hubspot', consentFields: ['gdprNoMarketing'] },
			NOW,
		);
		assert.equal(concurrent.merged?.gdprNoMarketing, true, 'opt-in and opt-out at the same time: opt-out kept');
		const optOut = resolveConflict(input({ ...baseRecord, doNotCall: true }, { ...baseRecord, title: 'VP' }), lmw, NOW);
		assert.equal(optOut.targetPatch.doNotCall, true);
	});
});

describe('deletes', () => {
	const deleteFromHubspot = (target: Record<string, unknown>, targetTime = T1, deleteTime = T2): ConflictInput => ({
		entity: 'contact',
		unifiedId: 'u-1',
		incoming: { crm: 'hubspot', deleted: true, modifiedAt: deleteTime },
		target: { crm: 'salesforce', record: target, modifiedAt: targetTime },
		base: base(),
	});

	test('a delete without a concurrent update deletes and keeps a tombstone', () => {
		const r = resolveConflict(deleteFromHubspot({ ...baseRecord }), lmw, NOW);
		assert.equal(r.action, 'delete');
		assert.equal(r.merged, null);
		assert.equal(r.snapshot?.deletedAt, T2);
		assert.equal(r.snapshot?.deletedBy, 'hubspot');
	});

	test('delete vs concurrent update, default policy: the delete wins with a tombstone', () => {
		const r = resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }, T2, T1), lmw, NOW);
		assert.equal(r.action, 'delete');
		assert.match(r.reason, /tombstone/);
		assert.ok(r.snapshot?.deletedAt);
	});

	test('delete vs concurrent update, update-wins: restore in the deleting CRM', () => {
		const r = resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }), { strategy: 'last-modified-wins', deletePolicy: 'update-wins' }, NOW);
		assert.equal(r.action, 'restore');
		assert.equal(r.restoreIn, 'hubspot');
		assert.equal(r.sourcePatch.title, 'VP');
		assert.equal(r.snapshot?.deletedAt, undefined);
	});

	test('delete vs concurrent update, newest: compares the delete and the update times', () => {
		const policy: ConflictOptions = { strategy: 'last-modified-wins', deletePolicy: 'newest' };
		assert.equal(resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }, T2, T1), policy, NOW).action, 'restore');
		assert.equal(resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }, T1, T2), policy, NOW).action, 'delete');
		assert.equal(resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }, T1, T1), policy, NOW).action, 'delete', 'tie: delete');
	});

	test('delete vs concurrent update, review policy: needs review', () => {
		const r = resolveConflict(deleteFromHubspot({ ...baseRecord, title: 'VP' }), { strategy: 'last-modified-wins', deletePolicy: 'review' }, NOW);
		assert.equal(r.action, 'review');
		assert.equal(r.needsReview, true);
	});

	test('a late or echoed update of a tombstoned record is never re-created (no ghosts)', () => {
		const tombstoned = base(baseRecord, { deletedAt: T1, deletedBy: 'salesforce' });
		const late = resolveConflict(
			{ entity: 'contact', unifiedId: 'u-1', incoming: { crm: 'hubspot', record: { ...baseRecord, title: 'VP' }, modifiedAt: T0 }, target: { crm: 'salesforce', deleted: true }, base: tombstoned },
			{ strategy: 'last-modified-wins', deletePolicy: 'update-wins' },
			NOW,
		);
		assert.equal(late.action, 'skip');
		assert.match(late.reason, /tombstoned/);
		const newer = { entity: 'contact' as const, unifiedId: 'u-1', incoming: { crm: 'hubspot' as const, record: { ...baseRecord, title: 'VP' }, modifiedAt: T2 }, target: { crm: 'salesforce' as const, deleted: true }, base: tombstoned };
		assert.equal(resolveConflict(newer, lmw, NOW).action, 'skip', 'default tombstone policy: never re-created');
		const restored = resolveConflict(newer, { strategy: 'last-modified-wins', deletePolicy: 'update-wins' }, NOW);
		assert.equal(restored.action, 'restore');
		assert.equal(restored.restoreIn, 'salesforce');
		assert.equal(restored.targetPatch.title, 'VP');
		assert.equal(restored.targetPatch.email, baseRecord.email);
	});

	test('a delete of an already deleted record is a no-op', () => {
		const r = resolveConflict({ ...deleteFromHubspot(baseRecord), target: { crm: 'salesforce', deleted: true } }, lmw, NOW);
		assert.equal(r.action, 'skip');
	});
});

describe('audit entries', () => {
	test('every resolution has one audit entry with strategy, fields, winner and values', () => {
		const r = resolveConflict(input({ ...baseRecord, title: 'CEO', city: 'Berkeley' }, { ...baseRecord, title: 'Founder' }, { incoming: T2, target: T1 }), lmw, NOW);
		assert.equal(r.audit.kind, 'conflict.update');
		assert.equal(r.audit.strategy, 'last-modified-wins');
		assert.deepEqual(r.audit.fields, ['city', 'title']);
		assert.equal(r.audit.winner, 'hubspot');
		assert.deepEqual((r.audit.values as Record<string, unknown>).title, { source: 'CEO', target: 'Founder', merged: 'CEO' });
		assert.deepEqual(r.audit.details?.conflicts, ['title']);
		const quiet = resolveConflict(input(baseRecord, baseRecord), lmw, NOW);
		assert.equal(quiet.audit.kind, 'conflict.skip');
		assert.equal(quiet.audit.winner, 'no-conflict');
	});
});

describe('input validation', () => {
	test('bad input gives a clear error', () => {
		assert.throws(() => resolveConflict({ entity: 'contact', incoming: { crm: 'myspace' as never, record: {} } }, lmw, NOW), /incoming.crm must be a CRM name/);
		assert.throws(() => resolveConflict({ entity: 'contact', incoming: { crm: 'zoho' } }, lmw, NOW), /incoming.record must be an object/);
		assert.throws(() => resolveConflict({ entity: 'widget' as never, incoming: { crm: 'zoho', record: {} } }, lmw, NOW), /Unknown entity/);
		assert.throws(() => resolveConflict(input(baseRecord, baseRecord), { strategy: 'coin-flip' as never }, NOW), /Unknown conflict strategy/);
	});
});

describe('prototype keys', () => {
	// As JSON.parse builds them from a CRM's or an item's data: own keys named like prototype links.
	const hostile = () => JSON.parse('{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"polluted": 1}}, "prototype": "p"}') as Record<string, unknown>;

	test('fields named __proto__, constructor or prototype are skipped by the merge; the merged record stays a plain object', () => {
		const r = resolveConflict(input({ ...baseRecord, ...hostile(), title: 'CEO' }, { ...baseRecord }), lmw, NOW);
		assert.equal(r.merged?.title, 'CEO');
		for (const record of [r.merged!, r.targetPatch, r.sourcePatch]) {
			assert.equal(Object.getPrototypeOf(record), Object.prototype);
			assert.deepEqual(Object.keys(record).filter((k) => ['__proto__', 'constructor', 'prototype'].includes(k)), []);
			assert.equal((record as { isAdmin?: unknown }).isAdmin, undefined);
		}
		assert.deepEqual(r.decisions.map((d) => d.field), ['title']);

		// A record restored from the target (delete against a concurrent update) is built the same way.
		const restored = resolveConflict(
			{ ...input({}, { ...baseRecord, ...hostile(), title: 'Head of Ops' }), incoming: { crm: 'hubspot', deleted: true, modifiedAt: T1 } },
			{ strategy: 'last-modified-wins', deletePolicy: 'update-wins' },
			NOW,
		);
		assert.equal(restored.action, 'restore');
		assert.equal(restored.merged?.title, 'Head of Ops');
		assert.equal(Object.getPrototypeOf(restored.merged), Object.prototype);
		assert.deepEqual(Object.keys(restored.merged!).filter((k) => ['__proto__', 'constructor', 'prototype'].includes(k)), []);
	});

	test('passThrough keeps the item\'s own keys but not prototype keys', () => {
		const rest = passThrough({ ...hostile(), hubspotId: '7' });
		assert.equal(Object.getPrototypeOf(rest), Object.prototype);
		assert.deepEqual(Object.keys(rest), ['hubspotId']);
	});
});
