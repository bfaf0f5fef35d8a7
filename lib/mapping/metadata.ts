// Mapping with a CRM's own metadata, where the default maps cannot know the account: deal stages
// through the stage mapping of the account's pipelines (stages.ts), and owners by their user's
// e-mail (owner ids are per CRM). The default maps know each CRM's default pipeline only and
// carry no owner across. Used where the metadata is at hand: the Field Mapper with the CRMs'
// credentials (CRM → unified) and Unified CRM Upsert (unified → CRM).

import type { CrmCurrencies } from '../connectors/types';
import type { CrmName, EntityType, UnifiedRecord } from '../model';
import { compileMapping, type CompiledMapping } from './compile';
import type { OwnerDirectory, OwnerMatch } from './owners';
import type { StageMapping } from './stages';
import type { MapResult, PicklistSpec } from './types';
import { CURRENCY_FROM_METADATA, OWNER_EMAIL_FROM_METADATA, STAGE_FROM_METADATA } from './from-metadata';
import { DEAL_STAGES } from './vocabulary';

/** The unified field that carries a record's owner between CRMs: the owner's e-mail address. */
export const OWNER_EMAIL = 'ownerEmail';
/** The unified field of the CRM-local owner id (the default maps' owner field). */
const OWNER_ID = 'ownerId';

/** What the mapping needs to know of one CRM account. */
export interface CrmMetadata {
	crm: CrmName;
	stages: StageMapping;
	/** The account's users (with its default owner, for owners who have no user here). */
	owners: OwnerDirectory;
	/** The account's currencies, where read: a deal in another currency is refused, never converted. */
	currencies?: CrmCurrencies;
	/** When it was read from the CRM (ms since epoch). */
	readAt: number;
}

/** The entities whose owners (and, for deals, stages) are mapped with the CRM's metadata. */
export const METADATA_ENTITIES: readonly EntityType[] = ['account', 'opportunity'];
/** The entities with a deal stage. */
const STAGED: readonly EntityType[] = ['opportunity'];

const compiled = new WeakMap<CrmMetadata, Map<string, CompiledMapping>>();

function mappingFor(direction: 'toUnified' | 'fromUnified', entity: EntityType, metadata: CrmMetadata): CompiledMapping {
	let byKey = compiled.get(metadata);
	if (!byKey) compiled.set(metadata, (byKey = new Map()));
	const key = `${direction}|${entity}`;
	let mapping = byKey.get(key);
	if (!mapping) {
		const picklists: PicklistSpec[] = STAGED.includes(entity) ? [{ field: 'stage', values: stagePairs(metadata.stages, direction) }] : [];
		const ends = direction === 'toUnified' ? { source: metadata.crm } : { target: metadata.crm };
		mapping = compileMapping({ direction, entity, ...ends, mode: 'lenient', overrides: { picklists } });
		byKey.set(key, mapping);
	}
	return mapping;
}

/**
 * CRM stage id → unified stage. Reading: every stage of every pipeline. Writing: per unified
 * stage the default pipeline's stage it is written to (none where the CRM keeps won and lost
 * outside its stages: the default map's own pair stays).
 */
function stagePairs(stages: StageMapping, direction: 'toUnified' | 'fromUnified'): Record<string, string> {
	const pairs: Record<string, string> = {};
	if (direction === 'toUnified') for (const e of stages.entries) pairs[String(e.stage.id)] = e.unified;
	else {
		for (const unified of DEAL_STAGES) {
			const stage = stages.fromUnified(unified);
			if (stage) pairs[String(stage.id)] = unified;
		}
	}
	return pairs;
}

/** A CRM record in the unified model, its stage read through the account's pipelines and its owner as the user's e-mail. */
export function toUnifiedWithMetadata(entity: EntityType, metadata: CrmMetadata, record: Record<string, unknown>): MapResult {
	const result = mappingFor('toUnified', entity, metadata).map(record);
	const ownerId = result.record[OWNER_ID];
	if (typeof ownerId === 'string' || typeof ownerId === 'number') {
		const email = metadata.owners.emailOf(metadata.crm, ownerId);
		if (email) result.record[OWNER_EMAIL] = email;
	}
	// A CRM-local owner id means nothing in another CRM.
	delete result.record[OWNER_ID];
	// A deal that names no currency is in the account's own.
	if (STAGED.includes(entity) && (result.record.currency === undefined || result.record.currency === null || result.record.currency === '') && metadata.currencies) result.record.currency = metadata.currencies.default;
	return result;
}

