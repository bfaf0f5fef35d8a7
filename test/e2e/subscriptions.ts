// Wires the sandbox CRMs to the CRM Sync Trigger nodes of imported templates, the way a user
// registers webhooks in each CRM: one subscription per ticked CRM of a trigger, for the trigger's
// entities, signed with the secret of the webhook credential the trigger uses for that CRM (the
// sandbox fixtures). Used by `npm start` (the demo) and by tests that drive templates.
import type { Sandbox } from '../../sandbox';
import { appUserIdFor } from '../../sandbox/dynamics';
import { SANDBOX_WEBHOOK_SECRETS, WEBHOOK_CREDENTIAL_REFS } from './fixtures';

type Crm = 'salesforce' | 'hubspot' | 'pipedrive' | 'zoho' | 'dynamics';
type Entity = 'contact' | 'lead' | 'account' | 'opportunity' | 'activity';

export interface WorkflowJson {
	nodes: Array<{
		name: string;
		type: string;
		webhookId?: string;
		disabled?: boolean;
		parameters: Record<string, unknown>;
		credentials?: Record<string, { id: string; name: string }>;
	}>;
}
type WorkflowNode = WorkflowJson['nodes'][number];

const TRIGGER_TYPE = 'n8n-nodes-crm-sync.crmSyncTrigger';

/** The CRMs a trigger node has ticked (a string in a workflow saved when the node served one CRM). */
export const triggerCrms = (node: WorkflowNode): Crm[] => [node.parameters.crm ?? 'hubspot'].flat() as Crm[];

/** The identities our writes carry in each sandbox CRM (what a user pastes into Own Change Markers). */
export const SANDBOX_OWN_CHANGE_MARKERS: Partial<Record<Crm, string>> = {
	hubspot: '1160452', // the sandbox private app's id (sourceId of our HubSpot writes)
	pipedrive: '1', // the API token's user
	salesforce: 'n8n-crm-sync', // Sforce-Call-Options client name of our writes
	dynamics: appUserIdFor('sandbox-client'), // the application user of our client id
};

/** A copy of the workflow whose triggers recognise this package's own writes in the sandbox (each ticked CRM's markers). */
export function withSandboxMarkers<T extends WorkflowJson>(workflow: T): T {
	const copy = JSON.parse(JSON.stringify(workflow)) as T;
	for (const node of copy.nodes.filter((n) => n.type === TRIGGER_TYPE)) {
		for (const crm of triggerCrms(node)) {
			const marker = SANDBOX_OWN_CHANGE_MARKERS[crm];
			if (marker) node.parameters[`${crm}OwnChangeMarkers`] = marker;
		}
	}
	return copy;
}

const HUBSPOT_OBJECT: Record<Exclude<Entity, 'activity'>, string> = { contact: 'contact', lead: 'contact', account: 'company', opportunity: 'deal' };
const SALESFORCE_OBJECTS: Record<Entity, string[]> = { contact: ['Contact'], lead: ['Lead'], account: ['Account'], opportunity: ['Opportunity'], activity: ['Task', 'Event'] };
const ZOHO_MODULES: Record<Entity, string[]> = { contact: ['Contacts'], lead: ['Leads'], account: ['Accounts'], opportunity: ['Deals'], activity: ['Tasks', 'Events', 'Calls'] };
const DYNAMICS_ENTITIES: Record<Entity, string[]> = { contact: ['contact'], lead: ['lead'], account: ['account'], opportunity: ['opportunity'], activity: ['phonecall', 'appointment', 'task', 'email'] };
const PIPEDRIVE_OBJECTS: Record<Entity, string> = { contact: 'person', lead: 'lead', account: 'organization', opportunity: 'deal', activity: 'activity' };

/** The webhook URL of `crm` (default: the first ticked) on a trigger node in a running n8n. */
export function triggerUrl(baseUrl: string, node: WorkflowNode, crm: Crm = triggerCrms(node)[0]): string {
	return `${baseUrl}/webhook/${node.webhookId}/${crm}`;
}

