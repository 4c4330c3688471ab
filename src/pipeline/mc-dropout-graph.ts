import { Rng, dropoutFeeds, f32, i64, loadModel, type Graph, type Network } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { RunConfig, RunPreprocess } from '../run/index.js';
import { appendUncertaintyTail } from './ensemble-graph.js';
import { buildNet } from './run.js';

/** The run's network rebuilt from its config, as `runTraining` builds it (weights are replaced from model.onnx). */
function rebuildNetwork(cfg: RunConfig, pre: RunPreprocess): Network {
  return buildNet(cfg, pre.classes.length, new Rng(cfg.seed), pre.tabularFeatures ?? 0);
}

/** What `buildMcDropoutGraph` needs: the run's config, preprocess.json and model.onnx bytes, and the passes. */
export interface McDropoutGraphInput {
  config: RunConfig;
  preprocess: RunPreprocess;
  model: Uint8Array;
  /** stochastic passes T */
  passes: number;
  /** seed of the T dropout masks */
  seed: number;
}

/**
 * The MC-dropout graph of a trained run (Gal & Ghahramani 2016): the run's network in inference mode (batch norm on
 * running statistics) with its dropout kept on, weights taken from model.onnx. The trunk runs once; the dropout's
 * input h [N,D] is multiplied by T masks [T,1,D] (inverted dropout: 0 with probability p, else 1/(1−p)), drawn once
 * from `Rng(seed).fork('mc-dropout')` and stored in the graph, so the result is deterministic, does not depend on
 * the batch, and pass t uses the same mask for every image. The layers after the dropout (the classifier) run on the
 * [T·N,D] batch, and the uncertainty tail gives `logits` = log of the mean pass probabilities, `entropy`,
 * `mutual_information` and `sample_logits` [T,N,K]. `MC_RUN_NO_DROPOUT` unless the network has exactly one dropout
 * with p > 0.
 */
export function buildMcDropoutGraph(o: McDropoutGraphInput): { graph: Graph; dropout: number } {
  const net = rebuildNetwork(o.config, o.preprocess);
  if (net.dropouts.length !== 1) {
    throw new MedclassError('MC_RUN_NO_DROPOUT', net.dropouts.length === 0
      ? `the run's ${o.config.model.arch} was trained without dropout (model.dropout: ${o.config.model.dropout})`
      : `the run's network has ${net.dropouts.length} dropout layers; MC-dropout here keeps one (before the classifier) on`, {
      hint: 'train with model.dropout > 0 (e.g. 0.3), or build a deep ensemble (medclass ensemble)',
    });
  }
  const trained = loadModel(o.model);
  const weights = (names: Iterable<string>) => new Map([...names].map((name) => {
    const t = trained.initializers.get(name);
    if (!t) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `model.onnx has no weight '${name}' of the run's ${o.config.model.arch}`, { file: 'model.onnx' });
    return [name, t.data as Float32Array];
  }));
  const g = net.inferenceGraph({ params: weights(net.params.keys()), buffers: weights(net.buffers.keys()), keepDropout: true });
  const spec = net.dropouts[0]!;
  const mul = g.nodes.find((n) => n.opType === 'Mul' && n.inputs[1] === spec.input);
  if (!mul || spec.dims[0] !== 'N') throw new MedclassError('MC_RUN_NO_DROPOUT', `no Mul by the dropout mask '${spec.input}' on a batch-first value`);
  const rest = spec.dims.slice(1) as number[];
  const mask = dropoutFeeds(net, new Rng(o.seed).fork('mc-dropout'), o.passes)[spec.input]!;
  const k = o.preprocess.classes.length;
  // h [N,…] → [1,N,…] · masks [T,1,…] → [T,N,…] → [T·N,…] under the Mul's own output name, so later layers read it.
  const out = mul.outputs[0]!;
  const h = mul.inputs[0]!;
  const at = g.nodes.indexOf(mul);
  const tail = g.nodes.splice(at + 1);
  g.nodes.splice(at, 1);
  const masks = `mc/masks`;
  g.initializers.set(masks, f32(mask.data as Float32Array, [o.passes, 1, ...rest]));
  const axes0 = 'mc/axes0';
  g.initializers.set(axes0, i64([0], [1]));
  const flat = 'mc/flat_shape';
  g.initializers.set(flat, i64([-1, ...rest], [rest.length + 1]));
  g.nodes.push(
    { opType: 'Unsqueeze', name: 'mc/unsqueeze', domain: '', inputs: [h, axes0], outputs: ['mc/h1'], attrs: {} },
    { opType: 'Mul', name: 'mc/mul', domain: '', inputs: ['mc/h1', masks], outputs: ['mc/hT'], attrs: {} },
    { opType: 'Reshape', name: 'mc/reshape', domain: '', inputs: ['mc/hT', flat], outputs: [out], attrs: {} },
    ...tail,
  );
  g.inputs = g.inputs.filter((v) => v.name !== spec.input);
  // logits [T·N,K] → [T,N,K] → the tail
  const logitsName = o.preprocess.output;
  const flatLogits = 'mc/sample_logits_flat';
  for (const n of g.nodes) n.outputs = n.outputs.map((v) => (v === logitsName ? flatLogits : v));
  const shape = 'mc/sample_shape';
  g.initializers.set(shape, i64([o.passes, -1, k], [3]));
  g.nodes.push({ opType: 'Reshape', name: 'mc/sample_reshape', domain: '', inputs: [flatLogits, shape], outputs: ['mc/sample_logits'], attrs: {} });
  g.valueInfo = new Map();
  appendUncertaintyTail(g, 'mc/sample_logits', k, logitsName);
  g.name = `${g.name}_mc_dropout_${o.passes}`;
  return { graph: g, dropout: spec.p };
}
