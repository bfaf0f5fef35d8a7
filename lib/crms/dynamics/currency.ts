// A Dynamics record's currency as an ISO 4217 code at the connector boundary. Dataverse keeps it as
// the transactioncurrencyid lookup: written as `transactioncurrencyid@odata.bind:
// "/transactioncurrencies(<guid>)"`, read as `_transactioncurrencyid_value` (the GUID). The connector
// turns CURRENCY_ISO_FIELD into the bind on writes and adds it from the GUID on reads (opportunities
// and leads), through the environment's transactioncurrencies rows. No I/O here: map.ts imports the
// name, the connector the rest.

import type { CrmFields } from '../../connectors/types';

/** The made-up field holding a record's currency as an ISO code (upper case on reads, any case on writes). */
export const CURRENCY_ISO_FIELD = 'crmSyncCurrencyIsoCode';
/** The lookup's value column on reads (and in $select). */
export const CURRENCY_LOOKUP_VALUE = '_transactioncurrencyid_value';
/** The lookup's navigation property (writes bind it). */
export const CURRENCY_NAV = 'transactioncurrencyid';
export const CURRENCY_BIND = `${CURRENCY_NAV}@odata.bind`;
/** WriteFailure code of a record whose ISO code is no active currency here. */
export const CURRENCY_FAILURE_CODE = 'CURRENCY';

export interface CurrencyRow {
	/** transactioncurrencyid, lower case. */
	id: string;
	/** isocurrencycode, upper case. */
	iso: string;
	active: boolean;
}

/** The environment's transactioncurrencies by id and by ISO code. */
export class CurrencyTable {
	private readonly byId = new Map<string, CurrencyRow>();
	private readonly byIso = new Map<string, CurrencyRow>();

	constructor(rows: CurrencyRow[]) {
		for (const row of rows) {
			this.byId.set(row.id, row);
			// Dataverse keeps isocurrencycode unique; should two rows share one, the active one counts.
			const seen = this.byIso.get(row.iso);
			if (!seen || (!seen.active && row.active)) this.byIso.set(row.iso, row);
		}
	}

	/** From transactioncurrencies rows (transactioncurrencyid, isocurrencycode, statecode 0 = active). */
	static fromRows(rows: CrmFields[]): CurrencyTable {
		const out: CurrencyRow[] = [];
		for (const row of rows) {
			const id = typeof row.transactioncurrencyid === 'string' ? row.transactioncurrencyid.toLowerCase() : '';
			const iso = typeof row.isocurrencycode === 'string' ? row.isocurrencycode.trim().toUpperCase() : '';
			if (id && iso) out.push({ id, iso, active: row.statecode === 0 });
		}
		return new CurrencyTable(out);
	}

	/** The ISO code of a currency GUID (active or not); undefined when the table has no such row. */
	isoOf(id: string): string | undefined {
		return this.byId.get(id.toLowerCase())?.iso;
	}

	has(id: string): boolean {
		return this.byId.has(id.toLowerCase());
	}

	/** The row of an ISO code, any case. */
	byCode(code: string): CurrencyRow | undefined {
		return this.byIso.get(code.trim().toUpperCase());
	}

	/** Active ISO codes, sorted. */
	active(): string[] {
		return [...this.byIso.values()].filter((r) => r.active).map((r) => r.iso).sort();
	}
}

/**
 * What a write's CURRENCY_ISO_FIELD becomes: `{ fields }` without it and with the bind (no currency
 * field, or null / '': the fields without it, nothing bound), or `{ error }` naming the code and the
 * active currencies when the code is unknown or inactive here.
 */
export function bindCurrency(fields: CrmFields, table: CurrencyTable | undefined): { fields: CrmFields } | { error: string } {
	if (!(CURRENCY_ISO_FIELD in fields)) return { fields };
	const { [CURRENCY_ISO_FIELD]: value, ...rest } = fields;
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return { fields: rest };
	const active = (): string => {
		const codes = table?.active() ?? [];
		return codes.length ? codes.join(', ') : 'none';
	};
	if (typeof value !== 'string') return { error: `Dynamics: ${CURRENCY_ISO_FIELD} must be an ISO 4217 code, not ${JSON.stringify(value)}; this environment's active currencies: ${active()}` };
	const row = table?.byCode(value);
	if (!row) return { error: `Dynamics: currency ${JSON.stringify(value.trim())} is not a currency of this environment (transactioncurrencies); its active currencies: ${active()}` };
	if (!row.active) return { error: `Dynamics: currency ${row.iso} is inactive in this environment; its active currencies: ${active()}` };
	return { fields: { ...rest, [CURRENCY_BIND]: `/transactioncurrencies(${row.id})` } };
}

/** Whether a write's fields name a currency to look up (a non-empty CURRENCY_ISO_FIELD). */
export function wantsCurrency(fields: CrmFields): boolean {
	const value = fields[CURRENCY_ISO_FIELD];
	return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

/** The currency GUID a read row carries: a string (lower case), null (none), or undefined (column not read). */
export function currencyIdOf(fields: CrmFields): string | null | undefined {
	if (!(CURRENCY_LOOKUP_VALUE in fields)) return undefined;
	const value = fields[CURRENCY_LOOKUP_VALUE];
	return typeof value === 'string' && value.trim() !== '' ? value.trim().toLowerCase() : null;
}
