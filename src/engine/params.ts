import { MedclassError } from '../errors.js';
import type { Graph } from './graph/types.js';
import type { Tensor } from './tensor.js';
import { numel } from './tensor.js';

/** A parameter name pattern: an exact name or glob (`*` any run of characters, `?` one), a RegExp, or a list of them. */
export type ParamPattern = string | RegExp | readonly (string | RegExp)[];

/** One parameter: float32 values (row-major) and dims. `data` is owned by the store and updated in place. */
export interface Param {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** True when `name` matches `pattern` (glob strings match the whole name). */
export function matchesPattern(name: string, pattern: ParamPattern): boolean {
  if (Array.isArray(pattern)) return pattern.some((p: string | RegExp) => matchesPattern(name, p));
  if (pattern instanceof RegExp) return pattern.test(name);
  return globToRegExp(pattern as string).test(name);
}

/** Names among `names` matching `pattern`; throws `MC_ENGINE_UNKNOWN_PARAM` when none does. */
export function selectNames(names: readonly string[], pattern: ParamPattern): string[] {
  const hit = names.filter((n) => matchesPattern(n, pattern));
  if (hit.length === 0) {
    const shown = names.slice(0, 8).join(', ') + (names.length > 8 ? ', …' : '');
    throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `parameter pattern ${String(pattern)} matched none of ${names.length} parameters (${shown})`, {
      hint: 'patterns are globs over full names (e.g. "fc.*") or RegExps',
    });
  }
  return hit;
}

/**
 * Named float32 parameters with a frozen/trainable flag. Optimizers update `data` in place; the trainer feeds the
 * trainable ones to its session and bakes the frozen ones into the compiled graph.
 *
 * @example
 * const store = ParameterStore.fromGraph(model, meta.trainable);
 * store.freeze('*'); store.unfreeze('fc.*');
 */
export class ParameterStore {
  private readonly params = new Map<string, Param>();
  private readonly frozen = new Set<string>();

  /** Parameters from a graph's float32 initializers (all of them, or only `names`), copied so the graph stays untouched. */
  static fromGraph(graph: Graph, names?: readonly string[]): ParameterStore {
    const store = new ParameterStore();
    const wanted = names ?? [...graph.initializers].filter(([, t]) => t.dtype === 'float32').map(([n]) => n);
    for (const name of wanted) {
      const t = graph.initializers.get(name);
      if (!t) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `graph ${graph.name}: no initializer named ${name}`);
      if (t.dtype !== 'float32') throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `initializer ${name} is ${t.dtype}, parameters must be float32`);
      store.add(name, (t.data as Float32Array).slice(), t.dims);
    }
    return store;
  }

  /** Parameters from named values and their dims (e.g. a builder network's `params` and `shapes`), kept by reference. */
  static fromWeights(values: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]>): ParameterStore {
    const store = new ParameterStore();
    for (const [name, data] of values) {
      const dims = shapes.get(name);
      if (!dims) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `no dims given for parameter ${name}`);
      store.add(name, data, dims);
    }
    return store;
  }

  /** Adds (or replaces) a parameter; the store keeps `data` by reference. */
  add(name: string, data: Float32Array, dims: readonly number[]): void {
    if (data.length !== numel(dims)) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `parameter ${name}: ${data.length} values for dims [${dims.join(',')}]`);
    this.params.set(name, { name, dims: [...dims], data });
  }

  /** All parameter names, in insertion order. */
  names(): string[] {
    return [...this.params.keys()];
  }

  /** Names of the parameters that are not frozen, in insertion order. */
  trainableNames(): string[] {
    return this.names().filter((n) => !this.frozen.has(n));
  }

  /** Names of the frozen parameters. */
  frozenNames(): string[] {
    return this.names().filter((n) => this.frozen.has(n));
  }

  isFrozen(name: string): boolean {
    return this.frozen.has(name);
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  /** The parameter called `name`; throws `MC_ENGINE_UNKNOWN_PARAM` when absent. */
  get(name: string): Param {
    const p = this.params.get(name);
    if (!p) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `no parameter named ${name} (have ${this.params.size})`);
    return p;
  }

  /** The parameter as a float32 tensor view (no copy). */
  tensor(name: string): Tensor<'float32'> {
    const p = this.get(name);
    return { dtype: 'float32', dims: p.dims, data: p.data };
  }

  /** Freezes every parameter matching `pattern`; returns the names it matched. */
  freeze(pattern: ParamPattern): string[] {
    const hit = selectNames(this.names(), pattern);
    for (const n of hit) this.frozen.add(n);
    return hit;
  }

  /** Unfreezes every parameter matching `pattern`; returns the names it matched. */
  unfreeze(pattern: ParamPattern): string[] {
    const hit = selectNames(this.names(), pattern);
    for (const n of hit) this.frozen.delete(n);
    return hit;
  }

  /** Total number of values, optionally only of trainable parameters. */
  count(trainableOnly = false): number {
    let n = 0;
    for (const p of this.params.values()) if (!trainableOnly || !this.frozen.has(p.name)) n += p.data.length;
    return n;
  }

  /** Copies values from `values` (by name) into the store's arrays; shapes must agree. */
  load(values: ReadonlyMap<string, Float32Array> | Record<string, Float32Array>): void {
    const entries = values instanceof Map ? [...values] : Object.entries(values);
    for (const [name, v] of entries) {
      const p = this.get(name);
      if (v.length !== p.data.length) {
        throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `parameter ${name}: expected ${p.data.length} values [${p.dims.join(',')}], found ${v.length}`);
      }
      p.data.set(v);
    }
  }

  /** A deep copy (values and frozen flags). */
  clone(): ParameterStore {
    const s = new ParameterStore();
    for (const p of this.params.values()) s.add(p.name, p.data.slice(), p.dims);
    for (const n of this.frozen) s.frozen.add(n);
    return s;
  }
}
