// After quiescence: what each CRM holds of the graph (accounts, contacts, deals and their links)
// against what the graph load's log and last-modified-wins (tombstone deletes) dictate.
//
// Expected, per record and field, the newest mutation's value (edits within the resolver's
// clock-skew tolerance of the newest may win instead, as in the contact checker; all five CRMs
// must then agree on one of them):
// - account (by domain): one live account per CRM with the expected name; a deleted one: none.
// - contact (by e-mail): one live contact per CRM with the created names, linked to that CRM's own
//   record of the expected account. Not checked: HubSpot's link (an association the maps do not
//   write, README "Accounts"), and the link of a contact whose account was deleted (it points at
//   the deleted record in every sandbox CRM; none of them cascades).
// - contacts of a deleted account stay live in every CRM: deleting a company deletes no person in
//   any sandbox CRM (real Salesforce and Dynamics would cascade, the sandbox does not) and the sync
//   only carries the account's delete.
// - deal (by name): one live deal per CRM with its amount, the expected outcome (open, won, lost)
//   and, while open, the expected open stage (negotiation or not: each CRM's own negotiation stage
//   is unambiguous; the earlier open stages map to each other less clearly); linked to that CRM's
//   record of its account (not HubSpot; none when created in HubSpot; not checked once the account
//   was deleted).
// - duplicates: a domain, e-mail or deal name live more than once in one CRM.
import type { Sandbox } from '../../../sandbox';
import { isWrite } from './checker';
import { CRMS, accountsIn, contactsIn, dealsIn, outcomeOf, type Crm, type DealStage, type StoredAccount, type StoredContact, type StoredDeal } from './graph-crms';
import type { GraphEntity, GraphMutation } from './graph-load';

export type GraphMismatchKind =
	| 'missing' // should be live here, is not
	| 'not deleted' // the account was deleted, yet it is live here
	| 'lost update' // holds an older mutation's value
	| 'unknown values' // holds a value no mutation wrote
	| 'diverged' // tied edits: the CRMs do not agree on one
	| 'wrong account' // linked to another account (or none) than expected
	| 'wrong stage'; // the right outcome, another open stage than expected

export interface GraphMismatch {
	kind: GraphMismatchKind;
	entity: GraphEntity;
	key: string;
	crm: Crm;
	field: string;
	/** The newest mutation of the record: what and where. */
	scenario: string;
	expected: string;
	actual: string;
}

export interface GraphDuplicate {
	entity: GraphEntity;
	crm: Crm;
	key: string;
	ids: string[];
}

export interface GraphCheckResult {
	records: Record<GraphEntity, number>;
	mismatches: GraphMismatch[];
	duplicates: GraphDuplicate[];
	writes: Record<Crm, number>;
	requests: Record<Crm, { total: number; faults: Record<string, number> }>;
}

/** Last-modified-wins takes changes this close as simultaneous (the resolver's default clock-skew tolerance); Pipedrive's times have whole seconds. */
const TIE_MS = 1000;

/** The values of `field` the newest mutations setting it may leave (the newest and its ties), and every value it ever had. */
function expectedValues<T>(history: GraphMutation[], value: (m: GraphMutation) => T | undefined): { candidates: T[]; older: T[]; newest?: GraphMutation } {
	const setting = history.filter((m) => value(m) !== undefined);
	if (!setting.length) return { candidates: [], older: [] };
	const newest = setting[setting.length - 1];
	const ties = setting.filter((m) => m !== newest && newest.doneAt - m.doneAt < TIE_MS + (m.crm === 'pipedrive' || newest.crm === 'pipedrive' ? 1000 : 0));
	const candidates = [...new Set([newest, ...ties].map((m) => value(m)!))];
	return { candidates, older: setting.map((m) => value(m)!).filter((v) => !candidates.includes(v)), newest };
}

const scenarioOf = (m: GraphMutation) => `${m.entity} ${m.kind} in ${m.crm}`;

