// Chaos load: random creates, updates and deletes of contacts across the five sandbox CRMs, made
// as a person in each CRM's UI would (so each CRM sends its own signed webhooks), including
// concurrent edits of one contact in two CRMs. Every mutation is logged for the checker.
import type { Sandbox } from '../../../sandbox';
import { Prng } from '../../../sandbox/common/prng';
import { CRMS, contactsIn, uiCreate, uiDelete, uiUpdate, type ContactValues, type Crm } from './crms';

export type MutationKind = 'create' | 'update' | 'delete';

export interface Mutation {
	seq: number;
	kind: MutationKind;
	crm: Crm;
	email: string;
	/** The values written (create, update); undefined for a delete. */
	values?: ContactValues;
	/** The CRM record changed (update, delete). */
	id?: string;
	/** Both edits of one concurrent pair share this number. */
	concurrentPair?: number;
	/** When the CRM accepted it (ms since epoch). */
	doneAt: number;
}

export interface LoadOptions {
	mutations: number;
	seed?: number;
	/** Contacts mutated at the same time (each contact's own mutations stay in order). */
	parallel?: number;
	/** Pause of each parallel lane between mutations, so the sync works while the load goes on. */
	pauseMs?: number;
	/** Shares of deletes and of concurrent two-CRM edits among mutations of existing contacts. */
	deleteShare?: number;
	concurrentShare?: number;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim', 'Hedy', 'Claude'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lee', 'Lamarr', 'Shannon'];

/** Runs the load and returns the mutation log, ordered per contact by when each CRM accepted it. */
export async function runLoad(sandbox: Sandbox, options: LoadOptions): Promise<Mutation[]> {
	const prng = new Prng(options.seed ?? 7);
	const parallel = options.parallel ?? 4;
	const contactCount = Math.max(parallel * 2, Math.ceil(options.mutations / 6));
	const emails = Array.from({ length: contactCount }, (_, i) => `chaos.${i}.${prng.hex(4)}@chaos.example`);
	const created = new Set<string>();
	const busy = new Set<string>();
	const log: Mutation[] = [];
	let issued = 0;
	let pairs = 0;
	let version = 0;

	const values = (email: string): ContactValues => {
		version++;
		return { email, firstName: prng.pick(FIRST), lastName: `${prng.pick(LAST)}${version}`, phone: `+1415${String(5_000_000 + version).padStart(7, '0')}` };
	};
	/** Where the contact is live right now, with its id there. */
	const holders = (email: string): Array<[Crm, string]> =>
		CRMS.flatMap((crm): Array<[Crm, string]> => {
			const found = contactsIn(sandbox, crm).filter((c) => c.email === email);
			return found.length ? [[crm, found[0].id]] : [];
		});
	const record = (m: Omit<Mutation, 'seq' | 'doneAt'>) => log.push({ ...m, seq: log.length + 1, doneAt: Date.now() });

	async function mutateOne(email: string): Promise<void> {
		const live = created.has(email) ? holders(email) : [];
		if (live.length === 0) {
			// Never created, or deleted everywhere: a person creates it (again) somewhere.
			const crm = prng.pick(CRMS);
			const v = values(email);
			issued++;
			await uiCreate(sandbox, crm, v);
			created.add(email);
			record({ kind: 'create', crm, email, values: v });
			return;
		}
		const roll = prng.next();
		if (roll < (options.deleteShare ?? 0.1)) {
			const [crm, id] = prng.pick(live);
			issued++;
			await uiDelete(sandbox, crm, id);
			record({ kind: 'delete', crm, email, id });
			return;
		}
		if (live.length >= 2 && roll < (options.deleteShare ?? 0.1) + (options.concurrentShare ?? 0.15) && issued + 2 <= options.mutations) {
			// Two people edit the same contact in two CRMs at the same moment.
			const first = prng.pick(live);
			const second = prng.pick(live.filter(([crm]) => crm !== first[0]));
			const pair = ++pairs;
			const [a, b] = [values(email), values(email)];
			issued += 2;
			await Promise.all([
				uiUpdate(sandbox, first[0], first[1], a).then(() => record({ kind: 'update', crm: first[0], email, values: a, id: first[1], concurrentPair: pair })),
				uiUpdate(sandbox, second[0], second[1], b).then(() => record({ kind: 'update', crm: second[0], email, values: b, id: second[1], concurrentPair: pair })),
			]);
			return;
		}
		const [crm, id] = prng.pick(live);
		const v = values(email);
		issued++;
		await uiUpdate(sandbox, crm, id, v);
		record({ kind: 'update', crm, email, values: v, id });
	}

	async function lane(): Promise<void> {
		while (issued < options.mutations) {
			const free = emails.filter((e) => !busy.has(e));
			const email = prng.pick(free);
			busy.add(email);
			try {
				await mutateOne(email);
			} finally {
				busy.delete(email);
			}
			await new Promise((r) => setTimeout(r, options.pauseMs ?? 100));
		}
	}
	await Promise.all(Array.from({ length: parallel }, () => lane()));
	return log;
}
