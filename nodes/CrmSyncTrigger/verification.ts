// What requests are checked against (secrets, allow-lists, the body limit), from the node's
// parameters, and the activation check that refuses a configuration no request could pass.

import { NodeOperationError, type IHookFunctions, type IWebhookFunctions } from 'n8n-workflow';

import type { CrmName } from '../../lib/model';
import { activationProblem, type VerifyConfig } from '../../lib/webhooks';
import { commaSeparatedList } from '../shared/commaSeparatedList';

type Context = IHookFunctions | IWebhookFunctions;

const DEFAULT_MAX_BODY_KB = 1024;

/** The Max Body Size parameter, or undefined when it is not a positive number. */
function configuredMaxBodyKb(ctx: Context): number | undefined {
	const value = ctx.getNodeParameter('maxBodyKb', DEFAULT_MAX_BODY_KB);
	const kb = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
	return Number.isFinite(kb) && kb >= 1 ? kb : undefined;
}

/** The body limit always applies: a bad value (refused at activation) falls back to the default. */
export const maxBodyKb = (ctx: Context) => configuredMaxBodyKb(ctx) ?? DEFAULT_MAX_BODY_KB;

/** What requests are checked against, from the node's parameters (a CRM's own options are empty for the others). */
export function verifyConfig(ctx: Context): VerifyConfig {
	return {
		secrets: [ctx.getNodeParameter('secret', '') as string, ctx.getNodeParameter('previousSecret', '') as string],
		basicAuthUser: ctx.getNodeParameter('basicAuthUser', '') as string,
		salesforceOrganizationIds: commaSeparatedList(ctx.getNodeParameter('salesforceOrganizationIds', '') as string),
		allowedIps: commaSeparatedList(ctx.getNodeParameter('salesforceAllowedIps', '') as string),
		hubspotLegacySignatures: ctx.getNodeParameter('hubspotLegacySignatures', false) as boolean,
	};
}

/** Refuses activation of a configuration that would refuse every request or lift the body limit. */
export function checkConfiguration(ctx: IHookFunctions): void {
	const crm = ctx.getNodeParameter('crm') as CrmName;
	const problem = activationProblem(crm, verifyConfig(ctx));
	if (problem) throw new NodeOperationError(ctx.getNode(), problem);
	if (configuredMaxBodyKb(ctx) === undefined) throw new NodeOperationError(ctx.getNode(), 'Max Body Size (KB) must be a number of at least 1');
}
