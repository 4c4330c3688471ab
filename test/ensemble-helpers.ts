// Small PneumoniaMNIST runs for the ensemble and MC-dropout tests: a folder of PNGs (<split>/<class>/*.png) cut from
// ../shared's npz into a temp folder (never into ../shared), and 2-epoch compact CNNs with dropout trained on it.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readNpz } from '../src/engine/index.js';
import { runTraining, type RunSummary } from '../src/pipeline/index.js';

export const PNEUMONIA_NPZ = new URL('../../shared/data/pneumoniamnist/reconstructed_full/pneumoniamnist.npz', import.meta.url).pathname;
const CLASSES = ['normal', 'pneumonia'];

/** Writes the first `counts[split]` images per class of each split as 28×28 grey PNGs under `<temp>/data`; returns the temp folder. */
export async function pneumoniaSubset(counts = { train: 80, val: 30, test: 40 }): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'medclass-pneu-'));
  const root = join(tmp, 'data');
  const arrays = readNpz(new Uint8Array(readFileSync(PNEUMONIA_NPZ)), 'pneumoniamnist.npz');
  for (const split of ['train', 'val', 'test'] as const) {
    const img = arrays.get(`${split}_images`)!.data as Uint8Array;
    const lab = arrays.get(`${split}_labels`)!.data as Uint8Array;
    const taken = [0, 0];
    for (let i = 0; i < lab.length && (taken[0]! < counts[split] || taken[1]! < counts[split]); i++) {
      const y = lab[i]!;
      if (taken[y]! >= counts[split]) continue;
      const dir = join(root, split, CLASSES[y]!);
      mkdirSync(dir, { recursive: true });
      await sharp(Buffer.from(img.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `${split}-${i}.png`));
      taken[y]!++;
    }
  }
  return tmp;
}

/** Trains a 2-epoch compact CNN (dropout 0.3 unless given) on the subset folder into `out/name`. */
export async function trainSubsetRun(source: string, out: string, name: string, seed: number, extra: { dropout?: number; splitSeed?: number } = {}): Promise<RunSummary> {
  return runTraining({
    name, out, seed, threads: 1,
    data: { source, preprocess: { size: 28, channels: 1, normalize: 'half' }, split: { mode: 'keep' } },
    model: { arch: 'compact-cnn', dropout: extra.dropout ?? 0.3 },
    fit: { epochs: 2, batchSize: 32, lr: 0.003, optimizer: 'adamw', schedule: 'onecycle' },
    eval: { bootstrap: 50 },
  });
}
