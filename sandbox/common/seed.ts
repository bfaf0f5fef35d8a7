// Deterministic, CRM-neutral seed data. Each emulator converts it to its own shape in
// applySeed(). Same options => same data. A share of contacts are near-duplicates of earlier
// ones (typo in a name, nickname, reformatted phone, email case) for duplicate-detection tests.

import { Prng } from './prng';
import type { SeedOptions } from './types';

export interface SeedCompany {
	key: string;
	name: string;
	domain: string;
	phone: string;
	industry: string;
	city: string;
	country: string;
	createdAt: number;
}

export interface SeedContact {
	key: string;
	firstName: string;
	lastName: string;
	email: string;
	/** E.164, e.g. +14155550123 (near-duplicates use other formats). */
	phone: string;
	mobile?: string;
	title: string;
	companyKey?: string;
	city: string;
	country: string;
	lifecycle: 'lead' | 'customer' | 'subscriber' | 'opportunity';
	createdAt: number;
	/** Set on near-duplicates: key of the original contact and how it was altered. */
	duplicateOf?: string;
	duplicateKinds?: DuplicateKind[];
}

export interface SeedLead {
	key: string;
	firstName: string;
	lastName: string;
	email: string;
	phone: string;
	company: string;
	status: 'new' | 'working' | 'qualified' | 'unqualified';
	createdAt: number;
}

export interface SeedDeal {
	key: string;
	name: string;
	amount: number;
	currency: string;
	stage: 'open' | 'won' | 'lost';
	/** Neutral pipeline stage label, e.g. 'qualification'. */
	stageLabel: string;
	/** YYYY-MM-DD */
	closeDate: string;
	companyKey?: string;
	contactKey?: string;
	createdAt: number;
}

export interface SeedActivity {
	key: string;
	type: 'note' | 'task' | 'call' | 'meeting' | 'email';
	subject: string;
	body: string;
	/** When it happened / is due (ms). */
	at: number;
	/** Meetings: end time (ms). */
	endAt?: number;
	durationSec?: number;
	done: boolean;
	direction?: 'inbound' | 'outbound';
	contactKey?: string;
	companyKey?: string;
	dealKey?: string;
	createdAt: number;
}

export type DuplicateKind = 'typo' | 'nickname' | 'phoneFormat' | 'emailCase';

export interface SeedData {
	companies: SeedCompany[];
	contacts: SeedContact[];
	leads: SeedLead[];
	deals: SeedDeal[];
	activities: SeedActivity[];
}

const FIRST = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Christopher', 'Nancy', 'Daniel', 'Margaret', 'Matthew', 'Sandra', 'Anthony', 'Ashley', 'Andrew', 'Katherine', 'Steven', 'Emily', 'Edward', 'Rebecca', 'Benjamin', 'Samantha', 'Alexander', 'Victoria', 'Nicholas', 'Abigail', 'Sofia', 'Lukas', 'Mateo', 'Chloé', 'Jörg', 'Aiko', 'Priya', 'Olumide', 'Ingrid', 'Rafael'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Müller', 'Schmidt', "O'Brien", 'Dubois', 'Rossi', 'Tanaka', 'Patel', 'Okafor', 'Larsen', 'Silva'];
/** Formal name -> nickname (used for near-duplicates). */
const NICKNAMES: Record<string, string> = { Robert: 'Bob', William: 'Bill', Elizabeth: 'Liz', Richard: 'Dick', Joseph: 'Joe', Thomas: 'Tom', Charles: 'Chuck', Christopher: 'Chris', Daniel: 'Dan', Margaret: 'Peggy', Matthew: 'Matt', Anthony: 'Tony', Andrew: 'Andy', Katherine: 'Kate', Steven: 'Steve', Edward: 'Ed', Rebecca: 'Becky', Benjamin: 'Ben', Samantha: 'Sam', Alexander: 'Alex', Victoria: 'Vicky', Nicholas: 'Nick', Abigail: 'Abby', James: 'Jim', Michael: 'Mike', Jennifer: 'Jen', Patricia: 'Pat', Jessica: 'Jess', David: 'Dave', Susan: 'Sue' };
const COMPANY_A = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Wonka', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell', 'Cyberdyne', 'Aperture', 'Massive', 'Pied Piper', 'Oscorp', 'Gringotts', 'Monarch', 'Nakatomi', 'Blue Sun', 'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware'];
const COMPANY_B = ['Labs', 'Industries', 'Systems', 'Holdings', 'Analytics', 'Logistics', 'Foods', 'Energy', 'Health', 'Robotics', 'Capital', 'Software', 'Media', 'Partners', 'Works'];
const SUFFIX = ['Inc.', 'LLC', 'GmbH', 'Ltd', 'S.A.', 'Corp.', ''];
const INDUSTRIES = ['Software', 'Manufacturing', 'Retail', 'Healthcare', 'Finance', 'Logistics', 'Energy', 'Education', 'Media', 'Hospitality'];
const PLACES: [string, string, string][] = [['San Francisco', 'United States', '+1415'], ['New York', 'United States', '+1212'], ['Austin', 'United States', '+1512'], ['London', 'United Kingdom', '+4420'], ['Berlin', 'Germany', '+4930'], ['Paris', 'France', '+331'], ['Madrid', 'Spain', '+3491'], ['Toronto', 'Canada', '+1416'], ['Sydney', 'Australia', '+612'], ['Tokyo', 'Japan', '+813']];
const TITLES = ['CEO', 'CTO', 'VP Sales', 'Head of Marketing', 'Account Executive', 'Engineer', 'Operations Manager', 'CFO', 'Product Manager', 'Buyer'];
const STAGES = ['qualification', 'needs analysis', 'proposal', 'negotiation'];
const FREEMAIL = ['gmail.com', 'yahoo.com', 'outlook.com', 'proton.me'];

