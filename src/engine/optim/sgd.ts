import { MedclassError } from '../../errors.js';
import type { SgdOptions } from '../options.js';
import type { ParamGroup, ParamGroupSpec } from './optimizer.js';
import { Optimizer } from './optimizer.js';

/**
 * Stochastic gradient descent exactly as torch.optim.SGD: coupled weight decay (g += wd·p), momentum buffer
 * initialised to the first gradient, dampening, Nesterov.
 */
export class Sgd extends Optimizer {
  readonly name = 'sgd';

  constructor(readonly opts: Omit<SgdOptions, 'name'>, groups: readonly ParamGroupSpec[] = []) {
    super(opts, groups);
    if (opts.nesterov && (opts.momentum <= 0 || opts.dampening !== 0)) {
      throw new MedclassError('MC_TRAIN_BAD_CONFIG', `SGD: Nesterov needs momentum > 0 and dampening = 0 (got momentum ${opts.momentum}, dampening ${opts.dampening})`);
    }
  }

  protected update(p: Float32Array, grad: Float32Array, group: ParamGroup, state: Record<string, Float32Array>): void {
    const { momentum, dampening, nesterov } = this.opts;
    const { lr, weightDecay: wd } = group;
    const n = p.length;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) p[i] = p[i]! - lr * Math.fround(grad[i]! + wd * p[i]!);
      return;
    }
    let buf = state.momentum;
    const first = !buf;
    if (!buf) buf = state.momentum = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = Math.fround(grad[i]! + wd * p[i]!);
      const b = (buf[i] = first ? d : Math.fround(buf[i]! * momentum + (1 - dampening) * d));
      const step = nesterov ? Math.fround(d + momentum * b) : b;
      p[i] = p[i]! - lr * step;
    }
  }
}
