// Pipedrive pipelines, stages and users as CrmStage / CrmUser, and the search terms the account
// lookups send (connector.ts runs the calls).
//
// Stages (GET /api/v2/stages, v2-list-stages-cursor-recorded.json): {id, name, order_nr,
// pipeline_id, deal_probability, is_deal_rot_enabled, days_to_rotten, is_deleted, add_time,
// update_time}. order_nr starts at 1 and may have gaps (the recording has 6, then 10, 11, 12).
// Every Pipedrive stage is open: won and lost are the deal's `status`, not stages, so no won or
// lost stage is made up here (the sync layer maps won/lost through `status`, map.ts `stage`).
// Pipelines (GET /api/v2/pipelines): {id, name, order_nr, is_deleted, is_deal_probability_enabled}.
// Users (GET /v1/users): {id, name, email, active_flag, is_deleted?, default_currency, ...}.
// Currencies (GET /v1/currencies, SDK GetCurrenciesResponseDataInner): {id, code, name,
// decimal_points, symbol, active_flag, is_custom_flag}; `code` is ISO 4217 except for custom
// currencies, whose code Pipedrive makes up.

import { foldText } from '../../matching/normalise-text';
import { normaliseCompany } from '../../matching/normalise-company';
import type { CrmCurrencies, CrmStage, CrmUser } from '../../connectors/types';

export interface PdPipeline {
	id?: number;
	name?: string;
	order_nr?: number;
	is_deleted?: boolean;
	is_deal_probability_enabled?: boolean;
}

export interface PdStage {
	id?: number;
	name?: string;
	order_nr?: number;
	pipeline_id?: number;
	deal_probability?: number;
	is_deleted?: boolean;
}

export interface PdUser {
	id?: number;
	name?: string;
	email?: string;
	active_flag?: boolean;
	is_deleted?: boolean;
}

export interface PdCurrency {
	id?: number;
	code?: string;
	name?: string;
	active_flag?: boolean;
	is_custom_flag?: boolean;
}

/**
 * The user's default currency first, then every active currency (custom ones included) in the
 * list's order, each once, upper case; undefined without a default currency.
 */
export function toCurrencies(defaultCurrency: unknown, currencies: PdCurrency[]): CrmCurrencies | undefined {
	const code = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().toUpperCase() : undefined);
	const own = code(defaultCurrency);
	if (!own) return undefined;
	const active = currencies.filter((c) => c.active_flag !== false).map((c) => code(c.code)).filter((c): c is string => c !== undefined && c !== own);
	return { default: own, enabled: [own, ...new Set(active)] };
}

const byOrder = (a: { order_nr?: number; id?: number }, b: { order_nr?: number; id?: number }): number =>
	(a.order_nr ?? 0) - (b.order_nr ?? 0) || (a.id ?? 0) - (b.id ?? 0);

/**
 * Stages grouped by pipeline (pipelines in their own order), each pipeline's stages by order_nr,
 * `order` counted from 0 (order_nr has gaps). Deleted stages and the stages of deleted pipelines
 * are left out; a stage whose pipeline was not listed keeps its pipeline id without a label.
 * `probability` only where the pipeline uses deal probabilities (is_deal_probability_enabled):
 * elsewhere Pipedrive keeps the number but does not apply it.
 */
export function toStages(pipelines: PdPipeline[], stages: PdStage[]): CrmStage[] {
	const pipelineById = new Map(pipelines.filter((p) => p.id !== undefined).map((p) => [p.id!, p]));
	const groups = new Map<number, PdStage[]>();
	for (const stage of stages) {
		if (stage.id === undefined || stage.pipeline_id === undefined || stage.is_deleted === true) continue;
		if (pipelineById.get(stage.pipeline_id)?.is_deleted === true) continue;
		groups.set(stage.pipeline_id, [...(groups.get(stage.pipeline_id) ?? []), stage]);
	}
	const pipelineOrder = [...groups.keys()].sort((a, b) => byOrder(pipelineById.get(a) ?? { id: a, order_nr: Infinity }, pipelineById.get(b) ?? { id: b, order_nr: Infinity }) || a - b);
	const out: CrmStage[] = [];
	for (const pipelineId of pipelineOrder) {
		const pipeline = pipelineById.get(pipelineId);
		const usesProbability = pipeline?.is_deal_probability_enabled !== false;
		groups
			.get(pipelineId)!
			.sort(byOrder)
			.forEach((stage, order) => {
				const probability = typeof stage.deal_probability === 'number' && usesProbability ? Math.min(100, Math.max(0, stage.deal_probability)) : undefined;
				out.push({
					id: String(stage.id),
					label: String(stage.name ?? stage.id),
					pipelineId: String(pipelineId),
					...(pipeline?.name !== undefined ? { pipelineLabel: pipeline.name } : {}),
					outcome: 'open',
					...(probability !== undefined ? { probability } : {}),
					order,
				});
			});
	}
	return out;
}

/** A v1 user; a deleted user (is_deleted) may still own records, so it is kept as inactive. */
export function toUser(user: PdUser): CrmUser {
	const email = typeof user.email === 'string' && user.email.trim() !== '' ? user.email.trim().toLowerCase() : undefined;
	return {
		id: String(user.id),
		...(email ? { email } : {}),
		...(typeof user.name === 'string' && user.name !== '' ? { name: user.name } : {}),
		active: user.active_flag !== false && user.is_deleted !== true,
	};
}

/** Second-level labels under a country code ("acme.co.uk"): the name is the label before them. */
const SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ltd', 'plc', 'gv', 'or', 'ne', 'go']);

/**
 * The word a company's name most likely shares with its domain: the label before the public
 * suffix ("shop.acme.co.uk" → "acme"), its longest hyphen-separated part ("acme-corp.com" →
 * "acme"), undefined when under the 2 characters a non-exact search needs.
 */
export function domainSearchTerm(domain: string): string | undefined {
	const labels = domain.split('.');
	labels.pop();
	if (labels.length >= 2 && SECOND_LEVEL.has(labels[labels.length - 1])) labels.pop();
	const label = labels[labels.length - 1] ?? '';
	const term = label.split('-').reduce((best, part) => (part.length > best.length ? part : best), '');
	return term.length >= 2 ? term : undefined;
}

export interface NameSearch {
	term: string;
	exact: boolean;
}

/**
 * Organization searches that find every organization whose normalised name equals `name`'s: its
 * first significant word (a legal form or a leading "The" is never first, see normaliseCompany),
 * as folded and, when it differs, as written ("société" and "societe": whether Pipedrive's search
 * folds accents is not documented). Non-exact search needs 2 characters; a name without such a
 * word is searched whole, exactly.
 */
export function nameSearches(name: string): NameSearch[] {
	const normalised = normaliseCompany(name);
	if (normalised === undefined) return [];
	const word = normalised.split(' ').find((token) => token.length >= 2);
	if (word === undefined) return [{ term: name.trim(), exact: true }];
	const searches: NameSearch[] = [{ term: word, exact: false }];
	// The same word as written: the first original word that folds to it.
	const written = name
		.toLowerCase()
		.split(/[^\p{L}\p{N}'’]+/u)
		.find((w) => foldText(w).split(' ')[0] === word);
	if (written && written !== word && written.length >= 2) searches.push({ term: written, exact: false });
	return searches;
}
