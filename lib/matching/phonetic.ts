// American Soundex, used only to build name blocking keys (typo-tolerant buckets).

const CODES: Record<string, string> = {
	b: '1', f: '1', p: '1', v: '1',
	c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2',
	d: '3', t: '3', l: '4', m: '5', n: '5', r: '6',
};

/** Soundex code of a folded (lowercase a-z) word; '' for an empty word. */
export function soundex(word: string): string {
	const letters = word.replace(/[^a-z]/g, '');
	if (letters === '') return '';
	let code = letters[0].toUpperCase();
	let previous = CODES[letters[0]] ?? '';
	for (let i = 1; i < letters.length && code.length < 4; i++) {
		const c = letters[i];
		const digit = CODES[c];
		if (digit !== undefined && digit !== previous) code += digit;
		// 'h' and 'w' do not separate equal codes; vowels do.
		if (c !== 'h' && c !== 'w') previous = digit ?? '';
	}
	return code.padEnd(4, '0');
}
