// Polling (lib/polling) drops echoes of our writes without consuming their fingerprints: they are
// consumed by commit(), so a poll that fails or is not committed (n8n's manual test) leaves them
// for the next read. Real HubSpot connector against the sandbox, real embedded state store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startSandbox, type Sandbox } from '../../../sandbox';
import { createConnector } from '../../../lib/connectors';
import { unifiedValues } from '../../../lib/events/echo';
import { pollChanges, type PollOptions } from '../../../lib/polling';
import { echoFingerprint, openStateStore, type StateStore } from '../../../lib/state';

let sandbox: Sandbox;
let store: StateStore;
let dir: string;

before(async () => {
	sandbox = await startSandbox({ crms: ['hubspot'] });
	dir = mkdtempSync(join(tmpdir(), 'polling-echoes-'));
	store = await openStateStore({ backend: 'embedded', namespace: 'polling-echoes', path: join(dir, 'state.sqlite') });
});

after(async () => {
	await store?.close();
	await sandbox?.stop();
	rmSync(dir, { recursive: true, force: true });
});

test('an echo read by a poll that was not committed is still an echo when read again; commit consumes it', async () => {
	const connector = createConnector('hubspot', { accessToken: 'poll-echoes', baseUrl: sandbox.urls.hubspot });
	const options: PollOptions = { entity: 'contact', mode: 'since', since: new Date(Date.now() - 1000).toISOString() };
	const properties = { email: 'echo.poll@hubspot.example', lastname: 'Written by the sync' };
	const res = await fetch(`${sandbox.urls.hubspot}/__admin/objects/contacts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties }) });
	assert.ok(res.ok, await res.clone().text());
	const id = String(((await res.json()) as { id: unknown }).id);
	// The fingerprint Unified CRM Upsert stores for this write.
	const written = unifiedValues('hubspot', 'contact', properties);
	await store.recordEchoes([echoFingerprint('hubspot', 'contact', id, written)], 60_000);

	// The execution fails before commit (or it is a manual test): nothing is stored.
	const uncommitted = await pollChanges(connector, store, options);
	assert.deepEqual([uncommitted.events.length, uncommitted.dropped.echoes], [0, 1]);

	const again = await pollChanges(connector, store, options);
	assert.deepEqual([again.events.length, again.dropped.echoes], [0, 1], 'the same write read again is still our echo');
	assert.ok(await store.matchEcho('hubspot', 'contact', id, written), 'not consumed before commit');
	await again.commit();
	assert.equal(await store.matchEcho('hubspot', 'contact', id, written), undefined, 'consumed by the commit');
});