/** The sandbox secrets of the webhook credential `node` uses for `crm` (one of the fixtures). */
function webhookSecrets(node: WorkflowNode, crm: Crm): { secret: string; basicAuthUser?: string } {
	const ref = WEBHOOK_CREDENTIAL_REFS[crm];
	const used = node.credentials?.[ref.type];
	if (used?.id !== ref.id) throw new Error(`${crm}: the trigger does not use the sandbox webhook credential ${ref.id} (${ref.type})`);
	return SANDBOX_WEBHOOK_SECRETS[crm];
}

/** CRMs whose subscription the trigger registers itself unless Register Subscription Automatically is off. */
const SELF_REGISTERING: Crm[] = ['pipedrive', 'zoho'];

/** Subscribes the sandbox to one trigger node: each ticked CRM, for the node's entities, with that CRM's webhook credential. */
export async function subscribeTrigger(sandbox: Sandbox, baseUrl: string, node: WorkflowNode): Promise<void> {
	for (const crm of triggerCrms(node)) {
		if (SELF_REGISTERING.includes(crm) && node.parameters.registerSubscription !== false) continue; // the trigger did on activation
		await subscribeCrm(sandbox, baseUrl, node, crm);
	}
}

async function subscribeCrm(sandbox: Sandbox, baseUrl: string, node: WorkflowNode, crm: Crm): Promise<void> {
	const emulator = sandbox.emulators[crm];
	if (!emulator) return;
	const url = triggerUrl(baseUrl, node, crm);
	const { secret, basicAuthUser } = webhookSecrets(node, crm);
	const entities = ((node.parameters.entities as Entity[] | undefined)?.length ? node.parameters.entities : ['contact']) as Entity[];
	for (const entity of entities) {
		switch (crm) {
			case 'hubspot': {
				const types =
					entity === 'activity'
						? ['object.creation', 'object.propertyChange', 'object.associationChange', 'object.deletion']
						: ['creation', 'propertyChange', 'deletion', 'merge', ...(HUBSPOT_OBJECT[entity] === 'contact' ? ['privacyDeletion'] : [])].map((t) => `${HUBSPOT_OBJECT[entity]}.${t}`);
				emulator.addSubscription({ url, clientSecret: secret, types });
				break;
			}
			case 'salesforce':
				emulator.addSubscription({ type: 'changeEvent', url, secret, entities: SALESFORCE_OBJECTS[entity] });
				break;
			case 'zoho':
				emulator.addSubscription({ url, events: ZOHO_MODULES[entity].map((m) => `${m}.all`), token: secret });
				break;
			case 'dynamics':
				for (const name of DYNAMICS_ENTITIES[entity]) {
					emulator.addSubscription({ url, entity: name, messages: ['Create', 'Update', 'Delete'], authType: 'WebhookKey', key: secret });
				}
				break;
			case 'pipedrive': {
				// Through the public API, as the user (or the trigger's automatic registration) would.
				const res = await fetch(`${sandbox.urls.pipedrive}/v1/webhooks`, {
					method: 'POST',
					headers: { 'x-api-token': 'sandbox-token', 'content-type': 'application/json' },
					body: JSON.stringify({
						subscription_url: url,
						event_action: '*',
						event_object: PIPEDRIVE_OBJECTS[entity],
						version: '2.0',
						http_auth_user: basicAuthUser,
						http_auth_password: secret,
					}),
				});
				if (!res.ok) throw new Error(`Pipedrive webhook for ${entity}: ${res.status} ${await res.text()}`);
				break;
			}
		}
	}
}

/** Subscribes the sandbox to every enabled CRM Sync Trigger of the workflows; returns what failed. */
export async function subscribeTriggers(sandbox: Sandbox, baseUrl: string, workflows: WorkflowJson[]): Promise<{ subscribed: string[]; failed: string[] }> {
	const subscribed: string[] = [];
	const failed: string[] = [];
	for (const workflow of workflows) {
		for (const node of workflow.nodes) {
			if (node.type !== TRIGGER_TYPE || node.disabled) continue;
			try {
				await subscribeTrigger(sandbox, baseUrl, node);
				subscribed.push(node.name);
			} catch (error) {
				failed.push(`${node.name}: ${(error as Error).message}`);
			}
		}
	}
	return { subscribed, failed };
}
