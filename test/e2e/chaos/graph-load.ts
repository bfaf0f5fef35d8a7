// Graph chaos load: random, seeded changes to accounts, contacts and deals across the five sandbox
// CRMs, made as a person in each CRM's UI would (each CRM sends its own webhooks). Every mutation
// is logged for the graph checker.
//
// - account create (a unique website domain, the key) in any CRM; name edit where it is live;
//   delete of an account that has contacts, in a CRM where it is live (a person deletes the
//   company; none of the sandbox CRMs deletes or unlinks its contacts or deals then).
// - contact create linked to an account (that CRM's own id of it) and re-parenting to another
//   account, in Salesforce, Pipedrive, Zoho or Dynamics. Not HubSpot: its contact–company link is
//   an association the maps do not write (README "Accounts"). Contacts are linked only to accounts
//   that have reached all five CRMs: contact-sync drops a reference a target does not hold yet
//   (Missing References: drop, no Wait loop), so a fresh account would be a known, designed gap.
// - deal create linked to an account live in its CRM (HubSpot: no link, an association), stage
//   changes between the open stages qualification and negotiation, won, lost (won and lost are final).
// Contacts and deals of a deleted account are not changed any more.
import type { Sandbox } from '../../../sandbox';
import { Prng } from '../../../sandbox/common/prng';
import {
	CRMS, LINKING_CRMS, accountsIn, contactsIn, dealsIn, uiCreateAccount, uiCreateContact, uiCreateDeal, uiDeleteAccount, uiRenameAccount, uiReparentContact, uiSetDealStage,
	type Crm, type DealStage,
} from './graph-crms';

export type GraphEntity = 'account' | 'contact' | 'deal';
export type GraphMutationKind = 'create' | 'rename' | 'delete' | 'reparent' | 'stage';

export interface GraphMutation {
	seq: number;
	entity: GraphEntity;
	kind: GraphMutationKind;
	crm: Crm;
	/** The record's key: the account's domain, the contact's e-mail, the deal's name. */
	key: string;
	/** The record changed (not on create). */
	id?: string;
	/** Account: its name. */
	name?: string;
	/** Contact: its account's domain; deal: its account's domain (create; none from HubSpot). */
	account?: string;
	firstName?: string;
	lastName?: string;
	/** Deal: its stage after the mutation, and its amount (create). */
	stage?: DealStage;
	amount?: number;
	/** When the CRM accepted it (ms since epoch). */
	doneAt: number;
}

export interface GraphLoadOptions {
	mutations: number;
	seed?: number;
	parallel?: number;
	pauseMs?: number;
}

const COMPANY = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent', 'Wonka', 'Vandelay'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lee'];

