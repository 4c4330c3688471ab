import type { Rng } from './rng.js';
import { numel } from './tensor.js';

/**
 * How a parameter is initialised, named after `torch.nn.init`. Fans follow torch's
 * `_calculate_fan_in_and_fan_out`: for dims `[out, in, ...kernel]`, fan_in = in·k, fan_out = out·k.
 */
export type InitSpec =
  | { readonly kind: 'kaimingNormal'; readonly mode: 'fanIn' | 'fanOut'; readonly gain?: number }
  | { readonly kind: 'kaimingUniform'; readonly mode: 'fanIn' | 'fanOut'; readonly gain?: number }
  | { readonly kind: 'xavierUniform'; readonly gain?: number }
  | { readonly kind: 'xavierNormal'; readonly gain?: number }
  | { readonly kind: 'normal'; readonly std: number; readonly mean?: number }
  | { readonly kind: 'truncNormal'; readonly std: number }
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'constant'; readonly value: number }
  /** Given values, e.g. pretrained weights of an imported backbone (copied). */
  | { readonly kind: 'values'; readonly values: Float32Array };

/** torch's fans for a weight of `dims` (`[out, in, ...receptive]`; a vector has fan_in = fan_out = its length). */
export function fans(dims: readonly number[]): { fanIn: number; fanOut: number } {
  if (dims.length < 2) return { fanIn: dims[0] ?? 1, fanOut: dims[0] ?? 1 };
  const receptive = numel(dims.slice(2));
  return { fanIn: dims[1]! * receptive, fanOut: dims[0]! * receptive };
}

/** The standard deviation (normal kinds) or bound (uniform kinds) that `spec` gives a tensor of `dims`. */
export function initScale(spec: InitSpec, dims: readonly number[]): number {
  const { fanIn, fanOut } = fans(dims);
  switch (spec.kind) {
    case 'kaimingNormal': return (spec.gain ?? Math.SQRT2) / Math.sqrt(spec.mode === 'fanIn' ? fanIn : fanOut);
    case 'kaimingUniform': return (spec.gain ?? Math.SQRT2) * Math.sqrt(3 / (spec.mode === 'fanIn' ? fanIn : fanOut));
    case 'xavierUniform': return (spec.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
    case 'xavierNormal': return (spec.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
    case 'normal': case 'truncNormal': return spec.std;
    case 'uniform': return spec.bound;
    case 'constant': case 'values': return 0;
  }
}

/**
 * Draws a Float32Array for a tensor of `dims` from `rng` (give each parameter its own fork, e.g.
 * `rng.fork('layer1.0.conv1.weight')`, so adding a layer never shifts another's values).
 *
 * @example
 * const w = initTensor({ kind: 'kaimingNormal', mode: 'fanOut' }, [64, 3, 3, 3], rng.fork('conv1.weight')); // std √(2/576)
 */
export function initTensor(spec: InitSpec, dims: readonly number[], rng: Rng): Float32Array {
  const out = new Float32Array(numel(dims));
  const s = initScale(spec, dims);
  switch (spec.kind) {
    case 'constant': out.fill(spec.value); break;
    case 'values':
      if (spec.values.length !== out.length) throw new RangeError(`initTensor: ${spec.values.length} values for dims [${dims.join(',')}]`);
      out.set(spec.values);
      break;
    case 'kaimingNormal': case 'xavierNormal': for (let i = 0; i < out.length; i++) out[i] = rng.normal(0, s); break;
    case 'normal': for (let i = 0; i < out.length; i++) out[i] = rng.normal(spec.mean ?? 0, s); break;
    case 'truncNormal': // torch.nn.init.trunc_normal_ with a = -2σ, b = 2σ, by rejection
      for (let i = 0; i < out.length; i++) {
        let v: number;
        do v = rng.normal(0, 1); while (v < -2 || v > 2);
        out[i] = v * s;
      }
      break;
    case 'kaimingUniform': case 'xavierUniform': case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-s, s);
      break;
  }
  return out;
}
