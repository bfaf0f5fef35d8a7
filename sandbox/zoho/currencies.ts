// The org's currencies: GET /org (home currency, mc_status) and the Currencies API
// (GET|POST|PUT /org/currencies, PUT /org/currencies/{id}, POST /org/currencies/actions/enable).
//
// Shapes from zoho/crm-oas v8.0 (org/org.yaml, currencies/*: VENDOR-OAS examples) and the Deluge
// "get organization" example (mc_status false, iso_code "USD", currency_locale "en_US"). A new
// org has one currency, its home currency USD (mc_status false; GET /org/currencies answers 403
// CURRENCIES_NOT_ENABLED). Enabling multiple currencies makes the given currency the base
// currency; Zoho cannot switch them off again, the sandbox can (setup()) so tests use both.

import { json, type Reply } from '../common/router';
import type { Fields } from '../common/store';
import { ZOHO_USER, zohoTime } from './modules';

/** A currency row as GET /org/currencies gives it (keys in the OAS example's order). */
export interface ZohoCurrency {
	prefix_symbol: boolean;
	format: { numeral_system: string; decimal_places: string; decimal_separator: string; thousand_separator: string };
	exchange_rate: string;
	is_active: boolean;
	exchange_rate_auto_update: boolean;
	iso_code: string;
	symbol: string;
	name: string;
	is_base: boolean;
	id: string;
	created_by: { name: string; id: string };
	modified_by: { name: string; id: string };
	modified_time: string;
	created_time: string;
	exchange_rate_updated_time: string;
}

/** What the org's records see of it: multi-currency or not, the home currency, the active codes. */
export interface CurrencyState {
	multiCurrency: boolean;
	homeCurrency: string;
}

/** Per-item results of the Currencies API: {currencies: [...]} (or {base_currency: {...}}). */
type ItemResult = { code: string; details: Fields; message: string; status: 'success' | 'error' };

const USER = { name: ZOHO_USER.name, id: ZOHO_USER.id };
const ORG_CREATED_MS = Date.parse('2025-01-01T09:00:00Z');
const FORMAT_KEYS = { decimal_separator: ['Period', 'Comma', 'Space'], thousand_separator: ['Comma', 'Period', 'Space', 'Apostrophe'], numeral_system: ['International', 'Indian'] };

/** "US Dollar - USD", as Zoho names a currency (OAS examples); undefined for a code Intl does not know. */
function currencyName(code: string): string | undefined {
	if (!/^[A-Z]{3}$/.test(code)) return undefined;
	const name = new Intl.DisplayNames(['en'], { type: 'currency', fallback: 'none' }).of(code);
	return name ? `${name} - ${code}` : undefined;
}

function symbolOf(code: string): string {
	return new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).formatToParts(0).find((p) => p.type === 'currency')?.value ?? code;
}

function digitsOf(code: string): string {
	return String(new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2);
}

/** An exchange rate as Zoho writes it: a string with nine decimals; undefined when not a positive number. */
function rate(value: unknown): string | undefined {
	const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
	return Number.isFinite(n) && n > 0 ? n.toFixed(9) : undefined;
}

export class OrgCurrencies {
	private state: CurrencyState = { multiCurrency: false, homeCurrency: 'USD' };
	private rows: ZohoCurrency[] = [];
	private lastId = 0;

	constructor(private readonly now: () => number) {}

	reset(): void {
		this.state = { multiCurrency: false, homeCurrency: 'USD' };
		this.rows = [];
		this.lastId = 0;
	}

	get multiCurrency(): boolean {
		return this.state.multiCurrency;
	}

	get homeCurrency(): string {
		return this.state.homeCurrency;
	}

	/** The codes a record's Currency may take: the active currencies (multi-currency orgs only). */
	active(): string[] {
		return this.rows.filter((r) => r.is_active).map((r) => r.iso_code);
	}

	/** A currency's exchange rate against the home currency, as a record's Exchange_Rate holds it. */
	rateOf(code: string): number {
		return Number(this.rows.find((r) => r.iso_code === code)?.exchange_rate ?? 1);
	}

