// Public entry of lib/matching: duplicate detection for unified records.

export * from './types';
export { normaliseEmail } from './normalise-email';
export { checkPhoneCountry, normalisePhone, phoneSearchVariants } from './normalise-phone';
export { normalisePersonName, type PersonName } from './normalise-name';
export { normaliseCompany } from './normalise-company';
export { isSharedDomain, normaliseDomain } from './normalise-domain';
export { accountKeys, findAccountDuplicates, sameAccount, type AccountCluster, type AccountKeys, type AccountLike } from './accounts';
export { normaliseCity, normalisePostalCode, normaliseStreet } from './normalise-address';
export { formalNames, NICKNAME_TABLE_SIZE } from './nicknames';
export { prepareRecord, MATCH_FIELDS } from './prepare';
export {
	compareAddress,
	compareCompany,
	compareEmail,
	compareGivenNames,
	compareNames,
	comparePhone,
	comparePostalCode,
	compareRecords,
} from './comparators';
export { jaroWinklerSimilarity, levenshteinRatio, stringSimilarity } from './similarity';
export { soundex } from './phonetic';
export { BlockIndex, blockingKeys, DEFAULT_MAX_BLOCK_SIZE, type BlockingStats } from './blocking';
export { DEFAULT_SIMPLE_WEIGHTS, DEFAULT_THRESHOLD, scoreSimple } from './scoring-simple';
export {
	DEFAULT_FS_PARAMETERS,
	estimateFellegiSunter,
	scoreFellegiSunter,
	validateFsParameters,
	type FellegiSunterParameters,
} from './scoring-fellegi-sunter';
export { PairScorer, type PairScore, type ScoringOptions } from './scorer';
export { connectedComponents, UnionFind } from './cluster';
export { chooseMaster, completeness } from './master';
export { findDuplicatesInBatch, type BatchMatchResult, type DuplicateCluster, type MatchOptions } from './detector';
export { MatchIndex, INDEX_COLLECTION, INDEX_LOG_COLLECTION, LOG_OVERLAP_MS, LOG_RETENTION_MS, type IndexMatch, type MatchIndexStore } from './match-index';
export { accountBatchOutcomes, batchOutcomes, indexOutcomes, type DuplicateOutcome, type MatchOutcome, type UniqueOutcome } from './outcomes';
export { forgetMatchIndex, sharedMatchIndex } from './index-cache';
export {
	matchAgainstCrm,
	mergeCrmClusters,
	type CrmDuplicateOutcome,
	type CrmMatchOptions,
	type CrmMatchOutcome,
	type CrmMergeResult,
	type CrmMerger,
	type CrmSearcher,
} from './against-crm';
