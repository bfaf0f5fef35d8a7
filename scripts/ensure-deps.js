// Runs before `npm start` and `npm test` so that a fresh clone needs no other set-up step:
// installs the npm dependencies (which bring Node 24) and, for tests, the Debian packages they use.
// Plain JavaScript on purpose: it runs on whatever Node the machine has.
const { execSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });
const has = (command) => {
	try {
		execSync(`command -v ${command}`, { stdio: 'ignore', shell: '/bin/sh' });
		return true;
	} catch {
		return false;
	}
};

if (!existsSync(join(root, 'node_modules/.bin/tsx')) || !existsSync(join(root, 'node_modules/node/bin/node'))) {
	console.log('installing npm dependencies (npm ci)…');
	run('npm ci --no-audit --no-fund --loglevel=error');
}

// Debian packages the tests need: `--apt=redis-server,postgresql,chromium` (command that proves each is there).
const APT_CHECKS = { 'redis-server': 'redis-server', postgresql: 'pg_ctlcluster', chromium: 'chromium' };
const aptArg = process.argv.find((a) => a.startsWith('--apt='));
const missing = (aptArg ? aptArg.slice(6).split(',') : []).filter((pkg) => !has(APT_CHECKS[pkg] ?? pkg));
if (missing.length > 0) {
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (isRoot && has('apt-get')) {
		console.log(`installing Debian packages for the tests: ${missing.join(' ')}…`);
		run(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(' ')}`);
	} else {
		console.error(`missing Debian packages: run \`sudo apt-get install ${missing.join(' ')}\` (the tests use real servers and a real browser).`);
		process.exit(1);
	}
}
