import type { Network, Tensor } from '../engine/index.js';
import { Session } from '../engine/index.js';
import { TABULAR_INPUT } from '../models/index.js';
import { hflipBatch, rowRange, type ImageSet } from './image-set.js';

/**
 * Runs a network's inference graph over an ImageSet in batches and returns logits `[N, K]`. One session is created
 * with weights as inputs, so the same session serves every epoch's validation (pass it back in via `session`).
 */
export class Predictor {
  private constructor(private readonly net: Network, private readonly session: Session) {}

  /** Compiles the inference graph once; weights are fed per call from `net.params` / `net.buffers`. */
  static async create(net: Network, threads = 0): Promise<Predictor> {
    const g = net.inferenceGraph({ weightsAsInputs: true });
    return new Predictor(net, await Session.create(g, threads > 0 ? { threads } : {}));
  }

  /**
   * Logits `[N, K]` for every image (and its tabular row, for fusion models); with `tta`, the mean of the logits of
   * the image and its horizontal flip (the tabular row unchanged).
   */
  async logits(set: ImageSet, opts: { batchSize?: number; tta?: boolean } = {}): Promise<Float32Array> {
    const bs = opts.batchSize ?? 256;
    const [n, c, h, w] = set.dims;
    const per = c * h * w;
    const k = this.net.numClasses;
    const out = new Float32Array(n * k);
    const weights: Record<string, { dtype: 'float32'; dims: readonly number[]; data: Float32Array }> = {};
    for (const [name, data] of [...this.net.params, ...this.net.buffers]) weights[name] = { dtype: 'float32', dims: this.net.shapes.get(name)!, data };
    for (let s = 0; s < n; s += bs) {
      const m = Math.min(bs, n - s);
      const x = rowRange(set, s, m);
      const dims = [m, ...this.net.inputDims]; // = [m, c, h, w], or [m, D] for a cached [D,1,1] set
      const f = set.tabular?.features ?? 0;
      const tab: Record<string, Tensor> = set.tabular ? { [TABULAR_INPUT]: { dtype: 'float32' as const, dims: [m, f], data: set.tabular.data.slice(s * f, (s + m) * f) } } : {};
      const run = async (data: Float32Array) => {
        const r = await this.session.run({ ...weights, ...tab, x: { dtype: 'float32', dims, data } }, ['logits']);
        return r.logits!.data as Float32Array;
      };
      const a = await run(x);
      if (opts.tta) {
        hflipBatch(x, dims);
        const b = await run(x);
        for (let i = 0; i < a.length; i++) a[i] = (a[i]! + b[i]!) / 2;
      }
      out.set(a, s * k);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** Row-wise softmax of logits `[N, K]` in float64. */
export function softmaxRows(logits: Float32Array, k: number): Float64Array {
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i += k) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += p[i + j] = Math.exp(logits[i + j]! - m);
    for (let j = 0; j < k; j++) p[i + j]! /= s;
  }
  return p;
}
