import { MedclassError } from '../../errors.js';
import { Emitter } from '../graph/emitter.js';
import type { ShapeMap } from '../graph/shape-inference.js';
import type { Attr, Graph, Node } from '../graph/types.js';
import { attr } from '../graph/types.js';

/**
 * The emitter VJP rules write through: the plain `Emitter` ops plus static dims of forward values and a few
 * composite helpers (un-broadcasting, zeros, slicing). Everything it emits is standard opset-17 ONNX.
 */
export class GradEmitter extends Emitter {
  /** Label recorded for every node emitted from now on (the driver sets the rule's op type, rules may refine it). */
  origin = '';
  /** Node name → the `origin` label in force when it was emitted (profiles group gradient time by rule). */
  readonly origins = new Map<string, string>();

  constructor(graph: Graph, private readonly shapes: ShapeMap, prefix = 'grad') {
    super(graph, prefix);
  }

  override opN(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = super.opN(opType, inputs, attrs, outputs);
    this.origins.set(this.graph.nodes.at(-1)!.name, this.origin);
    return outs;
  }

  /** Runs `f` with `origin` refined to `<origin> <part>` (e.g. 'Conv dW im2col'), and returns its result. */
  part<T>(part: string, f: () => T): T {
    const was = this.origin;
    this.origin = `${was} ${part}`;
    try { return f(); } finally { this.origin = was; }
  }

  /** Static dims of a forward value; throws MC_ENGINE_SHAPE_MISMATCH naming it when unknown. */
  dims(name: string): number[] {
    const v = this.shapes.get(name);
    if (!v) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `shape of '${name}' is unknown (shape inference does not cover its producer)`);
    return [...v.dims];
  }

  /** Element type of a forward value ('float32' when unknown). */
  dtype(name: string): string {
    return this.shapes.get(name)?.dtype ?? 'float32';
  }

  /** Statically known values of a small integer forward value (axes, pads, shape vectors), if any. */
  values(name: string): number[] | undefined {
    return this.shapes.get(name)?.value;
  }

  /** Records dims for a value a rule created, so later rules may ask for them. */
  setDims(name: string, dims: readonly number[]): string {
    this.shapes.set(name, { dtype: 'float32', dims: [...dims] });
    return name;
  }

  /**
   * Sums `v` (dims `from`, a broadcast of `to`) back to dims `to` with ReduceSum, as NumPy broadcasting requires:
   * stretched axes keep their size-1 dim, extra leading axes are dropped. Emits no shape constant, so the result
   * stays valid for other batch sizes.
   */
  unbroadcast(v: string, from: readonly number[], to: readonly number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return v;
    const lead = from.length - to.length;
    const stretched = from.flatMap((d, i) => (i >= lead && to[i - lead] === 1 && d !== 1 ? [i] : []));
    let out = stretched.length > 0 ? this.reduceSum(v, stretched, true) : v;
    if (lead > 0) out = this.reduceSum(out, [...Array(lead).keys()], false);
    return out;
  }

  /** Broadcasts `v` to `dims` with Expand (static dims: use `expandLike` when a dim is the batch). */
  expandTo(v: string, dims: readonly number[]): string {
    return this.op('Expand', [v, this.ints(dims)]);
  }

  /** Broadcasts `v` to the runtime shape of `like`. */
  expandLike(v: string, like: string): string {
    return this.op('Expand', [v, this.shape(like)]);
  }

  /** Reshapes `v` to the runtime shape of `like`. */
  reshapeLike(v: string, like: string): string {
    return this.op('Reshape', [v, this.shape(like)]);
  }

  /** Float32 zeros with the runtime shape of `like`. */
  zerosShaped(shape: string): string {
    return this.op('ConstantOfShape', [shape], { value: attr.tensor({ dtype: 'float32', dims: [1], data: new Float32Array(1) }) });
  }

  /** A float32 zero tensor of `dims`. */
  zeros(dims: readonly number[]): string {
    return this.op('ConstantOfShape', [this.ints(dims)], { value: attr.tensor({ dtype: 'float32', dims: [1], data: new Float32Array(1) }) });
  }

  /** 1 − v. */
  oneMinus(v: string): string {
    return this.sub(this.scalar(1), v);
  }

  /** Slice of `v` along `axes` (steps 1). */
  slice(v: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.op('Slice', [v, this.ints(starts), this.ints(ends), this.ints(axes)]);
  }

  /** Zero padding: `pads` = [begin_0, …, end_0, …]. */
  pad(v: string, pads: readonly number[]): string {
    return this.op('Pad', [v, this.ints(pads)], { mode: attr.string('constant') });
  }

  /** Sum of several gradient contributions (one Add, or Sum for three or more). */
  sum(vs: readonly string[]): string {
    if (vs.length === 1) return vs[0]!;
    return vs.length === 2 ? this.add(vs[0]!, vs[1]!) : this.op('Sum', vs);
  }
}

/** Read-only view of the forward node a rule differentiates, with static dims of its inputs and outputs. */
export class NodeView {
  constructor(readonly node: Node, private readonly g: GradEmitter) {}
  get opType(): string { return this.node.opType; }
  get name(): string { return this.node.name; }
  /** Name of input `i` ('' when an optional input is omitted). */
  input(i: number): string { return this.node.inputs[i] ?? ''; }
  output(i: number): string { return this.node.outputs[i] ?? ''; }
  /** True when optional input `i` is present. */
  has(i: number): boolean { return (this.node.inputs[i] ?? '') !== ''; }
  inDims(i: number): number[] { return this.g.dims(this.input(i)); }
  outDims(i: number): number[] { return this.g.dims(this.output(i)); }
}

/**
 * A vector-Jacobian product: given the forward node and one upstream gradient per output ('' where an output has
 * none), returns one gradient per input (undefined where there is none). Gradients have the input's dims, except
 * for ops in `BROADCASTING`, whose rules return output-shaped gradients that the driver un-broadcasts.
 */
export type Rule = (node: NodeView, dY: readonly string[], g: GradEmitter) => (string | undefined)[];

/** A family's rules keyed by ONNX op type. */
export type RuleTable = Record<string, Rule>;
