// Consent guard: a consent field (true = opted out) never moves from opt-out to opt-in unless
// the opt-in is strictly newer than the opt-out (beyond the clock-skew tolerance). Missing
// timestamps cannot prove that, so the opt-out is kept.

import { defaultMap } from '../mapping';
import type { CrmName, EntityType } from '../model';
import { DEFAULT_CONSENT_FIELDS, type Side } from './types';

const OPT_OUT_STRINGS = new Set(['true', 'yes', 'y', '1', 'opted out', 'opted-out', 'optout', 'unsubscribed']);

export function isOptOut(value: unknown): boolean {
	if (value === true || value === 1) return true;
	return typeof value === 'string' && OPT_OUT_STRINGS.has(value.trim().toLowerCase());
}

export interface ConsentCheck {
	winner: Side;
	sourceValue: unknown;
	targetValue: unknown;
	sourceTime?: number;
	targetTime?: number;
	toleranceMs: number;
}

/** The side to keep after the guard, with a reason when it overrides the proposed winner. */
export function guardConsent(check: ConsentCheck): { winner: Side; reason?: string } {
	const loser: Side = check.winner === 'source' ? 'target' : 'source';
	const winnerValue = check.winner === 'source' ? check.sourceValue : check.targetValue;
	const loserValue = check.winner === 'source' ? check.targetValue : check.sourceValue;
	if (isOptOut(winnerValue) || !isOptOut(loserValue)) return { winner: check.winner };
	const optInTime = check.winner === 'source' ? check.sourceTime : check.targetTime;
	const optOutTime = check.winner === 'source' ? check.targetTime : check.sourceTime;
	if (optInTime !== undefined && optOutTime !== undefined && optInTime > optOutTime + check.toleranceMs) {
		return { winner: check.winner };
	}
	const why = optInTime === undefined || optOutTime === undefined ? 'timestamp missing' : 'opt-in not strictly newer';
	return { winner: loser, reason: `consent: opt-out kept (${why})` };
}

/**
 * The CRM keys that hold the consent `fields` (read or written) in `crm`'s default map of
 * `entity`; none where the entity has no such field.
 */
export function consentKeys(crm: CrmName, entity: EntityType, fields: readonly string[] = DEFAULT_CONSENT_FIELDS): string[] {
	let specs;
	try {
		specs = defaultMap(crm, entity).fields;
	} catch {
		return [];
	}
	return specs.filter((f) => fields.includes(f.unified)).flatMap((f) => [f.crm, ...(f.keys ?? []), ...(Array.isArray(f.read) ? f.read : [])]);
}
