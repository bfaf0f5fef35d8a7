// What happened to the records the graph checker found wrong (CHAOS_GRAPH_TRACE=<file>): their
// mutations, their ids in each CRM, the synced state's cross-references, snapshot and audit trail
// (with values: the test turns on the Conflict Resolvers' "Audit Field Values"), the webhooks each
// CRM sent about them, the API requests that touched them and the n8n executions that carried
// them (each node's items per output, the error items). For diagnosis; the test does not read it.
import { writeFileSync } from 'node:fs';

import type { Sandbox } from '../../../sandbox';
import { openStateStore, type StateStoreConfig } from '../../../lib/state';
import { CRMS, accountsIn, contactsIn, dealsIn, type Crm } from './graph-crms';
import type { GraphMismatch } from './graph-checker';
import type { GraphEntity, GraphMutation } from './graph-load';

type Row = Record<string, unknown>;
export type RunData = Record<string, Array<{ startTime?: number; error?: { message: string }; data?: { main: Array<Array<{ json: Row }> | null> } }>>;
export interface ExecutionRecord {
	workflowId: string;
	id: string;
	status: string;
	startedAt?: string;
	runData: RunData;
}

const STATE_ENTITY: Record<GraphEntity, 'account' | 'contact' | 'opportunity'> = { account: 'account', contact: 'contact', deal: 'opportunity' };

/** One execution in short: each node's runs (items per output, error), the error items. */
function summarise(e: ExecutionRecord, needles: string[]): Row {
	const nodes = Object.entries(e.runData).map(([name, runs]) => `${name}[${runs.map((run) => (run.error ? `ERROR ${run.error.message}` : (run.data?.main ?? []).map((out) => out?.length ?? 0).join('/'))).join(' ')}]`);
	const items = Object.entries(e.runData).flatMap(([name, runs]) =>
		runs.flatMap((run, r) => (run.data?.main ?? []).flatMap((out, o) => (out ?? []).filter((item) => needles.some((n) => JSON.stringify(item.json).includes(n))).map((item) => ({ node: name, run: r, output: o, json: JSON.stringify(item.json).slice(0, 2500) })))),
	);
	return { workflowId: e.workflowId, id: e.id, status: e.status, startedAt: e.startedAt, nodes: nodes.join(', '), items };
}

export async function writeGraphTrace(file: string, sandbox: Sandbox, storeConfig: StateStoreConfig, log: GraphMutation[], mismatches: GraphMismatch[], executions: ExecutionRecord[], records = 10): Promise<void> {
	const store = await openStateStore(storeConfig);
	try {
		const audit = await store.listAudit({ limit: 1_000_000 });
		const wrong = [...new Map(mismatches.map((m) => [`${m.entity}:${m.key}`, m])).values()].slice(0, records);
		const traces = [];
		for (const { entity, key } of wrong) {
			const held = (crm: Crm) => (entity === 'account' ? accountsIn(sandbox, crm).filter((r) => r.domain === key) : entity === 'contact' ? contactsIn(sandbox, crm).filter((r) => r.email === key) : dealsIn(sandbox, crm).filter((r) => r.name === key));
			const changed = (crm: Crm) => log.filter((m) => m.entity === entity && m.key === key && m.crm === crm && m.id).map((m) => m.id!);
			const ids = Object.fromEntries(CRMS.map((crm) => [crm, [...new Set([...held(crm).map((r) => r.id), ...changed(crm)])]])) as Record<Crm, string[]>;
			const unifiedIds = new Set<string>();
			for (const crm of CRMS) for (const id of ids[crm]) {
				const linked = await store.findUnifiedId(STATE_ENTITY[entity], crm, id);
				if (linked) unifiedIds.add(linked);
			}
			for (const id of unifiedIds) {
				const refs = (await store.getCrossRefs(STATE_ENTITY[entity], [id])).get(id)?.ids ?? {};
				for (const crm of CRMS) if (refs[crm] && !ids[crm].includes(String(refs[crm]))) ids[crm].push(String(refs[crm]));
			}
			const needles = [key, ...CRMS.flatMap((crm) => ids[crm]).filter((id) => id.length > 2)];
			const mentions = (crm: Crm, text: string) => text.includes(key) || ids[crm].some((id) => id.length > 2 && text.includes(id));
			traces.push({
				entity,
				key,
				mismatches: mismatches.filter((m) => m.entity === entity && m.key === key),
				mutations: log.filter((m) => m.entity === entity && m.key === key),
				ids,
				held: Object.fromEntries(CRMS.map((crm) => [crm, held(crm)])),
				state: await Promise.all([...unifiedIds].map(async (id) => ({
					unifiedId: id,
					ids: (await store.getCrossRefs(STATE_ENTITY[entity], [id])).get(id)?.ids,
					snapshot: await store.getSnapshot(STATE_ENTITY[entity], id),
				}))),
				audit: audit.filter((a) => a.unifiedId !== undefined && unifiedIds.has(a.unifiedId)).sort((a, b) => a.seq - b.seq),
				webhooks: CRMS.flatMap((crm) =>
					sandbox.emulators[crm]!.deliveries()
						.filter((d) => mentions(crm, d.body))
						.map((d) => ({ crm, sentAt: new Date(d.sentAt).toISOString(), deliveryId: d.deliveryId, attempt: d.attempt, duplicate: d.duplicate, status: d.status, ok: d.ok, answer: (d.responseBody ?? d.error ?? '').slice(0, 600), body: d.body.slice(0, 1500) })),
				).sort((a, b) => a.sentAt.localeCompare(b.sentAt)),
				requests: CRMS.flatMap((crm) =>
					sandbox.emulators[crm]!.requests()
						.filter((r) => ids[crm].some((id) => id.length > 2 && r.path.includes(id)))
						.map((r) => ({ crm, at: new Date(r.at).toISOString(), method: r.method, path: r.path, status: r.status, fault: r.fault })),
				).sort((a, b) => a.at.localeCompare(b.at)),
				executions: executions.filter((e) => needles.some((n) => JSON.stringify(e.runData).includes(n))).map((e) => summarise(e, needles)),
			});
		}
		writeFileSync(file, JSON.stringify(traces, null, 1));
	} finally {
		await store.close();
	}
}
