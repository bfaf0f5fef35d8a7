// Sync API figures without n8n: request validation against the five CRMs' default maps, and a bulk
// body near the 10 MB limit: Accept Bulk Job (parse, queue pages in a real embedded state store; the
// time before the 202 answer, on top of n8n's own cost) and Validate Request on the job (after it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CRM_NAMES } from '../../lib/model';
import { openStateStore } from '../../lib/state';
import { acceptBulkJob, BULK_MAX_BYTES, validateBulkEnvelope, validateBulkJob, validateSyncRequest } from '../../lib/sync/sync-api';

export async function run(): Promise<void> {
	console.log(`sync-api bench (${os.cpus().length} CPUs)`);
	const requests = Array.from({ length: 20_000 }, (_, i) => ({
		entity_type: 'contact',
		operation: 'create',
		data: { id: `app-${i}`, email: `person${i}@example.com`, firstName: 'Bench', lastName: `Person ${i}`, phone: '+1 415 555 0100', title: 'Engineer', city: 'Berkeley' },
	}));
	for (let i = 0; i < 1000; i++) validateSyncRequest(requests[i], CRM_NAMES); // warm-up
	let started = performance.now();
	for (const request of requests) if (!validateSyncRequest(request, CRM_NAMES).ok) throw new Error('bench request is invalid');
	let ms = performance.now() - started;
	console.log(`  validateSyncRequest, 5 CRMs: ${((requests.length / ms) * 1000).toFixed(0)} requests/s (${((ms * 1000) / requests.length).toFixed(1)} µs each)`);

	// As many records as fit in 95% of the limit.
	const perRecord = Buffer.byteLength(JSON.stringify(requests.map((r) => r.data))) / requests.length;
	const count = Math.floor((BULK_MAX_BYTES * 0.95) / perRecord);
	const records = Array.from({ length: count }, (_, i) => ({ ...requests[i % requests.length].data, id: `app-${i}`, email: `person${i}@example.com` }));
	const body = JSON.stringify({ entity_type: 'contact', operation: 'create', records });
	const bytes = Buffer.byteLength(body);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sync-api-bench-'));
	const store = await openStateStore({ backend: 'embedded', namespace: 'bench', path: path.join(tmp, 'state.sqlite') });
	try {
		started = performance.now();
		const parsed = JSON.parse(body) as unknown;
		const parseMs = performance.now() - started;
		const envelope = validateBulkEnvelope(parsed, bytes);
		if (!envelope.ok) throw new Error(JSON.stringify(envelope.reasons));
		const job = await acceptBulkJob(store, envelope.value);
		ms = performance.now() - started;
		console.log(`  accept bulk job (before the 202): ${(bytes / 1024 / 1024).toFixed(1)} MB, ${job.records} records, ${job.pages} pages in ${ms.toFixed(0)} ms (JSON.parse ${parseMs.toFixed(0)} ms)`);
		started = performance.now();
		await validateBulkJob(store, job.jobId, CRM_NAMES);
		console.log(`  validate bulk job (after the 202), 5 CRMs: ${(performance.now() - started).toFixed(0)} ms`);
	} finally {
		await store.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

if (require.main === module) void run();
