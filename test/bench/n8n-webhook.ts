// Webhook → the four other CRMs written, through a real n8n running workflows/contact-sync.json
// against the sandbox CRMs, next to n8n's own floor (a bare Webhook → Respond to Webhook workflow)
// and a hand-built peer (Webhook → Set → 4 HTTP Request, create only: peerWorkflow in
// n8n-bench-lib), all in the same instance, so under the same settings. Repeated for each n8n
// configuration.
//
// Source: Pipedrive "create person" webhooks (one record each) as the sandbox sends them, captured
// and replayed, so the clock starts at our send. Latency = send → the contact's creation time in
// the last of HubSpot, Salesforce, Zoho and Dynamics (read from the emulators' stores, not polled
// over HTTP). CRM-native batches: Salesforce change-event arrays of 100 (they carry the record),
// or HubSpot contact.creation arrays of 100 (the trigger fetches the records), written to the
// other four CRMs.
//
//   npm run build && npx tsx test/bench/n8n-webhook.ts [--json]
// Size (defaults keep it to a few minutes):
//   N8N_BENCH_EVENTS=200             sequential events (and floor requests); default 50
//   N8N_BENCH_RAMP=1,2,4,8,16,32     concurrency levels of the throughput ramp; default 1,2,4,8,16
//   N8N_BENCH_BATCHES=5              native batches of 100; default 3 (0 skips)
//   N8N_BENCH_BATCH_SOURCE=hubspot   HubSpot contact.creation arrays (the trigger fetches each
//                                    record) instead of Salesforce change-event arrays
//   N8N_BENCH_CONFIGS=default,save-none,legacy,legacy+save-none   (N8N_CONFIGS in n8n-bench-lib);
//                                    default: default,legacy+save-none
//   N8N_BENCH_ECHOES=1               also subscribe the targets' webhooks, so every write echoes back
//                                    (the peer is then skipped: its writes would echo into our trigger)
//   N8N_BENCH_PEER=0                 skip the hand-built peer
//   N8N_BENCH_HUBSPOT_LIMIT=increase the HubSpot credential's API Limit tier (starter, professional,
//                                    increase); default the credential's, starter (100 requests / 10 s),
//                                    which caps syncs to HubSpot at about 9 per second
//   N8N_BENCH_PROFILE=1              profile n8n's main thread over each sequential phase (floor, peer,
//                                    package) and print where its time goes per event (cpu-profile.ts);
//                                    the sampling adds a little CPU to every figure of that run
import { cpus } from 'node:os';

import { describeSplit, inspectorUrl, PROFILED_N8N_ENV, splitProfile, startProfile } from './cpu-profile';

import {
	cpuMeter,
	describeCpu,
	describeLatency,
	mainOf,
	n8nConfig,
	postJson,
	ramp,
	startContactSyncRig,
	summarize,
	targetsOf,
	type CapturedWebhook,
	type ContactSyncRig,
} from './n8n-bench-lib';

const EVENTS = Number(process.env.N8N_BENCH_EVENTS) || 50;
const RAMP_LEVELS = (process.env.N8N_BENCH_RAMP || '1,2,4,8,16').split(',').map(Number);
const BATCHES = process.env.N8N_BENCH_BATCHES === undefined ? 3 : Number(process.env.N8N_BENCH_BATCHES);
const BATCH_SIZE = 100;
const BATCH_SOURCE = process.env.N8N_BENCH_BATCH_SOURCE === 'hubspot' ? 'hubspot' : 'salesforce';
const CONFIGS = (process.env.N8N_BENCH_CONFIGS || 'default,legacy+save-none').split(',');
const ECHOES = process.env.N8N_BENCH_ECHOES === '1';
// The peer's writes would echo into the package's trigger too, so the peer runs without echoes only.
const PEER = !ECHOES && process.env.N8N_BENCH_PEER !== '0';
const HUBSPOT_LIMIT = process.env.N8N_BENCH_HUBSPOT_LIMIT || undefined;
const PROFILE = process.env.N8N_BENCH_PROFILE === '1';
const WARM_UP = 10;
const RAMP = { minJobs: 30, perWorker: 10, maxP95Ms: 10_000 };

