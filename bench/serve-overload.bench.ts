// Load test of `medclass serve` on 127.0.0.1: POST /api/predict with one chest X-ray as base64 JSON at 10, 50 and 200
// connections (autocannon, in this process) against the server in a child process, /api/health probed meanwhile from
// a second child. Prints a table to stderr and one JSON line: goodput (2xx/s), p99 of accepted requests, refusals
// with/without Retry-After, health p99, server RSS before/peak/after, load average.
//   node --import tsx bench/serve-overload.bench.ts [--run DIR] [--seconds 15] [--conns 10,50,200] [-- serve flags…]
// Without --run, a compact CNN (64 px grey, 1 epoch, seed 0) is trained once on the Kermany set into $TMPDIR.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { runTraining } from '../src/pipeline/index.js';

/** autocannon has no type declarations: the part of its API used here. */
interface Cannon extends Promise<{ duration: number; errors: number; timeouts: number }> { on(event: 'response', f: (client: unknown, status: number, bytes: number, ms: number) => void): void }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Cannon;

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const serveFlags = dash >= 0 ? argv.slice(dash + 1) : [];
const arg = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 && (dash < 0 || i < dash) ? argv[i + 1]! : dflt; };
const seconds = Number(arg('--seconds', '15'));
const levels = arg('--conns', '10,50,200').split(',').map(Number);
const DATA = new URL('../../shared/data/chest-xray-pneumonia-224/', import.meta.url).pathname;

async function benchRun(): Promise<string> {
  const given = arg('--run', '');
  if (given) return given;
  const out = join(tmpdir(), 'medclass-serve-bench');
  const runDir = join(out, 'chest-64');
  if (existsSync(join(runDir, 'model.onnx'))) return runDir;
  process.stderr.write('training the bench run (compact CNN, 64 px, 1 epoch)…\n');
  const s = await runTraining({ name: 'chest-64', out, seed: 0, threads: 2, data: { source: join(DATA, 'dataset'), preprocess: { size: 64, channels: 1 }, split: { mode: 'merge-train-val', valFraction: 0.15 } }, fit: { epochs: 1, batchSize: 64 }, eval: { bootstrap: 0 } });
  return s.runDir;
}

/** The server's resident set in bytes (Linux /proc). */
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

