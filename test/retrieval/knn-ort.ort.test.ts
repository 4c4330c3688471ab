import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { exactKnn, exactKnnOrt, l2Normalize } from '../../src/retrieval/index.js';

describe('exact k-NN through onnxruntime', () => {
  it('equals the float64 JavaScript search (indices; similarities to float32 rounding), across chunks and leave-one-out', async () => {
    const rng = new Rng(21);
    const d = 32;
    const mk = (n: number) => l2Normalize(Float32Array.from({ length: n * d }, () => rng.normal()), n, d);
    const items = mk(500);
    const queries = mk(70);
    const js = exactKnn(items, 500, queries, 70, d, 8);
    const ort = await exactKnnOrt(items, 500, queries, 70, d, 8, { threads: 1, chunk: 16 });
    expect(Array.from(ort.indices)).toEqual(Array.from(js.indices));
    ort.similarities.forEach((s, i) => expect(s).toBeCloseTo(js.similarities[i]!, 6));
    const self = await exactKnnOrt(items, 500, items, 500, d, 3, { threads: 1, excludeSelf: true });
    expect(Array.from(self.indices)).toEqual(Array.from(exactKnn(items, 500, items, 500, d, 3, { excludeSelf: true }).indices));
  });
});
