// Decode + resize the 5,840 chest X-rays (224×224 RGB JPEG) to 64×64 grey float tensors; prints one JSON line.
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { Dataset, openSource } from '../src/data/index.js';

const ROOT = new URL('../../shared/data/chest-xray-pneumonia-224/dataset', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; dependencies: Record<string, string> };
const config = { images: 5840, size: 64, channels: 1, fit: 'squash', normalize: 'half', concurrency: 4, cache: false } as const;

const source = openSource(ROOT);
const indices = source.items.map((_, i) => i);
const run = async () => {
  const ds = new Dataset(source, { cacheTensors: false }); // fresh, no cache: every iteration decodes every file
  const t0 = performance.now();
  const b = await ds.loadBatch(indices, { size: config.size, channels: config.channels, fit: 'squash', normalize: 'half' }, { concurrency: config.concurrency });
  if (b.indices.length !== config.images) throw new Error(`decoded ${b.indices.length} of ${config.images}`);
  return performance.now() - t0;
};

await run(); // warm-up (page cache, sharp init)
const times: number[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < 5; i++) times.push(await run());
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6 / times.length; // process-wide, includes sharp's worker threads
times.sort((a, b) => a - b);
const median = times[2]!;
process.stdout.write(`${JSON.stringify({
  name: 'data-decode-chest',
  config,
  iterations: times.length,
  median_ms: Math.round(median),
  min_ms: Math.round(times[0]!),
  max_ms: Math.round(times.at(-1)!),
  images_per_s: Math.round((config.images / median) * 1000),
  // wall-clock figures depend on what else runs on the machine; CPU time per image does much less
  cpu_s_per_iteration: Math.round(cpuSeconds * 100) / 100,
  images_per_cpu_s: Math.round(config.images / cpuSeconds),
  loadavg_1m: Math.round(loadavg()[0]! * 10) / 10,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  sharp: pkg.dependencies.sharp,
  onnxruntime: pkg.dependencies['onnxruntime-node'],
  medclass: pkg.version,
})}\n`);
