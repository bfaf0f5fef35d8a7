// End-to-end harness: a real n8n 2.x with this package installed the way n8n installs community
// packages (npm tarball in <userFolder>/.n8n/nodes), templates and credentials imported and published.
// Used by the e2e tests and by `npm start`. See ../../../shared/docs/n8n-runtime.md for the facts behind it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chownSync, copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

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
	/** Workflow JSON files to import; each is published as soon as n8n is ready (unless `publish` is false). */
	workflows?: string[];
	/** false: import the workflows without publishing them, as a user's import leaves them. */
	publish?: boolean;
	/** Extra workflows as objects (written to files and imported like the others). */
	workflowObjects?: Array<Record<string, unknown>>;
	credentials?: CredentialFixture[];
	port?: number;
	/** Persistent user folder (npm start); a fresh temporary one otherwise. */
	userFolder?: string;
	env?: Record<string, string>;
	/** Where n8n's output goes: 'inherit' for the demo, a log file otherwise. */
	log?: 'inherit' | 'file';
	/**
	 * Queue mode (EXECUTIONS_MODE=queue): a main process, `workers` × `n8n worker` and one
	 * `n8n webhook` processor on a real redis-server and a real PostgreSQL the harness starts.
	 * Default: on when the environment sets CRM_SYNC_E2E_QUEUE=1, so every e2e file can run in it.
	 * Package nodes are switched to the Redis state store (see useRedisStateStore) unless
	 * `redisStateStore` is false.
	 */
	queue?: boolean | { workers?: number; redisStateStore?: boolean };
}

export interface N8nInstance {
	/** Where tests send API calls and webhooks; in queue mode a router in front of the processes. */
	baseUrl: string;
	/** Present in queue mode. */
	queue?: QueueInfo;
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
	if (queueModeWanted(options)) return startQueueMode(options);
	const cli = ensureN8n();
	const userFolder = prepareUserFolder(options);
	const port = options.port ?? (await freePort());
	const env = await n8nEnv(cli, userFolder, port, options.env);
	copyMigratedDatabase(cli, userFolder);
	const workflowIds = importAll(cli, env, options);

	const logFile = options.log === 'inherit' ? undefined : join(userFolder, 'n8n.log');
	const main = await spawnN8n(cli, ['start'], env, logFile);
	const baseUrl = `http://127.0.0.1:${port}`;
	const session = { cookie: '' };
	const instance: N8nInstance = {
		baseUrl,
		userFolder,
		logFile,
		api: ownerApi(baseUrl, session),
		async stop() {
			await main.stop();
			if (!options.userFolder) rmSync(userFolder, { recursive: true, force: true });
		},
	};

	try {
		await waitFor(async () => (await fetch(`${baseUrl}/healthz/readiness`)).ok, 120_000, () => main.child.exitCode !== null);
		session.cookie = await login(baseUrl);
		if (options.publish !== false) await publishAll(instance.api, workflowIds, logFile);
	} catch (error) {
		const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '';
		await instance.stop();
		throw new Error(`n8n did not start: ${(error as Error).message}\n${log}`);
	}
	return instance;
}

/**
 * A fresh (or the given persistent) user folder whose .n8n/nodes links to the installed package
 * (read-only for n8n; a copy of its 200 MB of dependencies took longer than n8n's own start).
 */
function prepareUserFolder(options: StartOptions): string {
	const nodesDir = installPackage();
	const userFolder = options.userFolder ?? mkdtempSync(join(tmpdir(), 'crm-sync-n8n-'));
	const dotN8n = join(userFolder, '.n8n');
	mkdirSync(dotN8n, { recursive: true });
	// Removes the link (or an older copy), never what a link points to.
	rmSync(join(dotN8n, 'nodes'), { recursive: true, force: true });
	symlinkSync(nodesDir, join(dotN8n, 'nodes'), 'dir');
	return userFolder;
}

async function n8nEnv(cli: string, userFolder: string, port: number, extra?: Record<string, string>): Promise<NodeJS.ProcessEnv> {
	return {
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
		...extra,
	};
}

/**
 * A user folder without a database gets a copy of an empty one that n8n has migrated, made once
 * per n8n install: the migrations took seconds at every start. SQLite only (queue mode: Postgres).
 */