	getState(): CurrencyState & { currencies: Array<{ iso_code: string; is_active: boolean; is_base: boolean }> } {
		return { ...this.state, currencies: this.rows.map((r) => ({ iso_code: r.iso_code, is_active: r.is_active, is_base: r.is_base })) };
	}

	/**
	 * Admin (sandbox only): the home currency of a single-currency org (Company Details > Currency
	 * Locale), or multiple currencies on (the home currency becomes the base currency) or off.
	 * Returns true when multiple currencies were switched on or off (the caller stamps or clears
	 * the records' Currency).
	 */
	setup(opts: { multiCurrency?: boolean; homeCurrency?: string }): boolean {
		const home = opts.homeCurrency === undefined ? this.state.homeCurrency : String(opts.homeCurrency);
		if (!currencyName(home)) throw new Error(`homeCurrency must be an ISO 4217 code, not ${JSON.stringify(opts.homeCurrency)}`);
		const multi = opts.multiCurrency ?? this.state.multiCurrency;
		const switched = multi !== this.state.multiCurrency;
		if (!multi) {
			this.rows = [];
			this.state = { multiCurrency: false, homeCurrency: home };
			return switched;
		}
		if (!this.state.multiCurrency) this.rows = [this.row(home, { is_base: true, exchange_rate: '1.000000000' })];
		else if (home !== this.state.homeCurrency) throw new Error('the base currency of a multi-currency org changes through PUT /org/currencies/actions/update_base_currency, which the sandbox does not emulate');
		this.state = { multiCurrency: true, homeCurrency: home };
		return switched;
	}

	/** GET /org: the org's details; `iso_code` is the home currency, `mc_status` says whether it has more. */
	org(): Reply {
		const home = this.state.homeCurrency;
		return json(200, {
			org: [
				{
					country: 'United States', photo_id: null, city: null, description: null, type: 'production', created_time: zohoTime(ORG_CREATED_MS),
					mc_status: this.state.multiCurrency, gapps_enabled: false, translation_enabled: false, street: null, domain_name: 'org4150868', alias: null,
					currency: currencyName(home), id: '4150868000000016001', employee_count: '1', state: null, fax: null, zip: null, website: null,
					currency_symbol: symbolOf(home), mobile: null, currency_locale: 'en_US', primary_zuid: '4150868000', zia_portal_id: null, time_zone: 'UTC',
					zgid: '4150868', country_code: 'US', deletable_org_account: false,
					license_details: { paid_expiry: null, users_license_purchased: 1, trial_type: null, trial_expiry: null, paid: true, paid_type: 'enterprise', portal_users_license_purchased: 0 },
					hierarchy_preferences: { type: 'Role_Hierarchy', strictly_reporting: false },
					phone: null, company_name: 'Sandbox Org', privacy_settings: false, primary_email: ZOHO_USER.email, iso_code: home,
					hipaa_compliance_enabled: false, lite_users_enabled: false, max_per_page: 200,
				},
			],
		});
	}

	/** GET /org/currencies: every currency, active or not; 403 CURRENCIES_NOT_ENABLED in a single-currency org. */
	list(): Reply {
		if (!this.state.multiCurrency) return json(403, { code: 'CURRENCIES_NOT_ENABLED', details: {}, message: 'Multi currency is not enabled', status: 'error' });
		return json(200, { currencies: this.rows.map((r) => ({ ...r, format: { ...r.format } })) });
	}

	/** POST /org/currencies/actions/enable {base_currency}: multiple currencies on, the given currency as base. */
	enable(body: unknown): Reply {
		const base = (body as { base_currency?: Fields } | undefined)?.base_currency;
		const fail = (code: string, message: string, details: Fields) => json(400, { base_currency: { code, message, status: 'error', details } });
		if (this.state.multiCurrency) return fail('ALREADY_ENABLED', 'The base currency is already added', {});
		if (!base || typeof base !== 'object') return json(400, { code: 'REQUIRED_PARAM_MISSING', details: { param: 'base_currency' }, message: 'One of the expected parameter is missing', status: 'error' });
		const code = typeof base.iso_code === 'string' ? base.iso_code : '';
		if (!currencyName(code)) return fail('INVALID_DATA', 'Currency isocode given seems to be invalid', { api_name: 'iso_code', json_path: '$.base_currency.iso_code' });
		const problem = this.fieldProblem(base, '$.base_currency');
		if (problem) return json(400, { base_currency: problem });
		const row = this.row(code, { is_base: true, is_active: true, exchange_rate: '1.000000000' });
		Object.assign(row, this.overrides(base, row.format), { exchange_rate: '1.000000000' });
		this.rows = [row];
		this.state = { multiCurrency: true, homeCurrency: code };
		return json(200, { base_currency: { code: 'SUCCESS', details: { id: row.id }, message: 'The multi-currency feature is enabled and given currency is created as the base currency.', status: 'success' } });
	}