export async function runGraphLoad(sandbox: Sandbox, options: GraphLoadOptions): Promise<GraphMutation[]> {
	const prng = new Prng(options.seed ?? 7);
	const run = prng.hex(4);
	const log: GraphMutation[] = [];
	const busy = new Set<string>();
	const deleted = new Set<string>();
	/** Expected state the load needs to choose its next mutation (the checker recomputes it from the log). */
	const contactAccount = new Map<string, string>();
	const dealAccount = new Map<string, string | undefined>();
	const dealStage = new Map<string, DealStage>();
	const accounts: string[] = [];
	let issued = 0;
	let version = 0;
	/** Keys are numbered when a mutation is chosen (lanes run at the same time). */
	const next = { account: 0, contact: 0, deal: 0 };

	const record = (m: Omit<GraphMutation, 'seq' | 'doneAt'>) => log.push({ ...m, seq: log.length + 1, doneAt: Date.now() });
	const accountIdIn = (crm: Crm, domain: string) => accountsIn(sandbox, crm).find((a) => a.domain === domain)?.id;
	const liveAccounts = () => accounts.filter((d) => !deleted.has(d) && !busy.has(d));
	const everywhere = (domain: string) => CRMS.every((crm) => accountIdIn(crm, domain) !== undefined);
	const accountName = (i: number) => `${prng.pick(COMPANY)} Graph ${i} v${++version}`;

	async function createAccount(): Promise<void> {
		const i = next.account++;
		const domain = `g${i}-${run}.chaos-graph.example`;
		const crm = prng.pick(CRMS);
		const name = accountName(i);
		busy.add(domain);
		issued++;
		try {
			await uiCreateAccount(sandbox, crm, name, `https://www.${domain}/home`);
			accounts.push(domain);
			record({ entity: 'account', kind: 'create', crm, key: domain, name });
		} finally {
			busy.delete(domain);
		}
	}

	/** One mutation of the kinds that are possible now; false if none is. */
	async function mutateOne(): Promise<boolean> {
		const candidates = liveAccounts();
		const roll = prng.next();
		if (candidates.length < 3 || roll < 0.15) {
			await createAccount();
			return true;
		}
		if (roll < 0.3) {
			// Rename an account where it is live.
			const domain = prng.pick(candidates);
			const holders = CRMS.filter((crm) => accountIdIn(crm, domain));
			if (!holders.length) return false;
			const crm = prng.pick(holders);
			const name = accountName(Number(/^g(\d+)-/.exec(domain)![1]));
			busy.add(domain);
			issued++;
			try {
				await uiRenameAccount(sandbox, crm, accountIdIn(crm, domain)!, name);
				record({ entity: 'account', kind: 'rename', crm, key: domain, id: accountIdIn(crm, domain), name });
			} finally {
				busy.delete(domain);
			}
			return true;
		}
		if (roll < 0.5) {
			// A contact created in one of the linking CRMs, linked to an account every CRM has.
			const ready = candidates.filter(everywhere);
			if (!ready.length) return false;
			const domain = prng.pick(ready);
			const crm = prng.pick(LINKING_CRMS);
			const email = `graph.${next.contact++}.${run}@people.chaos-graph.example`;
			const firstName = prng.pick(FIRST);
			const lastName = `${prng.pick(LAST)}${++version}`;
			busy.add(domain).add(email);
			issued++;
			try {
				await uiCreateContact(sandbox, crm, { email, firstName, lastName }, accountIdIn(crm, domain)!);
				contactAccount.set(email, domain);
				record({ entity: 'contact', kind: 'create', crm, key: email, account: domain, firstName, lastName });
			} finally {
				busy.delete(domain);
				busy.delete(email);
			}
			return true;
		}
		if (roll < 0.62) {
			// Re-parent a contact (whose account still exists) to another account every CRM has.
			const movable = [...contactAccount].filter(([email, domain]) => !busy.has(email) && !deleted.has(domain));
			const ready = candidates.filter(everywhere);
			if (!movable.length || ready.length < 2) return false;
			const [email, from] = prng.pick(movable);
			const to = prng.pick(ready.filter((d) => d !== from));
			if (!to) return false;
			const holders = LINKING_CRMS.filter((crm) => contactsIn(sandbox, crm).some((c) => c.email === email));
			if (!holders.length) return false;
			const crm = prng.pick(holders);
			const id = contactsIn(sandbox, crm).find((c) => c.email === email)!.id;
			busy.add(email).add(to).add(from);
			issued++;
			try {
				await uiReparentContact(sandbox, crm, id, accountIdIn(crm, to)!);
				contactAccount.set(email, to);
				record({ entity: 'contact', kind: 'reparent', crm, key: email, id, account: to });
			} finally {
				busy.delete(email);
				busy.delete(to);
				busy.delete(from);
			}
			return true;
		}
		if (roll < 0.74) {
			// A deal created where its account is live (HubSpot: without a link).
			const crm = prng.pick(CRMS);
			const linkable = candidates.filter((d) => accountIdIn(crm, d));
			if (crm !== 'hubspot' && !linkable.length) return false;
			const domain = crm === 'hubspot' ? undefined : prng.pick(linkable);
			const name = `Graph deal ${next.deal++} ${run}`;
			const amount = prng.int(1000, 9999);
			const stage = prng.next() < 0.5 ? 'qualification' : 'negotiation';
			if (domain) busy.add(domain);
			busy.add(name);
			issued++;
			try {
				await uiCreateDeal(sandbox, crm, { name, amount, stage }, domain ? accountIdIn(crm, domain) : undefined);
				dealStage.set(name, stage);
				dealAccount.set(name, domain);
				record({ entity: 'deal', kind: 'create', crm, key: name, account: domain, stage, amount });
			} finally {
				if (domain) busy.delete(domain);
				busy.delete(name);
			}
			return true;
		}
		if (roll < 0.94) {
			// A stage change of an open deal (whose account still exists) where it is live.
			const open = [...dealStage].filter(([name, stage]) => (stage === 'qualification' || stage === 'negotiation') && !busy.has(name) && !deleted.has(dealAccount.get(name) ?? ''));
			if (!open.length) return false;
			const [name, current] = prng.pick(open);
			const holders = CRMS.filter((crm) => dealsIn(sandbox, crm).some((d) => d.name === name && d.outcome === 'open'));
			if (!holders.length) return false;
			const crm = prng.pick(holders);
			const id = dealsIn(sandbox, crm).find((d) => d.name === name)!.id;
			const r = prng.next();
			const stage: DealStage = r < 0.5 ? (current === 'qualification' ? 'negotiation' : 'qualification') : r < 0.75 ? 'won' : 'lost';
			busy.add(name);
			issued++;
			try {
				await uiSetDealStage(sandbox, crm, id, stage);
				dealStage.set(name, stage);
				record({ entity: 'deal', kind: 'stage', crm, key: name, id, stage });
			} finally {
				busy.delete(name);
			}
			return true;
		}
		// Delete an account that has contacts, where it is live.
		const withContacts = candidates.filter((d) => [...contactAccount].some(([email, a]) => a === d && !busy.has(email)));
		if (!withContacts.length || deleted.size >= Math.max(1, Math.ceil(options.mutations / 20))) return false;
		const domain = prng.pick(withContacts);
		const holders = CRMS.filter((crm) => accountIdIn(crm, domain));
		if (!holders.length) return false;
		const crm = prng.pick(holders);
		const id = accountIdIn(crm, domain)!;
		busy.add(domain);
		deleted.add(domain);
		issued++;
		try {
			await uiDeleteAccount(sandbox, crm, id);
			record({ entity: 'account', kind: 'delete', crm, key: domain, id });
		} finally {
			busy.delete(domain);
		}
		return true;
	}

	async function lane(): Promise<void> {
		let idle = 0;
		while (issued < options.mutations) {
			const done = await mutateOne();
			idle = done ? 0 : idle + 1;
			// Nothing possible yet (accounts still on their way to the other CRMs): wait a little.
			await new Promise((r) => setTimeout(r, done ? (options.pauseMs ?? 500) : Math.min(2000, 100 * idle)));
		}
	}
	await Promise.all(Array.from({ length: options.parallel ?? 3 }, () => lane()));
	return log;
}
