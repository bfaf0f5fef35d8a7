// Company-name normalisation: case, accents, punctuation, a leading "The" and trailing legal
// forms (Inc, Ltd, GmbH, LLC, Corp, SA, BV, AG, PLC, Pty...), repeatedly ('Acme Pty Ltd').

import { asText, foldText } from './normalise-text';

const LEGAL_FORMS = new Set([
	'inc', 'incorporated', 'ltd', 'limited', 'llc', 'llp', 'lp', 'corp', 'corporation', 'co', 'company',
	'plc', 'gmbh', 'mbh', 'ag', 'kg', 'kgaa', 'ug', 'se', 'sa', 'sas', 'sarl', 'sl', 'srl', 'spa', 'bv', 'nv',
	'pty', 'pvt', 'pte', 'oy', 'oyj', 'ab', 'as', 'asa', 'aps', 'kk', 'pc', 'pllc', 'lda', 'ltda', 'cv', 'de', // 'de' / 'cv': 'S.A. de C.V.'
	'holding', 'holdings', 'group',
]);

/** Normalised company name, or undefined if nothing is left. */
export function normaliseCompany(value: unknown): string | undefined {
	const text = asText(value);
	if (text === undefined) return undefined;
	// Dotted legal forms ('S.A.', 'B.V.', 'L.L.C.') fold to single letters: join them first.
	const joined = text.replace(/\b((?:[A-Za-z]\.){2,})/g, (m) => m.replace(/\./g, ''));
	const tokens = foldText(joined).split(' ').filter((t) => t !== '');
	if (tokens[0] === 'the' && tokens.length > 1) tokens.shift();
	while (tokens.length > 1 && LEGAL_FORMS.has(tokens[tokens.length - 1])) tokens.pop();
	return tokens.length > 0 ? tokens.join(' ') : undefined;
}