	/** POST /org/currencies {currencies: [...]}: adds currencies (200 / 207 / 400 per the results). */
	create(body: unknown): Reply {
		const items = this.items(body);
		if (!Array.isArray(items)) return items;
		const results = items.map((item, i): ItemResult => {
			if (!this.state.multiCurrency) return { code: 'FEATURE_NOT_ENABLED', details: {}, message: 'The multi-currency feature is not yet enabled. Please enable it before doing this action.', status: 'error' };
			const code = typeof item.iso_code === 'string' ? item.iso_code : '';
			if (!currencyName(code)) return { code: 'INVALID_DATA', details: { api_name: 'iso_code', json_path: `$.currencies[${i}].iso_code` }, message: 'Currency isocode given seems to be invalid', status: 'error' };
			if (this.rows.some((r) => r.iso_code === code)) return { code: 'DUPLICATE_DATA', details: { api_name: 'iso_code', json_path: `$.currencies[${i}].iso_code` }, message: 'Duplicate value given for Isocode parameter', status: 'error' };
			const problem = this.fieldProblem(item, `$.currencies[${i}]`);
			if (problem) return problem;
			const row = this.row(code, { is_base: false, is_active: item.is_active !== false });
			Object.assign(row, this.overrides(item, row.format));
			this.rows.push(row);
			return { code: 'SUCCESS', details: { id: row.id }, message: 'The currency created successfully.', status: 'success' };
		});
		return this.reply(results);
	}

	/** PUT /org/currencies {currencies: [{id, ...}]} or PUT /org/currencies/{id} {currencies: [{...}]}: exchange rate, active flag, format. */
	update(body: unknown, urlId?: string): Reply {
		if (urlId !== undefined && !/^\d+$/.test(urlId)) return json(404, { code: 'INVALID_URL_PATTERN', details: {}, message: 'Please check if the URL trying to access is a correct one', status: 'error' });
		const items = this.items(body);
		if (!Array.isArray(items)) return items;
		const results = items.map((item, i): ItemResult => {
			const id = urlId ?? (typeof item.id === 'string' ? item.id : undefined);
			const row = this.rows.find((r) => r.id === id);
			// [U] An unknown id: the records API's answer.
			if (!row) return { code: 'INVALID_DATA', details: { api_name: 'id', json_path: `$.currencies[${i}].id` }, message: 'the id given seems to be invalid', status: 'error' };
			if ('iso_code' in item && item.iso_code !== row.iso_code) return { code: 'INVALID_DATA', details: { api_name: 'iso_code', json_path: `$.currencies[${i}].iso_code` }, message: 'Currency isocode given seems to be invalid', status: 'error' };
			const problem = this.fieldProblem(item, `$.currencies[${i}]`);
			if (problem) return problem;
			// [U] The base currency stays active.
			if (row.is_base && item.is_active === false) return { code: 'NOT_ALLOWED', details: { api_name: 'is_active', json_path: `$.currencies[${i}].is_active` }, message: 'The base currency cannot be deactivated', status: 'error' };
			Object.assign(row, this.overrides(item, row.format), typeof item.is_active === 'boolean' ? { is_active: item.is_active } : {}, { modified_time: zohoTime(this.now()) });
			return { code: 'SUCCESS', details: { id: row.id }, message: 'The currency updated successfully.', status: 'success' };
		});
		return this.reply(results);
	}

