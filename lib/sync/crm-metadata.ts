// A CRM account's metadata for the mapping (lib/mapping/metadata.ts): its deal stages, its users
// and its currencies, read through the connector and kept per account for a while, so that a sync of one
// deal does not list the account's pipelines and users every time. A stage or user added in the
// CRM is seen within METADATA_TTL_MS.

import type { CrmConnector } from '../connectors/types';
import { buildStageMapping, missesOwner, OwnerDirectory, type CrmMetadata } from '../mapping';
import { isCrmName, type CrmName, type EntityType } from '../model';

/** How long an account's stages and users are reused before they are read again. */
export const METADATA_TTL_MS = 10 * 60_000;

export interface MetadataSettings {
	/** Stage id or label → unified stage, for this CRM (buildStageMapping's overrides). */
	stageOverrides?: Record<string, string>;
	/** Owner id for records whose owner has no active user in this CRM. */
	defaultOwnerId?: string;
}

const cache = new Map<string, { at: number; metadata: Promise<CrmMetadata> }>();

/** A cached account read longer ago than this is read again when it misses a user a record names (see crmMetadataKnowing). */
export const METADATA_REFRESH_MS = 60_000;

/**
 * `connector`'s account metadata with `settings` applied: cached per account and settings for
 * METADATA_TTL_MS (`maxAgeMs` asks for a younger one); a failed read is not kept.
 */
export function crmMetadata(connector: CrmConnector, settings: MetadataSettings = {}, now = Date.now(), maxAgeMs = METADATA_TTL_MS): Promise<CrmMetadata> {
	const key = JSON.stringify([connector.credentialKey, settings.stageOverrides ?? {}, settings.defaultOwnerId ?? '']);
	const hit = cache.get(key);
	if (hit && now - hit.at < Math.min(maxAgeMs, METADATA_TTL_MS)) return hit.metadata;
	const metadata = (async (): Promise<CrmMetadata> => {
		const [stages, users, currencies] = await Promise.all([connector.listStages(), connector.listUsers(), connector.listCurrencies()]);
		const { crm } = connector;
		return {
			crm,
			stages: buildStageMapping(stages, settings.stageOverrides),
			owners: new OwnerDirectory({ [crm]: users }, settings.defaultOwnerId ? { [crm]: settings.defaultOwnerId } : {}),
			currencies,
			readAt: now,
		};
	})();
	cache.set(key, { at: now, metadata });
	metadata.catch(() => {
		if (cache.get(key)?.metadata === metadata) cache.delete(key);
	});
	return metadata;
}

/**
 * The metadata for mapping `records`: the cached one, or, when it does not know a user they name
 * (a user added in the CRM since) and was read more than METADATA_REFRESH_MS ago, read again.
 */
export async function crmMetadataKnowing(
	connector: CrmConnector,
	settings: MetadataSettings | undefined,
	entity: EntityType,
	records: Array<Record<string, unknown>>,
	direction: 'toUnified' | 'fromUnified',
	now = Date.now(),
): Promise<CrmMetadata> {
	const metadata = await crmMetadata(connector, settings, now);
	if (now - metadata.readAt <= METADATA_REFRESH_MS || !missesOwner(entity, metadata, records, direction)) return metadata;
	return crmMetadata(connector, settings, now, METADATA_REFRESH_MS);
}

/** Forgets every cached account (tests, and a user who changed pipelines and wants them now). */
export function forgetCrmMetadata(): void {
	cache.clear();
}

/**
 * Each CRM's MetadataSettings from the two settings documents (CRM Sync Settings): stage overrides
 * `{ crm: { stage id or label: unified stage } }` and default owners `{ crm: owner id }`, as JSON
 * text or objects. Throws with the reason for anything else.
 */
export function parseMetadataSettings(stageOverrides: unknown, defaultOwners: unknown): Partial<Record<CrmName, MetadataSettings>> {
	const overrides = jsonObject(stageOverrides, 'Deal Stage Overrides');
	const owners = jsonObject(defaultOwners, 'Default Owners');
	const result: Partial<Record<CrmName, MetadataSettings>> = {};
	for (const [crm, value] of Object.entries(overrides)) {
		if (!isCrmName(crm)) throw new Error(`Deal Stage Overrides: "${crm}" is not a CRM (salesforce, hubspot, pipedrive, zoho, dynamics)`);
		if (!value || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
			throw new Error(`Deal Stage Overrides: "${crm}" must map stage IDs or labels to unified stage names`);
		}
		result[crm] = { stageOverrides: value as Record<string, string> };
	}
	for (const [crm, id] of Object.entries(owners)) {
		if (!isCrmName(crm)) throw new Error(`Default Owners: "${crm}" is not a CRM (salesforce, hubspot, pipedrive, zoho, dynamics)`);
		if ((typeof id !== 'string' && typeof id !== 'number') || String(id).trim() === '') throw new Error(`Default Owners: "${crm}" must be a user ID`);
		result[crm] = { ...result[crm], defaultOwnerId: String(id).trim() };
	}
	return result;
}

function jsonObject(value: unknown, name: string): Record<string, unknown> {
	if (value === undefined || value === null || value === '') return {};
	let parsed = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			throw new Error(`${name} is not valid JSON: ${(error as Error).message}`);
		}
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${name} must be a JSON object keyed by CRM`);
	return parsed as Record<string, unknown>;
}
