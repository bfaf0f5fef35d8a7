// State stores opened by a suite are closed in the suite's `after`, so a failing assertion
// cannot leave a Redis connection open and keep the test process from exiting.
import { after } from 'node:test';

import type { StateStore } from '../../../lib/state';

/** Wraps a store opener; call it inside `describe`. Tests may still close their stores (close is idempotent). */
export function closedAfterSuite<A extends unknown[]>(open: (...args: A) => Promise<StateStore>): (...args: A) => Promise<StateStore> {
	const opened: StateStore[] = [];
	after(async () => {
		for (const store of opened.splice(0)) await store.close();
	});
	return async (...args: A) => {
		const store = await open(...args);
		opened.push(store);
		return store;
	};
}
