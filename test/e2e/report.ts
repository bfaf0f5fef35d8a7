// What the e2e tests print when a sync did not arrive: per execution of the workflows, each node's
// item count per output and the error items, then the webhooks the triggers refused (no execution
// shows those).
import type { Sandbox } from '../../sandbox';
import type { N8nInstance } from './harness';

type Row = Record<string, unknown>;
type RunData = Record<string, Array<{ error?: { message: string }; data?: { main: Array<Array<{ json: Row }> | null> } }>>;

export async function executionReport(n8n: N8nInstance, sandbox: Sandbox, workflowIds: string[]): Promise<string> {
	const lines: string[] = [];
	for (const workflowId of workflowIds) {
		const list = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=20`);
		for (const { id, status } of list.data) {
			const execution = await n8n.api<{ data: { resultData: { runData: RunData } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
			const runData = execution.data.resultData.runData;
			const nodes = Object.entries(runData).map(([name, runs]) => runs.map((run) => `${name}[${run.error ? `ERROR ${run.error.message}` : (run.data?.main ?? []).map((out) => out?.length ?? 0).join('/')}]`).join(' '));
			const errors = [...new Set(Object.values(runData).flat().flatMap((run) => (run.data?.main ?? []).flat()).filter((item) => item?.json.error || item?.json.errors).map((item) => JSON.stringify(item!.json).slice(0, 400)))];
			lines.push(`${workflowId} #${id} ${status}: ${nodes.join(', ')}${errors.map((e) => `\n   error item: ${e}`).join('')}`);
		}
	}
	for (const [crm, emulator] of Object.entries(sandbox.emulators)) {
		for (const d of emulator!.deliveries()) if (d.status === undefined || d.status >= 300) lines.push(`${crm} webhook answered ${d.status}: ${String(d.responseBody ?? d.error ?? '').slice(0, 300)}`);
	}
	return lines.join('\n');
}
