// Where a training epoch's wall time goes outside onnxruntime: fit() on PneumoniaMNIST with examples/pneumoniamnist.yaml's
// fit settings (compact CNN, 28 px, batch 64), the time split into the training step's session run, its optimizer
// update, the rest of the batch loop (gather, augment, labels, dropout masks, running stats, hit counts, events) and
// the rest of the epoch (validation). Prints one JSON line per run; `hash` (FNV-1a over the trained parameters'
// bytes) shows that two code versions trained bit-identically.
// Usage: node --import tsx bench/train-loop-overhead.ts [epochs=1] [threads=2] [npz=../shared/…/pneumoniamnist.npz]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parse } from 'yaml';
import { Rng, readNpz } from '../src/engine/index.js';
import { Trainer } from '../src/engine/trainer.js';
import { createModel } from '../src/models/index.js';
import { FitOptions, fit, type ImageSet } from '../src/train/index.js';

const epochs = Number(process.argv[2] ?? 1);
const threads = Number(process.argv[3] ?? 2);
const npz = process.argv[4] ?? new URL('../../shared/data/pneumoniamnist/reconstructed_full/pneumoniamnist.npz', import.meta.url).pathname;
const config = parse(readFileSync(new URL('../examples/pneumoniamnist.yaml', import.meta.url), 'utf8')) as { fit: Record<string, unknown> };

const arrays = readNpz(new Uint8Array(readFileSync(npz)), 'pneumoniamnist.npz');
const split = (s: string): ImageSet => {
  const img = arrays.get(`${s}_images`)!.data as Uint8Array;
  const labels = Int32Array.from(arrays.get(`${s}_labels`)!.data as Uint8Array);
  return { x: Float32Array.from(img, (v) => (v / 255 - 0.5) / 0.5), dims: [labels.length, 1, 28, 28], labels, indices: [...labels.keys()] };
};

// The step's own split (session run, optimizer update) comes from its StepResult; the wrapper adds the call's wall.
let runMs = 0, updateMs = 0, stepMs = 0, steps = 0;
const step = Trainer.prototype.step;
Trainer.prototype.step = async function (this: Trainer, ...a: Parameters<Trainer['step']>) {
  const t = performance.now();
  const r = await step.apply(this, a);
  stepMs += performance.now() - t;
  runMs += r.runMs;
  updateMs += r.updateMs;
  steps++;
  return r;
};

const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 28, rng: new Rng(0).fork('init') });
const load0 = loadavg()[0]!;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let trainMs = 0;
const result = await fit({
  net, train: split('train'), val: split('val'), rng: new Rng(0).fork('fit'), threads,
  monitor: { name: 'none', higherIsBetter: true, score: () => 0 },
  options: FitOptions.parse({ ...config.fit, epochs, monitor: undefined }),
  onEvent: (e) => { if (e.type === 'batch-end' && e.batch === e.batches) trainMs += e.elapsedMs; },
});
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
let hash = 0x811c9dc5;
for (const v of net.params.values()) for (const b of new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
const epochMs = result.history.reduce((a, h) => a + h.seconds * 1000, 0);
const per = (ms: number) => +(ms / steps).toFixed(2);
console.log(JSON.stringify({
  epochs, threads, steps, wall_s: +(wallMs / 1000).toFixed(2), cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2),
  per_step_ms: { run: per(runMs), update: per(updateMs), step_rest: per(stepMs - runMs - updateMs), loop_rest: per(trainMs - stepMs) },
  val_s_per_epoch: +((epochMs - trainMs) / 1000 / epochs).toFixed(3), outside_epochs_s: +((wallMs - epochMs) / 1000).toFixed(2),
  train_loss: result.history.map((h) => h.trainLoss), hash: hash.toString(16), load: [load0, loadavg()[0]],
}));
