// Find Duplicates against a target CRM: its records found by email and phone through its API,
// scored by lib/matching; optionally merged there with the CRM's own merge.

import type { IDataObject, IExecuteFunctions, INodeCredentialDescription, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { createConnector, type CrmConnector } from '../../../lib/connectors';
import { matchAgainstCrm, mergeCrmClusters } from '../../../lib/matching';
import type { CrmName, EntityType } from '../../../lib/model';
import { crmCredentialDescriptions, crmCredentials } from '../../shared/credentials';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/failedItem';
import { authenticationProperties, crmProperty, entityOptions } from '../../shared/crmProperties';
import { recordsOf, splitOutputs } from './items';
import { readMatchOptions } from './matchOptions';

const crmShow = { operation: ['findDuplicates'], matchAgainst: ['crm'] };

/** The CRM and Authentication parameters, shown for Target CRM. */
function crmProperties(): INodeProperties[] {
	return [{ ...crmProperty, displayOptions: { show: crmShow } }, ...authenticationProperties({ show: crmShow })];
}

/** One credential per CRM and authentication choice (the Unified CRM Upsert node's types), for Target CRM. */
export const credentials: INodeCredentialDescription[] = crmCredentialDescriptions({ show: crmShow });

/** Shown before the scoring settings. */
export const properties: INodeProperties[] = [
	...crmProperties(),
	{
		displayName: 'CRM Entity',
		name: 'crmEntity',
		type: 'options',
		noDataExpression: true,
		options: entityOptions.filter((option) => option.value === 'contact' || option.value === 'lead'),
		default: 'contact',
		displayOptions: { show: crmShow },
	},
];

/** Shown after the scoring settings. */
export const mergeProperties: INodeProperties[] = [
	{
		displayName: 'Merge Duplicates in CRM',
		name: 'mergeInCrm',
		type: 'boolean',
		default: false,
		description: 'Whether to merge the CRM records matched by each item (and the item itself when it carries the ID of a CRM record) into the master with the CRM\'s own merge',
		displayOptions: { show: crmShow },
	},
];

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const matchOptions = readMatchOptions(this);
	const records = recordsOf(this, items);
	// The CRM, its entity and merging configure the node, not the item: item 0.
	const crm = this.getNodeParameter('crm', 0) as CrmName;
	const entity = this.getNodeParameter('crmEntity', 0, 'contact') as EntityType;
	const merge = this.getNodeParameter('mergeInCrm', 0, false) as boolean;

	let connector: CrmConnector;
	try {
		connector = createConnector(crm, await crmCredentials(this, crm, (name) => this.getNodeParameter(name, 0)));
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
	const outcomes = await matchAgainstCrm(connector, records, { ...matchOptions, entity });
	const [unique, duplicates] = splitOutputs(items, outcomes, (error, itemIndex) => failedItem(this, items[itemIndex], itemIndex, error));
	if (!merge) return [unique, duplicates];

	const merges = await mergeCrmClusters(connector, entity, records, outcomes);
	const merged = duplicates.map((item) => {
		const itemIndex = (item.pairedItem as { item: number }).item;
		const result = merges[itemIndex];
		if (!(result instanceof Error)) return { ...item, json: { ...item.json, merged: result as unknown as IDataObject } };
		// The item stays a duplicate; the merge that failed is its error.
		return failedItem(this, item, itemIndex, result);
	});
	return [unique, merged];
}
