// In-process entry point for tests and benchmarks: start some or all emulators.
//
//   const sb = await startSandbox({ crms: ['hubspot'] });
//   sb.urls.hubspot  // http://127.0.0.1:<random port>
//   await sb.stop();
//
// Each sandbox/<crm>/index.ts exports `createEmulator(opts?: EmulatorOptions): Emulator`.

import { CrmName, Emulator, EmulatorFactory, EmulatorOptions, FaultOptions, SANDBOX_CRMS, SeedOptions } from './common/types';
import { createEmulator as createSalesforce } from './salesforce';
import { createEmulator as createHubSpot } from './hubspot';
import { createEmulator as createPipedrive } from './pipedrive';
import { createEmulator as createZoho } from './zoho';
import { createEmulator as createDynamics } from './dynamics';

export * from './common/types';

export interface SandboxOptions {
	/** Which CRMs to start (default: all five). */
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

/** The five emulator factories (each sandbox/<crm>/index.ts exports `createEmulator`). */
export const EMULATOR_FACTORIES: Record<CrmName, EmulatorFactory> = {
	salesforce: createSalesforce,
	hubspot: createHubSpot,
	pipedrive: createPipedrive,
	zoho: createZoho,
	dynamics: createDynamics,
};

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
	const wanted = opts.crms ?? [...SANDBOX_CRMS];
	const emulators: Partial<Record<CrmName, Emulator>> = {};
	const urls: Partial<Record<CrmName, string>> = {};
	const started: Emulator[] = [];
	try {
		for (const crm of wanted) {
			const factory = EMULATOR_FACTORIES[crm];
			if (!factory) throw new Error(`unknown CRM ${String(crm)}`);
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
