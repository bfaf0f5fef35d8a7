// Shared by the connector tests, for requests the sandbox never answers:
// - a delete whose reply is lost (carried out, never answered) is retried, finds the record gone,
//   and the writer reports it as done: status deleted with an "already gone" note, cross-reference
//   unlinked, tombstone kept;
// - a request that hangs is aborted when it times out: the sandbox sees its connection close
//   before the retry is answered, so it cannot land after the retry.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Emulator } from '../../../sandbox';
import type { CrmConnector } from '../../../lib/connectors';
import type { EntityType } from '../../../lib/model';
import { openStateStore } from '../../../lib/state';
import { UpsertWriter } from '../../../lib/sync/upsert-writer';

export interface LostDelete {
	/** A connector whose per-attempt timeout is short (the lost reply is waited for once). */
	connector: CrmConnector;
	emulator: Emulator;
	entity: EntityType;
	/** The CRM id of an existing record. */
	id: string;
	/** Regex source of the delete request's path (the only request faulted). */
	deletePath: string;
	operation?: 'delete' | 'erase';
}

export async function assertLostDeleteIsDone({ connector, emulator, entity, id, deletePath, operation = 'delete' }: LostDelete): Promise<void> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-lost-delete-'));
	const store = await openStateStore({ backend: 'embedded', path: path.join(dir, 'state.sqlite'), namespace: randomUUID() });
	try {
		const unifiedId = randomUUID();
		await store.linkMany([{ entity, unifiedId, crm: connector.crm, recordId: id }]);
		const writer = new UpsertWriter(
			{ crm: connector.crm, entity, operation, inputFormat: 'crm', matchKey: 'email', dryRun: false, unchangedAgainst: 'snapshot' as const, recordEchoes: true, continueOnFail: false, recordState: true },
			() => connector,
			async () => store,
		);
		const before = Math.max(0, ...emulator.requests().map((r) => r.seq));
		emulator.setFaults({ lostReplyRate: 1, maxFaults: 1, pathPattern: deletePath });
		const [result] = await writer.run([{ index: 0, unifiedId, record: {} }]);

		const deletes = emulator
			.requests()
			.filter((r) => r.seq > before && new RegExp(deletePath).test(r.path))
			.sort((a, b) => a.seq - b.seq);
		assert.deepEqual(
			deletes.map((r) => r.fault ?? r.status),
			['lostReply', deletes[1]?.status],
			'the delete was carried out without an answer, then sent once more',
		);
		assert.equal(result.ok, true, JSON.stringify(result.json));
		assert.equal(result.json.status, operation === 'erase' ? 'erased' : 'deleted');
		assert.equal(result.json.id, id);
		assert.equal(result.json.unifiedId, unifiedId);
		assert.match(String(result.json.note), /^already gone/);
		assert.equal(await store.findUnifiedId(entity, connector.crm, id), undefined, 'cross-reference unlinked');
		if (operation === 'delete') assert.ok((await store.getSnapshot(entity, unifiedId))?.deletedAt, 'tombstone kept');
	} finally {
		emulator.setFaults({});
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * Runs `call` with the first request matching `path` hanging; asserts the call still succeeded
 * (retried) and that the hung request's connection was closed by the client, not left open.
 */
export async function assertHungRequestAborted<T>(emulator: Emulator, path: string, call: () => Promise<T>): Promise<T> {
	const before = Math.max(0, ...emulator.requests().map((r) => r.seq));
	emulator.setFaults({ hangRate: 1, maxFaults: 1, pathPattern: path });
	try {
		const result = await call();
		const matching = () => emulator.requests().filter((r) => r.seq > before && new RegExp(path).test(r.path));
		// The server logs a request when its connection closes; give the close a moment to arrive.
		for (let i = 0; i < 20 && !matching().some((r) => r.fault === 'hang'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
		const hung = matching().find((r) => r.fault === 'hang');
		assert.ok(hung, `the hung request's connection is closed (requests held open: ${await hanging(emulator)})`);
		assert.equal(hung.status, undefined, 'never answered');
		assert.ok(matching().some((r) => r.seq > hung.seq && r.status !== undefined), 'then sent again and answered');
		return result;
	} finally {
		emulator.setFaults({});
	}
}

async function hanging(emulator: Emulator): Promise<number> {
	const url = emulator.url;
	return ((await (await fetch(`${url}/__admin/health`)).json()) as { hanging: number }).hanging;
}
