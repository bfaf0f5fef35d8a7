// Polling delta capture with the Salesforce, Pipedrive and Dynamics connectors against the
// sandbox: small max-records polls emit each new contact once, then edits as updates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { pollChanges, type PolledEvent, type PollOptions } from '../../../lib/polling';
import { openStateStore, type StateStore } from '../../../lib/state';
import { CREDENTIAL_REFS, sandboxCredentials } from '../../e2e/fixtures';

let sandbox: Sandbox;
let dir: string;
let store: StateStore;

before(async () => {
	sandbox = await startSandbox({ crms: ['salesforce', 'pipedrive', 'dynamics'] });
	dir = mkdtempSync(join(tmpdir(), 'crm-polling-crms-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'crms', path: join(dir, 'state.db') });
});

after(async () => {
	await store?.close();
	await sandbox?.stop();
	rmSync(dir, { recursive: true, force: true });
});

function connector(crm: 'salesforce' | 'pipedrive' | 'dynamics'): CrmConnector {
	const fixture = sandboxCredentials(sandbox.urls).find((c) => c.type === CREDENTIAL_REFS[crm].type)!;
	return createConnector(crm, fixture.data);
}

async function drain(c: CrmConnector, options: PollOptions): Promise<PolledEvent[]> {
	const events: PolledEvent[] = [];
	for (let polls = 1; ; polls++) {
		const batch = await pollChanges(c, store, options);
		assert.ok(batch.events.length <= (options.maxRecords ?? 1000));
		events.push(...batch.events);
		await batch.commit();
		if (!batch.hasMore) return events;
		assert.ok(polls < 100, 'polling does not terminate');
	}
}

const FIELDS = {
	salesforce: (i: number, tag: string) => ({ LastName: `${tag}${i}`, Email: `${tag}${i}@poll.example` }),
	pipedrive: (i: number, tag: string) => ({ name: `${tag}${i}` }),
	dynamics: (i: number, tag: string) => ({ lastname: `${tag}${i}` }),
};

for (const crm of ['salesforce', 'pipedrive', 'dynamics'] as const) {
	test(`${crm}: 25 new contacts once each over polls of 7, then two edits as updates`, async () => {
		const c = connector(crm);
		const options: PollOptions = { entity: 'contact', mode: 'since', since: new Date(Date.now() - 2000).toISOString(), maxRecords: 7 };
		await drain(c, options);
		const made = await c.create('contact', Array.from({ length: 25 }, (_, ref) => ({ ref, fields: FIELDS[crm](ref, 'Poll') })));
		const ids = made.map((o) => {
			assert.equal(o.status, 'created', JSON.stringify(o));
			return (o as { id: string }).id;
		});
		const first = await drain(c, options);
		assert.deepEqual(first.map((e) => e.recordId).sort(), [...ids].sort());
		assert.ok(first.every((e) => e.source === crm && e.entity === 'contact'));

		// Modification times of some CRMs have second precision: make the edits land in a later second.
		await new Promise((r) => setTimeout(r, 1100));
		const edits = await c.update('contact', [ids[3], ids[20]].map((id, ref) => ({ ref, id, fields: FIELDS[crm](ref, 'Edited') })));
		for (const o of edits) assert.equal(o.status, 'updated', JSON.stringify(o));
		const second = await drain(c, options);
		assert.deepEqual(second.map((e) => [e.recordId, e.operation]).sort(), [ids[3], ids[20]].map((id) => [id, 'update']).sort());
	});
}
