import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { adamwSimd, simdAvailable } from '../../src/engine/optim/adamw-simd.js';
import type { AdamWCoefficients } from '../../src/engine/optim/adamw-simd.js';

/** The scalar AdamW loop (float64 arithmetic, float32 stores), written out independently of adamw.ts. */
function scalar(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamWCoefficients): void {
  for (let i = 0; i < p.length; i++) {
    const mi = m[i]! * k.b1 + k.c1 * g[i]!;
    m[i] = mi;
    const vi = v[i]! * k.b2 + k.c2 * g[i]! * g[i]!;
    v[i] = vi;
    p[i] = Math.fround(p[i]! * k.decay) - (k.stepSize * mi) / (Math.sqrt(vi) / k.bc2Sqrt + k.eps);
  }
}

function coefficients(lr: number, wd: number, t: number): AdamWCoefficients {
  const [b1, b2] = [0.9, 0.999];
  return { b1, b2, c1: 1 - b1, c2: 1 - b2, decay: 1 - lr * wd, stepSize: lr / (1 - b1 ** t), bc2Sqrt: Math.sqrt(1 - b2 ** t), eps: 1e-8 };
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('AdamW SIMD kernel', () => {
  it('is available in this Node (WebAssembly SIMD)', () => {
    expect(simdAvailable()).toBe(true);
  });

  for (const n of [3, 4, 4099, 8192 * 2 + 7]) {
    it(`matches the scalar loop bit for bit over 5 steps (n = ${n}, across chunk boundaries, odd tails)`, () => {
      const rng = new Rng(n);
      const init = () => Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 0 : i % 89 === 0 ? 1e-40 : rng.normal() * 0.1));
      const p = init(), q = p.slice(), p0 = p.slice();
      const [m1, v1, m2, v2] = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      for (let t = 1; t <= 5; t++) {
        const g = Float32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? 0 : rng.normal() * 10 ** (-(i % 6))));
        const k = coefficients(t === 3 ? 0.3 : 1e-3, 0.05, t);
        scalar(p, g, m1, v1, k);
        const done = adamwSimd(q, g, m2, v2, k);
        expect(done).toBe(n - (n % 4));
        // the caller finishes the tail with the scalar loop, as adamw.ts does
        scalar(q.subarray(done), g.subarray(done), m2.subarray(done), v2.subarray(done), k);
        expect(bits(q).equals(bits(p)), `p after step ${t}`).toBe(true);
        expect(bits(m2).equals(bits(m1)), `m after step ${t}`).toBe(true);
        expect(bits(v2).equals(bits(v1)), `v after step ${t}`).toBe(true);
      }
      expect(p.filter((x, i) => x !== p0[i]).length).toBeGreaterThan(n / 2);
    });
  }
});