/**
 * A unified record as `metadata.crm`'s fields: the stage written to the account's default
 * pipeline, the owner translated by e-mail (OwnerDirectory.ownerFor). `owner` says how it was chosen.
 */
export function fromUnifiedWithMetadata(entity: EntityType, metadata: CrmMetadata, record: UnifiedRecord): MapResult & { owner?: OwnerMatch } {
	const input: UnifiedRecord = { ...record };
	delete input[OWNER_ID];
	delete input[OWNER_EMAIL];
	const email = record[OWNER_EMAIL];
	const owner = typeof email === 'string' && email.trim() !== '' ? metadata.owners.ownerFor(metadata.crm, email) : undefined;
	if (owner?.id) input[OWNER_ID] = owner.id;
	const currencyIssue = STAGED.includes(entity) ? fitCurrency(metadata, input) : undefined;
	const result = mappingFor('fromUnified', entity, metadata).map(input);
	if (currencyIssue) return { ...result, valid: false, issues: [...(result.issues ?? []), currencyIssue] };
	return { ...result, ...(owner ? { owner } : {}) };
}

/**
 * A deal's currency against the target account's: one it cannot hold is an issue (an amount is
 * never converted); in a single-currency account the currency field is left out, since there it
 * does not exist (Salesforce, Zoho) and the amount is in the account's currency anyway.
 */
function fitCurrency(metadata: CrmMetadata, input: UnifiedRecord): { field: string; reason: string } | undefined {
	const { currencies } = metadata;
	if (!currencies || !('currency' in input)) return undefined;
	const code = typeof input.currency === 'string' ? input.currency.trim().toUpperCase() : '';
	if (code && !currencies.enabled.includes(code)) {
		const held = currencies.enabled.length === 1 ? `holds amounts in ${currencies.default} only (a single-currency account)` : `has ${currencies.enabled.length <= 8 ? `the currencies ${currencies.enabled.join(', ')}` : `${currencies.enabled.length} currencies, not this one`}`;
		return { field: 'currency', reason: `is ${code}, but ${metadata.crm} ${held}; the amount is not converted: turn ${code} on in ${metadata.crm}, or fix the deal's currency` };
	}
	// A single-currency account has no currency field to write (an empty one included).
	if (currencies.enabled.length === 1) delete input.currency;
	else if (code) input.currency = code;
	return undefined;
}

/**
 * The CRM record with what the account's metadata says of it: its unified stage, its owner's
 * e-mail and (deals) the account's own currency, under STAGE_FROM_METADATA, OWNER_EMAIL_FROM_METADATA
 * and CURRENCY_FROM_METADATA. Every mapping reads them,
 * the default maps included, so the webhook trigger puts them on the records it emits.
 */
export function withMetadataValues(entity: EntityType, metadata: CrmMetadata, record: Record<string, unknown>): Record<string, unknown> {
	if (!METADATA_ENTITIES.includes(entity)) return record;
	const unified = toUnifiedWithMetadata(entity, metadata, record).record;
	const out = { ...record };
	if ((DEAL_STAGES as readonly unknown[]).includes(unified.stage)) out[STAGE_FROM_METADATA] = unified.stage;
	if (typeof unified[OWNER_EMAIL] === 'string') out[OWNER_EMAIL_FROM_METADATA] = unified[OWNER_EMAIL];
	if (STAGED.includes(entity) && metadata.currencies) out[CURRENCY_FROM_METADATA] = metadata.currencies.default;
	return out;
}

/** Does the metadata know no user for an owner `records` name (an id here, or an e-mail to write)? A user added since it was read. */
export function missesOwner(entity: EntityType, metadata: CrmMetadata, records: Array<Record<string, unknown>>, direction: 'toUnified' | 'fromUnified'): boolean {
	if (!METADATA_ENTITIES.includes(entity)) return false;
	return records.some((record) => {
		if (direction === 'fromUnified') return typeof record[OWNER_EMAIL] === 'string' && metadata.owners.ownerFor(metadata.crm, record[OWNER_EMAIL]).by !== 'email';
		const ownerId = mappingFor('toUnified', entity, metadata).map(record).record[OWNER_ID];
		return (typeof ownerId === 'string' || typeof ownerId === 'number') && ownerId !== '' && !metadata.owners.knows(metadata.crm, ownerId);
	});
}
