// Default maps: every CRM × entity in both directions (round trip), CRM wire shapes, the brief's
// example, strict vs lenient, overrides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CRM_NAMES, ENTITY_TYPES, type CrmName, type EntityType } from '../../../lib/model';
import { ACTIVITY_TYPES, compileMapping, defaultMap, MappingConfigError, type FieldSpec } from '../../../lib/mapping';

type Rec = Record<string, unknown>;

const IDS: Record<CrmName, Record<string, unknown>> = {
	salesforce: { owner: '005000000000001AAA', account: '001000000000001AAA', contact: '003000000000001AAA', deal: '006000000000001AAA' },
	hubspot: { owner: '1001', account: '2001', contact: '3001', deal: '4001' },
	// Unified ids are strings; the Pipedrive map writes them as integers.
	pipedrive: { owner: '11', account: '21', contact: '31', deal: '41' },
	zoho: { owner: '5725767000000411001', account: '5725767000000411002', contact: '5725767000000411003', deal: '5725767000000411004' },
	dynamics: {
		owner: '11111111-1111-1111-1111-111111111111', account: '22222222-2222-2222-2222-222222222222',
		contact: '33333333-3333-3333-3333-333333333333', deal: '44444444-4444-4444-4444-444444444444',
	},
};

/** A unified record using every unified field the entity knows, with values every CRM can hold. */
function sample(crm: CrmName, entity: EntityType, type?: string): Rec {
	const id = IDS[crm];
	const person = {
		email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace', phone: '+44 20 7946 0958',
		mobilePhone: '+44 7700 900123', company: 'Analytical Engines Ltd', title: 'Mathematician', website: 'https://engines.example.com',
		leadSource: 'web', status: 'contacted', lifecycleStage: 'salesQualifiedLead', emailOptOut: true, doNotCall: true,
		street: '12 St James Square', city: 'London', state: 'Greater London', postalCode: 'SW1Y 4JH', country: 'United Kingdom',
		ownerId: id.owner, accountId: id.account,
	};
	switch (entity) {
		case 'contact':
			return person;
		case 'lead':
			return { ...person, name: 'Engines inquiry', contactId: id.contact, amount: 1200.5, currency: 'EUR', closeDate: '2024-09-30' };
		case 'account':
			return { name: 'Analytical Engines Ltd', website: 'https://engines.example.com', phone: '+44 20 7946 0958', street: '12 St James Square', city: 'London', state: 'Greater London', postalCode: 'SW1Y 4JH', country: 'United Kingdom', ownerId: id.owner };
		case 'opportunity':
			return { name: 'Difference Engine No. 2', amount: 25000, currency: 'GBP', stage: 'negotiation', closeDate: '2024-06-30', accountId: id.account, contactId: id.contact, ownerId: id.owner };
		case 'activity':
			return {
				type, subject: 'Follow-up on engines', body: 'Discussed the analytical engine.\nNext: proposal.',
				timestamp: '2024-03-05T14:30:00.000Z', duration: 1800,
				contactIds: [id.contact], dealIds: [id.deal], accountIds: [id.account], ownerId: id.owner,
			};
	}
}

/** Fields a CRM cannot carry for an activity type, by design (documented in MAPPING.md). */
const NOT_CARRIED: Record<string, string[]> = {
	// Notes have no title in HubSpot; durations exist for calls and meetings only.
	'hubspot:note': ['subject', 'duration'],
	'hubspot:task': ['duration'],
	'hubspot:email': ['duration'],
	// Zoho: durations on calls only; notes have no date; one What_Id (deal wins) and one note parent.
	'zoho:call': ['accountIds'],
	'zoho:task': ['duration', 'accountIds'],
	'zoho:meeting': ['duration', 'accountIds'],
	'zoho:note': ['duration', 'timestamp', 'dealIds', 'accountIds'],
	// Pipedrive notes are not activities: no subject/date/duration/type field.
	'pipedrive:note': ['subject', 'timestamp', 'duration', 'dealIds', 'accountIds', 'contactIds'],
	// Dataverse: one regarding link (the contact wins); notes have no schedule or duration.
	'dynamics:call': ['dealIds', 'accountIds'],
	'dynamics:meeting': ['dealIds', 'accountIds'],
	'dynamics:task': ['dealIds', 'accountIds'],
	'dynamics:email': ['dealIds', 'accountIds'],
	'dynamics:note': ['dealIds', 'accountIds', 'timestamp', 'duration'],
	// Salesforce tasks: one WhatId (the deal wins over the account).
	'salesforce:call': ['accountIds'],
	'salesforce:meeting': ['accountIds'],
	'salesforce:task': ['accountIds'],
	'salesforce:email': ['accountIds'],
	'salesforce:note': ['accountIds'],
};
/** Zoho has no email activity module. */
const UNSUPPORTED_TYPES: Record<string, string[]> = { zoho: ['email'] };

