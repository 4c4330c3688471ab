// Float vs int8 inference throughput of run directories written by `medclass export --int8`, alternated A B A B in one
// process (the machine is shared: only the ratio of alternated runs means anything).
//   node --import tsx bench/int8-infer.bench.ts RUN_DIR [RUN_DIR…] [--threads 1] [--rounds 5]
// Without a run directory it trains nothing and prints nothing but usage (npm run bench passes none).
import { cpus, loadavg } from 'node:os';
import { Session, runtimeVersion } from '../src/engine/index.js';
import { openRunDir } from '../src/run/index.js';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args.splice(i, 2)[1]) : def; };
const threads = flag('--threads', 1);
const rounds = flag('--rounds', 5);
const runs = args.filter((a) => !a.startsWith('--'));
if (runs.length === 0) {
  process.stdout.write(`${JSON.stringify({ name: 'int8-infer', skipped: 'pass run directories that hold model.int8.onnx' })}\n`);
  process.exit(0);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

for (const dir of runs) {
  const run = openRunDir(dir);
  const pre = run.preprocess();
  const sessions = { float: await Session.create(run.modelBytes(), { threads }), int8: await Session.create(run.modelBytes('int8'), { threads }) };
  for (const batch of [1, 32]) {
    const per = pre.channels * pre.size * pre.size;
    const x = { dtype: 'float32' as const, dims: [batch, pre.channels, pre.size, pre.size], data: Float32Array.from({ length: batch * per }, (_, i) => Math.sin(i) * 0.9) };
    const iters = Math.max(3, Math.round(64 / batch));
    const times: Record<'float' | 'int8', number[]> = { float: [], int8: [] };
    const cpu = { float: 0, int8: 0 }; // process CPU ms per batch (user + system), the figure load disturbs least
    const ratios: number[] = [];
    const load = [loadavg()[0]!];
    for (const s of Object.values(sessions)) await s.run({ [pre.input]: x }); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const k of ['float', 'int8'] as const) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < iters; i++) await sessions[k].run({ [pre.input]: x });
        times[k].push((performance.now() - t0) / iters);
        const c = process.cpuUsage(c0);
        cpu[k] += (c.user + c.system) / 1000 / iters / rounds;
      }
      ratios.push(times.float.at(-1)! / times.int8.at(-1)!);
    }
    load.push(loadavg()[0]!);
    const ips = (k: 'float' | 'int8') => +((1000 * batch) / median(times[k])).toFixed(1);
    process.stdout.write(`${JSON.stringify({
      name: 'int8-infer', run: run.config.name, size: pre.size, channels: pre.channels, batch, threads, rounds, iters,
      float_ms: +median(times.float).toFixed(2), int8_ms: +median(times.int8).toFixed(2),
      float_min_ms: +Math.min(...times.float).toFixed(2), int8_min_ms: +Math.min(...times.int8).toFixed(2),
      float_cpu_ms: +cpu.float.toFixed(2), int8_cpu_ms: +cpu.int8.toFixed(2), speedup_cpu: +(cpu.float / cpu.int8).toFixed(2), float_img_s: ips('float'), int8_img_s: ips('int8'),
      speedup_median_of_alternated: +median(ratios).toFixed(2), load: load.map((l) => +l.toFixed(2)), cpu: cpus()[0]?.model, cores: cpus().length, onnxruntime: runtimeVersion(),
    })}\n`);
  }
  await sessions.float.dispose();
  await sessions.int8.dispose();
}
