import { describe, expect, it } from 'vitest';
import { Rng, Session, attr, f32, inferShapes } from '../../src/engine/index.js';
import type { Graph, Tensor } from '../../src/engine/index.js';
import { coalescePerm, coalesceTransposes } from '../../src/engine/graph/transpose-coalesce.js';

/** x (batch symbolic) → one Transpose per perm → outputs. */
function transposes(dims: number[], perms: number[][]): Graph {
  return {
    name: 'transposes', opset: 17, initializers: new Map(), valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', ...dims.slice(1)] }],
    nodes: perms.map((p, i) => ({ opType: 'Transpose', name: `t${i}`, domain: '', inputs: ['x'], outputs: [`y${i}`], attrs: { perm: attr.ints(p) } })),
    outputs: perms.map((_, i) => ({ name: `y${i}`, dtype: 'float32' as const, dims: [] })),
  };
}

async function run(g: Graph, x: Tensor): Promise<Record<string, Tensor>> {
  const s = await Session.create(g, { threads: 1 });
  try { return await s.run({ x }); } finally { await s.dispose(); }
}

describe('coalesceTransposes', () => {
  it('merges the axes that stay adjacent', () => {
    expect(coalescePerm([0, 2, 3, 1])).toEqual({ groups: [[0], [1], [2, 3]], perm: [0, 2, 1] });
    expect(coalescePerm([0, 3, 1, 2])).toEqual({ groups: [[0], [1, 2], [3]], perm: [0, 2, 1] });
    expect(coalescePerm([1, 0, 2, 3])).toEqual({ groups: [[0], [1], [2, 3]], perm: [1, 0, 2] });
    expect(coalescePerm([0, 2, 4, 5, 3, 1])).toEqual({ groups: [[0], [1], [2], [3], [4, 5]], perm: [0, 2, 4, 3, 1] });
  });

  it('gives bit-identical outputs at the batch it was built for and at another one, and leaves rank-minimal perms alone', async () => {
    const dims = [3, 4, 5, 6];
    const perms = [[0, 2, 3, 1], [0, 3, 1, 2], [1, 0, 2, 3], [2, 3, 0, 1], [0, 2, 1, 3], [3, 2, 1, 0]];
    const plain = transposes(dims, perms), merged = transposes(dims, perms);
    const at = (b: number) => inferShapes(merged, { x: [b, ...dims.slice(1)] });
    // [0,2,1,3] and [3,2,1,0] keep no two axes together: untouched
    expect(coalesceTransposes(merged, at(3), at(5))).toBe(4);
    expect(merged.nodes.filter((n) => n.opType === 'Transpose').map((n) => (n.attrs.perm?.type === 'ints' ? n.attrs.perm.value.length : -1))).toEqual([3, 3, 3, 2, 4, 4]);
    const rng = new Rng(1);
    for (const b of [3, 7]) {
      const x = f32(Float32Array.from({ length: b * 120 }, () => rng.normal()), [b, ...dims.slice(1)]);
      const [a, c] = [await run(plain, x), await run(merged, x)];
      for (const k of Object.keys(a)) {
        expect(c[k]!.dims, k).toEqual(a[k]!.dims);
        expect(Array.from(c[k]!.data as Float32Array), k).toEqual(Array.from(a[k]!.data as Float32Array));
      }
    }
  });
});