const rampJobs = (levels: number[]) => levels.reduce((sum, p) => sum + Math.max(RAMP.minJobs, p * RAMP.perWorker), 0);
/** Pipedrive events one configuration consumes: warm-up, sequential and ramp, for the package and for the peer. */
const eventsNeeded = () => (PEER ? 2 : 1) * (WARM_UP + EVENTS + rampJobs(RAMP_LEVELS));

/** Runs one sequential phase, profiled when N8N_BENCH_PROFILE=1; returns the phase's result. */
async function profiled<T>(rig: ContactSyncRig, label: string, events: number, phase: () => Promise<T>): Promise<{ result: T; split?: ReturnType<typeof splitProfile> }> {
	if (!PROFILE) return { result: await phase() };
	const profile = await startProfile(inspectorUrl(rig.n8n.logFile!));
	const result = await phase();
	const split = splitProfile(await profile.stop(), events);
	console.log(describeSplit(label, split));
	return { result, split };
}

async function benchConfig(name: string, rig: ContactSyncRig) {
	const targets = targetsOf('pipedrive');
	const events = await rig.pipedriveEvents(eventsNeeded());
	const next = (() => {
		let i = 0;
		return (): CapturedWebhook => {
			if (i >= events.length) throw new Error('bench ran out of prepared events');
			return events[i++];
		};
	})();
	const floor = () => postJson(rig.floorUrl, '{"a":1}');
	const oneEvent = async () => (await rig.deliver('pipedrive', next(), targets)).latencyMs;
	const onePeerEvent = async () => (await rig.deliver('pipedrive', next(), targets, rig.peerUrl)).latencyMs;
	const timedFloor = async () => {
		const start = performance.now();
		const res = await floor();
		await res.arrayBuffer();
		if (res.status !== 200) throw new Error(`floor: HTTP ${res.status}`);
		return performance.now() - start;
	};

	// Warm-up: first executions load node code and open connections.
	for (let i = 0; i < WARM_UP; i++) await timedFloor();
	for (let i = 0; i < WARM_UP; i++) await oneEvent();
	if (PEER) for (let i = 0; i < WARM_UP; i++) await onePeerEvent();

	const floorMeter = cpuMeter(rig.n8n.userFolder, cpus().length);
	const floorTimes: number[] = [];
	const floorProfile = await profiled(rig, `[${name}] profile, floor`, EVENTS, async () => {
		for (let i = 0; i < EVENTS; i++) floorTimes.push(await timedFloor());
	});
	const floorSeq = summarize(floorTimes);
	const floorCpu = floorMeter.stop();
	const floorCpuMs = +((1000 * floorCpu.n8nCpuS) / EVENTS).toFixed(0);
	console.log(`[${name}] floor: Webhook → Respond, sequential              ${describeLatency(floorSeq)}; n8n CPU ${floorCpuMs} ms per request`);
	console.log(`[${name}]   ${describeCpu(floorCpu)}`);

	let peer: { sequential: ReturnType<typeof summarize>; cpu: ReturnType<ReturnType<typeof cpuMeter>['stop']>; cpuMsPerEvent: number; profile?: ReturnType<typeof splitProfile> } | null = null;
	if (PEER) {
		const peerMeter = cpuMeter(rig.n8n.userFolder, cpus().length);
		const peerTimes: number[] = [];
		const { split } = await profiled(rig, `[${name}] profile, peer`, EVENTS, async () => {
			for (let i = 0; i < EVENTS; i++) peerTimes.push(await onePeerEvent());
		});
		const cpu = peerMeter.stop();
		peer = { sequential: summarize(peerTimes), cpu, cpuMsPerEvent: +((1000 * cpu.n8nCpuS) / EVENTS).toFixed(0), profile: split };
		console.log(`[${name}] peer: Webhook → Set → 4 HTTP Request, sequential ${describeLatency(peer.sequential)}; n8n CPU ${peer.cpuMsPerEvent} ms per event`);
		console.log(`[${name}]   ${describeCpu(cpu)}`);
	}

	const meter = cpuMeter(rig.n8n.userFolder, cpus().length);

	const latencies: number[] = [];
	const acks: number[] = [];
	const perTarget: Record<string, number[]> = {};
	const syncProfile = await profiled(rig, `[${name}] profile, package`, EVENTS, async () => {
		for (let i = 0; i < EVENTS; i++) {
			const done = await rig.deliver('pipedrive', next(), targets);
			latencies.push(done.latencyMs);
			acks.push(done.ackMs);
			for (const [crm, t] of Object.entries(done.perTargetMs)) (perTarget[crm] ??= []).push(t);
		}
	});
	const syncSeq = summarize(latencies);
	const ackSeq = summarize(acks);
	console.log(`[${name}] sync: Pipedrive webhook → 4 CRMs written, sequential ${describeLatency(syncSeq)}`);
	console.log(`[${name}]   webhook answered (n8n 200)                       ${describeLatency(ackSeq)}`);
	console.log(`[${name}]   per target P50: ${Object.entries(perTarget).map(([crm, t]) => `${crm} ${summarize(t).p50Ms} ms`).join(', ')}`);
	const sequentialCpu = meter.stop();
	const syncCpuMs = +((1000 * sequentialCpu.n8nCpuS) / EVENTS).toFixed(0);
	console.log(`[${name}]   n8n CPU ${syncCpuMs} ms per synced event (load-independent cost; ${cpus().length} free cores would cap at ≈ ${((cpus().length * 1000) / syncCpuMs).toFixed(0)} events/s)`);
	console.log(`[${name}]   ${describeCpu(sequentialCpu)}`);

	const rampMeter = cpuMeter(rig.n8n.userFolder, cpus().length);
	const floorRamp = await ramp(`[${name}] floor`, timedFloor, { ...RAMP, levels: RAMP_LEVELS });
	const peerRamp = PEER ? await ramp(`[${name}] peer (Pipedrive → 4 CRMs, create only)`, onePeerEvent, { ...RAMP, levels: RAMP_LEVELS }) : null;
	const syncRamp = await ramp(`[${name}] sync (Pipedrive → 4 CRMs)`, oneEvent, { ...RAMP, levels: RAMP_LEVELS });
	const rampCpu = rampMeter.stop();
	console.log(`[${name}]   throughput phases: ${describeCpu(rampCpu)}`);

	let batches: unknown = null;
	if (BATCHES > 0) {
		const hooks = BATCH_SOURCE === 'hubspot' ? await rig.hubspotBatches(BATCHES, BATCH_SIZE) : await rig.salesforceBatches(BATCHES, BATCH_SIZE);
		const batchTargets = targetsOf(BATCH_SOURCE);
		const batchMeter = cpuMeter(rig.n8n.userFolder, cpus().length);
		const start = Date.now();
		const perBatch: number[] = [];
		const lastPerTarget: Record<string, number> = {};
		// Batches one after another, as a CRM sends them; each waits until all its contacts are written.
		for (const hook of hooks) {
			const sentAt = Date.now();
			const done = Promise.all(hook.emails.map((email) => rig.watcher.track(email, sentAt, batchTargets)));
			const res = await rig.postBatch(hook);
			if (res.status !== 200) throw new Error(`${BATCH_SOURCE} batch: HTTP ${res.status} ${await res.text()}`);
			const completions = await done;
			perBatch.push(Math.max(...completions.map((c) => c.latencyMs)));
			for (const c of completions) for (const [crm, t] of Object.entries(c.perTargetMs)) lastPerTarget[crm] = Math.max(lastPerTarget[crm] ?? 0, t);
		}
		const wallS = (Date.now() - start) / 1000;
		const perSecond = +((BATCHES * BATCH_SIZE) / wallS).toFixed(1);
		const batchCpu = batchMeter.stop();
		batches = { source: BATCH_SOURCE, batches: BATCHES, size: BATCH_SIZE, eventsPerSecond: perSecond, perBatch: summarize(perBatch), slowestTargetMsPerBatch: lastPerTarget, cpu: batchCpu };
		console.log(`[${name}] batches: ${BATCH_SOURCE} arrays of ${BATCH_SIZE} → 4 CRMs written: ${perSecond} events/s (${BATCHES} batches, per batch ${describeLatency(summarize(perBatch))})`);
		console.log(`[${name}]   slowest write per target within a batch: ${Object.entries(lastPerTarget).map(([crm, t]) => `${crm} ${Math.round(t)} ms`).join(', ')}`);
		console.log(`[${name}]   batch phase: ${describeCpu(batchCpu)}`);
	}

	const goals = {
		'sequential P95 ≤ floor P95 + 50 ms': `${syncSeq.p95Ms} ≤ ${+(floorSeq.p95Ms + 50).toFixed(1)} → ${syncSeq.p95Ms <= floorSeq.p95Ms + 50 ? 'met' : 'NOT met'}`,
		'sequential P95 < 500 ms (brief)': `${syncSeq.p95Ms} → ${syncSeq.p95Ms < 500 ? 'met' : 'NOT met'}`,
		'sequential P99 < 2 s (brief)': `${syncSeq.p99Ms} → ${syncSeq.p99Ms < 2000 ? 'met' : 'NOT met'}`,
		'≥ 20 single-event syncs/s (issue 19)': `${syncRamp.maxPerSecond} → ${syncRamp.maxPerSecond >= 20 ? 'met' : 'NOT met'}`,
		...(peer && {
			'n8n CPU per synced event ≤ the peer\'s': `${syncCpuMs} ≤ ${peer.cpuMsPerEvent} → ${syncCpuMs <= peer.cpuMsPerEvent ? 'met' : 'NOT met'}`,
		}),
		'n8n CPU per synced event ≤ 1.5 × the floor\'s (stretch)': `${syncCpuMs} ≤ ${+(1.5 * floorCpuMs).toFixed(0)} → ${syncCpuMs <= 1.5 * floorCpuMs ? 'met' : 'NOT met'}`,
	};
	for (const [goal, verdict] of Object.entries(goals)) console.log(`[${name}] goal ${goal}: ${verdict}`);
	return {
		config: name, floorSequential: floorSeq, peerSequential: peer?.sequential, syncSequential: syncSeq, webhookAck: ackSeq, floorRamp, peerRamp, syncRamp, batches,
		cpu: { floorSequential: floorCpu, peerSequential: peer?.cpu, syncSequential: sequentialCpu, throughput: rampCpu },
		...(PROFILE && { profile: { floor: floorProfile.split, peer: peer?.profile, package: syncProfile.split } }),
		n8nCpuMsPerFloorRequest: floorCpuMs, n8nCpuMsPerPeerEvent: peer?.cpuMsPerEvent, n8nCpuMsPerSyncedEvent: syncCpuMs, goals,
	};
}