export function checkGraph(sandbox: Sandbox, log: GraphMutation[]): GraphCheckResult {
	const held = {
		account: Object.fromEntries(CRMS.map((crm) => [crm, accountsIn(sandbox, crm)])) as Record<Crm, StoredAccount[]>,
		contact: Object.fromEntries(CRMS.map((crm) => [crm, contactsIn(sandbox, crm)])) as Record<Crm, StoredContact[]>,
		deal: Object.fromEntries(CRMS.map((crm) => [crm, dealsIn(sandbox, crm)])) as Record<Crm, StoredDeal[]>,
	};
	const keyOf = { account: (r: StoredAccount) => r.domain ?? '', contact: (r: StoredContact) => r.email, deal: (r: StoredDeal) => r.name };
	const histories = new Map<string, GraphMutation[]>();
	for (const m of [...log].sort((a, b) => a.doneAt - b.doneAt || a.seq - b.seq)) histories.set(`${m.entity}:${m.key}`, [...(histories.get(`${m.entity}:${m.key}`) ?? []), m]);
	const deletedAccounts = new Set(log.filter((m) => m.entity === 'account' && m.kind === 'delete').map((m) => m.key));
	/** The domain of the live account a CRM's link points at ('none'; a dead or unknown id as such). */
	const domainOf = (crm: Crm, id: string) => (id ? (held.account[crm].find((a) => a.id === id)?.domain ?? `${id} (not a live account)`) : 'none');

	const mismatches: GraphMismatch[] = [];
	const records = { account: 0, contact: 0, deal: 0 };
	for (const [, history] of histories) {
		const { entity, key } = history[0];
		const newest = history[history.length - 1];
		const scenario = scenarioOf(newest);
		records[entity]++;
		const push = (crm: Crm, kind: GraphMismatchKind, field: string, expected: string, actual: string) => mismatches.push({ kind, entity, key, crm, field, scenario, expected, actual });
		const found = Object.fromEntries(CRMS.map((crm) => [crm, (held[entity][crm] as Array<StoredAccount | StoredContact | StoredDeal>).find((r) => keyOf[entity](r as never) === key)])) as Record<Crm, StoredAccount | StoredContact | StoredDeal | undefined>;

		if (entity === 'account' && deletedAccounts.has(key)) {
			for (const crm of CRMS) if (found[crm]) push(crm, 'not deleted', 'record', 'absent', `live ${(found[crm] as StoredAccount).name}`);
			continue;
		}
		const missing = CRMS.filter((crm) => !found[crm]);
		for (const crm of missing) push(crm, 'missing', 'record', 'live', 'absent');
		const present = CRMS.filter((crm) => found[crm]);

		/** One field: each CRM's value must be a candidate, and all CRMs the same one. */
		const field = (name: string, value: (m: GraphMutation) => string | undefined, actualOf: (crm: Crm) => string | undefined, crms: Crm[] = present, kind: GraphMismatchKind | undefined = undefined) => {
			const { candidates, older } = expectedValues(history, value);
			if (!candidates.length) return;
			const actual = Object.fromEntries(crms.map((crm) => [crm, actualOf(crm) ?? ''])) as Record<Crm, string>;
			const agreed = candidates.find((c) => crms.every((crm) => actual[crm] === c));
			if (agreed !== undefined) return;
			for (const crm of crms) {
				if (candidates.includes(actual[crm])) {
					if (candidates.length > 1) push(crm, 'diverged', name, `all equal: ${candidates.join(' or ')}`, actual[crm]);
					continue;
				}
				push(crm, kind ?? (older.includes(actual[crm]) ? 'lost update' : 'unknown values'), name, candidates.join(' or '), actual[crm]);
			}
		};

		if (entity === 'account') {
			field('name', (m) => m.name, (crm) => (found[crm] as StoredAccount).name);
		} else if (entity === 'contact') {
			field('firstName', (m) => m.firstName, (crm) => (found[crm] as StoredContact).firstName);
			field('lastName', (m) => m.lastName, (crm) => (found[crm] as StoredContact).lastName);
			const { candidates } = expectedValues(history, (m) => m.account);
			if (!candidates.some((d) => deletedAccounts.has(d))) {
				// Compared as domains: each CRM's link must be its own live record of the expected account.
				const linking = present.filter((crm) => crm !== 'hubspot');
				field('account', (m) => m.account, (crm) => {
					return domainOf(crm, (found[crm] as StoredContact).accountId);
				}, linking, 'wrong account');
			}
		} else {
			const created = history.find((m) => m.kind === 'create')!;
			field('amount', (m) => (m.amount === undefined ? undefined : String(m.amount)), (crm) => String((found[crm] as StoredDeal).amount));
			const stageOf = (crm: Crm): string => {
				const d = found[crm] as StoredDeal;
				return d.outcome !== 'open' ? d.outcome : d.negotiation ? 'negotiation' : 'open, not negotiation';
			};
			const asChecked = (s: DealStage) => (outcomeOf(s) !== 'open' ? s : s === 'negotiation' ? 'negotiation' : 'open, not negotiation');
			const { candidates } = expectedValues(history, (m) => (m.stage ? asChecked(m.stage) : undefined));
			const outcomeWrong = (crm: Crm) => !candidates.some((c) => (c === 'won' || c === 'lost' ? c : 'open') === (found[crm] as StoredDeal).outcome);
			// The outcome first (won, lost, open); an open deal at another open stage is a 'wrong stage'.
			field('stage', (m) => (m.stage ? asChecked(m.stage) : undefined), stageOf, present.filter(outcomeWrong));
			field('stage', (m) => (m.stage ? asChecked(m.stage) : undefined), stageOf, present.filter((crm) => !outcomeWrong(crm)), 'wrong stage');
			if (!(created.account && deletedAccounts.has(created.account))) {
				const linking = present.filter((crm) => crm !== 'hubspot');
				field('account', (m) => (m.kind === 'create' ? (m.account ?? 'none') : undefined), (crm) => {
					return domainOf(crm, (found[crm] as StoredDeal).accountId);
				}, linking, 'wrong account');
			}
		}
	}

	const duplicates: GraphDuplicate[] = [];
	const keys = new Set(histories.keys());
	for (const entity of ['account', 'contact', 'deal'] as const) {
		for (const crm of CRMS) {
			const ids = new Map<string, string[]>();
			for (const r of held[entity][crm] as Array<StoredAccount | StoredContact | StoredDeal>) {
				const key = keyOf[entity](r as never);
				if (keys.has(`${entity}:${key}`)) ids.set(key, [...(ids.get(key) ?? []), r.id]);
			}
			for (const [key, list] of ids) if (list.length > 1) duplicates.push({ entity, crm, key, ids: list });
		}
	}

	const writes = {} as GraphCheckResult['writes'];
	const requests = {} as GraphCheckResult['requests'];
	for (const crm of CRMS) {
		const all = sandbox.emulators[crm]!.requests();
		writes[crm] = all.filter(isWrite).length;
		const faults: Record<string, number> = {};
		for (const r of all) if (r.fault) faults[r.fault] = (faults[r.fault] ?? 0) + 1;
		requests[crm] = { total: all.length, faults };
	}
	return { records, mismatches, duplicates, writes, requests };
}

/** Counts per kind, entity and field, per CRM, per scenario, and examples. */
export function describeGraphMismatches(mismatches: GraphMismatch[], examples = 20): string {
	const count = (key: (m: GraphMismatch) => string) => {
		const counts = new Map<string, number>();
		for (const m of mismatches) counts.set(key(m), (counts.get(key(m)) ?? 0) + 1);
		return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
	};
	return [
		`by kind: ${count((m) => `${m.entity} ${m.field} ${m.kind}`)}`,
		`by CRM: ${count((m) => m.crm)}`,
		`by scenario (newest mutation of the record): ${count((m) => m.scenario)}`,
		...mismatches.slice(0, examples).map((m) => `  ${m.kind} | ${m.entity} ${m.key} | ${m.crm} | ${m.field} | after ${m.scenario} | expected ${m.expected} | actual ${m.actual}`),
	].join('\n');
}
