// How records are matched: the Options collection and, for Find Duplicates, the scoring. Read
// at item 0: they configure how the whole batch is matched, not one item.

import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { checkPhoneCountry, validateFsParameters, type MasterRule, type MatchOptions, type ScoringMode, type SimpleWeights } from '../../../lib/matching';
import { toNodeError } from '../../shared/errors';

/** The Options collection. */
export interface DetectorOptions {
	addUniqueToIndex?: boolean;
	crmField?: string;
	defaultCountry?: string;
	gmailFolding?: boolean;
	masterRule?: MasterRule;
	maxBlockSize?: number;
	modifiedField?: string;
	preferredCrm?: string;
	recordField?: string;
	statePath?: string;
}

/** Normalisation, blocking and master rule: what Update and Remove From Index need. A bad option fails the node. */
export function readIndexOptions(ctx: IExecuteFunctions): MatchOptions {
	try {
		const options = ctx.getNodeParameter('options', 0, {}) as DetectorOptions;
		return {
			gmailFolding: options.gmailFolding === true,
			defaultCountry: checkPhoneCountry(options.defaultCountry?.trim() || 'US'),
			maxBlockSize: options.maxBlockSize,
			master: {
				rule: options.masterRule ?? 'mostComplete',
				preferredCrm: options.preferredCrm,
				crmField: options.crmField?.trim() || undefined,
				modifiedField: options.modifiedField?.trim() || undefined,
			},
		};
	} catch (error) {
		throw toNodeError(ctx.getNode(), error);
	}
}

/** readIndexOptions with the scoring, for Find Duplicates. */
export function readMatchOptions(ctx: IExecuteFunctions): MatchOptions {
	const common = readIndexOptions(ctx);
	const mode = ctx.getNodeParameter('scoringMode', 0) as ScoringMode;
	const threshold = ctx.getNodeParameter('threshold', 0) as number;
	if (mode === 'simple') return { ...common, mode, threshold, weights: ctx.getNodeParameter('weights', 0, {}) as Partial<SimpleWeights> };
	const raw = ctx.getNodeParameter('fsParameters', 0, '') as string | IDataObject;
	const given = typeof raw === 'string' ? raw.trim() : raw;
	if (given === '' || (typeof given === 'object' && Object.keys(given).length === 0)) return { ...common, mode, threshold };
	try {
		return { ...common, mode, threshold, fsParameters: validateFsParameters(typeof given === 'string' ? JSON.parse(given) : given) };
	} catch (error) {
		const what = error instanceof SyntaxError ? 'Fellegi-Sunter Parameters is not valid JSON' : undefined;
		throw toNodeError(ctx.getNode(), error, { what });
	}
}
