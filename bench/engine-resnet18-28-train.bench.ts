// Training-step throughput of the fixed configuration: ResNet-18 (3×3 stride-1 stem, no max-pool), 1×28×28, batch 128
// (its PyTorch peer, alternated in one run: engine-backbones.bench.ts). Args: [batch=128] [threads=2] [steps=5].
import { Rng, bnStatOutputs, f32, i64 } from '../src/engine/index.js';
import { ParameterStore } from '../src/engine/params.js';
import { createModel } from '../src/models/index.js';
import { benchTrainStep } from './engine-train-common.js';

const batch = Number(process.argv[2] ?? 128);
const threads = Number(process.argv[3] ?? 2);
const steps = Number(process.argv[4] ?? 5);
const rng = new Rng(0);
const net = createModel('resnet18-28', { inChannels: 1, numClasses: 2, inputSize: 28, rng: rng.fork('init') });
const data = rng.fork('data');
await benchTrainStep({
  name: 'engine-resnet18-28-train',
  graph: net.trainGraph(),
  params: ParameterStore.fromWeights(net.params, net.shapes),
  keepOutputs: bnStatOutputs(net),
  feeds: {
    x: f32(Float32Array.from({ length: batch * 28 * 28 }, () => data.normal()), [batch, 1, 28, 28]),
    labels: i64(Array.from({ length: batch }, () => data.int(0, 2)), [batch]),
  },
  batch, steps, warmup: 1, threads,
  config: { model: 'resnet18-28', input: [1, 28, 28], optimizer: 'adamw' },
});
