import type { Rule } from '../grad-emitter.js';
import { activationRules } from './activation.js';
import { convRules } from './conv.js';
import { BROADCASTING, elementwiseRules } from './elementwise.js';
import { matmulRules } from './matmul.js';
import { normRules } from './norm.js';
import { poolRules } from './pool.js';
import { reduceRules } from './reduce.js';
import { shapeRules } from './shape.js';

/** Every VJP rule, keyed by ONNX op type. Adding an op is one entry in its family's table. */
export const RULES: Readonly<Record<string, Rule>> = {
  ...elementwiseRules, ...activationRules, ...matmulRules, ...convRules, ...poolRules, ...normRules, ...reduceRules, ...shapeRules,
};

/** Ops with no gradient (shape computations, comparisons, index producers): the driver passes through them. */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual',
  'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'Sign', 'Floor', 'Ceil', 'Round', 'IsNaN', 'IsInf', 'OneHot',
]);

export { BROADCASTING };
