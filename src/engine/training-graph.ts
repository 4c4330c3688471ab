import { MedclassError } from '../errors.js';
import { differentiate } from './autodiff/gradient.js';
import { fuseNchwcActivations } from './graph/nchwc-activation.js';
import { keepNchwcChains } from './graph/nchwc-chain.js';
import { lowerConvsToNchwc } from './graph/nchwc-lower.js';
import { pruneDeadNodes } from './graph/prune.js';
import { coalesceTransposes } from './graph/transpose-coalesce.js';
import { inferShapes } from './graph/shape-inference.js';
import type { Dim, Graph, ValueInfo } from './graph/types.js';
import { emitLoss, type LossSpec } from './loss.js';

/** Options for `buildTrainingGraph`. */
export interface TrainingGraphOptions {
  /** Initializer names to train; they become graph inputs. All other initializers stay frozen constants. */
  trainable: readonly string[];
  /** The logits value (default: the forward graph's first output). */
  logits?: string;
  loss: LossSpec;
  /** Extra forward values to expose as outputs (e.g. batch-norm batch statistics). */
  keepOutputs?: readonly string[];
  /**
   * Batch size to specialise the graph to. When omitted, a symbolic batch dim stays symbolic: shapes are inferred
   * with a probe batch and the gradient rules emit runtime shapes wherever the batch enters, so one session serves
   * every batch size (the last, smaller batch of an epoch included).
   */
  batchSize?: number;
  /**
   * Channel block of onnxruntime's NCHWc kernels on this CPU (`nchwcBlockSize()`): Convs of the finished graph that
   * `nchwcWorthIt` accepts run on them (see `lowerConvsToNchwc`). 0 or omitted: plain ONNX Convs only.
   */
  nchwcBlock?: number;
  /** See `DifferentiateOptions.closedFormBatchNorm` (default true). */
  closedFormBatchNorm?: boolean;
}

/** A compiled-ready training graph and the names of its inputs and outputs. */
export interface TrainingGraph {
  graph: Graph;
  /** Data inputs of the forward graph, e.g. ['x'] with dims [batchSize, C, H, W]. */
  dataInputs: string[];
  /** 'labels': int64 [N] for cross-entropy, float32 [N, C] for soft-target cross-entropy, float32 [N] for BCE. */
  labelsInput: string;
  /** Trainable parameters, fed as inputs each step. */
  paramInputs: string[];
  /** Scalar loss output. */
  lossOutput: string;
  logitsOutput: string;
  /** Gradient output name per trainable parameter (`grad/<param>`). */
  gradOutputs: Record<string, string>;
  keptOutputs: string[];
}

/** Batch size used for shape inference when the batch dim stays symbolic (odd, so it rarely equals another dim). */
const PROBE_BATCH = 3;

function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, dims: [...v.dims] })),
    outputs: [],
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
  };
}

/**
 * Forward + loss + backward as one ONNX graph, compiled once and run every step. Inputs: the data inputs, `labels`
 * and one input per trainable parameter; outputs: `loss` (scalar), the logits, `grad/<param>` for each trainable
 * parameter and `keepOutputs`. The graph is specialised to `batchSize` (rebuild for another one).
 *
 * @example
 * const tg = buildTrainingGraph(loadModel('model.onnx'), { trainable: ['fc.weight', 'fc.bias'], loss: { kind: 'cross-entropy' }, batchSize: 32 });
 */