function specFor(crm: CrmName, entity: EntityType, unified: string): FieldSpec | undefined {
	return defaultMap(crm, entity).fields.find((f) => f.unified === unified && f.write !== false);
}

function carried(crm: CrmName, entity: EntityType, record: Rec, type?: string): Rec {
	const skip = NOT_CARRIED[`${crm}:${type}`] ?? [];
	const out: Rec = {};
	for (const [k, v] of Object.entries(record)) {
		const spec = specFor(crm, entity, k);
		const readable = defaultMap(crm, entity).fields.some((f) => f.unified === k && f.read !== false);
		if (spec && readable && !skip.includes(k)) out[k] = v;
	}
	return out;
}

function assertRoundTrip(crm: CrmName, entity: EntityType, type?: string): void {
	const unified = carried(crm, entity, sample(crm, entity, type), type);
	assert.ok(Object.keys(unified).length >= 3, `${crm} ${entity}: too few carried fields`);
	const write = compileMapping({ direction: 'fromUnified', target: crm, entity, mode: 'strict' });
	const read = compileMapping({ direction: 'toUnified', source: crm, entity, mode: 'strict' });
	const wrote = write.map(unified);
	assert.equal(wrote.issues, undefined, `${crm} ${entity} write issues: ${JSON.stringify(wrote.issues)}`);
	const back = read.map(JSON.parse(JSON.stringify(wrote.record)));
	assert.equal(back.issues, undefined, `${crm} ${entity} read issues: ${JSON.stringify(back.issues)}`);
	for (const [k, v] of Object.entries(unified)) {
		const precision = specFor(crm, entity, k)!.roundTrip ?? 'exact';
		const got = back.record[k];
		const ctx = `${crm} ${entity}${type ? ` (${type})` : ''} field ${k} via ${JSON.stringify(wrote.record)}`;
		if (precision === 'date' && typeof v === 'string') assert.equal(String(got).slice(0, 10), v.slice(0, 10), ctx);
		else if (precision === 'minute' && typeof v === 'string') assert.equal(String(got).slice(0, 16), v.slice(0, 16), ctx);
		else assert.deepEqual(got, v, ctx);
	}
}

describe('default maps round trip unified → CRM → unified', () => {
	for (const crm of CRM_NAMES) {
		for (const entity of ENTITY_TYPES) {
			if (entity === 'activity') {
				for (const type of ACTIVITY_TYPES) {
					if (UNSUPPORTED_TYPES[crm]?.includes(type)) continue;
					test(`${crm} activity ${type}`, () => assertRoundTrip(crm, entity, type));
				}
			} else test(`${crm} ${entity}`, () => assertRoundTrip(crm, entity));
		}
	}

	test('closed-won and closed-lost stages survive in every CRM', () => {
		for (const crm of CRM_NAMES) {
			for (const stage of ['closedWon', 'closedLost']) {
				const w = compileMapping({ direction: 'fromUnified', target: crm, entity: 'opportunity', mode: 'strict' }).map({ stage });
				const r = compileMapping({ direction: 'toUnified', source: crm, entity: 'opportunity', mode: 'strict' }).map(w.record);
				assert.equal(r.record.stage, stage, `${crm}: ${JSON.stringify(w.record)}`);
			}
		}
	});

	test('every canonical lead status survives where the CRM has a lead status', () => {
		for (const crm of ['salesforce', 'hubspot', 'zoho', 'dynamics'] as const) {
			for (const status of ['new', 'contacted', 'qualified', 'unqualified']) {
				const w = compileMapping({ direction: 'fromUnified', target: crm, entity: 'lead', mode: 'strict' }).map({ status });
				const r = compileMapping({ direction: 'toUnified', source: crm, entity: 'lead', mode: 'strict' }).map(w.record);
				assert.equal(r.record.status, status, `${crm}: ${JSON.stringify(w.record)}`);
			}
		}
	});

	test('zoho rejects an email activity (no module for it) in strict mode', () => {
		const r = compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'activity', mode: 'strict' }).map({ type: 'email', subject: 'x' });
		assert.equal(r.valid, false);
		assert.match(r.issues![0].reason, /no value in the target picklist/);
	});
});

