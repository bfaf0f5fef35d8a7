// Deal stages from CRM metadata → the unified vocabulary, both ways (lib/mapping/stages.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { CrmStage } from '../../../lib/connectors';
import { buildStageMapping } from '../../../lib/mapping/stages';

const stage = (id: string, label: string, order: number, outcome: CrmStage['outcome'] = 'open', pipelineId?: string, probability?: number): CrmStage => ({ id, label, order, outcome, pipelineId, probability });

// A new org's default stages, as each CRM names them.
const salesforce = [
	'Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review',
].map((label, i) => stage(label, label, i)).concat([stage('Closed Won', 'Closed Won', 8, 'won'), stage('Closed Lost', 'Closed Lost', 9, 'lost')]);
const hubspot = [
	stage('appointmentscheduled', 'Appointment Scheduled', 0, 'open', 'default'),
	stage('qualifiedtobuy', 'Qualified To Buy', 1, 'open', 'default'),
	stage('presentationscheduled', 'Presentation Scheduled', 2, 'open', 'default'),
	stage('decisionmakerboughtin', 'Decision Maker Bought-In', 3, 'open', 'default'),
	stage('contractsent', 'Contract Sent', 4, 'open', 'default'),
	stage('closedwon', 'Closed Won', 5, 'won', 'default'),
	stage('closedlost', 'Closed Lost', 6, 'lost', 'default'),
	// A second pipeline with the user's own names.
	stage('1001', 'Inbound', 0, 'open', 'renewals'),
	stage('1002', 'Scoping', 1, 'open', 'renewals'),
	stage('1003', 'Paperwork', 2, 'open', 'renewals'),
	stage('1004', 'Renewed', 3, 'won', 'renewals'),
	stage('1005', 'Churned', 4, 'lost', 'renewals'),
];
const pipedrive = ['Qualified', 'Contact Made', 'Demo Scheduled', 'Proposal Made', 'Negotiations Started'].map((label, i) => stage(String(i + 1), label, i, 'open', '1'));
const dynamics = [stage('0', 'Qualify', 0), stage('1', 'Develop', 1), stage('2', 'Propose', 2), stage('3', 'Close', 3), stage('won', 'Won', 4, 'won'), stage('lost', 'Lost', 5, 'lost')];

