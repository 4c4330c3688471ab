import { afterAll, describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { Emitter } from '../../src/engine/graph/emitter.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { Session } from '../../src/engine/runtime/session.js';
import { f32, i64 } from '../../src/engine/tensor.js';

function tinyGraph(): Graph {
  const g: Graph = {
    name: 'tiny', nodes: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3] }, { name: 'idx', dtype: 'int64', dims: ['N'] }],
    outputs: [],
  };
  const e = new Emitter(g, 't');
  const w = e.constant(f32([1, 2, 3, 4, 5, 6], [3, 2]), 'w');
  const y = e.matmul('x', w);
  const c = e.op('Cast', ['idx'], { to: { type: 'int', value: 1 } });
  g.nodes.push({ opType: 'Identity', name: 'id_y', domain: '', inputs: [y], outputs: ['y'], attrs: {} });
  g.nodes.push({ opType: 'Mul', name: 'dbl_idx', domain: '', inputs: ['idx', e.constant(i64([2], []))], outputs: ['idx2'], attrs: {} });
  g.nodes.push({ opType: 'Identity', name: 'id_c', domain: '', inputs: [c], outputs: ['c'], attrs: {} });
  g.outputs.push({ name: 'y', dtype: 'float32', dims: ['N', 2] }, { name: 'idx2', dtype: 'int64', dims: ['N'] }, { name: 'c', dtype: 'float32', dims: ['N'] });
  return g;
}

describe('Session', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });

  it('runs a Graph with float32 and int64 feeds and returns medclass tensors', async () => {
    const s = await Session.create(tinyGraph(), { threads: 1 });
    sessions.push(s);
    expect(s.inputNames).toEqual(['x', 'idx']);
    expect(s.outputNames).toEqual(['y', 'idx2', 'c']);
    const out = await s.run({ x: f32([1, 0, 0, 0, 1, 1], [2, 3]), idx: i64([3, -1], [2]) });
    expect(out.y!.dtype).toBe('float32');
    expect(out.y!.dims).toEqual([2, 2]);
    expect([...(out.y!.data as Float32Array)]).toEqual([1, 2, 8, 10]);
    expect(out.idx2!.dtype).toBe('int64');
    expect([...(out.idx2!.data as BigInt64Array)]).toEqual([6n, -2n]);
    expect([...(out.c!.data as Float32Array)]).toEqual([3, -1]);
    // reuse the same session for a second batch with a different N
    const out2 = await s.run({ x: f32([0, 0, 1], [1, 3]), idx: i64([0], [1]) }, ['y']);
    expect(Object.keys(out2)).toEqual(['y']);
    expect([...(out2.y!.data as Float32Array)]).toEqual([5, 6]);
  });

  it('throws MC_ENGINE_MISSING_INPUT naming the missing feed', async () => {
    const s = await Session.create(tinyGraph());
    sessions.push(s);
    const err = await s.run({ x: f32([1, 2, 3], [1, 3]) }).catch((e: unknown) => e);
    expect(isMedclassError(err, 'MC_ENGINE_MISSING_INPUT')).toBe(true);
    expect((err as Error).message).toContain('idx');
  });

  it('runs float64 graphs through runAny', async () => {
    const g: Graph = {
      name: 'dbl', nodes: [{ opType: 'Mul', name: 'm', domain: '', inputs: ['a', 'a'], outputs: ['b'], attrs: {} }],
      inputs: [{ name: 'a', dtype: 'float64' as 'float32', dims: [2] }], outputs: [{ name: 'b', dtype: 'float64' as 'float32', dims: [2] }],
      initializers: new Map(), valueInfo: new Map(), opset: 17,
    };
    const s = await Session.create(g);
    sessions.push(s);
    const out = await s.runAny({ a: { dtype: 'float64', dims: [2], data: Float64Array.from([0.1, 3]) } });
    expect(out.b!.dtype).toBe('float64');
    expect([...(out.b!.data as Float64Array)]).toEqual([0.1 * 0.1, 9]);
  });
});
