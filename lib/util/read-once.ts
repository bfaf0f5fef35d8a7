// A read made once and shared by every caller (an account's currencies, for example), where a
// failed read is not kept: the next call tries again.

export function readOnce<T>(read: () => Promise<T>): () => Promise<T> {
	let pending: Promise<T> | undefined;
	return () =>
		(pending ??= read().catch((error: unknown) => {
			pending = undefined;
			throw error;
		}));
}
