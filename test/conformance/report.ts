// `npm run conformance`: runs the conformance suites, then prints one table over the five CRMs
// (fixtures, checks, passed, failed, known differences) and every difference left with its reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fixturesMissing } from './fixtures';
import type { Row } from './suite';

const dir = mkdtempSync(join(tmpdir(), 'conformance-'));
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=dot', 'test/conformance/**/*.test.ts'], {
	env: { ...process.env, CONFORMANCE_REPORT_DIR: dir },
	stdio: ['ignore', 'inherit', 'inherit'],
});
if (fixturesMissing) console.log(`\nconformance skipped: ${fixturesMissing}`);
const results = readdirSync(dir)
	.map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as { crm: string; fixtures: number; rows: Row[] })
	.sort((a, b) => a.crm.localeCompare(b.crm));
rmSync(dir, { recursive: true, force: true });

const count = (rows: Row[], outcome: Row['outcome']) => rows.filter((r) => r.outcome === outcome).length;
console.log('\n| CRM | fixtures | exercised | checks | passed | failed | known differences |\n| --- | --- | --- | --- | --- | --- | --- |');
for (const { crm, fixtures, rows } of results) {
	const checks = rows.filter((r) => r.outcome !== 'difference');
	console.log(`| ${crm} | ${fixtures} | ${new Set(rows.map((r) => r.file)).size} | ${checks.length} | ${count(rows, 'pass')} | ${count(rows, 'fail')} | ${count(rows, 'difference')} |`);
}
for (const { crm, rows } of results) {
	const left = rows.filter((r) => r.outcome !== 'pass');
	if (left.length === 0) continue;
	console.log(`\n${crm}:`);
	for (const r of left) console.log(`  - ${r.outcome === 'fail' ? 'FAILED' : 'difference'} ${r.file} [${r.aspect}]${r.reason ? `: ${r.reason}` : ` ${r.name}`}`);
}
process.exit(run.status ?? 1);
