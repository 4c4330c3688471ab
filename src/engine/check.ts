import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MedclassError } from '../errors.js';
import { loadModel } from './graph/onnx-io.js';
import { readNpz } from './npz.js';
import { AdamW } from './optim/adamw.js';
import { Sgd } from './optim/sgd.js';
import { Session } from './runtime/session.js';
import type { Tensor } from './tensor.js';
import { buildTrainingGraph } from './training-graph.js';

/** Result of checking the engine against one reference fixture (all errors relative to the reference's largest magnitude). */
export interface FixtureCheck {
  case: string;
  /** |loss − ref| / |ref|. */
  lossRelError: number;
  /** Max over parameters of max|grad − ref| / max|ref|. */
  maxGradRelError: number;
  worstParam: string;
  /** Max over parameters of the same error for the parameters after one SGD step (lr 0.1). */
  sgdError?: number;
  /** Same after 3 AdamW steps (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01), and the losses before each step. */
  adamwError?: number;
  adamwLossError?: number;
  /** Parameter entries left out of `adamwError` because their reference gradient is round-off (see ADAM_NOISE_FLOOR). */
  adamwNoiseEntries?: number;
  params: number;
  /** Milliseconds to build the training graph and create the session. */
  compileMs: number;
}

/** Tolerance of `medclass engine check` and the fixture tests. */
export const FIXTURE_TOLERANCE = 1e-4;

function relErr(a: Float32Array, ref: Float32Array, skip?: (i: number) => boolean): number {
  let maxErr = 0, maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    if (!skip?.(i)) maxErr = Math.max(maxErr, Math.abs(a[i]! - ref[i]!));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

/**
 * Gradient entries below this fraction of their tensor's largest reference gradient are float32 round-off of a value
 * that is exactly 0 in exact arithmetic (e.g. attention key biases: softmax is shift-invariant). Adam divides by
 * √v ≈ |g|, so its step there is decided by round-off in either implementation; such entries are left out of
 * `adamwError` and counted in `adamwNoiseEntries`.
 */
export const ADAM_NOISE_FLOOR = 1e-6;

/**
 * Runs one case of `fixtures/autodiff` (model.onnx, reference.npz, meta.json): loss, gradients of every trainable
 * initializer, and where the fixture has them, one SGD step and three AdamW steps, against PyTorch's values.
 */
export async function checkFixture(dir: string, opts: { threads?: number; batchSize?: 'fixed' | 'dynamic' } = {}): Promise<FixtureCheck> {
  let meta: { case: string; trainable: string[]; input_shape: number[]; has_optimizer_references?: boolean };
  let ref: Map<string, Tensor>;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    ref = readNpz(readFileSync(join(dir, 'reference.npz')), join(dir, 'reference.npz'));
  } catch (e) {
    throw new MedclassError('MC_ENGINE_BAD_MODEL', `fixture '${dir}' lacks meta.json or reference.npz: ${(e as Error).message}`, { file: dir, cause: e });
  }
  const get = (k: string): Tensor => {
    const t = ref.get(k);
    if (!t) throw new MedclassError('MC_ENGINE_FIXTURE_MISMATCH', `reference.npz of '${meta.case}' lacks '${k}'`, { file: dir });
    return t;
  };
  const t0 = performance.now();
  const forward = loadModel(join(dir, 'model.onnx'));
  const params = new Map<string, Float32Array>();
  for (const p of meta.trainable) params.set(p, (forward.initializers.get(p)!.data as Float32Array).slice());
  const tg = buildTrainingGraph(forward, { trainable: meta.trainable, loss: { kind: 'cross-entropy' }, ...(opts.batchSize === 'fixed' ? { batchSize: meta.input_shape[0] } : {}) });
  const session = await Session.create(tg.graph, opts.threads !== undefined ? { threads: opts.threads } : {});
  const compileMs = performance.now() - t0;
  try {
    const x = get('x'), y = get('y');
    const step = async () => {
      const feeds: Record<string, Tensor> = { [tg.dataInputs[0]!]: x, [tg.labelsInput]: y };
      for (const [p, v] of params) feeds[p] = { dtype: 'float32', dims: forward.initializers.get(p)!.dims, data: v };
      const out = await session.run(feeds, [tg.lossOutput, ...meta.trainable.map((p) => tg.gradOutputs[p]!)]);
      const grads = new Map(meta.trainable.map((p) => [p, out[tg.gradOutputs[p]!]!.data as Float32Array]));
      return { loss: (out[tg.lossOutput]!.data as Float32Array)[0]!, grads };
    };
    const source = { get: (n: string) => ({ data: params.get(n)! }) };
    const initial = new Map([...params].map(([k, v]) => [k, v.slice()]));
    const first = await step();
    const refLoss = (get('loss').data as Float32Array)[0]!;
    let worstParam = '', maxGradRelError = 0;
    for (const p of meta.trainable) {
      const e = relErr(first.grads.get(p)!, get(`grad/${p}`).data as Float32Array);
      if (e >= maxGradRelError) { maxGradRelError = e; worstParam = p; }
    }
    const result: FixtureCheck = {
      case: meta.case, lossRelError: Math.abs(first.loss - refLoss) / Math.abs(refLoss), maxGradRelError, worstParam,
      params: meta.trainable.reduce((s, p) => s + params.get(p)!.length, 0), compileMs,
    };
    if (ref.has(`sgd1/${meta.trainable[0]}`)) {
      new Sgd({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }).step(source, first.grads);
      result.sgdError = Math.max(...meta.trainable.map((p) => relErr(params.get(p)!, get(`sgd1/${p}`).data as Float32Array)));
    }
    if (ref.has(`adamw3/${meta.trainable[0]}`)) {
      for (const [k, v] of initial) params.set(k, v.slice());
      const opt = new AdamW({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) { const s = i === 0 ? first : await step(); losses.push(s.loss); opt.step(source, s.grads); }
      let noise = 0;
      result.adamwError = Math.max(...meta.trainable.map((p) => {
        const g = get(`grad/${p}`).data as Float32Array;
        const floor = ADAM_NOISE_FLOOR * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const skip = (i: number) => Math.abs(g[i]!) < floor;
        for (let i = 0; i < g.length; i++) if (skip(i)) noise++;
        return relErr(params.get(p)!, get(`adamw3/${p}`).data as Float32Array, skip);
      }));
      result.adamwNoiseEntries = noise;
      result.adamwLossError = relErr(Float32Array.from(losses), get('adamw3_losses').data as Float32Array);
    }
    return result;
  } finally {
    await session.dispose();
  }
}

/** True when every error of `c` is within `tol`. */
export function fixturePasses(c: FixtureCheck, tol = FIXTURE_TOLERANCE): boolean {
  return [c.lossRelError, c.maxGradRelError, c.sgdError ?? 0, c.adamwError ?? 0, c.adamwLossError ?? 0].every((e) => e <= tol);
}
