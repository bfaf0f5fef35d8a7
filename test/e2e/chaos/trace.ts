// What happened to the contacts the checker found wrong (CHAOS_TRACE=<file>): their mutations,
// the synced state's snapshot and audit trail (with values: the test turns on the Conflict
// Resolver's "Audit Field Values"), the webhooks each CRM sent about them and the API requests
// that touched them. For diagnosis; the test itself does not read it.
import { writeFileSync } from 'node:fs';

import type { Sandbox } from '../../../sandbox';
import { defaultEmbeddedStatePath, openStateStore, syncIdentity, type StateStoreConfig } from '../../../lib/state';
import type { Mismatch } from './checker';
import { CRMS, contactsIn, type Crm, type Template } from './crms';
import type { Mutation } from './load';

/** The template with audit values on in every Conflict Resolver. */
export function withAuditValues(template: Template): Template {
	const copy = JSON.parse(JSON.stringify(template)) as Template;
	for (const node of copy.nodes) {
		if (node.type === 'n8n-nodes-crm-sync.conflictResolver') node.parameters.options = { ...(node.parameters.options as object), auditValues: true };
	}
	return copy;
}

/** The state store the template's nodes use: embedded in n8n's user folder, or (queue mode) on Redis. */
export function templateStore(namespace: string, userFolder: string, redis?: { host: string; port: number }): StateStoreConfig {
	return redis
		? { backend: 'redis', namespace, redis }
		: { backend: 'embedded', namespace, path: defaultEmbeddedStatePath({ N8N_USER_FOLDER: userFolder }, '') };
}

export async function writeTrace(file: string, sandbox: Sandbox, storeConfig: StateStoreConfig, log: Mutation[], mismatches: Mismatch[], contacts = 8): Promise<void> {
	const store = await openStateStore(storeConfig);
	try {
		const audit = await store.listAudit({ limit: 1_000_000 });
		const emails = [...new Set(mismatches.map((m) => m.email))].slice(0, contacts);
		const held = Object.fromEntries(CRMS.map((crm) => [crm, contactsIn(sandbox, crm)])) as Record<Crm, ReturnType<typeof contactsIn>>;
		const traces = [];
		for (const email of emails) {
			// The records it has now, and the ones updated or deleted by the load (a deleted record is gone from the CRM).
			const changed = (crm: Crm) => log.filter((m) => m.email === email && m.crm === crm && m.id).map((m) => m.id!);
			const ids = Object.fromEntries(CRMS.map((crm) => [crm, [...new Set([...held[crm].filter((c) => c.email === email).map((c) => c.id), ...changed(crm)])]])) as Record<Crm, string[]>;
			let unifiedId: string | undefined;
			// Every identity the contact had: its records' links now, and the first-sync identities of
			// its records and of the record it was created as (a split identity shows as several).
			const identities = new Set<string>();
			for (const crm of CRMS) {
				for (const id of ids[crm]) {
					const linked = await store.findUnifiedId('contact', crm, id);
					unifiedId ??= linked;
					if (linked) identities.add(linked);
					identities.add(syncIdentity(crm, id));
				}
			}
			const refs = unifiedId ? (await store.getCrossRefs('contact', [unifiedId])).get(unifiedId)?.ids : undefined;
			const known = (crm: Crm) => [...new Set([...ids[crm], ...(refs?.[crm] ? [String(refs[crm])] : [])])];
			traces.push({
				email,
				unifiedId,
				mismatches: mismatches.filter((m) => m.email === email),
				mutations: log.filter((m) => m.email === email),
				ids: Object.fromEntries(CRMS.map((crm) => [crm, known(crm)])),
				snapshot: unifiedId ? await store.getSnapshot('contact', unifiedId) : undefined,
				identities: await Promise.all([...identities].map(async (id) => ({ unifiedId: id, ids: (await store.getCrossRefs('contact', [id])).get(id)?.ids, snapshot: await store.getSnapshot('contact', id) }))),
				audit: audit.filter((a) => a.unifiedId !== undefined && identities.has(a.unifiedId)).sort((a, b) => a.seq - b.seq),
				webhooks: CRMS.flatMap((crm) =>
					sandbox.emulators[crm]!.deliveries()
						.filter((d) => d.body.includes(email) || known(crm).some((id) => d.body.includes(id)))
						.map((d) => ({ crm, sentAt: new Date(d.sentAt).toISOString(), deliveryId: d.deliveryId, attempt: d.attempt, duplicate: d.duplicate, status: d.status, ok: d.ok, body: d.body.slice(0, 1500) })),
				).sort((a, b) => a.sentAt.localeCompare(b.sentAt)),
				requests: CRMS.flatMap((crm) =>
					sandbox.emulators[crm]!.requests()
						.filter((r) => known(crm).some((id) => r.path.includes(id)))
						.map((r) => ({ crm, at: new Date(r.at).toISOString(), method: r.method, path: r.path, status: r.status, fault: r.fault })),
				).sort((a, b) => a.at.localeCompare(b.at)),
			});
		}
		writeFileSync(file, JSON.stringify(traces, null, 1));
	} finally {
		await store.close();
	}
}
