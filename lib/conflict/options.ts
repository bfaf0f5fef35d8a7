// Validates conflict options and fills in the defaults a new user would expect.

import { isCrmName } from '../model';
import type { ResolvedOptions } from './strategy';
import { DEFAULT_CONSENT_FIELDS, DELETE_POLICIES, FIELD_RULES, STRATEGIES, type ConflictOptions } from './types';

/** Invalid options or input: the message says what to fix. */
export class ConflictError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConflictError';
	}
}

export const DEFAULT_IGNORE_FIELDS = ['id', 'createdAt', 'updatedAt', 'modifiedAt'];

export function normalizeOptions(options: ConflictOptions): ResolvedOptions {
	if (!(STRATEGIES as readonly string[]).includes(options.strategy)) {
		throw new ConflictError(`Unknown conflict strategy ${JSON.stringify(options.strategy)} (use one of ${STRATEGIES.join(', ')})`);
	}
	const crmPriority = options.crmPriority ?? [];
	for (const crm of crmPriority) {
		if (!isCrmName(crm)) throw new ConflictError(`Unknown CRM ${JSON.stringify(crm)} in the CRM priority list`);
	}
	if (options.strategy === 'crm-wins' && !isCrmName(options.winningCrm)) {
		throw new ConflictError('The crm-wins strategy needs the winning CRM (winningCrm)');
	}
	const fieldRules = options.fieldRules ?? {};
	for (const [field, rule] of Object.entries(fieldRules)) {
		if (!(FIELD_RULES as readonly string[]).includes(rule)) {
			throw new ConflictError(`Unknown rule ${JSON.stringify(rule)} for field ${field} (use one of ${FIELD_RULES.join(', ')})`);
		}
	}
	const defaultFieldRule = options.defaultFieldRule ?? 'newest';
	if (!(FIELD_RULES as readonly string[]).includes(defaultFieldRule)) {
		throw new ConflictError(`Unknown default field rule ${JSON.stringify(defaultFieldRule)}`);
	}
	const deletePolicy = options.deletePolicy ?? 'tombstone';
	if (!(DELETE_POLICIES as readonly string[]).includes(deletePolicy)) {
		throw new ConflictError(`Unknown delete policy ${JSON.stringify(deletePolicy)} (use one of ${DELETE_POLICIES.join(', ')})`);
	}
	const clockSkewToleranceMs = options.clockSkewToleranceMs ?? 1000;
	if (!Number.isFinite(clockSkewToleranceMs) || clockSkewToleranceMs < 0) {
		throw new ConflictError('clockSkewToleranceMs must be a number >= 0');
	}
	return {
		strategy: options.strategy,
		crmPriority,
		winningCrm: options.winningCrm,
		fieldRules,
		defaultFieldRule,
		consentFields: options.consentFields ?? DEFAULT_CONSENT_FIELDS,
		deletePolicy,
		clockSkewToleranceMs,
		ignoreFields: options.ignoreFields ?? DEFAULT_IGNORE_FIELDS,
	};
}
