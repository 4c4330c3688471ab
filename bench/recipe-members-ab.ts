// Is a budget better spent on one model or on a seed ensemble? Trains a recipe's config.yaml (as `medclass train
// SOURCE --budget B` wrote it) as M members × E epochs for each spec, ensembles the members (`buildEnsemble`) and
// prints the VAL figures only (the protocol: recipe rules are chosen on dev val; test is not read here).
//
//   node --import tsx bench/recipe-members-ab.ts RUN/config.yaml OUT 1x81,2x40,2x54 [threads]
//
// Members of one spec share the split of seed 0 only when the source brings its own split (MedMNIST npz): a
// re-split source gives each seed its own split and the ensemble refuses them (MC_RUN_ENSEMBLE_MISMATCH).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RunConfig, runTraining } from '../src/pipeline/index.js';
import { buildEnsemble } from '../src/pipeline/ensemble.js';
import { stoppingFor } from '../src/pipeline/recipe-config.js';
import { openRunDir } from '../src/run/index.js';

const [configFile, out, specArg, threadsArg] = process.argv.slice(2);
if (!configFile || !out || !specArg) throw new Error('usage: recipe-members-ab.ts CONFIG OUT MxE[,MxE…] [threads]');
const base = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, any>;
const threads = Number(threadsArg ?? 0);

async function member(seed: number, epochs: number): Promise<string> {
  const name = `e${epochs}-s${seed}`;
  const dir = join(out!, name);
  if (existsSync(join(dir, 'metrics.json'))) return dir; // a member shared by specs (seed 0 at E epochs) trains once
  const cfg = RunConfig.parse({ ...base, name, out, seed, threads, fit: { ...base.fit, epochs, ...stoppingFor(epochs) } });
  const t0 = performance.now();
  await runTraining(cfg, { runDir: dir, force: true });
  console.error(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

const valOf = (dir: string) => {
  const m = openRunDir(dir).metrics()?.val as Record<string, number> | undefined;
  if (!m) throw new Error(`${dir}: no val metrics`);
  return { auc: m.roc_auc ?? m.roc_auc_ovr_macro!, accuracy: m.accuracy!, balanced: m.balanced_accuracy!, logLoss: m.log_loss!, n: m.n! };
};

const rows: Record<string, unknown>[] = [];
for (const spec of specArg.split(',')) {
  const [m, e] = spec.split('x').map(Number) as [number, number];
  const dirs: string[] = [];
  for (let s = 0; s < m; s++) dirs.push(await member(s, e));
  const dir = m === 1 ? dirs[0]! : join(out, `ens-${spec}`);
  if (m > 1) await buildEnsemble(dirs, dir, { force: true, threads });
  const v = valOf(dir);
  rows.push({ spec, members: dirs.map(valOf).map((x) => Number(x.auc.toFixed(4))), ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'n' ? x : Number(x.toFixed(4))])) });
}
console.table(rows);
