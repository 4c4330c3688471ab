// A tiny trained run for the predict / evaluate-run / report / CLI tests: phantom 120 images at 32 px, two epochs (one epoch of onecycle on 6 steps diverges to NaN at present).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { runTraining, type RunSummary } from '../../src/pipeline/index.js';

export const TINY_SOURCE = 'phantom:n=120,size=32';

/** Trains a 2-epoch compact CNN on 120 phantoms into a fresh temp folder (about 5 s) and returns its run directory. */
export async function trainTinyRun(name = 'tiny', extra: { bootstrap?: number; epochs?: number } = {}): Promise<{ runDir: string; summary: RunSummary; cleanup: () => void }> {
  const out = mkdtempSync(join(tmpdir(), 'medclass-run-'));
  const summary = await runTraining({
    name, out, seed: 3, threads: 1,
    data: { source: TINY_SOURCE, preprocess: { size: 32, channels: 1 } },
    fit: { epochs: extra.epochs ?? 2, batchSize: 16 },
    eval: { bootstrap: extra.bootstrap ?? 50, alpha: 0.1 },
  });
  return { runDir: summary.runDir, summary, cleanup: () => removeTempDir(out) };
}

/** Removes a folder made by `mkdtempSync(join(tmpdir(), 'medclass-…'))`, and refuses anything else. */
export function removeTempDir(dir: string): void {
  if (dirname(dir) !== tmpdir() || !basename(dir).startsWith('medclass-')) throw new Error(`refusing to remove ${dir}: not a medclass temp folder`);
  rmSync(dir, { recursive: true, force: true });
}

/** predictions.csv rows of a run: split, id, label, logits. */
export function readRunPredictions(runDir: string): { split: string; id: string; label: number; logits: number[] }[] {
  const [head, ...lines] = readFileSync(join(runDir, 'predictions.csv'), 'utf8').trim().split('\n');
  const k = head!.split(',').filter((h) => h.startsWith('logit_')).length;
  return lines.map((l) => {
    const [split, id, label, ...rest] = l.split(',');
    return { split: split!, id: id!, label: Number(label), logits: rest.slice(0, k).map(Number) };
  });
}