describe('CRM wire shapes', () => {
	const contact = { email: 'A@Example.com ', firstName: 'Ada', lastName: 'Lovelace', phone: '555-1234', leadSource: 'web', emailOptOut: true };

	test('salesforce contact write and read (Account.Name relationship, AccountId)', () => {
		const w = compileMapping({ direction: 'fromUnified', target: 'salesforce', entity: 'contact' }).map({ ...contact, company: 'X', accountId: '001000000000001AAA' });
		assert.deepEqual(w.record, { Email: 'a@example.com', FirstName: 'Ada', LastName: 'Lovelace', Phone: '555-1234', LeadSource: 'Web', HasOptedOutOfEmail: true, AccountId: '001000000000001AAA' });
		const r = compileMapping({ direction: 'toUnified', source: 'salesforce', entity: 'contact' }).map({
			attributes: { type: 'Contact' }, Id: '003x', Email: 'a@example.com', Account: { Name: 'Acme' }, AccountId: '001x', DoNotCall: false, LeadSource: 'Phone Inquiry',
		});
		assert.deepEqual(r.record, { email: 'a@example.com', company: 'Acme', accountId: '001x', doNotCall: false, leadSource: 'phone' });
	});

	test('hubspot: flat string properties, epoch-ms dates, booleans as strings', () => {
		const w = compileMapping({ direction: 'fromUnified', target: 'hubspot', entity: 'opportunity' }).map({ name: 'D', amount: 1500.25, stage: 'closedWon', closeDate: '2024-06-30' });
		assert.deepEqual(w.record, { dealname: 'D', amount: '1500.25', dealstage: 'closedwon', closedate: String(Date.UTC(2024, 5, 30)), pipeline: 'default' });
		const r = compileMapping({ direction: 'toUnified', source: 'hubspot', entity: 'contact' }).map({ email: 'x@y.io', hs_email_optout: 'true', lifecyclestage: 'marketingqualifiedlead', hs_lead_status: 'ATTEMPTED_TO_CONTACT' });
		assert.deepEqual(r.record, { email: 'x@y.io', emailOptOut: true, lifecycleStage: 'marketingQualifiedLead', status: 'contacted' });
		const a = compileMapping({ direction: 'toUnified', source: 'hubspot', entity: 'activity' }).map({ hs_timestamp: '1709649000000', hs_call_title: 'Call', hs_call_duration: '90000' });
		assert.deepEqual(a.record, { type: 'call', subject: 'Call', timestamp: '2024-03-05T14:30:00.000Z', duration: 90 });
	});

	test('pipedrive: emails[]/phones[] arrays, name, marketing_status, custom_fields', () => {
		const w = compileMapping({ direction: 'fromUnified', target: 'pipedrive', entity: 'contact', includeUnmapped: true }).map({
			...contact, mobilePhone: '555-9999', accountId: 7, custom: { a1b2c3: 'gold' },
		});
		assert.deepEqual(w.record, {
			name: 'Ada Lovelace', emails: [{ value: 'a@example.com', primary: true, label: 'work' }],
			phones: [{ value: '555-1234', primary: true, label: 'work' }, { value: '555-9999', primary: false, label: 'mobile' }],
			marketing_status: 'unsubscribed', org_id: 7, custom_fields: { a1b2c3: 'gold', leadSource: 'web' },
		});
		const r = compileMapping({ direction: 'toUnified', source: 'pipedrive', entity: 'contact', includeUnmapped: true }).map({
			id: 5, name: 'Grace Brewster Hopper', emails: [{ value: 'old@x.io', primary: false, label: 'home' }, { value: 'g@x.io', primary: true, label: 'work' }],
			phones: [{ value: '+1 555 0100', primary: true, label: 'work' }], marketing_status: 'subscribed', custom_fields: { f00: 'x' },
		});
		assert.deepEqual(r.record, { firstName: 'Grace Brewster', lastName: 'Hopper', email: 'g@x.io', phone: '+1 555 0100', emailOptOut: false, custom: { id: 5, f00: 'x' } });
	});

	test('pipedrive activity: due_date/due_time and HH:MM duration', () => {
		const w = compileMapping({ direction: 'fromUnified', target: 'pipedrive', entity: 'activity' }).map({ type: 'call', timestamp: '2024-01-15T09:56:49+00:00', duration: 5400, dealIds: [3] });
		assert.deepEqual(w.record, { type: 'call', due_date: '2024-01-15', due_time: '09:56', duration: '01:30', deal_id: 3 });
	});

	test('zoho: lookups {id, name}, offsets in datetimes', () => {
		const r = compileMapping({ direction: 'toUnified', source: 'zoho', entity: 'contact' }).map({
			Last_Name: 'Doe', Account_Name: { id: '57001', name: 'Acme' }, Owner: { id: '57002', name: 'Sam', email: 's@x.io' }, Email_Opt_Out: false,
		});
		assert.deepEqual(r.record, { lastName: 'Doe', company: 'Acme', accountId: '57001', ownerId: '57002', emailOptOut: false });
		const w = compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'contact' }).map({ lastName: 'Doe', company: 'Acme', accountId: '57001', ownerId: '57002' });
		assert.deepEqual(w.record, { Last_Name: 'Doe', Account_Name: { id: '57001' }, Owner: { id: '57002' } });
		const a = compileMapping({ direction: 'toUnified', source: 'zoho', entity: 'activity' }).map({ Subject: 'Call', Call_Type: 'Outbound', Call_Start_Time: '2024-01-15T15:26:49+05:30' });
		assert.deepEqual(a.record, { type: 'call', subject: 'Call', timestamp: '2024-01-15T09:56:49.000Z' });
		const aw = compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'activity', timeZone: 'Asia/Kolkata' }).map({ type: 'call', timestamp: '2024-01-15T09:56:49.000Z' });
		assert.deepEqual(aw.record, { Call_Type: 'Outbound', Call_Start_Time: '2024-01-15T15:26:49+05:30' });
	});

	test('dynamics: @odata.bind writes, _x_value reads, option sets, date-only close date', () => {
		const acc = '22222222-2222-2222-2222-222222222222';
		const w = compileMapping({ direction: 'fromUnified', target: 'dynamics', entity: 'lead' }).map({ lastName: 'Doe', leadSource: 'web', status: 'unqualified', ownerId: acc });
		assert.deepEqual(w.record, { lastname: 'Doe', leadsourcecode: 8, statuscode: 4, statecode: 2, 'ownerid@odata.bind': `/systemusers(${acc})` });
		const r = compileMapping({ direction: 'toUnified', source: 'dynamics', entity: 'contact' }).map({
			'@odata.etag': 'W/"1"', contactid: 'c', emailaddress1: 'x@y.io', _parentcustomerid_value: acc,
			'_parentcustomerid_value@OData.Community.Display.V1.FormattedValue': 'Acme', donotphone: true,
		});
		assert.deepEqual(r.record, { email: 'x@y.io', accountId: acc, company: 'Acme', doNotCall: true });
		// A webhook's entity image: the lookup as an EntityReference (a re-parented contact).
		const image = compileMapping({ direction: 'toUnified', source: 'dynamics', entity: 'contact' }).map({ emailaddress1: 'x@y.io', parentcustomerid: { id: acc, logicalName: 'account', name: 'Acme' } });
		assert.equal(image.record.accountId, acc);
		const o = compileMapping({ direction: 'fromUnified', target: 'dynamics', entity: 'opportunity' }).map({ closeDate: '2024-06-30T23:30:00-05:00', accountId: acc, amount: '1,250.50' });
		assert.deepEqual(o.record, { estimatedclosedate: '2024-06-30', 'customerid_account@odata.bind': `/accounts(${acc})`, estimatedvalue: 1250.5 });
		const a = compileMapping({ direction: 'fromUnified', target: 'dynamics', entity: 'activity' }).map({ type: 'note', body: 'hi', contactIds: [acc] });
		assert.deepEqual(a.record, { '@odata.type': 'Microsoft.Dynamics.CRM.annotation', notetext: 'hi', 'objectid_contact@odata.bind': `/contacts(${acc})` });
	});

	test('salesforce task: WhoId/WhatId by key prefix, TaskSubtype, date-only ActivityDate', () => {
		const r = compileMapping({ direction: 'toUnified', source: 'salesforce', entity: 'activity' }).map({
			TaskSubtype: 'Call', Subject: 'Intro', WhoId: '003A', WhatId: '001B', ActivityDate: '2024-03-05', CallDurationInSeconds: 300,
		});
		assert.deepEqual(r.record, { type: 'call', subject: 'Intro', timestamp: '2024-03-05T00:00:00.000Z', duration: 300, contactIds: ['003A'], accountIds: ['001B'] });
	});
});

