// Starts a real, throw-away redis-server on a free loopback port for tests and benchmarks.

import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface RedisServer {
	port: number;
	process: ChildProcess;
	stop(): Promise<void>;
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const ok = await new Promise<boolean>((resolve) => {
			const socket = net.connect(port, '127.0.0.1');
			socket.once('connect', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (ok) return;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
}

/** Start on a free port, or on `port` (to restart a server where clients expect it). */
export async function startRedisServer(port?: number): Promise<RedisServer> {
	port ??= await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
		stdio: 'ignore',
	});
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	child.once('error', () => undefined);
	await waitForPort(port, 5000);
	return {
		port,
		process: child,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGTERM');
				await exited;
			}
		},
	};
}
