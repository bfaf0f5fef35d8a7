// HubSpot CRM metadata a new portal has: the deals' pipelines (CRM Pipelines API v3) and the
// owners (CRM Owners API v3). Held per emulator; reset to a new portal's state.
//
// Wire shapes: Pipeline {id, label, displayOrder, stages[], createdAt, updatedAt, archived} with
// stages {id, label, displayOrder, metadata: {isClosed, probability} (both STRINGS, probability
// 0–1), createdAt, updatedAt, archived, writePermissions}; the HubSpot-defined default pipeline
// and its stages carry epoch dates. Owner {id, email, type, firstName, lastName, userId,
// userIdIncludingInactive, createdAt, updatedAt, archived, teams}.

export interface PipelineStage {
	id: string;
	label: string;
	displayOrder: number;
	metadata: Record<string, string>;
	createdAt: string;
	updatedAt: string;
	archived: boolean;
	writePermissions: string;
}

export interface Pipeline {
	id: string;
	label: string;
	displayOrder: number;
	stages: PipelineStage[];
	createdAt: string;
	updatedAt: string;
	archived: boolean;
}

export interface Owner {
	id: string;
	email?: string;
	type: 'PERSON' | 'QUEUE';
	firstName?: string;
	lastName?: string;
	userId?: number;
	userIdIncludingInactive?: number;
	createdAt: string;
	updatedAt: string;
	archived: boolean;
	teams: { id: string; name: string; primary: boolean }[];
}

const EPOCH = '1970-01-01T00:00:00Z';

/** The sales pipeline every portal starts with: [id, label, probability]. */
const DEFAULT_DEAL_STAGES: [string, string, string][] = [
	['appointmentscheduled', 'Appointment Scheduled', '0.2'],
	['qualifiedtobuy', 'Qualified To Buy', '0.4'],
	['presentationscheduled', 'Presentation Scheduled', '0.6'],
	['decisionmakerboughtin', 'Decision Maker Bought-In', '0.8'],
	['contractsent', 'Contract Sent', '0.9'],
	['closedwon', 'Closed Won', '1.0'],
	['closedlost', 'Closed Lost', '0.0'],
];

export function defaultDealPipeline(): Pipeline {
	return {
		id: 'default',
		label: 'Sales Pipeline',
		displayOrder: 0,
		stages: DEFAULT_DEAL_STAGES.map(([id, label, probability], displayOrder) => ({
			id,
			label,
			displayOrder,
			metadata: { isClosed: String(id === 'closedwon' || id === 'closedlost'), probability },
			createdAt: EPOCH,
			updatedAt: EPOCH,
			archived: false,
			writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
		})),
		createdAt: EPOCH,
		updatedAt: EPOCH,
		archived: false,
	};
}

/** The portal's one user, the one the API tokens belong to (token info `user`, UI writes `userId:45678`). */
export function defaultOwners(): Owner[] {
	const at = '2025-01-06T09:00:00.000Z';
	return [
		{ id: '41556981', email: 'sandbox-user@example.com', type: 'PERSON', firstName: 'Sandbox', lastName: 'User', userId: 45678, userIdIncludingInactive: 45678, createdAt: at, updatedAt: at, archived: false, teams: [] },
	];
}

/** A problem with a pipeline input, as HubSpot's VALIDATION_ERROR message. */
export function pipelineInputProblem(objectType: string, input: unknown): string | undefined {
	const b = input as { label?: unknown; displayOrder?: unknown; stages?: unknown } | undefined;
	if (!b || typeof b !== 'object') return 'Invalid input JSON: the pipeline must be an object';
	if (typeof b.label !== 'string' || !b.label.trim()) return 'label is required';
	if (typeof b.displayOrder !== 'number') return 'displayOrder is required';
	if (!Array.isArray(b.stages) || b.stages.length === 0) return 'A pipeline needs at least one stage';
	for (const s of b.stages as { label?: unknown; displayOrder?: unknown; metadata?: Record<string, unknown> }[]) {
		if (!s || typeof s.label !== 'string' || !s.label.trim()) return 'Each stage needs a label';
		if (typeof s.displayOrder !== 'number') return `Stage ${s.label}: displayOrder is required`;
		const metadata = s.metadata ?? {};
		if (typeof metadata !== 'object') return `Stage ${s.label}: metadata must be an object`;
		if (objectType === 'deals') {
			const p = metadata.probability;
			const n = typeof p === 'number' || typeof p === 'string' ? Number(p) : NaN;
			if (p === undefined || p === '' || !Number.isFinite(n) || n < 0 || n > 1) return `Stage ${s.label}: metadata.probability is required for deal stages and must be between 0.0 and 1.0`;
		}
	}
	return undefined;
}
