// In-process entry point for tests and benchmarks: start some or all emulators.
//
//   const sb = await startSandbox({ crms: ['hubspot'] });
//   sb.urls.hubspot  // http://127.0.0.1:<random port>
//   await sb.stop();
//
// Each sandbox/<crm>/index.ts exports `createEmulator(opts?: EmulatorOptions): Emulator`.
// Emulator modules that do not exist (yet) are skipped unless requested explicitly in `crms`.

import { CrmName, DEFAULT_PORTS, Emulator, EmulatorFactory, EmulatorOptions, FaultOptions, SANDBOX_CRMS, SeedOptions } from './common/types';

export * from './common/types';

export interface SandboxOptions {
	/** Which CRMs to start (default: all whose module exists). */
	crms?: CrmName[];
	/** Ports per CRM; 0 or missing = random free port. */
	ports?: Partial<Record<CrmName, number>>;
	host?: string;
	rateLimits?: boolean;
	strictAuth?: boolean;
	tokenLifetimeMs?: number;
	faults?: FaultOptions;
	seed?: SeedOptions;
	/** Extra options per CRM (merged over the shared ones). */
	perCrm?: Partial<Record<CrmName, EmulatorOptions>>;
	webhookRetryDelayScale?: number;
}

export interface Sandbox {
	urls: Partial<Record<CrmName, string>>;
	emulators: Partial<Record<CrmName, Emulator>>;
	stop(): Promise<void>;
}

/** Loads `createEmulator` from sandbox/<crm>; undefined when that module does not exist. */
export function loadEmulatorFactory(crm: CrmName): EmulatorFactory | undefined {
	const path = `./${crm}`;
	let mod: { createEmulator?: EmulatorFactory };
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		mod = require(path);
	} catch (err) {
		const e = err as NodeJS.ErrnoException & { requireStack?: unknown };
		// Only "this module is missing" is tolerated; errors inside an existing module surface.
		if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${path}'`)) return undefined;
		throw err;
	}
	if (typeof mod.createEmulator !== 'function') throw new Error(`sandbox/${crm}/index.ts does not export createEmulator`);
	return mod.createEmulator;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
	const wanted = opts.crms ?? [...SANDBOX_CRMS];
	const emulators: Partial<Record<CrmName, Emulator>> = {};
	const urls: Partial<Record<CrmName, string>> = {};
	const started: Emulator[] = [];
	try {
		for (const crm of wanted) {
			const factory = loadEmulatorFactory(crm);
			if (!factory) {
				if (opts.crms) throw new Error(`sandbox emulator for ${crm} is not implemented (no sandbox/${crm}/index.ts)`);
				continue;
			}
			const em = factory({
				port: opts.ports?.[crm] ?? 0,
				host: opts.host,
				rateLimits: opts.rateLimits,
				strictAuth: opts.strictAuth,
				tokenLifetimeMs: opts.tokenLifetimeMs,
				faults: opts.faults,
				seed: opts.seed,
				webhookRetryDelayScale: opts.webhookRetryDelayScale,
				...opts.perCrm?.[crm],
			});
			urls[crm] = await em.start();
			emulators[crm] = em;
			started.push(em);
		}
	} catch (err) {
		await Promise.all(started.map((e) => e.stop()));
		throw err;
	}
	return {
		urls,
		emulators,
		stop: async () => {
			await Promise.all(started.map((e) => e.stop()));
		},
	};
}

export { DEFAULT_PORTS };
