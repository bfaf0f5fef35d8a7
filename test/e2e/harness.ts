// End-to-end harness: a real n8n 2.x with this package installed the way n8n installs community
// packages (npm tarball in <userFolder>/.n8n/nodes), templates and credentials imported and published.
// Used by the e2e tests and by `npm start`. See ../../../shared/docs/n8n-runtime.md for the facts behind it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
export const OWNER_EMAIL = 'owner@example.com';
export const OWNER_PASSWORD = 'CrmSync-Demo-1';
export const ENCRYPTION_KEY = 'crm-sync-local-encryption-key';
export const PACKAGE_NAME = 'n8n-nodes-crm-sync';

const toolsRoot = process.env.CRM_SYNC_TOOLS_DIR || join(homedir(), '.cache', 'n8n-nodes-crm-sync');

/** Installs n8n into the cached tools folder (once) and returns the path of its CLI. */
export function ensureN8n(): string {
	const dir = execFileSync('bash', [join(REPO_ROOT, 'scripts/install-n8n.sh')], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		env: { ...process.env, CRM_SYNC_TOOLS_DIR: toolsRoot },
	}).trim();
	return join(dir, 'node_modules/n8n/bin/n8n');
}

/**
 * Packs the built package and installs the tarball, with its runtime dependencies, into a cached
 * nodes folder keyed by the tarball's hash. Instances link to it, so repeated starts cost nothing.
 */
export function installPackage(): string {
	if (!existsSync(join(REPO_ROOT, 'dist/nodes'))) throw new Error('dist/ is missing: run `npm run build` first');
	const packDir = mkdtempSync(join(tmpdir(), 'crm-sync-pack-'));
	execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir, '--loglevel=error'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
	const tarball = join(packDir, readdirSync(packDir).find((name) => name.endsWith('.tgz'))!);
	const hash = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 16);
	const nodesDir = join(toolsRoot, 'installed-packages', hash);
	mkdirSync(join(toolsRoot, 'installed-packages'), { recursive: true });
	if (!existsSync(join(nodesDir, '.complete'))) {
		// Install beside the cache entry and rename it into place, so parallel runs never share a half-installed folder.
		const staging = `${nodesDir}.${process.pid}`;
		rmSync(staging, { recursive: true, force: true });
		mkdirSync(staging, { recursive: true });
		// Without its own package.json npm walks up and installs into whatever parent project it finds.
		writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }));
		// --omit=peer: n8n provides n8n-workflow; a second copy (with native isolated-vm) must not be installed.
		execFileSync('npm', ['install', '--omit=peer', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
			cwd: staging,
			stdio: ['ignore', 'ignore', 'inherit'],
		});
		writeFileSync(join(staging, '.complete'), hash);
		try {
			renameSync(staging, nodesDir);
		} catch {
			rmSync(staging, { recursive: true, force: true }); // another run finished first
		}
	}
	rmSync(packDir, { recursive: true, force: true });
	return nodesDir;
}

export async function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolvePort(port));
		});
	});
}

export interface CredentialFixture {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface StartOptions {
	/** Workflow JSON files to import; each is published before n8n starts. */
	workflows?: string[];
	/** Extra workflows as objects (written to files and imported like the others). */
	workflowObjects?: Array<Record<string, unknown>>;
	credentials?: CredentialFixture[];
	port?: number;
	/** Persistent user folder (npm start); a fresh temporary one otherwise. */
	userFolder?: string;
	env?: Record<string, string>;
	/** Where n8n's output goes: 'inherit' for the demo, a log file otherwise. */
	log?: 'inherit' | 'file';
}

export interface N8nInstance {
	baseUrl: string;
	userFolder: string;
	logFile?: string;
	/** Calls the REST API logged in as the owner. */
	api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
	for (const child of running) child.kill('SIGKILL');
});

