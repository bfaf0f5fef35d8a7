import { Client } from '@hubspot/api-client';
import type { EntityType } from '../model';
import { CrmError, NotImplementedError, type CrmConnector, type ErrorCategory, type UpsertRequest, type WriteOutcome } from './types';

export function create(credentials: Record<string, unknown>): CrmConnector {
	return new HubSpotConnector({ accessToken: String(credentials.accessToken ?? ''), baseUrl: credentials.baseUrl as string | undefined });
}

export interface HubSpotConfig {
	accessToken: string;
	/** Defaults to https://api.hubapi.com; a sandbox or proxy URL otherwise. */
	baseUrl?: string;
}

const BATCH_LIMIT = 100;

/** HubSpot CRM v3 through the official SDK. */
export class HubSpotConnector implements CrmConnector {
	readonly crm = 'hubspot' as const;

	private readonly client: Client;

	constructor(config: HubSpotConfig) {
		this.client = new Client({
			accessToken: config.accessToken,
			basePath: (config.baseUrl || 'https://api.hubapi.com').replace(/\/+$/, ''),
		});
	}

	maxBatchSize(): number {
		return BATCH_LIMIT;
	}

	async upsert(entity: EntityType, matchKey: string, records: UpsertRequest[]): Promise<WriteOutcome[]> {
		if (entity !== 'contact') throw new NotImplementedError(`HubSpot upsert of ${entity}`);
		const outcomes: WriteOutcome[] = [];
		const valid: Array<{ ref: number; key: string; properties: Record<string, string> }> = [];
		for (const { ref, fields } of records) {
			const key = fields[matchKey];
			if (key === undefined || key === null || String(key).trim() === '') {
				outcomes.push({ ref, status: 'failed', category: 'validation', code: 'MISSING_MATCH_KEY', message: `Upsert by ${matchKey} needs a value for ${matchKey}` });
				continue;
			}
			valid.push({ ref, key: normaliseKey(matchKey, key), properties: toHubSpotProperties(fields) });
		}
		for (let start = 0; start < valid.length; start += BATCH_LIMIT) {
			outcomes.push(...(await this.upsertContactBatch(matchKey, valid.slice(start, start + BATCH_LIMIT))));
		}
		return outcomes.sort((a, b) => a.ref - b.ref);
	}

	matchField(): string | undefined {
		throw new NotImplementedError('HubSpot matchField');
	}
	get(): never {
		throw new NotImplementedError('HubSpot get');
	}
	search(): never {
		throw new NotImplementedError('HubSpot search');
	}
	create(): never {
		throw new NotImplementedError('HubSpot create');
	}
	update(): never {
		throw new NotImplementedError('HubSpot update');
	}
	delete(): never {
		throw new NotImplementedError('HubSpot delete');
	}
	merge(): never {
		throw new NotImplementedError('HubSpot merge');
	}
	listChanges(): never {
		throw new NotImplementedError('HubSpot listChanges');
	}
	describeFields(): never {
		throw new NotImplementedError('HubSpot describeFields');
	}

	async testConnection(): Promise<void> {
		try {
			await this.client.crm.contacts.basicApi.getPage(1);
		} catch (error) {
			throw toCrmError(error);
		}
	}

	private async upsertContactBatch(
		matchKey: string,
		batch: Array<{ ref: number; key: string; properties: Record<string, string> }>,
	): Promise<WriteOutcome[]> {
		// HubSpot rejects a batch that names one key twice; the last write for a key wins, as it would sequentially.
		const lastByKey = new Map<string, (typeof batch)[number]>();
		for (const entry of batch) lastByKey.set(entry.key, entry);
		let response;
		try {
			response = await this.client.crm.contacts.batchApi.upsert({
				inputs: [...lastByKey.values()].map((entry) => ({ idProperty: matchKey, id: entry.key, properties: entry.properties })),
			});
		} catch (error) {
			throw toCrmError(error);
		}
		const byKey = new Map<string, WriteOutcome>();
		for (const result of response.results) {
			const key = normaliseKey(matchKey, result.properties[matchKey]);
			byKey.set(key, { ref: -1, status: result._new ? 'created' : 'updated', id: result.id });
		}
		for (const error of ('errors' in response && response.errors) || []) {
			for (const id of error.context?.ids ?? []) {
				byKey.set(normaliseKey(matchKey, id), { ref: -1, status: 'failed', category: 'validation', code: error.category, message: error.message });
			}
		}
		return batch.map(({ ref, key }) => {
			const outcome = byKey.get(key);
			if (!outcome) return { ref, status: 'failed', category: 'fatal', message: `HubSpot returned no result for ${matchKey} ${key}` };
			return { ...outcome, ref };
		});
	}
}

// HubSpot compares emails case-insensitively; other unique properties are compared as given.
function normaliseKey(matchKey: string, value: unknown): string {
	const text = String(value ?? '').trim();
	return matchKey === 'email' ? text.toLowerCase() : text;
}

function toHubSpotProperties(fields: Record<string, unknown>): Record<string, string> {
	const properties: Record<string, string> = {};
	for (const [name, value] of Object.entries(fields)) {
		if (value === undefined) continue;
		properties[name] = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
	}
	return properties;
}

function toCrmError(error: unknown): CrmError {
	const status = typeof (error as { code?: unknown })?.code === 'number' ? (error as { code: number }).code : undefined;
	const body = (error as { body?: unknown })?.body;
	const message = (body as { message?: string } | undefined)?.message ?? (error instanceof Error ? error.message : String(error));
	return new CrmError(`HubSpot: ${message}`, 'hubspot', classifyStatus(status), { httpStatus: status, body });
}

function classifyStatus(status: number | undefined): ErrorCategory {
	if (status === undefined || status >= 500) return 'transient';
	if (status === 429) return 'rate_limit';
	if (status === 401 || status === 403) return 'auth';
	if (status >= 400) return 'validation';
	return 'fatal';
}
