// The change cursor a connector hands to polling: its own paging state as JSON, base64url-encoded,
// so that callers keep it as an opaque string.

export function encodeCursor(cursor: object): string {
	return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The connector's cursor back, or an error naming the CRM when `raw` is not one of its cursors. */
export function decodeCursor<T extends object>(raw: string, crm: string, isCursor: (value: Record<string, unknown>) => boolean = () => true): T {
	try {
		const cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
		if (typeof cursor === 'object' && cursor !== null && !Array.isArray(cursor) && isCursor(cursor as Record<string, unknown>)) return cursor as T;
	} catch {
		// not JSON: reported below
	}
	throw new Error(`Not a ${crm} change cursor: ${raw.slice(0, 40)}`);
}
