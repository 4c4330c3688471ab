import type { AdamWOptions } from '../options.js';
import type { ParamGroup, ParamGroupSpec } from './optimizer.js';
import { Optimizer } from './optimizer.js';
import { adamwSimd } from './adamw-simd.js';

/**
 * Adam with decoupled weight decay exactly as torch.optim.AdamW: p *= 1 − lr·wd, then the bias-corrected Adam step
 * p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps); `amsgrad` uses the running maximum of v.
 */
export class AdamW extends Optimizer {
  readonly name = 'adamw';

  constructor(readonly opts: Omit<AdamWOptions, 'name'>, groups: readonly ParamGroupSpec[] = []) {
    super(opts, groups);
  }

  protected update(p: Float32Array, grad: Float32Array, group: ParamGroup, state: Record<string, Float32Array>, t: number): void {
    const [b1, b2] = this.opts.betas;
    const { eps, amsgrad } = this.opts;
    const { lr, weightDecay: wd } = group;
    const n = p.length;
    const m = (state.expAvg ??= new Float32Array(n));
    const v = (state.expAvgSq ??= new Float32Array(n));
    const vmax = amsgrad ? (state.maxExpAvgSq ??= new Float32Array(n)) : undefined;
    const decay = 1 - lr * wd;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const [c1, c2] = [1 - b1, 1 - b2];
    // Two loops, not an amsgrad test per element: the branch in the loop made the plain update ~4× slower
    // (286 k parameters: median 6.4 → 1.6 ms on a loaded machine, bit-identical).
    if (vmax) {
      for (let i = 0; i < n; i++) {
        const g = grad[i]!;
        const mi = (m[i] = m[i]! * b1 + c1 * g);
        const vi = (vmax[i] = Math.max(vmax[i]!, (v[i] = v[i]! * b2 + c2 * g * g)));
        p[i] = Math.fround(p[i]! * decay) - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
      }
      return;
    }
    // The SIMD kernel does all but the last n % 4 elements bit-identically (or none, without WebAssembly SIMD).
    const done = adamwSimd(p, grad, m, v, { b1, b2, c1, c2, decay, stepSize, bc2Sqrt, eps });
    for (let i = done; i < n; i++) {
      const g = grad[i]!;
      const mi = (m[i] = m[i]! * b1 + c1 * g);
      const vi = (v[i] = v[i]! * b2 + c2 * g * g);
      p[i] = Math.fround(p[i]! * decay) - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }
}
