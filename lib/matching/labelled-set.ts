// Deterministic labelled set of CRM-like contacts for measuring matching accuracy.
// Each generated person ("entity") gets a clean record; some get 1-2 duplicates with
// CRM-style corruptions (typos, nicknames, swapped names, reformatted phones, email case,
// personal instead of work email, changed company legal form, single "name" field, missing
// fields, a new phone number). Hard negatives are separate people who look alike: colleagues at one company with
// similar names, and household members sharing a phone number and address.

import type { UnifiedRecord } from '../model';
import { seededRandom } from './random';

export interface LabelledSetOptions {
	/** Distinct people. */
	entities: number;
	seed?: number;
	/** Share of people with at least one duplicate. Default 0.3. */
	duplicateRate?: number;
	/** Share of people generated as hard negatives (colleague or household groups). Default 0.2. */
	hardNegativeRate?: number;
}

export interface LabelledSet {
	records: UnifiedRecord[];
	/** entity[i] = the person record i belongs to. */
	entity: number[];
	/** Number of true duplicate pairs. */
	truePairs: number;
}

const FIRST_NAMES = `james john robert michael william david richard joseph thomas charles christopher daniel matthew
anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan
jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank
patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle walter ethan
jeremy harold keith christian roger noah gerald carl terry sean austin arthur lawrence jesse dylan bryan joe
jordan billy bruce albert willie gabriel logan alan juan wayne roy ralph randy eugene vincent russell elijah
louis bobby philip johnny mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa
betty margaret sandra ashley kimberly emily donna michelle dorothy carol amanda melissa deborah stephanie
rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda pamela nicole emma samantha
katherine christine debra rachel catherine carolyn janet ruth maria heather diane virginia julie joyce victoria
olivia kelly christina lauren joan evelyn judith megan cheryl andrea hannah martha jacqueline frances gloria
ann teresa kathryn sara janice jean alice madison doris abigail julia judy grace denise amber marilyn beverly
danielle theresa sophia marie diana brittany natalie isabella charlotte rose alexis kayla`.split(/\s+/);

const COMMON_LAST_NAMES = `smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez
lewis robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall
rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes
stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos
kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo
sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler
henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds
griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford
castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman
webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon
munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice
schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley spencer
hawkins arnold pierce vazquez hansen peters santos hart bradley knight elliott cunningham duncan armstrong
hudson carroll lane riley andrews alvarado ray delgado berry perkins hoffman johnston matthews pena richards`.split(/\s+/);

const LAST_PREFIXES = 'ash black brook clay dun fair glen hart kings lang mor north oak pen ral stan thorn wex yar bel cal dal'.split(' ');
const LAST_SUFFIXES = 'ford ley ton wood field man well by wick more stead croft'.split(' ');
const LAST_NAMES = [...COMMON_LAST_NAMES, ...LAST_PREFIXES.flatMap((p) => LAST_SUFFIXES.map((s) => p + s))];

/** Nicknames the duplicates may use (a subset of the shipped table, so the table is tested). */
const NICKNAMES: Record<string, string[]> = {
	james: ['jim', 'jimmy'], john: ['jon', 'johnny', 'jack'], robert: ['bob', 'rob', 'bobby'],
	michael: ['mike', 'mick'], william: ['bill', 'will', 'billy'], richard: ['rick', 'dick', 'rich'],
	joseph: ['joe', 'joey'], thomas: ['tom', 'tommy'], charles: ['charlie', 'chuck'], christopher: ['chris'],
	daniel: ['dan', 'danny'], matthew: ['matt'], anthony: ['tony'], steven: ['steve'], andrew: ['andy', 'drew'],
	joshua: ['josh'], kenneth: ['ken', 'kenny'], timothy: ['tim'], edward: ['ed', 'ted', 'eddie'],
	jeffrey: ['jeff'], nicholas: ['nick'], jonathan: ['jon', 'john'], benjamin: ['ben'], samuel: ['sam'],
	gregory: ['greg'], alexander: ['alex', 'al'], patrick: ['pat'], lawrence: ['larry'], elizabeth: ['liz', 'beth', 'betty'],
	margaret: ['maggie', 'peggy', 'meg'], jennifer: ['jen', 'jenny'], patricia: ['pat', 'tricia'], susan: ['sue'],
	jessica: ['jess'], deborah: ['deb', 'debbie'], rebecca: ['becky'], katherine: ['kate', 'kathy'],
	catherine: ['cathy', 'kate'], christine: ['chris'], victoria: ['vicky'], samantha: ['sam'], pamela: ['pam'],
	kimberly: ['kim'], stephanie: ['steph'], abigail: ['abby'], judith: ['judy'], frances: ['fran'],
};

