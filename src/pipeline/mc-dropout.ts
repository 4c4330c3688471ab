import { resolve } from 'node:path';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { openRunDir } from '../run/index.js';
import { writeDerivedRun, type DerivedRunOptions, type DerivedRunSummary } from './ensemble-derived-run.js';
import { buildMcDropoutGraph } from './mc-dropout-graph.js';
import { loadChunkOption } from './split-chunks.js';

/** Options of `buildMcDropout` (`medclass mc-dropout RUN --out DIR`). */
export const McDropoutOptions = z.strictObject({
  passes: z.number().int().min(2).max(1000).default(20).describe('stochastic forward passes T with dropout on'),
  seed: z.number().int().optional().describe("seed of the T dropout masks (default: the run's seed)"),
  force: z.boolean().default(false).describe('replace an existing run directory at --out'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  bootstrap: z.number().int().min(0).optional().describe("bootstrap resamples of the selective-prediction CIs (default: the run's eval.bootstrap)"),
  loadChunk: loadChunkOption('images decoded and scored at a time (memory holds one chunk of float images, not a split)'),
});
export type McDropoutOptionsInput = z.input<typeof McDropoutOptions>;

/**
 * MC-dropout as one run directory: the run's network with its dropout kept on for T seeded passes in one graph
 * (`buildMcDropoutGraph`: `logits` = log of the mean pass probabilities, plus `entropy`, `mutual_information`,
 * `sample_logits`), written at `out` with the run's config, data record and splits, then evaluated and calibrated
 * like any run (`writeDerivedRun`); uncertainty.json compares it with the run's own deterministic model. The same
 * run, passes and seed give the same model.onnx bytes.
 *
 * @example
 * await buildMcDropout('runs/s0', 'runs/s0-mc', { passes: 30 });
 */
export async function buildMcDropout(runDir: string, out: string, options: McDropoutOptionsInput = {}, onEvent?: DerivedRunOptions['onEvent']): Promise<DerivedRunSummary> {
  const o = McDropoutOptions.parse(options);
  if (resolve(runDir) === resolve(out)) throw new MedclassError('MC_RUN_EXISTS', `--out ${out} is the run itself`, { hint: 'write the MC-dropout run to another directory' });
  const base = openRunDir(runDir);
  const pre = base.preprocess();
  if (pre.uncertainty) throw new MedclassError('MC_RUN_NO_DROPOUT', `${runDir} is already a${pre.uncertainty.method === 'ensemble' ? 'n ensemble' : ' MC-dropout run'}`, { hint: 'pass the trained run itself' });
  const seed = o.seed ?? base.config.seed;
  const { graph, dropout } = buildMcDropoutGraph({ config: base.config, preprocess: pre, model: base.modelBytes(), passes: o.passes, seed });
  const derived = {
    kind: 'mc-dropout' as const, passes: o.passes, seed, dropout,
    members: [{ run: runDir, name: base.manifest.name, seed: base.manifest.seed, modelSha256: base.modelSha256() }],
  };
  return writeDerivedRun(base, out, graph, derived, base, { force: o.force, threads: o.threads, loadChunk: o.loadChunk, ...(o.bootstrap !== undefined ? { bootstrap: o.bootstrap } : {}), ...(onEvent ? { onEvent } : {}) });
}
