// Every template in workflows/ opened in the real n8n editor with headless Chromium (Debian's
// chromium package, driven by puppeteer-core): it renders every node, none is unknown to n8n, none
// shows a parameter or credential issue, and a screenshot goes to docs/screenshots/ for the README.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer, { type Browser } from 'puppeteer-core';

import { DEFAULT_PORTS } from '../../sandbox';
import { sandboxCredentials } from './fixtures';
import { OWNER_EMAIL, OWNER_PASSWORD, REPO_ROOT, startN8n, type N8nInstance } from './harness';

const WORKFLOWS_DIR = join(REPO_ROOT, 'workflows');
const SCREENSHOTS_DIR = join(REPO_ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

interface Template {
	id: string;
	name: string;
	nodes: Array<{ name: string; type: string }>;
}

const files = readdirSync(WORKFLOWS_DIR).filter((name) => name.endsWith('.json')).sort();
const templates = files.map((file) => ({ file, workflow: JSON.parse(readFileSync(join(WORKFLOWS_DIR, file), 'utf8')) as Template }));

let n8n: N8nInstance;
let browser: Browser;
let authCookie: { name: string; value: string };
/** Node types this n8n instance knows (what its editor loads). */
let knownTypes: Set<string>;

before(async () => {
	assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
	const urls = Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([crm, port]) => [crm, `http://127.0.0.1:${port}`]));
	// Not published: no CRM answers at these URLs, and an imported template starts unpublished.
	n8n = await startN8n({ workflows: files.map((file) => join(WORKFLOWS_DIR, file)), credentials: sandboxCredentials(urls), publish: false });
	const login = await fetch(`${n8n.baseUrl}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: OWNER_EMAIL, password: OWNER_PASSWORD }),
	});
	assert.equal(login.status, 200, await login.text());
	const [name, value] = (login.headers.getSetCookie().find((c) => c.startsWith('n8n-auth=')) ?? '').split(';')[0].split('=');
	assert.ok(value, 'n8n set no auth cookie');
	authCookie = { name, value };
	const types = await fetch(`${n8n.baseUrl}/types/nodes.json`, { headers: { cookie: `${name}=${value}` } });
	assert.equal(types.status, 200);
	knownTypes = new Set(((await types.json()) as Array<{ name: string }>).map((t) => t.name));
	assert.ok(knownTypes.has('n8n-nodes-crm-sync.unifiedCrmUpsert'), 'the package is not loaded in n8n');
	browser = await puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
		defaultViewport: { width: 1800, height: 1000 },
	});
	mkdirSync(SCREENSHOTS_DIR, { recursive: true });
});

after(async () => {
	await browser?.close();
	await n8n?.stop();
});

for (const { file, workflow } of templates) {
	test(`${file} opens in the n8n editor with every node known and no issues`, async () => {
		const page = await browser.newPage();
		try {
			const origin = new URL(n8n.baseUrl);
			await page.setCookie({ ...authCookie, domain: origin.hostname, path: '/' });
			await page.goto(`${n8n.baseUrl}/workflow/${workflow.id}`, { waitUntil: 'networkidle2', timeout: 120_000 });
			const nodeCount = workflow.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote').length;
			await page.waitForFunction(`document.querySelectorAll('[data-test-id="canvas-node"]').length >= ${nodeCount}`, { timeout: 120_000 });
			// Let the canvas finish its fit-to-view before measuring and capturing.
			await new Promise((r) => setTimeout(r, 1500));

			const rendered = await page.$$eval('[data-test-id="canvas-node"]', (els) => els.map((el) => el.getAttribute('data-node-type') ?? ''));
			assert.equal(rendered.length, nodeCount, `canvas shows ${rendered.length} of ${nodeCount} nodes`);
			const unknown = [...new Set(rendered)].filter((type) => !knownTypes.has(type));
			assert.deepEqual(unknown, [], `node types unknown to this n8n: ${unknown.join(', ')}`);
			const withIssues = await page.$$eval('[data-test-id="node-issues"], [data-test-id="canvas-node-status-issues"]', (els) =>
				els.map((el) => el.closest('[data-test-id="canvas-node"]')?.getAttribute('data-node-name') ?? '?'),
			);
			assert.deepEqual(withIssues, [], `nodes with parameter or credential issues: ${withIssues.join(', ')}`);

			// The editor's onboarding checklist would cover part of the canvas.
			await page.evaluate(`for (const el of document.querySelectorAll('div')) if (el.firstElementChild?.textContent?.trim() === 'Production Checklist') el.remove();`);
			await page.click('[data-test-id="zoom-to-fit"]');
			await new Promise((r) => setTimeout(r, 800));
			const target = join(SCREENSHOTS_DIR, file.replace(/\.json$/, '.png'));
			await page.screenshot({ path: target as `${string}.png` });
			assert.ok(statSync(target).size > 10_000, `screenshot ${target} looks empty`);
		} finally {
			await page.close();
		}
	});
}
