// A short real image + tabular run on 300 HAM10000 images (CC BY-NC 4.0, read from ../shared, never copied):
// 32 px, 2 epochs, about 5 s. Shared by the fusion pipeline test and the fusion web-app test.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTraining, type RunSummary } from '../../src/pipeline/index.js';

export const HAM = new URL('../../../shared/data/ham10000/', import.meta.url).pathname;
// ham300.csv lives in a temp folder and names the shared images by absolute path: outside its folder, so allowed explicitly.
export const HAM_CSV_OPTIONS = { pathCol: 'image_id', labelCol: 'dx', groupCol: 'lesion_id', pathTemplate: `${HAM}images/{}.jpg`, allowOutsidePaths: true };
export const HAM_SPLIT = { mode: 'stratified' as const, fractions: [0.6, 0.2, 0.2] as [number, number, number] };
export const HAM_SEED = 4;

/** Writes ham300.csv into `out`: the first 40 rows of each class in file order plus 20 more nv (absolute image paths). */
export function writeHam300(out: string): string {
  const [head, ...rows] = readFileSync(`${HAM}HAM10000_metadata.csv`, 'utf8').trim().split('\n');
  const taken = new Map<string, number>();
  const keep = rows.filter((r) => {
    const dx = r.split(',')[2]!;
    const n = taken.get(dx) ?? 0;
    taken.set(dx, n + 1);
    return n < (dx === 'nv' ? 60 : 40);
  });
  if (keep.length !== 300) throw new Error(`expected 300 rows, got ${keep.length}`);
  const csvPath = join(out, 'ham300.csv');
  writeFileSync(csvPath, `${[head, ...keep].join('\n')}\n`);
  return csvPath;
}

/** Trains the fusion run (age numeric; sex, localization categorical; age_band binned) on `csvPath` into `out/fusion`. */
export function trainHamFusion(out: string, csvPath: string): Promise<RunSummary> {
  return runTraining({
    name: 'fusion', out, seed: HAM_SEED, threads: 1,
    data: {
      source: csvPath, csv: HAM_CSV_OPTIONS, split: HAM_SPLIT, preprocess: { size: 32, channels: 3, normalize: 'half' },
      tabular: { numeric: ['age'], categorical: ['sex', 'localization'] },
      binned: [{ name: 'age_band', from: 'age', edges: [30, 50, 70] }],
    },
    model: { arch: 'compact-cnn', width: 0.5, dropout: 0.1 },
    fit: { epochs: 2, batchSize: 32, lr: 0.003, classWeights: 'auto', monitor: 'balanced_accuracy' },
    eval: { bootstrap: 20, subgroups: ['sex', 'age_band'] },
  });
}
