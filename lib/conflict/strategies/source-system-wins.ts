// The CRM higher in the priority list wins. Between CRMs of equal rank (e.g. both unlisted, or
// no list at all) the system the change comes from (the source) wins.

import { byPriority, type ConflictStrategy } from '../strategy';

export const sourceSystemWins: ConflictStrategy = {
	decide: (conflict, options) =>
		byPriority(conflict, options) ?? { winner: 'source', reason: 'source system wins (no priority between these CRMs)' },
};