/** First names that look alike but are different people (colleague hard negatives). */
const LOOKALIKE_FIRST: Array<[string, string]> = [
	['daniel', 'danielle'], ['christopher', 'christina'], ['mark', 'marc'], ['eric', 'erica'], ['john', 'joan'],
	['paul', 'paula'], ['brian', 'bryan'], ['alan', 'allen'], ['steven', 'stephen'], ['carl', 'carol'],
	['dennis', 'denise'], ['gabriel', 'gabrielle'], ['jean', 'joan'], ['adam', 'adams'], ['louis', 'louise'],
];
/** Family names one letter apart (colleague hard negatives). */
const LOOKALIKE_LAST: Array<[string, string]> = [
	['johnson', 'johnston'], ['peterson', 'petersen'], ['hansen', 'hanson'], ['meyer', 'meyers'],
	['stevens', 'stephens'], ['thomson', 'thompson'], ['reed', 'reid'], ['gray', 'grey'], ['clark', 'clarke'],
	['smith', 'smyth'], ['anderson', 'andersen'], ['nielsen', 'nielson'], ['fischer', 'fisher'],
];

const COMPANY_WORDS = `acme globex initech umbrella stark wayne wonka cyberdyne soylent tyrell hooli vandelay
pied piper dunder mifflin sterling cooper wernham hogg prestige bluth monarch oscorp gringotts nakatomi
virtucon zorg massive dynamic aperture black mesa abstergo blue river red rock silver lake north star
summit apex harbor meridian pinnacle vertex cascade evergreen granite lakeside orchard pioneer quantum
redwood sapphire titan union vista willow zenith horizon beacon compass frontier keystone liberty
mosaic nimbus orbit paragon radiant sentinel trident`.split(/\s+/);
const COMPANY_KINDS = 'labs systems solutions logistics partners media health foods energy capital analytics studios'.split(' ');
const LEGAL_FORMS = ['Inc', 'Inc.', 'LLC', 'Ltd', 'Corp', 'Corporation', 'GmbH', 'Co.', 'PLC', 'Limited', ''];
const AREA_CODES = [212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 718, 773, 808, 917, 206, 303, 214, 919];
const STREETS = 'main oak maple cedar pine elm washington lake hill park river sunset ridge church highland'.split(' ');
const STREET_TYPES = [['Street', 'St'], ['Avenue', 'Ave'], ['Road', 'Rd'], ['Drive', 'Dr'], ['Lane', 'Ln']];
const CITIES = ['Springfield', 'Riverside', 'Franklin', 'Greenville', 'Bristol', 'Clinton', 'Fairview', 'Salem', 'Madison', 'Georgetown'];
const CRMS = ['salesforce', 'hubspot', 'pipedrive', 'zoho', 'dynamics'];

interface Company {
	name: string;
	legalForm: string;
	domain: string;
	postalCode: string;
	switchboard: string;
}

interface Person {
	first: string;
	last: string;
	company?: Company;
	workEmail?: string;
	personalEmail: string;
	phone: string;
	mobile?: string;
	street: string;
	city: string;
	postalCode: string;
}

function capitalise(word: string): string {
	return word.charAt(0).toUpperCase() + word.slice(1);
}

