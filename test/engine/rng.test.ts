import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';

// CPython 3: `random.seed(s); [random.random() for _ in range(3)]` (published MT19937 + init_by_array behaviour).
const CPYTHON = {
  0: [0.8444218515250481, 0.7579544029403025, 0.420571580830845],
  42: [0.6394267984578837, 0.025010755222666936, 0.27502931836911926],
} as const;

describe('Rng', () => {
  it.each([0, 42] as const)('uniform() reproduces CPython random.random() for seed %i', (seed) => {
    const rng = new Rng(seed);
    expect([rng.uniform(), rng.uniform(), rng.uniform()]).toEqual(CPYTHON[seed]);
  });

  it('fork gives streams independent of the order consumers are created in', () => {
    const a = new Rng(7);
    const s1 = a.fork('split').uniform();
    const b = new Rng(7);
    b.fork('init').uniform();
    expect(b.fork('split').uniform()).toBe(s1);
    expect(new Rng(7).fork('init').uniform()).not.toBe(s1);
  });

  it('shuffle is a permutation and reproducible', () => {
    const p1 = new Rng(3).permutation(50);
    expect([...p1].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Rng(3).permutation(50)).toEqual(p1);
  });

  it('normal has mean ≈ 0 and std ≈ 1 over 20k draws', () => {
    const rng = new Rng(1);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(v) - 1)).toBeLessThan(0.03);
  });
});
