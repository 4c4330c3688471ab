import { MedclassError } from '../../errors.js';
import { Emitter } from '../graph/emitter.js';
import type { Attr, Dim, Graph } from '../graph/types.js';
import { attr } from '../graph/types.js';
import type { InitSpec } from '../init.js';
import { f32 } from '../tensor.js';
import type { BnStat, BuildMode, DropoutSpec, ParamSpec, Sym } from './types.js';

/** Static feature dims of `x` (all but the batch dimension), which must be known numbers. */
export function featureDims(x: Sym): number[] {
  const rest = x.dims.slice(1);
  if (rest.some((d) => typeof d !== 'number')) {
    throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${x.name}: expected static dims after the batch, got [${x.dims.join(',')}]`);
  }
  return rest as number[];
}

/** 2-element [h, w] from a number or a pair. */
export function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/**
 * Records one network definition into one graph. The core: scoping of names, parameters, raw node emission and
 * shape bookkeeping. Layers (conv2d, batchNorm, linear, …) are in `layers.ts` and call these.
 * Parameters are named like torch module paths (`layer1.0.conv1.weight`), so the training, eval and inference
 * graphs of one definition share names.
 */
export class GraphRecorder {
  readonly graph: Graph;
  readonly e: Emitter;
  readonly specs: ParamSpec[] = [];
  readonly bnStats: BnStat[] = [];
  readonly dropouts: DropoutSpec[] = [];
  readonly taps = new Map<string, readonly Dim[]>();
  private readonly prefix: string[] = [];
  private readonly counters = new Map<string, number>();

  /** `keepDropout`: an inference graph that keeps dropout as `Mul` by a mask input (MC-dropout). */
  constructor(readonly mode: BuildMode, graphName: string, readonly keepDropout = false) {
    this.graph = { name: graphName, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17 };
    this.e = new Emitter(this.graph, 'net');
  }

  /** Runs `fn` with `name` appended to the current scope (`scope('layer1', () => scope('0', …))` → `layer1.0.…`). */
  scope<T>(name: string | number, fn: () => T): T {
    this.prefix.push(String(name));
    try {
      return fn();
    } finally {
      this.prefix.pop();
    }
  }

  /** The current scope path (`layer1.0`). */
  scopeName(): string {
    return this.prefix.join('.');
  }

  /** Full path of `local` in the current scope. */
  path(local: string): string {
    return [...this.prefix, local].join('.');
  }

  /** A per-scope auto name such as `dropout_0` for layers the definition does not name. */
  autoName(kind: string): string {
    const key = this.path(kind);
    const k = this.counters.get(key) ?? 0;
    this.counters.set(key, k + 1);
    return `${kind}_${k}`;
  }

  /** Declares a graph input. */
  input(name: string, dims: readonly Dim[]): Sym {
    this.graph.inputs.push({ name, dtype: 'float32', dims: [...dims] });
    return { name, dims };
  }

  /** Declares a trainable parameter `<scope>.<local>` and returns it as a value (name = full path). */
  param(local: string, dims: readonly number[], init: InitSpec): Sym {
    return this.declare(this.path(local), dims, init, 'param', this.scopeName());
  }

  /** Declares a buffer (non-trainable state such as running statistics). */
  buffer(local: string, dims: readonly number[], init: InitSpec): Sym {
    return this.declare(this.path(local), dims, init, 'buffer', this.scopeName());
  }

  /** Declares a parameter or buffer under its full `name`, owned by `layer` (used by `param`, `buffer` and graph import). */
  declare(name: string, dims: readonly number[], init: InitSpec, kind: 'param' | 'buffer', layer: string): Sym {
    if (this.specs.some((s) => s.name === name)) {
      throw new MedclassError('MC_ENGINE_BAD_MODEL', `network definition declares '${name}' twice`, { hint: 'give each layer a unique name in its scope' });
    }
    this.specs.push({ name, dims: [...dims], init, kind, layer });
    return { name, dims };
  }

  /** Emits one node and returns its output with the given dims. */
  op(opType: string, inputs: readonly (Sym | string)[], dims: readonly Dim[], attrs: Record<string, Attr> = {}): Sym {
    const name = this.e.op(opType, inputs.map((i) => (typeof i === 'string' ? i : i.name)), attrs);
    return { name, dims };
  }

  /** A float32 constant initializer. */
  constant(values: readonly number[] | Float32Array, dims: readonly number[]): string {
    return this.e.constant(f32(values instanceof Float32Array ? values : Float32Array.from(values), dims), 'const');
  }

  /** A float32 constant as a value (no batch dimension). */
  constantSym(values: readonly number[] | Float32Array, dims: readonly number[]): Sym {
    return { name: this.constant(values, dims), dims };
  }

  /** A float32 scalar constant. */
  scalar(v: number): string {
    return this.e.scalar(v);
  }

  /** Exposes `x` under a fixed name (`Identity` node), e.g. `features` or `embedding`, for taps and extra outputs. */
  tap(x: Sym, name: string): Sym {
    if (this.taps.has(name)) throw new MedclassError('MC_ENGINE_BAD_MODEL', `tap '${name}' declared twice`);
    this.graph.nodes.push({ opType: 'Identity', name: `tap/${name}`, domain: '', inputs: [x.name], outputs: [name], attrs: {} });
    this.taps.set(name, x.dims);
    return { name, dims: x.dims };
  }

  /** Reshape to `dims`; the batch dimension is written `'N'` and becomes -1. */
  reshape(x: Sym, dims: readonly Dim[]): Sym {
    const target = dims.map((d) => (typeof d === 'number' ? d : -1));
    return { name: this.e.reshape(x.name, target), dims };
  }

  /** Adds a graph output. */
  output(x: Sym, name = x.name): void {
    if (name !== x.name) {
      this.graph.nodes.push({ opType: 'Identity', name: `out/${name}`, domain: '', inputs: [x.name], outputs: [name], attrs: {} });
    }
    this.graph.outputs.push({ name, dtype: 'float32', dims: [...x.dims] });
  }
}

/** `attr.ints` shorthand for the layer files. */
export const ints = (v: readonly number[]): Attr => attr.ints(v);
