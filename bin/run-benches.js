#!/usr/bin/env node
// Runs every bench/*.bench.ts (optionally only those whose name contains argv[2]) through tsx, one at a time,
// and prints the JSON lines they write. Exit code 1 when any benchmark fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../bench/', import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${f}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim().startsWith('{'));
  for (const l of lines) process.stdout.write(`${l}\n`);
  if (r.status !== 0 || lines.length === 0) {
    failed++;
    process.stderr.write(`bench ${f} failed (exit ${r.status})\n`);
  }
}
if (files.length === 0) process.stderr.write(`no benchmarks match '${filter}'\n`);
process.exitCode = failed ? 1 : 0;
