import { MedclassError } from '../../errors.js';
import type { Attr, Node } from './types.js';

/** Reads an int attribute, or `def` when absent. */
export function intAttr(node: Node, name: string, def: number): number {
  const a: Attr | undefined = node.attrs[name];
  return a && (a.type === 'int' || a.type === 'float') ? a.value : def;
}

/** Reads a float attribute, or `def` when absent. */
export function floatAttr(node: Node, name: string, def: number): number {
  const a = node.attrs[name];
  return a && (a.type === 'float' || a.type === 'int') ? a.value : def;
}

/** Reads an ints attribute, or `def` when absent. */
export function intsAttr(node: Node, name: string, def: readonly number[]): number[] {
  const a = node.attrs[name];
  return a && a.type === 'ints' ? [...a.value] : [...def];
}

/** Reads a string attribute, or `def` when absent. */
export function stringAttr(node: Node, name: string, def: string): string {
  const a = node.attrs[name];
  return a && a.type === 'string' ? a.value : def;
}

/** Attributes of a windowed op (Conv, ConvTranspose, MaxPool, AveragePool) with explicit pads resolved. */
export interface WindowAttrs {
  kernelShape: number[];
  strides: number[];
  dilations: number[];
  /** [begin_0, begin_1, …, end_0, end_1, …] as in ONNX, resolved from auto_pad when needed. */
  pads: number[];
  group: number;
  ceilMode: boolean;
  countIncludePad: boolean;
}

/**
 * ONNX defaults for Conv/MaxPool/AveragePool (strides 1, dilations 1, pads 0, group 1, auto_pad NOTSET,
 * ceil_mode 0, count_include_pad 0). `inSpatial` resolves SAME_UPPER/SAME_LOWER/VALID into explicit pads;
 * `kernel` is used when kernel_shape is absent (Conv infers it from the weight).
 */
export function windowAttrs(node: Node, inSpatial: readonly number[], kernel?: readonly number[]): WindowAttrs {
  const r = inSpatial.length;
  const kernelShape = intsAttr(node, 'kernel_shape', kernel ?? []);
  if (kernelShape.length !== r) {
    throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${node.opType} '${node.name}': kernel_shape has ${kernelShape.length} dims, input has ${r} spatial dims`);
  }
  const strides = intsAttr(node, 'strides', Array(r).fill(1));
  const dilations = intsAttr(node, 'dilations', Array(r).fill(1));
  let pads = intsAttr(node, 'pads', Array(2 * r).fill(0));
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const out = Math.ceil(inSpatial[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernelShape[i]! - 1) * dilations[i]! + 1 - inSpatial[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i]!;
    }
  }
  return {
    kernelShape, strides, dilations, pads,
    group: intAttr(node, 'group', 1),
    ceilMode: intAttr(node, 'ceil_mode', 0) === 1,
    countIncludePad: intAttr(node, 'count_include_pad', 0) === 1,
  };
}

/** Output spatial size of a windowed op along one axis (floor, or ceil when ceil_mode = 1, as in ONNX). */
export function windowOut(inSize: number, k: number, s: number, d: number, pb: number, pe: number, ceil = false): number {
  const span = inSize + pb + pe - ((k - 1) * d + 1);
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // ONNX/PyTorch: with ceil_mode the last window must start inside the input or left padding.
  if (ceil && (out - 1) * s >= inSize + pb) out -= 1;
  return out;
}

/** Gemm attributes with ONNX defaults: alpha 1, beta 1, transA 0, transB 0. */
export function gemmAttrs(node: Node): { alpha: number; beta: number; transA: boolean; transB: boolean } {
  return {
    alpha: floatAttr(node, 'alpha', 1),
    beta: floatAttr(node, 'beta', 1),
    transA: intAttr(node, 'transA', 0) === 1,
    transB: intAttr(node, 'transB', 0) === 1,
  };
}

/** Normalises a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
