import { basename } from 'node:path';
import { Emitter, attr, cloneGraph, f32, i64, type Graph, type Node, type ValueInfo } from '../engine/index.js';
import { normalizationStats } from '../data/index.js';
import { MedclassError } from '../errors.js';
import type { RunPreprocess } from './predict.js';

/** Output names of a served model (KServe v2 routes and the Triton export): logits and temperature-scaled probabilities. */
export const SERVING_OUTPUTS = { logits: 'logits', probabilities: 'probabilities' } as const;

/** Input name of the `uint8 [N,H,W,C]` image of a raw-input serving graph. */
export const RAW_IMAGE_INPUT = 'image';

/** What `buildServingGraph` wraps around a run's model.onnx. */
export interface ServingGraphOptions {
  /** take `uint8 [N,size,size,rawChannels]` pixels and carry scale, normalisation and channel handling inside */
  rawInput: boolean;
  /** channels of the raw image (default: the model's); 3 for a grey model applies ITU-R 601-2 luma, 1 for an RGB model repeats it */
  rawChannels?: 1 | 3;
  /** calibration temperature (logits / T before the softmax); null = plain softmax */
  temperature: number | null;
  /** average the logits with those of the horizontal flip, as `predict` does for runs evaluated with TTA */
  tta: boolean;
}

/** The model name a run is served and exported under: the run directory's name with characters outside `[A-Za-z0-9_.-]` as `_`. */
export function servingModelName(runDir: string): string {
  const base = basename(runDir.replace(/[\\/]+$/, '')) || 'run';
  return base.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
}

/** Renames value `from` to `to` in every node of `g` (inputs and outputs). */
function renameValue(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((v) => (v === from ? to : v));
    n.outputs = n.outputs.map((v) => (v === from ? to : v));
  }
  g.valueInfo.delete(from);
}

/**
 * The graph a serving platform runs: a run's model.onnx (`x` float32 `[N,C,H,W]`, plus `tab` `[N,F]` for fusion runs)
 * with outputs `logits` `[N,K]` and `probabilities` `[N,K]` = softmax(logits / T). With `rawInput` the image input is
 * `image` uint8 `[N,size,size,C']` instead, and the graph does what `preprocessImage` does after the resize: ×1/255,
 * grey↔RGB (luma 0.299/0.587/0.114 or repeat), HWC→CHW, (x − mean)/std of the run's preset. With `tta` the batch is
 * run with its horizontal flip and the logits averaged. Built with the engine's `Emitter`; every op is opset 17.
 *
 * @example
 * const g = buildServingGraph(loadModel('run/model.onnx'), pre, { rawInput: true, temperature: 1.3, tta: false });
 */
export function buildServingGraph(model: Graph, pre: RunPreprocess, o: ServingGraphOptions): Graph {
  const g = cloneGraph(model);
  const xIn = g.inputs.find((v) => v.name === pre.input);
  const out = g.outputs.find((v) => v.name === pre.output);
  if (!xIn || !out) throw new MedclassError('MC_ENGINE_BAD_MODEL', `model.onnx has no input '${pre.input}' or no output '${pre.output}' (preprocess.json names them)`, { file: 'model.onnx' });
  const { channels: c, size } = pre;
  const k = pre.classes.length;
  const batch = typeof xIn.dims[0] === 'string' ? xIn.dims[0] : 'N';
  const e = new Emitter(g, 'serve');
  const put = (opType: string, ins: string[], outs: string[], attrs: Node['attrs'] = {}) => {
    g.nodes.push({ opType, name: e.fresh(`${opType}_node`), domain: '', inputs: ins, outputs: outs, attrs });
  };
  // The model's own input and output become internal values; the serving graph declares its own.
  const modelX = o.rawInput || o.tta ? e.fresh('model_x') : pre.input;
  if (modelX !== pre.input) renameValue(g, pre.input, modelX);
  const modelLogits = e.fresh('model_logits');
  renameValue(g, pre.output, modelLogits);
  const tabIn = pre.tabularInput ? g.inputs.find((v) => v.name === pre.tabularInput) : undefined;
  const modelTab = tabIn && o.tta ? e.fresh('model_tab') : undefined;
  if (tabIn && modelTab) renameValue(g, tabIn.name, modelTab);
  g.valueInfo = new Map(); // shapes of the old graph's values (batch N) are hints only; with TTA the batch is 2N
  const body = g.nodes;
  g.nodes = [];
  const inputs: ValueInfo[] = [];
  let x = pre.input;
  if (o.rawInput) {
    const cin = o.rawChannels ?? c;
    inputs.push({ name: RAW_IMAGE_INPUT, dtype: 'uint8', dims: [batch, size, size, cin] });
    let px = e.op('Cast', [RAW_IMAGE_INPUT], { to: attr.int(1) });
    // PIL's integer luma, as data/resample.ts: every partial sum stays below 2²⁴, so float32 holds it exactly
    if (cin === 3 && c === 1) {
      const l24 = e.add(e.matmul(px, e.constant(f32([19595, 38470, 7471], [3, 1]), 'luma')), e.scalar(0x8000));
      px = e.op('Floor', [e.mul(l24, e.scalar(1 / 65536))]);
    }
    else if (cin === 1 && c === 3) px = e.op('Concat', [px, px, px], { axis: attr.int(3) });
    const chw = e.transpose(px, [0, 3, 1, 2]);
    const { mean, std } = normalizationStats(pre.normalize, c);
    const centred = e.sub(e.div(chw, e.scalar(255)), e.constant(f32(mean.slice(0, c), [1, c, 1, 1]), 'mean'));
    x = e.mul(centred, e.constant(f32(std.slice(0, c).map((s) => 1 / s), [1, c, 1, 1]), 'inv_std'));
  } else {
    inputs.push({ name: pre.input, dtype: 'float32', dims: [batch, c, size, size] });
  }
  if (tabIn) inputs.push({ ...tabIn, dims: [batch, ...tabIn.dims.slice(1)] });
  if (o.tta) {
    // flip along W (Slice with step −1 from the last column to INT64_MIN), then one run over [x; flip(x)]
    const flipped = e.op('Slice', [x, e.ints([-1]), e.constant(i64([-(2 ** 63)], [1]), 'int64_min'), e.ints([3]), e.ints([-1])]);
    put('Concat', [x, flipped], [modelX], { axis: attr.int(0) });
    if (tabIn && modelTab) put('Concat', [tabIn.name, tabIn.name], [modelTab], { axis: attr.int(0) });
  } else if (modelX !== x) {
    put('Identity', [x], [modelX]);
  }
  g.nodes.push(...body);
  // logits: the model's, or the mean of the image's and its flip's ([2N,K] → [2,N,K] → mean over the first axis).
  const logits = o.tta ? e.reduceMean(e.reshape(modelLogits, [2, -1, k]), [0], false) : modelLogits;
  put('Identity', [logits], [SERVING_OUTPUTS.logits]);
  put('Softmax', [o.temperature !== null ? e.div(logits, e.scalar(o.temperature)) : logits], [SERVING_OUTPUTS.probabilities], { axis: attr.int(-1) });
  g.inputs = inputs;
  g.outputs = [
    { name: SERVING_OUTPUTS.logits, dtype: 'float32', dims: [batch, k] },
    { name: SERVING_OUTPUTS.probabilities, dtype: 'float32', dims: [batch, k] },
  ];
  g.name = `${g.name}_serving`;
  return g;
}
