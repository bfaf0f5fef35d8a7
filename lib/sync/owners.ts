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

	/** The owner in `to` for owner `ownerId` of `from`. */
	translate(from: CrmName, ownerId: string | number, to: CrmName): OwnerMatch {
		const source = this.byId.get(`${from}|${ownerId}`);
		const email = source?.email?.trim().toLowerCase();
		const fallback = (reason: string): OwnerMatch => {
			const id = this.defaults[to];
			return { ...(id ? { id, by: 'default' } : { by: 'none' }), ...(email ? { email } : {}), reason };
		};
		if (!source) return fallback(`${from} has no user ${ownerId}`);
		if (!email) return fallback(`${from} user ${ownerId} has no e-mail address`);
		const target = this.activeByEmail.get(`${to}|${email}`);
		if (target) return { id: target.id, by: 'email', email };
		return fallback(this.inactiveByEmail.has(`${to}|${email}`) ? `the ${to} user ${email} is inactive` : `${to} has no user ${email}`);
	}
}
