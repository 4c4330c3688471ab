import { describe, expect, it } from 'vitest';
import { concatArrays, f32, numel } from '../../src/engine/index.js';

describe('tensor helpers', () => {
  it('concatArrays lays the parts end to end in a new array of the kind asked for, copying even one part (also from float32 parts into float64)', () => {
    const a = Float32Array.of(1, 2), b = Float32Array.of(), c = Float32Array.of(3, 4, 5);
    expect(Array.from(concatArrays([a, b, c], Float32Array))).toEqual([1, 2, 3, 4, 5]);
    const one = concatArrays([a], Float32Array);
    expect(one).not.toBe(a);
    one[0] = 9;
    expect(a[0]).toBe(1); // a batch of one row must not alias the row (rows can be views of a dataset's buffer)
    const bytes = concatArrays([Uint8Array.of(255, 0), Uint8Array.of(7)], Uint8Array);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes)).toEqual([255, 0, 7]);
    expect(concatArrays([], Float32Array).length).toBe(0);
    const wide = concatArrays([Float32Array.of(0.1), Float32Array.of(2.5)], Float64Array);
    expect(wide).toBeInstanceOf(Float64Array);
    expect(Array.from(wide)).toEqual([Math.fround(0.1), 2.5]);
  });

  it('f32 checks that the values fill the dims', () => {
    expect(numel([2, 3])).toBe(6);
    expect(() => f32([1, 2, 3], [2, 2])).toThrow(RangeError);
  });
});
