// The five CRMs. Everything the package knows of one CRM lives in its folder, lib/crms/<crm>/:
// its connector (API calls), its webhook module (checks and parses deliveries), its default
// field maps and its adapter (what generic code asks about it, lib/crms/types.ts). This table
// is the one place that lists them; generic code asks it, never a `crm === '…'` test.
// Adding a CRM: see README.md in this folder.

import type { ConnectorFactory } from '../connectors/types';
import type { CrmMaps } from '../mapping/types';
import type { CrmName } from '../model';
import type { CrmWebhookModule } from '../webhooks/types';
import type { CrmAdapter, SubscriptionApi } from './types';
import { adapter as dynamicsAdapter } from './dynamics/adapter';
import { dynamicsMaps } from './dynamics/map';
import { dynamics } from './dynamics/webhook';
import { adapter as hubspotAdapter } from './hubspot/adapter';
import { hubspotMaps } from './hubspot/map';
import { hubspot } from './hubspot/webhook';
import { adapter as pipedriveAdapter } from './pipedrive/adapter';
import { pipedriveMaps } from './pipedrive/map';
import { pipedrive } from './pipedrive/webhook';
import { adapter as salesforceAdapter } from './salesforce/adapter';
import { salesforceMaps } from './salesforce/map';
import { salesforce } from './salesforce/webhook';
import { adapter as zohoAdapter } from './zoho/adapter';
import { zohoMaps } from './zoho/map';
import { zoho } from './zoho/webhook';

export interface CrmModule {
	/** The connector factory, loaded on first use: each brings its CRM's SDK, which a workflow that does not use the CRM should not pay for. */
	connector(): ConnectorFactory;
	webhook: CrmWebhookModule;
	/**
	 * Default field maps per entity. A getter in the table: the maps import lib/mapping, which asks
	 * this table, so they are read when used, not while the modules load.
	 */
	readonly maps: CrmMaps;
	/** What generic code asks about the CRM. */
	adapter: CrmAdapter;
	/** Webhook subscriptions the trigger can register itself, where the CRM's API allows it (loaded on first use, with the connector). */
	subscriptions?(): SubscriptionApi;
}

/* eslint-disable @typescript-eslint/no-require-imports */
export const CRMS: Record<CrmName, CrmModule> = {
	salesforce: {
		connector: () => (require('./salesforce/connector') as typeof import('./salesforce/connector')).create,
		webhook: salesforce,
		get maps() {
			return salesforceMaps;
		},
		adapter: salesforceAdapter,
	},
	hubspot: {
		connector: () => (require('./hubspot/connector') as typeof import('./hubspot/connector')).create,
		webhook: hubspot,
		get maps() {
			return hubspotMaps;
		},
		adapter: hubspotAdapter,
	},
	pipedrive: {
		connector: () => (require('./pipedrive/connector') as typeof import('./pipedrive/connector')).create,
		webhook: pipedrive,
		get maps() {
			return pipedriveMaps;
		},
		adapter: pipedriveAdapter,
		subscriptions: () => (require('./pipedrive/subscriptions') as typeof import('./pipedrive/subscriptions')).subscriptions,
	},
	zoho: {
		connector: () => (require('./zoho/connector') as typeof import('./zoho/connector')).create,
		webhook: zoho,
		get maps() {
			return zohoMaps;
		},
		adapter: zohoAdapter,
		subscriptions: () => (require('./zoho/subscriptions') as typeof import('./zoho/subscriptions')).subscriptions,
	},
	dynamics: {
		connector: () => (require('./dynamics/connector') as typeof import('./dynamics/connector')).create,
		webhook: dynamics,
		get maps() {
			return dynamicsMaps;
		},
		adapter: dynamicsAdapter,
	},
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The CRM's module; a name that is not a CRM of this package is an error that says so. */
export function crmModule(crm: CrmName): CrmModule {
	const module = Object.hasOwn(CRMS, crm) ? CRMS[crm] : undefined;
	if (!module) throw new Error(`Unknown CRM ${JSON.stringify(crm)}; expected one of ${Object.keys(CRMS).join(', ')}`);
	return module;
}

export type { CrmAdapter, Subscription, SubscriptionApi, SubscriptionRequest } from './types';