	private items(body: unknown): Fields[] | Reply {
		const list = (body as { currencies?: unknown } | undefined)?.currencies;
		if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'object' || x === null)) {
			return json(400, { code: 'REQUIRED_PARAM_MISSING', details: { param: 'currencies' }, message: 'One of the expected parameter is missing', status: 'error' });
		}
		return list as Fields[];
	}

	private reply(results: ItemResult[]): Reply {
		const ok = results.filter((r) => r.status === 'success').length;
		return json(ok === results.length ? 200 : ok === 0 ? 400 : 207, { currencies: results });
	}

	/** Checks name, symbol, exchange rate and format values (the OAS's error codes and messages). */
	private fieldProblem(item: Fields, path: string): ItemResult | undefined {
		const bad = (api: string, message: string, at = `${path}.${api}`): ItemResult => ({ code: 'INVALID_DATA', details: { api_name: api, json_path: at }, message, status: 'error' });
		if ('name' in item && (typeof item.name !== 'string' || item.name.trim() === '')) return bad('name', 'Currency name given seems to be invalid');
		if ('symbol' in item && (typeof item.symbol !== 'string' || item.symbol.trim() === '' || item.symbol.length > 5)) return bad('symbol', 'Currency symbol given seems to be invalid');
		if ('exchange_rate' in item && !rate(item.exchange_rate)) return bad('exchange_rate', 'Exchange rate given seems to be invalid');
		if ('exchange_rate_auto_update' in item && typeof item.exchange_rate_auto_update !== 'boolean') return { code: 'INVALID_DATA', details: { expected_data_type: 'boolean', api_name: 'exchange_rate_auto_update', json_path: `${path}.exchange_rate_auto_update` }, message: 'invalid data', status: 'error' };
		const format = item.format as Fields | undefined;
		if (format !== undefined) {
			for (const [key, allowed] of Object.entries(FORMAT_KEYS)) {
				if (key in format && !allowed.includes(String(format[key]))) return bad(key, `${key === 'numeral_system' ? 'Numeral system' : key === 'decimal_separator' ? 'Decimal separator' : 'Thousand separator'} given seems to be invalid`, `${path}.format.${key}`);
			}
			if ('decimal_places' in format && !['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].includes(String(format.decimal_places))) return bad('decimal_places', 'Decimal places given seems to be invalid', `${path}.format.decimal_places`);
			if (format.decimal_separator !== undefined && format.decimal_separator === format.thousand_separator) return { code: 'NOT_ALLOWED', details: { api_name: 'decimal_places', json_path: `${path}.format.decimal_places` }, message: 'Thousand separator and Decimal separator should not be equal', status: 'error' };
		}
		return undefined;
	}

	/** The writable values of a create/update item, as stored (`format` merged into `base`). */
	private overrides(item: Fields, base?: ZohoCurrency['format']): Partial<ZohoCurrency> {
		const out: Partial<ZohoCurrency> = {};
		const format = item.format as Partial<ZohoCurrency['format']> | undefined;
		if (format && base) out.format = { ...base, ...Object.fromEntries(Object.entries(format).filter(([k]) => k in base).map(([k, v]) => [k, String(v)])) };
		if (typeof item.name === 'string') out.name = item.name.trim();
		if (typeof item.symbol === 'string') out.symbol = item.symbol.trim();
		if (item.exchange_rate !== undefined) out.exchange_rate = rate(item.exchange_rate)!;
		if (typeof item.exchange_rate_auto_update === 'boolean') out.exchange_rate_auto_update = item.exchange_rate_auto_update;
		if (typeof item.prefix_symbol === 'boolean') out.prefix_symbol = item.prefix_symbol;
		return out;
	}

	private row(code: string, values: Partial<ZohoCurrency>): ZohoCurrency {
		const at = zohoTime(this.now());
		return {
			prefix_symbol: true,
			format: { numeral_system: 'International', decimal_places: digitsOf(code), decimal_separator: 'Period', thousand_separator: 'Comma' },
			exchange_rate: '1.000000000',
			is_active: true,
			exchange_rate_auto_update: false,
			iso_code: code,
			symbol: symbolOf(code),
			name: currencyName(code)!,
			is_base: false,
			id: `4150868000000${String(400000 + ++this.lastId).padStart(6, '0')}`,
			created_by: USER,
			modified_by: USER,
			modified_time: at,
			created_time: at,
			exchange_rate_updated_time: at,
			...values,
		};
	}
}
