import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, f32, inferShapes, loadModel, Rng, Session, type ValueInfo } from '../../src/engine/index.js';
import { isMedclassError } from '../../src/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/autodiff/', import.meta.url));

describe('static shape inference', () => {
  for (const name of ['small_cnn', 'mbconv', 'tiny_vit']) {
    it(`${name}: dims (and folded shape values) of every value equal what onnxruntime computes at batch 3`, async () => {
      const g = loadModel(`${FIXTURES}${name}/model.onnx`);
      const xDims = [3, ...(g.inputs[0]!.dims.slice(1) as number[])];
      const shapes = inferShapes(g, { x: xDims });
      const values = g.nodes.flatMap((n) => n.outputs).filter((o) => o && shapes.has(o));
      expect(values.length).toBe(g.nodes.flatMap((n) => n.outputs).filter(Boolean).length);
      g.outputs = values.map((o): ValueInfo => ({ name: o, dtype: shapes.get(o)!.dtype as ValueInfo['dtype'], dims: shapes.get(o)!.dims.map((_, i) => `${o}_d${i}`) }));
      const rng = new Rng(1);
      const n = xDims.reduce((a, b) => a * b, 1);
      const s = await Session.create(g, { threads: 1 });
      try {
        const out = await s.run({ x: f32(Float32Array.from({ length: n }, () => rng.normal()), xDims) });
        for (const o of values) {
          expect(shapes.get(o)!.dims, o).toEqual([...out[o]!.dims]);
          const folded = shapes.get(o)!.value;
          if (folded && out[o]!.dtype === 'int64') expect(folded, o).toEqual(Array.from(out[o]!.data as BigInt64Array, Number));
        }
      } finally {
        await s.dispose();
      }
    });
  }

  it('broadcasts as NumPy and names the node when shapes are incompatible', () => {
    expect(broadcastShapes([2, 1, 4], [3, 1])).toEqual([2, 3, 4]);
    expect(broadcastShapes([], [5])).toEqual([5]);
    let err: unknown;
    try { broadcastShapes([2, 3], [4, 3], "Add 'n1'"); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_SHAPE_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain("Add 'n1'");
  });

  it('asks for concrete dims when an input has a symbolic batch dim', () => {
    const g = loadModel(`${FIXTURES}mlp/model.onnx`);
    let err: unknown;
    try { inferShapes(g); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_SHAPE_MISMATCH')).toBe(true);
    expect(inferShapes(g, { x: [5, 20] }).get('logits')!.dims).toEqual([5, 3]);
  });
});