export function buildTrainingGraph(forward: Graph, opts: TrainingGraphOptions): TrainingGraph {
  const graph = cloneGraph(forward);
  graph.name = `${forward.name}-training`;
  const logits = opts.logits ?? forward.outputs[0]?.name;
  if (!logits) throw new MedclassError('MC_ENGINE_BAD_MODEL', `graph '${forward.name}' has no output to use as logits`);

  const inputDims: Record<string, number[]> = {};
  const symbolic = typeof graph.inputs[0]?.dims[0] === 'string' && opts.batchSize === undefined;
  const batchDim: Dim = symbolic ? graph.inputs[0]!.dims[0]! : (opts.batchSize ?? (graph.inputs[0]?.dims[0] as number));
  const batch = symbolic ? PROBE_BATCH : (batchDim as number);
  for (const v of graph.inputs) {
    const dims = v.dims.map((d, i) => {
      if (typeof d === 'number') return d;
      if (i === 0) return batch;
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `input '${v.name}': dim ${i} is symbolic ('${d}'); only the batch dim may be symbolic`);
    });
    if (!symbolic) v.dims = dims;
    inputDims[v.name] = dims;
  }
  const dataInputs = graph.inputs.map((v) => v.name);

  for (const p of opts.trainable) {
    const t = graph.initializers.get(p);
    if (!t) {
      const close = [...graph.initializers.keys()].filter((k) => k.includes(p) || p.includes(k)).slice(0, 3);
      throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `'${p}' is not an initializer of graph '${forward.name}'`, {
        hint: close.length > 0 ? `did you mean ${close.join(', ')}?` : 'list parameters with the model summary',
      });
    }
    graph.initializers.delete(p);
    graph.inputs.push({ name: p, dtype: t.dtype, dims: [...t.dims] });
  }

  const labelsInput = 'labels';
  const isBce = opts.loss.kind === 'bce-with-logits';
  const soft = (opts.loss.kind === 'cross-entropy' || opts.loss.kind === 'focal') && opts.loss.soft === true;

  const pre = inferShapes(graph, inputDims);
  const declared = forward.outputs.find((o) => o.name === logits)?.dims[1];
  const classes = pre.get(logits)?.dims[1] ?? (typeof declared === 'number' ? declared : undefined);
  if (classes === undefined && !isBce) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `number of classes of logits '${logits}' could not be inferred`);
  graph.inputs.push({ name: labelsInput, dtype: isBce || soft ? 'float32' : 'int64', dims: soft ? [batchDim, classes!] : [batchDim] });
  inputDims[labelsInput] = soft ? [batch, classes!] : [batch];
  const { loss } = emitLoss(graph, opts.loss, logits, labelsInput, { batch, classes: classes ?? 1 });

  const shapes = inferShapes(graph, inputDims);
  // A second probe batch tells which dims follow the batch size (declared symbolic).
  const atOtherBatch = () => (symbolic
    ? inferShapes(graph, Object.fromEntries(Object.entries(inputDims).map(([k, d]) => [k, [PROBE_BATCH + 2, ...d.slice(1)]])))
    : undefined);
  const alt = atOtherBatch();
  const grads = differentiate(graph, { loss, wrt: opts.trainable, shapes, ...(opts.closedFormBatchNorm === false ? { closedFormBatchNorm: false } : {}) });

  const taken = new Set([...graph.nodes.flatMap((n) => n.outputs), ...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const alias = (from: string, want: string): string => {
    let name = want;
    for (let k = 1; taken.has(name); k++) name = `${want}_${k}`;
    taken.add(name);
    graph.nodes.push({ opType: 'Identity', name: `${name}/identity`, domain: '', inputs: [from], outputs: [name], attrs: {} });
    return name;
  };
  const lossOutput = alias(loss, 'loss');
  const gradOutputs: Record<string, string> = {};
  for (const p of opts.trainable) gradOutputs[p] = alias(grads.get(p)!, `grad/${p}`);

  coalesceTransposes(graph, inferShapes(graph, inputDims), atOtherBatch());
  if (opts.nchwcBlock) {
    const full = inferShapes(graph, inputDims);
    if (lowerConvsToNchwc(graph, full, opts.nchwcBlock) > 0) keepNchwcChains(graph, full);
  }

  const info = (name: string, dimsOf: string, batched = false): ValueInfo => {
    const v = shapes.get(dimsOf);
    const dims: Dim[] = v ? [...v.dims] : [];
    const other = alt?.get(dimsOf)?.dims;
    if (batched && other) dims.forEach((d, i) => { if (other[i] !== d) dims[i] = i === 0 ? batchDim : `${String(batchDim)}_${name}_${i}`; });
    return { name, dtype: v?.dtype === 'float64' ? 'float32' : v?.dtype ?? 'float32', dims };
  };
  const keptOutputs = [...(opts.keepOutputs ?? [])];
  graph.outputs = [
    info(lossOutput, loss),
    info(logits, logits, true),
    ...opts.trainable.map((p) => info(gradOutputs[p]!, p)),
    ...keptOutputs.filter((k) => k !== logits).map((k) => info(k, k, true)),
  ];
  pruneDeadNodes(graph);
  if (opts.nchwcBlock && fuseNchwcActivations(graph) > 0) pruneDeadNodes(graph);
  return { graph, dataInputs, labelsInput, paramInputs: [...opts.trainable], lossOutput, logitsOutput: logits, gradOutputs, keptOutputs };
}
