import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { redisStateCredential, settingsStateCredential } from '../shared/stateStore';
import * as findInCrm from './actions/findInCrm.operation';
import * as findInIndex from './actions/findInIndex.operation';
import { router } from './actions/router';
import { indexOperationsStoreProperties, operationProperties, optionsProperties, scoringProperties } from './description';

export class DuplicateDetector implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Duplicate Detector',
		name: 'duplicateDetector',
		icon: 'file:duplicateDetector.svg',
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: '={{$parameter["operation"] === "findDuplicates" ? "against " + $parameter["matchAgainst"] : $parameter["operation"]}}',
		description: 'Finds duplicate contacts within a batch or against the records already synced: normalisation, blocking, fuzzy scoring, clusters',
		defaults: { name: 'Duplicate Detector' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Unique', 'Duplicates'],
		credentials: [...findInCrm.credentials, redisStateCredential, settingsStateCredential],
		properties: [
			...operationProperties,
			...findInCrm.properties,
			...scoringProperties,
			...findInCrm.mergeProperties,
			...indexOperationsStoreProperties,
			...findInIndex.properties,
			...optionsProperties,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