function copyMigratedDatabase(cli: string, userFolder: string): void {
	const dotN8n = join(userFolder, '.n8n');
	if (existsSync(join(dotN8n, 'database.sqlite'))) return;
	const template = join(toolsRoot, 'migrated-databases', basename(resolve(cli, '../../../..')));
	if (!existsSync(join(template, '.complete'))) {
		const staging = `${template}.${process.pid}`;
		rmSync(staging, { recursive: true, force: true });
		mkdirSync(staging, { recursive: true });
		// Any command migrates the database first; this one then only lists (no) workflows.
		execFileSync(process.execPath, [cli, 'list:workflow'], { env: { ...process.env, N8N_USER_FOLDER: staging, N8N_ENCRYPTION_KEY: ENCRYPTION_KEY, N8N_DIAGNOSTICS_ENABLED: 'false' }, stdio: 'ignore' });
		writeFileSync(join(staging, '.complete'), '');
		rmSync(template, { recursive: true, force: true });
		renameSync(staging, template);
	}
	// The write-ahead log holds part of what the migrations wrote: copied with the database.
	for (const file of ['database.sqlite', 'database.sqlite-wal']) {
		if (existsSync(join(template, '.n8n', file))) copyFileSync(join(template, '.n8n', file), join(dotN8n, file));
	}
}

/**
 * Imports credentials and workflows with n8n's CLI, one call for each (every CLI call boots n8n,
 * seconds each); the workflow ids, to publish once n8n runs (publishAll).
 */
function importAll(cli: string, env: NodeJS.ProcessEnv, options: StartOptions, transform = (workflow: Record<string, unknown>) => workflow): string[] {
	const runCli = (...args: string[]) =>
		execFileSync(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
	const importDir = mkdtempSync(join(tmpdir(), 'crm-sync-import-'));
	try {
		if (options.credentials?.length) {
			const file = join(importDir, 'credentials.json');
			writeFileSync(file, JSON.stringify(options.credentials));
			runCli('import:credentials', `--input=${file}`);
		}
		const workflows = [
			...(options.workflows ?? []).map((file) => ({ file, workflow: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> })),
			...(options.workflowObjects ?? []).map((workflow, index) => ({ file: `workflowObjects[${index}]`, workflow })),
		];
		for (const { file, workflow } of workflows) if (!workflow.id) throw new Error(`${file} has no fixed "id"; templates need one to be published`);
		if (workflows.length) {
			const file = join(importDir, 'workflows.json');
			writeFileSync(file, JSON.stringify(workflows.map(({ workflow }) => transform(workflow))));
			runCli('import:workflow', `--input=${file}`);
		}
		return workflows.map(({ workflow }) => String(workflow.id));
	} finally {
		rmSync(importDir, { recursive: true, force: true });
	}
}

/**
 * Publishes the imported workflows through the REST API, as the editor's Publish button does (the
 * CLI's publish:workflow would boot n8n once per workflow). One that n8n refuses (e.g. a trigger
 * without its secret) stays unpublished, as it would at start-up, with the reason in the log.
 */
async function publishAll(api: N8nInstance['api'], ids: string[], logFile: string | undefined): Promise<void> {
	for (const id of ids) {
		const { data } = await api<{ data: { versionId: string } }>('GET', `/rest/workflows/${id}`);
		try {
			await api('POST', `/rest/workflows/${id}/activate`, { versionId: data.versionId });
		} catch (error) {
			const line = `[harness] workflow ${id} not published: ${(error as Error).message}\n`;
			if (logFile) appendFileSync(logFile, line);
			else process.stderr.write(line);
		}
	}
}

interface N8nProcess {
	child: ChildProcess;
	logFile?: string;
	stop(): Promise<void>;
}

/** Spawns one n8n command; output goes to `logFile`, or to this process's stdio without one. */
async function spawnN8n(cli: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string): Promise<N8nProcess> {
	const child = spawn(process.execPath, [cli, ...args], {
		env,
		stdio: logFile ? ['ignore', 'pipe', 'pipe'] : 'inherit',
	});
	if (logFile) {
		// Appended: a restart on the same user folder keeps the log of the run before it.
		const out = createWriteStream(logFile, { flags: 'a' });
		child.stdout!.pipe(out);
		child.stderr!.pipe(out);
	}
	running.add(child);
	const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
	child.once('exit', () => running.delete(child));
	return {
		child,
		logFile,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
				await exited;
				clearTimeout(timer);
			}
		},
	};
}

