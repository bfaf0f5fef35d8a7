// What requests are checked against: each CRM's webhook credential (secrets), the node's
// allow-lists and body limit; the activation check that refuses a configuration no request could
// pass, and the credential test that says the same when the credential is saved.

import { NodeOperationError, type ICredentialsDecrypted, type ICredentialTestFunctions, type IHookFunctions, type INodeCredentialTestResult, type IWebhookFunctions } from 'n8n-workflow';

import type { CrmName } from '../../lib/model';
import { activationProblem, type VerifyConfig } from '../../lib/webhooks';
import { commaSeparatedList } from '../shared/commaSeparatedList';
import { crmOptions } from '../shared/crmProperties';

type Context = IHookFunctions | IWebhookFunctions;

/** The credential type that holds each CRM's webhook secrets (its current and previous secret; Pipedrive also the Basic auth user). */
export const WEBHOOK_CREDENTIAL_TYPES: Record<CrmName, string> = {
	hubspot: 'hubSpotWebhookCrmSyncApi',
	pipedrive: 'pipedriveWebhookCrmSyncApi',
	salesforce: 'salesforceWebhookCrmSyncApi',
	zoho: 'zohoWebhookCrmSyncApi',
	dynamics: 'dynamicsWebhookCrmSyncApi',
};

interface WebhookSecrets {
	secret?: string;
	previousSecret?: string;
	basicAuthUser?: string;
}

/** The secrets of `crm`'s webhook credential. */
export const webhookSecrets = async (ctx: Context, crm: CrmName): Promise<WebhookSecrets> => (await ctx.getCredentials(WEBHOOK_CREDENTIAL_TYPES[crm])) as WebhookSecrets;

const secretsConfig = (data: WebhookSecrets): Pick<VerifyConfig, 'secrets' | 'basicAuthUser'> => ({
	secrets: [data.secret ?? '', data.previousSecret ?? ''],
	basicAuthUser: data.basicAuthUser ?? '',
});

const DEFAULT_MAX_BODY_KB = 1024;

/** The Max Body Size parameter, or undefined when it is not a positive number. */
function configuredMaxBodyKb(ctx: Context): number | undefined {
	const value = ctx.getNodeParameter('maxBodyKb', DEFAULT_MAX_BODY_KB);
	const kb = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
	return Number.isFinite(kb) && kb >= 1 ? kb : undefined;
}

/** The body limit always applies: a bad value (refused at activation) falls back to the default. */
export const maxBodyKb = (ctx: Context) => configuredMaxBodyKb(ctx) ?? DEFAULT_MAX_BODY_KB;

/** What requests of `crm` are checked against: its webhook credential, and the node's options for that CRM (empty for the others). */
export async function verifyConfig(ctx: Context, crm: CrmName): Promise<VerifyConfig> {
	const salesforce = crm === 'salesforce';
	return {
		...secretsConfig(await webhookSecrets(ctx, crm)),
		salesforceOrganizationIds: salesforce ? commaSeparatedList(ctx.getNodeParameter('salesforceOrganizationIds', '') as string) : [],
		allowedIps: salesforce ? commaSeparatedList(ctx.getNodeParameter('salesforceAllowedIps', '') as string) : [],
		hubspotLegacySignatures: crm === 'hubspot' && (ctx.getNodeParameter('hubspotLegacySignatures', false) as boolean),
	};
}

/** Refuses activation of a ticked CRM whose configuration would refuse every request, or of a node that would lift the body limit. */
export async function checkConfiguration(ctx: IHookFunctions, crm: CrmName): Promise<void> {
	const config = await verifyConfig(ctx, crm);
	const problem = activationProblem(crm, config);
	if (problem) {
		const label = crmOptions.find((o) => o.value === crm)?.name ?? crm;
		throw new NodeOperationError(ctx.getNode(), `${config.secrets.some((s) => s !== '') ? label : `${label} webhook credential`}: ${problem}`);
	}
	if (configuredMaxBodyKb(ctx) === undefined) throw new NodeOperationError(ctx.getNode(), 'Max Body Size (KB) must be a number of at least 1');
}

/** The webhook credentials' test (testedBy): the activation check of the secrets alone. */
export async function testWebhookSecrets(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const crm = (Object.keys(WEBHOOK_CREDENTIAL_TYPES) as CrmName[]).find((c) => WEBHOOK_CREDENTIAL_TYPES[c] === credential.type);
	if (!crm) return { status: 'Error', message: `Not a webhook credential: ${credential.type}` };
	const problem = activationProblem(crm, secretsConfig((credential.data ?? {}) as WebhookSecrets));
	return problem ? { status: 'Error', message: problem } : { status: 'OK', message: 'The secret is set' };
}
