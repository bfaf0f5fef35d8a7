/** Reads a dot path such as "body.record.email" from a plain object; undefined when any step is missing. */
export function getPath(source: unknown, path: string): unknown {
	let value: unknown = source;
	for (const key of path.split('.')) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}
