// Quiescence: no webhook pending in any CRM, no API request in flight (a hung one included) and
// no new API request for `quietMs`.
import type { Sandbox } from '../../../sandbox';
import { waitFor } from '../harness';
import { CRMS } from './crms';

async function arrived(url: string): Promise<number> {
	const health = (await (await fetch(`${url}/__admin/health`)).json()) as { requests: number };
	return health.requests;
}

/** Resolves with the time it took; fails after `timeoutMs` (a loop never becomes quiet). */
export async function waitForQuiescence(sandbox: Sandbox, quietMs = 8000, timeoutMs = 600_000): Promise<number> {
	const started = Date.now();
	let last = '';
	let quietSince = Date.now();
	await waitFor(async () => {
		await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
		const counts = await Promise.all(CRMS.map(async (crm) => [await arrived(sandbox.urls[crm]!), sandbox.emulators[crm]!.requests().length]));
		const inFlight = counts.some(([arrivedCount, closed]) => arrivedCount !== closed);
		const signature = JSON.stringify(counts);
		if (inFlight || signature !== last) {
			last = signature;
			quietSince = Date.now();
			return false;
		}
		return Date.now() - quietSince >= quietMs;
	}, timeoutMs);
	return Date.now() - started;
}
