// A CRM account's metadata for the mapping (lib/mapping/metadata.ts): its deal stages and its
// users, read through the connector and kept per account for a while, so that a sync of one
// deal does not list the account's pipelines and users every time. A stage or user added in the
// CRM is seen within METADATA_TTL_MS.

import type { CrmConnector } from '../connectors/types';
import { buildStageMapping, OwnerDirectory, type CrmMetadata } from '../mapping';

/** How long an account's stages and users are reused before they are read again. */
export const METADATA_TTL_MS = 10 * 60_000;

export interface MetadataSettings {
	/** Stage id or label → unified stage, for this CRM (buildStageMapping's overrides). */
	stageOverrides?: Record<string, string>;
	/** Owner id for records whose owner has no active user in this CRM. */
	defaultOwnerId?: string;
}

const cache = new Map<string, { at: number; metadata: Promise<CrmMetadata> }>();

/** `connector`'s account metadata with `settings` applied: cached per account and settings; a failed read is not kept. */
export function crmMetadata(connector: CrmConnector, settings: MetadataSettings = {}, now = Date.now()): Promise<CrmMetadata> {
	const key = JSON.stringify([connector.credentialKey, settings.stageOverrides ?? {}, settings.defaultOwnerId ?? '']);
	const hit = cache.get(key);
	if (hit && now - hit.at < METADATA_TTL_MS) return hit.metadata;
	const metadata = (async (): Promise<CrmMetadata> => {
		const [stages, users] = await Promise.all([connector.listStages(), connector.listUsers()]);
		const { crm } = connector;
		return {
			crm,
			stages: buildStageMapping(stages, settings.stageOverrides),
			owners: new OwnerDirectory({ [crm]: users }, settings.defaultOwnerId ? { [crm]: settings.defaultOwnerId } : {}),
		};
	})();
	cache.set(key, { at: now, metadata });
	metadata.catch(() => {
		if (cache.get(key)?.metadata === metadata) cache.delete(key);
	});
	return metadata;
}

/** Forgets every cached account (tests, and a user who changed pipelines and wants them now). */
export function forgetCrmMetadata(): void {
	cache.clear();
}
