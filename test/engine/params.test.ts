import { describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { ParameterStore } from '../../src/engine/params.js';

function store(): ParameterStore {
  const s = new ParameterStore();
  for (const n of ['conv1.weight', 'conv1.bias', 'layer1.0.conv.weight', 'fc.weight', 'fc.bias']) s.add(n, new Float32Array(2), [2]);
  return s;
}

describe('ParameterStore', () => {
  it('freeze/unfreeze by glob select whole names; trainableNames keeps order', () => {
    const s = store();
    expect(s.freeze('*')).toHaveLength(5);
    expect(s.unfreeze('fc.*')).toEqual(['fc.weight', 'fc.bias']);
    expect(s.trainableNames()).toEqual(['fc.weight', 'fc.bias']);
    expect(s.count(true)).toBe(4);
    s.unfreeze(/^layer1\./);
    expect(s.trainableNames()).toEqual(['layer1.0.conv.weight', 'fc.weight', 'fc.bias']);
    s.freeze(['*.bias', 'conv?.weight']);
    expect(s.frozenNames()).toEqual(['conv1.weight', 'conv1.bias', 'fc.bias']);
  });

  it('a pattern matching nothing throws MC_ENGINE_UNKNOWN_PARAM naming the pattern', () => {
    const s = store();
    let err: unknown;
    try { s.freeze('head.*'); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_UNKNOWN_PARAM')).toBe(true);
    expect((err as Error).message).toMatch(/head\.\*/);
    expect(() => s.freeze('fc')).toThrow(/matched none/); // globs match the whole name
  });

  it('load checks sizes and copies values', () => {
    const s = store();
    s.load({ 'fc.bias': new Float32Array([1, 2]) });
    expect([...s.get('fc.bias').data]).toEqual([1, 2]);
    expect(() => s.load({ 'fc.bias': new Float32Array(3) })).toThrow(/expected 2 values/);
  });
});
