// The side whose field (or, without per-field times, record) was modified last wins.

import { byNewest, type ConflictStrategy } from '../strategy';

export const lastModifiedWins: ConflictStrategy = {
	decide: (conflict, options) => byNewest(conflict, options),
};
