import { z } from 'zod';
import { RunConfig } from './config.js';
import { DerivedRunRecord } from './uncertainty.js';

/** File name of the manifest inside a run directory. */
export const RUN_MANIFEST = 'run.json';
/** Schema version of run.json written by this medclass; other versions are refused with `MC_RUN_BAD_MANIFEST`. */
export const RUN_MANIFEST_VERSION = 1;

const Split = z.enum(['train', 'val', 'test']);

/** One file written into the run directory, with its size and SHA-256. */
export const RunFileRecord = z.strictObject({ path: z.string(), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type RunFileRecord = z.output<typeof RunFileRecord>;

/** The split (or, in a k-fold fold, the fold's split) of every item id the run read, in source order. */
export const RunSplits = z.strictObject({ train: z.array(z.string()), val: z.array(z.string()), test: z.array(z.string()) });
export type RunSplits = z.output<typeof RunSplits>;

/** The data as the run used it: source spec, fingerprint of ids + labels + splits, counts, skipped files. */
export const RunDataRecord = z.strictObject({
  source: z.string(),
  fingerprint: z.string(),
  counts: z.strictObject({ train: z.number().int(), val: z.number().int(), test: z.number().int() }),
  skipped: z.array(z.strictObject({ file: z.string(), code: z.string(), reason: z.string() })),
  groupPattern: z.strictObject({ pattern: z.string(), groups: z.number().int(), unmatched: z.number().int() }).optional(),
  groupColumn: z.strictObject({ name: z.string(), detected: z.boolean(), from: z.enum(['csv', 'dicom']) }).optional(),
});
export type RunDataRecord = z.output<typeof RunDataRecord>;

/** How training ended: stopping reason, best epoch (score null when NaN), wall time, per-phase figures. */
export const RunOutcome = z.strictObject({
  stopped: z.enum(['done', 'early', 'interrupted']),
  bestEpoch: z.strictObject({ phase: z.number().int(), epoch: z.number().int(), score: z.number().nullable() }).optional(),
  wallSeconds: z.number(),
  phases: z.array(z.unknown()).optional(),
});
export type RunOutcome = z.output<typeof RunOutcome>;

/**
 * `run.json`, the manifest of a run directory: schema version, the resolved config (every CLI override applied),
 * seed, class names, the split or fold of every item, the data fingerprint, versions, status and the files written
 * with their SHA-256. `classes`, `data` and `splits` appear once the data are loaded; `outcome` once training ends.
 */
export const RunManifest = z.strictObject({
  schema: z.literal('medclass.run'),
  version: z.literal(RUN_MANIFEST_VERSION),
  disclaimer: z.string(),
  name: z.string(),
  status: z.enum(['running', 'interrupted', 'done']),
  seed: z.number().int(),
  config: RunConfig,
  fold: z.strictObject({ index: z.number().int().min(1), k: z.number().int().min(2) }).optional(),
  classes: z.array(z.string()).optional(),
  data: RunDataRecord.optional(),
  splits: RunSplits.optional(),
  versions: z.record(z.string(), z.string()),
  outcome: RunOutcome.optional(),
  /** ensembles and MC-dropout runs: the runs they were built from */
  derived: DerivedRunRecord.optional(),
  files: z.array(RunFileRecord),
});
export type RunManifest = z.output<typeof RunManifest>;

/** The split per item id of a `RunSplits` record. */
export function splitById(s: RunSplits): Map<string, z.output<typeof Split>> {
  const m = new Map<string, z.output<typeof Split>>();
  for (const name of ['train', 'val', 'test'] as const) for (const id of s[name]) m.set(id, name);
  return m;
}
