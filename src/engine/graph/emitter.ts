import type { Tensor } from '../tensor.js';
import { f32, i64 } from '../tensor.js';
import type { Attr, Graph, Node } from './types.js';
import { attr } from './types.js';

/**
 * Appends nodes and constant initializers to a graph with unique names. Autodiff rules, the loss builder and the
 * layer builder all emit through it, so every emitted op is plain opset-17 ONNX.
 *
 * @example
 * const e = new Emitter(graph, 'grad');
 * const y = e.op('Add', [a, b]);           // returns the output name
 */
export class Emitter {
  private counter = 0;
  private readonly taken: Set<string>;
  private readonly shared = new Map<string, string>();

  constructor(readonly graph: Graph, private readonly prefix = 'n') {
    this.taken = new Set<string>([
      ...graph.inputs.map((v) => v.name),
      ...graph.initializers.keys(),
      ...graph.nodes.flatMap((n) => [n.name, ...n.outputs]),
    ]);
  }

  /** A fresh value/node name starting with `hint`. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Appends one node and returns its output names (`outputs` of them). */
  opN(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    const node: Node = { opType, name: this.fresh(`${opType}_node`), domain: '', inputs: [...inputs], outputs: outs, attrs };
    this.graph.nodes.push(node);
    return outs;
  }

  /** Appends one node with one output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.opN(opType, inputs, attrs, 1)[0]!;
  }

  /** Adds a constant initializer and returns its name. */
  constant(t: Tensor, hint = 'const'): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, t);
    return name;
  }

  /**
   * A constant built once per `key` in this emitter's graph: later calls with the same key return the same name
   * without calling `make` (e.g. one selection matrix for every layer of one geometry).
   */
  sharedConstant(key: string, make: () => Tensor, hint = 'const'): string {
    let name = this.shared.get(key);
    if (!name) {
      name = this.constant(make(), hint);
      this.shared.set(key, name);
    }
    return name;
  }

  /** A float32 scalar (dims []) constant. */
  scalar(v: number): string {
    return this.constant(f32([v], []), 'scalar');
  }

  /** An int64 vector constant (axes, shapes, pads). */
  ints(v: readonly number[]): string {
    return this.constant(i64(v, [v.length]), 'ints');
  }

  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  neg(a: string): string { return this.op('Neg', [a]); }
  matmul(a: string, b: string): string { return this.op('MatMul', [a, b]); }
  transpose(a: string, perm: readonly number[]): string { return this.op('Transpose', [a], { perm: attr.ints(perm) }); }
  reshape(a: string, shape: readonly number[]): string { return this.op('Reshape', [a, this.ints(shape)]); }
  /** ReduceSum over `axes` (opset 13+: axes is an input). */
  reduceSum(a: string, axes: readonly number[], keepdims = true): string {
    return this.op('ReduceSum', [a, this.ints(axes)], { keepdims: attr.int(keepdims ? 1 : 0) });
  }
  /** ReduceMean over `axes` (opset 17: axes is an attribute). */
  reduceMean(a: string, axes: readonly number[], keepdims = true): string {
    return this.op('ReduceMean', [a], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }
  where(cond: string, a: string, b: string): string { return this.op('Where', [cond, a, b]); }
  greater(a: string, b: string): string { return this.op('Greater', [a, b]); }
  shape(a: string): string { return this.op('Shape', [a]); }
  /** Zeros shaped like `a` (same dtype float32). */
  zerosLike(a: string): string { return this.mul(a, this.scalar(0)); }
}
