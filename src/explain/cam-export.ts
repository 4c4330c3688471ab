import { Emitter, saveModel, type Graph } from '../engine/index.js';
import { buildGradCamGraph, type GradCamGraphOptions } from './grad-cam-graph.js';

/** What `exportCamGraph` wrote: the ONNX bytes and the names and dims a client needs to run them. */
export interface CamExport {
  bytes: Uint8Array;
  /** image input `[N,C,H,W]` float32 and the int64 `[N]` target (−1 = the predicted class) */
  input: string;
  target: string;
  /** outputs: logits `[N,K]`, the class explained `[N,1]` int64, the Grad-CAM map `[N,h,w]`, the embedding `[N,D]` when the model has one */
  logits: string;
  selected: string;
  map: string;
  embedding?: string;
  layer: string;
  inputDims: number[];
  featureDims: number[];
  numClasses: number;
}

/** Options of `exportCamGraph`: the Grad-CAM layer/output/input names, and the embedding value to expose. */
export interface CamExportOptions extends GradCamGraphOptions {
  /** `[N,D]` value exposed as an output for similar cases (default `embedding`, when the graph has it; null = none) */
  embedding?: string | null;
}

/**
 * The Grad-CAM graph of `buildGradCamGraph` with the map computed in-graph — α = ReduceMean(dScore/dA) over h,w,
 * map = Relu(ReduceSum(α·A) over channels), the semantics of `GradCam.explain` before upsampling — and the embedding
 * tap as an output, serialised as a standalone opset-17 ONNX file. A browser runs it with onnxruntime-web, so the web
 * app's private mode explains an image without sending it anywhere; it upsamples and min–max normalises the map as
 * `GradCam` does.
 *
 * @example
 * const cam = exportCamGraph(readFileSync('runs/x/model.onnx'));
 * writeFileSync('cam.onnx', cam.bytes);
 */
export function exportCamGraph(model: Graph | Uint8Array, opts: CamExportOptions = {}): CamExport {
  const spec = buildGradCamGraph(model, opts);
  const g = spec.graph;
  const e = new Emitter(g, 'gradcam/map');
  const alpha = e.reduceMean(spec.gradient, [2, 3], true);
  const map = e.op('Relu', [e.reduceSum(e.mul(alpha, spec.layer), [1], false)]);
  const [, h, w] = spec.featureDims as [number, number, number];
  const want = opts.embedding === null ? undefined : (opts.embedding ?? 'embedding');
  const embedding = want && g.nodes.some((n) => n.outputs.includes(want)) ? want : undefined;
  g.outputs = [
    g.outputs.find((o) => o.name === spec.logits)!,
    g.outputs.find((o) => o.name === spec.selected)!,
    { name: map, dtype: 'float32', dims: ['N', h, w] },
    ...(embedding ? [{ name: embedding, dtype: 'float32' as const, dims: ['N', 'D'] }] : []),
  ];
  return {
    bytes: saveModel(g), input: spec.input, target: spec.target, logits: spec.logits, selected: spec.selected, map, layer: spec.layer,
    inputDims: spec.inputDims, featureDims: spec.featureDims, numClasses: spec.numClasses, ...(embedding ? { embedding } : {}),
  };
}
