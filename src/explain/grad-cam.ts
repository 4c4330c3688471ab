import { Session, i64, type Graph, type Tensor } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { gradCamWeights, normalizeMap, upsampleBilinear, weightedMap, type Map2d } from './cam-maps.js';
import { buildGradCamGraph, type GradCamGraph, type GradCamGraphOptions } from './grad-cam-graph.js';

/** One image's Grad-CAM. */
export interface CamResult {
  /** class whose logit was explained */
  classIndex: number;
  /** the image's logits `[K]` */
  logits: Float32Array;
  /** α_c = mean over h,w of dScore/dA_c, `[C]` */
  weights: Float64Array;
  /** ReLU(Σ_c α_c A_c) at the feature map's resolution, unnormalised */
  raw: Map2d;
  /** `raw` upsampled bilinearly to the input's H×W and normalised to [0,1] */
  cam: Map2d;
}

/** What one session run gives for a batch: every output of the Grad-CAM graph. */
export interface GradCamBatch {
  logits: Float32Array;
  selected: Int32Array;
  features: Float32Array;
  gradient: Float32Array;
}

/** Options of `GradCam.create`: the graph's layer/output/input names and onnxruntime threads. */
export interface GradCamOptions extends GradCamGraphOptions {
  threads?: number;
}

/**
 * Grad-CAM (Selvaraju et al. 2017) from the engine's gradients: the graph of `buildGradCamGraph` compiled into ONE
 * session, then per image α_c = mean_{h,w} dS/dA_c, cam = ReLU(Σ_c α_c A_c), bilinear upsampling to the input size
 * and min–max normalisation — the semantics of pytorch-grad-cam's `GradCAM` with `ClassifierOutputTarget`. Dispose
 * it when done.
 *
 * @example
 * const gc = await GradCam.create(readFileSync('runs/x/model.onnx'));
 * try { const [r] = await gc.explain(x, 1); } finally { await gc.dispose(); }
 */
export class GradCam {
  private constructor(readonly spec: GradCamGraph, private readonly session: Session) {}

  /** Builds the Grad-CAM graph of `model` (a `Graph` or ONNX bytes) and compiles it. */
  static async create(model: Graph | Uint8Array, opts: GradCamOptions = {}): Promise<GradCam> {
    const spec = buildGradCamGraph(model, opts);
    const session = await Session.create(spec.graph, opts.threads ? { threads: opts.threads } : {});
    return new GradCam(spec, session);
  }

  /** The layer explained at. */
  get layer(): string { return this.spec.layer; }

  /**
   * Runs the graph on images `x` `[n,C,H,W]` for per-image class `targets` (−1 = predicted); `extra` holds the rows
   * of any other data input (`spec.extraInputs`, e.g. a fusion model's `tab` `[n,F]`).
   */
  async run(x: Float32Array, n: number, targets: ArrayLike<number>, extra: Readonly<Record<string, Float32Array>> = {}): Promise<GradCamBatch> {
    const [c, h, w] = this.spec.inputDims as [number, number, number];
    if (x.length !== n * c * h * w) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `x: expected [${n},${c},${h},${w}] (${n * c * h * w} values), got ${x.length} values`);
    const k = this.spec.numClasses;
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (!Number.isInteger(t) || t < -1 || t >= k) throw new MedclassError('MC_EXPLAIN_BAD_TARGET', `target of image ${i}: expected a class index in 0..${k - 1} or −1 (predicted), got ${t}`);
    }
    const feeds: Record<string, Tensor> = {};
    for (const v of this.spec.extraInputs) {
      const per = v.dims.reduce((a, b) => a * b, 1);
      const data = extra[v.name];
      if (!data) throw new MedclassError('MC_ENGINE_MISSING_INPUT', `Grad-CAM: the model also needs input '${v.name}' [${n},${v.dims.join(',')}]`);
      if (data.length !== n * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${v.name}: expected [${n},${v.dims.join(',')}] (${n * per} values), got ${data.length} values`);
      feeds[v.name] = { dtype: 'float32', dims: [n, ...v.dims], data };
    }
    const r = await this.session.run({
      ...feeds,
      [this.spec.input]: { dtype: 'float32', dims: [n, c, h, w], data: x },
      [this.spec.target]: i64(Array.from({ length: n }, (_, i) => targets[i]!), [n]),
    });
    const sel = r[this.spec.selected]!.data as BigInt64Array;
    return {
      logits: Float32Array.from(r[this.spec.logits]!.data as Float32Array),
      selected: Int32Array.from(sel, Number),
      features: Float32Array.from(r[this.spec.layer]!.data as Float32Array),
      gradient: Float32Array.from(r[this.spec.gradient]!.data as Float32Array),
    };
  }

  /**
   * Grad-CAM of `n` images `x` `[n,C,H,W]`; `targets` is one class index for all, one per image, or −1/omitted for
   * each image's predicted class. Runs in batches of `batchSize`; `extra` as in `run`, for all `n` rows.
   */
  async explain(x: Float32Array, n: number, targets: number | readonly number[] = -1, batchSize = 16, extra: Readonly<Record<string, Float32Array>> = {}): Promise<CamResult[]> {
    const [c, h, w] = this.spec.inputDims as [number, number, number];
    const [fc, fh, fw] = this.spec.featureDims as [number, number, number];
    const per = c * h * w;
    const k = this.spec.numClasses;
    const out: CamResult[] = [];
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      const t = Array.from({ length: m }, (_, i) => (typeof targets === 'number' ? targets : targets[s + i]!));
      const rows = Object.fromEntries(this.spec.extraInputs.filter((v) => extra[v.name]).map((v) => {
        const f = v.dims.reduce((a, b) => a * b, 1);
        return [v.name, extra[v.name]!.subarray(s * f, (s + m) * f)];
      }));
      const r = await this.run(x.subarray(s * per, (s + m) * per), m, t, rows);
      const fper = fc * fh * fw;
      for (let i = 0; i < m; i++) {
        const a = r.features.subarray(i * fper, (i + 1) * fper);
        const weights = gradCamWeights(r.gradient.subarray(i * fper, (i + 1) * fper), fc, fh * fw);
        const raw = weightedMap(a, weights, fh, fw);
        out.push({ classIndex: r.selected[i]!, logits: r.logits.slice(i * k, (i + 1) * k), weights, raw, cam: normalizeMap(upsampleBilinear(raw, w, h)) });
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