describe('buildStageMapping', () => {
	test('the CRMs default stages read as the unified stages their names mean', () => {
		const sf = buildStageMapping(salesforce);
		assert.deepEqual(
			['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost'].map((id) => sf.toUnified(id)),
			['prospecting', 'qualification', 'needsAnalysis', 'needsAnalysis', 'needsAnalysis', 'needsAnalysis', 'proposal', 'negotiation', 'closedWon', 'closedLost'],
		);
		const hs = buildStageMapping(hubspot);
		assert.deepEqual(
			['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'].map((id) => hs.toUnified(id)),
			['prospecting', 'qualification', 'needsAnalysis', 'proposal', 'negotiation', 'closedWon', 'closedLost'],
		);
		const dyn = buildStageMapping(dynamics);
		assert.deepEqual(['0', '1', '2', '3', 'won', 'lost'].map((id) => dyn.toUnified(id)), ['qualification', 'needsAnalysis', 'proposal', 'negotiation', 'closedWon', 'closedLost']);
		assert.equal(dyn.toUnified(2), 'proposal', 'numeric option values read like their strings');
	});

	test('won and lost come from the CRM flags, never from a label', () => {
		const tricky = [stage('a', 'Closed Won (pending signature)', 0), stage('b', 'Lost in follow-up', 1), stage('c', 'Signed', 2, 'won'), stage('d', 'No decision', 3, 'lost')];
		const m = buildStageMapping(tricky);
		assert.notEqual(m.toUnified('a'), 'closedWon');
		assert.notEqual(m.toUnified('b'), 'closedLost');
		assert.equal(m.toUnified('c'), 'closedWon');
		assert.equal(m.toUnified('d'), 'closedLost');
		// Every open unified stage is written to an open stage.
		for (const unified of ['prospecting', 'qualification', 'needsAnalysis', 'proposal', 'negotiation'] as const) assert.equal(m.fromUnified(unified)?.outcome, 'open', unified);
	});

	test('a closed unified stage has no stage where the CRM keeps won and lost outside its stages (Pipedrive)', () => {
		const pd = buildStageMapping(pipedrive);
		assert.equal(pd.fromUnified('closedWon'), undefined);
		assert.equal(pd.fromUnified('closedLost'), undefined);
		assert.deepEqual(['1', '2', '3', '4', '5'].map((id) => pd.toUnified(id)), ['qualification', 'prospecting', 'needsAnalysis', 'proposal', 'negotiation']);
	});

	test('writes go to the pipeline asked for, and to the first pipeline by default', () => {
		const hs = buildStageMapping(hubspot);
		assert.equal(hs.fromUnified('closedWon', 'renewals')?.id, '1004');
		assert.equal(hs.fromUnified('closedLost', 'renewals')?.id, '1005');
		assert.equal(hs.fromUnified('closedWon')?.id, 'closedwon');
		assert.equal(hs.fromUnified('closedWon', 'no-such-pipeline')?.id, 'closedwon');
		// Renewals' open stages have no default names: they spread by position, and every open stage finds one.
		assert.deepEqual(['1001', '1002', '1003'].map((id) => hs.entries.find((e) => e.stage.id === id)?.by), ['position', 'position', 'position']);
		assert.equal(hs.toUnified('1001'), 'prospecting');
		assert.equal(hs.toUnified('1003'), 'negotiation');
		assert.equal(hs.fromUnified('prospecting', 'renewals')?.id, '1001');
		assert.equal(hs.fromUnified('proposal', 'renewals')?.pipelineId, 'renewals');
	});

	test('an open unified stage the pipeline lacks goes to the nearest open stage, the earlier one on a tie', () => {
		const short = [stage('s1', 'Qualification', 0), stage('s2', 'Negotiation', 1), stage('w', 'Won', 2, 'won')];
		const m = buildStageMapping(short);
		assert.equal(m.fromUnified('prospecting')?.id, 's1');
		assert.equal(m.fromUnified('needsAnalysis')?.id, 's1');
		assert.equal(m.fromUnified('proposal')?.id, 's2');
	});

	test('a user override by id or label wins; one that would make an open stage closed is refused', () => {
		const m = buildStageMapping(pipedrive, { '2': 'qualification', 'qualified': 'prospecting' });
		assert.equal(m.toUnified('2'), 'qualification');
		assert.equal(m.toUnified('1'), 'prospecting');
		assert.equal(m.entries.find((e) => e.stage.id === '2')?.by, 'override');
		assert.throws(() => buildStageMapping(pipedrive, { 'Proposal Made': 'closedWon' }), /flags that stage as open/);
		assert.throws(() => buildStageMapping(salesforce, { 'Closed Won': 'negotiation' }), /flags that stage as won/);
		assert.throws(() => buildStageMapping(salesforce, { Prospecting: 'almostThere' }), /not a unified stage/);
	});

	test('the value map reads every stage id and writes the default pipeline', () => {
		const hs = buildStageMapping(hubspot);
		assert.equal(hs.valueMap.read.get('1002'), hs.toUnified('1002'));
		assert.equal(hs.valueMap.write.get('closedWon'), 'closedwon');
		assert.equal(hs.valueMap.write.get('negotiation'), 'contractsent');
		const sf = buildStageMapping(salesforce);
		assert.equal(sf.valueMap.write.get('proposal'), 'Proposal/Price Quote');
		assert.equal(sf.valueMap.write.get('needsAnalysis'), 'Needs Analysis');
	});
});
