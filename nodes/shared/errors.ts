// Errors from lib/ as n8n errors: a CRM's failure keeps its HTTP status and body (NodeApiError);
// anything else says what is wrong (NodeOperationError). Errors that already are n8n's pass.

import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';

import { CrmError } from '../../lib/connectors';

/** `what`, when given, prefixes the message (e.g. "Creating the Pipedrive webhook"). */
export function toNodeError(node: INode, error: unknown, options: { itemIndex?: number; what?: string } = {}): NodeApiError | NodeOperationError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	const { itemIndex, what } = options;
	const message = (text: string) => (what ? `${what}: ${text}` : text);
	if (error instanceof CrmError) {
		return new NodeApiError(node, (error.body ?? { message: error.message }) as JsonObject, {
			message: message(error.message),
			httpCode: error.httpStatus ? String(error.httpStatus) : undefined,
			itemIndex,
		});
	}
	if (what) return new NodeOperationError(node, message(error instanceof Error ? error.message : String(error)), { itemIndex });
	return new NodeOperationError(node, error instanceof Error ? error : String(error), { itemIndex });
}
