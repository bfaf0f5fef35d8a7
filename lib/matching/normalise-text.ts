// Text folding shared by the name, company and address normalisers.

const SPECIAL_LETTERS: Record<string, string> = {
	ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i',
};

/** Lowercase ASCII words separated by single spaces: accents stripped, apostrophes dropped, other punctuation to spaces. */
export function foldText(value: string): string {
	// Most CRM values are plain ASCII: skip Unicode decomposition for them (hot path).
	const folded = /^[\x00-\x7f]*$/.test(value)
		? value.toLowerCase()
		: value
				.normalize('NFD')
				.replace(/[\u0300-\u036f]/g, '')
				.toLowerCase()
				.replace(/[ßæœøłđðþı]/g, (c) => SPECIAL_LETTERS[c] ?? c);
	return folded
		.replace(/['’`´]/g, '')
		.replace(/&/g, ' and ')
		.replace(/[^a-z0-9]+/g, ' ')
		.trim();
}

export function asText(value: unknown): string | undefined {
	if (typeof value === 'string') return value.trim() === '' ? undefined : value;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return undefined;
}
