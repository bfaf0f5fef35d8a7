import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import type { CrmName } from '../../lib/model';
import { AUTH_PARAMETER, CREDENTIAL_TYPES } from './description';

/** The credential type this node uses for a CRM, given its authentication choice. */
export function credentialFor(ctx: IExecuteFunctions, crm: CrmName): string {
	const auth = AUTH_PARAMETER[crm] ? (ctx.getNodeParameter(AUTH_PARAMETER[crm], 0) as string) : '';
	const entry = CREDENTIAL_TYPES.find(([c, a]) => c === crm && a === auth);
	if (!entry) throw new NodeOperationError(ctx.getNode(), `No credential type for CRM "${crm}" with authentication "${auth}"`);
	return entry[2];
}
