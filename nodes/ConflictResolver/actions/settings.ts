// The one reader of the Resolve settings, for both modes: read once, validated up front, so a
// bad setting fails the node instead of each item.

import type { IExecuteFunctions } from 'n8n-workflow';

import { normalizeOptions, type ConflictOptions, type FieldRule, type StrategyName } from '../../../lib/conflict';
import type { CrmName, EntityType } from '../../../lib/model';
import { commaSeparatedList } from '../../shared/commaSeparatedList';
import { toNodeError } from '../../shared/errors';

/** The Options collection. */
export interface ResolverOptions {
	auditValues?: boolean;
	clockSkewToleranceMs?: number;
	consentFields?: string;
	defaultEntity?: EntityType;
	ignoreFields?: string;
	statePath?: string;
}

/** The validated settings. Read at item 0: strategy, rules and tolerances configure the node, not the item. */
export function readSettings(ctx: IExecuteFunctions): ConflictOptions {
	try {
		const options = ctx.getNodeParameter('options', 0, {}) as ResolverOptions;
		const strategy = ctx.getNodeParameter('strategy', 0) as StrategyName;
		const rules = (ctx.getNodeParameter('fieldRules', 0, {}) as { rule?: Array<{ field: string; winner: FieldRule }> }).rule ?? [];
		const settings: ConflictOptions = {
			strategy,
			crmPriority: commaSeparatedList(ctx.getNodeParameter('crmPriority', 0, '') as string).map((c) => c.toLowerCase()) as CrmName[],
			winningCrm: strategy === 'crm-wins' ? (ctx.getNodeParameter('winningCrm', 0) as CrmName) : undefined,
			fieldRules: Object.fromEntries(rules.filter((r) => r.field.trim() !== '').map((r) => [r.field.trim(), r.winner])),
			defaultFieldRule: strategy === 'field-level' ? (ctx.getNodeParameter('defaultFieldRule', 0, 'newest') as FieldRule) : undefined,
			consentFields: options.consentFields === undefined ? undefined : commaSeparatedList(options.consentFields),
			deletePolicy: ctx.getNodeParameter('deletePolicy', 0, 'tombstone') as ConflictOptions['deletePolicy'],
			clockSkewToleranceMs: options.clockSkewToleranceMs,
			ignoreFields: options.ignoreFields === undefined ? undefined : commaSeparatedList(options.ignoreFields),
		};
		normalizeOptions(settings);
		return settings;
	} catch (error) {
		throw toNodeError(ctx.getNode(), error);
	}
}

/** The Default Entity option, per item: it names the entity of that item's record. */
export function defaultEntityOf(ctx: IExecuteFunctions, itemIndex: number): EntityType | undefined {
	return (ctx.getNodeParameter('options', itemIndex, {}) as ResolverOptions).defaultEntity;
}
