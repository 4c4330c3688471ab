import { resolve } from 'node:path';
import { z } from 'zod';
import { loadModel } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { openRunDir, type RunDir } from '../run/index.js';
import { buildEnsembleGraph } from './ensemble-graph.js';
import { writeDerivedRun, type DerivedRunOptions, type DerivedRunSummary } from './ensemble-derived-run.js';

/** Options of `buildEnsemble` (`medclass ensemble RUN… --out DIR`). */
export const EnsembleOptions = z.strictObject({
  force: z.boolean().default(false).describe('replace an existing run directory at --out'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  bootstrap: z.number().int().min(0).optional().describe("bootstrap resamples of the selective-prediction CIs (default: the first member's eval.bootstrap)"),
});
export type EnsembleOptionsInput = z.input<typeof EnsembleOptions>;

const mismatch = (message: string) => new MedclassError('MC_RUN_ENSEMBLE_MISMATCH', message, { hint: 'ensemble runs trained on the same data and split, e.g. one config with --seed 0, 1, 2, … (on a source without its own split, set data.split.seed so that every seed gets the same split)' });

/**
 * Opens the member run directories and checks that they can be averaged: finished runs (model.onnx present), the
 * same data source and data fingerprint (ids, labels and splits), the same class names, preprocessing and
 * inputs, no run given twice and none that is itself an ensemble or MC-dropout run (`MC_RUN_ENSEMBLE_MISMATCH`).
 */
export function openMembers(dirs: readonly string[]): RunDir[] {
  if (dirs.length === 0) throw mismatch('no member runs given');
  const seen = new Set<string>();
  const runs = dirs.map((d) => {
    const key = resolve(d);
    if (seen.has(key)) throw mismatch(`${d} is given twice`);
    seen.add(key);
    const run = openRunDir(d);
    run.modelPath();
    return run;
  });
  const first = runs[0]!;
  const sig = (r: RunDir) => {
    const p = r.preprocess();
    if (p.uncertainty) throw mismatch(`${r.dir} is itself a${p.uncertainty.method === 'ensemble' ? 'n ensemble' : ' MC-dropout run'}; ensemble its member runs instead`);
    const { disclaimer: _d, ...rest } = p;
    return JSON.stringify(rest);
  };
  const m0 = first.manifest;
  const s0 = sig(first);
  for (const r of runs) {
    const m = r.manifest;
    if (!m.data || !m.classes) throw mismatch(`${r.dir}: run.json has no data record (the run did not finish)`);
    if (m.data.source !== m0.data?.source) throw mismatch(`${r.dir}: data source ${m.data.source} differs from ${first.dir}'s ${m0.data?.source}`);
    if (m.data.fingerprint !== m0.data?.fingerprint) throw mismatch(`${r.dir}: its data (ids, labels or splits) differ from ${first.dir}'s (fingerprint ${m.data.fingerprint.slice(0, 12)} vs ${m0.data?.fingerprint.slice(0, 12)})`);
    if (m.classes.join(',') !== m0.classes?.join(',')) throw mismatch(`${r.dir}: classes [${m.classes.join(',')}] differ from ${first.dir}'s [${m0.classes?.join(',')}]`);
    if (sig(r) !== s0) throw mismatch(`${r.dir}: preprocess.json (size, channels, normalisation, inputs) differs from ${first.dir}'s`);
  }
  return runs;
}

/**
 * A deep ensemble as one run directory: the members' model.onnx graphs combined into one (`buildEnsembleGraph`:
 * `logits` = log of the mean member probabilities, plus `entropy`, `mutual_information`, `sample_logits`), written
 * at `out` with the first member's config, data record and splits, then evaluated and calibrated like any run
 * (`writeDerivedRun`); uncertainty.json compares it with the first member.
 *
 * @example
 * await buildEnsemble(['runs/s0', 'runs/s1', 'runs/s2'], 'runs/ensemble');
 */
export async function buildEnsemble(dirs: readonly string[], out: string, options: EnsembleOptionsInput = {}, onEvent?: DerivedRunOptions['onEvent']): Promise<DerivedRunSummary> {
  const o = EnsembleOptions.parse(options);
  const runs = openMembers(dirs);
  if (runs.some((r) => resolve(r.dir) === resolve(out))) throw mismatch(`--out ${out} is one of the members`);
  const first = runs[0]!;
  const pre = first.preprocess();
  const graph = buildEnsembleGraph(runs.map((r) => loadModel(r.modelBytes())), { output: pre.output, classes: pre.classes.length });
  const derived = {
    kind: 'ensemble' as const,
    members: runs.map((r, i) => ({ run: dirs[i]!, name: r.manifest.name, seed: r.manifest.seed, modelSha256: r.modelSha256() })),
  };
  return writeDerivedRun(first, out, graph, derived, first, { force: o.force, threads: o.threads, ...(o.bootstrap !== undefined ? { bootstrap: o.bootstrap } : {}), ...(onEvent ? { onEvent } : {}) });
}
