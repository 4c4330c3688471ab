// Epoch time of a head phase and a last:4 phase of MobileNetV2 (224 px grey chest X-rays), uncached vs cached trunk.
// Usage: bench/train-cached-trunk.bench.ts [images=256] [threads=2]. Prints one JSON line.
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Rng, loadModel, type Graph } from '../src/engine/index.js';
import { Dataset, PreprocessOptions, openSource } from '../src/data/index.js';
import { createBackbone } from '../src/models/index.js';
import { FitOptions, TrunkCache, fit, type ImageSet } from '../src/train/index.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const n = Number(process.argv[2] ?? 256);
const threads = Number(process.argv[3] ?? 2);
const opts = { numClasses: 2, inChannels: 1, head: { kind: 'linear', dropout: 0.2 } } as const;

async function load(count: number, skip: number): Promise<ImageSet> {
  const source = openSource(`${shared}data/chest-xray-pneumonia-224/dataset`);
  const ds = new Dataset(source);
  const rows = ds.indicesOf('train').filter((_, i) => i % 7 === 0).slice(skip, skip + count);
  const b = await ds.loadBatch(rows, PreprocessOptions.parse({ size: 224, channels: 1, normalize: 'half' }));
  return { x: b.x.data, dims: b.x.dims as [number, number, number, number], labels: Int32Array.from(b.labels), indices: b.indices };
}

const graph: Graph = loadModel(`${shared}models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx`);
const train = await load(n, 0);
const val = await load(32, n);
const monitor = { name: 'loss', higherIsBetter: false, score: () => 0 };

async function time(trainable: string, cached: boolean): Promise<{ prefixS: number; epochS: number[] }> {
  const net = createBackbone(graph, { ...opts, rng: new Rng(0) });
  const cache = cached ? new TrunkCache(graph, opts, { threads }) : undefined;
  const options = FitOptions.parse({ batchSize: 32, schedule: 'constant', phases: [{ epochs: cached ? 3 : 1, lr: 1e-3, trainable }] });
  const t0 = performance.now();
  const r = await fit({ net, train, val, options, monitor, rng: new Rng(1), threads, ...(cache ? { trunkCache: cache } : {}) });
  const total = (performance.now() - t0) / 1000;
  const epochS = r.history.map((h) => h.seconds);
  return { prefixS: +(total - epochS.reduce((a, b) => a + b, 0)).toFixed(2), epochS: epochS.map((s) => +s.toFixed(2)) };
}

const result: Record<string, unknown> = {};
for (const trainable of ['head', 'last:4']) {
  const plain = await time(trainable, false);
  const cached = await time(trainable, true);
  const later = cached.epochS.slice(1);
  const cachedEpoch = later.reduce((a, b) => a + b, 0) / later.length;
  result[trainable] = {
    uncached_epoch_s: plain.epochS[0], cached_setup_s: cached.prefixS, cached_epoch_s: +cachedEpoch.toFixed(3),
    epoch_speedup: +(plain.epochS[0]! / cachedEpoch).toFixed(1),
  };
}
console.log(JSON.stringify({
  name: 'train-cached-trunk', config: { model: 'mobilenet_v2_1.0_224 f32, grey 224', images: n, val: 32, batch: 32, threads },
  ...result, cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
}));
