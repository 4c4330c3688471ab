import { join, resolve } from 'node:path';
import { z } from 'zod';
import { loadModel, saveModel, type Dim, type ValueInfo } from '../engine/index.js';
import { DISCLAIMER } from '../eval/index.js';
import { RunModel } from './predict.js';
import { toJson, writeAtomic } from '../run/index.js';
import { buildServingGraph, servingModelName, SERVING_OUTPUTS } from './serving-graph.js';

/** Options of `exportTriton` (and `medclass export --triton`). */
export const TritonExportOptions = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only').optional()
    .describe("model name in the repository (default: the run directory's name, other characters as _)"),
  rawInput: z.boolean().default(false)
    .describe('the graph takes uint8 [N,H,W,C] pixels at the model size and applies scale, normalisation, channel handling and temperature inside'),
  rawChannels: z.union([z.literal(1), z.literal(3)]).optional()
    .describe("with rawInput: channels of the uint8 image (default: the model's); 3 for a grey model converts by ITU-R 601-2 luma, 1 for an RGB model repeats the plane"),
  maxBatchSize: z.number().int().min(1).max(1024).default(32).describe('max_batch_size of config.pbtxt (largest batch Triton forms)'),
}).refine((o) => o.rawChannels === undefined || o.rawInput, { message: 'only with rawInput (--raw-input)', path: ['rawChannels'] });
export type TritonExportOptions = z.output<typeof TritonExportOptions>;
export type TritonExportOptionsInput = z.input<typeof TritonExportOptions>;

/** What `exportTriton` wrote. */
export interface TritonExport {
  name: string;
  /** the model's folder in the repository: `<repo>/<name>` */
  modelDir: string;
  /** config.pbtxt text */
  config: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** files written, relative to the model folder */
  files: string[];
}

/** Triton DataType enum names of the dtypes a serving graph uses. */
const TRITON_TYPE: Record<string, string> = { float32: 'TYPE_FP32', uint8: 'TYPE_UINT8', int64: 'TYPE_INT64' };

/** One input or output block of config.pbtxt: the batch dimension is left out (max_batch_size > 0). */
function tensorBlock(v: ValueInfo, extra: string[]): string {
  const dims = v.dims.slice(1).map((d: Dim) => (typeof d === 'number' ? d : -1));
  return ['  {', `    name: ${JSON.stringify(v.name)}`, `    data_type: ${TRITON_TYPE[v.dtype]}`, ...extra.map((l) => `    ${l}`), `    dims: [ ${dims.join(', ')} ]`, '  }'].join('\n');
}

/**
 * config.pbtxt (protobuf text format of Triton's `inference.ModelConfig`) for a serving graph: platform
 * `onnxruntime_onnx`, `max_batch_size`, inputs/outputs with `data_type` and non-batch `dims`, the image input's
 * `format` (NHWC raw pixels, NCHW floats), `label_filename` on the probabilities, and `dynamic_batching {}`.
 */
export function tritonConfig(name: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], maxBatchSize: number, comment: readonly string[] = []): string {
  const fmt = (v: ValueInfo) => (v.dims.length !== 4 ? [] : [`format: ${v.dtype === 'uint8' ? 'FORMAT_NHWC' : 'FORMAT_NCHW'}`]);
  const label = (v: ValueInfo) => (v.name === SERVING_OUTPUTS.probabilities ? ['label_filename: "labels.txt"'] : []);
  return [
    ...comment.map((l) => `# ${l}`),
    `name: ${JSON.stringify(name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatchSize}`,
    'input [',
    inputs.map((v) => tensorBlock(v, fmt(v))).join(',\n'),
    ']',
    'output [',
    outputs.map((v) => tensorBlock(v, label(v))).join(',\n'),
    ']',
    'dynamic_batching { }',
    '',
  ].join('\n');
}

/**
 * Writes a Triton model repository entry for a run: `<repo>/<name>/config.pbtxt`, `<name>/1/model.onnx` (the
 * serving graph: logits and probabilities = softmax(logits / T), flip TTA when the run was evaluated with it),
 * `<name>/labels.txt` (class per line, the probabilities' order), `<name>/preprocess.json` and, for fusion runs,
 * `<name>/tabular.json` (how to encode `tab`). With `rawInput` the graph takes uint8 `[N,size,size,C]` pixels;
 * the client still resizes (squash or letterbox with black, as preprocess.json says). Re-exporting overwrites.
 *
 * @example
 * const r = await exportTriton('runs/pneumonia', 'model_repository', { rawInput: true });
 */
export async function exportTriton(runDir: string, repoDir: string, options: TritonExportOptionsInput = {}): Promise<TritonExport> {
  const o = TritonExportOptions.parse(options);
  const model = await RunModel.open(runDir, { threads: 1 });
  const { preprocess: pre, temperature, tta, tabular } = model;
  const bytes = model.modelBytes();
  await model.dispose();
  const graph = buildServingGraph(loadModel(bytes), pre, { rawInput: o.rawInput, ...(o.rawChannels ? { rawChannels: o.rawChannels } : {}), temperature, tta });
  const name = o.name ?? servingModelName(resolve(runDir));
  const modelDir = join(repoDir, name);
  const c = pre.channels;
  const comment = [
    `medclass ${name}: ${DISCLAIMER}`,
    o.rawInput
      ? `input image: uint8 [N,${pre.size},${pre.size},${o.rawChannels ?? c}] HWC pixels, already ${pre.fit === 'letterbox' ? 'letterboxed (black padding)' : 'squashed'} to ${pre.size}x${pre.size}; scale, '${pre.normalize}' normalisation${(o.rawChannels ?? c) !== c ? ', channel conversion' : ''} and temperature are in the graph`
      : `input ${pre.input}: float32 [N,${c},${pre.size},${pre.size}] after preprocess.json (${pre.fit}, /255, '${pre.normalize}' normalisation)`,
    `outputs: logits and probabilities = softmax(logits / ${temperature ?? 1})${tta ? ', averaged with the horizontal flip' : ''}; class order in labels.txt`,
  ];
  const config = tritonConfig(name, graph.inputs, graph.outputs, o.maxBatchSize, comment);
  writeAtomic(join(modelDir, '1', 'model.onnx'), saveModel(graph));
  writeAtomic(join(modelDir, 'labels.txt'), `${pre.classes.join('\n')}\n`);
  writeAtomic(join(modelDir, 'preprocess.json'), toJson(pre));
  const files = ['config.pbtxt', '1/model.onnx', 'labels.txt', 'preprocess.json'];
  if (tabular) {
    writeAtomic(join(modelDir, 'tabular.json'), toJson(tabular));
    files.push('tabular.json');
  }
  writeAtomic(join(modelDir, 'config.pbtxt'), config); // last: Triton polling the repository sees a complete model
  return { name, modelDir, config, inputs: graph.inputs, outputs: graph.outputs, files };
}