export function generateLabelledSet(options: LabelledSetOptions): LabelledSet {
	const random = seededRandom(options.seed ?? 42);
	const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
	const chance = (p: number) => random() < p;
	const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
	const phoneDigits = () => `${pick(AREA_CODES)}${2 + Math.floor(random() * 8)}${digits(6)}`;
	const duplicateRate = options.duplicateRate ?? 0.3;
	const hardNegativeRate = options.hardNegativeRate ?? 0.2;

	const companyCount = Math.max(5, Math.floor(options.entities / 6));
	const companies: Company[] = Array.from({ length: companyCount }, (_, i) => {
		const words = [pick(COMPANY_WORDS), pick(COMPANY_KINDS)];
		const name = `${words.map(capitalise).join(' ')}${i >= COMPANY_WORDS.length * 2 ? ` ${i}` : ''}`;
		return {
			name,
			legalForm: pick(LEGAL_FORMS),
			domain: `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}.com`,
			postalCode: digits(5),
			switchboard: phoneDigits(),
		};
	});

	let mailCounter = 0;
	const newPerson = (first: string, last: string, company: Company | undefined, home?: Person): Person => {
		mailCounter++;
		const person: Person = {
			first,
			last,
			company,
			personalEmail: `${first}${chance(0.5) ? '.' : ''}${last}${mailCounter % 1000}@${pick(['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com'])}`,
			phone: home?.phone ?? phoneDigits(),
			mobile: chance(0.5) ? phoneDigits() : undefined,
			street: home?.street ?? `${1 + Math.floor(random() * 9999)} ${capitalise(pick(STREETS))} ${pick(STREET_TYPES)[0]}`,
			city: home?.city ?? pick(CITIES),
			postalCode: home?.postalCode ?? digits(5),
		};
		if (company) person.workEmail = `${first}.${last}${mailCounter % 7 === 0 ? mailCounter % 100 : ''}@${company.domain}`;
		return person;
	};

	const people: Person[] = [];
	while (people.length < options.entities) {
		const company = chance(0.85) ? pick(companies) : undefined;
		if (chance(hardNegativeRate / 2) && company) {
			// Colleagues with look-alike names at one company.
			if (chance(0.5)) {
				const [a, b] = pick(LOOKALIKE_FIRST);
				const last = pick(LAST_NAMES);
				people.push(newPerson(a, last, company), newPerson(b, last, company));
			} else {
				const [a, b] = pick(LOOKALIKE_LAST);
				const first = pick(FIRST_NAMES);
				people.push(newPerson(first, a, company), newPerson(first, b, company));
			}
		} else if (chance(hardNegativeRate / 2)) {
			// Household: family name, landline and address shared; different given names.
			const last = pick(LAST_NAMES);
			const head = newPerson(pick(FIRST_NAMES), last, company);
			people.push(head);
			const members = 1 + Math.floor(random() * 2);
			for (let i = 0; i < members; i++) {
				let first = pick(FIRST_NAMES);
				while (first === head.first) first = pick(FIRST_NAMES);
				people.push(newPerson(first, last, chance(0.5) ? pick(companies) : undefined, head));
			}
		} else {
			people.push(newPerson(pick(FIRST_NAMES), pick(LAST_NAMES), company));
		}
	}
	people.length = options.entities;

	const formatPhone = (d: string, style: number): string => {
		const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
		switch (style) {
			case 0: return `(${a}) ${b}-${c}`;
			case 1: return `${a}.${b}.${c}`;
			case 2: return `+1 ${a} ${b} ${c}`;
			case 3: return `${a}-${b}-${c}`;
			default: return d;
		}
	};
	const companyName = (c: Company, form = c.legalForm) => (form ? `${c.name} ${form}` : c.name);

	const cleanRecord = (p: Person, index: number): UnifiedRecord => {
		const record: UnifiedRecord = {
			id: `rec-${index}`,
			firstName: capitalise(p.first),
			lastName: capitalise(p.last),
			email: p.workEmail ?? p.personalEmail,
			phone: formatPhone(p.phone, Math.floor(random() * 5)),
			source: pick(CRMS),
			updatedAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 3e10)).toISOString(),
		};
		if (p.mobile) record.mobilePhone = formatPhone(p.mobile, Math.floor(random() * 5));
		if (p.company) record.company = companyName(p.company);
		if (chance(0.6)) {
			record.street = p.street;
			record.city = p.city;
			record.postalCode = p.postalCode;
		}
		return record;
	};

	const typo = (word: string): string => {
		if (word.length < 3) return word;
		const at = 1 + Math.floor(random() * (word.length - 1));
		const letter = 'abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 26)];
		switch (Math.floor(random() * 4)) {
			case 0: return word.slice(0, at) + letter + word.slice(at + 1);
			case 1: return word.slice(0, at) + letter + word.slice(at);
			case 2: return word.slice(0, at) + word.slice(at + 1);
			default: return at < word.length - 1 ? word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2) : word + letter;
		}
	};

	const corrupt = (record: UnifiedRecord, p: Person): UnifiedRecord => {
		const copy: UnifiedRecord = { ...record };
		// Name corruptions are collected first and rendered once at the end.
		let first = p.first;
		let last = p.last;
		let swapped = false;
		let singleField = false;
		const corruptions = 1 + Math.floor(random() * 3);
		for (let i = 0; i < corruptions; i++) {
			switch (Math.floor(random() * 11)) {
				case 0: last = typo(last); break;
				case 1: first = typo(first); break;
				case 2: first = NICKNAMES[p.first] ? pick(NICKNAMES[p.first]) : first; break;
				case 3: swapped = true; break;
				case 4: copy.phone = formatPhone(p.phone, Math.floor(random() * 5)); break;
				case 5: if (typeof copy.email === 'string') copy.email = copy.email.replace(/^[a-z]/, (c) => c.toUpperCase()).replace(/@.*/, (d) => d.toUpperCase()); break;
				case 6: copy.email = chance(0.5) || !p.workEmail ? p.personalEmail : p.workEmail; break;
				case 7: if (p.company) copy.company = companyName(p.company, pick(LEGAL_FORMS)); break;
				case 8: delete copy[pick(['phone', 'email', 'company', 'mobilePhone', 'street'])]; break;
				case 9: copy.phone = formatPhone(phoneDigits(), 0); break; // a new number since
				default: singleField = true;
			}
		}
		delete copy.firstName;
		delete copy.lastName;
		if (singleField) {
			// One "name" field instead of first/last, sometimes "Last, First".
			copy.name = chance(0.3) ? `${capitalise(last)}, ${capitalise(first)}` : `${capitalise(first)} ${capitalise(last)}`;
		} else {
			copy.firstName = capitalise(swapped ? last : first);
			copy.lastName = capitalise(swapped ? first : last);
		}
		return copy;
	};

	const records: UnifiedRecord[] = [];
	const entity: number[] = [];
	let truePairs = 0;
	people.forEach((person, e) => {
		const base = cleanRecord(person, records.length);
		records.push(base);
		entity.push(e);
		let copies = 0;
		if (chance(duplicateRate)) copies = chance(0.8) ? 1 : 2;
		for (let i = 0; i < copies; i++) {
			const copy = corrupt(base, person);
			copy.id = `rec-${records.length}`;
			copy.source = pick(CRMS);
			records.push(copy);
			entity.push(e);
		}
		truePairs += ((copies + 1) * copies) / 2;
	});

	// Shuffle so that duplicates are not neighbours (matching must not rely on order).
	const order = records.map((_, i) => i);
	for (let i = order.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[order[i], order[j]] = [order[j], order[i]];
	}
	return { records: order.map((i) => records[i]), entity: order.map((i) => entity[i]), truePairs };
}

