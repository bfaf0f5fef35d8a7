// Runs before `npm start` and `npm test` so that a fresh clone needs no other set-up step:
// installs the npm dependencies (which bring Node 24) and, for tests, redis-server.
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

if (process.argv.includes('--redis') && !has('redis-server')) {
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (isRoot && has('apt-get')) {
		console.log('installing redis-server (Debian package) for the Redis state-store tests…');
		run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server');
	} else {
		console.error('redis-server is not installed: run `sudo apt-get install redis-server` (the Redis tests need a real server).');
		process.exit(1);
	}
}
