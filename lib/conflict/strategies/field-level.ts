// A rule per field: always the source, always the target, the newest, or the CRM priority list
// (priority falls back to newest between CRMs of equal rank).

import { byNewest, byPriority, type ConflictStrategy } from '../strategy';

export const fieldLevel: ConflictStrategy = {
	decide(conflict, options) {
		const rule = options.fieldRules[conflict.field] ?? options.defaultFieldRule;
		switch (rule) {
			case 'source':
				return { winner: 'source', reason: `field rule: source` };
			case 'target':
				return { winner: 'target', reason: `field rule: target` };
			case 'priority': {
				const choice = byPriority(conflict, options) ?? byNewest(conflict, options);
				return { ...choice, reason: `field rule: priority; ${choice.reason}` } as typeof choice;
			}
			case 'newest': {
				const choice = byNewest(conflict, options);
				return { ...choice, reason: `field rule: newest; ${choice.reason}` } as typeof choice;
			}
		}
	},
};
