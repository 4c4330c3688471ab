import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pkg from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { attr, loadModel, readNpz, saveModel, Session, type Graph } from '../../src/engine/index.js';

const { onnx } = pkg;
const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/autodiff/', import.meta.url));
const CASES = ['mlp', 'bn_mlp', 'small_cnn', 'resblock', 'mbconv', 'tiny_vit'];

describe('ONNX load/save', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });

  for (const name of CASES) {
    it(`${name}: load → save → load keeps nodes, attributes, initializers; the saved model gives PyTorch's logits`, async () => {
      const g = loadModel(`${FIXTURES}${name}/model.onnx`);
      const again = loadModel(saveModel(g));
      expect(again.nodes).toEqual(g.nodes);
      expect(again.inputs).toEqual(g.inputs);
      expect(again.outputs).toEqual(g.outputs);
      expect(again.opset).toBe(17);
      expect([...again.initializers.keys()]).toEqual([...g.initializers.keys()]);
      for (const [k, t] of g.initializers) {
        expect(again.initializers.get(k)!.dims, k).toEqual(t.dims);
        expect(again.initializers.get(k)!.data, k).toEqual(t.data);
      }
      const ref = readNpz(readFileSync(`${FIXTURES}${name}/reference.npz`));
      const s = await Session.create(saveModel(again), { threads: 1 });
      sessions.push(s);
      const out = await s.run({ x: ref.get('x')! });
      const got = out.logits!.data as Float32Array, want = ref.get('logits')!.data as Float32Array;
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      expect(maxErr).toBeLessThan(1e-5);
    });
  }

  it('reads float_data and int64_data initializers and every attribute type', () => {
    const model = onnx.ModelProto.encode(onnx.ModelProto.fromObject({
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }, { domain: 'com.example', version: 1 }],
      graph: {
        name: 'forms',
        initializer: [
          { name: 'w', dims: [2, 2], dataType: 1, floatData: [1, 2, 3, 4] },
          { name: 'shape', dims: [2], dataType: 7, int64Data: [4, -1] },
          { name: 'i32', dims: [3], dataType: 6, int32Data: [7, -8, 9] },
        ],
        node: [{
          opType: 'Custom', name: 'n', domain: 'com.example', input: ['x', 'w'], output: ['y'],
          attribute: [
            { name: 'f', type: 1, f: 0.5 }, { name: 'i', type: 2, i: 3 }, { name: 's', type: 3, s: new TextEncoder().encode('hi') },
            { name: 't', type: 4, t: { dims: [1], dataType: 1, floatData: [2.5] } },
            { name: 'fs', type: 6, floats: [0.25, 1] }, { name: 'is', type: 7, ints: [1, -2] },
            { name: 'ss', type: 8, strings: [new TextEncoder().encode('a'), new TextEncoder().encode('b')] },
          ],
        }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }],
      },
    })).finish();
    const g: Graph = loadModel(model);
    expect(g.extraOpsets).toEqual({ 'com.example': 1 });
    expect([...(g.initializers.get('w')!.data as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect([...(g.initializers.get('shape')!.data as BigInt64Array)]).toEqual([4n, -1n]);
    expect([...(g.initializers.get('i32')!.data as Int32Array)]).toEqual([7, -8, 9]);
    expect(g.inputs[0]!.dims).toEqual(['N', 2]);
    const a = g.nodes[0]!.attrs;
    expect(a.f).toEqual(attr.float(0.5));
    expect(a.i).toEqual(attr.int(3));
    expect(a.s).toEqual(attr.string('hi'));
    expect(a.fs).toEqual(attr.floats([0.25, 1]));
    expect(a.is).toEqual(attr.ints([1, -2]));
    expect(a.ss).toEqual(attr.strings(['a', 'b']));
    expect(a.t!.type === 'tensor' && [...(a.t!.value.data as Float32Array)]).toEqual([2.5]);
    // and it survives a save/load round trip (raw_data form)
    const again = loadModel(saveModel(g));
    expect(again.nodes).toEqual(g.nodes);
    expect([...(again.initializers.get('shape')!.data as BigInt64Array)]).toEqual([4n, -1n]);
  });

  it('throws MC_ENGINE_BAD_MODEL for bytes that are not a model', () => {
    let err: unknown;
    try { loadModel(new Uint8Array([0xff, 0xff, 0xff, 0x01])); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_BAD_MODEL')).toBe(true);
  });
});
