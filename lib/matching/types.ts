// Types shared inside lib/matching. Framework-free.

import type { UnifiedRecord } from '../model';

/** Options of the normalisers. */
export interface NormaliseOptions {
	/** Fold Gmail/Googlemail addresses: drop dots and "+tag" in the local part. Default false. */
	gmailFolding?: boolean;
	/** ISO 3166 country used for phone numbers written without a country code. Default 'US'. */
	defaultCountry?: string;
}

/** A record reduced to the normalised values the comparators and blocking keys use. */
export interface PreparedRecord {
	/** Position in the batch, or the index's internal slot. */
	slot: number;
	/** The record's id (string form) if it had one. */
	id?: string;
	source: UnifiedRecord;
	email?: string;
	/** Domain of `email`, for the company comparator. */
	emailDomain?: string;
	/** Normalised phones (E.164 or digits-only fallback), phone and mobilePhone, de-duplicated. */
	phones: string[];
	/** Name tokens after normalisation (lowercase ASCII, no punctuation, no titles). */
	firstName?: string;
	lastName?: string;
	/** Canonical given names of `firstName` (nickname groups), for nickname-aware comparison. */
	firstNameCanonical: string[];
	company?: string;
	street?: string;
	city?: string;
	postalCode?: string;
	country?: string;
}

/** Per-field outcome of comparing two records. Undefined similarity = a side is missing. */
export interface ComparisonVector {
	email?: boolean;
	phone?: boolean;
	/** 0..1 full-name similarity (nickname-aware, tolerates swapped first/last). */
	name?: number;
	/** 0..1 company similarity. */
	company?: number;
	/** Postcode agreement. */
	postalCode?: boolean;
	/** 0..1 street-address similarity. */
	address?: number;
}

/** Why two records matched: booleans for exact fields, similarities for fuzzy ones. */
export interface MatchFactors extends ComparisonVector {
	/** Companies: the same website domain. */
	domain?: boolean;
	/** Fellegi-Sunter mode: the rule that held this pair below the threshold as two different people. */
	nonMatchRule?: 'givenNameConflict' | 'differentWorkEmails';
}

export interface ScoredPair {
	/** Slots of the two records (a < b in batch mode). */
	a: number;
	b: number;
	/** 0..1. */
	confidence: number;
	factors: MatchFactors;
}

export type ScoringMode = 'simple' | 'fellegiSunter';

export interface SimpleWeights {
	email: number;
	phone: number;
	name: number;
	company: number;
	/** Name similarity must be above this to count. */
	nameMinSimilarity: number;
	/** Company similarity must be above this to count. */
	companyMinSimilarity: number;
}

export type MasterRule = 'mostComplete' | 'mostRecent' | 'preferredCrm';

export interface MasterOptions {
	rule: MasterRule;
	/** For 'preferredCrm': the CRM whose record wins; ties fall back to the most complete. */
	preferredCrm?: string;
	/** Field holding the record's CRM. Default 'source'. */
	crmField?: string;
	/** Field holding the last-modified time. Default 'updatedAt'. */
	modifiedField?: string;
}
