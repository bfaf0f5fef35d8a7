// The recorded CRM payloads in ../shared/data/crm-fixtures, read at test time and never copied
// into the repo. Each fixture comes with its evidence class from SOURCES.md and, for the Nango
// recordings, the status and headers recorded with it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES_DIR = resolve(__dirname, '../../../shared/data/crm-fixtures');

/** Why the conformance tests skip, or undefined when the fixtures are there. */
export const fixturesMissing = existsSync(join(FIXTURES_DIR, 'SOURCES.md'))
	? undefined
	: `the recorded CRM payloads are not here (${FIXTURES_DIR}); clone the project next to ../shared to run the conformance tests`;

/** Fixture folders, one per CRM (Dynamics 365's is named after its API, Dataverse). */
export type FixtureCrm = 'hubspot' | 'salesforce' | 'pipedrive' | 'zoho' | 'dataverse';

export type Evidence = 'RECORDED' | 'VENDOR-DOC' | 'VENDOR-OAS' | 'VENDOR' | 'THIRD-PARTY';

/** Files in a folder that hold no payload of their own. */
const HEADER_FILES = new Set(['nango-recorded-status-and-headers.json']);

export interface HttpMessage {
	status: number;
	statusText: string;
	headers: Record<string, string>;
	body: string;
}

export interface Fixture {
	crm: FixtureCrm;
	file: string;
	evidence: Evidence;
	/** The file's bytes as text. */
	text: string;
	/** `*.json`: the parsed payload. */
	json?: unknown;
	/** `*.http`: the status line, headers and body as recorded. */
	http?: HttpMessage;
	/** Nango recordings: the request, status and headers recorded with the body. */
	recorded?: { request: string; status: number; headers: Record<string, string> };
}

export function fixtureFiles(crm: FixtureCrm): string[] {
	return readdirSync(join(FIXTURES_DIR, crm))
		.filter((file) => !HEADER_FILES.has(file))
		.sort();
}

let evidenceTable: Map<string, Evidence> | undefined;

/**
 * The evidence class of each file, from SOURCES.md's tables: the first column names the files
 * (one or several, comma-separated), the last gives the class. Dataverse's table has no class
 * column: its files are VENDOR-DOC unless the row says otherwise.
 */
function evidenceOf(crm: FixtureCrm, file: string): Evidence {
	if (!evidenceTable) {
		evidenceTable = new Map();
		let folder = '';
		for (const line of readFileSync(join(FIXTURES_DIR, 'SOURCES.md'), 'utf8').split('\n')) {
			const heading = /^## .*\(`([a-z]+)\/`/.exec(line);
			if (heading) folder = heading[1];
			if (!folder || !line.startsWith('| ') || line.startsWith('| file') || line.startsWith('|---')) continue;
			const cells = line.split('|').map((c) => c.trim());
			const files = cells[1].split(',').map((f) => f.trim()).filter((f) => /\.(json|txt|http|xml)$/.test(f));
			const classCell = cells[cells.length - 2];
			const evidence: Evidence = /THIRD-PARTY/.test(classCell)
				? 'THIRD-PARTY'
				: /RECORDED/.test(classCell)
					? 'RECORDED'
					: /VENDOR-OAS/.test(classCell)
						? 'VENDOR-OAS'
						: /VENDOR-DOC/.test(classCell) || folder === 'dataverse'
							? 'VENDOR-DOC'
							: /VENDOR/.test(classCell)
								? 'VENDOR'
								: 'THIRD-PARTY';
			for (const f of files) evidenceTable.set(`${folder}/${f}`, evidence);
		}
	}
	const found = evidenceTable.get(`${crm}/${file}`);
	if (!found) throw new Error(`SOURCES.md gives no evidence class for ${crm}/${file}`);
	return found;
}

/** Parses an `HTTP/1.1 <status> <text>` message: headers up to the first blank line, then the body. */
export function parseHttpMessage(text: string): HttpMessage {
	const normalized = text.replace(/\r\n/g, '\n');
	const blank = normalized.indexOf('\n\n');
	const head = blank < 0 ? normalized : normalized.slice(0, blank);
	const body = blank < 0 ? '' : normalized.slice(blank + 2);
	const [statusLine, ...headerLines] = head.split('\n');
	const status = /^HTTP\/[\d.]+ (\d{3}) ?(.*)$/.exec(statusLine);
	if (!status) throw new Error(`not an HTTP message: ${statusLine}`);
	const headers: Record<string, string> = {};
	for (const line of headerLines) {
		const colon = line.indexOf(':');
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return { status: Number(status[1]), statusText: status[2], headers, body };
}

const recordings = new Map<FixtureCrm, Record<string, { request: string; status: number; headers: Record<string, string> }>>();

function recordedWith(crm: FixtureCrm, file: string): Fixture['recorded'] {
	if (!recordings.has(crm)) {
		const path = join(FIXTURES_DIR, crm, 'nango-recorded-status-and-headers.json');
		recordings.set(crm, existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {});
	}
	return recordings.get(crm)![file];
}

export function loadFixture(crm: FixtureCrm, file: string): Fixture {
	const text = readFileSync(join(FIXTURES_DIR, crm, file), 'utf8');
	const fixture: Fixture = { crm, file, evidence: evidenceOf(crm, file), text, recorded: recordedWith(crm, file) };
	if (file.endsWith('.json')) fixture.json = JSON.parse(text);
	// A .http file starting with a request line (a recorded webhook delivery) is left to its test.
	if (file.endsWith('.http') && text.startsWith('HTTP/')) fixture.http = parseHttpMessage(text);
	return fixture;
}