function startServer(runDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/medclass.js', 'serve', '--run', runDir, '--port', '0', ...serveFlags], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

/** A child process that GETs /api/health every 20 ms over keep-alive for `ms` and prints its latencies' p50/p99/max. */
interface Health { n: number; p50: number; p99: number; max: number; errors: number }

/** Its keep-alive connection is open (`connected`, one health answer) before the load starts, as a monitoring client's would be. */
function probeHealth(url: string, ms: number): { connected: Promise<void>; done: Promise<Health> } {
  const script = `
    const http = require('node:http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const t = []; let errors = 0; const end = Date.now() + ${ms};
    const one = () => new Promise((res) => { const t0 = performance.now();
      http.get('${url}/api/health', { agent }, (r) => { r.resume(); r.on('end', () => { if (r.statusCode === 200) t.push(performance.now() - t0); else errors++; res(); }); })
        .on('error', () => { errors++; res(); }); });
    (async () => { await one(); t.length = 0; process.stdout.write('ready\\n'); while (Date.now() < end) { await one(); await new Promise((r) => setTimeout(r, 20)); }
      t.sort((a, b) => a - b); const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))] ?? NaN;
      process.stdout.write(JSON.stringify({ n: t.length, p50: q(0.5), p99: q(0.99), max: t[t.length - 1] ?? NaN, errors })); agent.destroy(); })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let ready: () => void = () => {};
  const connected = new Promise<void>((r) => { ready = r; });
  child.stdout.on('data', (d: Buffer) => { text += d.toString(); if (text.includes('ready\n')) ready(); });
  const done = new Promise<Health>((resolve, reject) => child.on('exit', () => { try { resolve(JSON.parse(text.slice(text.indexOf('ready\n') + 6))); } catch (e) { reject(e); } }));
  return { connected, done };
}

interface Level { connections: number; goodput: number; p50: number; p99: number; refusedWithRetryAfter: number; refusedWithout: number; other: number; healthP99: number; healthMax: number; healthN: number; rssPeakMiB: number }

async function load(url: string, pid: number, connections: number, body: string): Promise<Level> {
  const ok: number[] = [];
  let withRA = 0;
  let without = 0;
  let other = 0;
  let peak = rss(pid);
  const sampler = setInterval(() => { peak = Math.max(peak, rss(pid)); }, 100);
  const health = probeHealth(url, seconds * 1000 + 500);
  await health.connected;
  const inst = autocannon({
    url, connections, duration: seconds,
    requests: [{
      method: 'POST', path: '/api/predict', headers: { 'content-type': 'application/json' }, body,
      onResponse: (status: number, _b: string, _c: unknown, headers: Record<string, string>) => {
        if (status >= 200 && status < 300) return;
        if (status === 503 || status === 429) { if (headers['retry-after']) withRA++; else without++; } else other++;
      },
    }],
  });
  inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => { if (status >= 200 && status < 300) ok.push(ms); });
  const r = await inst;
  clearInterval(sampler);
  const h = await health.done;
  ok.sort((a, b) => a - b);
  const q = (p: number) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))] ?? NaN;
  return {
    connections, goodput: ok.length / (r.duration || seconds), p50: q(0.5), p99: q(0.99), refusedWithRetryAfter: withRA, refusedWithout: without,
    other: other + r.errors + r.timeouts, healthP99: h.p99, healthMax: h.max, healthN: h.n, rssPeakMiB: peak / 2 ** 20,
  };
}

const runDir = await benchRun();
const image = readFileSync(join(DATA, 'dataset/test/NORMAL/IM-0001-0001.jpeg'));
const body = JSON.stringify({ images: [{ data: image.toString('base64') }] });
const loadBefore = loadavg()[0]!;
const { child, url } = await startServer(runDir);
const pid = child.pid!;
await autocannon({ url, connections: 4, duration: 3, method: 'POST', path: '/api/predict', headers: { 'content-type': 'application/json' }, body }); // warm-up
const rssBefore = rss(pid);
const results: Level[] = [];
for (const c of levels) results.push(await load(url, pid, c, body));
await new Promise((r) => setTimeout(r, 2000));
const rssAfter = rss(pid);
child.kill('SIGTERM');
const best = Math.max(...results.map((r) => r.goodput));
const f = (v: number, d = 1) => v.toFixed(d);
process.stderr.write(`| connections | goodput 2xx/s | % of best | p50 / p99 accepted ms | 503 with / without Retry-After | other | /api/health p99 / max ms | server RSS peak MiB |\n|---|---|---|---|---|---|---|---|\n`);
for (const r of results) {
  process.stderr.write(`| ${r.connections} | ${f(r.goodput)} | ${f((100 * r.goodput) / best, 0)} % | ${f(r.p50, 0)} / ${f(r.p99, 0)} | ${r.refusedWithRetryAfter} / ${r.refusedWithout} | ${r.other} | ${f(r.healthP99)} / ${f(r.healthMax)} | ${f(r.rssPeakMiB, 0)} |\n`);
}
process.stderr.write(`server RSS before ${f(rssBefore / 2 ** 20, 0)} MiB, after ${f(rssAfter / 2 ** 20, 0)} MiB; load ${f(loadBefore, 2)} → ${f(loadavg()[0]!, 2)}; serve flags: ${serveFlags.join(' ') || '(defaults)'}\n`);
process.stdout.write(`${JSON.stringify({
  name: 'serve-overload', config: { seconds, levels, serveFlags, image: 'test/NORMAL/IM-0001-0001.jpeg', bodyBytes: body.length },
  results, best, rssBeforeMiB: rssBefore / 2 ** 20, rssAfterMiB: rssAfter / 2 ** 20, loadBefore, loadAfter: loadavg()[0], cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
})}\n`);