describe("the brief's example", () => {
	const salesforceContact = { FirstName: 'John', LastName: 'Doe', Email: 'john@example.com', Phone: '555-1234', Account: { Name: 'Acme Corp' }, LeadSource: 'Web', Custom_Field__c: 'Value' };
	const expected = { firstname: 'John', lastname: 'Doe', email: 'john@example.com', phone: '555-1234', company: 'Acme Corp', leadsource: 'Web', custom_property: 'Value' };
	for (const mode of ['lenient', 'strict'] as const) {
		test(`Salesforce → HubSpot contact with a custom-field rule (${mode})`, () => {
			const mapper = compileMapping({
				direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', mode,
				overrides: { rules: [{ source: 'Custom_Field__c', target: 'custom_property' }] },
			});
			const result = mapper.map(salesforceContact);
			assert.deepStrictEqual(result.record, expected);
			assert.equal(result.issues, undefined);
			assert.equal(result.valid, true);
		});
	}

	test('without the rule the custom field is dropped (no include-unmapped), with include-unmapped it passes under its own name', () => {
		const base = { direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact' } as const;
		const { Custom_Field__c, ...rest } = salesforceContact;
		void rest;
		assert.equal(compileMapping(base).map(salesforceContact).record.Custom_Field__c, undefined);
		assert.equal(compileMapping({ ...base, includeUnmapped: true }).map(salesforceContact).record.Custom_Field__c, Custom_Field__c);
	});
});

describe('strict vs lenient, overrides', () => {
	const bad = { FirstName: 'J', LastName: 'x'.repeat(81), Email: 'not-an-email', Phone: 'call me', CloseDate: '2024-02-30' };

	test('strict: invalid record with one reason per field; the batch goes on', () => {
		const m = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'salesforce', entity: 'contact', mode: 'strict' });
		const batch = m.mapBatch([{ LastName: 'Ok', Email: 'ok@x.io' }, bad, { LastName: 'Fine' }]);
		assert.deepEqual(batch.mapped.map((m) => m.index), [0, 2]);
		assert.equal(batch.invalid.length, 1);
		const errors = batch.invalid[0].errors;
		assert.deepEqual(errors.map((e) => e.field).sort(), ['Email', 'LastName', 'Phone']);
		assert.equal(new Set(errors.map((e) => e.field)).size, errors.length, 'one reason per field');
		assert.match(errors.find((e) => e.field === 'LastName')!.reason, /81 characters long; the limit is 80/);
		assert.deepEqual(batch.invalid[0].record, bad, 'the original record is kept');
	});

	test('lenient: original values kept, warnings attached', () => {
		const m = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'salesforce', entity: 'contact', mode: 'lenient' });
		const batch = m.mapBatch([bad]);
		assert.equal(batch.invalid.length, 0);
		const { record, warnings } = batch.mapped[0];
		assert.equal(record.Email, 'not-an-email');
		assert.equal(record.LastName, bad.LastName);
		assert.equal(record.Phone, 'call me');
		assert.equal(warnings!.length, 3);
	});

	test('rules replace the default for the same target; replaceDefaults keeps only the rules', () => {
		const rules = [{ source: 'Email', target: 'email', transform: 'uppercase' as const }];
		const ext = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', overrides: { rules } });
		assert.deepEqual(ext.map({ Email: 'a@b.co', LastName: 'L' }).record, { email: 'A@B.CO', lastname: 'L' });
		const rep = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', overrides: { rules, replaceDefaults: true } });
		assert.deepEqual(rep.map({ Email: 'a@b.co', LastName: 'L' }).record, { email: 'A@B.CO' });
	});

	test('rule transformers format for the target CRM and apply value maps', () => {
		const m = compileMapping({
			direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact',
			overrides: { rules: [{ source: 'Renewal__c', target: 'renewal_date', transform: 'date' }, { source: 'Tier__c', target: 'tier', values: { Gold: 'gold_tier' } }, { source: 'Note__c', target: 'note', maxLength: 5 }] },
		});
		const r = m.map({ Renewal__c: '2025-01-31', Tier__c: 'Gold', Note__c: 'too long' });
		assert.deepEqual(r.record, { renewal_date: String(Date.UTC(2025, 0, 31)), tier: 'gold_tier', note: 'too long' });
		assert.equal(r.issues![0].field, 'note');
	});

	test('picklist maps extend the defaults on the chosen side', () => {
		const m = compileMapping({
			direction: 'crmToCrm', source: 'salesforce', target: 'hubspot', entity: 'contact', mode: 'strict',
			overrides: { picklists: [{ field: 'leadSource', side: 'source', values: { 'Web Site': 'web' } }, { field: 'leadSource', side: 'target', values: { 'Inbound Web': 'web' } }] },
		});
		assert.deepEqual(m.map({ LeadSource: 'Web Site' }).record, { leadsource: 'Inbound Web' });
		const unknown = m.map({ LeadSource: 'Carrier Pigeon' });
		assert.equal(unknown.valid, false);
		assert.match(unknown.issues![0].reason, /not in the value map/);
		const dyn = compileMapping({ direction: 'fromUnified', target: 'dynamics', entity: 'lead', overrides: { picklists: [{ field: 'leadSource', values: { '100000001': 'socialMedia' } }] } });
		assert.deepEqual(dyn.map({ leadSource: 'socialMedia' }).record, { leadsourcecode: 100000001 });
	});

	test('computed fields, defaults and required fields', () => {
		const m = compileMapping({
			direction: 'crmToCrm', source: 'hubspot', target: 'salesforce', entity: 'contact', mode: 'strict',
			overrides: {
				computed: [
					{ target: 'Full_Name__c', op: 'join', sources: ['firstname', 'lastname'] },
					{ target: 'Label__c', op: 'template', template: '{lastname}, {firstname} ({company})' },
					{ target: 'Given__c', op: 'firstName', sources: ['fullname'] },
					{ target: 'Family__c', op: 'lastName', sources: ['fullname'] },
				],
				defaults: { LeadSource: 'Other', Email: 'never@used.io' },
				required: ['Email', 'Phone'],
			},
		});
		const r = m.map({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@x.io', company: 'AE', fullname: 'Ada King Lovelace' });
		assert.deepEqual(r.record, {
			FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@x.io', Full_Name__c: 'Ada Lovelace', Label__c: 'Lovelace, Ada (AE)',
			Given__c: 'Ada King', Family__c: 'Lovelace', LeadSource: 'Other',
		});
		assert.deepEqual(r.issues, [{ field: 'Phone', reason: 'is required but missing' }]);
		assert.equal(r.valid, false);
	});

	test('CRM-required fields are checked only when asked', () => {
		const opts = { direction: 'fromUnified', target: 'salesforce', entity: 'opportunity', mode: 'strict' } as const;
		assert.equal(compileMapping(opts).map({ amount: 5 }).valid, true);
		const r = compileMapping({ ...opts, checkCrmRequired: true }).map({ amount: 5 });
		assert.deepEqual(r.issues!.map((i) => i.field), ['Name', 'StageName', 'CloseDate']);
	});

	test('CRM → CRM does not copy CRM-local reference ids', () => {
		const m = compileMapping({ direction: 'crmToCrm', source: 'salesforce', target: 'pipedrive', entity: 'contact', includeUnmapped: true });
		const r = m.map({ LastName: 'Doe', OwnerId: '005x', AccountId: '001x' });
		assert.deepEqual(r.record, { last_name: 'Doe' });
	});

	test('bad configuration fails at compile time with clear errors', () => {
		assert.throws(() => compileMapping({ direction: 'toUnified', source: 'sugar' as CrmName, entity: 'contact' }), /source CRM must be one of/);
		assert.throws(() => compileMapping({ direction: 'toUnified', source: 'zoho', entity: 'ticket' as EntityType }), /entity must be one of/);
		assert.throws(
			() => compileMapping({ direction: 'toUnified', source: 'zoho', entity: 'contact', overrides: { rules: [{ source: '', target: 'x' }, { source: 'a', target: 'b', transform: 'rot13' as 'none' }] } }),
			(e: Error & { problems?: string[] }) => e.problems!.length === 2 && /rules\[0\]\.source/.test(e.message) && /rules\[1\]\.transform "rot13"/.test(e.message),
		);
		assert.throws(() => compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'contact', overrides: { picklists: [{ field: 'email', values: {} }] } }), /not a picklist/);
		assert.throws(() => compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'contact', timeZone: 'Mars/Olympus' }), /not an IANA time zone/);
		assert.throws(() => compileMapping({ direction: 'fromUnified', target: 'zoho', entity: 'contact', phoneFormat: 'e164', defaultCountry: 'XX' }), /not an ISO 3166/);
	});
});

