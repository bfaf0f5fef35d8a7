// What the default maps read of a CRM account's metadata (lib/mapping/metadata.ts): the webhook
// trigger puts a deal's unified stage, a deal's or company's owner e-mail and the account's own
// currency on the CRM record under these keys.
// Kept apart from shapes.ts: the CRM maps import it while the mapping modules load.

import type { FieldSpec, ValueMap } from './types';
import { DEAL_STAGES, valueMap } from './vocabulary';

export const STAGE_FROM_METADATA = 'crmSyncStage';
export const OWNER_EMAIL_FROM_METADATA = 'crmSyncOwnerEmail';
export const CURRENCY_FROM_METADATA = 'crmSyncCurrency';

/** A deal-stage value map (pairs as valueMap's) that also reads the unified stages themselves (STAGE_FROM_METADATA). */
export function dealStageValues(pairs: [string, string | number][]): ValueMap {
	return valueMap([...pairs, ...DEAL_STAGES.map((stage): [string, string] => [stage, stage])]);
}

/** A record owner's e-mail, as the trigger read it with the CRM's users (never written: owners are written by id). */
export const ownerEmailFromMetadata: FieldSpec = { unified: 'ownerEmail', crm: OWNER_EMAIL_FROM_METADATA, type: 'email', write: false, virtual: true };

/**
 * The account's own currency, for a deal that names none (a single-currency account has no
 * currency field): listed before the deal's own currency field, which wins where it has a value.
 */
export const currencyFromMetadata: FieldSpec = { unified: 'currency', crm: CURRENCY_FROM_METADATA, type: 'currency', write: false, virtual: true };
