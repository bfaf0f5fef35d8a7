// After quiescence: what each CRM holds against what the mutation log and the configured
// strategy (last-modified-wins, tombstone deletes) dictate, duplicates, and the writes the sync made per mutation.
import type { ApiRequestRecord, Sandbox } from '../../../sandbox';
import { CRMS, contactsIn, type ContactValues, type Crm, type StoredContact } from './crms';
import type { Mutation } from './load';

export type MismatchKind =
	| 'missing' // the contact should exist here but does not
	| 'not deleted' // the newest mutation deleted it, yet it is live here
	| 'lost update' // holds the values of an older mutation of this contact
	| 'diverged' // concurrent edits: the CRMs did not converge on one of the two values
	| 'unknown values'; // holds values no mutation wrote

export interface Mismatch {
	kind: MismatchKind;
	email: string;
	crm: Crm;
	/** The newest mutation: what it was and where it happened. */
	scenario: string;
	expected: string;
	actual: string;
}

export interface CheckResult {
	contacts: number;
	mismatches: Mismatch[];
	duplicates: Array<{ crm: Crm; email: string; ids: string[] }>;
	/** Contacts whose five CRMs agree on a field-by-field mix of edits that tied (see check). */
	fieldMixes: string[];
	writes: Record<Crm, number>;
	requests: Record<Crm, { total: number; faults: Record<string, number> }>;
}

/** Last-modified-wins takes changes this close as simultaneous (the resolver's default clock-skew tolerance). */
const TIE_MS = 1000;

const show = (v?: ContactValues) => (v ? `${v.firstName} ${v.lastName} ${v.phone}` : 'absent');
const FIELDS = ['firstName', 'lastName', 'phone'] as const;
const same = (a: ContactValues, b: StoredContact) => FIELDS.every((f) => a[f] === b[f]);

/** API requests that change data: anything but reads, searches and token calls, answered 2xx. */
export function isWrite(request: ApiRequestRecord): boolean {
	if (request.method === 'GET' || request.status === undefined || request.status >= 300) return false;
	return !/\/search$|\/query|token|\/oauth|\/WhoAmI/i.test(request.path);
}

export function check(sandbox: Sandbox, log: Mutation[]): CheckResult {
	const byEmail = new Map<string, Mutation[]>();
	for (const m of log) byEmail.set(m.email, [...(byEmail.get(m.email) ?? []), m]);
	const held = Object.fromEntries(CRMS.map((crm) => [crm, contactsIn(sandbox, crm)])) as Record<Crm, StoredContact[]>;

	const mismatches: Mismatch[] = [];
	const fieldMixes: string[] = [];
	for (const [email, history] of byEmail) {
		history.sort((a, b) => a.doneAt - b.doneAt || a.seq - b.seq);
		const newest = history[history.length - 1];
		const pair = newest.concurrentPair === undefined ? [] : history.filter((m) => m.concurrentPair === newest.concurrentPair);
		const scenario = pair.length === 2
			? `concurrent updates in ${pair[0].crm} and ${pair[1].crm}`
			: `${newest.kind} in ${newest.crm}`;
		const found = Object.fromEntries(CRMS.map((crm) => [crm, held[crm].find((c) => c.email === email)])) as Record<Crm, StoredContact | undefined>;

		// The delete policy is tombstone: once deleted (since its last create), a contact stays deleted,
		// even when a CRM the delete had not reached yet was edited afterwards.
		const lastCreate = history.map((m) => m.kind).lastIndexOf('create');
		if (history.slice(lastCreate + 1).some((m) => m.kind === 'delete')) {
			for (const crm of CRMS) if (found[crm]) mismatches.push({ kind: 'not deleted', email, crm, scenario, expected: 'absent', actual: show(found[crm]) });
			continue;
		}
		// Last-modified-wins: the newest mutation's values; for a concurrent pair, or edits within the
		// clock-skew tolerance of the newest, any of them may win, but all five must agree on one.
		// Pipedrive's change times have whole seconds, so its edits can look up to 1 s older.
		const ties = history.filter((m) => m !== newest && m.kind !== 'delete' && newest.doneAt - m.doneAt < TIE_MS + (m.crm === 'pipedrive' || newest.crm === 'pipedrive' ? 1000 : 0));
		const candidates = [...new Set([newest, ...pair, ...ties])].map((m) => m.values!);
		const agreed = candidates.find((v) => CRMS.every((crm) => found[crm] && same(v, found[crm]!)));
		if (agreed) continue;
		// The resolver merges field by field: a field an edit set to the value it already had is not a
		// change there, so a tied edit can win some fields and lose others. Such a mix is what the
		// strategy dictates, provided every field holds one of the tied edits' values and all five agree.
		const first = found[CRMS[0]];
		if (first && candidates.length > 1 && CRMS.every((crm) => found[crm] && FIELDS.every((f) => found[crm]![f] === first[f]))
			&& FIELDS.every((f) => candidates.some((v) => v[f] === first[f]))) {
			fieldMixes.push(email);
			continue;
		}
		const expected = candidates.map(show).join(' or ');
		for (const crm of CRMS) {
			const actual = found[crm];
			if (!actual) {
				mismatches.push({ kind: 'missing', email, crm, scenario, expected, actual: 'absent' });
				continue;
			}
			if (candidates.some((v) => same(v, actual))) {
				if (candidates.length > 1) mismatches.push({ kind: 'diverged', email, crm, scenario, expected: `all five equal: ${expected}`, actual: show(actual) });
				continue;
			}
			const older = history.some((m) => m.values && same(m.values, actual));
			mismatches.push({ kind: older ? 'lost update' : 'unknown values', email, crm, scenario, expected, actual: show(actual) });
		}
	}

	const duplicates: CheckResult['duplicates'] = [];
	for (const crm of CRMS) {
		const ids = new Map<string, string[]>();
		for (const c of held[crm]) if (byEmail.has(c.email)) ids.set(c.email, [...(ids.get(c.email) ?? []), c.id]);
		for (const [email, list] of ids) if (list.length > 1) duplicates.push({ crm, email, ids: list });
	}

	const writes = {} as CheckResult['writes'];
	const requests = {} as CheckResult['requests'];
	for (const crm of CRMS) {
		const all = sandbox.emulators[crm]!.requests();
		writes[crm] = all.filter(isWrite).length;
		const faults: Record<string, number> = {};
		for (const r of all) if (r.fault) faults[r.fault] = (faults[r.fault] ?? 0) + 1;
		requests[crm] = { total: all.length, faults };
	}
	return { contacts: byEmail.size, mismatches, fieldMixes, duplicates, writes, requests };
}

/** A short account of the mismatches: counts per kind, per CRM and per scenario, and examples. */
export function describeMismatches(mismatches: Mismatch[], examples = 12): string {
	const count = (key: (m: Mismatch) => string) => {
		const counts = new Map<string, number>();
		for (const m of mismatches) counts.set(key(m), (counts.get(key(m)) ?? 0) + 1);
		return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
	};
	return [
		`by kind: ${count((m) => m.kind)}`,
		`by CRM: ${count((m) => m.crm)}`,
		`by scenario (newest mutation): ${count((m) => m.scenario.replace(/ in .*/, ` in ${m.scenario.split(' in ')[1]}`))}`,
		...mismatches.slice(0, examples).map((m) => `  ${m.kind} | ${m.email} | ${m.crm} | after ${m.scenario} | expected ${m.expected} | actual ${m.actual}`),
	].join('\n');
}
