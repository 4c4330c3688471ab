import { MedclassError } from '../../errors.js';
import type { ParamPattern } from '../params.js';
import { matchesPattern } from '../params.js';

/** A parameter group as the caller specifies it: which names (glob, RegExp or list) and hyperparameter overrides. */
export interface ParamGroupSpec {
  params: ParamPattern;
  lr?: number;
  weightDecay?: number;
}

/** A resolved parameter group: `initialLr` is the base that schedules multiply, `lr` the value in use. */
export interface ParamGroup {
  readonly params: ParamPattern;
  lr: number;
  initialLr: number;
  weightDecay: number;
}

/** What an optimizer needs of the parameters: name → current values (updated in place). */
export interface ParamSource {
  get(name: string): { readonly data: Float32Array };
}

/** Gradients by parameter name (a Map, a record, or a lookup function). */
export type GradSource = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

/** An optimizer's resumable state: per-group hyperparameters and per-parameter step counts and buffers. */
export interface OptimizerState {
  name: string;
  groups: { lr: number; initialLr: number; weightDecay: number }[];
  steps: Record<string, number>;
  slots: Record<string, Record<string, Float32Array>>;
}

function entriesOf(grads: GradSource): [string, Float32Array][] {
  return grads instanceof Map ? [...grads] : Object.entries(grads as Record<string, Float32Array>);
}

/**
 * Base of the optimizers: resolves parameter groups (a parameter belongs to the first group whose pattern matches
 * it; parameters matched by none form a last group with the defaults) and keeps per-parameter state by name.
 */
export abstract class Optimizer {
  abstract readonly name: string;
  readonly groups: ParamGroup[];
  protected readonly steps = new Map<string, number>();
  protected readonly slots = new Map<string, Record<string, Float32Array>>();
  private readonly groupCache = new Map<string, ParamGroup>();

  protected constructor(defaults: { lr: number; weightDecay: number }, specs: readonly ParamGroupSpec[] = []) {
    this.groups = specs.map((s) => ({
      params: s.params,
      lr: s.lr ?? defaults.lr,
      initialLr: s.lr ?? defaults.lr,
      weightDecay: s.weightDecay ?? defaults.weightDecay,
    }));
    this.groups.push({ params: /.*/, lr: defaults.lr, initialLr: defaults.lr, weightDecay: defaults.weightDecay });
  }

  /** The group a parameter belongs to. */
  groupOf(name: string): ParamGroup {
    let g = this.groupCache.get(name);
    if (!g) {
      g = this.groups.find((grp) => matchesPattern(name, grp.params))!;
      this.groupCache.set(name, g);
    }
    return g;
  }

  /** Sets every group's lr to `initialLr × factor` (what a schedule does each step). */
  setLrFactor(factor: number): void {
    for (const g of this.groups) g.lr = g.initialLr * factor;
  }

  /** Applies one update to every parameter that has a gradient; parameters without one are left alone. */
  step(params: ParamSource, grads: GradSource): void {
    for (const [name, grad] of entriesOf(grads)) {
      const p = params.get(name).data;
      if (grad.length !== p.length) {
        throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `gradient of ${name}: expected ${p.length} values, found ${grad.length}`);
      }
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      let s = this.slots.get(name);
      if (!s) this.slots.set(name, (s = {}));
      this.update(p, grad, this.groupOf(name), s, t);
    }
  }

  /** Updates one parameter in place; `state` holds its buffers (created lazily), `t` is its 1-based step count. */
  protected abstract update(p: Float32Array, grad: Float32Array, group: ParamGroup, state: Record<string, Float32Array>, t: number): void;

  /** A copy of the state for checkpoints. */
  stateDict(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [n, s] of this.slots) slots[n] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.slice()]));
    return {
      name: this.name,
      groups: this.groups.map((g) => ({ lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay })),
      steps: Object.fromEntries(this.steps),
      slots,
    };
  }

  /** Restores state saved by `stateDict()` from an optimizer built with the same groups. */
  loadStateDict(state: OptimizerState): void {
    if (state.name !== this.name || state.groups.length !== this.groups.length) {
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `optimizer state: expected ${this.name} with ${this.groups.length} groups, found ${state.name} with ${state.groups.length}`);
    }
    state.groups.forEach((g, i) => Object.assign(this.groups[i]!, g));
    this.steps.clear();
    for (const [n, t] of Object.entries(state.steps)) this.steps.set(n, t);
    this.slots.clear();
    for (const [n, s] of Object.entries(state.slots)) this.slots.set(n, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.slice()])));
  }
}