export async function startN8n(options: StartOptions = {}): Promise<N8nInstance> {
	const cli = ensureN8n();
	const nodesDir = installPackage();
	const userFolder = options.userFolder ?? mkdtempSync(join(tmpdir(), 'crm-sync-n8n-'));
	const dotN8n = join(userFolder, '.n8n');
	mkdirSync(dotN8n, { recursive: true });
	rmSync(join(dotN8n, 'nodes'), { recursive: true, force: true });
	cpSync(nodesDir, join(dotN8n, 'nodes'), { recursive: true, verbatimSymlinks: true });

	const port = options.port ?? (await freePort());
	const env: NodeJS.ProcessEnv = {
		...process.env,
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: ENCRYPTION_KEY,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_HOST: '127.0.0.1',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_INSTANCE_OWNER_EMAIL: OWNER_EMAIL,
		N8N_INSTANCE_OWNER_PASSWORD_HASH: ownerPasswordHash(cli),
		// Expression-free hot paths only pay n8n's floor with lazy isolate acquisition (n8n-runtime.md).
		N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true',
		N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL || 'warn',
		...options.env,
	};
	const runCli = (...args: string[]) =>
		execFileSync(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

	const importDir = mkdtempSync(join(tmpdir(), 'crm-sync-import-'));
	try {
		if (options.credentials?.length) {
			const file = join(importDir, 'credentials.json');
			writeFileSync(file, JSON.stringify(options.credentials));
			runCli('import:credentials', `--input=${file}`);
		}
		const workflowIds: string[] = [];
		const files = [...(options.workflows ?? [])];
		(options.workflowObjects ?? []).forEach((workflow, index) => {
			const file = join(importDir, `workflow-${index}.json`);
			writeFileSync(file, JSON.stringify(workflow));
			files.push(file);
		});
		for (const file of files) {
			const workflow = JSON.parse(readFileSync(file, 'utf8')) as { id?: string };
			if (!workflow.id) throw new Error(`${file} has no fixed "id"; templates need one to be published`);
			runCli('import:workflow', `--input=${file}`);
			workflowIds.push(workflow.id);
		}
		for (const id of workflowIds) runCli('publish:workflow', `--id=${id}`);
	} finally {
		rmSync(importDir, { recursive: true, force: true });
	}

	const logFile = options.log === 'inherit' ? undefined : join(userFolder, 'n8n.log');
	const child = spawn(process.execPath, [cli, 'start'], {
		env,
		stdio: logFile ? ['ignore', 'pipe', 'pipe'] : 'inherit',
	});
	if (logFile) {
		const { createWriteStream } = await import('node:fs');
		const out = createWriteStream(logFile);
		child.stdout!.pipe(out);
		child.stderr!.pipe(out);
	}
	running.add(child);
	const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
	child.once('exit', () => running.delete(child));

	const baseUrl = `http://127.0.0.1:${port}`;
	let cookie = '';
	const instance: N8nInstance = {
		baseUrl,
		userFolder,
		logFile,
		async api<T>(method: string, path: string, body?: unknown): Promise<T> {
			const response = await fetch(baseUrl + path, {
				method,
				headers: { 'content-type': 'application/json', cookie },
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			const text = await response.text();
			if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
			return (text ? JSON.parse(text) : undefined) as T;
		},
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
				await exited;
				clearTimeout(timer);
			}
			if (!options.userFolder) rmSync(userFolder, { recursive: true, force: true });
		},
	};

	try {
		await waitFor(async () => (await fetch(`${baseUrl}/healthz/readiness`)).ok, 120_000, () => child.exitCode !== null);
		const login = await fetch(`${baseUrl}/rest/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ emailOrLdapLoginId: OWNER_EMAIL, password: OWNER_PASSWORD }),
		});
		if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
		cookie = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
	} catch (error) {
		const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '';
		await instance.stop();
		throw new Error(`n8n did not start: ${(error as Error).message}\n${log}`);
	}
	return instance;
}

/** Polls `probe` until it returns true; fails after `timeoutMs` or as soon as `abort` says so. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, abort?: () => boolean): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < deadline) {
		if (abort?.()) throw new Error('process exited while waiting');
		try {
			if (await probe()) return;
		} catch (error) {
			lastError = error;
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`timed out after ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** Posts to a production webhook, retrying the 404 n8n answers while the webhook is not live yet. */
export async function postWebhook(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	let response: Response | undefined;
	await waitFor(async () => {
		response = await fetch(`${baseUrl}/webhook/${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body: typeof body === 'string' ? body : JSON.stringify(body),
		});
		return response.status !== 404;
	}, 20_000);
	return response!;
}

/**
 * A workflow Webhook (POST /webhook/<path>, JSON array body) → Split Out → one package node, so a
 * test can post a batch of items to a node. `node` gives the node's name, type (without the package
 * prefix), parameters and any extra node fields such as credentials.
 */
export function batchWorkflow(
	id: string,
	path: string,
	node: { name: string; type: string; parameters: Record<string, unknown>; extra?: Record<string, unknown> },
) {
	return {
		id,
		name: `${node.name} e2e (${path})`,
		active: false,
		settings: { executionOrder: 'v1' },
		pinData: {},
		nodes: [
			{
				id: `${id}-webhook`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `e2e-${path}`,
				parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
			},
			{
				id: `${id}-split`,
				name: 'Split Out',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [220, 0],
				parameters: { fieldToSplitOut: 'body', include: 'noOtherFields', options: {} },
			},
			{
				id: `${id}-node`,
				name: node.name,
				type: `${PACKAGE_NAME}.${node.type}`,
				typeVersion: 1,
				position: [440, 0],
				parameters: node.parameters,
				...node.extra,
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
			'Split Out': { main: [[{ node: node.name, type: 'main', index: 0 }]] },
		},
	};
}

export type RunData = Record<string, Array<{ data: { main: Array<Array<{ json: Record<string, unknown> }>> } }>>;

/** Node outputs of the newest finished execution of a workflow (public API, owner cookie). */
export async function lastRunData(n8n: N8nInstance, workflowId: string): Promise<RunData> {
	let id: string | undefined;
	await waitFor(async () => {
		const list = await n8n.api<{ data: Array<{ id: string; finished: boolean; stoppedAt?: string }> }>('GET', `/api/v1/executions?workflowId=${workflowId}&limit=1`);
		id = list.data[0]?.stoppedAt ? list.data[0].id : undefined;
		return id !== undefined;
	}, 10_000);
	const execution = await n8n.api<{ data: { resultData: { runData: RunData } } }>('GET', `/api/v1/executions/${id}?includeData=true`);
	return execution.data.resultData.runData;
}

let cachedHash: string | undefined;
function ownerPasswordHash(cli: string): string {
	// n8n aborts start-up on a non-bcrypt owner hash; use the bcryptjs that n8n itself ships.
	cachedHash ??= execFileSync(
		process.execPath,
		['-e', `process.stdout.write(require(process.argv[1]).hashSync(process.argv[2], 10))`, require.resolve('bcryptjs', { paths: [cli] }), OWNER_PASSWORD],
		{ encoding: 'utf8' },
	);
	return cachedHash;
}
