// Deal stages read from a CRM's metadata (CrmConnector.listStages) mapped to the unified stage
// vocabulary (DEAL_STAGES), both ways, per pipeline. The CRM's own won/lost flags decide the
// closed stages: a stage the CRM calls open is never read as won or lost, whatever its label, and
// a won or lost deal is never written to an open stage. Open stages are placed by their label
// (the CRMs' default stage names and common variants), else by their position in the pipeline.
// A user override (stage id or label → unified stage) beats both.

import type { CrmStage } from '../connectors/types';
import type { ValueMap } from './types';
import { DEAL_STAGES, valueMap } from './vocabulary';

export type DealStage = (typeof DEAL_STAGES)[number];

/** The open unified stages, in sales order. */
const OPEN_STAGES = DEAL_STAGES.filter((s) => s !== 'closedWon' && s !== 'closedLost') as DealStage[];

/** Label patterns, most specific first: CRM default stage names and their usual variants. */
const LABEL_RULES: Array<[RegExp, DealStage]> = [
	[/negotiat|contract|commit|^close$|review/, 'negotiation'],
	// Salesforce's and Zoho's "Value Proposition" comes before the proposal itself.
	[/value ?prop/, 'needsAnalysis'],
	[/proposal|propos|quote|decision ?maker ?bought/, 'proposal'],
	[/needs?.?analysis|develop|demo|presentation|value ?prop|perception|decision ?makers?|discovery/, 'needsAnalysis'],
	[/qualif/, 'qualification'],
	[/prospect|appointment|lead|^new$|contact/, 'prospecting'],
];

export interface StageMapping {
	/** The unified stage of a CRM stage id (from any pipeline); undefined for an unknown id. */
	toUnified(stageId: string | number): DealStage | undefined;
	/**
	 * The CRM stage a deal at `stage` is written to in `pipelineId` (default: the first pipeline).
	 * For closedWon / closedLost: the pipeline's won / lost stage, or undefined where the CRM has
	 * none (Pipedrive keeps won and lost in the deal's status). For an open stage: the first of
	 * the pipeline's stages mapped to it, else the nearest open one; never a closed stage.
	 */
	fromUnified(stage: DealStage, pipelineId?: string): CrmStage | undefined;
	/** Each CRM stage with the unified stage it maps to and why. */
	entries: Array<{ stage: CrmStage; unified: DealStage; by: 'override' | 'outcome' | 'label' | 'position' }>;
	/** The default pipeline's mapping as a picklist value map (lib/mapping's `values`). */
	valueMap: ValueMap;
}

const fold = (text: string) => text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();

export function buildStageMapping(stages: CrmStage[], overrides: Record<string, string> = {}): StageMapping {
	const override = new Map<string, DealStage>();
	for (const [key, value] of Object.entries(overrides)) {
		if (!(DEAL_STAGES as readonly string[]).includes(value)) throw new Error(`Stage override "${key}": "${value}" is not a unified stage (${DEAL_STAGES.join(', ')})`);
		override.set(fold(key), value as DealStage);
	}
	const pipelines = [...new Set(stages.map((s) => s.pipelineId))];
	const entries: StageMapping['entries'] = [];
	for (const pipeline of pipelines) {
		const inPipeline = stages.filter((s) => s.pipelineId === pipeline).sort((a, b) => a.order - b.order);
		const open = inPipeline.filter((s) => s.outcome === 'open');
		for (const stage of inPipeline) entries.push({ stage, ...classify(stage, open, override) });
	}
	const byId = new Map(entries.map((e) => [String(e.stage.id), e.unified]));

	const fromUnified = (unified: DealStage, pipelineId?: string): CrmStage | undefined => {
		const pipeline = pipelines.includes(pipelineId) ? pipelineId : pipelines[0];
		const candidates = entries.filter((e) => e.stage.pipelineId === pipeline);
		if (unified === 'closedWon' || unified === 'closedLost') {
			const outcome = unified === 'closedWon' ? 'won' : 'lost';
			return candidates.find((e) => e.stage.outcome === outcome)?.stage;
		}
		const open = candidates.filter((e) => e.stage.outcome === 'open');
		const exact = open.find((e) => e.unified === unified);
		if (exact) return exact.stage;
		// Nearest in sales order; on a tie the earlier stage (a deal is not moved on by a guess).
		const rank = OPEN_STAGES.indexOf(unified);
		let best: (typeof open)[number] | undefined;
		for (const e of open) if (!best || Math.abs(OPEN_STAGES.indexOf(e.unified) - rank) < Math.abs(OPEN_STAGES.indexOf(best.unified) - rank)) best = e;
		return best?.stage;
	};

	// The picklist map: every stage id reads as its unified stage; each unified stage writes the default pipeline's stage.
	const pairs: Array<[string, string]> = [];
	for (const unified of DEAL_STAGES) {
		const stage = fromUnified(unified);
		if (stage) pairs.push([unified, stage.id]);
	}
	for (const e of entries) pairs.push([e.unified, e.stage.id]);
	return { toUnified: (id) => byId.get(String(id)), fromUnified, entries, valueMap: valueMap(pairs) };
}

function classify(stage: CrmStage, open: CrmStage[], override: Map<string, DealStage>): { unified: DealStage; by: StageMapping['entries'][number]['by'] } {
	const overridden = override.get(fold(stage.id)) ?? override.get(fold(stage.label));
	if (overridden) {
		// An override may not turn an open stage into a closed one, or the reverse.
		const outcome = overridden === 'closedWon' ? 'won' : overridden === 'closedLost' ? 'lost' : 'open';
		if (outcome !== stage.outcome) throw new Error(`Stage override "${stage.label}" → ${overridden}: the CRM flags that stage as ${stage.outcome}, not ${outcome}`);
		return { unified: overridden, by: 'override' };
	}
	if (stage.outcome === 'won') return { unified: 'closedWon', by: 'outcome' };
	if (stage.outcome === 'lost') return { unified: 'closedLost', by: 'outcome' };
	const label = fold(stage.label);
	const rule = LABEL_RULES.find(([pattern]) => pattern.test(label));
	if (rule) return { unified: rule[1], by: 'label' };
	// Spread the pipeline's open stages over the open unified stages by position.
	const index = open.indexOf(stage);
	const position = open.length > 1 ? index / (open.length - 1) : 0;
	return { unified: OPEN_STAGES[Math.round(position * (OPEN_STAGES.length - 1))], by: 'position' };
}
