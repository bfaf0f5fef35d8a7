// Pipedrive company metadata: pipelines and stages (API v2) and users (API v1), their request
// checks, wire shapes and what a new company starts with.
//
// Shapes: v2 stage from v2-list-stages-cursor-recorded.json / v2-create-stage-recorded.json
// (RECORDED); v2 pipeline and v1 user from the SDK 33 models (GetPipelinesResponseAllOfDataInner,
// BaseUser). Stages carry no won/lost flag: in Pipedrive a deal is won or lost by its `status`.

import type { Fields, StoredRecord } from '../common/store';
import { USER_ID, UI_USER_ID, ValidationError, rfc3339, v1Time } from './shapes';

/** When the sandbox company was created: the default pipeline, stages and users date from then. */
export const COMPANY_CREATED_MS = Date.parse('2025-01-01T09:00:00Z');

/**
 * A new company's pipeline "Pipeline" (id 1) and its stages, ids 1–5 in this order, deal
 * probability 100 each (the recording's pipeline 1 has 100 everywhere). These are the ids lib's
 * default map assumes (PD_STAGE: qualification 1 … negotiation 5), and a deal created without a
 * stage lands in pipeline 1, stage 1. [U] The account in v2-list-stages-cursor-recorded.json was
 * created with six stages in pipeline 1 (one renamed, Contact Made, Prospect Qualified, Needs
 * Defined, Proposal Made, Negotiations Started): the template may differ by account or date.
 */
export const DEFAULT_PIPELINE = { name: 'Pipeline' };
export const DEFAULT_STAGES = ['Qualified', 'Contact Made', 'Demo Scheduled', 'Proposal Made', 'Negotiations Started'];

/** The API user every token acts as (id 1) and the colleague behind "app" changes (id 2). */
export const DEFAULT_USERS: Fields[] = [
	{ id: USER_ID, name: 'Sandbox User', email: 'sandbox.user@example.com', is_admin: 1, role_id: 1, has_created_company: true },
	{ id: UI_USER_ID, name: 'Sandbox Colleague', email: 'sandbox.colleague@example.com', is_admin: 0, role_id: 1, has_created_company: false },
];

const PIPELINE_KEYS = new Set(['name', 'is_deal_probability_enabled']);
const STAGE_KEYS = new Set(['name', 'pipeline_id', 'deal_probability', 'is_deal_rot_enabled', 'days_to_rotten']);
const USER_KEYS = new Set(['email', 'access', 'active_flag']);

function known(body: unknown, keys: Set<string>): Fields {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('Validation failed: body must be a JSON object');
	for (const k of Object.keys(body)) if (!keys.has(k)) throw new ValidationError(`Validation failed: ${k}: Unrecognized key`);
	return { ...(body as Fields) };
}

function requiredName(f: Fields): void {
	if (typeof f.name !== 'string' || f.name.trim() === '') throw new ValidationError('Validation failed: name: Required');
}

/** POST /api/v2/pipelines body (AddPipelineRequest). */
export function cleanPipeline(body: unknown): Fields {
	const f = known(body, PIPELINE_KEYS);
	requiredName(f);
	if ('is_deal_probability_enabled' in f && typeof f.is_deal_probability_enabled !== 'boolean') {
		throw new ValidationError('Validation failed: is_deal_probability_enabled: Expected boolean');
	}
	return { name: f.name, is_deal_probability_enabled: f.is_deal_probability_enabled ?? true };
}

/** POST /api/v2/stages body (AddStageRequest); the pipeline's existence is checked by the caller. */
export function cleanStage(body: unknown): Fields {
	const f = known(body, STAGE_KEYS);
	requiredName(f);
	if (typeof f.pipeline_id !== 'number' || !Number.isInteger(f.pipeline_id)) throw new ValidationError('Validation failed: pipeline_id: Required');
	const p = f.deal_probability;
	if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100)) {
		throw new ValidationError('Validation failed: deal_probability: Expected an integer from 0 to 100');
	}
	if ('is_deal_rot_enabled' in f && typeof f.is_deal_rot_enabled !== 'boolean') throw new ValidationError('Validation failed: is_deal_rot_enabled: Expected boolean');
	const days = f.days_to_rotten;
	if (days !== undefined && days !== null && (typeof days !== 'number' || !Number.isInteger(days) || days < 1)) {
		throw new ValidationError('Validation failed: days_to_rotten: Expected a positive integer');
	}
	return {
		name: f.name,
		pipeline_id: f.pipeline_id,
		// POST /v2/stages {name, pipeline_id} was recorded answering deal_probability 100.
		deal_probability: p ?? 100,
		is_deal_rot_enabled: f.is_deal_rot_enabled ?? false,
		days_to_rotten: days ?? null,
	};
}

