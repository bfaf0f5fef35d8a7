// Activity maps as the activity-sync template uses them: HubSpot engagement links read from the
// associations block, Salesforce meetings written with high priority.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { compileMapping } from '../../../lib/mapping';
import { parse } from '../../../lib/crms/hubspot/webhook';

const hubspotToUnified = compileMapping({ direction: 'toUnified', source: 'hubspot', entity: 'activity', mode: 'strict' });
const unifiedToSalesforce = compileMapping({ direction: 'fromUnified', target: 'salesforce', entity: 'activity', mode: 'strict' });

describe('HubSpot engagement links', () => {
	test('read from the v3 associations block (GET ?associations=contacts,deals,companies)', () => {
		const r = hubspotToUnified.map({
			hs_note_body: 'Spoke about the renewal',
			hs_timestamp: '1709649000000',
			associations: {
				contacts: { results: [{ id: '101', type: 'note_to_contact' }, { id: '102', type: 'note_to_contact' }, { id: '101', type: 'note_to_contact_primary' }] },
				deals: { results: [{ id: '501', type: 'note_to_deal' }] },
				companies: { results: [] },
			},
		});
		assert.equal(r.valid, true, JSON.stringify(r.issues));
		assert.deepEqual(r.record, { type: 'note', body: 'Spoke about the renewal', timestamp: '2024-03-05T14:30:00.000Z', contactIds: ['101', '102'], dealIds: ['501'] });
	});

	test('plain id lists are read too; no associations, no links', () => {
		assert.deepEqual(hubspotToUnified.map({ hs_call_title: 'Intro', hs_timestamp: '1709649000000', associations: { contacts: [101] } }).record.contactIds, ['101']);
		assert.equal('contactIds' in hubspotToUnified.map({ hs_call_title: 'Intro', hs_timestamp: '1709649000000' }).record, false);
	});

	test('written as an associations block in the read shape (the connector creates the engagement with them)', () => {
		const w = compileMapping({ direction: 'fromUnified', target: 'hubspot', entity: 'activity', mode: 'strict' }).map({ type: 'note', body: 'x', timestamp: '2024-03-05T14:30:00.000Z', contactIds: ['101'], dealIds: ['7'] });
		assert.deepEqual(w.record, { hs_note_body: 'x', hs_timestamp: '1709649000000', associations: { contacts: { results: [{ id: '101' }] }, deals: { results: [{ id: '7' }] } } });
		const none = compileMapping({ direction: 'fromUnified', target: 'hubspot', entity: 'activity', mode: 'strict' }).map({ type: 'note', body: 'x', timestamp: '2024-03-05T14:30:00.000Z' });
		assert.equal('associations' in none.record, false);
	});

	test('HubSpot → Salesforce: the (translated) contact becomes WhoId, the deal WhatId', () => {
		const unified = hubspotToUnified.map({ hs_call_title: 'Intro', hs_timestamp: '1709649000000', associations: { contacts: { results: [{ id: '003A' }] }, deals: { results: [{ id: '006D' }] } } }).record;
		const w = unifiedToSalesforce.map(unified);
		assert.equal(w.valid, true, JSON.stringify(w.issues));
		assert.deepEqual(w.record, { TaskSubtype: 'Call', Subject: 'Intro', ActivityDate: '2024-03-05', WhoId: '003A', WhatId: '006D' });
	});
});

describe('Salesforce meetings are high priority', () => {
	test('a meeting is a Task of Type Meeting with Priority High; other types get no priority', () => {
		assert.deepEqual(unifiedToSalesforce.map({ type: 'meeting', subject: 'Demo' }).record, { TaskSubtype: 'Task', Type: 'Meeting', Priority: 'High', Subject: 'Demo' });
		for (const type of ['call', 'task', 'email', 'note']) assert.equal('Priority' in unifiedToSalesforce.map({ type, subject: 'x' }).record, false, type);
	});
});

describe('HubSpot webhook: an engagement associated with a contact', () => {
	test('the associationChange event carries the link in the shape the activity map reads', () => {
		const body = [
			{ eventId: 1, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: 1709649000000, subscriptionType: 'object.associationChange', objectTypeId: '0-46', objectId: 9001, associationType: 'NOTE_TO_CONTACT', fromObjectId: 9001, toObjectId: 101, associationRemoved: false },
			{ eventId: 2, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: 1709649000001, subscriptionType: 'object.associationChange', objectTypeId: '0-46', objectId: 9001, associationType: 'NOTE_TO_DEAL', fromObjectId: 9001, toObjectId: 501, associationRemoved: true },
		];
		const { events, skipped } = parse({ method: 'POST', url: '/webhook/x/hubspot', headers: {}, rawBody: Buffer.from(JSON.stringify(body)) });
		assert.deepEqual(skipped, []);
		assert.equal(events[0].entity, 'activity');
		assert.deepEqual(hubspotToUnified.map(events[0].record!).record.contactIds, ['101']);
		assert.equal('associations' in events[1].record!, false, 'a removed link is not a link');
	});
});

describe('HubSpot engagements read with properties of other types in the request', () => {
	test('null properties (HubSpot answers null for requested properties an object lacks) tell neither type nor value', () => {
		const r = hubspotToUnified.map({ hs_task_subject: null, hs_call_title: '', hs_note_body: 'Ada asked for the drawings', hs_timestamp: '1709649000000', hs_call_duration: null });
		assert.deepEqual(r.record, { type: 'note', body: 'Ada asked for the drawings', timestamp: '2024-03-05T14:30:00.000Z' });
	});
});
