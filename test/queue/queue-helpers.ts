// Shared by the queue tests: 60 Kermany chest X-rays (30 NORMAL + 30 PNEUMONIA of the test split) plus one truncated
// JPEG in a temp class folder, spawned `medclass worker` processes, and the batch CSV read back by the data layer's parser.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from '../../src/data/csv.js';
import { BIN } from '../helpers/cli.js';

const KERMANY = new URL('../../../shared/data/chest-xray-pneumonia-224/dataset/test/', import.meta.url).pathname;

/** A temp folder `<class>/*.jpeg` with `perClass` Kermany test images per class and `PNEUMONIA/zz-corrupt.jpeg` (its first 300 bytes). */
export function kermanySubset(perClass = 30): { dir: string; files: string[]; corrupt: string } {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-queue-'));
  const files: string[] = [];
  for (const c of ['NORMAL', 'PNEUMONIA']) {
    mkdirSync(join(dir, c));
    for (const f of readdirSync(join(KERMANY, c)).sort().slice(0, perClass)) {
      copyFileSync(join(KERMANY, c, f), join(dir, c, f));
      files.push(join(dir, c, f));
    }
  }
  const corrupt = join(dir, 'PNEUMONIA', 'zz-corrupt.jpeg');
  writeFileSync(corrupt, readFileSync(files[0]!).subarray(0, 300));
  return { dir, files, corrupt };
}

/** A spawned `medclass worker` with its log so far. */
export interface SpawnedWorker { proc: ChildProcess; log(): string; exited: Promise<number | null> }

/** Spawns `medclass worker --queue url --threads 1 --name name` and resolves once it logs that it is ready. */
export async function spawnWorker(url: string, name: string, extra: string[] = []): Promise<SpawnedWorker> {
  const proc = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--threads', '1', '--name', name, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (log.includes(' ready on ')) { clearInterval(t); resolve(); }
      else if (proc.exitCode !== null) { clearInterval(t); reject(new Error(`worker ${name} exited: ${log}`)); }
    }, 50);
  });
  return { proc, log: () => log, exited };
}

/** Spawns the CLI with `args` (not awaited), collecting its output. */
export function spawnCli(args: string[]): { proc: ChildProcess; out(): string; done: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return { proc, out: () => out, done: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

/** Kills a child with `signal` and waits for it to exit. */
export async function killChild(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((r) => { proc.once('exit', () => r()); proc.kill(signal); });
}

/** A batch CSV as rows keyed by `id` (a duplicate id throws), with the probability columns as numbers. */
export function readBatchCsv(path: string): { header: string[]; rows: Map<string, Record<string, string>>; ids: string[] } {
  const [head, ...lines] = parseCsv(readFileSync(path, 'utf8'), 'batch.csv');
  const header = head!.cells;
  const rows = new Map<string, Record<string, string>>();
  const ids: string[] = [];
  for (const l of lines) {
    const r = Object.fromEntries(header.map((h, i) => [h, l.cells[i] ?? '']));
    ids.push(r.id!);
    rows.set(r.id!, r);
  }
  return { header, rows, ids };
}

/** max |Δp| over every probability column of two batch CSVs with the same ids. */
export function maxProbDiff(a: ReturnType<typeof readBatchCsv>, b: ReturnType<typeof readBatchCsv>): number {
  let m = 0;
  for (const [id, ra] of a.rows) {
    const rb = b.rows.get(id);
    if (!rb) return Infinity;
    for (const h of a.header.filter((x) => x.startsWith('prob_'))) {
      if (ra[h] === '' && rb[h] === '') continue;
      m = Math.max(m, Math.abs(Number(ra[h]) - Number(rb[h])));
    }
  }
  return m;
}