/** POST /v1/users body (AddUserRequest: email, access, active_flag). */
export function cleanUser(body: unknown): Fields {
	const f = known(body, USER_KEYS);
	if (typeof f.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(f.email.trim())) throw new ValidationError('Validation failed: email: Invalid email');
	if ('active_flag' in f && typeof f.active_flag !== 'boolean') throw new ValidationError('Validation failed: active_flag: Expected boolean');
	if ('access' in f && !Array.isArray(f.access)) throw new ValidationError('Validation failed: access: Expected array');
	const email = f.email.trim();
	// An invited user has no name of their own yet: Pipedrive shows the address [U].
	return { name: email, email, active_flag: f.active_flag ?? true, ...(f.access ? { access: f.access } : {}), is_admin: 0, role_id: 1, has_created_company: false };
}

export function pipelineWire(rec: StoredRecord): Fields {
	const f = rec.fields;
	return {
		id: Number(rec.id),
		name: f.name,
		order_nr: f.order_nr,
		is_deleted: rec.deletedAt !== undefined,
		is_deal_probability_enabled: f.is_deal_probability_enabled,
		add_time: rfc3339(rec.createdAt),
		update_time: rfc3339(rec.updatedAt),
	};
}

/** Key order as recorded (v2-list-stages-cursor-recorded.json). */
export function stageWire(rec: StoredRecord): Fields {
	const f = rec.fields;
	return {
		id: Number(rec.id),
		name: f.name,
		order_nr: f.order_nr,
		pipeline_id: f.pipeline_id,
		deal_probability: f.deal_probability,
		is_deal_rot_enabled: f.is_deal_rot_enabled,
		days_to_rotten: f.days_to_rotten,
		is_deleted: rec.deletedAt !== undefined,
		add_time: rfc3339(rec.createdAt),
		update_time: rfc3339(rec.updatedAt),
	};
}

/** v1 user (BaseUser); `is_you` for the user the API token acts as. */
export function userWire(rec: StoredRecord): Fields {
	const f = rec.fields;
	const access = (f.access as Fields[] | undefined) ?? [{ app: 'sales', admin: f.is_admin === 1, permission_set_id: '1' }];
	return {
		id: Number(rec.id),
		name: f.name,
		default_currency: f.default_currency ?? 'USD',
		locale: 'en_US',
		lang: 1,
		email: f.email,
		phone: null,
		activated: true,
		last_login: v1Time(rec.updatedAt),
		created: v1Time(rec.createdAt),
		modified: v1Time(rec.updatedAt),
		has_created_company: f.has_created_company === true,
		access,
		active_flag: f.active_flag !== false,
		timezone_name: 'UTC',
		timezone_offset: '+00:00',
		role_id: f.role_id ?? 1,
		icon_url: null,
		is_you: Number(rec.id) === USER_ID,
		is_deleted: rec.deletedAt !== undefined,
		is_admin: f.is_admin ?? 0,
	};
}

/**
 * The currencies a new company has (GET /v1/currencies: "all supported currencies in given
 * account which should be used when saving monetary values"): the ISO 4217 currencies in use,
 * USD, EUR and GBP first with ids 1–3 as in Pipedrive's documented example, then by code. Names,
 * symbols (as an en-US user sees them) and decimal points come from Intl. Which currencies a
 * real company lists, and in what order, is the sandbox's choice [U].
 */
