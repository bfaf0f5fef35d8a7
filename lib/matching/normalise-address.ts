// Address normalisation: postcode (case, spaces, US ZIP+4), street (common abbreviations).

import { asText, foldText } from './normalise-text';

const STREET_WORDS: Record<string, string> = {
	street: 'st', avenue: 'ave', av: 'ave', road: 'rd', boulevard: 'blvd', drive: 'dr', lane: 'ln',
	court: 'ct', place: 'pl', square: 'sq', terrace: 'ter', highway: 'hwy', parkway: 'pkwy',
	suite: 'ste', apartment: 'apt', floor: 'fl', north: 'n', south: 's', east: 'e', west: 'w',
	strasse: 'str', straße: 'str',
};

export function normalisePostalCode(value: unknown): string | undefined {
	const text = asText(value);
	if (text === undefined) return undefined;
	const code = text.toUpperCase().replace(/[^A-Z0-9]/g, '');
	if (code === '') return undefined;
	// US ZIP+4: the 5-digit ZIP is what both sides reliably have.
	if (/^\d{9}$/.test(code)) return code.slice(0, 5);
	return code;
}

export function normaliseStreet(value: unknown): string | undefined {
	const text = asText(value);
	if (text === undefined) return undefined;
	const folded = foldText(text.replace(/straße/gi, 'strasse'));
	if (folded === '') return undefined;
	return folded
		.split(' ')
		.map((w) => STREET_WORDS[w] ?? w)
		.join(' ');
}

export function normaliseCity(value: unknown): string | undefined {
	const text = asText(value);
	if (text === undefined) return undefined;
	const folded = foldText(text);
	return folded === '' ? undefined : folded;
}
