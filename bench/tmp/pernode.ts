import { fileURLToPath } from 'node:url';
import { ParameterStore, Rng, benchTrain, bnStatOutputs, dropoutFeeds } from '../../src/engine/index.js';
import { createBackbone } from '../../src/models/index.js';
const MN = fileURLToPath(new URL('../../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url));
const rng = new Rng(0);
const net = createBackbone(MN, { numClasses: 2, inChannels: 3, rng: rng.fork('init') });
const params = ParameterStore.fromWeights(net.params, net.shapes);
const r = await benchTrain({ name: net.name, graph: net.trainGraph(), params, inputDims: net.inputDims, numClasses: 2, keepOutputs: bnStatOutputs(net), extraFeeds: (b: number) => dropoutFeeds(net, rng.fork('d'), b) },
  { batch: 32, steps: 2, warmup: 1, threads: 2, rng, profile: true, profileKey: (name, op) => `${op}\t${name}` });
const want = (process.env.OPS ?? 'FusedMatMul').split(',');
for (const c of r.profile!.filter((c) => want.includes(c.op.split('\t')[0]!)).slice(0, 60)) console.log(`${c.ms.toFixed(1).padStart(7)}\t${c.op}`);
