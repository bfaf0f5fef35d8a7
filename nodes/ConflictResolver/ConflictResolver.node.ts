import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { redisStateCredential, testSettingsCredential } from '../shared/stateStore';
import * as resolveAgainstSyncedState from './actions/resolveAgainstSyncedState.operation';
import * as resolveAgainstTarget from './actions/resolveAgainstTarget.operation';
import * as resolveReview from './actions/resolveReview.operation';
import { router } from './actions/router';
import { operationProperties, resolveSettingsProperties, stateAndOptionsProperties } from './description';

export class ConflictResolver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Conflict Resolver',
		name: 'conflictResolver',
		icon: 'file:conflictResolver.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] === "resolveReview" ? "resolve review item" : $parameter["strategy"]}}',
		description: 'Decides what to write when a record changed in two CRMs: three-way merge, strategies, consent and delete rules, review queue',
		defaults: { name: 'Conflict Resolver' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Resolved', 'Needs Review', 'Unchanged', 'Correct Source'],
		credentials: [
			redisStateCredential,
			// The CRM Sync Settings credential (settingsStateCredential), whose Test runs here: n8n asks a node that declares testedBy.
			{ name: 'crmSyncSettingsApi', required: true, testedBy: 'crmSyncSettings', displayOptions: { show: { stateBackend: ['settings'] } } },
		],
		properties: [
			...operationProperties,
			...resolveAgainstTarget.properties,
			...resolveAgainstSyncedState.properties,
			...resolveSettingsProperties,
			...resolveReview.properties,
			...stateAndOptionsProperties,
		],
	};

	methods = { credentialTest: { crmSyncSettings: testSettingsCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
