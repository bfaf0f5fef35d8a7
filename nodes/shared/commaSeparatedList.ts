// A comma-separated text parameter (IDs, markers, IPs) as its trimmed, non-empty entries.
export const commaSeparatedList = (value: string): string[] =>
	value
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');
