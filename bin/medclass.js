#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so no build step stands between a clone and a run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// onnxruntime's environment set-up overflows the main thread's stack when the command line is long (a SIGSEGV from
// about 40 KB of arguments, e.g. 250 long image paths), so a long command line is moved into an @FILE argument file
// (src/cli/argfile.ts) and the CLI re-runs itself with that one argument.
const MAX_ARGV_BYTES = 16 * 1024;
const args = process.argv.slice(2);
if (args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) > MAX_ARGV_BYTES && !args.some((a) => a.includes('\n'))) {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-args-'));
  const file = join(dir, 'args.txt');
  writeFileSync(file, args.map((a) => (a.startsWith('@') ? `@${a}` : a)).join('\n') + '\n');
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `@${file}`], { stdio: 'inherit' });
  rmSync(dir, { recursive: true, force: true });
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

register();
await import('../src/cli/main.ts');
