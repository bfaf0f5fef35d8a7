import type { ConflictStrategy } from '../strategy';
import type { StrategyName } from '../types';
import { crmWins } from './crm-wins';
import { fieldLevel } from './field-level';
import { lastModifiedWins } from './last-modified-wins';
import { manualReview } from './manual-review';
import { sourceSystemWins } from './source-system-wins';

export const strategies: Record<StrategyName, ConflictStrategy> = {
	'last-modified-wins': lastModifiedWins,
	'source-system-wins': sourceSystemWins,
	'field-level': fieldLevel,
	'crm-wins': crmWins,
	'manual-review': manualReview,
};
