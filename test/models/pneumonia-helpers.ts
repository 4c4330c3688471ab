// Trains a built-in network on PneumoniaMNIST (28 px) with the engine's Trainer; shared by the e2e test and the
// measurement script. No console output: figures are returned.
import { readFileSync } from 'node:fs';
import { Rng, Session, bnStatOutputs, dropoutFeeds, f32, readNpz, updateRunningStats } from '../../src/engine/index.js';
import type { Graph, Network, Tensor } from '../../src/engine/index.js';
import { exportInferenceGraph } from '../../src/engine/export.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { oneCycleSchedule } from '../../src/engine/optim/schedules.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Trainer } from '../../src/engine/trainer.js';
import { createModel } from '../../src/models/index.js';

export const NPZ = new URL('../../../shared/data/pneumoniamnist/reconstructed_full/pneumoniamnist.npz', import.meta.url).pathname;

export interface Split { x: Float32Array; y: Uint8Array; n: number }

/** Images scaled to [0,1] as [N,1,28,28] and labels (0 normal, 1 pneumonia). */
export function loadSplits(): Record<'train' | 'val' | 'test', Split> {
  const arrays = readNpz(new Uint8Array(readFileSync(NPZ)), 'pneumoniamnist.npz');
  const split = (s: string): Split => {
    const img = arrays.get(`${s}_images`)!.data as Uint8Array;
    const lab = arrays.get(`${s}_labels`)!.data as Uint8Array;
    const x = new Float32Array(img.length);
    for (let i = 0; i < img.length; i++) x[i] = img[i]! / 255;
    return { x, y: Uint8Array.from(lab), n: lab.length };
  };
  return { train: split('train'), val: split('val'), test: split('test') };
}

/** ROC AUC by the rank (Mann–Whitney) formula with average ranks for ties. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(scores.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let pos = 0, sumPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) { pos++; sumPos += ranks[i]!; }
  const neg = labels.length - pos;
  return (sumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** The forward graph with its batch dimension fixed (the training graph is compiled for one batch size). */
function withBatch(g: Graph, batch: number): Graph {
  return { ...g, inputs: g.inputs.map((v) => ({ ...v, dims: v.dims.map((d, i) => (i === 0 ? batch : d)) })) };
}

/** Logits of `x` [n,1,28,28] through a session whose only input is `x`, in batches of 256. */
export async function predict(s: Session, split: Split): Promise<Float32Array> {
  const out = new Float32Array(split.n * 2);
  for (let i = 0; i < split.n; i += 256) {
    const m = Math.min(256, split.n - i);
    const r = await s.run({ x: f32(split.x.subarray(i * 784, (i + m) * 784), [m, 1, 28, 28]) });
    out.set(r.logits!.data as Float32Array, i * 2);
  }
  return out;
}

export const pneumoniaScore = (logits: Float32Array): Float64Array =>
  Float64Array.from({ length: logits.length / 2 }, (_, i) => logits[2 * i + 1]! - logits[2 * i]!);

export interface TrainResult {
  net: Network;
  store: ParameterStore;
  testAuc: number;
  testAcc: number;
  trainSeconds: number;
  imagesPerSecond: number;
  lastLoss: number;
  /** Max |exported ONNX logits − eval-mode training-graph logits| on the test set. */
  exportMaxAbsDiff: number;
}

/** Trains `model` from scratch for `epochs` (AdamW, one-cycle, batch 64, last partial batch dropped). */
export async function trainPneumonia(opts: { model?: string; epochs: number; seed?: number; threads?: number; width?: number; lr?: number }): Promise<TrainResult> {
  const data = loadSplits();
  const root = new Rng(opts.seed ?? 0);
  const net = createModel(opts.model ?? 'compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 28, width: opts.width ?? 1, rng: root.fork('init') });
  const store = new ParameterStore();
  for (const [name, v] of net.params) store.add(name, v, net.shapes.get(name)!); // by reference: net.params stay current
  const B = 64;
  const steps = Math.floor(data.train.n / B);
  const keep = bnStatOutputs(net);
  const trainer = await Trainer.compile(withBatch(net.trainGraph(), B), {
    params: store,
    optimizer: createOptimizer({ name: 'adamw', lr: opts.lr ?? 3e-3, weightDecay: 1e-4 }),
    loss: { kind: 'cross-entropy' } as never,
    keepOutputs: keep,
    schedule: oneCycleSchedule({ totalSteps: steps * opts.epochs, pctStart: 0.25 }),
    options: { threads: opts.threads ?? 2 },
  });
  const label = trainer.inputNames.at(-1)!;
  const x = new Float32Array(B * 784);
  const y = new BigInt64Array(B);
  let lastLoss = NaN;
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = root.fork(`shuffle-${epoch}`).permutation(data.train.n);
      for (let s = 0; s < steps; s++) {
        for (let k = 0; k < B; k++) {
          const i = order[s * B + k]!;
          x.set(data.train.x.subarray(i * 784, (i + 1) * 784), k * 784);
          y[k] = BigInt(data.train.y[i]!);
        }
        const masks = dropoutFeeds(net, root.fork(`dropout-${epoch}-${s}`), B);
        const r = await trainer.step({ x: f32(x, [B, 1, 28, 28]), [label]: { dtype: 'int64', dims: [B], data: y } as Tensor }, masks);
        updateRunningStats(net.buffers, net.bnStats, r.kept);
        lastLoss = r.loss;
      }
    }
  } finally {
    await trainer.dispose();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const exported = await Session.create(exportInferenceGraph(net.inferenceGraph(), store, net.buffers), { threads: opts.threads ?? 2 });
  const evalMode = await Session.create(net.evalGraph(), { threads: opts.threads ?? 2 });
  try {
    const logits = await predict(exported, data.test);
    const ref = await predict(evalMode, data.test);
    let d = 0;
    for (let i = 0; i < logits.length; i++) d = Math.max(d, Math.abs(logits[i]! - ref[i]!));
    const score = pneumoniaScore(logits);
    let correct = 0;
    for (let i = 0; i < data.test.n; i++) correct += Number((score[i]! > 0 ? 1 : 0) === data.test.y[i]);
    return {
      net, store, testAuc: rocAuc(score, data.test.y), testAcc: correct / data.test.n, trainSeconds,
      imagesPerSecond: (steps * B * opts.epochs) / trainSeconds, lastLoss, exportMaxAbsDiff: d,
    };
  } finally {
    await exported.dispose();
    await evalMode.dispose();
  }
}