describe('prototype keys', () => {
	const polluted = () => (Object.prototype as Record<string, unknown>).polluted;
	const hostile = () => JSON.parse('{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"polluted": 1}}, "prototype": "p"}') as Record<string, unknown>;

	test('rules, computed fields, defaults and required names through __proto__, constructor or prototype are configuration errors', () => {
		const contact = { direction: 'toUnified', source: 'hubspot', entity: 'contact' } as const;
		try {
			for (const overrides of [
				{ rules: [{ source: 'email', target: '__proto__.polluted' }] },
				{ rules: [{ source: 'email', target: 'constructor.prototype.polluted' }] },
				{ rules: [{ source: '__proto__', target: 'x' }] },
				{ computed: [{ target: '__proto__.polluted', op: 'join' as const, sources: ['firstname'] }] },
				{ computed: [{ target: 'x', op: 'template' as const, template: '{constructor.name}' }] },
				{ defaults: JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown> },
				{ required: ['prototype'] },
			]) {
				assert.throws(
					() => compileMapping({ ...contact, overrides }).map({ email: 'ada@example.com', firstname: 'Ada' }),
					(e: Error) => e instanceof MappingConfigError && /must not name __proto__, constructor or prototype/.test(e.message),
					JSON.stringify(overrides),
				);
			}
			assert.equal(polluted(), undefined, 'Object.prototype is untouched');
		} finally {
			delete (Object.prototype as Record<string, unknown>).polluted;
		}
	});

	test('unmapped fields named like prototype links are not copied; the mapped record stays a plain object', () => {
		for (const options of [
			{ direction: 'toUnified', source: 'hubspot', entity: 'contact', includeUnmapped: true },
			{ direction: 'fromUnified', target: 'zoho', entity: 'contact', includeUnmapped: true },
		] as const) {
			const { record } = compileMapping(options).map({ ...hostile(), email: 'ada@example.com', custom: hostile(), other: 'kept' });
			for (const r of [record, record.custom as Record<string, unknown> | undefined].filter((x) => x !== undefined)) {
				assert.equal(Object.getPrototypeOf(r), Object.prototype);
				assert.deepEqual(Object.keys(r!).filter((k) => ['__proto__', 'constructor', 'prototype'].includes(k)), []);
			}
			assert.ok(JSON.stringify(record).includes('"other":"kept"'), JSON.stringify(record));
		}
		assert.equal(polluted(), undefined);
	});
});
