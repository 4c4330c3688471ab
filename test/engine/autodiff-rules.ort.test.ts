import { describe, expect, it } from 'vitest';
import { attr, differentiate, f32, gradientOrigins, i64, Rng, RULES, type Graph, type Tensor } from '../../src/engine/index.js';
import { checkOpGradient, distinct, seeded, type OpCase } from './autodiff-harness.js';

const rng = new Rng(7);
const r = (dims: number[], o: { lo?: number; hi?: number; gap?: number } = {}) => seeded(rng, dims, o);
const pos = (dims: number[]) => r(dims, { lo: 0.5, hi: 2 });
const v = (values: Record<string, Tensor>) => values;
const ints = (x: number[]) => i64(x, [x.length]);
const scalar = (x: number) => f32([x], []);

/** One finite-difference case per VJP rule (several for the ops with many attributes). */
const CASES: OpCase[] = [
  { name: 'Add broadcasts [2,3,4] + [3,1]', op: 'Add', inputs: ['a', 'b'], values: v({ a: r([2, 3, 4]), b: r([3, 1]) }) },
  { name: 'Sub broadcasts [4] - [2,4]', op: 'Sub', inputs: ['a', 'b'], values: v({ a: r([4]), b: r([2, 4]) }) },
  { name: 'Mul broadcasts [2,1,4] * [3,1]', op: 'Mul', inputs: ['a', 'b'], values: v({ a: r([2, 1, 4]), b: r([3, 1]) }) },
  { name: 'Div broadcasts [2,3] / [3]', op: 'Div', inputs: ['a', 'b'], values: v({ a: r([2, 3]), b: pos([3]) }) },
  { name: 'Pow base and exponent', op: 'Pow', inputs: ['a', 'b'], values: v({ a: pos([2, 3]), b: r([3]) }) },
  { name: 'Neg', op: 'Neg', inputs: ['a'], values: v({ a: r([5]) }) },
  { name: 'Identity', op: 'Identity', inputs: ['a'], values: v({ a: r([2, 2]) }) },
  { name: 'Dropout (eval) is identity', op: 'Dropout', inputs: ['a'], values: v({ a: r([2, 3]) }), outputs: 1 },
  { name: 'Cast float to float', op: 'Cast', inputs: ['a'], values: v({ a: r([3]) }), attrs: { to: attr.int(1) } },
  { name: 'Pow with an int64 exponent', op: 'Pow', inputs: ['a', 'b'], values: v({ a: pos([2, 3]), b: i64([3], []) }), consts: ['b'] },
  { name: 'Sum of three with broadcasting', op: 'Sum', inputs: ['a', 'b', 'c'], values: v({ a: r([2, 3]), b: r([3]), c: r([2, 1]) }) },
  { name: 'Where routes to both branches', op: 'Where', inputs: ['c', 'a', 'b'], values: v({ c: { dtype: 'bool', dims: [2, 3], data: Uint8Array.from([1, 0, 1, 1, 0, 0]) }, a: r([2, 3]), b: r([3]) }) },
  { name: 'Max', op: 'Max', inputs: ['a', 'b'], values: v({ a: distinct(rng, [2, 3]), b: f32([0.01, 0.26, -0.33, 0.12, -0.04, 0.51], [2, 3]) }) },
  { name: 'Min', op: 'Min', inputs: ['a', 'b'], values: v({ a: distinct(rng, [2, 3]), b: f32([0.01, 0.26, -0.33], [3]) }) },
  { name: 'Mean of two with broadcasting', op: 'Mean', inputs: ['a', 'b'], values: v({ a: r([2, 3]), b: r([3]) }) },
  { name: 'HardSigmoid (inside and saturated)', op: 'HardSigmoid', inputs: ['a'], values: v({ a: f32([-4, -2.2, -0.5, 0.3, 1.7, 3.9], [6]) }), attrs: { alpha: attr.float(0.25) } },
  { name: 'HardSwish on all three pieces', op: 'HardSwish', inputs: ['a'], values: v({ a: f32([-5, -2.5, -0.7, 0.4, 2.2, 4.5], [6]) }) },
  { name: 'Elu', op: 'Elu', inputs: ['a'], values: v({ a: r([6], { gap: 0.1 }) }), attrs: { alpha: attr.float(0.7) } },
  { name: 'Selu', op: 'Selu', inputs: ['a'], values: v({ a: r([6], { gap: 0.1 }) }) },
  { name: 'PRelu with per-channel slope', op: 'PRelu', inputs: ['a', 's'], values: v({ a: r([2, 3, 2, 2], { gap: 0.1 }), s: r([3, 1, 1]) }) },
  { name: 'Sqrt', op: 'Sqrt', inputs: ['a'], values: v({ a: pos([4]) }) },
  { name: 'Exp', op: 'Exp', inputs: ['a'], values: v({ a: r([4]) }) },
  { name: 'Log', op: 'Log', inputs: ['a'], values: v({ a: pos([4]) }) },
  { name: 'Reciprocal', op: 'Reciprocal', inputs: ['a'], values: v({ a: pos([4]) }) },
  { name: 'Abs away from 0', op: 'Abs', inputs: ['a'], values: v({ a: r([6], { gap: 0.1 }) }) },
  { name: 'Erf', op: 'Erf', inputs: ['a'], values: v({ a: r([6], { lo: -2, hi: 2 }) }) },
  { name: 'Relu away from the kink', op: 'Relu', inputs: ['a'], values: v({ a: r([2, 5], { gap: 0.1 }) }) },
  { name: 'Clip with min and max', op: 'Clip', inputs: ['a', 'lo', 'hi'], values: v({ a: r([8], { lo: -2, hi: 2, gap: 0.1 }), lo: scalar(-0.75), hi: scalar(0.8) }), consts: ['lo', 'hi'] },
  { name: 'Clip with max only', op: 'Clip', inputs: ['a', '', 'hi'], values: v({ a: r([8], { lo: -2, hi: 2 }), hi: scalar(0.7) }), consts: ['hi'] },
  { name: 'Sigmoid', op: 'Sigmoid', inputs: ['a'], values: v({ a: r([5], { lo: -3, hi: 3 }) }) },
  { name: 'Tanh', op: 'Tanh', inputs: ['a'], values: v({ a: r([5]) }) },
  { name: 'Softplus', op: 'Softplus', inputs: ['a'], values: v({ a: r([5], { lo: -3, hi: 3 }) }) },
  { name: 'LeakyRelu', op: 'LeakyRelu', inputs: ['a'], values: v({ a: r([6], { gap: 0.1 }) }), attrs: { alpha: attr.float(0.1) } },
  { name: 'Softmax over the last axis', op: 'Softmax', inputs: ['a'], values: v({ a: r([2, 3, 4], { lo: -2, hi: 2 }) }) },
  { name: 'Softmax over axis 1', op: 'Softmax', inputs: ['a'], values: v({ a: r([2, 3, 4]) }), attrs: { axis: attr.int(1) } },
  { name: 'LogSoftmax', op: 'LogSoftmax', inputs: ['a'], values: v({ a: r([3, 4], { lo: -2, hi: 2 }) }), attrs: { axis: attr.int(1) } },
  { name: 'MatMul 2-D', op: 'MatMul', inputs: ['a', 'b'], values: v({ a: r([3, 4]), b: r([4, 2]) }) },
  { name: 'MatMul batch dims broadcast [2,3,4]x[4,5]', op: 'MatMul', inputs: ['a', 'b'], values: v({ a: r([2, 3, 4]), b: r([4, 5]) }) },
  { name: 'MatMul batch dims [2,1,3,4]x[3,4,2]', op: 'MatMul', inputs: ['a', 'b'], values: v({ a: r([2, 1, 3, 4]), b: r([3, 4, 2]) }) },
  { name: 'MatMul 1-D operands', op: 'MatMul', inputs: ['a', 'b'], values: v({ a: r([4]), b: r([2, 4, 3]) }) },
  { name: 'MatMul matrix times vector', op: 'MatMul', inputs: ['a', 'b'], values: v({ a: r([3, 4]), b: r([4]) }) },
  ...[[0, 0], [0, 1], [1, 0], [1, 1]].map(([ta, tb]): OpCase => ({
    name: `Gemm transA=${ta} transB=${tb} alpha/beta, C broadcast`, op: 'Gemm', inputs: ['a', 'b', 'c'],
    values: v({ a: r(ta ? [4, 3] : [3, 4]), b: r(tb ? [2, 4] : [4, 2]), c: r([2]) }),
    attrs: { transA: attr.int(ta!), transB: attr.int(tb!), alpha: attr.float(0.7), beta: attr.float(1.3) },
  })),
  { name: 'Conv 3x3 stride 1 pad 1 with bias', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([2, 3, 5, 5]), w: r([4, 3, 3, 3]), b: r([4]) }), attrs: { pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv stride 2 on even input (output_padding case)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 6, 6]), w: r([3, 2, 3, 3]) }), attrs: { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv stride 2 no pad, rows left unread', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 1, 6, 7]), w: r([2, 1, 3, 2]) }), attrs: { strides: attr.ints([2, 3]) } },
  { name: 'Conv dilation 2 asymmetric pads', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([1, 2, 7, 6]), w: r([2, 2, 3, 3]), b: r([2]) }), attrs: { dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 0, 2]) } },
  { name: 'Conv group 2', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 4, 5, 5]), w: r([6, 2, 3, 3]) }), attrs: { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv depthwise 5x5 stride 2', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([2, 3, 8, 8]), w: r([3, 1, 5, 5]), b: r([3]) }), attrs: { group: attr.int(3), strides: attr.ints([2, 2]), pads: attr.ints([2, 2, 2, 2]) } },
  // MobileNetV2's depthwise 3×3 (group = C): maps of at most 196 × 196 input × output positions take the two-MatMul
  // (Toeplitz) dW, larger ones at stride 1 the per-row MatMuls, the rest the grouped Conv with dY as the kernel.
  { name: 'Conv depthwise 3x3 stride 1, 10x10 (Toeplitz dW)', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([2, 2, 10, 10]), w: r([2, 1, 3, 3]), b: r([2]) }), attrs: { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv depthwise 3x3 stride 1, 5x5 (Toeplitz dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 3, 5, 5]), w: r([3, 1, 3, 3]) }), attrs: { group: attr.int(3), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv depthwise 3x3 stride 2 SAME_UPPER (as the TF MobileNetV2)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 3, 8, 8]), w: r([3, 1, 3, 3]) }), attrs: { group: attr.int(3), strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') } },
  { name: 'Conv depthwise 3x3 dilation 2, asymmetric pads, 12x12 (Toeplitz dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 12, 12]), w: r([2, 1, 3, 3]) }), attrs: { group: attr.int(2), dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 1, 2]) } },
  { name: 'Conv depthwise 3x3 stride 1, 16x16 (rows dW)', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([1, 2, 16, 16]), w: r([2, 1, 3, 3]), b: r([2]) }), attrs: { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv depthwise 3x3 dilation 2, asymmetric pads, 18x18 (rows dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 18, 18]), w: r([2, 1, 3, 3]) }), attrs: { group: attr.int(2), dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 1, 2]) } },
  { name: 'Conv depthwise 5x3 stride 1, 14x16 (rows dW)', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([2, 2, 14, 16]), w: r([2, 1, 5, 3]), b: r([2]) }), attrs: { group: attr.int(2), pads: attr.ints([2, 1, 2, 1]) } },
  // strided depthwise with odd sizes, asymmetric pads and unequal strides (dX through ConvTranspose)
  { name: 'Conv depthwise 3x3 stride 2, 9x9, pads 0,1,1,0', op: 'Conv', inputs: ['x', 'w', 'b'], values: v({ x: r([2, 3, 9, 9]), w: r([3, 1, 3, 3]), b: r([3]) }), attrs: { group: attr.int(3), strides: attr.ints([2, 2]), pads: attr.ints([0, 1, 1, 0]) } },
  { name: 'Conv depthwise 3x2 strides 3,2, 10x7, no pads', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 10, 7]), w: r([2, 1, 3, 2]) }), attrs: { group: attr.int(2), strides: attr.ints([3, 2]) } },
  { name: 'Conv depthwise 3x3 stride 2, 20x20 (grouped Conv dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 20, 20]), w: r([2, 1, 3, 3]) }), attrs: { group: attr.int(2), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'Conv auto_pad SAME_UPPER stride 2', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 2, 5, 5]), w: r([2, 2, 2, 2]) }), attrs: { auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) } },
  // Group-1 dW paths (conv.ts): the cases above have < 16 input channels (per-image columns); these reach the shifted
  // copies (stride 1, ≥ 196 outputs), the channels-last im2col Gemm (also with dilation, asymmetric pads and unequal
  // strides, and for a strided 1×1 with < 49 outputs) and the per-image columns of a strided 1×1. FD over w only.
  { name: 'Conv 16→16 3x3 14x14 (shifted dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 16, 14, 14]), w: r([16, 16, 3, 3]) }), attrs: { pads: attr.ints([1, 1, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 16→16 3x2 asymmetric pads, 16x14 outputs (shifted dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 16, 15, 14]), w: r([16, 16, 3, 2]) }), attrs: { pads: attr.ints([2, 0, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 32→8 3x3 14x14 (shifted dW, gathered operands)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 32, 14, 14]), w: r([8, 32, 3, 3]) }), attrs: { pads: attr.ints([1, 1, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 32→4 3x2 asymmetric pads, 16x14 outputs (shifted dW, gathered operands)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 32, 15, 14]), w: r([4, 32, 3, 2]) }), attrs: { pads: attr.ints([2, 0, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 32→4 1x3, 14x14 outputs (shifted dW, gathered operands, one dY row)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 32, 14, 14]), w: r([4, 32, 1, 3]) }), attrs: { pads: attr.ints([0, 1, 0, 1]) }, wrt: ['w'] },
  { name: 'Conv 16→4 3x3 stride 2 (channels-last im2col dW, gathered columns)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 16, 6, 6]), w: r([4, 16, 3, 3]) }), attrs: { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 16→3 3x2 dilation 2, strides (1, 2), asymmetric pads (channels-last im2col dW, gathered columns)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 16, 7, 8]), w: r([3, 16, 3, 2]) }), attrs: { dilations: attr.ints([2, 2]), strides: attr.ints([1, 2]), pads: attr.ints([2, 0, 1, 1]) }, wrt: ['w'] },
  { name: 'Conv 16→4 1x1 stride 2, 3x3 outputs (channels-last im2col dW, gathered columns)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 16, 6, 6]), w: r([4, 16, 1, 1]) }), attrs: { strides: attr.ints([2, 2]) }, wrt: ['w'] },
  { name: 'Conv 16→4 1x1 stride 1, unpadded (channels-last dW, X read as its columns)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 16, 5, 5]), w: r([4, 16, 1, 1]) }), wrt: ['w'] },
  { name: 'Conv 16→4 1x1 stride 2, 7x7 outputs (per-image dW)', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([1, 16, 13, 13]), w: r([4, 16, 1, 1]) }), attrs: { strides: attr.ints([2, 2]) }, wrt: ['w'] },
  { name: 'Conv 1-D', op: 'Conv', inputs: ['x', 'w'], values: v({ x: r([2, 2, 9]), w: r([3, 2, 3]) }), attrs: { strides: attr.ints([2]), pads: attr.ints([1, 0]) } },
  { name: 'MaxPool 2x2 stride 2', op: 'MaxPool', inputs: ['x'], values: v({ x: distinct(rng, [2, 2, 4, 4]) }), attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } },
  { name: 'MaxPool 3x3 stride 2 overlapping, padded', op: 'MaxPool', inputs: ['x'], values: v({ x: distinct(rng, [1, 2, 7, 7]) }), attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'MaxPool ceil_mode', op: 'MaxPool', inputs: ['x'], values: v({ x: distinct(rng, [1, 1, 5, 5]) }), attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) } },
  { name: 'AveragePool 2x2 stride 2', op: 'AveragePool', inputs: ['x'], values: v({ x: r([2, 2, 4, 4]) }), attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } },
  { name: 'AveragePool padded, count_include_pad=0', op: 'AveragePool', inputs: ['x'], values: v({ x: r([1, 2, 5, 5]) }), attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'AveragePool padded, count_include_pad=1', op: 'AveragePool', inputs: ['x'], values: v({ x: r([1, 2, 5, 5]) }), attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(1) } },
  { name: 'GlobalMaxPool', op: 'GlobalMaxPool', inputs: ['x'], values: v({ x: distinct(rng, [2, 3, 3, 4]) }) },
  { name: 'InstanceNormalization', op: 'InstanceNormalization', inputs: ['x', 's', 'b'], values: v({ x: r([2, 3, 4, 3]), s: r([3]), b: r([3]) }), attrs: { epsilon: attr.float(1e-3) } },
  { name: 'Tile', op: 'Tile', inputs: ['x', 'rep'], values: v({ x: r([2, 3]), rep: ints([2, 3]) }) },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', inputs: ['x'], values: v({ x: r([2, 3, 4, 5]) }) },
  { name: 'BatchNormalization (inference) X, scale, B', op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'var'], values: v({ x: r([3, 2, 3, 3]), s: r([2]), b: r([2]), m: r([2]), var: pos([2]) }), consts: ['m', 'var'], attrs: { epsilon: attr.float(1e-3) } },
  { name: 'BatchNormalization on [N,C]', op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'var'], values: v({ x: r([4, 3]), s: r([3]), b: r([3]), m: r([3]), var: pos([3]) }), consts: ['m', 'var'] },
  { name: 'LayerNormalization last axis', op: 'LayerNormalization', inputs: ['x', 's', 'b'], values: v({ x: r([2, 3, 5]), s: r([5]), b: r([5]) }) },
  { name: 'LayerNormalization axis 1', op: 'LayerNormalization', inputs: ['x', 's', 'b'], values: v({ x: r([2, 3, 4]), s: r([3, 4]), b: r([3, 4]) }), attrs: { axis: attr.int(1), epsilon: attr.float(1e-3) } },
  { name: 'ReduceSum keepdims', op: 'ReduceSum', inputs: ['x', 'ax'], values: v({ x: r([2, 3, 4]), ax: ints([1]) }) },
  { name: 'ReduceSum no keepdims, two axes', op: 'ReduceSum', inputs: ['x', 'ax'], values: v({ x: r([2, 3, 4]), ax: ints([0, -1]) }), attrs: { keepdims: attr.int(0) } },
  { name: 'ReduceMean over the batch axis', op: 'ReduceMean', inputs: ['x'], values: v({ x: r([3, 4]) }), attrs: { axes: attr.ints([0]), keepdims: attr.int(0) } },
  { name: 'ReduceMean all axes', op: 'ReduceMean', inputs: ['x'], values: v({ x: r([2, 3]) }) },
  { name: 'Reshape', op: 'Reshape', inputs: ['x', 's'], values: v({ x: r([2, 6]), s: ints([3, -1]) }) },
  { name: 'Flatten', op: 'Flatten', inputs: ['x'], values: v({ x: r([2, 3, 2]) }), attrs: { axis: attr.int(1) } },
  { name: 'Squeeze', op: 'Squeeze', inputs: ['x', 'ax'], values: v({ x: r([2, 1, 3]), ax: ints([1]) }) },
  { name: 'Unsqueeze', op: 'Unsqueeze', inputs: ['x', 'ax'], values: v({ x: r([2, 3]), ax: ints([0, 3]) }) },
  { name: 'Transpose', op: 'Transpose', inputs: ['x'], values: v({ x: r([2, 3, 4]) }), attrs: { perm: attr.ints([2, 0, 1]) } },
  { name: 'Concat', op: 'Concat', inputs: ['a', 'b', 'c'], values: v({ a: r([2, 1, 3]), b: r([2, 2, 3]), c: r([2, 3, 3]) }), attrs: { axis: attr.int(1) } },
  { name: 'Split with one output unused', op: 'Split', inputs: ['x', 'sp'], values: v({ x: r([2, 6]), sp: ints([1, 2, 3]) }), attrs: { axis: attr.int(1) }, outputs: 3, use: [0, 2] },
  { name: 'Slice with negative start', op: 'Slice', inputs: ['x', 'st', 'en', 'ax'], values: v({ x: r([3, 6]), st: ints([1, -4]), en: ints([3, 5]), ax: ints([0, 1]) }) },
  { name: 'Slice with step 2 and a reversing step -3', op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], values: v({ x: r([2, 7, 8]), st: ints([1, -1]), en: ints([7, 0]), ax: ints([1, 2]), sp: ints([2, -3]) }) },
  { name: 'Slice reversing a whole axis (flip)', op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], values: v({ x: r([3, 4]), st: ints([-1]), en: ints([-(2 ** 40)]), ax: ints([1]), sp: ints([-1]) }) },
  { name: 'Pad constant', op: 'Pad', inputs: ['x', 'p'], values: v({ x: r([2, 3]), p: ints([1, 0, 0, 2]) }) },
  { name: 'Gather axis 0, repeated and negative indices', op: 'Gather', inputs: ['x', 'i'], values: v({ x: r([4, 3]), i: i64([0, 2, 2, -1], [2, 2]) }) },
  { name: 'Gather axis 1 scalar index', op: 'Gather', inputs: ['x', 'i'], values: v({ x: r([2, 5, 3]), i: i64([1], []) }), attrs: { axis: attr.int(1) } },
  { name: 'Expand', op: 'Expand', inputs: ['x', 's'], values: v({ x: r([3, 1]), s: ints([2, 3, 4]) }) },
];

