// What generic code asks about Zoho CRM (see lib/crms/types.ts). Its notifications carry no
// change-source marker: only echo fingerprints recognise its echoes.

import type { CrmAdapter } from '../types';

export const adapter: CrmAdapter = {
	recordModifier: (fields) => (fields.Modified_By as { id?: unknown } | undefined)?.id,
};
