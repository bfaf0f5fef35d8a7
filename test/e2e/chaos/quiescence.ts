// Quiescence: no webhook pending in any CRM, no API request in flight and no new API request for
// `quietMs`. A request held open by a hang fault is never applied, so it does not count as in
// flight; the client gives up on it and tries again, which the quiet time must outlast (the
// longest per-attempt timeout, 60 s, plus a retry delay).
import type { Sandbox } from '../../../sandbox';
import { waitFor } from '../harness';
import { CRMS } from './crms';

async function health(url: string): Promise<{ requests: number; hanging: number }> {
	return (await (await fetch(`${url}/__admin/health`)).json()) as { requests: number; hanging: number };
}

/** Resolves with the time it took; fails after `timeoutMs` (a loop never becomes quiet). */
export async function waitForQuiescence(sandbox: Sandbox, quietMs = 70_000, timeoutMs = 900_000): Promise<number> {
	const started = Date.now();
	let last = '';
	let quietSince = Date.now();
	await waitFor(async () => {
		await Promise.all(CRMS.map((crm) => sandbox.emulators[crm]!.webhooksIdle()));
		const counts = await Promise.all(CRMS.map(async (crm) => {
			const { requests, hanging } = await health(sandbox.urls[crm]!);
			return [requests - hanging, sandbox.emulators[crm]!.requests().length];
		}));
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
