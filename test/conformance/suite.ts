// One CRM's conformance suite: each check feeds a recorded payload to the code that would meet it
// in production (a connector, a webhook parser) or compares the sandbox's answer with it. The
// suite keeps score, prints the CRM's table at the end, and fails when a fixture in the CRM's
// folder is exercised by no check.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { fixtureFiles, fixturesMissing, loadFixture, type Fixture, type FixtureCrm } from './fixtures';

/** What a check holds a fixture against. */
export type Aspect = 'connector' | 'parser' | 'sandbox';

export interface Row {
	file: string;
	aspect: Aspect;
	name: string;
	outcome: 'pass' | 'fail' | 'difference';
	reason?: string;
}

export interface ConformanceSuite {
	/** Loads a fixture of this CRM. */
	fixture(file: string): Fixture;
	/** A test of `file` against `aspect`; it passes or fails like any test. */
	check(file: string, aspect: Aspect, name: string, run: (fixture: Fixture) => unknown | Promise<unknown>): void;
	/**
	 * A known, justified difference: the sandbox (or a parser, for a THIRD-PARTY fixture) differs
	 * from the fixture on purpose. `reason` gives the evidence. It counts as exercised, not as passed.
	 */
	difference(file: string, aspect: Aspect, reason: string): void;
}

/** Declares `crm`'s conformance tests; skipped with a clear message without ../shared. */
export function conformance(crm: FixtureCrm, body: (suite: ConformanceSuite) => void): void {
	const rows: Row[] = [];
	const exercised = new Set<string>();
	describe(`${crm} conformance with recorded payloads`, { skip: fixturesMissing }, () => {
		const suite: ConformanceSuite = {
			fixture: (file) => loadFixture(crm, file),
			check(file, aspect, name, run) {
				exercised.add(file);
				test(`${file} [${aspect}] ${name}`, async () => {
					const row: Row = { file, aspect, name, outcome: 'fail' };
					rows.push(row);
					await run(loadFixture(crm, file));
					row.outcome = 'pass';
				});
			},
			difference(file, aspect, reason) {
				exercised.add(file);
				rows.push({ file, aspect, name: '', outcome: 'difference', reason });
			},
		};
		body(suite);
		test('every fixture in the folder is exercised by a check', () => {
			const missed = fixtureFiles(crm).filter((file) => !exercised.has(file));
			assert.deepEqual(missed, [], `fixtures no check exercises: ${missed.join(', ')}`);
		});
		after(() => {
			console.log(report(crm, rows));
			// `npm run conformance` (report.ts) gathers every CRM's rows into one summary.
			const dir = process.env.CONFORMANCE_REPORT_DIR;
			if (dir) writeFileSync(join(dir, `${crm}.json`), JSON.stringify({ crm, fixtures: fixtureFiles(crm).length, rows }));
		});
	});
}

function report(crm: FixtureCrm, rows: Row[]): string {
	const files = new Set(rows.map((r) => r.file));
	const lines = [`\nconformance, ${crm}: ${files.size} fixtures checked`, '| aspect | checks | passed | failed | known differences |', '| --- | --- | --- | --- | --- |'];
	for (const aspect of ['connector', 'parser', 'sandbox'] as Aspect[]) {
		const of = rows.filter((r) => r.aspect === aspect);
		if (of.length === 0) continue;
		const count = (o: Row['outcome']) => of.filter((r) => r.outcome === o).length;
		lines.push(`| ${aspect} | ${of.length} | ${count('pass')} | ${count('fail')} | ${count('difference')} |`);
	}
	const failed = rows.filter((r) => r.outcome === 'fail');
	if (failed.length) lines.push('failed:', ...failed.map((r) => `  - ${r.file} [${r.aspect}] ${r.name}`));
	const differences = rows.filter((r) => r.outcome === 'difference');
	if (differences.length) lines.push('known differences:', ...differences.map((r) => `  - ${r.file} [${r.aspect}]: ${r.reason}`));
	return lines.join('\n');
}
