// Target-field choices for the node's dropdowns: the default map's fields, or the CRM's live
// metadata (the connector's describeFields) when a credential is chosen.
import type { INodePropertyOptions } from 'n8n-workflow';
import type { FieldDescription } from '../../lib/connectors';

export interface DefaultField {
	name: string;
	type: string;
	required: boolean;
}

export const CUSTOM_FIELD_OPTION: INodePropertyOptions = { name: '— Custom Field (Enter Below) —', value: '' };

export function defaultFieldOptions(fields: DefaultField[]): INodePropertyOptions[] {
	const seen = new Set<string>();
	const options: INodePropertyOptions[] = [CUSTOM_FIELD_OPTION];
	for (const f of fields) {
		if (seen.has(f.name)) continue;
		seen.add(f.name);
		options.push({ name: f.name, value: f.name, description: `${f.type}${f.required ? ', required by the CRM' : ''} (default map)` });
	}
	return options;
}

/** Writable live fields, sorted by label; fields of the default map are marked. */
export function liveFieldOptions(live: FieldDescription[], defaults: DefaultField[]): INodePropertyOptions[] {
	const inDefault = new Set(defaults.map((f) => f.name));
	const options = live
		.filter((f) => !f.readOnly)
		// Labels may be missing in some metadata: fall back to the API name.
		.sort((a, b) => (a.label || a.name).localeCompare(b.label || b.name))
		.map((f) => {
			const flags = [f.crmType || f.type, f.required ? 'required' : '', f.custom ? 'custom' : '', inDefault.has(f.name) ? 'in default map' : ''].filter(Boolean);
			return { name: f.label && f.label !== f.name ? `${f.label} (${f.name})` : f.name, value: f.name, description: flags.join(', ') };
		});
	return [CUSTOM_FIELD_OPTION, ...options];
}
