// Field metadata served by /api/v2/{person,organization,deal,activity}Fields and /v1/leadFields.
// The standard fields of the emulated company (no custom fields are pre-defined).

import type { Fields } from '../common/store';
import type { PdType } from './shapes';

type Def = [code: string, label: string, type: string, required?: boolean, options?: [number | string, string][]];

const VISIBLE: [number, string][] = [
	[1, 'Owner & followers'],
	[3, 'Entire company'],
];

const CATALOG: Record<Exclude<PdType, 'note'>, Def[]> = {
	person: [
		['id', 'ID', 'int'],
		['name', 'Name', 'varchar', true],
		['first_name', 'First name', 'varchar'],
		['last_name', 'Last name', 'varchar'],
		['owner_id', 'Owner', 'user'],
		['org_id', 'Organization', 'org'],
		['emails', 'Email', 'varchar'],
		['phones', 'Phone', 'phone'],
		['job_title', 'Job title', 'varchar'],
		['postal_address', 'Postal address', 'address'],
		['birthday', 'Birthday', 'date'],
		['notes', 'Notes', 'text'],
		['label_ids', 'Labels', 'set'],
		['marketing_status', 'Marketing status', 'enum', false, [['no_consent', 'No consent'], ['unsubscribed', 'Unsubscribed'], ['subscribed', 'Subscribed'], ['archived', 'Archived']]],
		['visible_to', 'Visible to', 'visible_to', false, VISIBLE],
		['add_time', 'Person created', 'date'],
		['update_time', 'Update time', 'date'],
	],
	organization: [
		['id', 'ID', 'int'],
		['name', 'Name', 'varchar', true],
		['owner_id', 'Owner', 'user'],
		['address', 'Address', 'address'],
		['website', 'Website', 'varchar'],
		['linkedin', 'LinkedIn profile', 'varchar'],
		['industry', 'Industry', 'enum'],
		['annual_revenue', 'Annual revenue', 'monetary'],
		['employee_count', 'Number of employees', 'int'],
		['label_ids', 'Labels', 'set'],
		['visible_to', 'Visible to', 'visible_to', false, VISIBLE],
		['add_time', 'Organization created', 'date'],
		['update_time', 'Update time', 'date'],
	],
	deal: [
		['id', 'ID', 'int'],
		['title', 'Title', 'varchar', true],
		['owner_id', 'Owner', 'user'],
		['person_id', 'Contact person', 'people'],
		['org_id', 'Organization', 'org'],
		['value', 'Value', 'monetary'],
		['currency', 'Currency', 'varchar'],
		['pipeline_id', 'Pipeline', 'int'],
		['stage_id', 'Stage', 'stage'],
		['status', 'Status', 'status', false, [['open', 'Open'], ['won', 'Won'], ['lost', 'Lost']]],
		['probability', 'Probability', 'double'],
		['expected_close_date', 'Expected close date', 'date'],
		['lost_reason', 'Lost reason', 'varchar'],
		['label_ids', 'Labels', 'set'],
		['visible_to', 'Visible to', 'visible_to', false, VISIBLE],
		['add_time', 'Deal created', 'date'],
		['update_time', 'Update time', 'date'],
	],
	activity: [
		['id', 'ID', 'int'],
		['subject', 'Subject', 'varchar', true],
		['type', 'Type', 'varchar_options', false, [['call', 'Call'], ['meeting', 'Meeting'], ['task', 'Task'], ['deadline', 'Deadline'], ['email', 'Email'], ['lunch', 'Lunch']]],
		['owner_id', 'Assigned to user', 'user'],
		['due_date', 'Due date', 'date'],
		['due_time', 'Due time', 'time'],
		['duration', 'Duration', 'time'],
		['done', 'Done', 'boolean'],
		['note', 'Note', 'text'],
		['public_description', 'Public description', 'text'],
		['person_id', 'Contact person', 'people'],
		['org_id', 'Organization', 'org'],
		['deal_id', 'Deal', 'deal'],
		['lead_id', 'Lead', 'lead'],
		['add_time', 'Add time', 'date'],
		['update_time', 'Update time', 'date'],
	],
	lead: [
		['id', 'ID', 'varchar'],
		['title', 'Title', 'varchar', true],
		['owner_id', 'Owner', 'user'],
		['person_id', 'Person', 'people'],
		['organization_id', 'Organization', 'org'],
		['value', 'Value', 'monetary'],
		['expected_close_date', 'Expected close date', 'date'],
		['label_ids', 'Labels', 'set'],
		['source_name', 'Source', 'varchar'],
		['visible_to', 'Visible to', 'visible_to', false, VISIBLE],
		['add_time', 'Lead created', 'date'],
		['update_time', 'Update time', 'date'],
	],
};

const READ_ONLY = new Set(['id', 'add_time', 'update_time', 'first_name', 'last_name', 'source_name']);

/** v2 field shape. */
export function v2Fields(type: Exclude<PdType, 'note' | 'lead'>): Fields[] {
	return CATALOG[type].map(([code, label, t, required, options]) => ({
		field_name: label,
		field_code: code,
		field_type: t,
		is_custom_field: false,
		is_optional_response_field: false,
		options: options ? options.map(([id, l]) => ({ id, label: l })) : null,
		subfields: null,
		required_fields: { enabled: required === true },
	}));
}

/** v1 shape (leadFields). */
export function v1Fields(type: 'lead'): Fields[] {
	return CATALOG[type].map(([code, label, t, required, options], i) => ({
		id: i + 1,
		key: code,
		name: label,
		field_type: t,
		edit_flag: !READ_ONLY.has(code),
		bulk_edit_allowed: !READ_ONLY.has(code),
		mandatory_flag: required === true,
		active_flag: true,
		options: options ? options.map(([id, l]) => ({ id, label: l })) : undefined,
	}));
}
