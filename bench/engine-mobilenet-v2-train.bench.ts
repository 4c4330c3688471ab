// Training-step throughput of the mobilenet_v2 autodiff fixture (torchvision MobileNetV2, 4 classes) fed 3×224×224,
// batch 32 (its PyTorch peer, alternated in one run: engine-backbones.bench.ts). Args: [batch=32] [threads=2] [steps=5] [size=224].
import { fileURLToPath } from 'node:url';
import { f32, i64, loadModel, Rng } from '../src/engine/index.js';
import { ParameterStore } from '../src/engine/params.js';
import { benchTrainStep } from './engine-train-common.js';

const dir = fileURLToPath(new URL('../../shared/fixtures/autodiff/mobilenet_v2/', import.meta.url));
const meta = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(`${dir}meta.json`, 'utf8'))) as { trainable: string[]; classes: number };
const graph = loadModel(`${dir}model.onnx`);
const [batch, threads, steps, size] = [32, 2, 5, 224].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number, number];
graph.inputs = graph.inputs.map((v) => ({ ...v, dims: [v.dims[0]!, 3, size, size] }));
graph.valueInfo.clear(); // recorded for 64 px
const rng = new Rng(0).fork('bench');
await benchTrainStep({
  name: 'engine-mobilenet-v2-train',
  graph,
  params: ParameterStore.fromGraph(graph, meta.trainable),
  feeds: {
    x: f32(Float32Array.from({ length: batch * 3 * size * size }, () => rng.normal()), [batch, 3, size, size]),
    labels: i64(Array.from({ length: batch }, () => rng.int(0, meta.classes)), [batch]),
  },
  batch, steps, warmup: 1, threads,
  config: { model: 'mobilenet_v2 fixture', input: [3, size, size], optimizer: 'adamw' },
});
