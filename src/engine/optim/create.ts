import type { OptimizerOptionsInput } from '../options.js';
import { OptimizerOptions } from '../options.js';
import { AdamW } from './adamw.js';
import type { Optimizer, ParamGroupSpec } from './optimizer.js';
import { Sgd } from './sgd.js';

/**
 * The optimizer named by `opts.name` with torch defaults for omitted fields.
 *
 * @example
 * const opt = createOptimizer({ name: 'adamw', lr: 3e-4 }, [{ params: 'trunk.*', lr: 3e-5 }]);
 */
export function createOptimizer(opts: OptimizerOptionsInput, groups: readonly ParamGroupSpec[] = []): Optimizer {
  const o = OptimizerOptions.parse(opts);
  return o.name === 'sgd' ? new Sgd(o, groups) : new AdamW(o, groups);
}
