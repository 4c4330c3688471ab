import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { normalizationStats } from '../data/index.js';
import { softmax } from '../eval/index.js';
import { GradCam, OverlayOptions, encodePng, mapPeak, renderOverlay, type Map2d } from '../explain/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';
import { decodeInputs, type ImageInput } from './decode-inputs.js';
import { RunModel } from './predict.js';

/** Options of `explainImages` (and `medclass explain`). */
export const ExplainOptions = z.strictObject({
  className: z.string().optional().describe("class whose logit is explained (default: each image's predicted class)"),
  layer: z.string().optional().describe('feature map to explain at (default: the features tap, else the last Conv output)'),
  out: z.string().optional().describe('folder for the overlay PNGs (default: <run>/explain)'),
  overlay: OverlayOptions.default(OverlayOptions.parse({})).describe('how the heat map is drawn'),
  batchSize: z.number().int().min(1).default(16).describe('images per onnxruntime call'),
  concurrency: z.number().int().min(1).default(4).describe('images decoded at once'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional()
    .describe("fusion runs: the tabular values of the images (every column of tabular.json; '' or null = missing)"),
});
export type ExplainOptionsInput = z.input<typeof ExplainOptions>;

/** One image's explanation, or why it could not be read. */
export type ImageExplanation =
  | {
    file: string;
    /** predicted class and its probability (temperature-scaled when the run has a temperature; no TTA) */
    label: string;
    labelIndex: number;
    probability: number;
    /** class whose logit the map explains */
    explained: string;
    /** path of the overlay PNG (absent from `explainTensors` results) */
    png?: string;
    /** Grad-CAM at the model's input size, normalised to [0,1], and its peak (input pixels) */
    cam: Map2d;
    peak: { x: number; y: number };
    error?: undefined;
  }
  | { file: string; error: { code: ErrorCode; message: string } };

/** An explained image with its overlay's PNG bytes (for embedding, e.g. in the report). */
export interface TensorExplanation {
  labelIndex: number;
  probability: number;
  explainedIndex: number;
  cam: Map2d;
  peak: { x: number; y: number };
  png: Uint8Array;
}

/** A run's model with its Grad-CAM graph compiled; `dispose` releases both sessions. */
export interface RunExplainer {
  model: RunModel;
  gradCam: GradCam;
  dispose(): Promise<void>;
}

/** Opens a run directory for explanation: `RunModel` (preprocessing, temperature) and one Grad-CAM session. */
export async function openExplainer(runDir: string, opts: { layer?: string; threads?: number } = {}): Promise<RunExplainer> {
  const model = await RunModel.open(runDir, { threads: opts.threads ?? 1 });
  try {
    const gradCam = await GradCam.create(model.modelBytes(), {
      input: model.preprocess.input, output: model.preprocess.output, ...(opts.layer ? { layer: opts.layer } : {}), ...(opts.threads ? { threads: opts.threads } : {}),
    });
    return { model, gradCam, dispose: async () => { await gradCam.dispose(); await model.dispose(); } };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

/** The class index of `className`, or −1 (predicted) when unset; an unknown name is `MC_EXPLAIN_BAD_TARGET`. */
export function targetIndex(model: RunModel, className?: string): number {
  if (className === undefined || className === 'predicted') return -1;
  const k = model.classes.indexOf(className);
  if (k < 0) throw new MedclassError('MC_EXPLAIN_BAD_TARGET', `class '${className}' is not one of the run's classes [${model.classes.join(', ')}]`, { hint: 'use a class name from preprocess.json, or --target predicted' });
  return k;
}

/**
 * Grad-CAM and overlay PNGs for preprocessed images `x` `[n,C,H,W]` (as `RunModel.preprocessOptions` makes them);
 * the overlay is drawn on the de-normalised input the network saw. A fusion run also needs the encoded tabular rows
 * `tab` `[n,F]` (`RunModel.encodeMeta`); the map explains the image part (the tabular input is held fixed).
 */
export async function explainTensors(ex: RunExplainer, x: Float32Array, n: number, target: number, options: z.input<typeof OverlayOptions> = {}, batchSize = 16, tab?: Float32Array): Promise<TensorExplanation[]> {
  const { model, gradCam } = ex;
  if (model.tabular && !tab) model.encodeMeta([{}], () => 'explain'); // throws MC_DATA_MISSING_META naming every column
  const extra = tab && model.preprocess.tabularInput ? { [model.preprocess.tabularInput]: tab } : {};
  const { size, channels, normalize } = model.preprocessOptions;
  const { mean, std } = normalizationStats(normalize, channels);
  const k = model.classes.length;
  const per = channels * size * size;
  const res = await gradCam.explain(x, n, target, batchSize, extra);
  return Promise.all(res.map(async (r, i) => {
    const probs = softmax(Float64Array.from(r.logits), k, model.temperature ?? 1);
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[c]! > probs[best]!) best = c;
    const img = x.slice(i * per, (i + 1) * per);
    for (let c = 0; c < channels; c++) for (let j = c * size * size; j < (c + 1) * size * size; j++) img[j] = img[j]! * std[c]! + mean[c]!;
    const png = await encodePng(renderOverlay({ width: size, height: size, channels, data: img }, r.raw, options));
    const { x: px, y: py } = mapPeak(r.cam);
    return { labelIndex: best, probability: probs[best]!, explainedIndex: r.classIndex, cam: r.cam, peak: { x: px, y: py }, png };
  }));
}

/** A file name for the overlay of `name` not yet in `taken`: `<stem>.gradcam.png`, then `<stem>-2.gradcam.png`, … */
function overlayName(name: string, taken: Set<string>): string {
  const stem = basename(name, extname(name)).replace(/[^\w.-]+/g, '_') || 'image';
  let file = `${stem}.gradcam.png`;
  for (let i = 2; taken.has(file); i++) file = `${stem}-${i}.gradcam.png`;
  taken.add(file);
  return file;
}

/**
 * Grad-CAM overlays for image files with a trained run: each image is preprocessed as `preprocess.json` says, the
 * chosen class's logit (default: the predicted class) is explained at the chosen layer, and a PNG (heat map
 * alpha-blended on the input the network saw) is written to `out` (default `<run>/explain`). Unreadable files come
 * back as `{file, error}`; the rest go on. Research software, not a diagnostic device.
 *
 * @example
 * const [r] = await explainImages('runs/pneumonia', ['xray.png'], { className: 'pneumonia' });
 */
export async function explainImages(runDir: string, files: readonly ImageInput[], options: ExplainOptionsInput = {}): Promise<ImageExplanation[]> {
  const o = ExplainOptions.parse(options);
  const ex = await openExplainer(runDir, { ...(o.layer ? { layer: o.layer } : {}), threads: o.threads });
  try {
    const target = targetIndex(ex.model, o.className);
    const pre = ex.model.preprocessOptions;
    const row = ex.model.tabular || o.meta ? ex.model.encodeMeta([o.meta], () => 'explain') : undefined;
    const { entries, ok, x } = await decodeInputs(files, pre, o.concurrency);
    const tab = row ? new Float32Array(ok.length * row.length).map((_, i) => row[i % row.length]!) : undefined;
    const res = ok.length ? await explainTensors(ex, x, ok.length, target, o.overlay, o.batchSize, tab) : [];
    const outDir = o.out ?? join(runDir, 'explain');
    if (res.length) mkdirSync(outDir, { recursive: true });
    const taken = new Set<string>();
    const out: ImageExplanation[] = entries.map((d) => ({ file: d.name, error: d.error! })) // decoded ones are replaced below;
    ok.forEach((i, j) => {
      const r = res[j]!;
      const png = join(outDir, overlayName(entries[i]!.name, taken));
      writeFileSync(png, r.png);
      out[i] = {
        file: entries[i]!.name, label: ex.model.classes[r.labelIndex]!, labelIndex: r.labelIndex, probability: r.probability,
        explained: ex.model.classes[r.explainedIndex]!, png, cam: r.cam, peak: r.peak,
      };
    });
    return out;
  } finally {
    await ex.dispose();
  }
}
