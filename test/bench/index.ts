// `npm run bench [-- <area> ...] [-- --json]`: runs every benchmark in test/bench (or the named ones)
// and prints their figures. Benchmarks report; they do not assert.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const json = args.includes('--json');
	const wanted = args.filter((arg) => !arg.startsWith('--'));
	const areas = readdirSync(__dirname)
		.filter((name) => name.endsWith('.ts') && name !== 'index.ts')
		.map((name) => basename(name, '.ts'))
		.filter((area) => wanted.length === 0 || wanted.includes(area));
	console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
	const summary: Record<string, unknown> = { cores: cpus().length, node: process.version, at: new Date().toISOString() };
	for (const area of areas) {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const bench = require(join(__dirname, area)) as { run?: () => Promise<unknown> };
		if (typeof bench.run !== 'function') continue; // a helper module shared by benchmarks
		console.log(`\n=== ${area} ===`);
		summary[area] = (await bench.run()) ?? null;
	}
	if (json) {
		mkdirSync('bench-results', { recursive: true });
		const file = join('bench-results', `bench-${Date.now()}.json`);
		writeFileSync(file, JSON.stringify(summary, null, 2));
		console.log(`\nJSON summary: ${file}`);
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