describe('VJP rules match central finite differences through onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const res = await checkOpGradient(c);
      if (process.env.FD_LOG) process.stderr.write(`${c.name}: ${res.error.toExponential(2)} (${res.precision})\n`);
      // float64 FD: analytic float32 gradients agree to ~1e-6; float32 FD (ops without double kernels): ~1e-4 noise.
      expect(res.error, `${c.op}: worst input ${res.worst}, FD in ${res.precision}`).toBeLessThan(res.precision === 'float64' ? 1e-4 : 3e-3);
    });
  }

  it('group-1 dW: per image below 16 input channels, for strided 1×1 from 49 outputs and stride-1 1×1 from 196, shifted copies at stride 1 from 196 outputs (gathered from 32 channels), else channels-last im2col', () => {
    const dwPath = (x: number[], k: number, stride: number) => {
      const g: Graph = {
        name: 'conv', nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
        inputs: [{ name: 'x', dtype: 'float32', dims: x }, { name: 'w', dtype: 'float32', dims: [16, x[1]!, k, k] }],
      };
      const p = (k - 1) / 2;
      g.nodes.push({ opType: 'Conv', name: 'conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: attr.ints([p, p, p, p]), strides: attr.ints([stride, stride]) } });
      g.nodes.push({ opType: 'ReduceSum', name: 'sum', domain: '', inputs: ['y'], outputs: ['L'], attrs: { keepdims: attr.int(0) } });
      differentiate(g, { loss: 'L', wrt: ['w'] });
      return [...new Set([...gradientOrigins(g).values()].filter((o) => o.startsWith('Conv dW')))];
    };
    expect(dwPath([2, 3, 28, 28], 3, 1)).toEqual(['Conv dW batched']);
    expect(dwPath([2, 32, 28, 28], 1, 2)).toEqual(['Conv dW batched']);
    expect(dwPath([2, 16, 14, 14], 3, 1)).toEqual(['Conv dW shifted']);
    expect(dwPath([2, 32, 14, 14], 3, 1)).toEqual(['Conv dW shifted gather']);
    expect(dwPath([2, 32, 13, 13], 1, 2)).toEqual(['Conv dW batched']);
    expect(dwPath([2, 32, 12, 12], 1, 2)).toEqual(['Conv dW nhwc gather']);
    expect(dwPath([2, 32, 13, 13], 3, 1)).toEqual(['Conv dW nhwc gather']);
    expect(dwPath([2, 32, 28, 28], 3, 2)).toEqual(['Conv dW nhwc gather']);
    expect(dwPath([2, 32, 28, 28], 1, 1)).toEqual(['Conv dW batched']);
    expect(dwPath([2, 32, 13, 13], 1, 1)).toEqual(['Conv dW nhwc gather']);
  });

  it('depthwise dW: two MatMuls on small maps, per-row MatMuls from 100 output positions at stride 1, the grouped Conv otherwise', () => {
    const dwPath = (x: number[], strides: number[]) => {
      const g: Graph = {
        name: 'dw', nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
        inputs: [{ name: 'x', dtype: 'float32', dims: x }, { name: 'w', dtype: 'float32', dims: [x[1]!, 1, 3, 3] }],
      };
      g.nodes.push({ opType: 'Conv', name: 'conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: { group: attr.int(x[1]!), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints(strides) } });
      g.nodes.push({ opType: 'ReduceSum', name: 'sum', domain: '', inputs: ['y'], outputs: ['L'], attrs: { keepdims: attr.int(0) } });
      differentiate(g, { loss: 'L', wrt: ['w'] });
      return [...new Set([...gradientOrigins(g).values()].filter((o) => o.includes('dW')))];
    };
    expect(dwPath([2, 4, 14, 14], [1, 1])).toEqual(['Conv dW depthwise Toeplitz']);
    expect(dwPath([2, 4, 9, 9], [1, 1])).toEqual(['Conv dW depthwise Toeplitz']);
    expect(dwPath([2, 4, 16, 16], [1, 1])).toEqual(['Conv dW depthwise rows']);
    expect(dwPath([2, 4, 20, 20], [2, 2])).toEqual(['Conv dW grouped Conv']);
  });


  it('covers every op in the rule registry', () => {
    const tested = new Set(CASES.map((c) => c.op));
    expect(Object.keys(RULES).filter((op) => !tested.has(op))).toEqual([]);
  });
});
