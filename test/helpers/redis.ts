// Starts a real redis-server (Debian package `redis-server`) on 127.0.0.1 for a test: a free port, no persistence
// (--save '' --appendonly no), its own temp working folder. `stop()` ends the process and removes the folder;
// `restart()` starts it again on the same port (Redis going away mid-batch).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './orthanc.js';

const REDIS_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/** A running redis-server: its URL, port, and lifecycle. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  logs(): string;
  /** stops the server (its data is gone: no persistence) */
  kill(): Promise<void>;
  /** starts it again on the same port */
  restart(): Promise<void>;
  /** stops it and removes its folder */
  stop(): Promise<void>;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.end(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

/** Starts redis-server on a free port of 127.0.0.1; throws when the package is not installed (tests never skip). */
export async function startRedis(): Promise<RedisServer> {
  const bin = REDIS_BIN.find((p) => existsSync(p));
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'medclass-redis-'));
  let log = '';
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitForPort(port, 10_000);
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGKILL'); });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    logs: () => log,
    kill,
    restart: start,
    stop: async () => { await kill(); rmSync(dir, { recursive: true, force: true }); },
  };
}
