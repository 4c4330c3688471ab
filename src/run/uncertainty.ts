import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { toJson } from './files.js';

/** File name of the uncertainty figures of an ensemble or MC-dropout run directory. */
export const UNCERTAINTY_FILE = 'uncertainty.json';

/**
 * preprocess.json `uncertainty`: model.onnx gives, besides `logits` (log of the mean probabilities), the predictive
 * entropy [N], the mutual information [N] and the per-sample logits [S,N,K] under these output names.
 */
export const UncertaintyOutputs = z.strictObject({
  method: z.enum(['ensemble', 'mc-dropout']),
  /** ensemble members or MC-dropout passes */
  samples: z.number().int().min(1),
  entropy: z.string(),
  mutualInformation: z.string(),
  sampleLogits: z.string(),
});
export type UncertaintyOutputs = z.output<typeof UncertaintyOutputs>;

/** run.json `derived`: the runs an ensemble or MC-dropout run directory was built from, and how. */
export const DerivedRunRecord = z.strictObject({
  kind: z.enum(['ensemble', 'mc-dropout']),
  members: z.array(z.strictObject({ run: z.string(), name: z.string(), seed: z.number().int(), modelSha256: z.string() })).min(1),
  /** MC-dropout: passes T, the seed of the masks and the drop probability */
  passes: z.number().int().min(1).optional(),
  seed: z.number().int().optional(),
  dropout: z.number().optional(),
});
export type DerivedRunRecord = z.output<typeof DerivedRunRecord>;

/** uncertainty.json: selective-prediction figures per split (eval `SelectiveReport`), the baseline's beside. */
export const UncertaintyFile = z.looseObject({
  disclaimer: z.string(),
  method: z.enum(['ensemble', 'mc-dropout']),
  samples: z.number().int(),
  test: z.record(z.string(), z.unknown()),
  val: z.record(z.string(), z.unknown()).nullable(),
  /** the single model it is compared with (the first member, or the MC-dropout run's own deterministic model) */
  baseline: z.record(z.string(), z.unknown()).nullable(),
});
export type UncertaintyFile = z.output<typeof UncertaintyFile>;

/** The text of uncertainty.json (written through `RunDir.writeFile`). */
export function uncertaintyJson(f: Omit<UncertaintyFile, 'test' | 'val' | 'baseline'> & { test: object; val: object | null; baseline: object | null }): string {
  return toJson(f);
}

/** Reads `dir`/uncertainty.json of a run directory (the run layer's door), or undefined when the run has none. */
export function readUncertainty(run: { has(name: string): boolean; path(name: string): string }): UncertaintyFile | undefined {
  if (!run.has(UNCERTAINTY_FILE)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(run.path(UNCERTAINTY_FILE), 'utf8'));
  } catch (cause) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${UNCERTAINTY_FILE}: not valid JSON (${(cause as Error).message})`, { file: UNCERTAINTY_FILE, cause });
  }
  const r = UncertaintyFile.safeParse(raw);
  if (!r.success) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${UNCERTAINTY_FILE} is malformed: ${r.error.issues[0]?.message ?? ''}`, { file: UNCERTAINTY_FILE });
  return r.data;
}
