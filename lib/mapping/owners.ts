// Record owners across CRMs: users differ per CRM, so an owner is carried by the user's e-mail
// address (CrmConnector.listUsers). A source owner whose address has no active user in the
// target gets the target's default owner when one is set, else none (the CRM then assigns the
// API user, as on any create without an owner).

import type { CrmUser } from '../connectors/types';
import type { CrmName } from '../model';

export interface OwnerMatch {
	/** The target CRM's owner id, or undefined to leave the owner to the CRM. */
	id?: string;
	/** How it was chosen. */
	by: 'email' | 'default' | 'none';
	/** The source owner's e-mail, when the source knows the user. */
	email?: string;
	/** Why no user with that e-mail was used, when one was not. */
	reason?: string;
}

export class OwnerDirectory {
	private readonly byId = new Map<string, CrmUser>();
	private readonly activeByEmail = new Map<string, CrmUser>();
	private readonly inactiveByEmail = new Map<string, CrmUser>();

	/** `users` per CRM as listUsers gave them; `defaults`: each CRM's owner id for unmatched owners. */
	constructor(
		users: Partial<Record<CrmName, CrmUser[]>>,
		private readonly defaults: Partial<Record<CrmName, string>> = {},
	) {
		for (const [crm, list] of Object.entries(users) as Array<[CrmName, CrmUser[]]>) {
			for (const user of list) {
				this.byId.set(`${crm}|${user.id}`, user);
				const email = user.email?.trim().toLowerCase();
				if (!email) continue;
				const index = user.active ? this.activeByEmail : this.inactiveByEmail;
				// Two users with one address: the first listed keeps it (CRMs list oldest first).
				if (!index.has(`${crm}|${email}`)) index.set(`${crm}|${email}`, user);
			}
		}
	}

	/** Is `ownerId` a user of `crm` (active or not)? */
	knows(crm: CrmName, ownerId: string | number): boolean {
		return this.byId.has(`${crm}|${ownerId}`);
	}

	/** The e-mail address of `crm`'s user `ownerId` (lower case), when the user is known and has one. */
	emailOf(crm: CrmName, ownerId: string | number): string | undefined {
		return this.byId.get(`${crm}|${ownerId}`)?.email?.trim().toLowerCase() || undefined;
	}

	/** The owner in `crm` for the user with `email`: its active user, else the default owner, else none. */
	ownerFor(crm: CrmName, email: string): OwnerMatch {
		const key = email.trim().toLowerCase();
		const target = this.activeByEmail.get(`${crm}|${key}`);
		if (target) return { id: target.id, by: 'email', email: key };
		return this.fallback(crm, key, this.inactiveByEmail.has(`${crm}|${key}`) ? `the ${crm} user ${key} is inactive` : `${crm} has no user ${key}`);
	}

	/** The owner in `to` for owner `ownerId` of `from`. */
	translate(from: CrmName, ownerId: string | number, to: CrmName): OwnerMatch {
		if (!this.byId.has(`${from}|${ownerId}`)) return this.fallback(to, undefined, `${from} has no user ${ownerId}`);
		const email = this.emailOf(from, ownerId);
		if (!email) return this.fallback(to, undefined, `${from} user ${ownerId} has no e-mail address`);
		return this.ownerFor(to, email);
	}

	private fallback(crm: CrmName, email: string | undefined, reason: string): OwnerMatch {
		const id = this.defaults[crm];
		return { ...(id ? { id, by: 'default' } : { by: 'none' }), ...(email ? { email } : {}), reason };
	}
}
