// What generic code asks about Dynamics 365 / Dataverse (see lib/crms/types.ts).

import type { CrmAdapter } from '../types';

export const adapter: CrmAdapter = {
	recordModifier: (fields) => fields._modifiedby_value,
	// OData annotations (@odata.etag, …@OData.Community.Display.V1.FormattedValue, …@Microsoft…).
	isSystemKey: (key) => key.startsWith('@') || key.includes('@OData') || key.includes('@Microsoft'),
};