export async function run(): Promise<unknown> {
	console.log(`cores: ${cpus().length}; ${EVENTS} sequential events, ramp ${RAMP_LEVELS.join(',')}, ${BATCHES}×${BATCH_SIZE} batch events; configs ${CONFIGS.join(', ')}${ECHOES ? '; target webhooks echo back' : ''}; HubSpot API limit ${HUBSPOT_LIMIT ?? 'starter (the credential default)'}`);
	console.log('(n8n with N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true in every config; embedded state store; sandbox in this process)');
	const results: unknown[] = [];
	for (const name of CONFIGS) {
		const env = PROFILE ? { ...n8nConfig(name), ...PROFILED_N8N_ENV } : n8nConfig(name);
		console.log(`\n--- n8n config "${name}": ${JSON.stringify(env)}`);
		const started = performance.now();
		const rig = await startContactSyncRig({ env, echoes: ECHOES, hubspotApiLimit: HUBSPOT_LIMIT });
		console.log(`[${name}] n8n ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
		try {
			results.push({ env, ...(await benchConfig(name, rig)) });
		} finally {
			await rig.stop();
		}
	}
	return { cores: cpus().length, events: EVENTS, echoes: ECHOES, hubspotApiLimit: HUBSPOT_LIMIT ?? 'starter', results };
}

if (require.main === module) mainOf('n8n-webhook', run);
