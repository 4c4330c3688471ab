// Shared by the optimizer/trainer tests: fixture loading and a labelled all-close assertion.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { loadModel } from '../../src/engine/graph/onnx-io.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { readNpz } from '../../src/engine/npz.js';
import type { Tensor } from '../../src/engine/tensor.js';

export const SHARED = new URL('../../../shared/', import.meta.url).pathname;

export interface Fixture {
  graph: Graph;
  ref: Map<string, Tensor>;
  meta: { trainable: string[]; input_shape: number[]; classes: number };
}

export function loadFixture(name: string): Fixture {
  const dir = `${SHARED}fixtures/autodiff/${name}/`;
  return {
    graph: loadModel(`${dir}model.onnx`),
    ref: readNpz(readFileSync(`${dir}reference.npz`), `${name}/reference.npz`),
    meta: JSON.parse(readFileSync(`${dir}meta.json`, 'utf8')),
  };
}

/** max |a-b| / max |b| over the tensor; fails naming label, worst index and both values. */
export function expectRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): number {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = 0, at = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d > worst) { worst = d; at = i; }
  }
  const rel = worst / (scale || 1);
  if (rel > tol) expect.fail(`${label}: rel error ${rel.toExponential(2)} > ${tol} at [${at}]: got ${actual[at]}, want ${expected[at]}`);
  return rel;
}
