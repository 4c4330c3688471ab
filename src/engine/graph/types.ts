import type { DType, Tensor } from '../tensor.js';

/** ONNX attribute values, tagged with their ONNX attribute type so ints and floats survive serialisation. */
export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: Tensor };

/** Attribute constructors: `attr.int(1)`, `attr.ints([1, 1])`, … */
export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  strings: (value: readonly string[]): Attr => ({ type: 'strings', value }),
  tensor: (value: Tensor): Attr => ({ type: 'tensor', value }),
};

/** One ONNX node. Inputs/outputs are value names; an empty string is an omitted optional input. */
export interface Node {
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** A dimension: a number when static, a symbol such as 'N' when dynamic. */
export type Dim = number | string;

/** Name, element type and (possibly symbolic) shape of a graph input or output. */
export interface ValueInfo {
  name: string;
  dtype: DType;
  dims: Dim[];
}

/** An ONNX graph held in memory: nodes in topological order, initializers by name. */
export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** Shapes known for intermediate values (from the file's value_info or shape inference). */
  valueInfo: Map<string, ValueInfo>;
  /** Default-domain opset version; the engine emits 17. */
  opset: number;
  /** Extra opset imports, e.g. `com.microsoft`. */
  extraOpsets?: Record<string, number>;
}
