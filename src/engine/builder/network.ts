import { MedclassError } from '../../errors.js';
import type { Graph } from '../graph/types.js';
import { initTensor } from '../init.js';
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor.js';
import { f32, numel } from '../tensor.js';
import { LayerBuilder } from './layers.js';
import type { BnStat, BuildMode, InferenceGraphOptions, Network, Sym, WeightMap } from './types.js';

/** A network definition: records layers on `b` from the input `x` [N,C,H,W] and returns the logits [N,classes]. */
export type NetworkDefinition = (b: LayerBuilder, x: Sym) => Sym;

/** What `defineNetwork` needs besides the definition. */
export interface DefineNetworkOptions {
  name: string;
  /** Input dims without the batch, [C, H, W]. */
  inputDims: readonly number[];
  numClasses: number;
  /** Initialisation stream; each parameter draws from `rng.fork(<its name>)`. */
  rng: Rng;
  /** Scope whose parameters form the head (default: the layer of the last parameter declared, e.g. `fc`). */
  headScope?: string;
}

/**
 * Records `define` once per graph kind and returns a `Network` whose training, eval and inference graphs share
 * parameter names. Initial values are drawn per parameter from `rng.fork(name)`, so they do not depend on the
 * order of layers. The definition must be deterministic (it is replayed for every graph).
 *
 * @example
 * const net = defineNetwork((b, x) => b.linear(b.flatten(x), 'fc', { out: 2 }), { name: 'lr', inputDims: [1, 28, 28], numClasses: 2, rng });
 * const forward = net.trainGraph();   // input x, output logits, parameters as initializers
 */
export function defineNetwork(define: NetworkDefinition, opts: DefineNetworkOptions): Network {
  const record = (mode: BuildMode, keepDropout = false): LayerBuilder => {
    const b = new LayerBuilder(mode, `${opts.name}-${mode}`, keepDropout);
    const x = b.input('x', ['N', ...opts.inputDims]);
    const logits = define(b, x);
    const found = logits.dims.slice(1);
    if (found.length !== 1 || found[0] !== opts.numClasses) {
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${opts.name}: logits expected [N,${opts.numClasses}], got [${logits.dims.join(',')}]`);
    }
    b.output(logits, 'logits');
    b.graph.outputs.unshift(b.graph.outputs.pop()!); // logits first: consumers default to the first output
    return b;
  };
  const first = record('train');
  const params = new Map<string, Float32Array>();
  const buffers = new Map<string, Float32Array>();
  const shapes = new Map<string, readonly number[]>();
  for (const s of first.specs) {
    (s.kind === 'param' ? params : buffers).set(s.name, initTensor(s.init, s.dims, opts.rng.fork(s.name)));
    shapes.set(s.name, s.dims);
  }

  const layers: { name: string; params: string[] }[] = [];
  for (const s of first.specs) {
    if (s.kind !== 'param') continue;
    const last = layers.at(-1);
    if (last && last.name === s.layer) last.params.push(s.name);
    else layers.push({ name: s.layer, params: [s.name] });
  }
  const headScope = opts.headScope ?? layers.at(-1)?.name ?? '';
  const head = layers.filter((l) => l.name === headScope || l.name.startsWith(`${headScope}.`)).flatMap((l) => l.params);

  const attach = (b: LayerBuilder, values: WeightMap, asInputs: boolean): Graph => {
    const used = new Set(b.graph.nodes.flatMap((n) => n.inputs));
    for (const s of b.specs) {
      if (!used.has(s.name)) continue;
      if (asInputs) {
        b.graph.inputs.push({ name: s.name, dtype: 'float32', dims: [...s.dims] });
        continue;
      }
      const v = values.get(s.name);
      if (!v || v.length !== numel(s.dims)) {
        throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${s.name}: expected ${numel(s.dims)} values [${s.dims.join(',')}], got ${v ? v.length : 'none'}`);
      }
      b.graph.initializers.set(s.name, f32(v, s.dims));
    }
    return b.graph;
  };
  const merged = (a: WeightMap, c: WeightMap): WeightMap => new Map([...a, ...c]);
  const withTaps = (b: LayerBuilder, extra: readonly string[] = []): LayerBuilder => {
    for (const name of extra) {
      const dims = b.taps.get(name);
      if (!dims) {
        throw new MedclassError('MC_ENGINE_MISSING_INPUT', `${opts.name}: no tap '${name}' (taps: ${[...b.taps.keys()].join(', ') || 'none'})`);
      }
      b.graph.outputs.push({ name, dtype: 'float32', dims: [...dims] });
    }
    return b;
  };

  const net: Network = {
    name: opts.name,
    inputDims: [...opts.inputDims],
    numClasses: opts.numClasses,
    params,
    buffers,
    shapes,
    layers,
    head,
    bnStats: first.bnStats,
    dropouts: first.dropouts,
    taps: first.taps,
    trainGraph: (values = params) => attach(record('train'), values, false),
    evalGraph: (o: InferenceGraphOptions = {}) =>
      attach(withTaps(record('eval'), o.extraOutputs), merged(o.params ?? params, o.buffers ?? buffers), o.weightsAsInputs ?? false),
    inferenceGraph: (o: InferenceGraphOptions = {}) =>
      attach(withTaps(record('inference', o.keepDropout ?? false), o.extraOutputs), merged(o.params ?? params, o.buffers ?? buffers), o.weightsAsInputs ?? false),
  };
  return net;
}

/**
 * Dropout masks for one training step: for each dropout, a float32 tensor with the batch dim set to `batchSize`
 * whose entries are 0 with probability p and 1/(1−p) otherwise (inverted dropout, as torch), drawn from `rng`.
 * Pass a fresh fork per step (`rng.fork(`step-${k}`)`) for reproducible runs.
 */
export function dropoutFeeds(net: Pick<Network, 'dropouts'>, rng: Rng, batchSize: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const d of net.dropouts) {
    const dims = d.dims.map((v) => (typeof v === 'number' ? v : batchSize));
    const mask = new Float32Array(numel(dims));
    const keep = 1 / (1 - d.p);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < d.p ? 0 : keep;
    feeds[d.input] = f32(mask, dims);
  }
  return feeds;
}

/** Names of the training-graph outputs carrying batch statistics (pass them to the trainer as kept outputs). */
export function bnStatOutputs(net: Pick<Network, 'bnStats'>): string[] {
  return net.bnStats.flatMap((s) => [s.meanOutput, s.varOutput]);
}

/**
 * Updates running statistics in place from one step's batch statistics, as torch's BatchNorm in training:
 * `running = (1 − momentum)·running + momentum·batch` (the variance output is already unbiased).
 */
export function updateRunningStats(
  buffers: Map<string, Float32Array>,
  bnStats: readonly BnStat[],
  outputs: Readonly<Record<string, Tensor | Float32Array>>,
): void {
  for (const s of bnStats) {
    for (const [runName, outName] of [[s.runningMean, s.meanOutput], [s.runningVar, s.varOutput]] as const) {
      const run = buffers.get(runName);
      const o = outputs[outName];
      const batch = o instanceof Float32Array ? o : (o?.data as Float32Array | undefined);
      if (!run || !batch || batch.length !== run.length) {
        throw new MedclassError('MC_ENGINE_MISSING_INPUT', `${outName}: batch statistic missing or of length ${batch?.length ?? 0}, expected ${run?.length ?? '?'}`, {
          hint: 'keep the bnStatOutputs(net) outputs when compiling the training step',
        });
      }
      const m = s.momentum;
      for (let i = 0; i < run.length; i++) run[i] = (1 - m) * run[i]! + m * batch[i]!;
    }
  }
}
