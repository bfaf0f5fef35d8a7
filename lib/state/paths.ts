// Where the embedded store lives by default: `<n8n user folder>/crm-sync/state.sqlite`.
// n8n's user folder is $N8N_USER_FOLDER/.n8n when that variable is set, else ~/.n8n.

import * as path from 'node:path';

export function n8nUserFolder(env: Record<string, string | undefined>, homeDir: string): string {
	const base = env.N8N_USER_FOLDER && env.N8N_USER_FOLDER.trim() !== '' ? env.N8N_USER_FOLDER : homeDir;
	return path.join(base, '.n8n');
}

export function defaultEmbeddedStatePath(env: Record<string, string | undefined>, homeDir: string): string {
	return path.join(n8nUserFolder(env, homeDir), 'crm-sync', 'state.sqlite');
}
