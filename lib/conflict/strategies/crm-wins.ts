// One named CRM always wins. When neither side is that CRM, the newest value wins.

import { byNewest, type ConflictStrategy } from '../strategy';

export const crmWins: ConflictStrategy = {
	decide(conflict, options) {
		const crm = options.winningCrm;
		if (conflict.source.crm === crm) return { winner: 'source', reason: `${crm} wins` };
		if (conflict.target.crm === crm) return { winner: 'target', reason: `${crm} wins` };
		const choice = byNewest(conflict, options);
		return { ...choice, reason: `neither side is ${crm}; ${choice.reason}` } as typeof choice;
	},
};