/** REST calls as the owner, with the session cookie `login` returned. */
function ownerApi(baseUrl: string, session: { cookie: string }): N8nInstance['api'] {
	return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
		const response = await fetch(baseUrl + path, {
			method,
			headers: { 'content-type': 'application/json', cookie: session.cookie },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
		return (text ? JSON.parse(text) : undefined) as T;
	};
}

async function login(baseUrl: string): Promise<string> {
	const response = await fetch(`${baseUrl}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: OWNER_EMAIL, password: OWNER_PASSWORD }),
	});
	if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
	return (response.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
}

// ---- Queue mode --------------------------------------------------------------------------------
// n8n's scaling setup (n8n-runtime.md, "Queue mode"): `n8n start` (main: UI, API, triggers), `n8n
// worker` processes that run executions from a Bull queue on Redis, and `n8n webhook` processors
// that take production webhooks and enqueue them. All share one database; n8n warns that SQLite is
// not supported for this ("Scaling mode is not officially supported with sqlite"), so the harness
// runs a throw-away PostgreSQL (Debian packages `postgresql` and `redis-server`).

export interface QueueInfo {
	/** The main process (UI, REST, public API). */
	mainUrl: string;
	/** The webhook processor; production webhooks sent to baseUrl are routed here. */
	webhookUrl: string;
	workers: number;
	redis: { host: string; port: number };
	/** n8n's built-in Redis credential the package nodes use in queue mode. */
	redisCredential: CredentialFixture;
	logFiles: string[];
	/** Kills (SIGKILL) the process that writes this log file, as a crash would; the others go on. */
	kill(logFile: string): Promise<void>;
}

/** The credential id and name useRedisStateStore references. */
export const REDIS_CREDENTIAL_REF = { id: 'crmSyncRedis0001', name: 'Redis (state store)', type: 'redis' } as const;

export function redisCredential(host: string, port: number): CredentialFixture {
	return { ...REDIS_CREDENTIAL_REF, data: { host, port, password: '', database: 0, ssl: false } };
}

/** Package node types that keep sync state (they have the "State Store" parameter). */
/** The package nodes with a State Backend parameter. */
const STATEFUL_NODE_TYPES = ['crmSyncTrigger', 'crmSyncPollTrigger', 'fieldMapper', 'duplicateDetector', 'conflictResolver', 'unifiedCrmUpsert'].map(
	(name) => `${PACKAGE_NAME}.${name}`,
);

/**
 * A copy of a workflow whose stateful package nodes use the Redis state store through n8n's
 * built-in Redis credential (the store every process of a queue-mode n8n shares).
 */
export function useRedisStateStore<T extends Record<string, unknown>>(workflow: T, credential: { id: string; name: string } = REDIS_CREDENTIAL_REF): T {
	const copy = JSON.parse(JSON.stringify(workflow)) as T & { nodes?: Array<{ type: string; parameters?: Record<string, unknown>; credentials?: Record<string, unknown> }> };
	for (const node of copy.nodes ?? []) {
		if (!STATEFUL_NODE_TYPES.includes(node.type)) continue;
		// The Field Mapper uses the store only to resolve references.
		if (node.type === `${PACKAGE_NAME}.fieldMapper` && node.parameters?.resolveReferences !== true) continue;
		// Their settings credential is made Redis instead (startN8n, queue mode).
		if (node.parameters?.stateBackend === 'settings') continue;
		node.parameters = { ...node.parameters, stateBackend: 'redis' };
		node.credentials = { ...node.credentials, redis: { id: credential.id, name: credential.name } };
	}
	return copy;
}

function queueModeWanted(options: StartOptions): boolean {
	return options.queue === undefined ? process.env.CRM_SYNC_E2E_QUEUE === '1' : options.queue !== false;
}

export interface Service {
	port: number;
	stop(): Promise<void>;
}

/** A throw-away redis-server on a free loopback port (no persistence). */
export async function startRedis(): Promise<Service> {
	const port = await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
	child.once('error', () => undefined);
	running.add(child);
	const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
	child.once('exit', () => running.delete(child));
	await waitFor(() => portOpen(port), 10_000, () => child.exitCode !== null).catch((error) => {
		throw new Error(`redis-server did not start (is the redis-server package installed?): ${(error as Error).message}`);
	});
	return {
		port,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				await exited;
			}
		},
	};
}

function systemUser(name: string): { uid?: number; gid?: number } {
	const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
	try {
		return { uid: id('-u'), gid: id('-g') };
	} catch {
		throw new Error(`PostgreSQL refuses to run as root and there is no "${name}" user: install the Debian package postgresql`);
	}
}

/** Where PostgreSQL's server programs are: PATH, or Debian's versioned folder. */
function postgresBin(program: 'initdb' | 'postgres'): string {
	const found = spawnSync('bash', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
	if (found) return found;
	const debian = '/usr/lib/postgresql';
	const versions = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a)) : [];
	for (const version of versions) if (existsSync(join(debian, version, 'bin', program))) return join(debian, version, 'bin', program);
	throw new Error(`PostgreSQL's ${program} not found: install the Debian package postgresql`);
}

