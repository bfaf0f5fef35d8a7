// Every true conflict goes to a human; fields changed on one side only still merge automatically.

import type { ConflictStrategy } from '../strategy';

export const manualReview: ConflictStrategy = {
	decide: (conflict) => ({ review: true, reason: `conflict on ${conflict.field}: manual review` }),
};