/** Fixed epoch for seed timestamps (2025-01-01T00:00:00Z) so data does not depend on today. */
export const SEED_EPOCH = Date.UTC(2025, 0, 1);

function slug(s: string): string {
	return s
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '');
}

/** Formats an E.164 number the way people type it (used for near-duplicates). */
function reformatPhone(e164: string, prng: Prng): string {
	const digits = e164.replace(/\D/g, '');
	if (e164.startsWith('+1')) {
		const n = digits.slice(1);
		return prng.pick([`(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`, `${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)}`, `1-${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`]);
	}
	return prng.pick([`+${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`, `00${digits}`, `+${digits.slice(0, 2)} (0)${digits.slice(2)}`]);
}

function typo(s: string, prng: Prng): string {
	if (s.length < 4) return s + s[s.length - 1];
	const i = prng.int(1, s.length - 2);
	return prng.chance(0.5) ? s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) : s.slice(0, i) + s.slice(i + 1);
}

function randomCase(email: string, prng: Prng): string {
	const [local, domain] = email.split('@');
	const cased = local
		.split('.')
		.map((p) => (p ? p[0].toUpperCase() + p.slice(1) : p))
		.join('.');
	return `${cased}@${prng.chance(0.5) ? domain.toUpperCase() : domain}`;
}

