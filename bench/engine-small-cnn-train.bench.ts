// Training-step throughput of the small_cnn autodiff fixture (3×16×16 input, 4 classes), batch 32.
import { fileURLToPath } from 'node:url';
import { f32, i64, loadModel, Rng } from '../src/engine/index.js';
import { ParameterStore } from '../src/engine/params.js';
import { benchTrainStep } from './engine-train-common.js';

const dir = fileURLToPath(new URL('../../shared/fixtures/autodiff/small_cnn/', import.meta.url));
const graph = loadModel(`${dir}model.onnx`);
const batch = Number(process.argv[2] ?? 32);
const threads = Number(process.argv[3] ?? 2);
const rng = new Rng(0).fork('bench');
await benchTrainStep({
  name: 'engine-small-cnn-train',
  graph,
  params: ParameterStore.fromGraph(graph),
  feeds: {
    x: f32(Float32Array.from({ length: batch * 3 * 16 * 16 }, () => rng.normal()), [batch, 3, 16, 16]),
    labels: i64(Array.from({ length: batch }, () => rng.int(0, 4)), [batch]),
  },
  batch, steps: 20, warmup: 3, threads,
  config: { model: 'small_cnn fixture', input: [3, 16, 16] },
});
