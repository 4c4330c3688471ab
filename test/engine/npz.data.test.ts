import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpz } from '../../src/engine/npz.js';

const SHARED = new URL('../../../shared/', import.meta.url).pathname;

describe('readNpz', () => {
  it('reads stored entries with float32 and int64 arrays (autodiff fixture)', () => {
    const npz = readNpz(readFileSync(`${SHARED}fixtures/autodiff/mlp/reference.npz`));
    const x = npz.get('x')!;
    expect(x.dtype).toBe('float32');
    expect(x.dims).toEqual([8, 20]);
    expect(npz.get('y')!.dtype).toBe('int64');
    expect(npz.get('grad/fc1.weight')!.dims).toEqual([32, 20]);
  });

  it('reads deflated entries with (N,) labels (BreastMNIST)', () => {
    const npz = readNpz(readFileSync(`${SHARED}data/breastmnist/BreastMNIST.npz`));
    expect(npz.get('train_images')!.dims).toEqual([546, 28, 28]);
    expect(npz.get('train_labels')!.dims).toEqual([546]);
  });

  it('names the file when the archive is not a zip', () => {
    expect(() => readNpz(new Uint8Array([1, 2, 3, 4]), 'bad.npz')).toThrow(/bad\.npz/);
  });
});
