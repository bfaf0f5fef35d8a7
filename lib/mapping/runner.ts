// Runs a stage: the compiled steps of one direction, in order, over one record. Plain keys are
// read and stored directly; only shapes and transformers cost a call. (No generated code:
// n8n's community-node rules forbid the Function constructor.)
import { splitPath, type Getter } from './paths';
import type { FieldIssue, Transform, TransformContext } from './types';

type Rec = Record<string, unknown>;

export interface Step {
	/** Field named in issues. */
	field: string;
	/** Unified field this step reads or writes (links the two stages of CRM → CRM). */
	unified: string;
	get: Getter;
	/** Set when `get` is a plain property read of this key. */
	getKey?: string;
	tx: Transform | undefined;
	put: (out: Rec, value: unknown, src: Rec) => void;
	/** Set when `put` is a plain property store of this key. */
	putKey?: string;
}

/** Per-record state shared by the stages of one map() call. */
export interface RunState {
	issues: FieldIssue[] | undefined;
	/** Unified fields that already had a problem (CRM → CRM reports a field once). */
	flagged: Set<string> | undefined;
}

export type StageRunner = (input: Rec, out: Rec, st: RunState, cx: TransformContext) => void;

/** 'set': record problem fields in st.flagged; 'check': skip the transformer of flagged fields. */
export type FlagMode = 'none' | 'set' | 'check';

/** A path is a plain key when it has no dots (or is one literal '@' key). */
export function plainKey(path: string): string | undefined {
	const parts = splitPath(path);
	return parts.length === 1 ? parts[0] : undefined;
}

export function compileStage(steps: Step[], flags: FlagMode): StageRunner {
	const list = steps.slice();
	const n = list.length;
	const setFlags = flags === 'set';
	const checkFlags = flags === 'check';
	return (input, out, st, cx) => {
		for (let i = 0; i < n; i++) {
			const step = list[i];
			// Plain keys are read and written directly: no closure call for most fields.
			const raw = step.getKey !== undefined ? input[step.getKey] : step.get(input);
			if (raw === undefined) continue;
			let v: unknown = raw;
			const tx = step.tx;
			if (tx !== undefined && !(checkFlags && st.flagged !== undefined && st.flagged.has(step.unified))) {
				cx.problem = undefined;
				v = tx(raw, cx);
				if (cx.problem !== undefined) {
					(st.issues ??= []).push({ field: step.field, reason: cx.problem, value: raw });
					if (setFlags) (st.flagged ??= new Set()).add(step.unified);
					v = raw;
				}
			}
			if (v === undefined) continue;
			if (step.putKey !== undefined) out[step.putKey] = v;
			else step.put(out, v, input);
		}
	};
}
