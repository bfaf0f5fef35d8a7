// Blocking: only records that share a blocking key are compared, never all pairs. Keys:
//   e|email                       exact normalised email
//   p|phone                       each normalised phone
//   n|soundexA|soundexB           both name parts' Soundex codes, sorted (survives swapped names)
//   nf|soundex(last)|formalFirst  family-name sound + nickname-resolved given name (Bob = Robert)
//   nc|soundex(last)|company      family-name sound + first company word
//   fc|formalFirst|company        given name + company (survives family-name typos)
//   np|soundex(last)|postcode     family-name sound + postcode
// Blocks with more than `maxBlockSize` records (a shared switchboard number, a very common
// name) are skipped: the comparison count stays about linear in the number of records, and the
// other keys still bring such pairs together when they are real duplicates.

import { soundex } from './phonetic';
import type { PreparedRecord } from './types';

export const DEFAULT_MAX_BLOCK_SIZE = 100;

function companyToken(company: string | undefined): string | undefined {
	if (company === undefined) return undefined;
	const first = company.split(' ')[0];
	return first.length >= 2 ? first : company.replace(/ /g, '');
}

export function blockingKeys(record: PreparedRecord): string[] {
	const keys: string[] = [];
	if (record.email !== undefined) keys.push(`e|${record.email}`);
	for (const phone of record.phones) keys.push(`p|${phone}`);
	const last = record.lastName === undefined ? undefined : soundex(record.lastName);
	const company = companyToken(record.company);
	const formal = record.firstName !== undefined && record.firstName.length > 1 ? record.firstNameCanonical : [];
	if (last) {
		if (record.firstName !== undefined && record.firstName.length > 1) {
			const first = soundex(record.firstName);
			keys.push(first < last ? `n|${first}|${last}` : `n|${last}|${first}`);
		}
		for (const name of formal) keys.push(`nf|${last}|${name}`);
		if (company !== undefined) keys.push(`nc|${last}|${company}`);
		if (record.postalCode !== undefined) keys.push(`np|${last}|${record.postalCode}`);
	}
	if (company !== undefined) for (const name of formal) keys.push(`fc|${name}|${company}`);
	return [...new Set(keys)];
}

/** Blocking key -> slots of the records carrying it. */
export class BlockIndex {
	private readonly blocks = new Map<string, number[]>();

	constructor(readonly maxBlockSize = DEFAULT_MAX_BLOCK_SIZE) {}

	/** `keys` must be distinct (blockingKeys returns them so) and the slot not yet added. */
	add(slot: number, keys: string[]): void {
		for (const key of keys) {
			const block = this.blocks.get(key);
			if (block === undefined) this.blocks.set(key, [slot]);
			else block.push(slot);
		}
	}

	remove(slot: number, keys: string[]): void {
		for (const key of keys) {
			const block = this.blocks.get(key);
			if (block === undefined) continue;
			const at = block.indexOf(slot);
			if (at >= 0) block.splice(at, 1);
			if (block.length === 0) this.blocks.delete(key);
		}
	}

	/** Slots sharing any usable (not oversized) block with `keys`, excluding `self`. */
	candidates(keys: string[], self?: number): Set<number> {
		const found = new Set<number>();
		for (const key of keys) {
			const block = this.blocks.get(key);
			if (block === undefined || block.length > this.maxBlockSize) continue;
			for (const slot of block) if (slot !== self) found.add(slot);
		}
		return found;
	}

	/** Every distinct pair (a < b) sharing a usable block, as [a, b]; stats count what was skipped. */
	pairs(): { pairs: Array<[number, number]>; stats: BlockingStats } {
		const seen = new Set<number>();
		const pairs: Array<[number, number]> = [];
		const stats: BlockingStats = { blocks: this.blocks.size, oversizedBlocks: 0, candidatePairs: 0 };
		// Slots are < 2^26 in practice; a * 2^26 + b stays an exact integer in a double.
		const SHIFT = 67_108_864;
		for (const block of this.blocks.values()) {
			if (block.length < 2) continue;
			if (block.length > this.maxBlockSize) {
				stats.oversizedBlocks++;
				continue;
			}
			for (let i = 0; i < block.length; i++) {
				for (let j = i + 1; j < block.length; j++) {
					const a = Math.min(block[i], block[j]);
					const b = Math.max(block[i], block[j]);
					const id = a * SHIFT + b;
					if (seen.has(id)) continue;
					seen.add(id);
					pairs.push([a, b]);
				}
			}
		}
		stats.candidatePairs = pairs.length;
		return { pairs, stats };
	}

	get size(): number {
		return this.blocks.size;
	}
}

export interface BlockingStats {
	/** Distinct blocking keys. */
	blocks: number;
	/** Blocks skipped for exceeding maxBlockSize. */
	oversizedBlocks: number;
	/** Distinct pairs compared. */
	candidatePairs: number;
}