/** Generates CRM-neutral seed data. Counts default to 0 except contacts (100). */
export function generateSeed(opts: SeedOptions = {}): SeedData {
	const prng = new Prng(opts.seed ?? 42);
	const nCompanies = opts.companies ?? 0;
	const nContacts = opts.contacts ?? 100;
	const dupShare = opts.duplicateShare ?? 0.05;
	let clock = SEED_EPOCH;
	const nextTime = () => (clock += prng.int(1000, 600000));

	const companies: SeedCompany[] = [];
	const usedCompanyNames = new Map<string, number>();
	for (let i = 0; i < nCompanies; i++) {
		let base = `${prng.pick(COMPANY_A)} ${prng.pick(COMPANY_B)}`;
		const n = (usedCompanyNames.get(base) ?? 0) + 1;
		usedCompanyNames.set(base, n);
		if (n > 1) base = `${base} ${n}`;
		const [city, country, prefix] = prng.pick(PLACES);
		companies.push({
			key: `company-${i + 1}`,
			name: `${base} ${prng.pick(SUFFIX)}`.trim(),
			domain: `${slug(base)}.example.com`,
			phone: `${prefix}${prng.int(1000000, 9999999)}`,
			industry: prng.pick(INDUSTRIES),
			city,
			country,
			createdAt: nextTime(),
		});
	}

	const contacts: SeedContact[] = [];
	const originals: SeedContact[] = [];
	const usedEmails = new Set<string>();
	for (let i = 0; i < nContacts; i++) {
		const key = `contact-${i + 1}`;
		if (originals.length > 0 && prng.chance(dupShare)) {
			contacts.push(nearDuplicate(prng.pick(originals), key, prng, nextTime(), usedEmails));
			continue;
		}
		const firstName = prng.pick(FIRST);
		const lastName = prng.pick(LAST);
		const company = companies.length ? prng.pick(companies) : undefined;
		const [city, country, prefix] = company ? [company.city, company.country, company.phone.slice(0, 5)] : prng.pick(PLACES);
		const domain = company ? company.domain : prng.pick(FREEMAIL);
		let email = `${slug(firstName)}.${slug(lastName)}@${domain}`;
		for (let n = 2; usedEmails.has(email); n++) email = `${slug(firstName)}.${slug(lastName)}${n}@${domain}`;
		usedEmails.add(email);
		contacts.push({
			key,
			firstName,
			lastName,
			email,
			phone: `${prefix}${prng.int(1000000, 9999999)}`,
			mobile: prng.chance(0.4) ? `${prefix}${prng.int(1000000, 9999999)}` : undefined,
			title: prng.pick(TITLES),
			companyKey: company?.key,
			city,
			country,
			lifecycle: prng.pick(['lead', 'customer', 'subscriber', 'opportunity'] as const),
			createdAt: nextTime(),
		});
		originals.push(contacts[contacts.length - 1]);
	}

	const leads: SeedLead[] = [];
	for (let i = 0; i < (opts.leads ?? 0); i++) {
		const firstName = prng.pick(FIRST);
		const lastName = prng.pick(LAST);
		const company = `${prng.pick(COMPANY_A)} ${prng.pick(COMPANY_B)}`;
		leads.push({
			key: `lead-${i + 1}`,
			firstName,
			lastName,
			email: `${slug(firstName)}.${slug(lastName)}.lead${i + 1}@${slug(company)}.example.com`,
			phone: `${prng.pick(PLACES)[2]}${prng.int(1000000, 9999999)}`,
			company,
			status: prng.pick(['new', 'working', 'qualified', 'unqualified'] as const),
			createdAt: nextTime(),
		});
	}

	const deals: SeedDeal[] = [];
	for (let i = 0; i < (opts.deals ?? 0); i++) {
		const company = companies.length ? prng.pick(companies) : undefined;
		const contact = contacts.length ? prng.pick(contacts) : undefined;
		const stage = prng.pick(['open', 'open', 'open', 'won', 'lost'] as const);
		const close = new Date(SEED_EPOCH + prng.int(0, 365) * 86400000);
		deals.push({
			key: `deal-${i + 1}`,
			name: `${company ? company.name.split(' ')[0] : 'New'} ${prng.pick(['Renewal', 'Expansion', 'Pilot', 'License', 'Services'])} ${i + 1}`,
			amount: prng.int(10, 2000) * 100,
			currency: 'USD',
			stage,
			stageLabel: stage === 'open' ? prng.pick(STAGES) : stage === 'won' ? 'closed won' : 'closed lost',
			closeDate: close.toISOString().slice(0, 10),
			companyKey: company?.key,
			contactKey: contact?.key,
			createdAt: nextTime(),
		});
	}

	const activities: SeedActivity[] = [];
	const kinds = ['note', 'task', 'call', 'meeting', 'email'] as const;
	for (let i = 0; i < (opts.activities ?? 0); i++) {
		const type = kinds[i % kinds.length];
		const contact = contacts.length ? prng.pick(contacts) : undefined;
		const deal = deals.length && prng.chance(0.3) ? prng.pick(deals) : undefined;
		const at = SEED_EPOCH + prng.int(0, 365 * 24) * 3600000;
		const who = contact ? `${contact.firstName} ${contact.lastName}` : 'customer';
		const subject = { note: `Note about ${who}`, task: `Follow up with ${who}`, call: `Call with ${who}`, meeting: `Meeting with ${who}`, email: `Re: proposal for ${who}` }[type];
		const durationSec = type === 'call' ? prng.int(30, 3600) : type === 'meeting' ? prng.pick([1800, 3600, 5400]) : undefined;
		activities.push({
			key: `activity-${i + 1}`,
			type,
			subject,
			body: `${subject}: ${prng.pick(['discussed pricing', 'sent the deck', 'asked for references', 'left a voicemail', 'agreed next steps'])}.`,
			at,
			endAt: type === 'meeting' ? at + durationSec! * 1000 : undefined,
			durationSec,
			done: prng.chance(0.6),
			direction: type === 'call' || type === 'email' ? prng.pick(['inbound', 'outbound'] as const) : undefined,
			contactKey: contact?.key,
			companyKey: contact?.companyKey,
			dealKey: deal?.key,
			createdAt: nextTime(),
		});
	}
	return { companies, contacts, leads, deals, activities };
}

/**
 * A near-duplicate of `orig`. Unless the alteration is 'emailCase' (same address, other case),
 * the duplicate uses another address (initial + last name at a freemail domain), as people do.
 */
function nearDuplicate(orig: SeedContact, key: string, prng: Prng, createdAt: number, usedEmails: Set<string>): SeedContact {
	const kinds: DuplicateKind[] = [];
	const copy: SeedContact = { ...orig, key, createdAt, duplicateOf: orig.key };
	const wanted = prng.int(1, 2);
	const options: DuplicateKind[] = ['typo', 'nickname', 'phoneFormat', 'emailCase'];
	while (kinds.length < wanted) {
		const k = prng.pick(options);
		if (kinds.includes(k)) continue;
		if (k === 'nickname' && !NICKNAMES[orig.firstName]) continue;
		kinds.push(k);
	}
	for (const k of kinds) {
		if (k === 'typo') copy.lastName = typo(orig.lastName, prng);
		if (k === 'nickname') copy.firstName = NICKNAMES[orig.firstName];
		if (k === 'phoneFormat') copy.phone = reformatPhone(orig.phone, prng);
		if (k === 'emailCase') copy.email = randomCase(orig.email, prng);
	}
	if (!kinds.includes('emailCase')) {
		let email = `${slug(copy.firstName)[0]}${slug(copy.lastName)}@${prng.pick(FREEMAIL)}`;
		for (let n = 2; usedEmails.has(email); n++) email = email.replace(/\d*@/, `${n}@`);
		usedEmails.add(email);
		copy.email = email;
	}
	copy.duplicateKinds = kinds;
	return copy;
}
