import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import * as map from './actions/map.operation';
import * as references from './actions/references';
import { router } from './actions/router';
import { credentials, directionProperties, optionsProperty } from './description';
import { getPicklistFields, getTargetFields } from './methods/loadOptions';

export class FieldMapper implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Field Mapper',
		name: 'fieldMapper',
		icon: 'file:fieldMapper.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["direction"] === "toUnified" ? $parameter["sourceCrm"] + " → unified" : $parameter["direction"] === "fromUnified" ? "unified → " + $parameter["targetCrm"] : $parameter["sourceCrm"] + " → " + $parameter["targetCrm"]}}',
		description: 'Maps CRM records to and from the unified model (or CRM to CRM) with default maps, rules, picklists, computed fields and validation',
		defaults: { name: 'Field Mapper' },
		inputs: [NodeConnectionTypes.Main],
		// Retry Later is last so that workflows wired to Mapped (0) and Invalid (1) stay valid.
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Mapped', 'Invalid', 'Retry Later'],
		usableAsTool: true,
		credentials,
		properties: [...directionProperties, ...map.properties, ...references.properties, optionsProperty],
	};

	methods = { loadOptions: { getTargetFields, getPicklistFields } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