export const STANDARD_CURRENCY_CODES = [
	'USD', 'EUR', 'GBP',
	'AED', 'AFN', 'ALL', 'AMD', 'ANG', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BHD', 'BIF', 'BMD', 'BND', 'BOB', 'BRL', 'BSD',
	'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHF', 'CLP', 'CNY', 'COP', 'CRC', 'CUP', 'CVE', 'CZK', 'DJF', 'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB',
	'FJD', 'FKP', 'GEL', 'GHS', 'GIP', 'GMD', 'GNF', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'IQD', 'IRR', 'ISK', 'JMD', 'JOD',
	'JPY', 'KES', 'KGS', 'KHR', 'KMF', 'KPW', 'KRW', 'KWD', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'LYD', 'MAD', 'MDL', 'MGA', 'MKD', 'MMK',
	'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO', 'NOK', 'NPR', 'NZD', 'OMR', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR',
	'PLN', 'PYG', 'QAR', 'RON', 'RSD', 'RUB', 'RWF', 'SAR', 'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SSP', 'STN', 'SYP', 'SZL',
	'THB', 'TJS', 'TMT', 'TND', 'TOP', 'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'UGX', 'UYU', 'UZS', 'VES', 'VND', 'VUV', 'WST', 'XAF', 'XCD', 'XOF', 'XPF',
	'YER', 'ZAR', 'ZMW',
];

/** A standard currency's stored fields (GetCurrenciesResponseDataInner without its id). */
export function standardCurrency(code: string): Fields {
	const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
	return {
		code,
		name: new Intl.DisplayNames(['en'], { type: 'currency' }).of(code) ?? code,
		decimal_points: format.resolvedOptions().maximumFractionDigits ?? 2,
		symbol: format.formatToParts(0).find((p) => p.type === 'currency')?.value ?? code,
		active_flag: true,
		is_custom_flag: false,
	};
}

/** v1 currency (GetCurrenciesResponseDataInner), keys in the model's order. */
export function currencyWire(rec: StoredRecord): Fields {
	const f = rec.fields;
	return { id: Number(rec.id), code: f.code, name: f.name, decimal_points: f.decimal_points, symbol: f.symbol, active_flag: f.active_flag !== false, is_custom_flag: f.is_custom_flag === true };
}

const CUSTOM_CURRENCY_KEYS = new Set(['name', 'symbol', 'decimal_points', 'code']);

/**
 * Admin: a custom currency as Company settings > Currencies makes one ("Custom currencies cannot
 * be added or removed via the API"): a name, a symbol and decimal points; Pipedrive gives it a
 * code of its own, which cannot be typed in. The sandbox takes `code` when given (three capital
 * letters) so tests can name it, and otherwise makes one from the name's letters [U].
 */
export function cleanCustomCurrency(body: unknown, taken: Set<string>): Fields {
	const f = known(body, CUSTOM_CURRENCY_KEYS);
	requiredName(f);
	if (typeof f.symbol !== 'string' || f.symbol.trim() === '') throw new ValidationError('Validation failed: symbol: Required');
	const decimals = f.decimal_points ?? 2;
	if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > 8) throw new ValidationError('Validation failed: decimal_points: Expected an integer from 0 to 8');
	let code: string;
	if (f.code !== undefined) {
		if (typeof f.code !== 'string' || !/^[A-Z]{3}$/.test(f.code)) throw new ValidationError('Validation failed: code: Expected three capital letters');
		if (taken.has(f.code)) throw new ValidationError(`Validation failed: code: ${f.code} is taken`);
		code = f.code;
	} else {
		const letters = `${String(f.name).toUpperCase().replace(/[^A-Z]/g, '')}XXX`;
		const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
		const candidates = [letters.slice(0, 3), ...alphabet.map((c) => letters.slice(0, 2) + c), ...alphabet.flatMap((b) => alphabet.map((c) => letters[0] + b + c))];
		const free = candidates.find((c) => !taken.has(c));
		if (!free) throw new ValidationError('Validation failed: code: no code left for this name');
		code = free;
	}
	return { code, name: String(f.name).trim(), decimal_points: decimals, symbol: f.symbol.trim(), active_flag: true, is_custom_flag: true };
}