export interface Accuracy {
	truePositives: number;
	falsePositives: number;
	falseNegatives: number;
	precision: number;
	recall: number;
	f1: number;
}

/** Precision / recall / F1 of predicted pairs (by record position) against the set's labels. */
export function evaluatePairs(predicted: Iterable<{ a: number; b: number }>, set: LabelledSet): Accuracy {
	let truePositives = 0;
	let falsePositives = 0;
	const seen = new Set<string>();
	for (const { a, b } of predicted) {
		const key = a < b ? `${a}|${b}` : `${b}|${a}`;
		if (a === b || seen.has(key)) continue;
		seen.add(key);
		if (set.entity[a] === set.entity[b]) truePositives++;
		else falsePositives++;
	}
	const falseNegatives = set.truePairs - truePositives;
	const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
	const recall = set.truePairs === 0 ? 1 : truePositives / set.truePairs;
	const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
	return { truePositives, falsePositives, falseNegatives, precision, recall, f1 };
}

/** Pairs implied by clusters (every two members of one cluster). */
export function clusterPairs(clusters: Array<{ members: number[] }>): Array<{ a: number; b: number }> {
	const pairs: Array<{ a: number; b: number }> = [];
	for (const { members } of clusters) {
		for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) pairs.push({ a: members[i], b: members[j] });
	}
	return pairs;
}