/**
 * A throw-away PostgreSQL cluster (trust auth, loopback, database `postgres`, user `n8n`).
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user.
 */
export async function startPostgres(): Promise<Service & { user: string; database: string }> {
	const port = await freePort();
	const dataDir = mkdtempSync(join(tmpdir(), 'crm-sync-pg-'));
	// As root, both programs run as the postgres system user (uid/gid of the child process).
	const user = process.getuid?.() === 0 ? systemUser('postgres') : {};
	if ('uid' in user) chownSync(dataDir, user.uid!, user.gid!);
	execFileSync(postgresBin('initdb'), ['-D', dataDir, '-U', 'n8n', '--auth=trust', '--no-sync', '-E', 'UTF8'], { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
	const child = spawn(postgresBin('postgres'), ['-D', dataDir, '-p', String(port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'], {
		...user,
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	let stderr = '';
	child.stderr!.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
	running.add(child);
	const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
	child.once('exit', () => running.delete(child));
	await waitFor(() => portOpen(port), 30_000, () => child.exitCode !== null).catch((error) => {
		throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${stderr}`);
	});
	return {
		port,
		user: 'n8n',
		database: 'postgres',
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGINT'); // fast shutdown
				const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
				await exited;
				clearTimeout(timer);
			}
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

async function portOpen(port: number): Promise<boolean> {
	return new Promise((resolveOpen) => {
		const socket = connect(port, '127.0.0.1');
		socket.once('connect', () => {
			socket.destroy();
			resolveOpen(true);
		});
		socket.once('error', () => resolveOpen(false));
	});
}

/**
 * One address in front of the processes, as the load balancer of n8n's queue-mode docs: production
 * webhooks (/webhook/...) go to the webhook processor, everything else to main. Existing tests keep
 * using `baseUrl` unchanged.
 */
async function startRouter(mainPort: number, webhookPort: number, port: number): Promise<Service> {
	const server = createHttpServer((req, res) => {
		const target = req.url?.startsWith('/webhook/') ? webhookPort : mainPort;
		const upstream = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
			res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
			answer.pipe(res);
		});
		upstream.on('error', (error) => {
			if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
			res.end(`router: ${error.message}`);
		});
		req.pipe(upstream);
	});
	server.keepAliveTimeout = 65_000;
	await new Promise<void>((resolveListen) => server.listen(port, '127.0.0.1', resolveListen));
	return {
		port,
		async stop() {
			server.closeAllConnections();
			await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
		},
	};
}

async function startQueueMode(options: StartOptions): Promise<N8nInstance> {
	const settings = typeof options.queue === 'object' ? options.queue : {};
	const workerCount = settings.workers ?? 2;
	const cli = ensureN8n();
	const userFolder = prepareUserFolder(options);
	const services: Service[] = [];
	const processes: N8nProcess[] = [];
	const stopAll = async () => {
		await Promise.all(processes.map((p) => p.stop()));
		for (const service of services.reverse()) await service.stop();
		if (!options.userFolder) rmSync(userFolder, { recursive: true, force: true });
	};
	try {
		const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
		services.push(redis, postgres);
		const redisFixture = redisCredential('127.0.0.1', redis.port);
		const mainPort = await freePort();
		const webhookPort = await freePort();
		const routerPort = await freePort();
		const env = await n8nEnv(cli, userFolder, mainPort, {
			// The public address, as behind a load balancer: the URLs triggers register with the CRMs.
			WEBHOOK_URL: `http://127.0.0.1:${routerPort}/`,
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(redis.port),
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: '127.0.0.1',
			DB_POSTGRESDB_PORT: String(postgres.port),
			DB_POSTGRESDB_DATABASE: postgres.database,
			DB_POSTGRESDB_USER: postgres.user,
			DB_POSTGRESDB_PASSWORD: '',
			// Production webhooks are the webhook processor's job; main must not take them.
			N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
			// Four processes start at once; on a busy machine a task runner needs longer than 30 s.
			N8N_RUNNERS_GRANT_TOKEN_TTL: '300',
			...options.env,
		});
		const useRedis = settings.redisStateStore !== false;
		// Nodes on the CRM Sync Settings credential get Redis through it; the others through n8n's Redis credential.
		const credentials = (options.credentials ?? []).map((c) =>
			useRedis && c.type === 'crmSyncSettingsApi' ? { ...c, data: { ...c.data, backend: 'redis', host: '127.0.0.1', port: redis.port } } : c,
		);
		const workflowIds = importAll(cli, env, { ...options, credentials: [...credentials, redisFixture] }, (workflow) => (useRedis ? useRedisStateStore(workflow) : workflow));

		// Each process has its own ports: HTTP (main, webhook), health (workers) and task broker.
		// Main starts alone first (it does the most at start-up); the others then start together.
		const log = (name: string) => join(userFolder, `${name}.log`);
		const anyExited = () => processes.some((p) => p.child.exitCode !== null);
		const ready = (name: string, port: number) =>
			waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz/readiness`)).ok, 480_000, anyExited).catch((error) => {
				throw new Error(`${name} not ready: ${(error as Error).message}`);
			});
		processes.push(await spawnN8n(cli, ['start'], env, log('n8n')));
		await ready('main', mainPort);
		// Published before the webhook processor and workers start, so they load them as at a restart.
		const mainUrl = `http://127.0.0.1:${mainPort}`;
		if (options.publish !== false) await publishAll(ownerApi(mainUrl, { cookie: await login(mainUrl) }), workflowIds, log('n8n'));
		processes.push(await spawnN8n(cli, ['webhook'], { ...env, N8N_PORT: String(webhookPort), N8N_RUNNERS_BROKER_PORT: String(await freePort()) }, log('webhook')));
		const waits = [ready('webhook', webhookPort)];
		for (let i = 1; i <= workerCount; i++) {
			const healthPort = await freePort();
			processes.push(await spawnN8n(cli, ['worker', '--concurrency=10'], {
				...env,
				// info: workers log "Worker started execution <id>", which shows who ran what.
				N8N_LOG_LEVEL: options.env?.N8N_LOG_LEVEL ?? 'info',
				QUEUE_HEALTH_CHECK_ACTIVE: 'true',
				QUEUE_HEALTH_CHECK_PORT: String(healthPort),
				N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
				N8N_RUNNERS_BROKER_PORT: String(await freePort()),
			}, log(`worker-${i}`)));
			waits.push(ready(`worker-${i}`, healthPort));
		}
		await Promise.all(waits);

		const router = await startRouter(mainPort, webhookPort, routerPort);
		services.push(router);
		const baseUrl = `http://127.0.0.1:${router.port}`;
		const session = { cookie: await login(baseUrl) };
		return {
			baseUrl,
			userFolder,
			logFile: log('n8n'),
			queue: {
				mainUrl: `http://127.0.0.1:${mainPort}`,
				webhookUrl: `http://127.0.0.1:${webhookPort}`,
				workers: workerCount,
				redis: { host: '127.0.0.1', port: redis.port },
				redisCredential: redisFixture,
				logFiles: processes.map((p) => p.logFile!),
				async kill(logFile: string) {
					const target = processes.find((p) => p.logFile === logFile);
					if (!target) throw new Error(`no n8n process writes ${logFile}`);
					if (target.child.exitCode !== null || target.child.signalCode !== null) return;
					const exited = new Promise((resolveExit) => target.child.once('exit', resolveExit));
					target.child.kill('SIGKILL');
					await exited;
				},
			},
			api: ownerApi(baseUrl, session),
			stop: stopAll,
		};
	} catch (error) {
		const logs = processes
			.map((p) => `--- ${p.logFile} (exit ${p.child.exitCode})\n${existsSync(p.logFile!) ? readFileSync(p.logFile!, 'utf8').slice(-2000) : ''}`)
			.join('\n');
		await stopAll();
		throw new Error(`n8n (queue mode) did not start: ${(error as Error).message}\n${logs}`);
	}
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
